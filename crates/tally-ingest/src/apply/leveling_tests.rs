//! The leveling settings as the counting rules apply them: no-XP channels
//! and roles, multipliers, a change in the middle of a batch, the curve,
//! and the level-up outbox. Run on every backend.

use super::testing::ApplyNow;
use crate::domain::settings::{SettingChange, Where};
use crate::domain::shards::ShardRange;
use crate::domain::{Activity, Curve, MemberProfile};
use crate::store::suite::{on_every_backend, TestDb};

const GUILD: u64 = 1;

fn profile(user: u64) -> MemberProfile {
    MemberProfile {
        guild_id: GUILD,
        user_id: user,
        username: format!("u{user}"),
        display_name: format!("U{user}"),
        bot: false,
        avatar: None,
        joined_at_ms: Some(1_000),
    }
}

/// A message by `user` `secs` seconds after the Discord epoch, in `channel`, with `roles`.
fn message(user: u64, secs: u64, channel: u64, roles: &[u64]) -> Activity {
    Activity::Message {
        author: profile(user),
        message_id: ((secs * 1000) << 22) | user,
        channel_id: channel,
        roles: roles.to_vec(),
    }
}

fn configure(change: SettingChange) -> Activity {
    Activity::Configure { guild_id: GUILD, change }
}

/// Every message earns exactly `xp`, with no cooldown.
fn fixed_xp(xp: u32) -> Activity {
    configure(SettingChange::Xp { min: Some(xp), max: Some(xp), cooldown: Some(0) })
}

fn xp_of(db: &TestDb, user: u64) -> (u64, u64) {
    let m = db.reader.member(GUILD, user).unwrap().expect("stored");
    (m.messages, m.xp)
}

fn no_xp_channels_and_roles_count_messages_but_give_nothing(mut db: TestDb) {
    db.apply(&[
        fixed_xp(20),
        configure(SettingChange::NoXp { channel: Some(50), role: None, on: true }),
        configure(SettingChange::NoXp { channel: None, role: Some(60), on: true }),
        message(5, 100, 50, &[]),
        message(5, 101, 51, &[60]),
        message(6, 100, 51, &[61]),
    ]);
    assert_eq!(xp_of(&db, 5), (2, 0));
    assert_eq!(xp_of(&db, 6), (1, 20));
    // A message that earned nothing started no cooldown: with a 60 s
    // cooldown, the next message a second later still earns.
    db.apply(&[
        configure(SettingChange::Xp { min: None, max: None, cooldown: Some(60) }),
        message(5, 200, 50, &[]),
        message(5, 201, 51, &[]),
    ]);
    assert_eq!(xp_of(&db, 5), (4, 20));
}

fn multipliers_give_the_rounded_product(mut db: TestDb) {
    db.apply(&[
        fixed_xp(21),
        configure(SettingChange::Multiplier { channel: None, role: Some(60), factor: 150 }),
        configure(SettingChange::Multiplier { channel: None, role: Some(61), factor: 300 }),
        configure(SettingChange::Multiplier { channel: Some(50), role: None, factor: 50 }),
        // Highest role ×3 times the channel's ×0.5: 21 × 1.5 = 31.5, rounded up to 32.
        message(5, 100, 50, &[60, 61]),
        // Role ×1.5 alone: 31.5 → 32. No multiplier: 21.
        message(6, 100, 51, &[60]),
        message(7, 100, 51, &[]),
    ]);
    assert_eq!(xp_of(&db, 5).1, 32);
    assert_eq!(xp_of(&db, 6).1, 32);
    assert_eq!(xp_of(&db, 7).1, 21);
}

fn a_change_applies_from_the_next_event_in_the_same_batch(mut db: TestDb) {
    db.apply(&[fixed_xp(10), message(5, 100, 50, &[]), fixed_xp(100), message(5, 101, 50, &[])]);
    assert_eq!(xp_of(&db, 5), (2, 110));
    let settings = db.reader.settings(GUILD).unwrap();
    assert_eq!((settings.xp.min_xp, settings.xp.max_xp, settings.xp.cooldown_secs), (100, 100, 0));
}

fn only_the_final_level_of_a_batch_is_queued_once(mut db: TestDb) {
    // A flat curve of 100 XP a level and 100 XP a message: a level a message.
    db.apply(&[
        fixed_xp(100),
        configure(SettingChange::Curve(Curve { a: 0, b: 0, c: 100 })),
        message(5, 100, 50, &[]),
        message(5, 101, 51, &[]),
        message(5, 102, 52, &[]),
    ]);
    let pending = db.reader.pending_levelups(ShardRange::all(1), 10).unwrap();
    assert_eq!(pending.len(), 1, "{pending:?}");
    let row = pending[0].row;
    assert_eq!((row.user_id, row.old_level, row.level, row.xp, row.channel_id), (5, 0, 3, 300, Some(52)));
    assert_eq!(pending[0].display_name, "U5");
    assert!(pending[0].pings);
    // The next batch's level-up is a row of its own; marking one sent leaves the other.
    db.apply(&[message(5, 103, 50, &[])]);
    db.database.mark_levelups_sent(&[(GUILD, 5, 3, row.created_at_ms)], 1).unwrap();
    let pending = db.reader.pending_levelups(ShardRange::all(1), 10).unwrap();
    assert_eq!(pending.iter().map(|p| (p.row.old_level, p.row.level)).collect::<Vec<_>>(), [(3, 4)]);
    // Level 4 taken away and reached again while its first announcement
    // was being sent: marking the first sent leaves the second to send.
    let first = pending[0].row;
    db.apply(&[Activity::AdjustXp {
        guild_id: GUILD,
        user_id: 5,
        change: crate::domain::xp::XpChange::Set(300),
        by: 1,
        interaction_id: (5_000_000 << 22) | 1,
    }]);
    db.apply(&[message(5, 104, 50, &[])]);
    db.database.mark_levelups_sent(&[(GUILD, 5, 4, first.created_at_ms)], 2).unwrap();
    let pending = db.reader.pending_levelups(ShardRange::all(1), 10).unwrap();
    assert_eq!(pending.iter().map(|p| p.row.level).collect::<Vec<_>>(), [4], "reached again: still to announce");
    assert_ne!(pending[0].row.created_at_ms, first.created_at_ms);
}

fn announcements_go_where_configured_and_respect_notify(mut db: TestDb) {
    let levelup =
        |place, channel| configure(SettingChange::LevelUp { place, channel, message: None, ping: Some(true) });
    db.apply(&[
        fixed_xp(100),
        levelup(Where::Off, None),
        message(5, 100, 50, &[]),
        levelup(Where::Channel, Some(77)),
        message(6, 100, 50, &[]),
        levelup(Where::Dm, None),
        Activity::Notify { guild_id: GUILD, user_id: 7, pings: false },
        message(7, 100, 50, &[]),
    ]);
    let pending = db.reader.pending_levelups(ShardRange::all(1), 10).unwrap();
    let seen: Vec<(u64, Option<u64>, bool)> =
        pending.iter().map(|p| (p.row.user_id, p.row.channel_id, p.pings)).collect();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(seen.contains(&(6, Some(77), true)), "{seen:?}");
    assert!(seen.contains(&(7, None, false)), "{seen:?}");
    let settings = db.reader.settings(GUILD).unwrap();
    assert_eq!(settings.leveling.levelup.place, Where::Dm);
    assert_eq!(settings.leveling.levelup.channel, Some(77));
}

fn voice(user: u64, channel: Option<u64>, muted: bool, at_ms: i64) -> Activity {
    Activity::VoiceChanged { guild_id: GUILD, user_id: user, channel_id: channel, bot: false, muted, at_ms }
}

const MINUTE: i64 = 60_000;

fn voice_xp_needs_company_and_no_mute(mut db: TestDb) {
    let t = 1_700_000_000_000;
    db.apply(&[
        Activity::GuildSeen { guild_id: GUILD, name: "S".into(), afk_channel_id: Some(99) },
        configure(SettingChange::VoiceXp(10)),
        Activity::MemberSeen(profile(1)),
        Activity::MemberSeen(profile(2)),
    ]);
    // Ann alone for a minute earns nothing; with Bea, both earn; Ann muted stops.
    db.apply(&[voice(1, Some(5), false, t)]);
    db.apply(&[voice(2, Some(5), false, t + MINUTE)]);
    db.apply(&[voice(1, Some(5), true, t + 3 * MINUTE)]); // 2 minutes each so far
    db.apply(&[voice(2, None, false, t + 5 * MINUTE)]); // Bea 2 more, with muted Ann there
    db.apply(&[voice(1, None, true, t + 9 * MINUTE)]); // Ann alone and muted: nothing
    assert_eq!(xp_of(&db, 1).1, 20);
    assert_eq!(xp_of(&db, 2).1, 40);
    // The AFK channel earns nothing, together or not.
    db.apply(&[voice(3, Some(99), false, t), voice(4, Some(99), false, t), voice(3, None, false, t + 10 * MINUTE)]);
    assert_eq!(db.reader.member(GUILD, 3).unwrap().map_or(0, |m| m.xp), 0);
    // Partial minutes carry on while earning: 90 s, then 110 s more is 3
    // whole minutes for Fay; Eve muted after her first minute and a half.
    let u = t + 100 * MINUTE;
    db.apply(&[voice(5, Some(6), false, u), voice(6, Some(6), false, u)]);
    db.apply(&[voice(5, Some(6), true, u + 90_000)]);
    db.apply(&[voice(6, None, false, u + 200_000)]);
    assert_eq!(db.reader.member(GUILD, 5).unwrap().unwrap().xp, 10, "Eve: one whole minute before muting");
    assert_eq!(db.reader.member(GUILD, 6).unwrap().unwrap().xp, 30, "Fay: 200 s with company is 3 minutes");
    // Voice XP is on the days like any XP.
    for user in [1, 2, 5, 6] {
        let day = t / crate::store::DAY_MS;
        let days = db.reader.member_days(GUILD, user, day - 1, day + 1).unwrap();
        let day_xp: u64 = days.iter().map(|d| d.xp).sum();
        assert_eq!(day_xp, db.reader.member(GUILD, user).unwrap().unwrap().xp, "days of {user}");
    }
}

fn voice_xp_is_off_by_default(mut db: TestDb) {
    let t = 1_700_000_000_000;
    db.apply(&[voice(1, Some(5), false, t), voice(2, Some(5), false, t)]);
    db.apply(&[voice(1, None, false, t + 10 * MINUTE), voice(2, None, false, t + 10 * MINUTE)]);
    assert_eq!(xp_of(&db, 1), (0, 0));
    assert_eq!(db.reader.member(GUILD, 1).unwrap().unwrap().voice_ms, 10 * MINUTE as u64, "time still counts");
}

on_every_backend!(
    voice_xp_needs_company_and_no_mute,
    voice_xp_is_off_by_default,
    no_xp_channels_and_roles_count_messages_but_give_nothing,
    multipliers_give_the_rounded_product,
    a_change_applies_from_the_next_event_in_the_same_batch,
    only_the_final_level_of_a_batch_is_queued_once,
    announcements_go_where_configured_and_respect_notify,
);
