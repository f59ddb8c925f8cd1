//! The real binary, stopped with SIGTERM and started again, resumes its
//! gateway session from the database: events sent while it was down are
//! replayed by the gateway and counted exactly once.

use std::time::Duration;

use discord_sim::{Invocation, SimConfig, Simulator};

const WAIT: Duration = Duration::from_secs(30);

fn spawn_bot(sim: &Simulator, database_url: &str) -> tokio::process::Child {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_tally"))
        .arg("run")
        .env("DISCORD_TOKEN", sim.token())
        .env("DISCORD_API_BASE", sim.api_base())
        .env("DATABASE_URL", database_url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("tally starts")
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

    let mut bot = spawn_bot(&sim, &url);
    sim.wait_for_bot(1, WAIT).await.unwrap();
    sim.wait_for_member_request(guild, 1, WAIT).await.unwrap();
    for _ in 0..3 {
        sim.send_message(guild, ann).unwrap();
    }
    assert_eq!(messages_of(&sim, guild, ann).await.as_deref(), Some("3"));

    let pid = bot.id().expect("running").to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = tokio::time::timeout(Duration::from_secs(10), bot.wait()).await.expect("stops within 10 s").unwrap();
    assert!(status.success(), "clean exit on SIGTERM: {status:?}");
    assert_eq!(sim.session_starts(), (1, 0));

    // While the bot is away, the session (closed as resumable) buffers events.
    for _ in 0..2 {
        sim.send_message(guild, ann).unwrap();
    }
    let _bot = spawn_bot(&sim, &url);
    sim.wait_for_bot(1, WAIT).await.unwrap();
    assert_eq!(messages_of(&sim, guild, ann).await.as_deref(), Some("5"));
    assert_eq!(sim.session_starts(), (1, 1), "the restart resumed instead of identifying afresh");
}
