//! The database stops taking writes for 30 seconds while events keep coming:
//! the ledger retries, its bounded queue fills, the shard stops reading (seen:
//! from the moment the queue is full it hands over nothing more while the
//! simulator goes on sending; the rest waits in the socket and at Discord),
//! and once the database is back everything is committed, exactly once.

mod harness;

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use harness::Harness;

const OUTAGE: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_seconds_without_a_writable_database_lose_nothing() {
    let h = Harness::start(20).await;
    h.settle().await; // the member list is committed
    let ledger = h.bot.as_ref().unwrap().context().ledger.clone();
    // The settling command's own dispatch may commit just after its answer:
    // wait for everything sent so far, so nothing is still on its way.
    let session = ledger.committed()[&0].session_id.clone();
    let last = h.sim.last_sequence(0).expect("a session");
    assert!(ledger.wait_committed(0, &session, last, harness::WAIT).await, "everything sent is committed");
    let before = ledger.committed();

    // Another process takes the write lock and keeps it.
    let blocker = rusqlite::Connection::open(h.dir.path().join("tally.db")).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();

    let mut sent: HashMap<u64, u64> = HashMap::new();
    let started = Instant::now();
    let mut i = 0usize;
    // Once the ledger's queue is full: how many events the shard had
    // handed over, and the sequence the simulator had sent by then.
    let mut full_at: Option<(u64, u64)> = None;
    while started.elapsed() < OUTAGE {
        // Past the point where the queue filled, a few thousand more are
        // enough to see the shard wait; the database stays locked anyway.
        let enough = full_at.is_some_and(|(_, at)| h.sim.last_sequence(0).unwrap() > at + 5_000);
        if enough {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        for _ in 0..200 {
            let who = h.members[i % h.members.len()];
            h.sim.send_message(h.guild, who).expect("message sent");
            *sent.entry(who).or_default() += 1;
            i += 1;
        }
        let (queued, capacity) = ledger.queued();
        if full_at.is_none() && queued == capacity {
            let submitted = ledger.stats().submitted.load(Ordering::Relaxed);
            full_at = Some((submitted, h.sim.last_sequence(0).expect("a session")));
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let total: u64 = sent.values().sum();
    let (submitted_when_full, sent_when_full) = full_at.expect("the ledger's queue filled during the outage");
    assert_eq!(ledger.committed(), before, "nothing commits while the database is locked");
    assert!(ledger.stats().retries.load(Ordering::Relaxed) > 0, "failed commits were retried");
    // The shard stopped reading: from the moment the queue was full it
    // handed over nothing more, while the simulator went on sending.
    assert_eq!(
        ledger.stats().submitted.load(Ordering::Relaxed),
        submitted_when_full,
        "the shard read nothing more while the queue was full"
    );
    assert!(ledger.stats().full_waits.load(Ordering::Relaxed) >= 1, "the shard waited for room");
    let sent_after = h.sim.last_sequence(0).unwrap() - sent_when_full;
    assert!(sent_after > 1_000, "events kept coming while the shard waited: {sent_after}");

    blocker.execute_batch("COMMIT").unwrap();
    drop(blocker);
    // Everything sent is committed (the backlog is read before any command).
    let last = h.sim.last_sequence(0).unwrap();
    assert!(ledger.wait_committed(0, &session, last, harness::WAIT * 4).await, "the backlog is committed");
    h.settle().await;
    let records = h.export();
    for (who, messages) in &sent {
        let record = records.iter().find(|r| r.user_id == who.to_string()).expect("member exported");
        assert_eq!(record.messages, *messages, "member {who}");
    }
    assert_eq!(records.iter().map(|r| r.messages).sum::<u64>(), total);
}
