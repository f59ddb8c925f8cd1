//! Reading import files: MEE6's leaderboard pages (JSON), Tally's own
//! export (JSON or CSV), and any CSV with a header naming at least
//! `user_id` and `xp`. A file is read whole and checked before anything is
//! written; the first problem is reported with its line (CSV) or JSON path.

use std::collections::HashMap;

use crate::domain::import::ImportRow;

/// A problem in a file: where, and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {place}: {problem}")]
pub struct FileProblem {
    /// The file's name as given.
    pub file: String,
    /// `line N` or a JSON path such as `players[12].xp`.
    pub place: String,
    /// What is wrong.
    pub problem: String,
}

/// Which kind of file it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A page of MEE6's leaderboard API.
    Mee6,
    /// Tally's `export --format json`.
    TallyJson,
    /// A CSV (Tally's export or a plain one).
    Csv,
}

/// Reads one file's rows.
pub fn parse(file: &str, text: &str) -> Result<(Kind, Vec<ImportRow>), FileProblem> {
    let problem = |place: String, problem: String| FileProblem { file: file.to_owned(), place, problem };
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        let value: serde_json::Value = serde_json::from_str(trimmed)
            .map_err(|e| problem(format!("line {}", e.line()), format!("not valid JSON: {e}")))?;
        return match value {
            serde_json::Value::Object(_) => mee6(&value).map(|rows| (Kind::Mee6, rows)).map_err(|(p, w)| problem(p, w)),
            _ => tally_json(&value).map(|rows| (Kind::TallyJson, rows)).map_err(|(p, w)| problem(p, w)),
        };
    }
    csv(trimmed).map(|rows| (Kind::Csv, rows)).map_err(|(line, w)| problem(format!("line {line}"), w))
}

/// Checks that no member appears twice across the files.
pub fn no_repeats(files: &[(String, Vec<ImportRow>)]) -> Result<(), FileProblem> {
    let mut seen: HashMap<u64, &str> = HashMap::new();
    for (file, rows) in files {
        for row in rows {
            if let Some(first) = seen.insert(row.user_id, file) {
                return Err(FileProblem {
                    file: file.clone(),
                    place: format!("member {}", row.user_id),
                    problem: format!("appears twice (also in {first}); each member may be imported once"),
                });
            }
        }
    }
    Ok(())
}

type JsonProblem = (String, String);

fn id(value: &serde_json::Value, path: &str) -> Result<u64, JsonProblem> {
    let parsed = match value {
        serde_json::Value::String(s) => s.parse::<u64>().ok(),
        serde_json::Value::Number(n) => n.as_u64(),
        _ => None,
    };
    parsed.filter(|&n| n > 0).ok_or_else(|| (path.to_owned(), "expected a user id (digits)".to_owned()))
}

fn whole(value: &serde_json::Value, path: &str) -> Result<u64, JsonProblem> {
    match value.as_u64() {
        Some(n) if n <= MAX_STORED => Ok(n),
        Some(_) => Err((path.to_owned(), format!("too large, found {value}"))),
        None => Err((path.to_owned(), format!("expected a whole number of at least 0, found {value}"))),
    }
}

/// MEE6's `/api/plugins/levels/leaderboard/{guild}` page: `players`, each
/// with `id`, `xp` (the total: not `detailed_xp[0]`, the XP into the level)
/// and `message_count`.
fn mee6(value: &serde_json::Value) -> Result<Vec<ImportRow>, JsonProblem> {
    let players = value["players"]
        .as_array()
        .ok_or_else(|| ("players".to_owned(), "a MEE6 leaderboard page has a `players` list".to_owned()))?;
    players
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let at = |field: &str| format!("players[{i}].{field}");
            Ok(ImportRow {
                user_id: id(&p["id"], &at("id"))?,
                xp: whole(&p["xp"], &at("xp"))?,
                messages: match &p["message_count"] {
                    serde_json::Value::Null => None,
                    v => Some(whole(v, &at("message_count"))?),
                },
                ..ImportRow::default()
            })
        })
        .collect()
}

/// Tally's JSON export: an array of records.
fn tally_json(value: &serde_json::Value) -> Result<Vec<ImportRow>, JsonProblem> {
    let records = value.as_array().ok_or_else(|| (String::new(), "expected a list of members".to_owned()))?;
    records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let at = |field: &str| format!("[{i}].{field}");
            let optional = |field: &str| match &r[field] {
                serde_json::Value::Null => Ok(None),
                v => whole(v, &at(field)).map(Some),
            };
            let time = |field: &str| -> Result<Option<i64>, JsonProblem> {
                match r[field].as_str() {
                    None | Some("") => Ok(None),
                    Some(text) => {
                        rfc3339_ms(text).map(Some).ok_or_else(|| (at(field), format!("not an RFC 3339 time: {text}")))
                    }
                }
            };
            Ok(ImportRow {
                user_id: id(&r["user_id"], &at("user_id"))?,
                xp: whole(&r["xp"], &at("xp"))?,
                messages: optional("messages")?,
                name: r["name"].as_str().map(str::to_owned),
                reactions_given: optional("reactions_given")?,
                reactions_received: optional("reactions_received")?,
                voice_ms: match optional("voice_seconds")? {
                    Some(s) => Some(
                        s.checked_mul(1000)
                            .filter(|ms| *ms <= MAX_STORED)
                            .ok_or_else(|| (at("voice_seconds"), format!("too large, found {s}")))?,
                    ),
                    None => None,
                },
                joined_at_ms: time("joined_at")?,
                left_at_ms: time("left_at")?,
            })
        })
        .collect()
}

fn rfc3339_ms(text: &str) -> Option<i64> {
    let at = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()
}

/// A CSV with a header: `user_id` and `xp` required; `messages`, `name`,
/// `reactions_given`, `reactions_received`, `voice_seconds`, `joined_at`,
/// `left_at` read when present (Tally's export has them all); other
/// columns are ignored. Read by the csv crate (RFC 4180: quoted fields
/// may hold commas, quotes and line breaks). Errors carry the 1-based line
/// where the record starts.
fn csv(text: &str) -> Result<Vec<ImportRow>, (usize, String)> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut records = reader.records();
    let line_of = |record: &csv::StringRecord| record.position().map_or(1, |p| p.line() as usize);
    let blank = |record: &csv::StringRecord| record.iter().all(|f| f.trim().is_empty());
    let header = loop {
        match records.next() {
            None => return Err((1, "the file is empty".into())),
            Some(Err(error)) => return Err(csv_problem(&error)),
            Some(Ok(record)) if blank(&record) => continue,
            Some(Ok(record)) => break record,
        }
    };
    let header_line = line_of(&header);
    let find = |name: &str| header.iter().position(|c| c.trim().eq_ignore_ascii_case(name));
    let (Some(user_col), Some(xp_col)) = (find("user_id"), find("xp")) else {
        return Err((header_line, "the header must name at least the columns user_id and xp".into()));
    };
    let optional = ["messages", "reactions_given", "reactions_received", "voice_seconds"].map(&find);
    let (name_col, joined_col, left_col) = (find("name"), find("joined_at"), find("left_at"));
    let mut rows = Vec::new();
    for record in records {
        let values = record.map_err(|e| csv_problem(&e))?;
        if blank(&values) {
            continue;
        }
        let number = line_of(&values);
        if values.len() != header.len() {
            return Err((number, format!("{} fields where the header has {}", values.len(), header.len())));
        }
        let count = |col: usize, name: &str| -> Result<u64, (usize, String)> {
            let text = values[col].trim();
            // The databases hold signed 64-bit integers: larger does not fit.
            match text.parse::<u64>() {
                Ok(n) if n <= MAX_STORED => Ok(n),
                Ok(_) => Err((number, format!("{name}: too large, found {text:?}"))),
                Err(e) if *e.kind() == std::num::IntErrorKind::PosOverflow => {
                    Err((number, format!("{name}: too large, found {text:?}")))
                }
                Err(_) => Err((number, format!("{name}: expected a whole number, found {text:?}"))),
            }
        };
        let user_id =
            values[user_col].trim().parse::<u64>().ok().filter(|&n| n > 0).ok_or_else(|| {
                (number, format!("user_id: expected a user id (digits), found {:?}", &values[user_col]))
            })?;
        let opt = |i: usize, name: &str| optional[i].map(|col| count(col, name)).transpose();
        let time = |col: Option<usize>, name: &str| -> Result<Option<i64>, (usize, String)> {
            match col.map(|c| values[c].trim()) {
                None | Some("") => Ok(None),
                Some(text) => {
                    rfc3339_ms(text).map(Some).ok_or_else(|| (number, format!("{name}: not an RFC 3339 time")))
                }
            }
        };
        let voice_ms = match opt(3, "voice_seconds")? {
            Some(seconds) => Some(
                seconds
                    .checked_mul(1000)
                    .filter(|ms| *ms <= MAX_STORED)
                    .ok_or_else(|| (number, format!("voice_seconds: too large, found {seconds}")))?,
            ),
            None => None,
        };
        rows.push(ImportRow {
            user_id,
            xp: count(xp_col, "xp")?,
            messages: opt(0, "messages")?,
            name: name_col.map(|c| values[c].to_owned()),
            reactions_given: opt(1, "reactions_given")?,
            reactions_received: opt(2, "reactions_received")?,
            voice_ms,
            joined_at_ms: time(joined_col, "joined_at")?,
            left_at_ms: time(left_col, "left_at")?,
        });
    }
    Ok(rows)
}

/// The largest count a database column holds (a signed 64-bit integer).
const MAX_STORED: u64 = i64::MAX as u64;

/// A CSV the csv crate could not read (not UTF-8, say), with its line.
fn csv_problem(error: &csv::Error) -> (usize, String) {
    let line = error.position().map_or(1, |p| p.line() as usize);
    let what = match error.kind() {
        csv::ErrorKind::Utf8 { .. } => "not UTF-8 text".to_owned(),
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("{len} fields where the header has {expected_len}")
        }
        _ => "not a readable CSV line".to_owned(),
    };
    (line, what)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mee6_page_takes_total_xp() {
        let page =
            r#"{"players":[{"id":"123","xp":5000,"level":13,"message_count":250,"detailed_xp":[120,1100,5000]}]}"#;
        let (kind, rows) = parse("page1.json", page).unwrap();
        assert_eq!(kind, Kind::Mee6);
        assert_eq!((rows[0].user_id, rows[0].xp, rows[0].messages), (123, 5000, Some(250)));
        let bad = r#"{"players":[{"id":"1","xp":1},{"id":"2","xp":-5}]}"#;
        let error = parse("p.json", bad).unwrap_err();
        assert_eq!(error.place, "players[1].xp");
    }

    #[test]
    fn csv_errors_name_their_line() {
        let text = "user_id,xp,messages\n1,100,3\n2,abc,4\n";
        let error = parse("x.csv", text).unwrap_err();
        assert_eq!((error.place.as_str(), error.file.as_str()), ("line 3", "x.csv"));
        assert!(error.problem.contains("xp"), "{error}");
        assert!(parse("x.csv", "id,points\n1,2\n").unwrap_err().problem.contains("user_id and xp"));
        let (_, rows) = parse("x.csv", "xp,user_id\n7,42\n").unwrap();
        assert_eq!((rows[0].user_id, rows[0].xp, rows[0].messages), (42, 7, None));
    }

    #[test]
    fn quoted_csv_fields() {
        let text = "user_id,name,xp\n1,\"Ann, \"\"the\"\" first\nof her name\",3\n2,Bob,4\n";
        let (_, rows) = parse("q.csv", text).unwrap();
        assert_eq!(rows[0].name.as_deref(), Some("Ann, \"the\" first\nof her name"));
        assert_eq!((rows[1].user_id, rows[1].xp), (2, 4));
        let error = parse("q.csv", "user_id,xp\n1,2\n3,x\n").unwrap_err();
        assert_eq!(error.place, "line 3");
    }

    #[test]
    fn numbers_that_do_not_fit_are_refused_with_their_line() {
        let error = parse("big.csv", "user_id,xp\n1,2\n2,18446744073709551616\n").unwrap_err();
        assert_eq!(error.place, "line 3");
        assert!(error.problem.contains("xp: too large"), "{error}");
        let error = parse("big.csv", "user_id,xp\n1,9223372036854775808\n").unwrap_err();
        assert!(error.problem.contains("xp: too large"), "one past what a database column holds: {error}");
        let error = parse("big.csv", "user_id,xp,voice_seconds\n1,2,18446744073709551\n").unwrap_err();
        assert_eq!(error.place, "line 2");
        assert!(error.problem.contains("voice_seconds: too large"), "{error}");
    }

    #[test]
    fn repeats_across_files_are_refused() {
        let row = |id| ImportRow { user_id: id, ..ImportRow::default() };
        let files = vec![("a".to_owned(), vec![row(1), row(2)]), ("b".to_owned(), vec![row(3), row(2)])];
        assert!(no_repeats(&files).unwrap_err().problem.contains("twice"));
    }
}
