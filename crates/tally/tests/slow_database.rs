//! When the database is slow, answers are deferred and edited in, and events
//! wait in the ledger until they can be committed: nothing is lost.

mod harness;

use std::time::Duration;

use discord_sim::{Invocation, SimConfig, Simulator};
use harness::{Harness, WAIT};
use tally::bot::Bot;
use tally::config::BotConfig;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_database_defers_answers_and_loses_nothing() {
    let h = Harness::start(1).await;
    let ann = h.members[0];
    h.settle().await; // the member list is committed
    let path = h.dir.path().join("tally.db");
    let blocker = rusqlite::Connection::open(&path).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap(); // another writer holds the lock

    h.sim.send_message(h.guild, ann).unwrap();
    let reply = h.stats(ann).await;
    assert!(reply.deferred, "a slow answer is deferred within Discord's 3 seconds");
    assert!(reply.ack_after < Duration::from_secs(3), "{:?}", reply.ack_after);
    assert_eq!(reply.field("Messages").as_deref(), Some("0"), "the message is not committed yet");

    blocker.execute_batch("COMMIT").unwrap();
    assert_eq!(h.stats(ann).await.field("Messages").as_deref(), Some("1"), "committed once the lock is gone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_shard_is_connected_and_counted() {
    let sim = Simulator::start(SimConfig { shards: 2, ..SimConfig::default() }).await.unwrap();
    // Find two servers that land on different shards: (id >> 22) % 2.
    let mut guilds = Vec::new();
    while guilds.len() < 2 {
        let g = sim.add_guild("Sharded");
        if guilds.iter().all(|&(_, shard)| shard != (g >> 22) % 2) {
            guilds.push((g, (g >> 22) % 2));
        }
    }
    let ann = sim.add_user("ann", None, false);
    for &(g, _) in &guilds {
        sim.add_member(g, ann, sim.now_ms() - 1000).unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let bot = Bot::start(BotConfig::from_parts(Some(sim.token()), &url, &sim.api_base()).unwrap()).await.unwrap();
    sim.wait_for_bot(2, WAIT).await.unwrap();
    for (i, &(g, _)) in guilds.iter().enumerate() {
        sim.wait_for_member_request(g, 1, WAIT).await.unwrap();
        for _ in 0..=i {
            sim.send_message(g, ann).unwrap();
            sim.advance(Duration::from_secs(60));
        }
    }
    for (i, &(g, _)) in guilds.iter().enumerate() {
        let reply = sim.invoke(Invocation::new(g, ann, "stats")).await.unwrap();
        assert_eq!(reply.field("Messages"), Some((i + 1).to_string()), "server {g}");
    }
    let positions = bot.context().ledger.committed();
    assert_eq!(positions.len(), 2, "both shards committed their positions");
    bot.shutdown().await.unwrap();
}
