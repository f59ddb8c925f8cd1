//! Retention in the ledger, on both backends: the clock starts at a
//! removal and stops at a return, in batch order; a purge stands only for
//! the removal it counted from; a purge takes every row and the standings.

use super::testing::ApplyNow;
use crate::domain::Activity;
use crate::store::suite::{member_profile, on_every_backend, TestDb};

fn seen() -> Activity {
    Activity::GuildSeen { guild_id: 1, name: "Server".into(), afk_channel_id: None }
}

fn removed(at_ms: i64) -> Activity {
    Activity::GuildRemoved { guild_id: 1, at_ms }
}

fn purge(removed_at_ms: Option<i64>) -> Activity {
    Activity::PurgeGuild { guild_id: 1, removed_at_ms, request_id: None }
}

fn message(user: u64, n: u64) -> Activity {
    let author = member_profile(1, user);
    Activity::Message { author, message_id: ((100_000 * n) << 22) | n, channel_id: 1, roles: Vec::new() }
}

fn removed_at(db: &TestDb) -> Option<i64> {
    let shards = crate::domain::shards::ShardRange::all(1);
    db.reader.removed_guilds(shards).unwrap().into_iter().find(|(g, _)| *g == 1).map(|(_, at)| at)
}

fn the_clock_follows_removals_and_returns_in_order(mut db: TestDb) {
    db.apply(&[seen(), message(5, 1)]);
    db.apply(&[removed(50)]);
    assert_eq!(removed_at(&db), Some(50));
    db.apply(&[removed(60), seen()]);
    assert_eq!(removed_at(&db), None, "back within the batch");
    db.apply(&[seen(), removed(70)]);
    assert_eq!(removed_at(&db), Some(70), "removed after being seen");
}

fn a_purge_stands_only_for_the_removal_it_counted_from(mut db: TestDb) {
    db.apply(&[seen(), message(5, 1), message(6, 2)]);
    db.apply(&[removed(50), seen(), removed(80)]);
    let applied = db.apply(&[purge(Some(50))]);
    assert!(applied.purged.is_empty());
    assert!(db.reader.member(1, 5).unwrap().is_some(), "a stale clock purges nothing");
    db.apply(&[seen()]);
    db.apply(&[purge(Some(80))]);
    assert!(db.reader.member(1, 5).unwrap().is_some(), "back since: nothing");

    db.apply(&[removed(90)]);
    let applied = db.apply(&[message(6, 3), purge(Some(90)), message(7, 4)]);
    assert_eq!(applied.purged, [1]);
    assert_eq!(db.reader.member(1, 5).unwrap(), None);
    assert_eq!(db.reader.member(1, 6).unwrap(), None, "what the batch held before the purge is not written back");
    assert_eq!(db.reader.member(1, 7).unwrap().map(|m| m.messages), Some(1), "what follows starts afresh");
    let days = db.reader.guild_days(1, 0, 1_000_000).unwrap();
    assert_eq!(days.iter().map(|d| d.messages).sum::<u64>(), 1, "the server's days go too");
}

fn seen_server(guild_id: u64) -> Activity {
    Activity::GuildSeen { guild_id, name: format!("Server {guild_id}"), afk_channel_id: None }
}

fn removed_at_of(db: &TestDb, guild_id: u64) -> Option<i64> {
    let shards = crate::domain::shards::ShardRange::all(1);
    db.reader.removed_guilds(shards).unwrap().into_iter().find(|(g, _)| *g == guild_id).map(|(_, at)| at)
}

/// A server on shard `shard` of two (`(id >> 22) % 2`).
fn on_shard(shard: u64, n: u64) -> u64 {
    ((n * 2 + shard) << 22) | n
}

fn ready(shard_id: u32, listed: &[u64], at_ms: i64) -> Activity {
    Activity::ShardGuilds { shard_id, shard_count: 2, listed: listed.to_vec(), at_ms }
}

fn a_server_missing_from_ready_starts_the_clock(mut db: TestDb) {
    let (kept, gone, out, other_shard) = (on_shard(0, 1), on_shard(0, 2), on_shard(0, 3), on_shard(1, 4));
    db.apply(&[seen_server(kept), seen_server(gone), seen_server(out), seen_server(other_shard)]);
    // Shard 0's READY lists `kept` and `out` (in an outage: READY lists it
    // as unavailable all the same), not `gone`; shard 1's servers are not
    // its business.
    db.apply(&[ready(0, &[kept, out], 500)]);
    assert_eq!(removed_at_of(&db, gone), Some(500), "removed while Tally was away");
    assert_eq!(removed_at_of(&db, kept), None);
    assert_eq!(removed_at_of(&db, out), None, "an outage never starts the clock");
    assert_eq!(removed_at_of(&db, other_shard), None, "another shard's server");
    // A later READY that still misses it does not move its clock.
    db.apply(&[ready(0, &[kept, out], 900)]);
    assert_eq!(removed_at_of(&db, gone), Some(500));
    // A server first seen in the batch, before READY: its word counts too.
    let fresh = on_shard(0, 5);
    db.apply(&[seen_server(fresh), ready(0, &[kept, out], 1_000)]);
    assert_eq!(removed_at_of(&db, fresh), Some(1_000));
    // Coming back (GUILD_CREATE) stops it, as after GUILD_DELETE.
    db.apply(&[seen_server(gone)]);
    assert_eq!(removed_at_of(&db, gone), None);
}

on_every_backend!(
    the_clock_follows_removals_and_returns_in_order,
    a_purge_stands_only_for_the_removal_it_counted_from,
    a_server_missing_from_ready_starts_the_clock,
);
