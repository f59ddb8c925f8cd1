//! `tally export`: one record per member, as JSON or CSV, read through a
//! read-only connection so it works while the bot runs.

use std::io::Write;

use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::domain::Curve;
use crate::store::Member;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A JSON array of objects.
    Json,
    /// CSV with a header row.
    Csv,
}

/// One exported member: the columns users and tests rely on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Record {
    /// Server id (as a string: JavaScript cannot hold 64-bit ids).
    pub guild_id: String,
    /// Member id.
    pub user_id: String,
    /// Name shown in the server.
    pub name: String,
    /// Messages posted.
    pub messages: u64,
    /// Reactions given, still standing.
    pub reactions_given: u64,
    /// Reactions received, still standing.
    pub reactions_received: u64,
    /// Total XP.
    pub xp: u64,
    /// Level reached.
    pub level: u32,
    /// RFC 3339, empty when unknown.
    pub joined_at: String,
    /// RFC 3339, empty while the member is present.
    pub left_at: String,
    /// Whole seconds spent in voice channels (AFK channel aside), in finished sessions.
    #[serde(default)]
    pub voice_seconds: u64,
}

/// The CSV export's columns, in [`Record`]'s order.
pub const CSV_HEADER: [&str; 11] = [
    "guild_id",
    "user_id",
    "name",
    "messages",
    "reactions_given",
    "reactions_received",
    "xp",
    "level",
    "joined_at",
    "left_at",
    "voice_seconds",
];

/// Formats milliseconds since the Unix epoch as RFC 3339 (UTC, millisecond precision).
pub fn rfc3339(ms: Option<i64>) -> String {
    ms.and_then(|ms| OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok())
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

impl Record {
    fn new(m: &Member, curve: Curve) -> Self {
        Self {
            guild_id: m.guild_id.to_string(),
            user_id: m.user_id.to_string(),
            name: if m.display_name.is_empty() { m.username.clone() } else { m.display_name.clone() },
            messages: m.messages,
            reactions_given: m.reactions_given,
            reactions_received: m.reactions_received,
            xp: m.xp,
            level: curve.level(m.xp).level,
            joined_at: rfc3339(m.joined_at_ms),
            left_at: rfc3339(m.left_at_ms),
            voice_seconds: m.voice_ms / 1000,
        }
    }
}

/// Writes `members` to `out` in `format`, with levels on the server's
/// `curve`. Bots are left out: they have no activity to export.
pub fn write(members: &[Member], curve: Curve, format: Format, out: &mut impl Write) -> anyhow::Result<()> {
    write_counting(members, curve, format, out, &mut |_| {})
}

/// As [`write`], calling `written(n)` as records go out (for a progress
/// bar); the bytes are the same.
pub fn write_counting(
    members: &[Member],
    curve: Curve,
    format: Format,
    out: &mut impl Write,
    written: &mut dyn FnMut(u64),
) -> anyhow::Result<()> {
    let mut done = 0u64;
    let records = members.iter().filter(|m| !m.bot).map(|m| Record::new(m, curve));
    match format {
        Format::Json => {
            let counted =
                Counted { records: std::cell::RefCell::new(Some(records)), written: std::cell::RefCell::new(written) };
            serde_json::to_writer_pretty(&mut *out, &counted)?;
            writeln!(out)?;
        }
        Format::Csv => {
            // The csv crate quotes what needs it (commas, quotes, line
            // breaks) as RFC 4180 says, and the importer reads it back.
            let mut csv = csv::WriterBuilder::new().has_headers(false).from_writer(&mut *out);
            csv.write_record(CSV_HEADER)?;
            for r in records {
                done += 1;
                if done.is_multiple_of(1_000) {
                    written(done);
                }
                csv.serialize(&r)?;
            }
            csv.flush()?;
        }
    }
    Ok(())
}

/// Records serialised as one JSON array, counting them as they go: the same
/// bytes as serialising a `Vec<Record>`.
struct Counted<'w, I> {
    records: std::cell::RefCell<Option<I>>,
    written: std::cell::RefCell<&'w mut dyn FnMut(u64)>,
}

impl<I: Iterator<Item = Record>> Serialize for Counted<'_, I> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let records = self.records.borrow_mut().take().expect("serialised once");
        let mut written = self.written.borrow_mut();
        let mut done = 0u64;
        serializer.collect_seq(records.inspect(|_| {
            done += 1;
            if done.is_multiple_of(1_000) {
                (*written)(done);
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_awkward_names() {
        let named = |name: &str| {
            let mut out = Vec::new();
            let member = Member { display_name: name.into(), ..Member::new(1, 2) };
            write(&[member], Curve::MEE6, Format::Csv, &mut out).unwrap();
            String::from_utf8(out).unwrap().split_once('\n').unwrap().1.to_owned()
        };
        assert!(named("plain").starts_with("1,2,plain,"));
        assert!(named("a,b").starts_with("1,2,\"a,b\","));
        assert!(named("say \"hi\"").starts_with("1,2,\"say \"\"hi\"\"\","));
        assert!(named("two\nlines").starts_with("1,2,\"two\nlines\","));
    }

    #[test]
    fn dates_are_rfc3339_or_empty() {
        assert_eq!(rfc3339(None), "");
        assert_eq!(rfc3339(Some(1_462_015_105_796)), "2016-04-30T11:18:25.796Z");
    }

    #[test]
    fn counting_writes_the_same_bytes() {
        let members: Vec<Member> =
            (1..=2_500).map(|i| Member { xp: i * 3, display_name: format!("M{i}"), ..Member::new(1, i) }).collect();
        for format in [Format::Json, Format::Csv] {
            let (mut plain, mut counted, mut ticks) = (Vec::new(), Vec::new(), Vec::new());
            let records: Vec<Record> = members.iter().map(|m| Record::new(m, Curve::MEE6)).collect();
            match format {
                Format::Json => {
                    serde_json::to_writer_pretty(&mut plain, &records).unwrap();
                    plain.push(b'\n');
                }
                Format::Csv => write(&members, Curve::MEE6, format, &mut plain).unwrap(),
            }
            write_counting(&members, Curve::MEE6, format, &mut counted, &mut |n| ticks.push(n)).unwrap();
            assert_eq!(String::from_utf8(counted).unwrap(), String::from_utf8(plain).unwrap());
            assert_eq!(ticks, [1_000, 2_000]);
        }
    }

    #[test]
    fn csv_has_header_and_skips_bots() {
        let mut human = Member::new(1, 2);
        human.display_name = "Ann".into();
        human.xp = 120;
        human.voice_ms = 61_999;
        let mut bot = Member::new(1, 3);
        bot.bot = true;
        let mut out = Vec::new();
        write(&[human, bot], Curve::MEE6, Format::Csv, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].ends_with(",left_at,voice_seconds"), "{}", lines[0]);
        assert_eq!(lines[1], "1,2,Ann,0,0,0,120,1,,,61");
    }
}
