//! `/activity [days]`: the server's messages per day, and joins against
//! leaves, as a chart with the totals.

use twilight_interactions::command::{CommandModel, CreateCommand};
use twilight_util::builder::embed::{EmbedBuilder, EmbedFieldBuilder};

use super::reply::{thousands, ACCENT};
use super::{Reply, Request};
use crate::card::activity::ActivityChart;
use crate::domain::days::{date_of, today};
use crate::domain::humanize::duration_short;
use crate::store::{every_day, GuildDay};

/// The `/activity` command.
#[derive(CommandModel, CreateCommand, Debug)]
#[command(name = "activity", desc = "Messages, joins and leaves in this server, day by day", contexts = "guild")]
pub struct ActivityCommand {
    /// How many days back (default 30).
    #[command(desc = "How many days back (7 to 90, default 30)", min_value = 7, max_value = 90)]
    pub days: Option<i64>,
}

/// The chart's file name, which the embed's image points at.
const CHART_FILE: &str = "activity.png";

pub(crate) async fn run(request: &Request<'_>, command: ActivityCommand) -> anyhow::Result<Reply> {
    let span = command.days.unwrap_or(30).clamp(7, 90);
    let (guild, last) = (request.guild_id.get(), today());
    let first = last - span + 1;
    let (stored, server) = request
        .read(move |r| Ok((r.guild_days(guild, first, last)?, r.guild(guild)?.map(|g| g.name).unwrap_or_default())))
        .await?;
    let days = every_day(first, last, &stored);
    let sum = |f: fn(&GuildDay) -> u64| days.iter().map(f).sum::<u64>();
    let busiest = days.iter().filter(|d| d.messages > 0).max_by_key(|d| (d.messages, -d.day));
    let busiest = busiest
        .map_or_else(|| "none yet".to_owned(), |d| format!("{} ({} messages)", date_of(d.day), thousands(d.messages)));
    let embed = EmbedBuilder::new()
        .color(ACCENT)
        .title(format!("Activity, last {span} days"))
        .field(EmbedFieldBuilder::new("Messages", thousands(sum(|d| d.messages))).inline())
        .field(EmbedFieldBuilder::new("XP earned", thousands(sum(|d| d.xp))).inline())
        .field(EmbedFieldBuilder::new("Reactions", thousands(sum(|d| d.reactions))).inline())
        .field(EmbedFieldBuilder::new("Voice", duration_short(sum(|d| d.voice_ms))).inline())
        .field(EmbedFieldBuilder::new("Joined", thousands(sum(|d| d.joins))).inline())
        .field(EmbedFieldBuilder::new("Left", thousands(sum(|d| d.leaves))).inline())
        .field(EmbedFieldBuilder::new("Busiest day", busiest).inline());
    let chart = ActivityChart { server, days, accent: ACCENT };
    let rendered = tokio::task::spawn_blocking(move || crate::card::render_activity(&chart)).await?;
    Reply::embed_with_image(embed, CHART_FILE, rendered)
}
