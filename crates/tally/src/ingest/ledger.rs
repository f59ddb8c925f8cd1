//! The ledger owns every write. Shards hand it translated events; it commits
//! them in groups (one transaction for everything that queued up while the
//! previous commit ran), together with each shard's session position, and
//! publishes how far each shard is committed.
//!
//! Its queue is bounded: when the database falls behind, `submit` waits, the
//! shard stops reading, and Discord's own buffering holds the rest. A failed
//! commit is retried with backoff; nothing counts until it is committed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::apply::{apply, Applied};
use crate::domain::Activity;
use crate::metrics::{self, Histogram};
use crate::store::rankings::Rankings;
use crate::store::{ShardPosition, StoreError, Writer};

/// The gateway session an event arrived in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// Shard number.
    pub shard_id: u32,
    /// Shards in total.
    pub shard_count: u32,
    /// Session id from READY.
    pub session_id: String,
    /// Where to resume this session.
    pub resume_url: String,
}

impl SessionInfo {
    /// The pseudo-session of work that comes from the database rather than
    /// the gateway (imports the command line left for the ledger): it has
    /// no position to save and is never a replay (each request is claimed
    /// in the transaction that applies it).
    pub fn requests() -> Self {
        Self {
            shard_id: REQUESTS_SHARD,
            shard_count: 0,
            session_id: "tally-requests".into(),
            resume_url: String::new(),
        }
    }

    /// Whether this is [`SessionInfo::requests`].
    pub fn is_requests(&self) -> bool {
        self.shard_id == REQUESTS_SHARD
    }
}

/// The shard number of [`SessionInfo::requests`]: no real shard has it.
const REQUESTS_SHARD: u32 = u32::MAX;

/// One dispatched gateway event, translated, on its way to the database.
#[derive(Debug, Clone)]
pub struct Envelope {
    /// The session it arrived in.
    pub session: Arc<SessionInfo>,
    /// Its gateway sequence number.
    pub sequence: u64,
    /// What it records (often nothing; the sequence still advances).
    pub activities: Vec<Activity>,
}

/// What the ledger has done, for the demo, logs and `/metrics`.
#[derive(Debug)]
pub struct LedgerStats {
    /// Events committed.
    pub events: AtomicU64,
    /// Events skipped because their sequence was already committed (replays).
    pub replays_skipped: AtomicU64,
    /// Transactions committed.
    pub commits: AtomicU64,
    /// Commits that failed and were retried.
    pub retries: AtomicU64,
    /// Events shards handed to the ledger's queue.
    pub submitted: AtomicU64,
    /// Times a shard found the queue full and stopped reading until it had room.
    pub full_waits: AtomicU64,
    /// Activities committed, by [`Activity::kind_index`].
    pub activities: [AtomicU64; Activity::KINDS.len()],
    /// Gateway events per committed batch.
    pub batch_events: Histogram,
    /// How long each commit took, retries included.
    pub commit_seconds: Histogram,
}

impl Default for LedgerStats {
    fn default() -> Self {
        Self {
            events: AtomicU64::new(0),
            replays_skipped: AtomicU64::new(0),
            commits: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            submitted: AtomicU64::new(0),
            full_waits: AtomicU64::new(0),
            activities: std::array::from_fn(|_| AtomicU64::new(0)),
            batch_events: Histogram::new(metrics::BATCH_SIZES),
            commit_seconds: Histogram::new(metrics::SECONDS),
        }
    }
}

/// Per shard: where its committed events end.
pub type Committed = HashMap<u32, ShardCommitted>;

/// The last committed event of a shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardCommitted {
    /// Its gateway session.
    pub session_id: String,
    /// Its sequence number.
    pub sequence: u64,
    /// When it was committed (ms since the Unix epoch): after a gap Discord
    /// cannot replay, the moment since which Tally was not watching.
    pub at_ms: i64,
}

/// Events per transaction: the backend's own limit
/// ([`Writer::batch_limit`]), unless `TALLY_LEDGER_MAX_BATCH` says
/// otherwise. Only the benchmarks set it (1: a transaction per event, the
/// baseline Tally is measured against).
fn max_batch(backend_limit: usize) -> usize {
    std::env::var("TALLY_LEDGER_MAX_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(backend_limit)
}

/// Events that may wait in the queue before shards stop reading: two
/// batches, so one fills while the other commits.
fn queue_capacity(max_batch: usize, backend_limit: usize) -> usize {
    2 * max_batch.max(backend_limit)
}

/// The running ledger thread.
pub struct Ledger {
    handle: LedgerHandle,
    thread: JoinHandle<()>,
    failure: watch::Receiver<Option<String>>,
}

/// What shards and commands hold to talk to the ledger.
#[derive(Clone)]
pub struct LedgerHandle {
    sender: mpsc::Sender<Envelope>,
    committed: watch::Receiver<Committed>,
    stats: Arc<LedgerStats>,
}

impl Ledger {
    /// Starts the ledger on its own thread. `start_from` is what the database
    /// already holds, so replayed events are not counted twice.
    /// `rankings` is kept in step with every commit; the first commit waits
    /// for `snapshot_taken` (see [`Rankings::build_in_background`]).
    pub fn start(
        writer: Writer,
        start_from: Vec<ShardPosition>,
        rankings: Arc<Rankings>,
        snapshot_taken: std::sync::mpsc::Receiver<()>,
    ) -> Self {
        let backend_limit = writer.batch_limit();
        let max_batch = max_batch(backend_limit);
        let (sender, receiver) = mpsc::channel(queue_capacity(max_batch, backend_limit));
        let committed: Committed = start_from
            .into_iter()
            .map(|p| {
                let at_ms = p.committed_at_ms;
                (p.shard_id, ShardCommitted { session_id: p.session_id, sequence: p.sequence, at_ms })
            })
            .collect();
        let (committed_tx, committed_rx) = watch::channel(committed);
        let stats = Arc::new(LedgerStats::default());
        let thread_stats = Arc::clone(&stats);
        let (failure_tx, failure) = watch::channel(None);
        let thread = std::thread::Builder::new()
            .name("tally-ledger".into())
            .spawn(move || {
                let outcome = run(writer, max_batch, receiver, committed_tx, &thread_stats, &rankings, snapshot_taken);
                if let Err(error) = outcome {
                    failure_tx.send_replace(Some(error.to_string()));
                }
            })
            .expect("spawn ledger thread");
        Self { handle: LedgerHandle { sender, committed: committed_rx, stats }, thread, failure }
    }

    /// Resolves if the ledger stops on a failure that retrying cannot fix,
    /// with its cause. Pending forever otherwise.
    pub async fn failed(&self) -> String {
        let mut failure = self.failure.clone();
        let reason = failure.wait_for(Option::is_some).await.map(|r| r.clone().unwrap_or_default());
        match reason {
            Ok(reason) => reason,
            Err(_) => std::future::pending().await,
        }
    }

    /// A handle for shards and commands.
    pub fn handle(&self) -> LedgerHandle {
        self.handle.clone()
    }

    /// Commits what is queued and stops. Every handle must be dropped first,
    /// or this waits for them.
    pub async fn finish(self) {
        drop(self.handle);
        let thread = self.thread;
        let _ = tokio::task::spawn_blocking(move || thread.join()).await;
    }
}

impl LedgerHandle {
    /// Queues an event, waiting while the queue is full. Fails only when the
    /// ledger has stopped.
    pub async fn submit(&self, envelope: Envelope) -> Result<(), LedgerStopped> {
        if self.sender.capacity() == 0 {
            self.stats.full_waits.fetch_add(1, Ordering::Relaxed);
        }
        self.sender.send(envelope).await.map_err(|_| LedgerStopped)?;
        self.stats.submitted.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Events waiting in the queue, and how many it holds at most: when
    /// they are equal, shards wait before reading on.
    pub fn queued(&self) -> (usize, usize) {
        (self.sender.max_capacity() - self.sender.capacity(), self.sender.max_capacity())
    }

    /// Waits until `sequence` of `session_id` on `shard_id` is committed, at
    /// most `timeout`. True when it is.
    pub async fn wait_committed(&self, shard_id: u32, session_id: &str, sequence: u64, timeout: Duration) -> bool {
        let mut rx = self.committed.clone();
        let done =
            move |c: &Committed| c.get(&shard_id).is_some_and(|c| c.session_id == session_id && c.sequence >= sequence);
        let outcome = tokio::time::timeout(timeout, rx.wait_for(done)).await;
        matches!(outcome, Ok(Ok(_)))
    }

    /// Changes with every commit: what waits for commits to act on them
    /// (the level-up announcements) watches this.
    pub fn commits(&self) -> watch::Receiver<Committed> {
        self.committed.clone()
    }

    /// What is committed per shard now.
    pub fn committed(&self) -> Committed {
        self.committed.borrow().clone()
    }

    /// Live counters.
    pub fn stats(&self) -> &LedgerStats {
        &self.stats
    }

    /// Whether the ledger has stopped taking events (the database failed for good).
    pub fn is_stopped(&self) -> bool {
        self.sender.is_closed()
    }
}

/// The ledger has stopped and takes no more events.
#[derive(Debug, thiserror::Error)]
#[error("the ledger has stopped")]
pub struct LedgerStopped;

fn run(
    mut writer: Writer,
    max_batch: usize,
    mut receiver: mpsc::Receiver<Envelope>,
    committed: watch::Sender<Committed>,
    stats: &LedgerStats,
    rankings: &Rankings,
    snapshot_taken: std::sync::mpsc::Receiver<()>,
) -> Result<(), StoreError> {
    // The first commit waits until the standings' read has its snapshot, so
    // each commit's moves are either in that read or applied after it.
    let _ = snapshot_taken.recv();
    let mut batch = Vec::with_capacity(max_batch);
    let mut last_now = 0;
    while let Some(first) = receiver.blocking_recv() {
        batch.push(first);
        while batch.len() < max_batch {
            match receiver.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let fresh = drop_replays(&mut batch, &committed.borrow(), stats);
        if fresh > 0 {
            let started = std::time::Instant::now();
            // Rises with every commit, even two in one millisecond: it
            // stamps what the batch queues for the role task.
            let now = crate::domain::days::now_ms().max(last_now + 1);
            last_now = now;
            let changes = match commit_with_retry(&mut writer, &batch, now, stats) {
                Ok(changes) => changes,
                Err(error) => {
                    tracing::error!(
                        %error,
                        "the database cannot store events, and retrying will not help: stopping. Nothing \
                         uncommitted was acknowledged; once the database is fixed, start Tally again and the \
                         gateway replays what was missed"
                    );
                    return Err(error);
                }
            };
            rankings.apply(&changes.purged, &changes.moves);
            rankings.boards.changed(&changes.guilds);
            rankings.boards.withdraw(&changes.withdrawn);
            committed.send_modify(|c| {
                for e in last_per_shard(&batch) {
                    let session_id = e.session.session_id.clone();
                    c.insert(e.session.shard_id, ShardCommitted { session_id, sequence: e.sequence, at_ms: now });
                }
            });
            stats.events.fetch_add(batch.len() as u64, Ordering::Relaxed);
            stats.commits.fetch_add(1, Ordering::Relaxed);
            stats.commit_seconds.observe_duration(started.elapsed());
            stats.batch_events.observe(batch.len() as f64);
            for activity in batch.iter().flat_map(|e| &e.activities) {
                stats.activities[activity.kind_index()].fetch_add(1, Ordering::Relaxed);
            }
        }
        batch.clear();
    }
    tracing::debug!("ledger stopped");
    Ok(())
}

/// Removes events already committed (a resumed session replays from the
/// stored sequence). Returns how many remain.
fn drop_replays(batch: &mut Vec<Envelope>, committed: &Committed, stats: &LedgerStats) -> usize {
    let before = batch.len();
    batch.retain(|e| match committed.get(&e.session.shard_id).filter(|_| !e.session.is_requests()) {
        Some(c) => c.session_id != e.session.session_id || e.sequence > c.sequence,
        None => true,
    });
    stats.replays_skipped.fetch_add((before - batch.len()) as u64, Ordering::Relaxed);
    batch.len()
}

/// Commits `batch`, retrying transient failures (a lock, a full disk, a
/// database server that went away) for as long as they last. Returns the
/// first permanent failure.
///
/// A connection that breaks while committing leaves the outcome unknown.
/// Before trying again, the stored shard positions, written in the same
/// transaction, say whether that commit went through: if it did, it is not
/// repeated.
fn commit_with_retry(
    writer: &mut Writer,
    batch: &[Envelope],
    now_ms: i64,
    stats: &LedgerStats,
) -> Result<Applied, StoreError> {
    let mut backoff = Duration::from_millis(50);
    let mut unsure: Option<Applied> = None;
    loop {
        let outcome = match unsure.take() {
            Some(applied) => match holds(writer, batch) {
                Ok(true) => return Ok(applied),
                Ok(false) => commit(writer, batch, now_ms, &mut unsure),
                Err(error) => {
                    unsure = Some(applied);
                    Err(error)
                }
            },
            None => commit(writer, batch, now_ms, &mut unsure),
        };
        match outcome {
            Ok(changes) => return Ok(changes),
            Err(error) if error.is_transient() => {
                stats.retries.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%error, events = batch.len(), retry_in = ?backoff, "commit failed; retrying, nothing is lost");
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
            Err(error) => return Err(error),
        }
    }
}

/// Whether the database already holds `batch`: every shard's stored
/// position has reached the batch's last event of that shard, and every
/// stored request the batch applies is marked applied. Each batch writes
/// one or the other (events move positions, requests are claimed), so a
/// batch of requests alone is read back as surely as one of events.
fn holds(writer: &mut Writer, batch: &[Envelope]) -> Result<bool, StoreError> {
    let stored = writer.positions()?;
    let positions_reached = last_per_shard(batch).all(|e| {
        stored.iter().any(|p| {
            p.shard_id == e.session.shard_id && p.session_id == e.session.session_id && p.sequence >= e.sequence
        })
    });
    let requests: Vec<_> = batch.iter().flat_map(|e| &e.activities).filter_map(Activity::request_id).collect();
    if !positions_reached || requests.is_empty() {
        return Ok(positions_reached);
    }
    writer.transaction(|ops| {
        for id in requests {
            if !ops.request_applied(id)? {
                return Ok(false);
            }
        }
        Ok(true)
    })
}

/// Each shard's last event in `batch`: where the shard stands once it is committed.
fn last_per_shard(batch: &[Envelope]) -> impl Iterator<Item = &Envelope> {
    let mut last: HashMap<u32, &Envelope> = HashMap::new();
    for e in batch.iter().filter(|e| !e.session.is_requests()) {
        last.insert(e.session.shard_id, e);
    }
    last.into_values()
}

/// One attempt at committing `batch`. Once everything is written and only
/// the commit itself remains, what it changed is kept in `reached`, in case
/// the commit's outcome turns out unknown.
fn commit(
    writer: &mut Writer,
    batch: &[Envelope],
    now_ms: i64,
    reached: &mut Option<Applied>,
) -> Result<Applied, StoreError> {
    writer.transaction(|ops| {
        let changes = apply(ops, batch.iter().flat_map(|e| &e.activities), now_ms)?;
        let positions: Vec<ShardPosition> = last_per_shard(batch)
            .map(|e| ShardPosition {
                shard_id: e.session.shard_id,
                shard_count: e.session.shard_count,
                session_id: e.session.session_id.clone(),
                sequence: e.sequence,
                resume_url: e.session.resume_url.clone(),
                committed_at_ms: now_ms,
            })
            .collect();
        ops.save_positions(&positions)?;
        *reached = Some(changes.clone());
        Ok(changes)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::suite::{on_every_backend, TestDb};

    /// A batch of stored requests alone moves no shard position, yet its
    /// commit is read back: before it, the database does not hold it (so a
    /// commit whose outcome was lost is tried again); after it, it does (so
    /// it is not applied twice).
    fn a_batch_of_requests_alone_is_read_back(mut db: TestDb) {
        let payload = serde_json::to_string(&crate::requests::ForgetRequest { user_id: 5, asked_at_ms: 1 }).unwrap();
        let state = db.database.submit_requests(1, crate::requests::FORGET, &[("d1".into(), payload)]).unwrap();
        let forget = Activity::Forget { guild_id: 1, user_id: 5, request_id: Some(state[0].id) };
        let batch = [Envelope { session: Arc::new(SessionInfo::requests()), sequence: 1, activities: vec![forget] }];
        assert!(!holds(&mut db.writer, &batch).unwrap(), "not applied yet");
        let mut reached = None;
        commit(&mut db.writer, &batch, 10, &mut reached).unwrap();
        assert!(holds(&mut db.writer, &batch).unwrap(), "applied");
    }

    on_every_backend!(a_batch_of_requests_alone_is_read_back);
}
