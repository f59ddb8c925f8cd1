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
    value.as_u64().ok_or_else(|| (path.to_owned(), format!("expected a whole number of at least 0, found {value}")))
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
                voice_ms: optional("voice_seconds")?.map(|s| s * 1000),
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
/// columns are ignored. Errors carry the 1-based line.
fn csv(text: &str) -> Result<Vec<ImportRow>, (usize, String)> {
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let Some((header_line, header)) = lines.next() else { return Err((1, "the file is empty".into())) };
    let columns = fields(header).map_err(|w| (header_line + 1, w))?;
    let find = |name: &str| columns.iter().position(|c| c.trim().eq_ignore_ascii_case(name));
    let (Some(user_col), Some(xp_col)) = (find("user_id"), find("xp")) else {
        return Err((header_line + 1, "the header must name at least the columns user_id and xp".into()));
    };
    let optional = ["messages", "reactions_given", "reactions_received", "voice_seconds"].map(&find);
    let (name_col, joined_col, left_col) = (find("name"), find("joined_at"), find("left_at"));
    let mut rows = Vec::new();
    for (index, line) in lines {
        let number = index + 1;
        let values = fields(line).map_err(|w| (number, w))?;
        if values.len() != columns.len() {
            return Err((number, format!("{} fields where the header has {}", values.len(), columns.len())));
        }
        let count = |col: usize, name: &str| -> Result<u64, (usize, String)> {
            values[col]
                .trim()
                .parse::<u64>()
                .map_err(|_| (number, format!("{name}: expected a whole number, found {:?}", values[col])))
        };
        let user_id =
            values[user_col].trim().parse::<u64>().ok().filter(|&n| n > 0).ok_or_else(|| {
                (number, format!("user_id: expected a user id (digits), found {:?}", values[user_col]))
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
        rows.push(ImportRow {
            user_id,
            xp: count(xp_col, "xp")?,
            messages: opt(0, "messages")?,
            name: name_col.map(|c| values[c].clone()),
            reactions_given: opt(1, "reactions_given")?,
            reactions_received: opt(2, "reactions_received")?,
            voice_ms: opt(3, "voice_seconds")?.map(|s| s * 1000),
            joined_at_ms: time(joined_col, "joined_at")?,
            left_at_ms: time(left_col, "left_at")?,
        });
    }
    Ok(rows)
}

/// One CSV line's fields (RFC 4180 quoting: `"a, b"`, `""` for a quote).
fn fields(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut started = true;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (false, '"') if started && field.is_empty() => quoted = true,
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => {
                quoted = false;
                started = false;
            }
            (false, ',') => {
                out.push(std::mem::take(&mut field));
                started = true;
            }
            (_, c) => field.push(c),
        }
    }
    if quoted {
        return Err("a quoted field is not closed".into());
    }
    out.push(field);
    Ok(out)
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
        assert_eq!(fields(r#"1,"Ann, ""the"" first",3"#).unwrap(), ["1", r#"Ann, "the" first"#, "3"]);
        assert!(fields(r#"1,"open"#).is_err());
    }

    #[test]
    fn repeats_across_files_are_refused() {
        let row = |id| ImportRow { user_id: id, ..ImportRow::default() };
        let files = vec![("a".to_owned(), vec![row(1), row(2)]), ("b".to_owned(), vec![row(3), row(2)])];
        assert!(no_repeats(&files).unwrap_err().problem.contains("twice"));
    }
}
