//! Slash commands: their definitions (registered at start), and the handler
//! that answers each interaction within Discord's 3-second deadline.

mod activity;
mod card;
mod config;
mod joined;
mod leaderboard;
mod privacy;
mod reply;
mod rewards;
mod stats;
mod transfer;
mod xp;

use std::sync::Arc;
use std::time::Duration;

use twilight_interactions::command::{CommandInputData, CommandModel, CreateCommand};
use twilight_model::application::command::Command;
use twilight_model::application::interaction::{Interaction, InteractionData};
use twilight_model::id::{marker::GuildMarker, Id};
use twilight_model::user::User;

use crate::context::Context;
use crate::ingest::{admin, privacy as choices};
pub use privacy::TOTALS_KEPT;
pub use reply::{Reply, Shape};

/// Every command Tally registers.
pub fn definitions() -> Vec<Command> {
    vec![
        stats::StatsCommand::create_command().into(),
        leaderboard::LeaderboardCommand::create_command().into(),
        joined::JoinedCommand::create_command().into(),
        card::CardCommand::create_command().into(),
        activity::ActivityCommand::create_command().into(),
        crate::ingest::admin::ConfigCommand::create_command().into(),
        crate::ingest::admin::NotifyCommand::create_command().into(),
        crate::ingest::admin::XpCommand::create_command().into(),
        crate::ingest::admin::RewardsCommand::create_command().into(),
        crate::ingest::privacy::PrivacyCommand::create_command().into(),
        transfer::ImportCommand::create_command().into(),
        transfer::ExportCommand::create_command().into(),
    ]
}

/// Where the interaction sits in the event stream: the answer waits until
/// everything before it is committed, so `/stats` right after a message
/// already counts that message.
#[derive(Debug, Clone)]
pub struct Freshness {
    /// Shard the interaction came on.
    pub shard_id: u32,
    /// Its gateway session.
    pub session_id: String,
    /// The last sequence before it that carries counts (0: none in this session).
    pub sequence: u64,
    /// The interaction's own sequence: a `/config` change it carries is
    /// committed with it.
    pub own_sequence: u64,
}

/// Longest wait for the ledger before reading what is committed anyway.
const FRESHNESS_WAIT: Duration = Duration::from_secs(2);

/// Answers one interaction. Never fails loudly: problems become a friendly
/// ephemeral message, and REST failures are logged.
pub async fn handle(context: Arc<Context>, interaction: Interaction, freshness: Freshness) {
    let received = tokio::time::Instant::now();
    let shape = match triage(&interaction) {
        Ok(shape) => shape,
        // Known at once, nothing to read: answered now, however slow the database.
        Err(notice) => {
            let outcome = reply::respond(&context, &interaction, received, Shape::PRIVATE, async { notice }).await;
            finish(&context, &interaction, received, outcome);
            return;
        }
    };
    let work = {
        let context = Arc::clone(&context);
        let interaction = interaction.clone();
        async move {
            let fresh = freshness.sequence == 0
                || context
                    .ledger
                    .wait_committed(freshness.shard_id, &freshness.session_id, freshness.sequence, FRESHNESS_WAIT)
                    .await;
            if !fresh {
                tracing::warn!("answering with data that may miss the latest events: the database is behind");
            }
            answer(&context, &interaction, &freshness).await
        }
    };
    let outcome = reply::respond(&context, &interaction, received, shape, work).await;
    finish(&context, &interaction, received, outcome);
}

fn finish(
    context: &Context,
    interaction: &Interaction,
    received: tokio::time::Instant,
    outcome: Result<(), crate::retry::CallError>,
) {
    let command = command_name(interaction);
    context.timings.record(command, received.elapsed());
    context.metrics.command_answered(command, received.elapsed());
    if let Err(error) = outcome {
        tracing::warn!(%error, command, "could not send a command answer to Discord; the member sees an error");
    }
}

/// Decides at once, with nothing read, how the answer will be shown (see
/// [`Shape`]), or gives the whole answer when it is a notice known already:
/// not in a server, a button from an older Tally or someone else's board,
/// an unknown command.
fn triage(interaction: &Interaction) -> Result<Shape, Reply> {
    if interaction.guild_id.is_none() {
        return Err(not_in_a_server());
    }
    let Some(invoker) = interaction.author() else {
        return Err(no_invoker());
    };
    match &interaction.data {
        Some(InteractionData::ApplicationCommand(data)) => match data.name.as_str() {
            "card" => Ok(Shape::PRIVATE),
            "stats" | "leaderboard" | "joined" | "activity" => Ok(Shape::PUBLIC),
            "config" | "xp" | "rewards" | "import" | "export" if !admin::may_manage(interaction) => {
                Err(needs_manage_server())
            }
            "import" | "export" => Ok(Shape::PRIVATE),
            "config" | "xp" | "rewards" | "notify" | "privacy" => Ok(Shape::PRIVATE),
            other => Err(unknown_command(other)),
        },
        Some(InteractionData::MessageComponent(click)) if click.custom_id.starts_with(leaderboard::BUTTON_PREFIX) => {
            leaderboard::may_click(&click.custom_id, invoker.id.get()).map(|_| Shape::UPDATE)
        }
        Some(InteractionData::MessageComponent(click)) if click.custom_id.starts_with(admin::RESET_CONFIRM) => {
            match admin::read_reset_confirm(&click.custom_id) {
                Some(confirm) => match admin::reset_refusal(interaction, confirm) {
                    Some(refusal) => Err(Reply::notice(refusal)),
                    None => Ok(Shape::UPDATE),
                },
                None => Err(not_a_command()),
            }
        }
        Some(InteractionData::MessageComponent(click)) if click.custom_id.starts_with(choices::DELETE_CONFIRM) => {
            match choices::read_delete_confirm(&click.custom_id) {
                Some(confirm) => match choices::delete_refusal(interaction, confirm) {
                    Some(refusal) => Err(Reply::notice(refusal)),
                    None => Ok(Shape::UPDATE),
                },
                None => Err(not_a_command()),
            }
        }
        Some(InteractionData::MessageComponent(click)) if click.custom_id.starts_with(choices::DELETE_CANCEL) => {
            match click.custom_id.strip_prefix(choices::DELETE_CANCEL).and_then(|m| m.parse::<u64>().ok()) {
                Some(member) if member == invoker.id.get() => Ok(Shape::UPDATE),
                _ => Err(Reply::notice("Only the member who asked can answer this.")),
            }
        }
        Some(InteractionData::MessageComponent(click)) if click.custom_id.starts_with(admin::RESET_CANCEL) => {
            match click.custom_id.strip_prefix(admin::RESET_CANCEL).and_then(|a| a.parse::<u64>().ok()) {
                Some(admin) if admin == invoker.id.get() => Ok(Shape::UPDATE),
                _ => Err(Reply::notice("Only the admin who ran /xp reset-server can cancel it.")),
            }
        }
        _ => Err(not_a_command()),
    }
}

fn not_in_a_server() -> Reply {
    Reply::notice("Tally counts activity in servers. Use this command in a server.")
}

fn no_invoker() -> Reply {
    Reply::notice("Discord did not say who asked; please try again.")
}

fn needs_manage_server() -> Reply {
    Reply::notice("Only members with the Manage Server permission can change Tally's settings.")
}

fn not_a_command() -> Reply {
    Reply::notice("Tally only understands its slash commands.")
}

fn unknown_command(name: &str) -> Reply {
    Reply::notice(format!(
        "I don't know the command /{name}. Try /stats, /leaderboard, /joined, /activity, /card, /notify, /privacy, /config, /xp, /rewards, /import or /export."
    ))
}

fn command_name(interaction: &Interaction) -> &str {
    match &interaction.data {
        Some(InteractionData::ApplicationCommand(data)) => &data.name,
        Some(InteractionData::MessageComponent(_)) => "button",
        _ => "?",
    }
}

async fn answer(context: &Arc<Context>, interaction: &Interaction, freshness: &Freshness) -> Reply {
    let Some(guild_id) = interaction.guild_id else {
        return not_in_a_server();
    };
    let Some(invoker) = interaction.author().cloned() else {
        return no_invoker();
    };
    let data = match &interaction.data {
        Some(InteractionData::ApplicationCommand(data)) => data,
        Some(InteractionData::MessageComponent(click)) if click.custom_id.starts_with(leaderboard::BUTTON_PREFIX) => {
            let request = Request { context, guild_id, invoker };
            return leaderboard::clicked(&request, &click.custom_id).await.unwrap_or_else(|error| {
                tracing::error!(%error, "leaderboard page failed");
                Reply::notice("Something went wrong reading the server's stats. Please try again in a moment.")
            });
        }
        Some(InteractionData::MessageComponent(click))
            if click.custom_id.starts_with(admin::RESET_CONFIRM)
                || click.custom_id.starts_with(admin::RESET_CANCEL) =>
        {
            let request = Request { context, guild_id, invoker };
            return xp::clicked(&request, &click.custom_id, freshness, interaction.id.get()).await.unwrap_or_else(
                |error| {
                    tracing::error!(%error, "reset confirmation failed");
                    Reply::notice("Something went wrong reading the server's stats. Please try again in a moment.")
                },
            );
        }
        Some(InteractionData::MessageComponent(click))
            if click.custom_id.starts_with(choices::DELETE_CONFIRM)
                || click.custom_id.starts_with(choices::DELETE_CANCEL) =>
        {
            let request = Request { context, guild_id, invoker };
            return privacy::clicked(&request, &click.custom_id, freshness).await.unwrap_or_else(|error| {
                tracing::error!(%error, "privacy confirmation failed");
                Reply::notice("Something went wrong. Please try again in a moment.")
            });
        }
        _ => return not_a_command(),
    };
    let input = CommandInputData::from(data.as_ref().clone());
    let request = Request { context, guild_id, invoker };
    let result = match data.name.as_str() {
        "stats" => match stats::StatsCommand::from_interaction(input) {
            Ok(command) => stats::run(&request, command).await,
            Err(error) => return bad_options(error),
        },
        "leaderboard" => match leaderboard::LeaderboardCommand::from_interaction(input) {
            Ok(command) => leaderboard::run(&request, command).await,
            Err(error) => return bad_options(error),
        },
        "joined" => match joined::JoinedCommand::from_interaction(input) {
            Ok(command) => joined::run(&request, command).await,
            Err(error) => return bad_options(error),
        },
        "activity" => match activity::ActivityCommand::from_interaction(input) {
            Ok(command) => activity::run(&request, command).await,
            Err(error) => return bad_options(error),
        },
        "card" => match card::CardCommand::from_interaction(input) {
            Ok(command) => card::run(&request, command).await,
            Err(error) => return bad_options(error),
        },
        "config" => config::run_config(&request, input, freshness).await,
        "notify" => config::run_notify(&request, input, freshness).await,
        "xp" => xp::run(&request, input, freshness, interaction.id.get()).await,
        "rewards" => rewards::run(&request, input, freshness).await,
        "privacy" => privacy::run(&request, input, freshness, interaction.id.get()).await,
        "import" => transfer::run_import(&request, input).await,
        "export" => transfer::run_export(&request, input).await,
        other => return unknown_command(other),
    };
    result.unwrap_or_else(|error| {
        tracing::error!(%error, command = %data.name, "command failed");
        Reply::notice("Something went wrong reading the server's stats. Please try again in a moment.")
    })
}

fn bad_options(error: twilight_interactions::error::ParseError) -> Reply {
    tracing::info!(%error, "interaction with options that do not match the command");
    Reply::notice("Those options don't fit this command. Discord may still be updating it; try again in a minute.")
}

/// What every command gets.
pub(crate) struct Request<'a> {
    pub context: &'a Arc<Context>,
    pub guild_id: Id<GuildMarker>,
    pub invoker: User,
}

impl Request<'_> {
    /// Runs a store read off the async threads.
    pub async fn read<T: Send + 'static>(
        &self,
        query: impl FnOnce(&dyn crate::store::Reader) -> Result<T, crate::store::StoreError> + Send + 'static,
    ) -> anyhow::Result<T> {
        let reader = Arc::clone(&self.context.reader);
        Ok(tokio::task::spawn_blocking(move || query(reader.as_ref())).await??)
    }
}
