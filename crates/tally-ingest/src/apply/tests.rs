use super::testing::ApplyNow;
use crate::domain::{Activity, MemberProfile, ReactionKey, XpSettings};
use crate::store::suite::{on_every_backend, TestDb};
use crate::store::Member;

/// The stored member `user` of server 1.
fn member(db: &TestDb, user: u64) -> Member {
    db.reader.member(1, user).unwrap().expect("stored")
}

fn profile(user: u64, bot: bool) -> MemberProfile {
    MemberProfile {
        guild_id: 1,
        user_id: user,
        username: format!("u{user}"),
        display_name: format!("U{user}"),
        bot,
        avatar: None,
        joined_at_ms: Some(1_000),
    }
}

/// A message id created `secs` seconds after the Discord epoch.
fn message_at(secs: u64, n: u64) -> u64 {
    ((secs * 1000) << 22) | n
}

fn message(user: u64, id: u64) -> Activity {
    Activity::Message { author: profile(user, false), message_id: id, channel_id: 1, roles: Vec::new() }
}

fn reaction(message_id: u64, user: u64, author: u64) -> Activity {
    reaction_at(message_id, user, author, 0)
}

fn reaction_at(message_id: u64, user: u64, author: u64, at_ms: i64) -> Activity {
    Activity::ReactionAdded {
        guild_id: 1,
        key: ReactionKey { message_id, user_id: user, emoji: "x".into() },
        reactor_is_bot: false,
        author_id: Some(author),
        at_ms,
    }
}

fn cooldown_holds_within_one_batch_and_across_batches(mut db: TestDb) {
    let s = XpSettings::default();
    let (a, b, c) = (message_at(100, 1), message_at(159, 2), message_at(160, 3));
    db.apply(&[message(5, a), message(5, b)]);
    db.apply(&[message(5, c)]);
    let m = member(&db, 5);
    assert_eq!(m.messages, 3);
    assert_eq!(m.xp, u64::from(s.message_xp(a) + s.message_xp(c)));
}

fn a_reaction_added_and_removed_in_one_batch_nets_zero(mut db: TestDb) {
    let key = ReactionKey { message_id: 9, user_id: 5, emoji: "x".into() };
    db.apply(&[
        reaction(9, 5, 6),
        Activity::ReactionRemoved { guild_id: 1, key: key.clone() },
        reaction(9, 5, 6),
        reaction(9, 5, 6), // a duplicate add is not counted twice
    ]);
    assert_eq!((member(&db, 5).reactions_given, member(&db, 6).reactions_received), (1, 1));
    db.apply(&[Activity::ReactionRemoved { guild_id: 1, key }]);
    assert_eq!((member(&db, 5).reactions_given, member(&db, 6).reactions_received), (0, 0));
}

fn reactions_to_known_bots_do_not_count(mut db: TestDb) {
    db.apply(&[Activity::MemberSeen(profile(7, true)), reaction(9, 5, 7)]);
    assert_eq!(db.reader.member(1, 5).unwrap().map(|m| m.reactions_given).unwrap_or(0), 0);
}

fn a_rejoin_seen_in_a_member_list_reopens_membership(mut db: TestDb) {
    db.apply(&[
        Activity::MemberSeen(profile(5, false)),
        Activity::MemberLeft { guild_id: 1, user_id: 5, at_ms: 2_000 },
    ]);
    assert_eq!(member(&db, 5).left_at_ms, Some(2_000));
    let mut back = profile(5, false);
    back.joined_at_ms = Some(3_000);
    db.apply(&[Activity::MemberSeen(back)]);
    let m = member(&db, 5);
    assert_eq!((m.joined_at_ms, m.left_at_ms), (Some(3_000), None));
}

fn each_server_day_adds_up_messages_xp_joins_and_leaves(mut db: TestDb) {
    use crate::domain::snowflake;
    use crate::store::{GuildDay, DAY_MS};
    let s = XpSettings::default();
    // Two messages on one day (a minute apart), one on the next, in two batches.
    let (a, b) = (message_at(86_400 * 3, 1), message_at(86_400 * 3 + 61, 2));
    let c = message_at(86_400 * 4 + 10, 3);
    db.apply(&[message(5, a), message(6, b)]);
    db.apply(&[message(5, c), message(7, c + 1), Activity::MemberLeft { guild_id: 1, user_id: 7, at_ms: 5 * DAY_MS }]);
    // A join Tally already knows, seen again, is not counted again.
    db.apply(&[Activity::MemberJoined(profile(5, false)), Activity::MemberSeen(profile(5, false))]);
    let day = |ms: i64| ms.div_euclid(DAY_MS);
    let (d3, d4) = (day(snowflake::timestamp_ms(a)), day(snowflake::timestamp_ms(c)));
    let days = db.reader.guild_days(1, 0, i64::MAX).unwrap();
    let xp = |ids: &[u64]| ids.iter().map(|&id| u64::from(s.message_xp(id))).sum::<u64>();
    assert_eq!(
        days,
        [
            GuildDay { day: 0, joins: 3, ..GuildDay::default() }, // members 5, 6, 7 joined at 1,000 ms
            GuildDay { day: 5, leaves: 1, ..GuildDay::default() },
            GuildDay { day: d3, messages: 2, xp: xp(&[a, b]), ..GuildDay::default() },
            GuildDay { day: d4, messages: 2, xp: xp(&[c, c + 1]), ..GuildDay::default() },
        ]
    );
    use crate::store::MemberDay;
    assert_eq!(
        db.reader.member_days(1, 5, d3 - 10, d4 + 10).unwrap(),
        [
            MemberDay { day: d3, messages: 1, xp: xp(&[a]), ..MemberDay::default() },
            MemberDay { day: d4, messages: 1, xp: xp(&[c]), ..MemberDay::default() }
        ]
    );
    assert_eq!(db.reader.member_days(1, 6, d4, d4).unwrap(), [], "member 6 was quiet on day 4");
}

/// A reaction counts on the day Tally received it, and taking it back (on
/// any later day, alone or in a clear) takes it off that same day.
fn reactions_count_on_their_day_and_are_taken_off_it(mut db: TestDb) {
    use crate::store::{GuildDay, MemberDay, DAY_MS};
    let (d1, d2) = (20_000, 20_001);
    let clear = |message_id| Activity::ReactionsCleared { guild_id: 1, message_id, emoji: None };
    let removed = |message_id, user_id| Activity::ReactionRemoved {
        guild_id: 1,
        key: ReactionKey { message_id, user_id, emoji: "x".into() },
    };
    db.apply(&[message(5, 100), message(6, 200)]);
    db.apply(&[
        reaction_at(100, 6, 5, d1 * DAY_MS + 10), // 6 → 5 on day 1
        reaction_at(200, 5, 6, d1 * DAY_MS + 20), // 5 → 6 on day 1
        reaction_at(200, 7, 6, d2 * DAY_MS),      // 7 → 6 on day 2
    ]);
    // On day 2: 5 takes back their day-1 reaction, and message 200's are cleared.
    db.apply(&[removed(200, 5)]);
    db.apply(&[clear(200), reaction_at(100, 7, 5, d2 * DAY_MS + 5)]); // 7 → 5 on day 2
    let day = |user, day| db.reader.member_days(1, user, day, day).unwrap().first().copied().unwrap_or_default();
    let reactions = |d: MemberDay| (d.reactions_given, d.reactions_received);
    assert_eq!(reactions(day(5, d1)), (0, 1), "5 received one on day 1; their own was taken back");
    assert_eq!(reactions(day(6, d1)), (1, 0));
    assert_eq!(reactions(day(6, d2)), (0, 0), "6's day-2 reaction was cleared");
    assert_eq!(reactions(day(7, d2)), (1, 0), "7's cleared reaction is gone; the later one stands");
    assert_eq!(reactions(day(5, d2)), (0, 1));
    let server: Vec<(i64, u64)> =
        db.reader.guild_days(1, d1, d2).unwrap().iter().map(|d: &GuildDay| (d.day, d.reactions)).collect();
    assert_eq!(server, [(d1, 1), (d2, 1)]);
    // The totals agree with the days.
    assert_eq!((member(&db, 5).reactions_given, member(&db, 5).reactions_received), (0, 2));
}

/// A reaction counted before days were kept (no day remembered) is taken
/// off the totals when removed, and off no day.
fn reactions_from_before_days_come_off_the_totals_only(mut db: TestDb) {
    db.apply(&[message(5, 100), reaction_at(100, 6, 5, 7 * crate::store::DAY_MS)]);
    db.raw(
        "UPDATE counted_reactions SET day = NULL",
        &[r#"{"update": "counted_reactions", "updates": [{"q": {}, "u": {"$set": {"day": null}}, "multi": true}]}"#],
    );
    let removed =
        Activity::ReactionRemoved { guild_id: 1, key: ReactionKey { message_id: 100, user_id: 6, emoji: "x".into() } };
    db.apply(&[removed]);
    assert_eq!(db.reader.member(1, 6).unwrap().unwrap().reactions_given, 0);
    assert_eq!(db.reader.member_days(1, 6, 7, 7).unwrap()[0].reactions_given, 1, "day 7 keeps what it was given");
}

/// A leave, a rejoin and a second leave received in the same millisecond
/// (as a replayed burst can be) are two leaves, each logged and counted.
fn two_leaves_in_one_millisecond_both_count(mut db: TestDb) {
    use crate::store::DAY_MS;
    let at_ms = 5 * DAY_MS + 7;
    let rejoin = MemberProfile { joined_at_ms: Some(2_000), ..profile(8, false) };
    db.apply(&[Activity::MemberJoined(profile(8, false))]);
    db.apply(&[
        Activity::MemberLeft { guild_id: 1, user_id: 8, at_ms },
        Activity::MemberJoined(rejoin),
        Activity::MemberLeft { guild_id: 1, user_id: 8, at_ms },
    ]);
    let days = db.reader.guild_days(1, 5, 5).unwrap();
    assert_eq!(days.first().map(|d| d.leaves), Some(2), "{days:?}");
    assert!(member(&db, 8).left_at_ms.is_some());
}

fn voice(user: u64, channel: Option<u64>, at_ms: i64) -> Activity {
    Activity::VoiceChanged { guild_id: 1, user_id: user, channel_id: channel, bot: false, muted: false, at_ms }
}

/// Voice time runs from a join to a leave, across channel moves and mute
/// changes, outside the AFK channel, never for bots, split at midnight UTC;
/// a fresh roster ends sessions of members no longer in voice; leaving the
/// server ends one too.
fn voice_time_counts_from_join_to_leave_on_each_day(mut db: TestDb) {
    use crate::store::{MemberDay, DAY_MS};
    const MIN: i64 = 60_000;
    let day = 20_100;
    let t0 = day * DAY_MS - 60 * MIN; // 23:00 the day before
    let afk = 99;
    db.apply(&[
        Activity::GuildSeen { guild_id: 1, name: "G".into(), afk_channel_id: Some(afk) },
        Activity::MemberSeen(profile(5, false)),
        Activity::MemberSeen(profile(6, false)),
        Activity::MemberSeen(profile(7, true)),
        Activity::MemberSeen(profile(8, false)),
        Activity::MemberSeen(profile(9, false)),
    ]);
    db.apply(&[
        voice(5, Some(10), t0),
        voice(6, Some(afk), t0),
        voice(7, Some(10), t0),
        voice(8, Some(10), t0),
        voice(5, Some(11), t0 + 10 * MIN), // a move: the session goes on
        voice(5, Some(11), t0 + 20 * MIN), // a mute: the same
        voice(6, Some(10), t0 + 60 * MIN), // out of AFK: starts counting
    ]);
    db.apply(&[voice(5, None, t0 + 90 * MIN), voice(6, None, t0 + 120 * MIN), voice(7, None, t0 + 120 * MIN)]);
    // Tally reconnects afresh: 8 is gone, 9 is in voice.
    db.apply(&[Activity::VoiceRoster {
        guild_id: 1,
        in_voice: vec![(9, 10, false)],
        at_ms: t0 + 180 * MIN,
        unseen_since: None,
    }]);
    db.apply(&[voice(9, Some(10), t0 + 200 * MIN)]); // already counted since the roster
    db.apply(&[Activity::MemberLeft { guild_id: 1, user_id: 9, at_ms: t0 + 240 * MIN }]);

    let voice_min = |db: &TestDb, user| member(db, user).voice_ms as i64 / MIN;
    assert_eq!(voice_min(&db, 5), 90);
    assert_eq!(voice_min(&db, 6), 60, "the hour in the AFK channel does not count");
    assert_eq!(voice_min(&db, 7), 0, "bots never count");
    assert_eq!(voice_min(&db, 8), 180, "ended when the roster no longer listed them");
    assert_eq!(voice_min(&db, 9), 60, "from the roster to leaving the server");
    let on = |user, d| {
        let found = db.reader.member_days(1, user, d, d).unwrap();
        found.first().copied().unwrap_or(MemberDay::default()).voice_ms as i64 / MIN
    };
    assert_eq!((on(5, day - 1), on(5, day)), (60, 30), "split at midnight UTC");
    let server: Vec<(i64, i64)> =
        db.reader.guild_days(1, day - 1, day).unwrap().iter().map(|d| (d.day, d.voice_ms as i64 / MIN)).collect();
    assert_eq!(server, [(day - 1, 60 + 60), (day, 30 + 60 + 120 + 60)]);
    assert_eq!(db.reader.voice_since(1, 5).unwrap(), None, "no session left open");

    // After a gap Discord could not replay, a session ends when Tally last
    // watched, not when it came back.
    db.apply(&[voice(5, Some(10), t0 + 300 * MIN)]);
    let roster = |at_ms, unseen_since| Activity::VoiceRoster { guild_id: 1, in_voice: vec![], at_ms, unseen_since };
    db.apply(&[roster(t0 + 900 * MIN, Some(t0 + 320 * MIN))]);
    assert_eq!(voice_min(&db, 5), 90 + 20, "credited up to the last commit before the gap");
    db.apply(&[voice(6, Some(10), t0 + 1000 * MIN), roster(t0 + 1100 * MIN, Some(t0 + 900 * MIN))]);
    assert_eq!(voice_min(&db, 6), 60, "a session begun after Tally last watched earns nothing from the gap");
}

fn a_wrong_leave_heals_when_the_member_shows_up(mut db: TestDb) {
    let left = |user| Activity::MemberLeft { guild_id: 1, user_id: user, at_ms: 2_000 };
    let everyone = [5, 6, 7, 8, 9];
    db.apply(&everyone.map(|u| Activity::MemberSeen(profile(u, false))));
    db.apply(&everyone.map(left));
    assert!(everyone.iter().all(|u| member(&db, *u).left_at_ms.is_some()));
    let listed = |user, requested_at_ms| Activity::MemberListed { profile: profile(user, false), requested_at_ms };
    db.apply(&[
        message(5, message_at(10, 1)),
        reaction(message_at(10, 1), 6, 5),
        Activity::MemberSeen(profile(7, false)), // GUILD_MEMBER_UPDATE
        listed(8, Some(3_000)),                  // a list asked for after the leave
        listed(9, Some(1_500)),                  // a list asked for before it: stale
    ]);
    for user in [5, 6, 7, 8] {
        assert_eq!(member(&db, user).left_at_ms, None, "member {user} is present again");
    }
    assert_eq!(member(&db, 9).left_at_ms, Some(2_000), "a list older than the leave brings no one back");
    db.apply(&[listed(9, None)]);
    assert_eq!(member(&db, 9).left_at_ms, Some(2_000), "nor does a list Tally did not ask for");
    assert_eq!(member(&db, 6).reactions_given, 1, "the reaction counts");
}

on_every_backend!(
    a_wrong_leave_heals_when_the_member_shows_up,
    cooldown_holds_within_one_batch_and_across_batches,
    a_reaction_added_and_removed_in_one_batch_nets_zero,
    reactions_to_known_bots_do_not_count,
    a_rejoin_seen_in_a_member_list_reopens_membership,
    each_server_day_adds_up_messages_xp_joins_and_leaves,
    reactions_count_on_their_day_and_are_taken_off_it,
    reactions_from_before_days_come_off_the_totals_only,
    voice_time_counts_from_join_to_leave_on_each_day,
    two_leaves_in_one_millisecond_both_count,
);
