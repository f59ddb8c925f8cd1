//! `/leaderboard [page]`: the server's members by XP, ten a page.

use std::fmt::Write as _;

use twilight_interactions::command::{CommandModel, CreateCommand};
use twilight_util::builder::embed::{EmbedBuilder, EmbedFooterBuilder};

use super::reply::{thousands, ACCENT};
use super::{Reply, Request};
use crate::domain::Level;

/// Members on one page.
pub const PAGE_SIZE: u64 = 10;

/// The `/leaderboard` command.
#[derive(CommandModel, CreateCommand, Debug)]
#[command(name = "leaderboard", desc = "The server's most active members by XP", contexts = "guild")]
pub struct LeaderboardCommand {
    /// Which page (default: 1).
    #[command(desc = "Which page (default: 1)", min_value = 1)]
    pub page: Option<i64>,
}

pub(crate) async fn run(request: &Request<'_>, command: LeaderboardCommand) -> anyhow::Result<Reply> {
    let page = command.page.unwrap_or(1).max(1) as u64;
    let guild = request.guild_id.get();
    let board = request.read(move |r| r.leaderboard(guild, (page - 1) * PAGE_SIZE, PAGE_SIZE)).await?;
    if board.total == 0 {
        return Ok(Reply::notice("No one has earned XP here yet. Messages earn XP; check back soon!"));
    }
    let pages = board.total.div_ceil(PAGE_SIZE);
    if board.members.is_empty() {
        return Ok(Reply::notice(format!(
            "The leaderboard has {pages} page{}; there is no page {page}.",
            if pages == 1 { "" } else { "s" }
        )));
    }
    let mut lines = String::new();
    for (i, member) in board.members.iter().enumerate() {
        let rank = (page - 1) * PAGE_SIZE + i as u64 + 1;
        let name = if member.display_name.is_empty() { &member.username } else { &member.display_name };
        let _ = writeln!(
            lines,
            "**#{rank}** {} — level {} · {} XP",
            escape_markdown(name),
            Level::from_xp(member.xp).level,
            thousands(member.xp)
        );
    }
    let embed = EmbedBuilder::new()
        .color(ACCENT)
        .title("Leaderboard")
        .description(lines)
        .footer(EmbedFooterBuilder::new(format!("Page {page} of {pages} · {} ranked members", thousands(board.total))))
        .build();
    Ok(Reply::embed(embed))
}

/// Keeps names like `*star*` from turning into formatting.
fn escape_markdown(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '*' | '_' | '~' | '`' | '|' | '>' | '\\' | '#' | '[' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn markdown_is_escaped() {
        assert_eq!(super::escape_markdown("*a_b*"), "\\*a\\_b\\*");
    }
}
