//! The `/activity` image: a server's messages per day as bars, with joins
//! (green, up) and leaves (red, down) in a strip below. Pure SVG.

use std::fmt::Write as _;

use tally_domain::days::date_of;
use tally_domain::days::GuildDay;
use tally_domain::humanize::{escape_markup as escape, thousands};

/// Image width in pixels.
pub const WIDTH: u32 = 934;
/// Image height in pixels.
pub const HEIGHT: u32 = 360;
/// Where the message bars stand: x, baseline y, width, tallest bar.
pub const BARS: (f32, f32, f32, f32) = (40.0, 250.0, 854.0, 170.0);
/// Colour of joins.
pub const JOIN: u32 = 0x57F287;
/// Colour of leaves.
pub const LEAVE: u32 = 0xED4245;

/// What the chart shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityChart {
    /// The server's name, for the title.
    pub server: String,
    /// Each day of the period, oldest first, quiet days included.
    pub days: Vec<GuildDay>,
    /// Bar colour (0xRRGGBB).
    pub accent: u32,
}

/// The chart as SVG.
pub fn svg(chart: &ActivityChart) -> String {
    let (x0, base, width, tallest) = BARS;
    let days = &chart.days;
    let slot = width / days.len().max(1) as f32;
    let most = days.iter().map(|d| d.messages).max().unwrap_or(0).max(1) as f32;
    let most_moves = days.iter().map(|d| d.joins.max(d.leaves)).max().unwrap_or(0).max(1) as f32;
    let strip = 36.0;
    let total: u64 = days.iter().map(|d| d.messages).sum();
    let mut out = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="DejaVu Sans">
<rect width="{WIDTH}" height="{HEIGHT}" rx="22" fill="#1e1f22"/>
<text x="40" y="50" font-size="26" font-weight="bold" fill="#ffffff">{server}</text>
<text x="894" y="50" font-size="20" fill="#b5bac1" text-anchor="end"><tspan fill="#ffffff" font-weight="bold">{total}</tspan> messages · <tspan fill="#{JOIN:06x}">{joins} joined</tspan> · <tspan fill="#{LEAVE:06x}">{leaves} left</tspan></text>
"##,
        server = escape(&chart.server),
        total = thousands(total),
        joins = thousands(days.iter().map(|d| d.joins).sum()),
        leaves = thousands(days.iter().map(|d| d.leaves).sum()),
    );
    for (i, d) in days.iter().enumerate() {
        let x = x0 + i as f32 * slot + 1.5;
        let w = (slot - 3.0).max(1.0);
        let bar = (tallest * d.messages as f32 / most).max(2.0);
        let joined = strip * d.joins as f32 / most_moves;
        let left = strip * d.leaves as f32 / most_moves;
        let colour = if d.messages == 0 { 0x2B2D31 } else { chart.accent & 0xFF_FFFF };
        let _ = write!(
            out,
            r##"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{bar:.1}" rx="2" fill="#{colour:06x}"/><rect x="{x:.1}" y="{jy:.1}" width="{w:.1}" height="{joined:.1}" fill="#{JOIN:06x}"/><rect x="{x:.1}" y="{ly:.1}" width="{w:.1}" height="{left:.1}" fill="#{LEAVE:06x}"/>"##,
            y = base - bar,
            jy = base + 4.0 + strip - joined,
            ly = base + 4.0 + strip,
        );
    }
    let (first, last) = (days.first().map_or(0, |d| d.day), days.last().map_or(0, |d| d.day));
    let _ = write!(
        out,
        r##"<text x="40" y="345" font-size="16" fill="#b5bac1">{from}</text><text x="894" y="345" font-size="16" fill="#b5bac1" text-anchor="end">{to} (UTC)</text></svg>"##,
        from = date_of(first),
        to = date_of(last),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_and_dates_are_written() {
        let days = vec![
            GuildDay { day: 19_000, messages: 1_200, joins: 2, ..GuildDay::default() },
            GuildDay { day: 19_001, leaves: 1, ..GuildDay::default() },
        ];
        let svg = svg(&ActivityChart { server: "A & B".into(), days, accent: 0x5865F2 });
        assert!(svg.contains("A &amp; B"));
        assert!(svg.contains(">1,200</tspan> messages"));
        assert!(svg.contains("2 joined") && svg.contains("1 left"));
        assert!(svg.contains("2022-01-08") && svg.contains("2022-01-09 (UTC)"));
    }
}
