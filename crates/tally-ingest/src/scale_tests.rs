//! Whole servers at scale on MongoDB, where a transaction is bounded by
//! what it writes: a member list, then a reset of every member, through
//! the running ledger and exact. Every run checks 10,000 members; the
//! 100,000-member check takes about eight minutes on the test server
//! (which writes about 2,000 documents a second), so it runs when asked:
//! `scripts/test -p tally-ingest --lib scale_tests -- --include-ignored`.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::domain::Activity;
use crate::store::rankings::Rankings;
use crate::store::suite::{member_profile, TestDb};
use crate::{Envelope, Ledger, SessionInfo};

const GUILD: u64 = 1;
/// What Discord puts in one GUILD_members_CHUNK.
const CHUNK: u64 = 1_000;
/// Long enough for the test server, which writes about 2,000 documents a second.
const PATIENCE: Duration = Duration::from_secs(1_200);

fn session() -> Arc<SessionInfo> {
    Arc::new(SessionInfo { shard_id: 0, shard_count: 1, session_id: "s".into(), resume_url: String::new() })
}

/// Member `n` (0-based): user ids 1..=members.
fn user(n: u64) -> u64 {
    n + 1
}

#[test]
fn ten_thousand_members_are_listed_then_reset_exactly_on_mongodb() {
    list_then_reset(10_000);
}

#[test]
#[ignore = "about eight minutes on the test server; see the module's opening lines"]
fn a_hundred_thousand_members_are_listed_then_reset_exactly_on_mongodb() {
    list_then_reset(100_000);
}

/// A server of `members` listed in chunks of a thousand, everyone given
/// XP, then `/xp reset-server`: each member once, each back to zero, the
/// audit log holding the server's whole XP, transactions of at most a
/// batch's documents.
fn list_then_reset(members: u64) {
    let db = TestDb::mongo();
    let (snapshot_taken, wait_for_snapshot) = std::sync::mpsc::channel();
    snapshot_taken.send(()).unwrap();
    let ledger =
        Ledger::start(db.database.open_writer().unwrap(), Vec::new(), Arc::new(Rankings::default()), wait_for_snapshot);
    let handle = ledger.handle();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    let chunks = members / CHUNK;

    // The member list: chunks of a thousand, as the gateway sends them.
    runtime.block_on(async {
        for c in 0..chunks {
            let listed = (c * CHUNK..(c + 1) * CHUNK)
                .map(|n| Activity::MemberListed { profile: member_profile(GUILD, user(n)), requested_at_ms: Some(1) })
                .collect();
            handle.submit(Envelope { session: session(), sequence: c + 1, activities: listed }).await.unwrap();
        }
        assert!(handle.wait_committed(0, "s", chunks, PATIENCE).await, "the member list was committed");
    });
    assert_eq!(db.reader.present_count(GUILD).unwrap(), members, "every member listed, once");
    let commits = handle.stats().commits.load(Ordering::Relaxed);
    assert!(commits >= chunks / 2, "transactions of at most a batch's documents: {commits} for {chunks} chunks");

    // Everyone holds XP (their user id's worth), set beside the ledger.
    let seeded = db.mongo_command(
        r#"{"update": "members", "updates": [{"q": {"guild_id": 1}, "u": [{"$set": {"xp": "$user_id"}}], "multi": true}]}"#,
    );
    assert_eq!(seeded["nModified"].as_u64(), Some(members), "{seeded}");
    let total: u64 = (0..members).map(user).sum();

    // `/xp reset-server`, confirmed: one event, applied in pieces.
    let interaction_id = (2_000_000_u64 << 22) | 1;
    let reset = Activity::ResetServerXp { guild_id: GUILD, by: 7, interaction_id };
    let before = handle.stats().commits.load(Ordering::Relaxed);
    runtime.block_on(async {
        handle.submit(Envelope { session: session(), sequence: chunks + 1, activities: vec![reset] }).await.unwrap();
        assert!(handle.wait_committed(0, "s", chunks + 1, PATIENCE).await, "the reset was committed");
    });
    let pieces = handle.stats().commits.load(Ordering::Relaxed) - before;
    let batch = 2_048;
    assert!(pieces >= members / batch, "{members} members in pieces of a batch: {pieces} transactions");
    drop(handle);
    runtime.block_on(ledger.finish());

    let still = db.mongo_command(r#"{"count": "members", "query": {"guild_id": 1, "xp": {"$ne": 0}}}"#);
    assert_eq!(still["n"], 0, "every member back to zero");
    let log = db.reader.xp_log(GUILD, None, 10).unwrap();
    let resets: Vec<_> = log.iter().filter(|e| e.action == "reset-server").collect();
    assert_eq!(resets.len(), 1, "one audit entry");
    assert_eq!((resets[0].before, resets[0].after), (total, 0), "the server's whole XP before the reset, exactly");
    // The scratch database empties itself in one transaction: too much
    // for the server with this many members, so they go first.
    db.mongo_command(r#"{"drop": "members"}"#);
}
