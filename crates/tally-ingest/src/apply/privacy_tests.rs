//! Privacy in the ledger, on both backends: erasure in the middle of a
//! batch, the standings it moves, and hiding and stopping.

use super::testing::ApplyNow;
use crate::domain::privacy::PrivacyChange;
use crate::domain::{Activity, ReactionKey};
use crate::store::suite::{member_profile, on_every_backend, TestDb};

use super::RankChange;

/// A message `n` made `secs` seconds after the Discord epoch.
fn message(user: u64, secs: u64, n: u64) -> Activity {
    Activity::Message {
        author: member_profile(1, user),
        message_id: ((secs * 1000) << 22) | n,
        channel_id: 1,
        roles: Vec::new(),
    }
}

fn reaction(message_id: u64, user: u64, author: u64) -> Activity {
    Activity::ReactionAdded {
        guild_id: 1,
        key: ReactionKey { message_id, user_id: user, emoji: "x".into() },
        reactor_is_bot: false,
        author_id: Some(author),
        at_ms: 0,
    }
}

fn choose(user: u64, change: PrivacyChange) -> Activity {
    Activity::Privacy { guild_id: 1, user_id: user, change, at_ms: 0 }
}

fn forget(user: u64) -> Activity {
    Activity::Forget { guild_id: 1, user_id: user, request_id: None }
}

fn server_messages(db: &TestDb) -> u64 {
    db.reader.guild_days(1, 0, 100_000).unwrap().iter().map(|d| d.messages).sum()
}

fn erasure_in_a_batch_keeps_what_follows_and_the_servers_sums(mut db: TestDb) {
    db.apply(&[message(5, 100, 1), message(6, 100, 2), reaction(77, 5, 6)]);
    let xp_before = db.reader.member(1, 5).unwrap().unwrap().xp;
    let applied = db.apply(&[message(5, 200, 3), reaction(78, 6, 5), forget(5), message(5, 300, 4)]);
    assert!(
        applied.moves.contains(&RankChange { guild_id: 1, user_id: 5, before: Some(xp_before), after: None }),
        "off the standings: {:?}",
        applied.moves
    );
    let fresh = db.reader.member(1, 5).unwrap().expect("the message after the erasure is stored");
    assert_eq!((fresh.messages, fresh.reactions_given, fresh.reactions_received), (1, 0, 0));
    let day = crate::domain::days::day_of(crate::domain::snowflake::timestamp_ms((300_000 << 22) | 4));
    let days = db.reader.member_days(1, 5, day - 7, day + 7).unwrap();
    assert_eq!(days.iter().map(|d| d.messages).sum::<u64>(), 1, "only the day of the message after");
    assert_eq!(server_messages(&db), 4, "the server's days keep every message");
    let other = db.reader.member(1, 6).unwrap().unwrap();
    assert_eq!((other.reactions_given, other.reactions_received), (1, 1), "the other member's figures stay");
    // Taking back a reaction to the erased member's message moves only the giver's count.
    db.apply(&[Activity::ReactionRemoved {
        guild_id: 1,
        key: ReactionKey { message_id: 78, user_id: 6, emoji: "x".into() },
    }]);
    assert_eq!(db.reader.member(1, 6).unwrap().unwrap().reactions_given, 0);
    assert_eq!(db.reader.member(1, 5).unwrap().unwrap().reactions_received, 0);
}

fn hiding_moves_the_standings_and_stopping_stops_counting(mut db: TestDb) {
    db.apply(&[message(5, 100, 1)]);
    let xp = db.reader.member(1, 5).unwrap().unwrap().xp;
    let hidden = db.apply(&[choose(5, PrivacyChange::Hide)]);
    assert_eq!(hidden.moves, [RankChange { guild_id: 1, user_id: 5, before: Some(xp), after: None }]);
    assert_eq!(db.reader.leaderboard(1, 0, 10).unwrap().total, 0, "off the stored board too");
    let shown = db.apply(&[choose(5, PrivacyChange::Show)]);
    assert_eq!(shown.moves, [RankChange { guild_id: 1, user_id: 5, before: None, after: Some(xp) }]);

    db.apply(&[choose(5, PrivacyChange::Stop), message(5, 200, 2), reaction(90, 5, 6), reaction(91, 6, 5)]);
    let stopped = db.reader.member(1, 5).unwrap().unwrap();
    assert!(stopped.stopped);
    assert_eq!((stopped.messages, stopped.xp, stopped.reactions_given, stopped.reactions_received), (1, xp, 0, 0));
    assert_eq!(db.reader.member(1, 6).unwrap().unwrap().reactions_given, 1, "the giver's gift counts");
    db.apply(&[choose(5, PrivacyChange::Start), message(5, 300, 3)]);
    assert_eq!(db.reader.member(1, 5).unwrap().unwrap().messages, 2);
}

on_every_backend!(
    erasure_in_a_batch_keeps_what_follows_and_the_servers_sums,
    hiding_moves_the_standings_and_stopping_stops_counting,
);
