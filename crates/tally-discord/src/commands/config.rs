//! `/config …` and `/notify off|on`: the answers. The change itself is not
//! made here: the shard handed it to the ledger at the interaction's place
//! in the event stream (see `ingest::admin`). This waits for that commit and
//! then shows the settings as stored, so what the admin reads is what
//! counts from now on.

use std::fmt::Write as _;
use std::time::Duration;

use twilight_interactions::command::{CommandInputData, CommandModel};
use twilight_util::builder::embed::{EmbedBuilder, EmbedFieldBuilder, EmbedFooterBuilder};

use super::reply::ACCENT;
use super::{Freshness, Reply, Request};
use crate::domain::settings::{factor_text, Where};
use crate::ingest::admin::{curve_text, read_config, ConfigCommand, ConfigRequest, NotifyCommand};
use crate::store::Settings;

/// Longest wait for the change to be committed before answering anyway.
const COMMIT_WAIT: Duration = Duration::from_secs(10);

/// Shown instead of "saved" when the database is too far behind to confirm.
const NOT_YET: &str = "Your change is queued and applies as soon as the database catches up; \
                       run `/config show` in a minute to check.";

pub(crate) async fn run_config(
    request: &Request<'_>,
    input: CommandInputData<'_>,
    at: &Freshness,
) -> anyhow::Result<Reply> {
    let command = match ConfigCommand::from_interaction(input) {
        Ok(command) => command,
        Err(error) => return Ok(super::bad_options(error)),
    };
    let changed = match read_config(command) {
        Err(problem) => return Ok(Reply::notice(problem)),
        Ok(ConfigRequest::Show) => false,
        Ok(ConfigRequest::Change(_)) => true,
    };
    if changed && !committed(request, at).await {
        return Ok(Reply::notice(NOT_YET));
    }
    let guild = request.guild_id.get();
    let (settings, problems) = request.read(move |r| Ok((r.settings(guild)?, r.reward_problems(guild)?))).await?;
    let title = if changed { "Saved. The server's leveling settings" } else { "The server's leveling settings" };
    // Settings are the admins' business: shown to the one who asked.
    let mut reply = Reply::embed(settings_embed(title, &settings, &problems));
    reply.ephemeral = true;
    Ok(reply)
}

pub(crate) async fn run_notify(
    request: &Request<'_>,
    input: CommandInputData<'_>,
    at: &Freshness,
) -> anyhow::Result<Reply> {
    let command = match NotifyCommand::from_interaction(input) {
        Ok(command) => command,
        Err(error) => return Ok(super::bad_options(error)),
    };
    if !committed(request, at).await {
        return Ok(Reply::notice("Your choice is queued and applies in a moment."));
    }
    Ok(Reply::notice(match command {
        NotifyCommand::Off(_) => "Level-up announcements in this server will name you without pinging you.",
        NotifyCommand::On(_) => "Level-up announcements in this server will ping you again.",
    }))
}

/// Waits until the interaction's own event, which carried the change, is committed.
async fn committed(request: &Request<'_>, at: &Freshness) -> bool {
    request.context.ledger.wait_committed(at.shard_id, &at.session_id, at.own_sequence, COMMIT_WAIT).await
}

fn channel(id: Option<u64>) -> String {
    id.map_or_else(|| "none".to_owned(), |c| format!("<#{c}>"))
}

fn list(ids: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = ids.collect();
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}

/// Every setting in one embed, each field within Discord's 1,024 characters.
pub(crate) fn settings_embed(
    title: &str,
    settings: &Settings,
    problems: &[(u64, i64)],
) -> twilight_model::channel::message::Embed {
    let Settings { xp, leveling } = settings;
    let levelup = &leveling.levelup;
    let place = match levelup.place {
        Where::Current => "in the channel where the member levelled up".to_owned(),
        Where::Channel => format!("in {}", channel(levelup.channel)),
        Where::Dm => "in a direct message".to_owned(),
        Where::Off => "off".to_owned(),
    };
    let mut announcements = format!("{place}\nping: {}\n", if levelup.ping { "yes" } else { "no" });
    let _ = write!(announcements, "message: {}", clip(levelup.template(), 900));
    let multipliers = list(
        leveling
            .role_multipliers
            .iter()
            .map(|(r, f)| format!("<@&{r}> {}", factor_text(*f)))
            .chain(leveling.channel_multipliers.iter().map(|(c, f)| format!("<#{c}> {}", factor_text(*f)))),
    );
    let noxp = list(
        leveling
            .noxp_channels
            .iter()
            .map(|c| format!("<#{c}>"))
            .chain(leveling.noxp_roles.iter().map(|r| format!("<@&{r}>"))),
    );
    let field = |name: &str, value: String| EmbedFieldBuilder::new(name, clip(&value, 1_024)).build();
    EmbedBuilder::new()
        .color(ACCENT)
        .title(title)
        .field(field("XP per message", format!("{}–{} XP, cooldown {} s", xp.min_xp, xp.max_xp, xp.cooldown_secs)))
        .field(field("Level curve", format!("XP from level L to L+1 = {}", curve_text(leveling.curve))))
        .field(field("No XP in", noxp))
        .field(field("Multipliers", multipliers))
        .field(field("Level-up announcements", announcements))
        .field(field(
            "Voice XP",
            match leveling.voice_xp_per_minute {
                0 => "off".to_owned(),
                n => format!("{n} XP a minute with company, not muted, not in the AFK channel"),
            },
        ))
        .field(field("Role rewards", super::rewards::list(settings, problems)))
        .field(field("Join/leave log", channel(leveling.log_channel)))
        .footer(
            EmbedFooterBuilder::new(
                "Change these with /config xp, curve, noxp, multiplier, levelup, voicexp and log, and /rewards",
            )
            .build(),
        )
        .build()
}

/// At most `limit` characters, with an ellipsis when cut.
fn clip(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(limit - 1).collect();
    cut.push('…');
    cut
}
