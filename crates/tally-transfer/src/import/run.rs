//! Applying an import to a database, through [`crate::requests`]: the rows
//! are stored as requests in one transaction, then applied by a running
//! bot's ledger or by the command. Each request is claimed in the
//! transaction that applies it: it counts once, however often it is run.

use std::collections::HashMap;

use crate::domain::activity::Id;
use crate::domain::import::{Held, ImportMode, Skip, Summary};
use crate::requests::{hand_over, Request};
use crate::store::{Database, StoreError};

use super::{requests, Inputs, REQUEST_KIND};

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Members added, raised, unchanged, skipped, already imported.
    pub summary: Summary,
    /// Whether a running bot applied (some of) it.
    pub by_bot: bool,
}

/// The members of `guild_id` as an import plan needs them. No database
/// yet means no members.
fn held(database: &Database, guild_id: Id) -> Result<HashMap<Id, Held>, StoreError> {
    let reader = match database.open_reader() {
        Ok(reader) => reader,
        Err(StoreError::NotFound(_)) => return Ok(HashMap::new()),
        Err(error) => return Err(error),
    };
    Ok(reader
        .all_members(guild_id)?
        .into_iter()
        .map(|m| {
            let skip = if m.bot { Some(Skip::Bot) } else { m.stopped.then_some(Skip::Stopped) };
            (m.user_id, Held { xp: m.xp, skip })
        })
        .collect())
}

/// The summary of rows in requests not applied yet; rows in applied ones
/// count as already imported.
fn summarise(
    inputs: &Inputs,
    mode: ImportMode,
    requests: &[Request],
    done: &[bool],
    held: &HashMap<Id, Held>,
) -> Summary {
    let mut summary = Summary::default();
    let mut start = 0;
    for (request, &done) in requests.iter().zip(done) {
        let rows = &inputs.rows[start..start + request.rows];
        start += request.rows;
        if done {
            summary.already += rows.len() as u64;
            continue;
        }
        let part = Summary::plan(rows, mode, |id| held.get(&id).copied());
        summary.added += part.added;
        summary.raised += part.raised;
        summary.lowered += part.lowered;
        summary.unchanged += part.unchanged;
        summary.skipped.extend(part.skipped);
    }
    summary
}

/// What importing `inputs` into `guild_id` would do, writing nothing.
pub fn dry_run(database: &Database, guild_id: Id, inputs: &Inputs, mode: ImportMode) -> Result<Summary, StoreError> {
    let requests = requests(&inputs.rows, mode);
    let digests: Vec<String> = requests.iter().map(|r| r.digest.clone()).collect();
    let found = database.find_requests(guild_id, REQUEST_KIND, &digests)?;
    let done: Vec<bool> = found.iter().map(|s| s.is_some_and(|s| s.done_at_ms.is_some())).collect();
    Ok(summarise(inputs, mode, &requests, &done, &held(database, guild_id)?))
}

/// Imports `inputs` into `guild_id`; `progress(done, total, stage)` is
/// called as members are applied.
pub fn import(
    database: &Database,
    guild_id: Id,
    inputs: &Inputs,
    mode: ImportMode,
    progress: &mut dyn FnMut(u64, u64, &str),
) -> Result<Report, StoreError> {
    let held = held(database, guild_id)?;
    let requests = requests(&inputs.rows, mode);
    let states = hand_over::submit(database, guild_id, REQUEST_KIND, &requests)?;
    let done: Vec<bool> = states.iter().map(|s| s.done_at_ms.is_some()).collect();
    let summary = summarise(inputs, mode, &requests, &done, &held);
    let waiting: Vec<(Id, &Request)> =
        states.iter().zip(&requests).filter(|(s, _)| s.done_at_ms.is_none()).map(|(s, r)| (s.id, r)).collect();
    let by_bot = hand_over::complete(database, guild_id, REQUEST_KIND, &waiting, progress)?;
    Ok(Report { summary, by_bot })
}
