//! What Tally counts, checked end to end: the simulator sends real gateway
//! events to the real bot, and the figures are read back through slash
//! commands and `tally export`.

mod harness;

use std::time::Duration;

use discord_sim::Invocation;
use harness::Harness;
use tally::domain::XpSettings;

fn xp(message_id: u64) -> u64 {
    u64::from(XpSettings::default().message_xp(message_id))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cooldown_is_measured_with_message_ids() {
    let h = Harness::start(2).await;
    let ann = h.members[0];
    let first = h.sim.send_message(h.guild, ann).unwrap();
    h.sim.advance(Duration::from_millis(59_999));
    h.sim.send_message(h.guild, ann).unwrap(); // 59.999 s later: in cooldown
    h.sim.advance(Duration::from_millis(1));
    let third = h.sim.send_message(h.guild, ann).unwrap(); // exactly 60 s after the first: earns
    let reply = h.stats(ann).await;
    assert_eq!(reply.field("Messages").as_deref(), Some("3"));
    assert_eq!(reply.field("Total XP"), Some((xp(first) + xp(third)).to_string()));
    assert_eq!(reply.field("Rank").as_deref(), Some("#1"));
    assert!(!reply.is_ephemeral());
    let record = h.record(ann);
    assert_eq!((record.messages, record.xp), (3, xp(first) + xp(third)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reactions_count_once_and_never_for_self_or_bots() {
    let h = Harness::start(3).await;
    let (ann, bob) = (h.members[0], h.members[1]);
    let robot = h.sim.add_user("robot", None, true);
    h.sim.join(h.guild, robot).unwrap();
    let anns = h.sim.send_message(h.guild, ann).unwrap();
    let robots = h.sim.send_message(h.guild, robot).unwrap();

    h.sim.react(anns, bob, "👍").unwrap(); // counts
    h.sim.react(anns, ann, "👍").unwrap(); // own message: no
    h.sim.react(anns, robot, "👍").unwrap(); // by a bot: no
    h.sim.react(robots, bob, "👍").unwrap(); // to a bot: no
    for _ in 0..5 {
        h.sim.react(anns, bob, "🔥").unwrap(); // add and remove: nets zero
        h.sim.unreact(anns, bob, "🔥").unwrap();
    }
    h.sim.unreact(anns, ann, "👍").unwrap(); // removing an uncounted reaction changes nothing
    h.sim.react(anns, bob, "123456789012345678:party").unwrap(); // custom emoji counts
    h.settle().await;
    assert_eq!((h.record(bob).reactions_given, h.record(ann).reactions_received), (2, 2));

    h.sim.clear_reactions(anns, Some("👍")).unwrap();
    h.settle().await;
    assert_eq!((h.record(bob).reactions_given, h.record(ann).reactions_received), (1, 1));

    h.sim.clear_reactions(anns, None).unwrap();
    let reply = h.stats(ann).await;
    assert_eq!(reply.field("Reactions received").as_deref(), Some("0"));
    assert_eq!((h.record(bob).reactions_given, h.record(ann).reactions_given), (0, 0));
    assert!(h.export().iter().all(|r| r.user_id != robot.to_string()), "bots are not exported");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_earn_nothing_and_stats_on_a_bot_is_a_friendly_notice() {
    let h = Harness::start(1).await;
    let robot = h.sim.add_user("robot", None, true);
    h.sim.join(h.guild, robot).unwrap();
    h.sim.send_message(h.guild, robot).unwrap();
    let reply = h.invoke(Invocation::new(h.guild, h.members[0], "stats").option("member", robot)).await;
    assert!(reply.is_ephemeral());
    assert!(reply.text().contains("bot"), "{}", reply.text());
    let board = h.invoke(Invocation::new(h.guild, h.members[0], "leaderboard")).await;
    assert!(board.text().contains("No one has earned XP"), "{}", board.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joins_leaves_and_rejoins_are_logged_and_shown() {
    let h = Harness::start(2).await;
    let old_timer = h.members[1]; // joined 2 days before the bot started, never posted
    let reply = h.invoke(Invocation::new(h.guild, h.members[0], "joined").option("member", old_timer)).await;
    assert!(reply.text().contains("2 days ago"), "{}", reply.text());
    assert!(!h.record(old_timer).joined_at.is_empty(), "join dates come from the member list");

    let newcomer = h.sim.add_user("newcomer", Some("New Comer"), false);
    h.sim.join(h.guild, newcomer).unwrap();
    let first_join = h.sim.now_ms();
    h.sim.send_message(h.guild, newcomer).unwrap();
    h.sim.leave(h.guild, newcomer).unwrap();
    let reply = h.invoke(Invocation::new(h.guild, h.members[0], "joined").option("member", newcomer)).await;
    assert!(reply.text().contains("left on"), "{}", reply.text());
    let record = h.record(newcomer);
    assert!(!record.left_at.is_empty());
    assert_eq!(record.joined_at, tally::transfer::export::rfc3339(Some(first_join as i64)));
    let board = h.invoke(Invocation::new(h.guild, h.members[0], "leaderboard")).await;
    assert!(!board.text().contains("New Comer"), "members who left are not listed: {}", board.text());

    h.sim.advance(Duration::from_secs(3600));
    h.sim.join(h.guild, newcomer).unwrap();
    let rejoin = h.sim.now_ms();
    h.settle().await;
    let record = h.record(newcomer);
    assert_eq!((record.left_at.as_str(), record.messages), ("", 1), "history is kept across a rejoin");
    assert_eq!(record.joined_at, tally::transfer::export::rfc3339(Some(rejoin as i64)));
    let board = h.invoke(Invocation::new(h.guild, h.members[0], "leaderboard")).await;
    assert!(board.text().contains("New Comer"), "{}", board.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaderboard_pages_are_ordered_by_xp() {
    let h = Harness::start(25).await;
    // Member i posts i+1 messages a minute apart: more messages, more XP.
    let mut expected: Vec<(u64, u64)> = Vec::new();
    for (i, &member) in h.members.iter().enumerate() {
        let mut total = 0;
        for _ in 0..=i {
            total += xp(h.sim.send_message(h.guild, member).unwrap());
            h.sim.advance(Duration::from_secs(60));
        }
        expected.push((member, total));
    }
    expected.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let page1 = h.invoke(Invocation::new(h.guild, h.members[0], "leaderboard")).await;
    let page3 = h.invoke(Invocation::new(h.guild, h.members[0], "leaderboard").option("page", 3)).await;
    let page9 = h.invoke(Invocation::new(h.guild, h.members[0], "leaderboard").option("page", 9)).await;
    let line = |rank: usize| {
        let (member, total) = expected[rank - 1];
        let index = h.members.iter().position(|m| *m == member).unwrap();
        format!(
            "**#{rank}** Member {index} — level {} · {} XP",
            tally::domain::Level::from_xp(total).level,
            format_thousands(total)
        )
    };
    let text1 = page1.embed()["description"].as_str().unwrap().to_owned();
    assert_eq!(text1.lines().count(), 10);
    assert_eq!(text1.lines().next().unwrap(), line(1));
    assert_eq!(text1.lines().nth(9).unwrap(), line(10));
    assert!(page1.text().contains("Page 1 of 3 · 25 ranked members"), "{}", page1.text());
    let text3 = page3.embed()["description"].as_str().unwrap().to_owned();
    assert_eq!(text3.lines().collect::<Vec<_>>(), (21..=25).map(line).collect::<Vec<_>>());
    assert!(page9.is_ephemeral() && page9.text().contains("no page 9"), "{}", page9.text());
    // /stats rank agrees with the board.
    let (top, _) = expected[0];
    assert_eq!(h.stats(top).await.field("Rank").as_deref(), Some("#1"));
}

fn format_thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_unknown_events_are_skipped_and_counting_goes_on() {
    let h = Harness::start(1).await;
    let ann = h.members[0];
    h.sim.send_raw_dispatch(h.guild, "MESSAGE_CREATE", serde_json::json!({ "id": "not-a-number" })).unwrap();
    h.sim.send_raw_dispatch(h.guild, "SOMETHING_NEW", serde_json::json!({ "x": 1 })).unwrap();
    h.sim.send_raw_dispatch(h.guild, "MESSAGE_REACTION_ADD", serde_json::json!(null)).unwrap();
    h.sim.send_raw_frame("{this is not JSON");
    // A message far larger than Discord allows: refused unparsed.
    let mut huge = serde_json::json!({ "id": "1", "content": "x".repeat(2 << 20) });
    huge["guild_id"] = serde_json::json!(h.guild.to_string());
    h.sim.send_raw_dispatch(h.guild, "MESSAGE_CREATE", huge).unwrap();
    h.sim.send_message(h.guild, ann).unwrap();
    assert_eq!(h.stats(ann).await.field("Messages").as_deref(), Some("1"));
    let context = h.bot.as_ref().unwrap().context();
    let malformed = context.metrics.malformed.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(malformed, 4, "two broken known events, one non-JSON frame and one oversized message");
    assert_eq!(context.metrics.unknown_events.load(std::sync::atomic::Ordering::Relaxed), 1, "SOMETHING_NEW");
    assert_eq!(h.sim.session_starts(), (1, 0), "no reconnect was needed");
}
