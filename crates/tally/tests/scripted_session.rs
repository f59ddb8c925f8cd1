//! The acceptance script: 1,000 messages (a tenth of them replies), 300
//! reactions (some removed), 20 joins (each with Discord's "joined the
//! server" notice) and 5 leaves across 50 members, and Discord's notices of
//! pins, boosts and threads, which count nowhere. The test keeps its own
//! tally of what it sent and the bot's export must match it exactly.

mod harness;

use std::collections::HashMap;
use std::time::Duration;

use discord_sim::{message_type, Invocation};
use harness::Harness;
use tally::domain::{Level, XpSettings};

#[derive(Default, Clone)]
struct Expected {
    messages: u64,
    xp: u64,
    last_xp_at: Option<u64>,
    given: u64,
    received: u64,
    left: bool,
}

/// A fixed pseudo-random sequence, so the script is the same every run.
struct Lcg(u64);
impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripted_session_matches_exactly() {
    scripted_session(Harness::start(30).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripted_session_on_postgres_matches_exactly() {
    scripted_session(Harness::start_on_postgres(30).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripted_session_on_mongodb_matches_exactly() {
    scripted_session(Harness::start_on_mongo(30).await).await;
}

async fn scripted_session(mut h: Harness) {
    let settings = XpSettings::default();
    let mut people = h.members.clone();
    for i in 0..20 {
        let user = h.sim.add_user(&format!("joiner{i}"), None, false);
        h.sim.join(h.guild, user).unwrap();
        people.push(user);
    }
    assert_eq!(people.len(), 50);
    let mut expected: HashMap<u64, Expected> = people.iter().map(|p| (*p, Expected::default())).collect();
    let mut dice = Lcg(2026);
    let mut messages: Vec<(u64, u64)> = Vec::new(); // (message, author)
    let mut standing: Vec<(u64, u64, &str)> = Vec::new(); // counted reactions: (message, reactor, emoji)
    let emojis = ["👍", "🎉", "👀"];
    let (mut reactions_sent, mut sent) = (0, 0);
    let mut restarted = false;

    while sent < 1000 || reactions_sent < 300 {
        h.sim.advance(Duration::from_millis(7_000 + dice.below(20_000) as u64));
        // Halfway, five members leave; they keep their history.
        if sent == 500 && !restarted {
            restarted = true;
            for &p in people.iter().skip(40).take(5) {
                h.sim.leave(h.guild, p).unwrap();
                expected.get_mut(&p).unwrap().left = true;
            }
            // Restart the bot mid-script: counts must survive it.
            h.stop_bot().await;
            h.start_bot().await;
        }
        let present: Vec<u64> = people.iter().copied().filter(|p| !expected[p].left).collect();
        // Now and then Discord posts a notice about a member: it counts nowhere.
        if dice.below(20) == 0 {
            let about = present[dice.below(present.len())];
            let notices = [
                message_type::CHANNEL_PINNED_MESSAGE,
                message_type::GUILD_BOOST,
                message_type::THREAD_CREATED,
                9,  // boost to tier 1
                11, // boost to tier 3
            ];
            let kind = notices[dice.below(notices.len())];
            h.sim.send_message_of_type(h.guild, h.sim.channel_of(h.guild).unwrap(), about, kind).unwrap();
        }
        if sent < 1000 && (reactions_sent >= 300 || dice.below(10) < 7) {
            let author = present[dice.below(present.len())];
            let kind = if dice.below(10) == 0 { message_type::REPLY } else { message_type::DEFAULT };
            let id = h.sim.send_message_of_type(h.guild, h.sim.channel_of(h.guild).unwrap(), author, kind).unwrap();
            let e = expected.get_mut(&author).unwrap();
            e.messages += 1;
            let at = discord_sim::clock::timestamp_ms(id);
            if e.last_xp_at.is_none_or(|last| at - last >= 60_000) {
                e.xp += u64::from(settings.message_xp(id));
                e.last_xp_at = Some(at);
            }
            messages.push((id, author));
            sent += 1;
        } else if !messages.is_empty() {
            let (message, author) = messages[dice.below(messages.len())];
            let reactor = present[dice.below(present.len())];
            let emoji = emojis[dice.below(emojis.len())];
            h.sim.react(message, reactor, emoji).unwrap();
            reactions_sent += 1;
            let counted = reactor != author && !standing.contains(&(message, reactor, emoji));
            if counted {
                standing.push((message, reactor, emoji));
                expected.get_mut(&reactor).unwrap().given += 1;
                expected.get_mut(&author).unwrap().received += 1;
            }
            // A third of reactions are taken back.
            if dice.below(3) == 0 {
                h.sim.unreact(message, reactor, emoji).unwrap();
                if let Some(pos) = standing.iter().position(|s| *s == (message, reactor, emoji)) {
                    standing.remove(pos);
                    expected.get_mut(&reactor).unwrap().given -= 1;
                    expected.get_mut(&author).unwrap().received -= 1;
                }
            }
        }
    }
    h.settle().await;

    let exported = h.export();
    for p in &people {
        let e = &expected[p];
        let r = exported.iter().find(|r| r.user_id == p.to_string()).unwrap_or_else(|| panic!("{p} exported"));
        assert_eq!(
            (r.messages, r.xp, r.reactions_given, r.reactions_received, r.left_at.is_empty()),
            (e.messages, e.xp, e.given, e.received, !e.left),
            "member {p}"
        );
        assert_eq!(r.level, Level::from_xp(e.xp).level);
        assert!(!r.joined_at.is_empty());
    }
    assert_eq!(exported.iter().map(|r| r.messages).sum::<u64>(), 1000);

    // The commands agree with the export.
    let best = people
        .iter()
        .filter(|p| !expected[p].left)
        .max_by(|a, b| expected[a].xp.cmp(&expected[b].xp).then(b.cmp(a)))
        .copied()
        .unwrap();
    let reply = h.stats(best).await;
    assert_eq!(reply.field("Rank").as_deref(), Some("#1"));
    assert_eq!(reply.field("Messages"), Some(expected[&best].messages.to_string()));
    let board = h.invoke(Invocation::new(h.guild, best, "leaderboard").option("page", 5)).await;
    let ranked = expected.values().filter(|e| !e.left && e.xp > 0).count();
    assert!(
        board.text().contains(&format!("Page 5 of {} · {ranked} ranked members", ranked.div_ceil(10))),
        "{}",
        board.text()
    );
}
