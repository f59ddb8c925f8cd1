//! Time in voice, end to end: sessions from VOICE_STATE_UPDATE, the AFK
//! channel left out, sessions kept across a resumed restart and closed by
//! the roster of a fresh GUILD_CREATE (as of the last commit before the
//! gap), shown by /stats and /leaderboard.
//!
//! Discord's voice events carry no time, so Tally times them on receipt by
//! the wall clock; these tests bound each figure by wall time measured
//! around the events (the exact arithmetic is unit-tested in `apply`).

mod harness;

use std::time::Instant;

use discord_sim::Invocation;
use harness::{Harness, WAIT};
use tally::store::Reader;

/// Reads the harness's database, whichever backend it is on (off the
/// async threads: the PostgreSQL and MongoDB clients block).
fn read<T>(h: &Harness, f: impl FnOnce(&dyn Reader) -> T) -> T {
    let url = h.database_url();
    tokio::task::block_in_place(|| f(tally::store::Database::from_url(&url).unwrap().open_reader().unwrap().as_ref()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn voice_time_runs_from_join_to_leave_outside_the_afk_channel() {
    voice_time(Harness::start(5).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn voice_time_on_postgres() {
    voice_time(Harness::start_on_postgres(5).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn voice_time_on_mongodb() {
    voice_time(Harness::start_on_mongo(5).await).await;
}

async fn voice_time(mut h: Harness) {
    let [ann, bob, cat, dan, eve] = h.members[..] else { unreachable!() };
    let channels = h.sim.voice_channels_of(h.guild).unwrap();
    let (lounge, afk) = (channels[0], channels[1]);

    let started = Instant::now();
    h.sim.set_voice(h.guild, ann, Some(lounge)).unwrap();
    h.sim.set_voice(h.guild, bob, Some(afk)).unwrap();
    h.sim.set_voice(h.guild, cat, Some(lounge)).unwrap();
    h.sim.set_voice(h.guild, eve, Some(lounge)).unwrap();
    h.settle().await;
    let eve_since = read(&h, |db| db.voice_since(h.guild, eve).unwrap()).expect("eve's session is open");
    let stats = h.stats(eve).await;
    assert!(stats.field("Voice").unwrap().ends_with("(in voice now)"), "{:?}", stats.field("Voice"));
    h.sim.set_voice(h.guild, ann, None).unwrap();
    h.sim.set_voice(h.guild, bob, None).unwrap();
    h.settle().await;
    let ann_bound = started.elapsed().as_millis() as u64;

    let ann_ms = read(&h, |db| db.member(h.guild, ann).unwrap()).unwrap().voice_ms;
    assert!(ann_ms > 0 && ann_ms <= ann_bound, "ann: {ann_ms} ms, at most {ann_bound}");
    assert_eq!(read(&h, |db| db.member(h.guild, bob).unwrap()).unwrap().voice_ms, 0, "the AFK channel does not count");

    // A restart Discord resumes: eve's session goes on, unbroken.
    h.stop_bot().await;
    h.start_bot().await;
    h.settle().await;
    assert_eq!(read(&h, |db| db.voice_since(h.guild, eve).unwrap()), Some(eve_since), "eve's session survived");

    // A restart Discord cannot resume: cat left voice and dan came in while
    // Tally was away; the fresh GUILD_CREATE's voice states tell. Cat's
    // session ends as of Tally's last commit before the gap.
    h.stop_bot().await;
    let stopped = started.elapsed().as_millis() as u64;
    h.sim.set_voice_quietly(h.guild, cat, None).unwrap();
    h.sim.set_voice_quietly(h.guild, dan, Some(lounge)).unwrap();
    h.sim.invalidate_sessions(false);
    h.start_bot().await;
    h.sim.wait_for_member_request(h.guild, 2, WAIT).await.unwrap();
    h.settle().await;
    let (cat_ms, cat_since, dan_since, eve_now) = read(&h, |db| {
        (
            db.member(h.guild, cat).unwrap().unwrap().voice_ms,
            db.voice_since(h.guild, cat).unwrap(),
            db.voice_since(h.guild, dan).unwrap(),
            db.voice_since(h.guild, eve).unwrap(),
        )
    });
    assert!(cat_ms > ann_ms && cat_ms <= stopped, "cat: {cat_ms} ms, more than ann's {ann_ms}, at most {stopped}");
    assert_eq!(cat_since, None, "cat's session ended");
    assert!(dan_since.is_some(), "dan's session began");
    assert_eq!(eve_now, Some(eve_since), "eve is still in voice");

    // The days add up to the totals, and the board lists who has time.
    let today = tally::domain::days::today();
    let days = read(&h, |db| db.guild_days(h.guild, today - 1, today).unwrap());
    assert_eq!(days.iter().map(|d| d.voice_ms).sum::<u64>(), ann_ms + cat_ms);
    let board = h.invoke(Invocation::new(h.guild, ann, "leaderboard").option("by", "voice")).await;
    let text = board.embed()["description"].as_str().unwrap().to_owned();
    let names: Vec<&str> = text.lines().map(|l| l.split(" — ").next().unwrap()).collect();
    assert_eq!(names, ["**#1** Member 2", "**#2** Member 0"], "cat, then ann; {text}");
    assert!(text.lines().all(|l| l.ends_with(" in voice")), "{text}");
}
