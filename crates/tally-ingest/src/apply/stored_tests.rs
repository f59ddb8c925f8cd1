//! What the counting rules write, each backend reads back: the storage
//! suite's tests that need a realistic history, run on every backend.

use super::testing::ApplyNow;
use crate::domain::{Activity, MemberProfile, ReactionKey};
use crate::store::suite::{on_every_backend, TestDb};
use crate::store::ShardPosition;
use crate::store::{Measure, Span};

fn profile(user: u64) -> MemberProfile {
    MemberProfile {
        guild_id: 9,
        user_id: user,
        username: format!("u{user}"),
        display_name: format!("U{user}"),
        bot: false,
        avatar: Some(format!("hash{user}")),
        joined_at_ms: Some(1_000),
    }
}

/// A kept board order may name a member who has since left: the page
/// leaves them out.
fn pages_of_a_kept_order_skip_who_left(mut db: TestDb) {
    db.apply(&[Activity::MemberSeen(profile(1)), Activity::MemberSeen(profile(2))]);
    db.apply(&[Activity::MemberLeft { guild_id: 9, user_id: 2, at_ms: 5_000 }]);
    let page = crate::store::page_of(db.reader.as_ref(), 9, &[(1, 5), (2, 4)], 0, 10).unwrap();
    let shown: Vec<u64> = page.rows.iter().map(|(m, _)| m.user_id).collect();
    assert_eq!(shown, [1]);
}

/// What one backend writes, the same backend reads back: a member row with
/// every column set, positions, servers, days, a card colour, web flags.
fn everything_written_reads_back(mut db: TestDb) {
    let message = |user: u64, secs: u64| Activity::Message {
        author: profile(user),
        message_id: ((secs * 1000) << 22) | user,
        channel_id: 1,
        roles: Vec::new(),
    };
    db.apply(&[
        Activity::GuildSeen { guild_id: 9, name: "Nine".into(), afk_channel_id: Some(77) },
        message(1, 100),
        message(1, 200),
        message(2, 100),
        Activity::ReactionAdded {
            guild_id: 9,
            key: ReactionKey { message_id: 5, user_id: 2, emoji: "👍".into() },
            reactor_is_bot: false,
            author_id: Some(1),
            at_ms: 3 * crate::store::DAY_MS,
        },
    ]);
    db.writer
        .transaction(|ops| {
            ops.save_positions(&[ShardPosition {
                shard_id: 3,
                shard_count: 4,
                session_id: "s".into(),
                sequence: 42,
                resume_url: "wss://r".into(),
                committed_at_ms: 7,
            }])
        })
        .unwrap();
    db.database.set_card_accent(1, Some(0xABCDEF)).unwrap();
    db.database.set_web_public(9, true).unwrap();
    let r = &db.reader;
    let one = r.member(9, 1).unwrap().unwrap();
    assert_eq!((one.messages, one.reactions_received, one.avatar.as_deref()), (2, 1, Some("hash1")));
    assert!(one.xp >= 30 && one.xp <= 50 && one.last_xp_at_ms.is_some() && one.joined_at_ms == Some(1_000));
    assert_eq!(r.member(9, 2).unwrap().unwrap().reactions_given, 1);
    assert_eq!(r.rank(9, 1).unwrap(), Some(1));
    assert_eq!(r.leaderboard(9, 0, 10).unwrap().total, 2);
    let all: Vec<u64> = r.all_members(9).unwrap().iter().map(|m| m.user_id).collect();
    assert_eq!(all, [1, 2]);
    let some: Vec<u64> = r.members(9, &[2, 77, 1]).unwrap().iter().map(|m| m.user_id).collect();
    assert_eq!(some, [2, 1], "members in the order asked, unknown ones left out");
    assert!(r.members(10, &[1, 2]).unwrap().is_empty(), "another server's members are not these");
    assert_eq!(r.card_accent(1).unwrap(), Some(0xABCDEF));
    let guild = r.guild(9).unwrap().unwrap();
    assert_eq!((guild.name.as_str(), guild.web_public), ("Nine", true));
    assert_eq!(r.public_guilds().unwrap().len(), 1);
    let position = r.positions().unwrap();
    assert_eq!((position[0].shard_id, position[0].sequence, position[0].committed_at_ms), (3, 42, 7));
    assert_eq!(db.writer.positions().unwrap(), position);
    let days = r.guild_days(9, 0, 100_000).unwrap();
    assert_eq!(days.iter().map(|d| d.messages).sum::<u64>(), 3);
    assert_eq!(days.iter().map(|d| d.reactions).sum::<u64>(), 1);
    let day = crate::domain::snowflake::timestamp_ms((100 * 1000) << 22).div_euclid(crate::store::DAY_MS);
    let mine = r.member_days(9, 1, day - 1, day + 1).unwrap();
    assert_eq!(mine.iter().map(|d| d.messages).sum::<u64>(), 2);
    // What /stats reads in one go is what the single reads give.
    db.raw(
        &format!(
            "INSERT INTO voice_sessions (guild_id, user_id, since) VALUES (9, 1, 12345);
             INSERT INTO member_days (guild_id, day, user_id, messages) VALUES (9, {}, 1, 5);",
            day + 1
        ),
        &[
            r#"{"insert": "voice_sessions", "documents": [{"guild_id": 9, "user_id": 1, "since": 12345,
                "channel_id": null, "muted": false, "earning_since": null}]}"#,
            &format!(
                r#"{{"insert": "member_days", "documents": [{{"guild_id": 9, "day": {}, "user_id": 1, "messages": 5,
                    "xp": 0, "reactions_given": 0, "reactions_received": 0, "voice_ms": 0}}]}}"#,
                day + 1
            ),
        ],
    );
    let summary = r.member_summary(9, 1, day - 1, day + 1).unwrap().unwrap();
    assert_eq!(summary.member, r.member(9, 1).unwrap().unwrap());
    assert_eq!((summary.accent, summary.voice_since), (Some(0xABCDEF), Some(12345)));
    assert_eq!(summary.days.len(), 2, "two days, oldest first");
    assert_eq!(summary.days, r.member_days(9, 1, day - 1, day + 1).unwrap());
    let other = r.member_summary(9, 2, day - 1, day + 1).unwrap().unwrap();
    assert_eq!((other.accent, other.voice_since, other.days.len()), (None, None, 1));
    assert!(r.member_summary(9, 99, day - 1, day + 1).unwrap().is_none());
    let order = r.board_order(9, Span::AllTime, Measure::Messages).unwrap();
    assert_eq!(order, [(1, 2), (2, 1)]);
}

/// The ranked members a process reads at start are those of its own shards.
fn the_ranked_members_read_at_start_are_those_of_its_shards(mut db: TestDb) {
    use crate::domain::shards::{shard_of, ShardRange};
    let guilds = [1u64 << 22, 2 << 22, 3 << 22, 4 << 22];
    let batch: Vec<Activity> = guilds
        .iter()
        .map(|&guild_id| Activity::Message {
            author: MemberProfile { guild_id, ..profile(1) },
            message_id: (1000 << 22) | guild_id,
            channel_id: 1,
            roles: Vec::new(),
        })
        .collect();
    db.apply(&batch);
    let range = ShardRange::parse("2-3", 4).unwrap();
    let mut seen = Vec::new();
    db.database.for_each_ranked(Some(range), || {}, |guild, _, _| seen.push(guild)).unwrap();
    seen.sort_unstable();
    let expected: Vec<u64> = guilds.iter().copied().filter(|g| shard_of(*g, 4) >= 2).collect();
    assert_eq!(seen, expected);
    let mut all = 0;
    db.database.for_each_ranked(None, || {}, |_, _, _| all += 1).unwrap();
    assert_eq!(all, 4);
}

on_every_backend!(
    pages_of_a_kept_order_skip_who_left,
    everything_written_reads_back,
    the_ranked_members_read_at_start_are_those_of_its_shards,
);
