//! `/xp add|remove|set|reset|reset-server|log`: the answers. Like
//! `/config`, a change itself went to the ledger with the interaction (see
//! `ingest::admin`); this waits for its commit and shows the audit entry it
//! wrote. `/xp reset-server` only asks: the reset happens when the admin
//! presses the confirm button within a minute.

use std::fmt::Write as _;
use std::time::Duration;

use twilight_interactions::command::{CommandInputData, CommandModel};
use twilight_model::channel::message::component::{ActionRow, ButtonStyle};
use twilight_model::channel::message::Component;
use twilight_util::builder::embed::EmbedBuilder;

use super::reply::{button, thousands, ACCENT, NOTICE};
use super::{Freshness, Reply, Request};
use crate::domain::snowflake;
use crate::ingest::admin::{read_xp_change, XpCommand, XpLog, RESET_CANCEL, RESET_CONFIRM, RESET_WINDOW_MS};
use crate::store::AuditEntry;

/// Longest wait for the change to be committed before answering anyway.
const COMMIT_WAIT: Duration = Duration::from_secs(10);
/// Entries `/xp log` shows.
const LOG_ENTRIES: u32 = 15;

fn private(embed: twilight_model::channel::message::Embed) -> Reply {
    let mut reply = Reply::embed(embed);
    reply.ephemeral = true;
    reply
}

pub(crate) async fn run(
    request: &Request<'_>,
    input: CommandInputData<'_>,
    at: &Freshness,
    interaction_id: u64,
) -> anyhow::Result<Reply> {
    let command = match XpCommand::from_interaction(input) {
        Ok(command) => command,
        Err(error) => return Ok(super::bad_options(error)),
    };
    match (&command, read_xp_change(&command)) {
        (_, Some(Err(problem))) => Ok(Reply::notice(problem)),
        (_, Some(Ok((target, _)))) => {
            let Some(entry) = entry_of(request, at, interaction_id, target).await? else {
                return Ok(Reply::notice("The change is queued and applies in a moment; /xp log shows it then."));
            };
            let curve = request.read({
                let guild = request.guild_id.get();
                move |r| Ok(r.settings(guild)?.leveling.curve)
            });
            let curve = curve.await?;
            let text = format!(
                "<@{target}>: {} → {} XP (level {} → {}).",
                thousands(entry.before),
                thousands(entry.after),
                curve.level(entry.before).level,
                curve.level(entry.after).level
            );
            Ok(private(EmbedBuilder::new().color(ACCENT).title("XP changed").description(text).build()))
        }
        (XpCommand::ResetServer(_), None) => Ok(confirmation(request.invoker.id.get(), interaction_id)),
        (XpCommand::Log(XpLog { member }), None) => log(request, member.as_ref().map(|m| m.resolved.id.get())).await,
        _ => Ok(Reply::notice("Those options don't fit this command.")),
    }
}

/// The audit entry the interaction wrote, once it is committed.
async fn entry_of(
    request: &Request<'_>,
    at: &Freshness,
    interaction_id: u64,
    target: u64,
) -> anyhow::Result<Option<AuditEntry>> {
    let committed =
        request.context.ledger.wait_committed(at.shard_id, &at.session_id, at.own_sequence, COMMIT_WAIT).await;
    if !committed {
        return Ok(None);
    }
    let guild = request.guild_id.get();
    let entries = request.read(move |r| r.xp_log(guild, Some(target), 5)).await?;
    Ok(entries.into_iter().find(|e| e.interaction_id == interaction_id))
}

/// `/xp reset-server`'s question, with the buttons only its admin may press.
fn confirmation(admin: u64, interaction_id: u64) -> Reply {
    let deadline = snowflake::timestamp_ms(interaction_id) + RESET_WINDOW_MS;
    let row = ActionRow {
        components: vec![
            button("Reset everyone's XP", format!("{RESET_CONFIRM}{admin}:{deadline}"), ButtonStyle::Danger),
            button("Cancel", format!("{RESET_CANCEL}{admin}"), ButtonStyle::Secondary),
        ],
        id: None,
    };
    let embed = EmbedBuilder::new()
        .color(NOTICE)
        .title("Reset every member's XP?")
        .description(format!(
            "Every member's XP and level in this server go back to zero. Messages, reactions and voice time stay. \
             This cannot be undone. Confirm within a minute (until <t:{}:T>).",
            deadline.div_euclid(1000)
        ))
        .build();
    let mut reply = private(embed);
    reply.components = vec![Component::ActionRow(row)];
    reply
}

/// The answer to a press of the confirm or cancel button (the refusals
/// were given at triage).
pub(crate) async fn clicked(
    request: &Request<'_>,
    custom_id: &str,
    at: &Freshness,
    interaction_id: u64,
) -> anyhow::Result<Reply> {
    let mut reply = if custom_id.starts_with(RESET_CANCEL) {
        private(EmbedBuilder::new().color(ACCENT).title("Cancelled").description("Nothing was changed.").build())
    } else {
        match entry_of(request, at, interaction_id, 0).await? {
            Some(entry) => private(
                EmbedBuilder::new()
                    .color(ACCENT)
                    .title("Every member's XP is back to zero")
                    .description(format!("{} XP in all were reset. /xp log keeps the record.", thousands(entry.before)))
                    .build(),
            ),
            None => Reply::notice("The reset is queued and applies in a moment; /xp log shows it then."),
        }
    };
    // Replaces the question (private already, so it stays private), buttons and all.
    reply.update = true;
    reply.ephemeral = false;
    reply.components = Vec::new();
    Ok(reply)
}

async fn log(request: &Request<'_>, member: Option<u64>) -> anyhow::Result<Reply> {
    let guild = request.guild_id.get();
    let entries = request.read(move |r| r.xp_log(guild, member, LOG_ENTRIES)).await?;
    if entries.is_empty() {
        return Ok(Reply::notice("No admin has changed XP here yet."));
    }
    let mut lines = String::new();
    for e in &entries {
        let whom = if e.target == 0 { "everyone".to_owned() } else { format!("<@{}>", e.target) };
        let what = match e.action.as_str() {
            "add" => format!("added {} XP to {whom}", thousands(e.amount)),
            "remove" => format!("took {} XP from {whom}", thousands(e.amount)),
            "set" => format!("set {whom} to {} XP", thousands(e.amount)),
            "reset" => format!("reset {whom}"),
            _ => "reset the whole server".to_owned(),
        };
        let _ = writeln!(
            lines,
            "<t:{}:f> {} {what}: {} → {} XP",
            e.at_ms.div_euclid(1000),
            // 0: the admin erased their data (`/privacy delete`).
            if e.by == 0 { "an admin".to_owned() } else { format!("<@{}>", e.by) },
            thousands(e.before),
            thousands(e.after)
        );
    }
    Ok(private(EmbedBuilder::new().color(ACCENT).title("XP changes by admins").description(lines).build()))
}
