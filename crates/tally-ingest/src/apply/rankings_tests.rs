//! The standings kept in memory agree with the database's, over a history
//! the counting rules wrote, on every backend.

use std::sync::Arc;

use super::testing::ApplyNow;
use crate::domain::{Activity, MemberProfile};
use crate::store::rankings::{IndexedReader, Rankings};
use crate::store::suite::{on_every_backend, TestDb};
use crate::store::Reader;

fn message(user: u64, n: u64) -> Activity {
    let author = MemberProfile {
        guild_id: 1,
        user_id: user,
        username: format!("u{user}"),
        display_name: format!("U{user}"),
        bot: false,
        avatar: None,
        joined_at_ms: Some(1_000),
    };
    // Ids a minute apart, so each message earns XP.
    Activity::Message { author, message_id: ((n * 61_000) << 22) | user, channel_id: 1, roles: Vec::new() }
}

/// Ranks and pages from memory equal SQL's, with part of the history
/// committed before the order was read and part after.
fn the_in_memory_order_agrees_with_sql(mut db: TestDb) {
    let script: Vec<Activity> = (0..600u64).map(|n| message((n * n) % 37, n)).collect();
    db.apply(&script[..300]);

    let rankings = Arc::new(Rankings::default());
    let snapshot_taken = rankings.build_in_background(&db.database);
    snapshot_taken.recv().unwrap();
    for part in script[300..].chunks(50) {
        let changes = db.apply(part);
        rankings.apply(&changes.purged, &changes.moves);
    }
    while !rankings.is_ready() {
        std::thread::yield_now();
    }
    let sql = db.database.open_reader().unwrap();
    let indexed = IndexedReader::new(db.database.open_reader().unwrap(), Arc::clone(&rankings));
    for user in 0..37 {
        assert_eq!(indexed.rank(1, user).unwrap(), sql.rank(1, user).unwrap(), "rank of {user}");
    }
    for (offset, limit) in [(0, 10), (10, 10), (30, 10), (40, 10)] {
        assert_eq!(indexed.leaderboard(1, offset, limit).unwrap(), sql.leaderboard(1, offset, limit).unwrap());
    }
    assert_eq!(indexed.leaderboard(2, 0, 10).unwrap().total, 0, "an unknown server has an empty board");
}

/// A server on another process's shards is read from the database.
fn a_server_counted_elsewhere_is_ranked_from_the_database(mut db: TestDb) {
    use crate::domain::shards::{shard_of, ShardRange};
    let script: Vec<Activity> = (0..60u64).map(|n| message(n % 7, n)).collect();
    db.apply(&script);
    let others = ShardRange::parse("1-1", 2).unwrap();
    assert_eq!(shard_of(1, 2), 0, "server 1 is on shard 0");
    let rankings = Arc::new(Rankings::for_shards(Some(others)));
    rankings.build_in_background(&db.database).recv().unwrap();
    while !rankings.is_ready() {
        std::thread::yield_now();
    }
    let sql = db.database.open_reader().unwrap();
    let indexed = IndexedReader::new(db.database.open_reader().unwrap(), Arc::clone(&rankings));
    assert_eq!(indexed.leaderboard(1, 0, 10).unwrap(), sql.leaderboard(1, 0, 10).unwrap());
    assert_eq!(indexed.leaderboard(1, 0, 10).unwrap().total, 7);
    assert_eq!(indexed.rank(1, 3).unwrap(), sql.rank(1, 3).unwrap());
}

on_every_backend!(the_in_memory_order_agrees_with_sql, a_server_counted_elsewhere_is_ranked_from_the_database);
