//! Importing members' XP and counts from other bots and from Tally's own
//! export. [`parse`] reads files (nothing is written until every file is
//! read and checked); [`requests`] cuts the rows into stored requests, each
//! applied once; [`run`] hands them over (see [`crate::requests`]).

pub mod parse;
pub mod run;

use std::path::{Path, PathBuf};

use crate::domain::import::{ImportMode, ImportRequest, ImportRow};
use crate::requests::Request;
pub use parse::{FileProblem, Kind};

/// Rows per stored request: small enough that one is a short transaction
/// beside the bot's batches, large enough that a big server is few of them.
pub const REQUEST_ROWS: usize = 2_000;
/// The `kind` of import requests in the database.
pub const REQUEST_KIND: &str = crate::requests::IMPORT;

/// Everything read from the files, checked and ready to import.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inputs {
    /// Each file read: its name, kind and how many members it holds.
    pub files: Vec<(String, Kind, usize)>,
    /// All rows, by member id.
    pub rows: Vec<ImportRow>,
}

/// Why files could not be read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// A file or folder could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// Which.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A folder held no `.json` or `.csv` file.
    #[error("{0}: no .json or .csv file in this folder")]
    EmptyFolder(String),
    /// A file's content is wrong.
    #[error(transparent)]
    File(#[from] FileProblem),
}

/// Reads files and folders (a folder's `.json` and `.csv` files, by name).
pub fn read_paths(paths: &[PathBuf]) -> Result<Inputs, InputError> {
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| InputError::Io { path, source }
    };
    let mut texts = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut inside: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(io(path))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "json" || e == "csv"))
                .collect();
            if inside.is_empty() {
                return Err(InputError::EmptyFolder(path.display().to_string()));
            }
            inside.sort();
            for file in inside {
                texts.push((file.display().to_string(), std::fs::read_to_string(&file).map_err(io(&file))?));
            }
        } else {
            texts.push((path.display().to_string(), std::fs::read_to_string(path).map_err(io(path))?));
        }
    }
    Ok(read_texts(&texts)?)
}

/// Reads files already in memory (`(name, text)`), as `/import` has them.
pub fn read_texts(texts: &[(String, String)]) -> Result<Inputs, FileProblem> {
    let mut files = Vec::new();
    let mut parsed = Vec::new();
    for (name, text) in texts {
        let (kind, rows) = parse::parse(name, text)?;
        files.push((name.clone(), kind, rows.len()));
        parsed.push((name.clone(), rows));
    }
    parse::no_repeats(&parsed)?;
    let mut rows: Vec<ImportRow> = parsed.into_iter().flat_map(|(_, rows)| rows).collect();
    rows.sort_unstable_by_key(|r| r.user_id);
    Ok(Inputs { files, rows })
}

/// Cuts `rows` (by member id) into requests of [`REQUEST_ROWS`].
pub fn requests(rows: &[ImportRow], mode: ImportMode) -> Vec<Request> {
    rows.chunks(REQUEST_ROWS)
        .map(|chunk| {
            let request = ImportRequest { mode, rows: chunk.to_vec() };
            Request::new(REQUEST_KIND, serde_json::to_string(&request).expect("rows serialise"), chunk.len())
        })
        .collect()
}

/// What the files are, in words: `2,500 members from 3 MEE6 leaderboard pages`.
pub fn describe(inputs: &Inputs) -> String {
    use crate::domain::humanize::thousands;
    let kinds: Vec<Kind> = inputs.files.iter().map(|f| f.1).collect();
    let what = match kinds.first() {
        Some(first) if kinds.iter().all(|k| k == first) => match first {
            Kind::Mee6 => "MEE6 leaderboard page",
            Kind::TallyJson => "Tally JSON export",
            Kind::Csv => "CSV file",
        },
        _ => "file",
    };
    let files = inputs.files.len();
    format!("{} members from {files} {what}{}", thousands(inputs.rows.len() as u64), if files == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_rows_make_the_same_requests() {
        let rows: Vec<ImportRow> =
            (1..=4_500).map(|user_id| ImportRow { user_id, xp: user_id * 3, ..ImportRow::default() }).collect();
        let first = requests(&rows, ImportMode::Max);
        assert_eq!(first.iter().map(|r| r.rows).collect::<Vec<_>>(), [2_000, 2_000, 500]);
        assert_eq!(first, requests(&rows, ImportMode::Max));
        assert_ne!(first[0].digest, requests(&rows, ImportMode::Add)[0].digest, "the mode is part of the request");
        let back: ImportRequest = serde_json::from_str(&first[2].payload).unwrap();
        assert_eq!(back.rows, rows[4_000..]);
    }

    #[test]
    fn pages_are_read_together_and_sorted() {
        let page = |ids: &[u64]| {
            let players: Vec<String> = ids.iter().map(|id| format!(r#"{{"id":"{id}","xp":{id}}}"#)).collect();
            format!(r#"{{"players":[{}]}}"#, players.join(","))
        };
        let inputs = read_texts(&[("p2.json".into(), page(&[9, 3])), ("p1.json".into(), page(&[5]))]).unwrap();
        assert_eq!(inputs.rows.iter().map(|r| r.user_id).collect::<Vec<_>>(), [3, 5, 9]);
        assert_eq!(describe(&inputs), "3 members from 2 MEE6 leaderboard pages");
    }
}
