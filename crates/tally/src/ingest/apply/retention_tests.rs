//! Retention in the ledger, on both backends: the clock starts at a
//! removal and stops at a return, in batch order; a purge stands only for
//! the removal it counted from; a purge takes every row and the standings.

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

on_every_backend!(the_clock_follows_removals_and_returns_in_order, a_purge_stands_only_for_the_removal_it_counted_from,);
