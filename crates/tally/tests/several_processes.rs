//! Several processes, one database (PostgreSQL, then MongoDB): two real
//! `tally run` processes share a four-shard simulator with 100 servers,
//! each running two shards. Under a continuous stream one is killed with
//! SIGKILL and restarted, and the database's connections are cut three
//! times; at the end every member of every server has exactly the messages
//! and XP the script sent, and Discord's identify limit held across both
//! processes.

mod harness;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use discord_sim::{SimConfig, Simulator};
use harness::{kill_9, settle, spawn_bot_with, terminate, WAIT};
use tally::dice::Dice as Rng;
use tally::domain::shards::shard_of;
use tally::domain::XpSettings;
use tally::store::mongo::scratch::FailPoint;
use tally::store::{mongo, postgres};

const SHARDS: u32 = 4;
const SERVERS: usize = 100;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Expected {
    messages: u64,
    xp: u64,
    last_xp_at: Option<i64>,
}

/// Messages sent, and what each (server, member) should end with.
/// Steps of the script the stream sends at the least.
const STREAMED: u64 = 1_000;

struct Script {
    rng: Rng,
    members: Vec<(u64, u64)>,
    expected: HashMap<(u64, u64), Expected>,
    sent: u64,
}

impl Script {
    fn step(&mut self, sim: &Simulator) {
        sim.advance(Duration::from_secs(3));
        let (guild, author) = self.members[self.rng.below(self.members.len())];
        let id = sim.send_message(guild, author).expect("message sent");
        let at = (id >> 22) as i64 + 1_420_070_400_000;
        let expected = self.expected.entry((guild, author)).or_default();
        expected.messages += 1;
        let settings = XpSettings::default();
        if settings.earns_xp(expected.last_xp_at, at) {
            expected.xp += u64::from(settings.message_xp(id));
            expected.last_xp_at = Some(at);
        }
        self.sent += 1;
    }
}

/// The database both processes share, dropped afterwards.
enum Shared {
    Postgres(Box<postgres::scratch::ScratchDatabase>),
    /// With the application name the bots connect under.
    Mongo(mongo::scratch::ScratchDatabase, String),
}

impl Shared {
    fn url(&self) -> String {
        match self {
            Self::Postgres(scratch) => scratch.url().to_owned(),
            Self::Mongo(scratch, _) => scratch.url().to_owned(),
        }
    }

    /// Events sent per pause, and the pause (ms): the MongoDB-compatible
    /// test server commits about a thousand upserts a second, and a stream
    /// faster than it would only pile up replays (as in `kill_9`).
    fn pace(&self) -> (usize, u64) {
        match self {
            Self::Postgres(_) => (4, 1),
            Self::Mongo(..) => (1, 3),
        }
    }

    /// `(shard, sequence)` of every stored position, read as committed,
    /// on a connection no cut touches.
    fn stored_positions(&self) -> Vec<(u32, u64)> {
        match self {
            Self::Postgres(scratch) => {
                let mut client = ::postgres::Client::connect(scratch.url(), ::postgres::NoTls).unwrap();
                let rows = client.query("SELECT shard_id, sequence FROM shard_positions", &[]).unwrap();
                rows.iter().map(|r| (r.get::<_, i32>(0) as u32, r.get::<_, i64>(1) as u64)).collect()
            }
            Self::Mongo(scratch, _) => {
                let reply = scratch.command(r#"{"find": "shard_positions", "filter": {}}"#);
                let batch = reply["cursor"]["firstBatch"].as_array().cloned().unwrap_or_default();
                batch
                    .iter()
                    .map(|d| (d["shard_id"].as_u64().unwrap() as u32, d["sequence"].as_u64().unwrap()))
                    .collect()
            }
        }
    }

    /// How long a process restarted after SIGKILL may take to resume: on
    /// MongoDB a transaction the dead process left open can hold its
    /// positions until the server's transaction lifetime (60 s) ends it,
    /// should ending its sessions at start not reach it first.
    fn restart_wait(&self) -> Duration {
        match self {
            Self::Postgres(_) => WAIT,
            Self::Mongo(..) => Duration::from_secs(90),
        }
    }

    /// Cuts the bots' connections, as a database restart or failover would:
    /// on PostgreSQL every connection now open; on MongoDB the next three
    /// commands of either bot that read or write lose their connection.
    /// The fail point stays armed until what this returns is dropped.
    fn cut_connections(&self) -> Option<FailPoint> {
        match self {
            Self::Postgres(scratch) => {
                scratch.execute(&format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                     WHERE datname = '{}' AND pid <> pg_backend_pid()",
                    scratch.name()
                ));
                None
            }
            Self::Mongo(scratch, app) => Some(scratch.fail_commands(
                app,
                3,
                serde_json::json!({ "failCommands": ["find", "bulkWrite", "update", "commitTransaction"],
                    "closeConnection": true }),
            )),
        }
    }
}

/// Waits until the database holds a committed position for each of `shards`.
/// It looks once a second with a plain read of the stored positions, on a
/// connection of its own that no cut touches: Tally's own read of them is a
/// fence that writes every position, which would meet the bots' commits.
async fn committed_on(scratch: &Shared, shards: &[u32]) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let stored = tokio::task::block_in_place(|| scratch.stored_positions());
        if shards.iter().all(|s| stored.iter().any(|&(shard, sequence)| shard == *s && sequence > 0)) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "shards {shards:?} never committed: {stored:?}");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_four_shards_through_kills_and_a_lost_database() {
    two_processes(Shared::Postgres(Box::new(postgres::scratch::ScratchDatabase::create()))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_one_mongodb_database() {
    let app = format!("tally-two-{}", std::process::id());
    two_processes(Shared::Mongo(mongo::scratch::ScratchDatabase::create_for_app(&app), app)).await;
}

async fn two_processes(scratch: Shared) {
    let url = scratch.url();
    let config = SimConfig { shards: SHARDS, max_concurrency: 2, ..SimConfig::default() };
    let sim = Arc::new(Simulator::start(config).await.unwrap());
    let mut members = Vec::new();
    let mut guilds = Vec::new();
    for g in 0..SERVERS {
        let guild = sim.add_guild(&format!("Server {g}"));
        guilds.push(guild);
        for m in 0..4 {
            let user = sim.add_user(&format!("s{g}m{m}"), None, false);
            sim.add_member(guild, user, sim.now_ms() - 86_400_000).unwrap();
            members.push((guild, user));
        }
    }
    for shard in 0..SHARDS {
        assert!(guilds.iter().any(|g| shard_of(*g, SHARDS) == shard), "every shard has servers");
    }

    // TALLY_SHARED_LOG=1 shows what the two bots log.
    let quiet = || {
        if std::env::var_os("TALLY_SHARED_LOG").is_some() {
            std::process::Stdio::inherit()
        } else {
            std::process::Stdio::null()
        }
    };
    let first = [("TALLY_SHARDS", "0-1"), ("TALLY_TOTAL_SHARDS", "4")];
    let second = [("TALLY_SHARDS", "2-3"), ("TALLY_TOTAL_SHARDS", "4")];
    let mut a = spawn_bot_with(&sim, &url, quiet(), &first);
    let b = spawn_bot_with(&sim, &url, quiet(), &second);
    sim.wait_for_bot(SHARDS, Duration::from_secs(60)).await.unwrap();
    for guild in &guilds {
        sim.wait_for_member_request(*guild, 1, WAIT).await.unwrap();
    }

    let streaming = Arc::new(AtomicBool::new(true));
    let stream = {
        let (sim, streaming) = (Arc::clone(&sim), Arc::clone(&streaming));
        let mut script = Script { rng: Rng(0x5A4D), members, expected: HashMap::new(), sent: 0 };
        let (steps, tick_ms) = scratch.pace();
        // At least STREAMED steps, however quickly the kills and cuts go by.
        tokio::spawn(async move {
            while streaming.load(Ordering::Relaxed) || script.sent < STREAMED {
                for _ in 0..steps {
                    script.step(&sim);
                }
                tokio::time::sleep(Duration::from_millis(tick_ms)).await;
            }
            script
        })
    };
    let pause = || tokio::time::sleep(Duration::from_millis(700));
    pause().await;
    let cut = scratch.cut_connections();
    // The kill must find a session to resume on each of its shards: on a
    // slow server (the MongoDB test server) wait for its first commits.
    committed_on(&scratch, &[0, 1]).await;
    kill_9(&a);
    assert!(!a.wait().await.unwrap().success());
    pause().await;
    let resumes = sim.session_starts().1;
    a = spawn_bot_with(&sim, &url, quiet(), &first);
    sim.wait_for_session_starts(SHARDS as u64, resumes + 2, scratch.restart_wait()).await.unwrap();
    pause().await;
    drop(cut);
    let cut = scratch.cut_connections();
    pause().await;
    drop(cut);
    let cut = scratch.cut_connections();
    pause().await;
    drop(cut);
    streaming.store(false, Ordering::Relaxed);
    let script = stream.await.unwrap();

    // One server per shard: its answer comes after everything before it on that shard is committed.
    for shard in 0..SHARDS {
        let guild = guilds.iter().copied().find(|g| shard_of(*g, SHARDS) == shard).unwrap();
        settle(&sim, guild).await;
    }
    for bot in [&a, &b] {
        terminate(bot);
    }
    assert!(a.wait().await.unwrap().success() && b.wait_with_output().await.unwrap().status.success());
    assert_eq!(sim.session_starts().0, SHARDS as u64, "one IDENTIFY per shard: the killed process resumed");
    assert_eq!(sim.misrouted_member_requests(), 0, "each shard asked only for its own servers' members");
    assert_eq!(sim.gateway_rate_limited(), 0, "no shard sent more than Discord allows");

    // Discord's identify limit, across both processes: one per bucket every 5 s.
    let log = sim.identify_log();
    for bucket in 0..2 {
        let times: Vec<_> = log.iter().filter(|(shard, _)| shard % 2 == bucket).map(|(_, at)| *at).collect();
        for pair in times.windows(2) {
            let gap = pair[1] - pair[0];
            assert!(gap >= Duration::from_millis(4_900), "bucket {bucket}: two IDENTIFYs {gap:?} apart");
        }
    }

    let checked = tokio::task::block_in_place(|| {
        let db = tally::store::Database::from_url(&url).unwrap().open_reader().unwrap();
        let mut checked = 0;
        for guild in &guilds {
            for member in db.all_members(*guild).unwrap() {
                let expected = script.expected.get(&(*guild, member.user_id)).copied().unwrap_or_default();
                let what = format!("member {} of server {guild} after {} messages", member.user_id, script.sent);
                assert_eq!(member.messages, expected.messages, "messages of {what}");
                assert_eq!(member.xp, expected.xp, "xp of {what}");
                checked += usize::from(script.members.contains(&(*guild, member.user_id)));
            }
        }
        checked
    });
    assert_eq!(checked, SERVERS * 4, "every scripted member of every server stored");
    let exported: u64 = harness::export(&url, guilds[0]).iter().map(|r| r.messages).sum();
    let sent: u64 = script.expected.iter().filter(|((g, _), _)| *g == guilds[0]).map(|(_, e)| e.messages).sum();
    assert_eq!(exported, sent, "tally export agrees");
}
