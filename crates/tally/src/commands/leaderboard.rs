//! `/leaderboard [page]`: the server's members by XP, ten a page, with
//! Previous/Next buttons that only the member who asked can use.

use std::fmt::Write as _;

use twilight_interactions::command::{CommandModel, CreateCommand};
use twilight_model::channel::message::component::{ActionRow, Button, ButtonStyle};
use twilight_model::channel::message::Component;
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
    page_reply(request, command.page.unwrap_or(1).max(1) as u64).await
}

/// A click on a Previous/Next button (`custom_id` from [`buttons`]). Only
/// the member who asked pages their copy; others are told to ask their own.
pub(crate) async fn clicked(request: &Request<'_>, custom_id: &str) -> anyhow::Result<Reply> {
    let Some((asker, page)) = parse_button(custom_id) else {
        return Ok(Reply::notice("This button is from an older version of Tally. Run /leaderboard again."));
    };
    if asker != request.invoker.id.get() {
        return Ok(Reply::notice(format!(
            "Only <@{asker}> can turn the pages of this leaderboard. Run /leaderboard to get your own."
        )));
    }
    let mut reply = page_reply(request, page).await?;
    reply.update = !reply.ephemeral;
    Ok(reply)
}

/// The prefix of Tally's leaderboard buttons.
pub(crate) const BUTTON_PREFIX: &str = "lb:";

/// `lb:<asker>:<page>`, read back.
fn parse_button(custom_id: &str) -> Option<(u64, u64)> {
    let (asker, page) = custom_id.strip_prefix(BUTTON_PREFIX)?.split_once(':')?;
    Some((asker.parse().ok()?, page.parse().ok().filter(|p| *p >= 1)?))
}

/// Previous and Next for `asker`'s copy at `page` of `pages`.
fn buttons(asker: u64, page: u64, pages: u64) -> Vec<Component> {
    let button = |label: &str, target: u64, disabled: bool| {
        Component::Button(Button {
            custom_id: Some(format!("{BUTTON_PREFIX}{asker}:{target}")),
            disabled,
            emoji: None,
            id: None,
            label: Some(label.to_owned()),
            sku_id: None,
            style: ButtonStyle::Secondary,
            url: None,
        })
    };
    let row = ActionRow {
        components: vec![
            button("◀ Previous", page.saturating_sub(1).max(1), page <= 1),
            button("Next ▶", (page + 1).min(pages.max(1)), page >= pages),
        ],
        id: None,
    };
    vec![Component::ActionRow(row)]
}

async fn page_reply(request: &Request<'_>, page: u64) -> anyhow::Result<Reply> {
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
    let mut reply = Reply::embed(embed);
    if pages > 1 {
        reply.components = buttons(request.invoker.id.get(), page, pages);
    }
    Ok(reply)
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
    fn buttons_round_trip_and_stop_at_the_ends() {
        use super::*;
        assert_eq!(parse_button("lb:42:7"), Some((42, 7)));
        assert_eq!(parse_button("lb:42:0"), None);
        assert_eq!(parse_button("other:1:2"), None);
        let ids = |components: Vec<Component>| -> Vec<(String, bool)> {
            let Component::ActionRow(row) = &components[0] else { panic!("a row") };
            row.components
                .iter()
                .map(|c| match c {
                    Component::Button(b) => (b.custom_id.clone().unwrap(), b.disabled),
                    _ => panic!("buttons only"),
                })
                .collect()
        };
        assert_eq!(ids(buttons(42, 1, 3)), [("lb:42:1".to_owned(), true), ("lb:42:2".to_owned(), false)]);
        assert_eq!(ids(buttons(42, 3, 3)), [("lb:42:2".to_owned(), false), ("lb:42:3".to_owned(), true)]);
    }

    #[test]
    fn markdown_is_escaped() {
        assert_eq!(super::escape_markdown("*a_b*"), "\\*a\\_b\\*");
    }
}
