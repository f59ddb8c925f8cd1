//! Tally's images, pure rendering: the rank card `/stats` attaches and the
//! `/activity` chart ([`activity`]). Each is drawn as SVG text ([`svg`]),
//! rendered in-process by resvg with a bundled font (DejaVu Sans, so every
//! machine draws the same letters); the card paints the member's avatar
//! (bytes the caller fetched) into its disc.
//!
//! Depends on `tally-domain` only (numbers in words, days, the level
//! curve): no network, no database. Start with [`render`] and [`CardData`].

pub mod activity;
pub mod svg;

use std::sync::{Arc, OnceLock};

use resvg::tiny_skia::{FillRule, FilterQuality, Paint, PathBuilder, Pattern, SpreadMode, Transform};
use resvg::usvg;

pub use svg::CardData;

/// The default accent: Discord's blurple.
pub const DEFAULT_ACCENT: u32 = 0x5865F2;

/// Colours a member may name instead of writing `#RRGGBB`.
pub const NAMED_COLOURS: &[(&str, u32)] = &[
    ("blurple", 0x5865F2),
    ("green", 0x57F287),
    ("yellow", 0xFEE75C),
    ("fuchsia", 0xEB459E),
    ("red", 0xED4245),
    ("orange", 0xF0B232),
    ("teal", 0x1ABC9C),
    ("sky", 0x3BA4F5),
    ("purple", 0x9B59B6),
    ("white", 0xFFFFFF),
];

/// Reads a colour a member typed: `#5865F2`, `5865f2`, `#58f` or a name
/// from [`NAMED_COLOURS`].
pub fn parse_colour(text: &str) -> Option<u32> {
    let text = text.trim().to_ascii_lowercase();
    if let Some((_, colour)) = NAMED_COLOURS.iter().find(|(name, _)| *name == text) {
        return Some(*colour);
    }
    let hex = text.strip_prefix('#').unwrap_or(&text);
    if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    match hex.len() {
        6 => u32::from_str_radix(hex, 16).ok(),
        3 => {
            let short = u32::from_str_radix(hex, 16).ok()?;
            let (r, g, b) = ((short >> 8) & 0xF, (short >> 4) & 0xF, short & 0xF);
            Some((r * 0x11) << 16 | (g * 0x11) << 8 | (b * 0x11))
        }
        _ => None,
    }
}

/// Why a card could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum CardError {
    /// The SVG did not parse (a bug: it is generated here).
    #[error("rank card SVG: {0}")]
    Svg(#[from] usvg::Error),
    /// The pixel buffer could not be made or encoded.
    #[error("rank card image: {0}")]
    Image(String),
}

const FONTS: [&[u8]; 2] =
    [include_bytes!("../assets/fonts/DejaVuSans.ttf"), include_bytes!("../assets/fonts/DejaVuSans-Bold.ttf")];

/// The bundled fonts, loaded once.
fn options() -> &'static usvg::Options<'static> {
    static OPTIONS: OnceLock<usvg::Options<'static>> = OnceLock::new();
    OPTIONS.get_or_init(|| {
        let mut fonts = usvg::fontdb::Database::new();
        for font in FONTS {
            fonts.load_font_data(font.to_vec());
        }
        usvg::Options { font_family: "DejaVu Sans".into(), fontdb: Arc::new(fonts), ..usvg::Options::default() }
    })
}

/// Renders `card` to PNG bytes. `avatar` is the member's picture as PNG;
/// when it is missing or unreadable the disc shows their initials.
pub fn render(card: &CardData, avatar: Option<&[u8]>) -> Result<Vec<u8>, CardError> {
    let mut pixmap = draw(&svg::svg(card), svg::WIDTH, svg::HEIGHT)?;
    if let Some(picture) = avatar.and_then(|png| Pixmap::decode_png(png).ok()) {
        paint_avatar(&mut pixmap, &picture);
    }
    pixmap.encode_png().map_err(|e| CardError::Image(e.to_string()))
}

/// Renders the `/activity` chart to PNG bytes.
pub fn render_activity(chart: &activity::ActivityChart) -> Result<Vec<u8>, CardError> {
    let pixmap = draw(&activity::svg(chart), activity::WIDTH, activity::HEIGHT)?;
    pixmap.encode_png().map_err(|e| CardError::Image(e.to_string()))
}

fn draw(svg: &str, width: u32, height: u32) -> Result<Pixmap, CardError> {
    let tree = usvg::Tree::from_str(svg, options())?;
    let mut pixmap = Pixmap::new(width, height).ok_or_else(|| CardError::Image("no memory".into()))?;
    resvg::render(&tree, Transform::identity(), &mut pixmap.as_mut());
    Ok(pixmap)
}

/// Paints `picture`, scaled to fill the avatar disc, clipped to the circle.
fn paint_avatar(card: &mut Pixmap, picture: &Pixmap) {
    let (cx, cy, r) = svg::AVATAR;
    let Some(circle) = PathBuilder::from_circle(cx, cy, r) else { return };
    let scale = 2.0 * r / picture.width().min(picture.height()).max(1) as f32;
    let placed = Transform::from_scale(scale, scale).post_translate(cx - r, cy - r);
    let paint = Paint {
        shader: Pattern::new(picture.as_ref(), SpreadMode::Pad, FilterQuality::Bicubic, 1.0, placed),
        anti_alias: true,
        ..Paint::default()
    };
    card.fill_path(&circle, &paint, FillRule::Winding, Transform::identity(), None);
}

pub use resvg::tiny_skia::Pixmap;

/// Decodes a PNG, for tests that look at what was drawn.
pub fn decode(png: &[u8]) -> Option<Pixmap> {
    Pixmap::decode_png(png).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(name: &str) -> CardData {
        CardData {
            user_id: 7,
            name: name.into(),
            username: "someone".into(),
            xp: 1000,
            curve: tally_domain::Curve::MEE6,
            rank: Some(3),
            messages: 120,
            reactions_given: 5,
            reactions_received: 9,
            accent: 0x5865F2,
            days: (0..30).map(|d| d % 4).collect(),
        }
    }

    fn pixel(p: &Pixmap, x: u32, y: u32) -> u32 {
        let c = p.pixel(x, y).unwrap().demultiply();
        (u32::from(c.red()) << 16) | (u32::from(c.green()) << 8) | u32::from(c.blue())
    }

    #[test]
    fn a_card_has_its_size_background_bar_and_text() {
        let png = render(&card("Ada"), None).unwrap();
        let p = decode(&png).expect("a PNG");
        assert_eq!((p.width(), p.height()), (svg::WIDTH, svg::HEIGHT));
        assert_eq!(pixel(&p, 250, 265), svg::BACKGROUND, "background below the text");
        let (bx, by, bw, bh) = svg::BAR;
        // 1,000 XP is level 4 with 45 of 320: the bar is filled about 14%.
        assert_ne!(pixel(&p, bx as u32 + 10, (by + bh / 2.0) as u32), svg::BAR_EMPTY, "filled start");
        assert_eq!(pixel(&p, (bx + bw) as u32 - 30, (by + bh / 2.0) as u32), svg::BAR_EMPTY, "empty end");
        // The name's row has light text pixels; the same row of a blank name has none.
        let bright = |p: &Pixmap| (270..600).filter(|&x| (120..150).any(|y| pixel(p, x, y) == 0xFFFFFF)).count();
        assert!(bright(&p) > 20, "the name is drawn");
        let blank = decode(&render(&card(""), None).unwrap()).unwrap();
        assert_eq!(bright(&blank), 0, "no name, no text there");
    }

    #[test]
    fn the_chart_has_a_bar_a_day() {
        let p = decode(&render(&card("Ada"), None).unwrap()).unwrap();
        let (x0, base, width, tallest) = svg::CHART;
        let slot = width / 30.0;
        let at = |day: usize, height: f32| pixel(&p, (x0 + slot * (day as f32 + 0.5)) as u32, (base - height) as u32);
        // Day 3 has the most messages (3): its bar reaches near the top.
        assert_eq!(at(3, tallest - 4.0), 0x5865F2, "the busiest day's bar is full height");
        assert_eq!(at(1, tallest - 4.0), svg::BACKGROUND, "a day with one message is shorter");
        assert_ne!(at(0, 1.0), 0x5865F2, "a quiet day is a faint stub");
    }

    #[test]
    fn the_avatar_fills_the_disc() {
        let mut picture = Pixmap::new(64, 64).unwrap();
        picture.fill(resvg::tiny_skia::Color::from_rgba8(0, 200, 0, 255));
        let png = render(&card("Ada"), Some(&picture.encode_png().unwrap())).unwrap();
        let p = decode(&png).unwrap();
        let (cx, cy, _) = svg::AVATAR;
        assert_eq!(pixel(&p, cx as u32, cy as u32), 0x00C800, "the picture covers the initials");
        assert_eq!(pixel(&p, 40, 270), svg::BACKGROUND, "and stays inside its disc");
    }

    #[test]
    fn colours_members_type() {
        assert_eq!(parse_colour("#5865F2"), Some(0x5865F2));
        assert_eq!(parse_colour(" 57f287 "), Some(0x57F287));
        assert_eq!(parse_colour("#f0a"), Some(0xFF00AA));
        assert_eq!(parse_colour("Green"), Some(0x57F287));
        assert_eq!(parse_colour("#12345"), None);
        assert_eq!(parse_colour("#12345g"), None);
        assert_eq!(parse_colour("mauve"), None);
    }

    #[test]
    fn an_unreadable_avatar_falls_back_to_initials() {
        let with_junk = render(&card("Ada"), Some(b"not a png")).unwrap();
        assert_eq!(with_junk, render(&card("Ada"), None).unwrap());
    }
}
