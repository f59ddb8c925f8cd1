//! The rank card's drawing, as SVG: pure, so its layout is testable without
//! rendering. The avatar picture itself is painted in afterwards (see
//! [`super::render`]); here it is a disc with the member's initials.

use std::fmt::Write as _;

use tally_domain::humanize::{escape_markup as escape, hue, initials, thousands};

/// Card width in pixels.
pub const WIDTH: u32 = 934;
/// Card height in pixels.
pub const HEIGHT: u32 = 372;
/// Where the 30-day chart's bars stand: x, baseline y, width, tallest bar.
pub const CHART: (f32, f32, f32, f32) = (270.0, 350.0, 620.0, 56.0);
/// Centre and radius of the avatar disc.
pub const AVATAR: (f32, f32, f32) = (141.0, 141.0, 94.0);
/// Where the progress bar is: x, y, width, height.
pub const BAR: (f32, f32, f32, f32) = (270.0, 168.0, 620.0, 34.0);
/// The background colour, for tests that look at pixels.
pub const BACKGROUND: u32 = 0x1E1F22;
/// The bar's empty part.
pub const BAR_EMPTY: u32 = 0x0F1114;

/// What a rank card shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardData {
    /// The member's id (picks the disc colour).
    pub user_id: u64,
    /// The name the server shows.
    pub name: String,
    /// Their unique username.
    pub username: String,
    /// Total XP.
    pub xp: u64,
    /// The server's level curve.
    pub curve: tally_domain::Curve,
    /// Place on the board; None when unranked.
    pub rank: Option<u64>,
    /// Messages posted.
    pub messages: u64,
    /// Reactions given.
    pub reactions_given: u64,
    /// Reactions received.
    pub reactions_received: u64,
    /// The accent colour (0xRRGGBB).
    pub accent: u32,
    /// Messages on each of the last days, oldest first (the chart).
    pub days: Vec<u64>,
}

/// `text` cut to `max` characters, with an ellipsis when cut.
fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// A lighter shade of `colour`, for the bar's gradient.
fn lighter(colour: u32) -> u32 {
    let channel = |shift: u32| {
        let c = (colour >> shift) & 0xFF;
        (c + (255 - c) * 2 / 5) << shift
    };
    channel(16) | channel(8) | channel(0)
}

/// The card as SVG.
pub fn svg(card: &CardData) -> String {
    let level = card.curve.level(card.xp);
    let (cx, cy, r) = AVATAR;
    let (bx, by, bw, bh) = BAR;
    let filled = if level.needed == 0 { 0.0 } else { bw * level.progress as f32 / level.needed as f32 };
    let filled = if level.progress > 0 { filled.max(bh) } else { 0.0 };
    let rank = card.rank.map_or_else(|| "—".to_owned(), |r| format!("#{}", thousands(r)));
    let mut out = String::with_capacity(4096);
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="DejaVu Sans">
<defs><linearGradient id="fill" x1="0" y1="0" x2="1" y2="0"><stop offset="0" stop-color="#{accent:06x}"/><stop offset="1" stop-color="#{light:06x}"/></linearGradient></defs>
<rect width="{WIDTH}" height="{HEIGHT}" rx="22" fill="#{accent:06x}"/>
<rect y="6" width="{WIDTH}" height="{inner}" rx="22" fill="#{BACKGROUND:06x}"/>
<circle cx="{cx}" cy="{cy}" r="{ring}" fill="#{accent:06x}"/>
<circle cx="{cx}" cy="{cy}" r="{r}" fill="hsl({hue}, 55%, 45%)"/>
<text x="{cx}" y="{initials_y}" font-size="68" font-weight="bold" fill="#ffffff" text-anchor="middle">{initials}</text>
<text x="{bx}" y="78" font-size="20" fill="#b5bac1">RANK <tspan font-size="40" font-weight="bold" fill="#ffffff">{rank}</tspan></text>
<text x="890" y="78" font-size="20" fill="#{accent:06x}" text-anchor="end">LEVEL <tspan font-size="40" font-weight="bold">{level}</tspan></text>
<text x="{bx}" y="150" font-size="36" font-weight="bold" fill="#ffffff">{name}</text>
<text x="890" y="150" font-size="22" fill="#b5bac1" text-anchor="end"><tspan fill="#ffffff" font-weight="bold">{progress}</tspan> / {needed} XP</text>
<rect x="{bx}" y="{by}" width="{bw}" height="{bh}" rx="{radius}" fill="#{BAR_EMPTY:06x}"/>
<rect x="{bx}" y="{by}" width="{filled}" height="{bh}" rx="{radius}" fill="url(#fill)"/>
<text x="{bx}" y="248" font-size="21" fill="#b5bac1">@{username}</text>
<text x="890" y="248" font-size="21" fill="#b5bac1" text-anchor="end"><tspan fill="#ffffff" font-weight="bold">{messages}</tspan> messages · <tspan fill="#ffffff" font-weight="bold">{given}</tspan> reactions given · <tspan fill="#ffffff" font-weight="bold">{received}</tspan> received</text>
<line x1="40" y1="276" x2="894" y2="276" stroke="#2b2d31" stroke-width="2"/>
<text x="47" y="318" font-size="18" fill="#b5bac1">LAST {n_days} DAYS</text>
<text x="47" y="346" font-size="22" fill="#ffffff" font-weight="bold">{recent} <tspan font-size="18" font-weight="normal" fill="#b5bac1">messages</tspan></text>
{chart}
</svg>"##,
        accent = card.accent & 0xFF_FFFF,
        light = lighter(card.accent & 0xFF_FFFF),
        ring = r + 6.0,
        inner = HEIGHT - 6,
        hue = hue(&card.user_id.to_string()),
        initials_y = cy + 24.0,
        initials = escape(&initials(&card.name)),
        level = level.level,
        name = escape(&clip(&card.name, 22)),
        progress = thousands(level.progress),
        needed = thousands(level.needed),
        radius = bh / 2.0,
        username = escape(&clip(&card.username, 20)),
        messages = thousands(card.messages),
        given = thousands(card.reactions_given),
        received = thousands(card.reactions_received),
        n_days = card.days.len(),
        recent = thousands(card.days.iter().sum()),
        chart = chart(&card.days, card.accent & 0xFF_FFFF),
    );
    out
}

/// Bars of messages per day under the card; a quiet day is a faint stub.
fn chart(days: &[u64], accent: u32) -> String {
    let (x0, base, width, tallest) = CHART;
    let most = days.iter().copied().max().unwrap_or(0).max(1) as f32;
    let slot = width / days.len().max(1) as f32;
    let mut out = String::new();
    for (i, &messages) in days.iter().enumerate() {
        let height = (tallest * messages as f32 / most).max(3.0);
        let fill = if messages == 0 { "#2b2d31".to_owned() } else { format!("#{accent:06x}") };
        let _ = write!(
            out,
            r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{height:.1}" rx="2" fill="{fill}"/>"#,
            x = x0 + i as f32 * slot + 2.0,
            y = base - height,
            w = (slot - 4.0).max(1.0),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card() -> CardData {
        CardData {
            user_id: 42,
            name: "Ada <Lovelace>".into(),
            username: "ada".into(),
            xp: 150,
            curve: tally_domain::Curve::MEE6,
            rank: Some(1234),
            messages: 12345,
            reactions_given: 3,
            reactions_received: 4,
            accent: 0x5865F2,
            days: vec![0, 3, 1],
        }
    }

    #[test]
    fn text_is_escaped_and_figures_shown() {
        let svg = svg(&card());
        assert!(svg.contains("Ada &lt;Lovelace&gt;"));
        assert!(svg.contains("#1,234"));
        assert!(svg.contains(">12,345</tspan> messages"));
        assert!(svg.contains(">50</tspan> / 155 XP"), "150 XP is level 1 with 50 of 155");
        assert!(svg.contains("LAST 3 DAYS"));
        assert_eq!(svg.matches("<rect x=\"").count(), 5, "the progress bar's two rectangles and three day bars");
    }

    #[test]
    fn long_names_are_cut() {
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abc", 4), "abc");
    }

    #[test]
    fn lighter_shades() {
        assert_eq!(lighter(0x000000), 0x666666);
        assert_eq!(lighter(0xFFFFFF), 0xFFFFFF);
    }
}
