//! The command line's side: stores requests (creating and migrating the
//! database if need be), then waits while a running bot applies them, or
//! applies them itself, one short transaction each, when no bot takes them
//! within a few seconds or one that took them stops making progress.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::domain::activity::Id;
use crate::store::{Database, RequestState, StoreError};

use super::Request;

/// How long a running bot has to take the requests before they are applied here.
const PICKUP_WAIT: Duration = Duration::from_secs(2);
/// How long a bot that took them may make no progress before they are applied here.
const STALL: Duration = Duration::from_secs(30);
/// How often the requests' states are read while a bot applies them.
const POLL: Duration = Duration::from_millis(200);

/// Stores `requests` of `kind` for `guild_id`, or finds the same ones
/// stored before: their states, in order.
pub fn submit(
    database: &Database,
    guild_id: Id,
    kind: &str,
    requests: &[Request],
) -> Result<Vec<RequestState>, StoreError> {
    let pairs: Vec<(String, String)> = requests.iter().map(|r| (r.digest.clone(), r.payload.clone())).collect();
    database.submit_requests(guild_id, kind, &pairs)
}

/// Sees the stored requests `waiting` (`(id, request)`, not applied yet)
/// applied, by a running bot or here; `progress(done, total, stage)` counts
/// their rows. True when a running bot applied them all.
pub fn complete(
    database: &Database,
    guild_id: Id,
    kind: &str,
    waiting: &[(Id, &Request)],
    progress: &mut dyn FnMut(u64, u64, &str),
) -> Result<bool, StoreError> {
    let total: u64 = waiting.iter().map(|(_, r)| r.rows as u64).sum();
    let by_bot = wait_for_bot(database, waiting, total, progress)?;
    let states = database.request_states(&waiting.iter().map(|(id, _)| *id).collect::<Vec<_>>())?;
    let left: Vec<(Id, &Request)> = waiting
        .iter()
        .filter(|(id, _)| states.iter().any(|s| s.id == *id && s.done_at_ms.is_none()))
        .copied()
        .collect();
    if !left.is_empty() {
        apply_here(database, guild_id, kind, &left, total, progress)?;
    }
    Ok(by_bot)
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
        let all_done = states.iter().all(|s| s.done_at_ms.is_some());
        let picked = states.iter().any(|s| s.picked_at_ms.is_some());
        progress(done, total, if picked { "applied by the running bot" } else { "waiting for a running bot" });
        if all_done {
            return Ok(true);
        }
        if !picked && started.elapsed() > PICKUP_WAIT {
            return Ok(false);
        }
        match &last {
            Some((before, since)) if *before == states => {
                if since.elapsed() > STALL {
                    tracing::warn!("the running bot stopped applying the requests; applying the rest here");
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
    kind: &str,
    left: &[(Id, &Request)],
    total: u64,
    progress: &mut dyn FnMut(u64, u64, &str),
) -> Result<(), StoreError> {
    let mut writer = database.open_writer()?;
    let mut done = total - left.iter().map(|(_, r)| r.rows as u64).sum::<u64>();
    for (request_id, request) in left {
        let activity = super::activity(kind, guild_id, *request_id, &request.payload).expect("made by this version");
        let now_ms = crate::domain::days::now_ms();
        writer.transaction(|ops| crate::apply::apply(ops, std::iter::once(&activity), now_ms))?;
        done += request.rows as u64;
        progress(done, total, "applied here: no bot took it");
    }
    Ok(())
}
