//! The real binary, stopped with SIGTERM and started again, resumes its
//! gateway session from the database: events sent while it was down are
//! replayed by the gateway and counted exactly once.

use std::time::Duration;

mod harness;

use discord_sim::{Invocation, SimConfig, Simulator};
use harness::{spawn_bot, terminate, WAIT};

fn spawn_quiet(sim: &Simulator, database_url: &str) -> tokio::process::Child {
    spawn_bot(sim, database_url, std::process::Stdio::null())
}

async fn messages_of(sim: &Simulator, guild: u64, user: u64) -> Option<String> {
    sim.invoke(Invocation::new(guild, user, "stats")).await.expect("answer").field("Messages")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_then_restart_resumes_and_counts_exactly_once() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let guild = sim.add_guild("Restart");
    let ann = sim.add_user("ann", None, false);
    sim.add_member(guild, ann, sim.now_ms() - 86_400_000).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("tally.db").display());

    let mut bot = spawn_quiet(&sim, &url);
    sim.wait_for_bot(1, WAIT).await.unwrap();
    sim.wait_for_member_request(guild, 1, WAIT).await.unwrap();
    for _ in 0..3 {
        sim.send_message(guild, ann).unwrap();
    }
    assert_eq!(messages_of(&sim, guild, ann).await.as_deref(), Some("3"));

    terminate(&bot);
    let status = tokio::time::timeout(Duration::from_secs(10), bot.wait()).await.expect("stops within 10 s").unwrap();
    assert!(status.success(), "clean exit on SIGTERM: {status:?}");
    assert_eq!(sim.session_starts(), (1, 0));

    // While the bot is away, the session (closed as resumable) buffers events.
    for _ in 0..2 {
        sim.send_message(guild, ann).unwrap();
    }
    let _bot = spawn_quiet(&sim, &url);
    sim.wait_for_bot(1, WAIT).await.unwrap();
    assert_eq!(messages_of(&sim, guild, ann).await.as_deref(), Some("5"));
    assert_eq!(sim.session_starts(), (1, 1), "the restart resumed instead of identifying afresh");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_discord_will_not_resume_is_reported_plainly() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let guild = sim.add_guild("Expired");
    let ann = sim.add_user("ann", None, false);
    sim.add_member(guild, ann, sim.now_ms() - 86_400_000).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("tally.db").display());

    let mut bot = spawn_quiet(&sim, &url);
    sim.wait_for_bot(1, WAIT).await.unwrap();
    sim.send_message(guild, ann).unwrap();
    assert_eq!(messages_of(&sim, guild, ann).await.as_deref(), Some("1"));
    terminate(&bot);
    assert!(bot.wait().await.unwrap().success());

    sim.invalidate_sessions(false); // the stored session expires while Tally is away
    let bot = spawn_bot(&sim, &url, std::process::Stdio::piped());
    sim.wait_for_session_starts(2, 0, WAIT).await.unwrap();
    sim.wait_for_bot(1, WAIT).await.unwrap();
    sim.send_message(guild, ann).unwrap();
    assert_eq!(messages_of(&sim, guild, ann).await.as_deref(), Some("2"));
    terminate(&bot);
    let output = bot.wait_with_output().await.unwrap();
    assert!(output.status.success());
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(log.contains("could not resume the previous gateway session"), "{log}");
    assert!(log.contains("cannot be recovered"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_refuses_writes_for_good_stops_the_bot_and_loses_nothing() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let guild = sim.add_guild("Broken");
    let ann = sim.add_user("ann", None, false);
    sim.add_member(guild, ann, sim.now_ms() - 86_400_000).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tally.db");
    let url = format!("sqlite://{}", path.display());

    let bot = spawn_bot(&sim, &url, std::process::Stdio::piped());
    sim.wait_for_bot(1, WAIT).await.unwrap();
    sim.send_message(guild, ann).unwrap();
    assert_eq!(messages_of(&sim, guild, ann).await.as_deref(), Some("1"));

    // Every write to members now fails the same way, however often it is tried.
    let db = rusqlite::Connection::open(&path).unwrap();
    db.execute_batch(
        "CREATE TRIGGER refuse_insert BEFORE INSERT ON members BEGIN SELECT RAISE(ABORT, 'refused'); END;
         CREATE TRIGGER refuse_update BEFORE UPDATE ON members BEGIN SELECT RAISE(ABORT, 'refused'); END;",
    )
    .unwrap();
    sim.send_message(guild, ann).unwrap();
    let output = tokio::time::timeout(WAIT, bot.wait_with_output()).await.expect("the bot stops").unwrap();
    assert_eq!(output.status.code(), Some(1), "a database that cannot store events is an error");
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(log.contains("retrying will not help"), "{log}");

    // Fixed, and started again: the gateway replays the message that was never committed.
    db.execute_batch("DROP TRIGGER refuse_insert; DROP TRIGGER refuse_update;").unwrap();
    let bot = spawn_quiet(&sim, &url);
    sim.wait_for_session_starts(1, 1, WAIT).await.unwrap();
    sim.wait_for_bot(1, WAIT).await.unwrap();
    assert_eq!(messages_of(&sim, guild, ann).await.as_deref(), Some("2"));
    terminate(&bot);
}
