//! Applying an import to a database. The rows are stored first, as
//! requests, in one transaction (creating and migrating the database if
//! need be). A running bot whose shards hold the server takes them into its
//! ledger, so its leaderboards move with them and they commit in order with
//! the events around them; with no bot running, this applies them itself,
//! one short transaction each. Either way each request is claimed in the
//! transaction that applies it: it counts once, however often it is run.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::domain::activity::{Activity, Id};
use crate::domain::import::{Held, ImportMode, ImportRequest, Skip, Summary};
use crate::store::{Database, RequestState, StoreError};

use super::{requests, Inputs, Request, REQUEST_KIND};

/// How long a running bot has to take the requests before they are applied here.
const PICKUP_WAIT: Duration = Duration::from_secs(2);
/// How long a bot that took them may make no progress before they are applied here.
const STALL: Duration = Duration::from_secs(30);
/// How often the requests' states are read while a bot applies them.
const POLL: Duration = Duration::from_millis(200);

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
        .map(|m| (m.user_id, Held { xp: m.xp, skip: m.bot.then_some(Skip::Bot) }))
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
    let pairs: Vec<(String, String)> = requests.iter().map(|r| (r.digest.clone(), r.payload.clone())).collect();
    let states = database.submit_requests(guild_id, REQUEST_KIND, &pairs)?;
    let done: Vec<bool> = states.iter().map(|s| s.done_at_ms.is_some()).collect();
    let summary = summarise(inputs, mode, &requests, &done, &held);
    let waiting: Vec<(Id, &Request)> =
        states.iter().zip(&requests).filter(|(s, _)| s.done_at_ms.is_none()).map(|(s, r)| (s.id, r)).collect();
    let total: u64 = waiting.iter().map(|(_, r)| r.rows as u64).sum();
    let by_bot = wait_for_bot(database, &waiting, total, progress)?;
    let left = database.request_states(&waiting.iter().map(|(id, _)| *id).collect::<Vec<_>>())?;
    let left: Vec<(Id, &Request)> =
        waiting.iter().filter(|(id, _)| left.iter().any(|s| s.id == *id && s.done_at_ms.is_none())).copied().collect();
    if !left.is_empty() {
        apply_here(database, guild_id, &left, total, progress)?;
    }
    Ok(Report { summary, by_bot })
}

/// Waits while a running bot applies the requests. True when it applied
/// them all; false when none took them in time, or progress stopped.
fn wait_for_bot(
    database: &Database,
    waiting: &[(Id, &Request)],
    total: u64,
    progress: &mut dyn FnMut(u64, u64, &str),
) -> Result<bool, StoreError> {
    if waiting.is_empty() {
        return Ok(false);
    }
    let ids: Vec<Id> = waiting.iter().map(|(id, _)| *id).collect();
    let rows: HashMap<Id, u64> = waiting.iter().map(|(id, r)| (*id, r.rows as u64)).collect();
    let started = Instant::now();
    let mut last: Option<(Vec<RequestState>, Instant)> = None;
    loop {
        let states = database.request_states(&ids)?;
        let done: u64 = states.iter().filter(|s| s.done_at_ms.is_some()).map(|s| rows[&s.id]).sum();
        let picked = states.iter().any(|s| s.picked_at_ms.is_some());
        progress(done, total, if picked { "applied by the running bot" } else { "waiting for a running bot" });
        if done == total {
            return Ok(true);
        }
        if !picked && started.elapsed() > PICKUP_WAIT {
            return Ok(false);
        }
        match &last {
            Some((before, since)) if *before == states => {
                if since.elapsed() > STALL {
                    tracing::warn!("the running bot stopped applying the import; applying the rest here");
                    return Ok(false);
                }
            }
            _ => last = Some((states, Instant::now())),
        }
        std::thread::sleep(POLL);
    }
}

/// Applies the requests on a connection of its own, one transaction each.
fn apply_here(
    database: &Database,
    guild_id: Id,
    left: &[(Id, &Request)],
    total: u64,
    progress: &mut dyn FnMut(u64, u64, &str),
) -> Result<(), StoreError> {
    let mut writer = database.open_writer()?;
    let mut done = total - left.iter().map(|(_, r)| r.rows as u64).sum::<u64>();
    for (request_id, request) in left {
        let ImportRequest { mode, rows } = serde_json::from_str(&request.payload).expect("made by `requests`");
        let activity = Activity::Import { guild_id, rows, mode, request_id: *request_id };
        let now_ms = crate::domain::days::now_ms();
        writer.transaction(|ops| crate::ingest::apply::apply(ops, std::iter::once(&activity), now_ms))?;
        done += request.rows as u64;
        progress(done, total, "applied here: no bot took it");
    }
    Ok(())
}
