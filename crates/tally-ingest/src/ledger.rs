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

use tokio::sync::{mpsc, watch, Semaphore};

use super::apply::{apply_piece, Applied};
use crate::domain::activity::Id;
use crate::domain::Activity;
use crate::histogram::{self, Histogram};
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
    /// Batches the database gave up on for their size, committed in two pieces instead.
    pub splits: AtomicU64,
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
            splits: AtomicU64::new(0),
            activities: std::array::from_fn(|_| AtomicU64::new(0)),
            batch_events: Histogram::new(histogram::BATCH_SIZES),
            commit_seconds: Histogram::new(histogram::SECONDS),
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

/// Weight (events, a member-list chunk as its members) that may wait in
/// the queue before shards stop reading: two batches, so one fills while
/// the other commits.
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
    sender: mpsc::UnboundedSender<Envelope>,
    /// Room in the queue, by weight ([`weight_of`]): a member-list chunk
    /// takes as much room as a thousand messages. The one bound on the
    /// queue: the channel itself is unbounded.
    room: Arc<Semaphore>,
    /// The room there is in all.
    capacity: usize,
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
        let capacity = queue_capacity(max_batch, backend_limit);
        let (sender, receiver) = mpsc::unbounded_channel();
        let room = Arc::new(Semaphore::new(capacity));
        let taken = Taken { room: Arc::clone(&room), capacity };
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
                let closing = Arc::clone(&taken.room);
                let queue = (receiver, taken);
                let outcome = run(writer, max_batch, queue, committed_tx, &thread_stats, &rankings, snapshot_taken);
                // Shards waiting for room learn the ledger stopped.
                closing.close();
                if let Err(error) = outcome {
                    failure_tx.send_replace(Some(error.to_string()));
                }
            })
            .expect("spawn ledger thread");
        Self { handle: LedgerHandle { sender, room, capacity, committed: committed_rx, stats }, thread, failure }
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
        let weight = room_for(&envelope, self.capacity);
        if self.room.available_permits() < weight {
            self.stats.full_waits.fetch_add(1, Ordering::Relaxed);
        }
        // The room is given back by the ledger thread as it takes the event.
        self.room.acquire_many(weight as u32).await.map_err(|_| LedgerStopped)?.forget();
        self.sender.send(envelope).map_err(|_| LedgerStopped)?;
        self.stats.submitted.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Events waiting in the queue, and how many it holds at most: when
    /// they are equal, shards wait before reading on.
    pub fn queued(&self) -> (usize, usize) {
        (self.capacity - self.room.available_permits().min(self.capacity), self.capacity)
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
    (mut receiver, taken): (mpsc::UnboundedReceiver<Envelope>, Taken),
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
    // An event taken from the queue that would have made the batch too heavy: the next batch's first.
    let mut carried: Option<Envelope> = None;
    loop {
        let first = match carried.take() {
            Some(envelope) => envelope,
            None => match receiver.blocking_recv() {
                Some(envelope) => taken.give_back(envelope),
                None => break,
            },
        };
        // A batch is bounded by what it writes: an event weighs as much as
        // the activities it carries (a member-list chunk, a thousand).
        let mut weight = if is_whole_server(&first) { max_batch } else { weight_of(&first) };
        batch.push(first);
        while weight < max_batch {
            match receiver.try_recv().map(|next| taken.give_back(next)) {
                // Whole-server work goes in a batch of its own.
                Ok(next) if weight + weight_of(&next) > max_batch || is_whole_server(&next) => {
                    carried = Some(next);
                    break;
                }
                Ok(next) => {
                    weight += weight_of(&next);
                    batch.push(next);
                }
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
            let pieces = match commit_in_pieces(&mut writer, &batch, now, stats, max_batch) {
                Ok(pieces) => pieces,
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
            for changes in &pieces {
                // A server whose XP is being reset leaves the standings whole.
                let gone: Vec<Id> = changes.purged.iter().chain(&changes.reset).copied().collect();
                rankings.apply(&gone, &changes.moves);
                rankings.boards.changed(&changes.guilds);
                rankings.boards.withdraw(&changes.withdrawn);
            }
            // Counted before it is announced: whoever waits for the commit
            // then reads figures that include it.
            stats.events.fetch_add(batch.len() as u64, Ordering::Relaxed);
            stats.commits.fetch_add(pieces.len() as u64, Ordering::Relaxed);
            stats.commit_seconds.observe_duration(started.elapsed());
            stats.batch_events.observe(batch.len() as f64);
            for activity in batch.iter().flat_map(|e| &e.activities) {
                stats.activities[activity.kind_index()].fetch_add(1, Ordering::Relaxed);
            }
            committed.send_modify(|c| {
                for e in last_per_shard(&batch) {
                    let session_id = e.session.session_id.clone();
                    c.insert(e.session.shard_id, ShardCommitted { session_id, sequence: e.sequence, at_ms: now });
                }
            });
        }
        batch.clear();
    }
    tracing::debug!("ledger stopped");
    Ok(())
}

/// How much an event weighs in a batch: the activities it carries (at
/// least one: its position is written too).
fn weight_of(envelope: &Envelope) -> usize {
    envelope.activities.len().max(1)
}

/// The room an event takes in a queue of `capacity`: its weight, or the
/// whole queue for one heavier than that.
fn room_for(envelope: &Envelope, capacity: usize) -> usize {
    weight_of(envelope).min(capacity)
}

/// The ledger thread's side of the queue's room.
struct Taken {
    room: Arc<Semaphore>,
    capacity: usize,
}

impl Taken {
    /// An event out of the queue: its room is free again.
    fn give_back(&self, envelope: Envelope) -> Envelope {
        self.room.add_permits(room_for(&envelope, self.capacity));
        envelope
    }
}

/// Whether the event carries whole-server work ([`Activity::is_whole_server`]).
fn is_whole_server(envelope: &Envelope) -> bool {
    envelope.activities.iter().any(Activity::is_whole_server)
}

/// Applies one event of whole-server work in pieces of at most `piece`
/// members, each its own transaction, until it is done; only the last
/// stores the event's gateway position, so a crash between pieces replays
/// the event, which goes on from where the last committed piece ended.
/// A piece the database gives up on for its size is tried at half the size.
fn commit_whole_server(
    writer: &mut Writer,
    batch: &[Envelope],
    now_ms: i64,
    stats: &LedgerStats,
    mut piece: usize,
) -> Result<Vec<Applied>, StoreError> {
    let mut pieces = Vec::new();
    loop {
        match commit_with_retry(writer, batch, now_ms, stats, piece) {
            Ok(changes) => {
                let finished = changes.finished;
                pieces.push(changes);
                if finished {
                    return Ok(pieces);
                }
            }
            Err(error) if error.is_overrun() && piece > 1 => {
                stats.splits.fetch_add(1, Ordering::Relaxed);
                piece /= 2;
            }
            Err(error) => return Err(error),
        }
    }
}

/// Commits `batch`, in smaller pieces when the database gives up on it for
/// its size or length (see [`StoreError::is_overrun`]): halves, in order,
/// each with the positions of its own events. Returns what each committed
/// piece changed, in commit order.
fn commit_in_pieces(
    writer: &mut Writer,
    batch: &[Envelope],
    now_ms: i64,
    stats: &LedgerStats,
    piece: usize,
) -> Result<Vec<Applied>, StoreError> {
    if let [one] = batch {
        if is_whole_server(one) {
            return commit_whole_server(writer, batch, now_ms, stats, piece);
        }
    }
    let error = match commit_with_retry(writer, batch, now_ms, stats, usize::MAX) {
        Ok(changes) => return Ok(vec![changes]),
        Err(error) if error.is_overrun() => error,
        Err(error) => return Err(error),
    };
    let halves = match batch {
        [one] => split_event(one).ok_or(error)?,
        _ => {
            let (first, second) = batch.split_at(batch.len() / 2);
            [first.to_vec(), second.to_vec()]
        }
    };
    stats.splits.fetch_add(1, Ordering::Relaxed);
    tracing::info!(events = batch.len(), "a batch was too large for the database; committing it in two pieces");
    let mut pieces = commit_in_pieces(writer, &halves[0], now_ms, stats, piece)?;
    pieces.extend(commit_in_pieces(writer, &halves[1], now_ms, stats, piece)?);
    Ok(pieces)
}

/// One event's activities in two pieces, when applying its first half
/// twice changes nothing (member lists: who is there, as the list shows
/// them). The first piece is stored at the sequence before the event's, so
/// a crash between the two replays the whole event; the second at its own.
/// None for an event that cannot be split safely.
fn split_event(envelope: &Envelope) -> Option<[Vec<Envelope>; 2]> {
    let idempotent = |a: &Activity| {
        matches!(a, Activity::MemberListed { .. } | Activity::MemberSeen(_) | Activity::GuildSeen { .. })
    };
    if envelope.activities.len() < 2 || !envelope.activities.iter().all(idempotent) {
        return None;
    }
    let (first, second) = envelope.activities.split_at(envelope.activities.len() / 2);
    let before = Envelope {
        session: Arc::clone(&envelope.session),
        sequence: envelope.sequence.saturating_sub(1),
        activities: first.to_vec(),
    };
    let own =
        Envelope { session: Arc::clone(&envelope.session), sequence: envelope.sequence, activities: second.to_vec() };
    Some([vec![before], vec![own]])
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
    piece: usize,
) -> Result<Applied, StoreError> {
    let mut backoff = Duration::from_millis(50);
    let mut unsure: Option<Applied> = None;
    let mut overruns = 0;
    loop {
        let outcome = match unsure.take() {
            Some(applied) => match holds(writer, batch) {
                Ok(true) => return Ok(applied),
                Ok(false) => commit(writer, batch, now_ms, piece, &mut unsure),
                Err(error) => {
                    unsure = Some(applied);
                    Err(error)
                }
            },
            None => commit(writer, batch, now_ms, piece, &mut unsure),
        };
        match outcome {
            Ok(changes) => return Ok(changes),
            // Once may be a failover; twice, the batch is too much as it is.
            Err(error) if error.is_overrun() && unsure.is_none() && overruns > 0 => return Err(error),
            Err(error) if error.is_transient() || error.is_overrun() => {
                overruns += usize::from(error.is_overrun());
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
    piece: usize,
    reached: &mut Option<Applied>,
) -> Result<Applied, StoreError> {
    writer.transaction(|ops| {
        let changes = apply_piece(ops, batch.iter().flat_map(|e| &e.activities), now_ms, piece)?;
        if !changes.finished {
            // More pieces follow: the event's position waits for the last.
            *reached = Some(changes.clone());
            return Ok(changes);
        }
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
    use crate::apply::testing::ApplyNow;
    use crate::store::mongo::scratch::FailPoint;
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
        commit(&mut db.writer, &batch, 10, usize::MAX, &mut reached).unwrap();
        assert!(holds(&mut db.writer, &batch).unwrap(), "applied");
    }

    /// `/xp reset-server` in pieces of 10 members: each piece its own
    /// transaction, the event's position stored with the last; a crash
    /// after the first piece (the event replayed) goes on from there. Every
    /// member ends at 0, the audit log holds the server's whole XP once.
    fn a_reset_of_a_whole_server_goes_in_pieces_through_a_crash(mut db: TestDb) {
        let members = 25;
        talkers(&mut db, members);
        let stats = LedgerStats::default();
        let total: u64 = (0..members).map(|n| db.reader.member(1, 100 + n).unwrap().unwrap().xp).sum();
        assert!(total > 0);

        let interaction_id = (2_000_000_u64 << 22) | 1;
        let reset = Activity::ResetServerXp { guild_id: 1, by: 7, interaction_id };
        let event = [Envelope { session: session(), sequence: members + 1, activities: vec![reset] }];
        // The first piece commits; then the process dies.
        let mut reached = None;
        let first = commit(&mut db.writer, &event, 20, 10, &mut reached).unwrap();
        assert!(!first.finished && first.reset == [1]);
        assert_eq!(db.writer.positions().unwrap()[0].sequence, members, "the event's position waits");
        let zeroed = (0..members).filter(|n| db.reader.member(1, 100 + n).unwrap().unwrap().xp == 0).count();
        assert_eq!(zeroed, 10, "one piece: ten members");
        // The event comes again (a replay): the rest, in pieces.
        let pieces = commit_in_pieces(&mut db.writer, &event, 30, &stats, 10).unwrap();
        assert_eq!(pieces.len(), 2, "15 members left: two more pieces");
        assert!(pieces[1].finished);
        assert!((0..members).all(|n| db.reader.member(1, 100 + n).unwrap().unwrap().xp == 0));
        assert_eq!(db.writer.positions().unwrap()[0].sequence, members + 1);
        let log = db.reader.xp_log(1, None, 15).unwrap();
        let resets: Vec<_> = log.iter().filter(|e| e.action == "reset-server").collect();
        assert_eq!(resets.len(), 1, "one audit entry");
        assert_eq!((resets[0].before, resets[0].after), (total, 0), "the server's whole XP before the reset");
    }

    /// Members of server 1 who each wrote a message (their rows fill the
    /// members, days and log tables), committed as events 1..=count.
    fn talkers(db: &mut TestDb, count: u64) {
        db.apply(&[Activity::GuildSeen { guild_id: 1, name: "Server".into(), afk_channel_id: None }]);
        let talk: Vec<Envelope> = (0..count)
            .map(|n| {
                let author = crate::store::suite::member_profile(1, 100 + n);
                let message_id = ((1_000_000 + n * 61_000) << 22) | n;
                let message = Activity::Message { author, message_id, channel_id: 1, roles: Vec::new() };
                Envelope { session: session(), sequence: n + 1, activities: vec![message] }
            })
            .collect();
        commit_in_pieces(&mut db.writer, &talk, 10, &LedgerStats::default(), 10).unwrap();
    }

    /// A purge asked for from the command line, where a transaction is
    /// bounded (MongoDB) in pieces of 10 rows: a crash after the first
    /// piece leaves the server half gone and the request open; the event
    /// replayed goes on and the last piece marks the request done. Every
    /// backend ends with nothing of the server, the request done once.
    fn a_purge_of_a_whole_server_goes_in_pieces_through_a_crash(mut db: TestDb) {
        let members = 25;
        talkers(&mut db, members);
        assert!(db.database.rows_of_server(1).unwrap().iter().any(|(_, rows)| *rows > 0));
        let payload = serde_json::to_string(&crate::requests::PurgeRequest { asked_at_ms: 1 }).unwrap();
        let asked = db.database.submit_requests(1, crate::requests::PURGE, &[("p".into(), payload)]).unwrap();
        let purge = Activity::PurgeGuild { guild_id: 1, removed_at_ms: None, request_id: Some(asked[0].id) };
        let event = [Envelope { session: session(), sequence: members + 1, activities: vec![purge] }];
        let mut reached = None;
        let first = commit(&mut db.writer, &event, 20, 10, &mut reached).unwrap();
        assert_eq!(first.purged, [1]);
        let bounded = db.is_mongo();
        assert_eq!(first.finished, !bounded, "pieces only where transactions are bounded");
        if bounded {
            let left: u64 = db.database.rows_of_server(1).unwrap().iter().map(|(_, rows)| rows).sum();
            assert!(left > 0, "one piece of ten rows leaves the rest");
            assert!(db.reader.guild(1).unwrap().is_some(), "the server's own row goes last");
            assert!(!holds(&mut db.writer, &event).unwrap(), "the request stays open until the last piece");
            assert_eq!(db.writer.positions().unwrap()[0].sequence, members, "the event's position waits");
            let rest = commit_in_pieces(&mut db.writer, &event, 30, &LedgerStats::default(), 10).unwrap();
            assert!(rest.len() > 2 && rest.last().unwrap().finished, "{} pieces", rest.len());
        }
        let left: Vec<_> = db.database.rows_of_server(1).unwrap().into_iter().filter(|(_, rows)| *rows > 0).collect();
        assert!(left.is_empty(), "nothing of the server is left, its finished requests included: {left:?}");
        assert!(holds(&mut db.writer, &event).unwrap(), "the request reads as applied");
        assert_eq!(db.writer.positions().unwrap()[0].sequence, members + 1);
    }

    /// A whole-server reward check is one row, turned into queued members
    /// a piece at a time: exactly the present members who are not bots,
    /// each piece with the sweep's progress; the backlog counts what is
    /// queued and what is still to sweep.
    fn a_whole_server_reward_check_is_swept_in_pieces(mut db: TestDb) {
        talkers(&mut db, 25);
        let mut bot = crate::store::suite::member_profile(1, 90);
        bot.bot = true;
        db.apply(&[
            Activity::MemberSeen(bot),
            Activity::MemberLeft { guild_id: 1, user_id: 124, at_ms: 6 },
            Activity::SyncRewards { guild_id: 1 },
        ]);
        let all = crate::domain::shards::ShardRange::all(1);
        assert_eq!(db.reader.reward_backlog(1).unwrap(), 24, "24 present members to check, none queued yet");
        assert!(db.reader.pending_reward_syncs(all, 100).unwrap().is_empty());
        let queued = |db: &TestDb| db.reader.pending_reward_syncs(all, 100).unwrap().len();
        assert!(db.database.sweep_rewards(all, 10).unwrap());
        assert_eq!((queued(&db), db.reader.reward_backlog(1).unwrap()), (10, 24));
        assert!(db.database.sweep_rewards(all, 10).unwrap());
        assert!(db.database.sweep_rewards(all, 10).unwrap());
        assert!(!db.database.sweep_rewards(all, 10).unwrap(), "the sweep is done");
        let mut users: Vec<u64> = db.reader.pending_reward_syncs(all, 100).unwrap().iter().map(|p| p.user_id).collect();
        users.sort_unstable();
        let present: Vec<u64> = (100..125).filter(|u| *u != 124).collect();
        assert_eq!(users, present, "every present member once; not the bot, not who left");
        assert_eq!(db.reader.reward_backlog(1).unwrap(), 24);
        // Shards that do not hold the server leave its sweep alone.
        db.apply(&[Activity::SyncRewards { guild_id: 1 }]);
        let elsewhere = crate::domain::shards::ShardRange { first: 1, last: 1, total: 2 };
        assert!(crate::domain::shards::ShardRange::all(2).owns(1) && !elsewhere.owns(1));
        assert!(!db.database.sweep_rewards(elsewhere, 10).unwrap());
    }

    on_every_backend!(
        a_batch_of_requests_alone_is_read_back,
        a_reset_of_a_whole_server_goes_in_pieces_through_a_crash,
        a_purge_of_a_whole_server_goes_in_pieces_through_a_crash,
        a_whole_server_reward_check_is_swept_in_pieces
    );

    fn message(n: u64) -> Activity {
        let author = crate::store::suite::member_profile(1, 5 + n % 3);
        Activity::Message { author, message_id: ((n * 61_000) << 22) | n, channel_id: 1, roles: Vec::new() }
    }

    fn session() -> Arc<SessionInfo> {
        Arc::new(SessionInfo { shard_id: 0, shard_count: 1, session_id: "s".into(), resume_url: String::new() })
    }

    /// Arms MongoDB's fail point: the next `times` batch writes fail as a
    /// transaction that outlived the server's lifetime limit (code 290).
    fn overrun(db: &TestDb, app: &str, times: u32) -> FailPoint {
        db.fail_commands(app, times, serde_json::json!({ "failCommands": ["bulkWrite"], "errorCode": 290 }))
    }

    /// A batch is bounded by what it writes, not by its events: member-list
    /// chunks of 10,000 members each (on SQLite, 16,384 activities a
    /// batch) commit one by one, not all five together; and in the queue a
    /// chunk takes the room of its members.
    #[test]
    fn member_list_chunks_weigh_what_they_carry() {
        let db = TestDb::sqlite();
        let (taken_tx, taken_rx) = std::sync::mpsc::channel();
        let ledger = Ledger::start(db.writer, Vec::new(), Arc::new(Rankings::default()), taken_rx);
        let handle = ledger.handle();
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let chunk = |n: u64| {
            let listed = (0..10_000)
                .map(|i| Activity::MemberListed {
                    profile: crate::store::suite::member_profile(1, 1 + n * 10_000 + i),
                    requested_at_ms: None,
                })
                .collect();
            Envelope { session: session(), sequence: n + 1, activities: listed }
        };
        // Before the ledger may commit: three chunks take 30,000 of the
        // queue's 32,768 places, as many as 30,000 messages would.
        runtime.block_on(async {
            for n in 0..3 {
                handle.submit(chunk(n)).await.unwrap();
            }
        });
        assert_eq!(handle.queued(), (30_000, 32_768));
        taken_tx.send(()).unwrap();
        runtime.block_on(async {
            for n in 3..5 {
                handle.submit(chunk(n)).await.unwrap();
            }
        });
        let stats = Arc::clone(&handle.stats);
        drop(handle);
        runtime.block_on(ledger.finish());
        assert_eq!(stats.events.load(Ordering::Relaxed), 5);
        assert_eq!(stats.commits.load(Ordering::Relaxed), 5, "one chunk a transaction");
        assert_eq!(db.reader.member(1, 50_000).unwrap().map(|m| m.user_id), Some(50_000));
    }

    /// A batch the server gives up on for its length is retried once as
    /// it is, then committed in halves (each with its own positions),
    /// never retried whole forever; each event counts once.
    #[test]
    fn a_batch_too_long_for_mongodb_is_committed_in_pieces() {
        let app = format!("ledger-overrun-{}", std::process::id());
        let mut db = TestDb::mongo_for_app(&app);
        let batch: Vec<Envelope> =
            (1..=12).map(|n| Envelope { session: session(), sequence: n, activities: vec![message(n)] }).collect();
        let overrun = overrun(&db, &app, 3);
        let stats = LedgerStats::default();
        let pieces = commit_in_pieces(&mut db.writer, &batch, 10, &stats, usize::MAX).unwrap();
        drop(overrun);
        assert!(pieces.len() >= 2, "committed in pieces: {}", pieces.len());
        assert!(stats.splits.load(Ordering::Relaxed) >= 1);
        let messages: u64 = (5..8).map(|u| db.reader.member(1, u).unwrap().unwrap().messages).sum();
        assert_eq!(messages, 12, "every event once");
        assert_eq!(db.writer.positions().unwrap()[0].sequence, 12, "the last piece stored the batch's end");
    }

    /// A member-list chunk is one event of many members: it splits into
    /// its halves, the first stored at the sequence before its own (a
    /// crash between them replays the whole chunk, which changes nothing
    /// twice). An event that cannot be split is an error, not a loop.
    #[test]
    fn one_member_list_chunk_splits_and_a_single_message_does_not() {
        let app = format!("ledger-chunk-{}", std::process::id());
        let mut db = TestDb::mongo_for_app(&app);
        let listed = (1..=10)
            .map(|u| Activity::MemberListed {
                profile: crate::store::suite::member_profile(1, u),
                requested_at_ms: Some(1),
            })
            .collect();
        let chunk = [Envelope { session: session(), sequence: 7, activities: listed }];
        let halves = split_event(&chunk[0]).expect("a chunk splits");
        assert_eq!((halves[0][0].sequence, halves[1][0].sequence), (6, 7));
        let twice = overrun(&db, &app, 2);
        let stats = LedgerStats::default();
        commit_in_pieces(&mut db.writer, &chunk, 10, &stats, usize::MAX).unwrap();
        drop(twice);
        assert_eq!(stats.splits.load(Ordering::Relaxed), 1);
        assert!((1..=10).all(|u| db.reader.member(1, u).unwrap().is_some()), "every member listed is stored");

        let always = overrun(&db, &app, 1_000);
        let single = [Envelope { session: session(), sequence: 8, activities: vec![message(1)] }];
        let error = commit_in_pieces(&mut db.writer, &single, 10, &stats, usize::MAX).unwrap_err();
        drop(always);
        assert!(error.is_overrun(), "{error}");
    }
}
