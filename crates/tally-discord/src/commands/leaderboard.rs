//! `/leaderboard [page] [period] [by]`: the server's members by XP,
//! messages or reactions, over all time or the last week or month, ten a
//! page, with Previous/Next buttons that only the member who asked can use.
//! All-time XP comes from the in-memory standings; the other boards from
//! the members' totals or the day tables, their order kept while current
//! (see `store::boards`).

use std::fmt::Write as _;

use twilight_interactions::command::{CommandModel, CreateCommand};
use twilight_model::channel::message::component::{ActionRow, Button, ButtonStyle};
use twilight_model::channel::message::Component;
use twilight_util::builder::embed::{EmbedBuilder, EmbedFooterBuilder};

use super::reply::{thousands, ACCENT};
use super::{Reply, Request};
use crate::boards::{By, Period};
use crate::domain::days::today;
use crate::domain::Curve;
use crate::store::Member;

/// Members on one page.
pub const PAGE_SIZE: u64 = 10;

/// Which board, and which page of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct View {
    page: u64,
    period: Period,
    by: By,
}

/// The `/leaderboard` command.
#[derive(CommandModel, CreateCommand, Debug)]
#[command(name = "leaderboard", desc = "The server's most active members", contexts = "guild")]
pub struct LeaderboardCommand {
    /// Which page (default: 1).
    #[command(desc = "Which page (default: 1)", min_value = 1)]
    pub page: Option<i64>,
    /// How far back (default: all time).
    #[command(desc = "How far back (default: all time)")]
    pub period: Option<Period>,
    /// Rank by XP, messages, reactions or voice time (default: XP).
    #[command(desc = "Rank by XP, messages, reactions or voice time (default: XP)")]
    pub by: Option<By>,
}

pub(crate) async fn run(request: &Request<'_>, command: LeaderboardCommand) -> anyhow::Result<Reply> {
    let view = View {
        page: command.page.unwrap_or(1).max(1) as u64,
        period: command.period.unwrap_or(Period::All),
        by: command.by.unwrap_or(By::Xp),
    };
    page_reply(request, view).await
}

/// A click on a Previous/Next button (`custom_id` from [`buttons`]). Only
/// the member who asked pages their copy; others are told to ask their own.
pub(crate) async fn clicked(request: &Request<'_>, custom_id: &str) -> anyhow::Result<Reply> {
    let view = match may_click(custom_id, request.invoker.id.get()) {
        Ok(view) => view,
        Err(notice) => return Ok(notice),
    };
    let mut reply = page_reply(request, view).await?;
    reply.update = !reply.ephemeral;
    Ok(reply)
}

/// The page `clicker` asks for, if they may press this button (it is
/// Tally's, and on their own board), or the notice telling them why not:
/// decided with nothing read.
pub(crate) fn may_click(custom_id: &str, clicker: u64) -> Result<View, Reply> {
    let Some((asker, view)) = parse_button(custom_id) else {
        return Err(Reply::notice("This button is from an older version of Tally. Run /leaderboard again."));
    };
    if asker != clicker {
        return Err(Reply::notice(format!(
            "Only <@{asker}> can turn the pages of this leaderboard. Run /leaderboard to get your own."
        )));
    }
    Ok(view)
}

/// The prefix of Tally's leaderboard buttons.
pub(crate) const BUTTON_PREFIX: &str = "lb:";

/// `lb:<asker>:<page>[:<period>:<by>]`, read back.
fn parse_button(custom_id: &str) -> Option<(u64, View)> {
    let mut parts = custom_id.strip_prefix(BUTTON_PREFIX)?.split(':');
    let asker = parts.next()?.parse().ok()?;
    let page = parts.next()?.parse().ok().filter(|p| *p >= 1)?;
    let period = parts.next().map_or(Some(Period::All), Period::from_key)?;
    let by = parts.next().map_or(Some(By::Xp), By::from_key)?;
    Some((asker, View { page, period, by }))
}

/// Previous and Next for `asker`'s copy of `view`, out of `pages`.
fn buttons(asker: u64, view: View, pages: u64) -> Vec<Component> {
    let button = |label: &str, target: u64, disabled: bool| {
        Component::Button(Button {
            custom_id: Some(format!("{BUTTON_PREFIX}{asker}:{target}:{}:{}", view.period.key(), view.by.key())),
            disabled,
            emoji: None,
            id: None,
            label: Some(label.to_owned()),
            sku_id: None,
            style: ButtonStyle::Secondary,
            url: None,
        })
    };
    let page = view.page;
    let row = ActionRow {
        components: vec![
            button("◀ Previous", page.saturating_sub(1).max(1), page <= 1),
            button("Next ▶", (page + 1).min(pages.max(1)), page >= pages),
        ],
        id: None,
    };
    vec![Component::ActionRow(row)]
}

/// One board line's figure: level and all-time XP, or the board's figure.
fn line_figure(member: &Member, figure: Option<u64>, by: By, curve: Curve) -> String {
    match figure {
        None => format!("level {} · {} XP", curve.level(member.xp).level, thousands(member.xp)),
        Some(n) => by.count(n),
    }
}

async fn page_reply(request: &Request<'_>, view: View) -> anyhow::Result<Reply> {
    let guild = request.guild_id.get();
    let View { page, period, by } = view;
    let offset = (page - 1) * PAGE_SIZE;
    // All-time XP comes from the in-memory standings; everything else from
    // the day tables. Either way: rows with their figure, and the total.
    let (rows, total, curve) = match (period, by) {
        (Period::All, By::Xp) => {
            let (board, curve) = request
                .read(move |r| Ok((r.leaderboard(guild, offset, PAGE_SIZE)?, r.settings(guild)?.leveling.curve)))
                .await?;
            (board.members.into_iter().map(|m| (m, None)).collect::<Vec<_>>(), board.total, curve)
        }
        _ => {
            let (span, measure) = (period.span(today()), by.measure());
            let board = request.read(move |r| r.period_board(guild, span, measure, offset, PAGE_SIZE)).await?;
            (board.rows.into_iter().map(|(m, n)| (m, Some(n))).collect(), board.total, Curve::MEE6)
        }
    };
    if total == 0 {
        return Ok(Reply::notice(match (period, by) {
            (Period::All, By::Xp) => "No one has earned XP here yet. Messages earn XP; check back soon!".to_owned(),
            (Period::All, _) => format!("No one here has any {} yet. Check back soon!", by.words()),
            _ => format!("No one here has any {} in the {}. Check back soon!", by.words(), period.words()),
        }));
    }
    let pages = total.div_ceil(PAGE_SIZE);
    if rows.is_empty() {
        return Ok(Reply::notice(format!(
            "The leaderboard has {pages} page{}; there is no page {page}.",
            if pages == 1 { "" } else { "s" }
        )));
    }
    let mut lines = String::new();
    for (i, (member, figure)) in rows.iter().enumerate() {
        let rank = offset + i as u64 + 1;
        let name = if member.display_name.is_empty() { &member.username } else { &member.display_name };
        // A member known only from an import: Discord shows a mention in an
        // embed as their name, without pinging anyone.
        let name = if name.is_empty() { format!("<@{}>", member.user_id) } else { escape_markdown(name) };
        let _ = writeln!(lines, "**#{rank}** {name} — {}", line_figure(member, *figure, by, curve));
    }
    let title = match (period, by) {
        (Period::All, By::Xp) => "Leaderboard".to_owned(),
        _ => format!("Leaderboard — {}, {}", by.words(), period.words()),
    };
    let embed = EmbedBuilder::new()
        .color(ACCENT)
        .title(title)
        .description(lines)
        .footer(EmbedFooterBuilder::new(format!("Page {page} of {pages} · {} ranked members", thousands(total))))
        .build();
    let mut reply = Reply::embed(embed);
    if pages > 1 {
        reply.components = buttons(request.invoker.id.get(), view, pages);
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
        let view = |page, period, by| View { page, period, by };
        assert_eq!(parse_button("lb:42:7"), Some((42, view(7, Period::All, By::Xp))), "the first buttons' form");
        assert_eq!(parse_button("lb:42:2:week:messages"), Some((42, view(2, Period::Week, By::Messages))));
        assert_eq!(parse_button("lb:42:0"), None);
        assert_eq!(parse_button("lb:42:2:year:xp"), None);
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
        let at = |page| view(page, Period::Month, By::Xp);
        assert_eq!(
            ids(buttons(42, at(1), 3)),
            [("lb:42:1:month:xp".to_owned(), true), ("lb:42:2:month:xp".to_owned(), false)]
        );
        assert_eq!(
            ids(buttons(42, at(3), 3)),
            [("lb:42:2:month:xp".to_owned(), false), ("lb:42:3:month:xp".to_owned(), true)]
        );
    }

    #[test]
    fn markdown_is_escaped() {
        assert_eq!(super::escape_markdown("*a_b*"), "\\*a\\_b\\*");
    }
}
