//! `/stats [member]`: activity, level, progress and rank.

use twilight_interactions::command::{CommandModel, CreateCommand, ResolvedUser};
use twilight_util::builder::embed::{EmbedBuilder, EmbedFieldBuilder, EmbedFooterBuilder};

use super::reply::{discord_date, progress_bar, thousands};
use super::{Reply, Request};
use crate::card::{self, CardData};
use crate::domain::humanize::duration_short;
use crate::store::every_day;

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
    let today = crate::domain::days::today();
    let first = today - CHART_DAYS + 1;
    let (summary, rank, curve) = request
        .read(move |r| {
            let summary = r.member_summary(guild, user_id, first, today)?;
            Ok((summary, r.rank(guild, user_id)?, r.settings(guild)?.leveling.curve))
        })
        .await?;
    let Some(crate::store::MemberSummary { member, accent, days, voice_since: in_voice_since }) = summary else {
        return Ok(Reply::notice(format!("I haven't seen any activity from {} in this server yet.", user.name)));
    };
    if member.hidden && user_id != request.invoker.id.get() {
        return Ok(Reply::notice(format!("{} keeps their stats in this server private.", user.name)));
    }
    let level = curve.level(member.xp);
    let name = if member.display_name.is_empty() { user.name.clone() } else { member.display_name.clone() };
    let accent = accent.unwrap_or(card::DEFAULT_ACCENT);
    let ranked = rank.filter(|_| member.left_at_ms.is_none());
    let rank = match (rank, member.left_at_ms) {
        (_, Some(_)) => "left the server".to_owned(),
        (_, None) if member.hidden => "hidden (/privacy show to rank)".to_owned(),
        (Some(rank), None) => format!("#{}", thousands(rank)),
        (None, None) => "unranked (no XP yet)".to_owned(),
    };
    let percent = (level.progress * 100).checked_div(level.needed).unwrap_or(0);
    let joined = member.joined_at_ms.map_or_else(|| "unknown".to_owned(), discord_date);
    // Finished sessions, plus the one going on now.
    let voice = match in_voice_since {
        Some(since) => {
            let now = crate::domain::days::now_ms();
            let current = u64::try_from(now - since).unwrap_or_default();
            format!("{} (in voice now)", duration_short(member.voice_ms + current))
        }
        None => duration_short(member.voice_ms),
    };
    let embed = EmbedBuilder::new()
        .color(accent)
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
        .field(EmbedFieldBuilder::new("Voice", voice).inline())
        .field(EmbedFieldBuilder::new("Joined", joined).inline())
        .footer(EmbedFooterBuilder::new(format!("@{}", member.username)));
    let data = CardData {
        user_id,
        name,
        username: member.username.clone(),
        xp: member.xp,
        curve,
        rank: ranked,
        messages: member.messages,
        reactions_given: member.reactions_given,
        reactions_received: member.reactions_received,
        accent,
        days: every_day(first, today, &days).iter().map(|d| d.messages).collect(),
    };
    let avatar_hash = user.avatar.map(|hash| hash.to_string());
    let avatar = request.context.avatars.png(user_id, avatar_hash.as_deref()).await;
    let rendered =
        tokio::task::spawn_blocking(move || card::render(&data, avatar.as_deref().map(Vec::as_slice))).await?;
    Reply::embed_with_image(embed, CARD_FILE, rendered)
}

/// Days in the card's chart.
const CHART_DAYS: i64 = 30;

/// The rank card's file name, which the embed's image points at.
const CARD_FILE: &str = "rank-card.png";
