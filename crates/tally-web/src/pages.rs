//! The web pages, rendered on the server into plain HTML with the style
//! inlined: one request per page, nothing to build, no script needed.

use std::fmt::Write as _;

use super::views::{ActivityView, BoardView, By, Choice, MemberView, Period, ProfileView, ServerView};
use crate::domain::humanize::{duration_short, hue, initials, thousands};

pub use crate::domain::humanize::escape_markup as escape;

const STYLE: &str = include_str!("style.css");

pub(crate) fn layout(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>{STYLE}</style></head>\
         <body><header><a class=\"brand\" href=\"/\">Tally</a></header><main>{body}</main>\
         <footer>Counted exactly once by Tally.</footer></body></html>\n",
        title = escape(title)
    )
}

/// The member's initials on a coloured disc, with their picture laid over
/// it when they have one. The picture is a CSS background: one that fails
/// to load (a stale hash) draws nothing, leaving the initials, with no
/// script and no broken-image icon.
fn avatar(member: &MemberView, cdn_base: &str) -> String {
    let picture = match &member.avatar {
        Some(hash) => {
            let url = tally_discord::avatars::url(cdn_base, &member.user_id, hash, 128);
            format!(
                "<span class=\"pic\" style=\"background-image:url(&quot;{}&quot;)\"></span>",
                escape(&css_url(&url))
            )
        }
        None => String::new(),
    };
    format!(
        "<span class=\"avatar\" style=\"--hue:{}\" aria-hidden=\"true\">{}{picture}</span>",
        hue(&member.user_id),
        escape(&initials(&member.name))
    )
}

/// A URL made safe inside CSS `url("…")`: the characters that could end it
/// are percent-encoded.
fn css_url(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    for c in url.chars() {
        match c {
            '"' | '\'' | '(' | ')' | '\\' | ' ' | '\n' | '\r' | '\t' => out.push_str(&format!("%{:02X}", c as u32)),
            _ => out.push(c),
        }
    }
    out
}

fn progress(member: &MemberView) -> String {
    format!(
        "<span class=\"bar\" role=\"progressbar\" aria-valuenow=\"{pct}\" aria-valuemin=\"0\" aria-valuemax=\"100\" \
         title=\"{done} / {need} XP to level {next}\"><span style=\"width:{pct}%\"></span></span>",
        pct = member.percent(),
        done = thousands(member.level_progress),
        need = thousands(member.level_needed),
        next = member.level + 1
    )
}

/// The front page: every server with a public board.
pub fn index(servers: &[ServerView]) -> String {
    let mut body = String::from("<h1>Leaderboards</h1>");
    if servers.is_empty() {
        body.push_str(
            "<p class=\"empty\">No server has made its leaderboard public yet. A server admin can turn it on with \
             <code>tally web enable --guild SERVER_ID</code>.</p>",
        );
    } else {
        body.push_str("<ul class=\"servers\">");
        for s in servers {
            let _ = write!(body, "<li><a href=\"/servers/{}\">{}</a></li>", s.id, escape(&s.name));
        }
        body.push_str("</ul>");
    }
    layout("Tally leaderboards", &body)
}

/// Bars for the last days: messages above, joins (green) and leaves (red)
/// in a strip below. Plain SVG, sized by the page.
pub fn activity_chart(view: &ActivityView) -> String {
    let days = &view.days;
    if days.iter().all(|d| d.messages == 0 && d.joins == 0 && d.leaves == 0) {
        return String::new();
    }
    let (width, top, strip) = (900.0_f64, 120.0_f64, 40.0_f64);
    let slot = width / days.len().max(1) as f64;
    let most_messages = days.iter().map(|d| d.messages).max().unwrap_or(0).max(1) as f64;
    let most_moves = days.iter().map(|d| d.joins.max(d.leaves)).max().unwrap_or(0).max(1) as f64;
    let mut svg = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {width} {h}\" role=\"img\" aria-label=\"Messages, joins and leaves per day\">",
        h = top + strip * 2.0 + 4.0
    );
    for (i, d) in days.iter().enumerate() {
        let x = i as f64 * slot + 2.0;
        let w = (slot - 4.0).max(1.0);
        let bar = top * d.messages as f64 / most_messages;
        let joined = strip * d.joins as f64 / most_moves;
        let left = strip * d.leaves as f64 / most_moves;
        let _ = write!(
            svg,
            "<g data-date=\"{date}\" data-messages=\"{m}\"><title>{date}: {m} messages, {j} joined, {l} left</title>\
             <rect class=\"msg\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{bar:.1}\" rx=\"2\"/>\
             <rect class=\"join\" x=\"{x:.1}\" y=\"{jy:.1}\" width=\"{w:.1}\" height=\"{joined:.1}\"/>\
             <rect class=\"leave\" x=\"{x:.1}\" y=\"{ly:.1}\" width=\"{w:.1}\" height=\"{left:.1}\"/></g>",
            date = d.date,
            m = d.messages,
            j = d.joins,
            l = d.leaves,
            y = top - bar,
            jy = top + 4.0 + strip - joined,
            ly = top + 4.0 + strip,
        );
    }
    svg.push_str("</svg>");
    let total: u64 = days.iter().map(|d| d.messages).sum();
    let joins: u64 = days.iter().map(|d| d.joins).sum();
    let leaves: u64 = days.iter().map(|d| d.leaves).sum();
    format!(
        "<section class=\"activity\"><h2>Last {n} days</h2><p class=\"sub\">{total} messages · \
         <span class=\"joined\">{joins} joined</span> · <span class=\"left\">{leaves} left</span></p>{svg}\
         <p class=\"axis\"><span>{from}</span><span>{to} (UTC)</span></p></section>",
        n = days.len(),
        from = days.first().map_or("", |d| d.date.as_str()),
        to = days.last().map_or("", |d| d.date.as_str()),
        total = thousands(total),
        joins = thousands(joins),
        leaves = thousands(leaves),
    )
}

/// One page of a server's board, with its recent activity. Avatars load
/// from the CDN at `cdn_base`.
pub fn board(view: &BoardView, activity: &ActivityView, cdn_base: &str) -> String {
    let server = &view.server;
    let mut body = format!(
        "<h1>{name}</h1><p class=\"sub\">{total} ranked member{s} · page {page} of {pages}</p>",
        name = escape(&server.name),
        total = thousands(view.total),
        s = if view.total == 1 { "" } else { "s" },
        page = view.page,
        pages = view.pages,
    );
    body.push_str(&activity_chart(activity));
    body.push_str(&tabs(view));
    if view.members.is_empty() {
        let empty = if view.choice == Choice::default() {
            "No one has earned XP here yet. Messages earn XP; check back soon.".to_owned()
        } else {
            let when = match view.choice.period {
                Period::All => String::new(),
                period => format!(" in the {}", period.words()),
            };
            format!("No one has any {}{when} yet.", view.choice.by.words())
        };
        let _ = write!(body, "<p class=\"empty\">{empty}</p>");
    }
    let first_rank = view.members.first().and_then(|m| m.rank).unwrap_or(1);
    let _ = write!(body, "<ol class=\"board\" start=\"{first_rank}\">");
    for m in &view.members {
        let (main, second) = match m.figure {
            None => (format!("{} XP", thousands(m.xp)), format!("{} messages", thousands(m.messages))),
            Some(n) => (figure(view.choice.by, n), view.choice.period.words().to_owned()),
        };
        let rank = m.rank.unwrap_or_default();
        let podium = match rank {
            1 => " gold",
            2 => " silver",
            3 => " bronze",
            _ => "",
        };
        let _ = write!(
            body,
            "<li class=\"row{podium}\" data-user-id=\"{id}\" data-rank=\"{rank}\">\
             <span class=\"rank\">#{rank}</span>{avatar}\
             <span class=\"who\"><a class=\"name\" href=\"/servers/{server}/members/{id}\">{name}</a>\
             <span class=\"username\">@{username}</span></span>\
             <span class=\"level\">Level {level}{bar}</span>\
             <span class=\"xp\">{main}</span>\
             <span class=\"messages\">{second}</span></li>",
            id = m.user_id,
            avatar = avatar(m, cdn_base),
            server = server.id,
            name = escape(&m.name),
            username = escape(&m.username),
            level = m.level,
            bar = progress(m),
            main = main,
            second = second,
        );
    }
    body.push_str("</ol>");
    body.push_str(&pager(view));
    layout(&format!("{} — Tally leaderboard", server.name), &body)
}

/// A board's address: the choice and page in the query, defaults left out.
fn board_href(server_id: &str, choice: Choice, page: u64) -> String {
    let mut query = Vec::new();
    if choice.period != Period::All {
        query.push(format!("period={}", choice.period.key()));
    }
    if choice.by != By::Xp {
        query.push(format!("by={}", choice.by.key()));
    }
    if page > 1 {
        query.push(format!("page={page}"));
    }
    let query = if query.is_empty() { String::new() } else { format!("?{}", query.join("&amp;")) };
    format!("/servers/{server_id}{query}")
}

/// Links to the other boards: each period, each measure.
fn tabs(view: &BoardView) -> String {
    let mut out = String::from("<nav class=\"tabs\" aria-label=\"Boards\">");
    let tab = |choice: Choice, text: &str, on: bool| {
        let current = if on { " class=\"on\" aria-current=\"page\"" } else { "" };
        format!("<a href=\"{}\"{current}>{text}</a>", board_href(&view.server.id, choice, 1))
    };
    for period in Period::ALL {
        let choice = Choice { period, ..view.choice };
        out.push_str(&tab(choice, period.title(), period == view.choice.period));
    }
    out.push_str("<span class=\"gap\"></span>");
    for by in By::ALL {
        let choice = Choice { by, ..view.choice };
        out.push_str(&tab(choice, by.title(), by == view.choice.by));
    }
    out.push_str("</nav>");
    out
}

/// A board's figure for a member, in words (voice figures are seconds).
fn figure(by: By, n: u64) -> String {
    by.count(if by == By::Voice { n * 1000 } else { n })
}

fn pager(view: &BoardView) -> String {
    if view.pages <= 1 {
        return String::new();
    }
    let link = |page: u64, rel: &str, text: &str| {
        format!("<a rel=\"{rel}\" href=\"{}\">{text}</a>", board_href(&view.server.id, view.choice, page))
    };
    let prev = if view.page > 1 {
        link(view.page - 1, "prev", "← Previous")
    } else {
        "<span class=\"off\">← Previous</span>".into()
    };
    let next = if view.page < view.pages {
        link(view.page + 1, "next", "Next →")
    } else {
        "<span class=\"off\">Next →</span>".into()
    };
    format!("<nav class=\"pager\">{prev}<span>Page {} of {}</span>{next}</nav>", view.page, view.pages)
}

/// A member's own page. Their avatar loads from the CDN at `cdn_base`.
pub fn profile(view: &ProfileView, cdn_base: &str) -> String {
    let (server, m) = (&view.server, &view.member);
    let rank = m.rank.map_or_else(|| "unranked".to_owned(), |r| format!("#{}", thousands(r)));
    let joined = m.joined_at_ms.map_or_else(|| "unknown".to_owned(), date);
    let mut body = format!(
        "<p><a href=\"/servers/{sid}\">← {sname}</a></p>\
         <section class=\"profile\" data-user-id=\"{id}\">{avatar}<div><h1>{name}</h1>\
         <p class=\"sub\">@{username} · rank <strong class=\"rank\">{rank}</strong></p></div></section>\
         <section class=\"level-card\"><p>Level <strong class=\"level\">{level}</strong> · {xp} XP</p>{bar}\
         <p class=\"sub\">{done} / {need} XP to level {next}</p></section><dl class=\"figures\">",
        sid = server.id,
        sname = escape(&server.name),
        id = m.user_id,
        avatar = avatar(m, cdn_base),
        name = escape(&m.name),
        username = escape(&m.username),
        level = m.level,
        xp = thousands(m.xp),
        bar = progress(m),
        done = thousands(m.level_progress),
        need = thousands(m.level_needed),
        next = m.level + 1,
    );
    for (label, value) in [
        ("Messages", thousands(m.messages)),
        ("Reactions given", thousands(m.reactions_given)),
        ("Reactions received", thousands(m.reactions_received)),
        ("Voice", duration_short(m.voice_seconds * 1000)),
        ("Joined", joined),
    ] {
        let _ = write!(body, "<div><dt>{label}</dt><dd>{}</dd></div>", escape(&value));
    }
    body.push_str("</dl>");
    body.push_str(&member_chart(view));
    layout(&format!("{} — {}", m.name, server.name), &body)
}

/// A member's messages per day, as bars.
fn member_chart(view: &ProfileView) -> String {
    let days = &view.days;
    let total: u64 = days.iter().map(|d| d.messages).sum();
    let (width, height) = (900.0_f64, 120.0_f64);
    let slot = width / days.len().max(1) as f64;
    let most = days.iter().map(|d| d.messages).max().unwrap_or(0).max(1) as f64;
    let mut svg =
        format!("<svg class=\"chart\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"Messages per day\">");
    for (i, d) in days.iter().enumerate() {
        let bar = height * d.messages as f64 / most;
        let _ = write!(
            svg,
            "<g data-date=\"{date}\" data-messages=\"{m}\"><title>{date}: {m} messages, {xp} XP</title>\
             <rect class=\"msg\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{bar:.1}\" rx=\"2\"/></g>",
            date = d.date,
            m = d.messages,
            xp = d.xp,
            x = i as f64 * slot + 2.0,
            y = height - bar,
            w = (slot - 4.0).max(1.0),
        );
    }
    svg.push_str("</svg>");
    format!(
        "<section class=\"activity\"><h2>Last {n} days</h2><p class=\"sub\">{total} messages</p>{svg}\
         <p class=\"axis\"><span>{from}</span><span>{to} (UTC)</span></p></section>",
        n = days.len(),
        total = thousands(total),
        from = days.first().map_or("", |d| d.date.as_str()),
        to = days.last().map_or("", |d| d.date.as_str()),
    )
}

/// A page for what cannot be shown.
pub fn not_found() -> String {
    layout(
        "Not found",
        "<h1>Nothing here</h1><p class=\"empty\">This leaderboard does not exist or is not public. \
         A server admin can make it public with <code>tally web enable --guild SERVER_ID</code>.</p>\
         <p><a href=\"/\">All public leaderboards</a></p>",
    )
}

/// A page for an address that asks for something that cannot be.
pub fn bad_request(why: &str) -> String {
    layout(
        "Bad request",
        &format!(
            "<h1>That address does not work</h1><p class=\"empty\">{}</p><p><a href=\"/\">All public leaderboards</a></p>",
            escape(why)
        ),
    )
}

/// A page for when the database fails.
pub fn unavailable() -> String {
    layout("Unavailable", "<h1>Try again in a moment</h1><p class=\"empty\">The database did not answer.</p>")
}

/// A calendar date (UTC) for `ms` since the Unix epoch.
fn date(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| t.format(time::macros::format_description!("[day] [month repr:short] [year]")).ok())
        .unwrap_or_else(|| "unknown".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape("<b a=\"x\">&'"), "&lt;b a=&quot;x&quot;&gt;&amp;&#39;");
    }

    #[test]
    fn urls_cannot_break_out_of_css() {
        assert_eq!(css_url("http://x/a\"b'c(d)e f\\g"), "http://x/a%22b%27c%28d%29e%20f%5Cg");
    }

    #[test]
    fn dates_are_readable() {
        assert_eq!(date(1_700_000_000_000), "14 Nov 2023");
    }
}
