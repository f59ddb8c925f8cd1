//! Exactly once across a crash at the worst moment: Discord has accepted a
//! level-up announcement, and the bot dies (SIGKILL) before the answer
//! reaches it, so it never marks the announcement sent. The restarted bot
//! sends it again with the same nonce (and `enforce_nonce`), and Discord
//! answers with the message it already has: one post, not two.

mod harness;

use std::time::Duration;

use discord_sim::{Invocation, RestFault, SimConfig, Simulator};
use harness::{kill_9, settle, spawn_bot, terminate, WAIT};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_level_up_accepted_just_before_a_crash_is_posted_once() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let guild = sim.add_guild("Crash Server");
    let ann = sim.add_user("ann", None, false);
    sim.add_member(guild, ann, sim.now_ms() - 86_400_000).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("tally.db").display());

    let mut bot = spawn_bot(&sim, &url, std::process::Stdio::null());
    sim.wait_for_bot(1, WAIT).await.unwrap();
    // One message is a level-up.
    let xp = Invocation::new(guild, sim.owner_id(), "config").subcommand("xp");
    sim.invoke(xp.option("min", 100).option("max", 100).option("cooldown", 0)).await.unwrap();
    settle(&sim, guild).await;

    // Discord takes the announcement at once, but its answer is held back
    // until long after the bot is dead.
    let channel = sim.channel_of(guild).unwrap();
    let path = format!("channels/{channel}/messages");
    sim.inject_rest_faults(&path, [RestFault::LateAnswer(Duration::from_secs(600))]);
    sim.send_message(guild, ann).unwrap();
    let posted = sim.wait_for_posted(1, WAIT).await.unwrap();
    assert!(posted[0]["content"].as_str().unwrap().contains("level 1"), "{}", posted[0]);
    kill_9(&bot);
    assert!(!bot.wait().await.unwrap().success());

    // The next process finds it unmarked and sends it again, same nonce.
    bot = spawn_bot(&sim, &url, std::process::Stdio::null());
    let sends = sim.wait_for_requests("POST", &path, 2, WAIT).await.unwrap();
    let nonce = |i: usize| sends[i].body["nonce"].clone();
    assert!(nonce(0).is_string() && nonce(0) == nonce(1), "the same nonce both times: {:?}", (nonce(0), nonce(1)));
    assert_eq!(sends[1].body["enforce_nonce"], true);
    settle(&sim, guild).await;
    assert_eq!(sim.posted_messages().len(), 1, "Discord kept one message: {:?}", sim.posted_messages());
    terminate(&bot);
    assert!(bot.wait().await.unwrap().success());
}
