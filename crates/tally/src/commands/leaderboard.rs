//! `/leaderboard [page] [period] [by]`: the server's members by XP,
//! messages or reactions, over all time or the last week or month, ten a
//! page, with Previous/Next buttons that only the member who asked can use.
//! All-time XP comes from the in-memory standings; the other boards from
//! the members' totals or the day tables, their order kept while current
//! (see `store::boards`).

use std::fmt::Write as _;

use twilight_interactions::command::{CommandModel, CommandOption, CreateCommand, CreateOption};
use twilight_model::channel::message::component::{ActionRow, Button, ButtonStyle};
use twilight_model::channel::message::Component;
use twilight_util::builder::embed::{EmbedBuilder, EmbedFooterBuilder};

use super::reply::{thousands, ACCENT};
use super::{Reply, Request};
use crate::domain::days::today;
use crate::domain::humanize::duration_short;
use crate::domain::Level;
use crate::store::{Measure, Member, Span};

/// Members on one page.
pub const PAGE_SIZE: u64 = 10;

/// How far back a board looks.
#[derive(CommandOption, CreateOption, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// Everything since Tally started counting.
    #[option(name = "all time", value = "all")]
    All,
    /// The last 7 days, today included.
    #[option(name = "this week (7 days)", value = "week")]
    Week,
    /// The last 30 days, today included.
    #[option(name = "this month (30 days)", value = "month")]
    Month,
}

/// What a board ranks by.
#[derive(CommandOption, CreateOption, Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    /// XP.
    #[option(name = "XP", value = "xp")]
    Xp,
    /// Messages posted.
    #[option(name = "messages", value = "messages")]
    Messages,
    /// Reactions others gave the member's messages.
    #[option(name = "reactions received", value = "reactions")]
    Reactions,
    /// Reactions the member gave.
    #[option(name = "reactions given", value = "reactions_given")]
    ReactionsGiven,
    /// Time in voice channels.
    #[option(name = "voice time", value = "voice")]
    Voice,
}

impl Period {
    fn key(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Week => "week",
            Self::Month => "month",
        }
    }

    fn from_key(key: &str) -> Option<Self> {
        [Self::All, Self::Week, Self::Month].into_iter().find(|p| p.key() == key)
    }

    /// Days covered, for the windows.
    fn days(self) -> Option<i64> {
        match self {
            Self::All => None,
            Self::Week => Some(7),
            Self::Month => Some(30),
        }
    }
}

impl By {
    const ALL: [Self; 5] = [Self::Xp, Self::Messages, Self::Reactions, Self::ReactionsGiven, Self::Voice];

    fn key(self) -> &'static str {
        match self {
            Self::Xp => "xp",
            Self::Messages => "messages",
            Self::Reactions => "reactions",
            Self::ReactionsGiven => "reactions_given",
            Self::Voice => "voice",
        }
    }

    fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.key() == key)
    }

    fn measure(self) -> Measure {
        match self {
            Self::Xp => Measure::Xp,
            Self::Messages => Measure::Messages,
            Self::Reactions => Measure::ReactionsReceived,
            Self::ReactionsGiven => Measure::ReactionsGiven,
            Self::Voice => Measure::Voice,
        }
    }

    /// `n` of it, in words: "1 message", "12 reactions received", "3 h 5 min in voice".
    fn count(self, n: u64) -> String {
        let (one, many) = match self {
            Self::Voice => return format!("{} in voice", duration_short(n)),
            Self::Xp => ("XP", "XP"),
            Self::Messages => ("message", "messages"),
            Self::Reactions => ("reaction received", "reactions received"),
            Self::ReactionsGiven => ("reaction given", "reactions given"),
        };
        format!("{} {}", thousands(n), if n == 1 { one } else { many })
    }

    /// How a board's title names it.
    fn title(self) -> &'static str {
        match self {
            Self::Xp => "XP",
            Self::Messages => "messages",
            Self::Reactions => "reactions received",
            Self::ReactionsGiven => "reactions given",
            Self::Voice => "voice time",
        }
    }
}

/// Which board, and which page of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct View {
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
    let Some((asker, view)) = parse_button(custom_id) else {
        return Ok(Reply::notice("This button is from an older version of Tally. Run /leaderboard again."));
    };
    if asker != request.invoker.id.get() {
        return Ok(Reply::notice(format!(
            "Only <@{asker}> can turn the pages of this leaderboard. Run /leaderboard to get your own."
        )));
    }
    let mut reply = page_reply(request, view).await?;
    reply.update = !reply.ephemeral;
    Ok(reply)
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
fn line_figure(member: &Member, figure: Option<u64>, by: By) -> String {
    match figure {
        None => format!("level {} · {} XP", Level::from_xp(member.xp).level, thousands(member.xp)),
        Some(n) => by.count(n),
    }
}

async fn page_reply(request: &Request<'_>, view: View) -> anyhow::Result<Reply> {
    let guild = request.guild_id.get();
    let View { page, period, by } = view;
    let offset = (page - 1) * PAGE_SIZE;
    // All-time XP comes from the in-memory standings; everything else from
    // the day tables. Either way: rows with their figure, and the total.
    let (rows, total) = match (period.days(), by) {
        (None, By::Xp) => {
            let board = request.read(move |r| r.leaderboard(guild, offset, PAGE_SIZE)).await?;
            (board.members.into_iter().map(|m| (m, None)).collect::<Vec<_>>(), board.total)
        }
        (days, _) => {
            let span = days.map_or(Span::AllTime, |d| Span::Days { first: today() - d + 1, last: today() });
            let measure = by.measure();
            let board = request.read(move |r| r.period_board(guild, span, measure, offset, PAGE_SIZE)).await?;
            (board.rows.into_iter().map(|(m, n)| (m, Some(n))).collect(), board.total)
        }
    };
    if total == 0 {
        return Ok(Reply::notice(match (period, by) {
            (Period::All, By::Xp) => "No one has earned XP here yet. Messages earn XP; check back soon!".to_owned(),
            (Period::All, _) => format!("No one here has any {} yet. Check back soon!", by.title()),
            _ => format!("No one here has any {} in the {}. Check back soon!", by.title(), period_words(period)),
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
        let _ = writeln!(lines, "**#{rank}** {} — {}", escape_markdown(name), line_figure(member, *figure, by));
    }
    let title = match (period, by) {
        (Period::All, By::Xp) => "Leaderboard".to_owned(),
        _ => format!("Leaderboard — {}, {}", by.title(), period_words(period)),
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

fn period_words(period: Period) -> &'static str {
    match period {
        Period::All => "all time",
        Period::Week => "last 7 days",
        Period::Month => "last 30 days",
    }
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
