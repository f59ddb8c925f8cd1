//! `/rewards add|remove|list|mode|sync|rejoin`: the answers. Changes went to
//! the ledger with the interaction (see `ingest::admin`); this waits for
//! the commit and shows the rewards as stored. `/rewards sync` shows how
//! far the role task has come with the server's members.

use std::fmt::Write as _;
use std::time::Duration;

use twilight_interactions::command::{CommandInputData, CommandModel};
use twilight_util::builder::embed::EmbedBuilder;

use super::reply::{progress_bar, thousands, ACCENT};
use super::{Freshness, Reply, Request};
use crate::ingest::admin::{read_rewards, RewardsCommand, RewardsRequest};
use crate::store::Settings;

/// Longest wait for the change to be committed.
const COMMIT_WAIT: Duration = Duration::from_secs(10);
/// How long `/rewards sync` watches the queue before answering with how far it got.
const SYNC_WATCH: Duration = Duration::from_secs(10);

fn private(embed: twilight_model::channel::message::Embed) -> Reply {
    let mut reply = Reply::embed(embed);
    reply.ephemeral = true;
    reply
}

pub(crate) async fn run(request: &Request<'_>, input: CommandInputData<'_>, at: &Freshness) -> anyhow::Result<Reply> {
    let command = match RewardsCommand::from_interaction(input) {
        Ok(command) => command,
        Err(error) => return Ok(super::bad_options(error)),
    };
    let guild = request.guild_id.get();
    let asked = match read_rewards(command, guild) {
        Err(problem) => return Ok(Reply::notice(problem)),
        Ok(asked) => asked,
    };
    if asked != RewardsRequest::List {
        let ledger = &request.context.ledger;
        if !ledger.wait_committed(at.shard_id, &at.session_id, at.own_sequence, COMMIT_WAIT).await {
            return Ok(Reply::notice("Your change is queued and applies in a moment; /rewards list shows it then."));
        }
    }
    if asked == RewardsRequest::Sync {
        return sync_progress(request).await;
    }
    let (settings, problems) = request.read(move |r| Ok((r.settings(guild)?, r.reward_problems(guild)?))).await?;
    let title = if asked == RewardsRequest::List { "Role rewards" } else { "Saved. Role rewards" };
    Ok(private(EmbedBuilder::new().color(ACCENT).title(title).description(list(&settings, &problems)).build()))
}

/// The rewards as a person reads them, with any role Tally cannot give.
pub(crate) fn list(settings: &Settings, problems: &[(u64, i64)]) -> String {
    let leveling = &settings.leveling;
    let mut text = String::new();
    if leveling.rewards.is_empty() {
        text.push_str("No rewards yet. Add one with `/rewards add level role`.\n");
    }
    let mut by_level: Vec<(u32, u64)> = leveling.rewards.iter().map(|(role, level)| (*level, *role)).collect();
    by_level.sort_unstable();
    for (level, role) in by_level {
        let _ = writeln!(text, "Level {level}: <@&{role}>");
    }
    let mode = match leveling.reward_mode {
        crate::domain::rewards::RewardMode::Stack => "stack (members keep every reward they reached)",
        crate::domain::rewards::RewardMode::Highest => "highest (members hold only their highest reward)",
    };
    let _ = write!(
        text,
        "\nMode: {mode}\nOn rejoin: {}",
        if leveling.rewards_on_rejoin { "rewards come back" } else { "earned again" }
    );
    for (role, _) in problems {
        let _ = write!(text, "\n⚠️ Tally cannot give <@&{role}>: it needs Manage Roles, and its role above that one.");
    }
    text
}

/// Watches the server's reward queue for a while, then says how far it got.
async fn sync_progress(request: &Request<'_>) -> anyhow::Result<Reply> {
    let guild = request.guild_id.get();
    let total = request.read(move |r| r.reward_backlog(guild)).await?;
    let deadline = tokio::time::Instant::now() + SYNC_WATCH;
    let mut left = total;
    while left > 0 && tokio::time::Instant::now() < deadline {
        // Woken by the role task's progress through the commits it waits on; a
        // short pause bounds the reads when nothing commits.
        let mut commits = request.context.ledger.commits();
        let _ = tokio::time::timeout(Duration::from_millis(250), commits.changed()).await;
        left = request.read(move |r| r.reward_backlog(guild)).await?;
    }
    let done = total - left.min(total);
    let text = if left == 0 {
        format!("Every member's reward roles are in line ({} checked).", thousands(total))
    } else {
        format!(
            "{} {}%\n{} of {} members checked; the rest continue in the background.",
            progress_bar(done, total, 12),
            done * 100 / total.max(1),
            thousands(done),
            thousands(total)
        )
    };
    Ok(private(EmbedBuilder::new().color(ACCENT).title("Reward sync").description(text).build()))
}
