//! `/privacy`: the answers. The choice itself went to the ledger with the
//! interaction (see `ingest::privacy`); this waits for its commit and says
//! what changed. `/privacy delete` only asks: the erasure happens when the
//! member presses the button within two minutes.

use std::time::Duration;

use twilight_interactions::command::{CommandInputData, CommandModel};
use twilight_model::channel::message::component::{ActionRow, ButtonStyle};
use twilight_model::channel::message::Component;
use twilight_util::builder::embed::EmbedBuilder;

use super::reply::{button, ACCENT, NOTICE};
use super::{Freshness, Reply, Request};
use crate::domain::privacy::PrivacyChange;
use crate::domain::snowflake;
use crate::ingest::privacy::{PrivacyCommand, DELETE_CANCEL, DELETE_CONFIRM, DELETE_WINDOW_MS};

/// Longest wait for the choice to be committed before answering anyway.
const COMMIT_WAIT: Duration = Duration::from_secs(10);

/// What the server's daily totals keep, said wherever erasure is.
pub const TOTALS_KEPT: &str =
    "The server's totals per day keep their sums, with nothing that says which part was yours.";

fn private(title: &str, text: String, colour: u32) -> Reply {
    let mut reply = Reply::embed(EmbedBuilder::new().color(colour).title(title).description(text).build());
    reply.ephemeral = true;
    reply
}

async fn committed(request: &Request<'_>, at: &Freshness) -> bool {
    request.context.ledger.wait_committed(at.shard_id, &at.session_id, at.own_sequence, COMMIT_WAIT).await
}

pub(crate) async fn run(
    request: &Request<'_>,
    input: CommandInputData<'_>,
    at: &Freshness,
    interaction_id: u64,
) -> anyhow::Result<Reply> {
    let command = match PrivacyCommand::from_interaction(input) {
        Ok(command) => command,
        Err(error) => return Ok(super::bad_options(error)),
    };
    let Some(change) = command.change() else {
        return Ok(confirmation(request.invoker.id.get(), interaction_id));
    };
    if !committed(request, at).await {
        return Ok(Reply::notice("Your choice is queued and applies in a moment."));
    }
    let (title, text) = match change {
        PrivacyChange::Hide => (
            "You are off the leaderboards",
            "You no longer appear on this server's leaderboards: /leaderboard, its pages and the web page. \
             Tally still counts you, and your own /stats still works. /privacy show puts you back.",
        ),
        PrivacyChange::Show => ("You are back on the leaderboards", "You appear on this server's leaderboards again."),
        PrivacyChange::Stop => (
            "Tally stopped counting you",
            "Your messages, reactions and voice time in this server are no longer counted. What was counted \
             before stays (/privacy delete erases it). /privacy start counts you again.",
        ),
        PrivacyChange::Start => ("Tally counts you again", "Your activity in this server counts again from now."),
    };
    Ok(private(title, text.to_owned(), ACCENT))
}

/// `/privacy delete`'s question, with the buttons only its member may press.
fn confirmation(member: u64, interaction_id: u64) -> Reply {
    let deadline = snowflake::timestamp_ms(interaction_id) + DELETE_WINDOW_MS;
    let row = ActionRow {
        components: vec![
            button("Erase my data", format!("{DELETE_CONFIRM}{member}:{deadline}"), ButtonStyle::Danger),
            button("Keep it", format!("{DELETE_CANCEL}{member}"), ButtonStyle::Secondary),
        ],
        id: None,
    };
    let mut reply = private(
        "Erase everything Tally holds about you here?",
        format!(
            "Your messages, reactions, voice time, XP and level, your days, your join and leave dates, the \
             reactions you gave, your choices and anything waiting to be announced about you in this server. \
             {TOTALS_KEPT} This cannot be undone. Confirm within two minutes (until <t:{}:T>).",
            deadline.div_euclid(1000)
        ),
        NOTICE,
    );
    reply.components = vec![Component::ActionRow(row)];
    reply
}

/// The answer to a press of the erase or keep button (refusals were given at triage).
pub(crate) async fn clicked(request: &Request<'_>, custom_id: &str, at: &Freshness) -> anyhow::Result<Reply> {
    let mut reply = if custom_id.starts_with(DELETE_CANCEL) {
        private("Nothing was erased", "Tally keeps your data in this server as it was.".to_owned(), ACCENT)
    } else if committed(request, at).await {
        private(
            "Your data here is erased",
            format!(
                "Tally no longer holds anything about you in this server. {TOTALS_KEPT} If you keep talking \
                 here, Tally counts you from zero; /privacy stop stops that."
            ),
            ACCENT,
        )
    } else {
        Reply::notice("The erasure is queued and applies in a moment.")
    };
    // Replaces the question (private already), buttons and all.
    reply.update = true;
    reply.ephemeral = false;
    reply.components = Vec::new();
    Ok(reply)
}
