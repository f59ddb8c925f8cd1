//! `/stats [member]`: activity, level, progress and rank.

use twilight_interactions::command::{CommandModel, CreateCommand, ResolvedUser};
use twilight_util::builder::embed::{EmbedBuilder, EmbedFieldBuilder, EmbedFooterBuilder};

use super::reply::{discord_date, progress_bar, thousands, ACCENT};
use super::{Reply, Request};
use crate::domain::Level;

/// The `/stats` command.
#[derive(CommandModel, CreateCommand, Debug)]
#[command(name = "stats", desc = "Activity, level and rank of a member in this server", contexts = "guild")]
pub struct StatsCommand {
    /// Whose stats to show (default: yours).
    #[command(desc = "Whose stats to show (default: yours)")]
    pub member: Option<ResolvedUser>,
}

pub(crate) async fn run(request: &Request<'_>, command: StatsCommand) -> anyhow::Result<Reply> {
    let user = command.member.map_or_else(|| request.invoker.clone(), |m| m.resolved);
    if user.bot {
        return Ok(Reply::notice(format!("{} is a bot, and bots don't earn XP.", user.name)));
    }
    let (guild, user_id) = (request.guild_id.get(), user.id.get());
    let (member, rank) = request.read(move |r| Ok((r.member(guild, user_id)?, r.rank(guild, user_id)?))).await?;
    let Some(member) = member else {
        return Ok(Reply::notice(format!("I haven't seen any activity from {} in this server yet.", user.name)));
    };
    let level = Level::from_xp(member.xp);
    let name = if member.display_name.is_empty() { user.name.clone() } else { member.display_name.clone() };
    let rank = match (rank, member.left_at_ms) {
        (_, Some(_)) => "left the server".to_owned(),
        (Some(rank), None) => format!("#{}", thousands(rank)),
        (None, None) => "unranked (no XP yet)".to_owned(),
    };
    let percent = (level.progress * 100).checked_div(level.needed).unwrap_or(0);
    let joined = member.joined_at_ms.map_or_else(|| "unknown".to_owned(), discord_date);
    let embed = EmbedBuilder::new()
        .color(ACCENT)
        .title(format!("{name} — level {}", level.level))
        .description(format!(
            "{} {percent}%\n{} / {} XP to level {}",
            progress_bar(level.progress, level.needed, 12),
            thousands(level.progress),
            thousands(level.needed),
            level.level + 1
        ))
        .field(EmbedFieldBuilder::new("Rank", rank).inline())
        .field(EmbedFieldBuilder::new("Total XP", thousands(member.xp)).inline())
        .field(EmbedFieldBuilder::new("Messages", thousands(member.messages)).inline())
        .field(EmbedFieldBuilder::new("Reactions given", thousands(member.reactions_given)).inline())
        .field(EmbedFieldBuilder::new("Reactions received", thousands(member.reactions_received)).inline())
        .field(EmbedFieldBuilder::new("Joined", joined).inline())
        .footer(EmbedFooterBuilder::new(format!("@{}", member.username)))
        .build();
    Ok(Reply::embed(embed))
}
