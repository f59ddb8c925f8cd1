//! The database stops taking writes for 30 seconds while events keep coming:
//! the ledger retries, its bounded queue fills, the shard stops reading (the
//! rest waits in the socket and at Discord), and once the database is back
//! everything is committed, exactly once.

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
    while started.elapsed() < OUTAGE {
        for _ in 0..20 {
            let who = h.members[i % h.members.len()];
            h.sim.send_message(h.guild, who).expect("message sent");
            *sent.entry(who).or_default() += 1;
            i += 1;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let total: u64 = sent.values().sum();
    assert!(total > 20_000, "more events than the ledger's queue holds: {total}");
    assert_eq!(ledger.committed(), before, "nothing commits while the database is locked");
    assert!(ledger.stats().retries.load(Ordering::Relaxed) > 0, "failed commits were retried");

    blocker.execute_batch("COMMIT").unwrap();
    drop(blocker);
    h.settle().await;
    let records = h.export();
    for (who, messages) in &sent {
        let record = records.iter().find(|r| r.user_id == who.to_string()).expect("member exported");
        assert_eq!(record.messages, *messages, "member {who}");
    }
    assert_eq!(records.iter().map(|r| r.messages).sum::<u64>(), total);
}
