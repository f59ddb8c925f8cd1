//! Shared set-up for end-to-end tests: a simulator, a server with members,
//! and the real bot connected to it over real sockets, on a fresh SQLite
//! file (or a fresh database on the test MongoDB server).

#![allow(dead_code)]

pub mod http;

use std::time::Duration;

use discord_sim::{InteractionReply, Invocation, SimConfig, Simulator};
use tally::bot::Bot;
use tally::config::BotConfig;
use tally::transfer::export::Record;

/// Generous bound for waits that normally take milliseconds.
pub const WAIT: Duration = Duration::from_secs(30);

pub struct Harness {
    pub sim: Simulator,
    pub guild: u64,
    pub members: Vec<u64>,
    pub bot: Option<Bot>,
    pub dir: tempfile::TempDir,
    /// The MongoDB database the bot uses, when not SQLite.
    pub mongo: Option<tally::store::mongo::scratch::ScratchDatabase>,
    /// The PostgreSQL database the bot uses, when not SQLite.
    pub postgres: Option<tally::store::postgres::scratch::ScratchDatabase>,
}

impl Harness {
    /// A server with `members` humans who joined `i + 1` days before the
    /// simulator's clock, and the bot running against it.
    pub async fn start(members: usize) -> Self {
        Self::start_with(SimConfig::default(), members).await
    }

    /// As [`Harness::start`], with the simulator set up as given.
    pub async fn start_with(config: SimConfig, members: usize) -> Self {
        Self::start_on(config, members, None).await
    }

    /// As [`Harness::start`], on a fresh database of the test MongoDB server.
    pub async fn start_on_mongo(members: usize) -> Self {
        Self::start_on(SimConfig::default(), members, Some(tally::store::mongo::scratch::ScratchDatabase::create()))
            .await
    }

    /// As [`Harness::start`], on a fresh database of the test PostgreSQL server.
    pub async fn start_on_postgres(members: usize) -> Self {
        Self::start_on_postgres_with(SimConfig::default(), members).await
    }

    /// As [`Harness::start_on_postgres`], with the simulator set up as given.
    pub async fn start_on_postgres_with(config: SimConfig, members: usize) -> Self {
        let postgres = tally::store::postgres::scratch::ScratchDatabase::create();
        let mut harness = Self::prepare(config, members, None).await;
        harness.postgres = Some(postgres);
        harness.connect().await;
        harness
    }

    /// As [`Harness::start_with`], on `mongo` when given, SQLite otherwise.
    pub async fn start_on(
        config: SimConfig,
        members: usize,
        mongo: Option<tally::store::mongo::scratch::ScratchDatabase>,
    ) -> Self {
        let mut harness = Self::prepare(config, members, mongo).await;
        harness.connect().await;
        harness
    }

    /// The simulator and its server, with no bot yet.
    async fn prepare(
        config: SimConfig,
        members: usize,
        mongo: Option<tally::store::mongo::scratch::ScratchDatabase>,
    ) -> Self {
        let sim = Simulator::start(config).await.expect("simulator starts");
        let guild = sim.add_guild("Test Server");
        let now = sim.now_ms();
        let members: Vec<u64> = (0..members)
            .map(|i| {
                let user = sim.add_user(&format!("member{i}"), Some(&format!("Member {i}")), false);
                sim.add_member(guild, user, now - (i as u64 + 1) * 86_400_000).unwrap();
                user
            })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        Self { sim, guild, members, bot: None, dir, mongo, postgres: None }
    }

    /// Starts the bot and waits for its first member-list request.
    async fn connect(&mut self) {
        self.start_bot().await;
        self.sim.wait_for_member_request(self.guild, 1, WAIT).await.expect("bot requests the member list");
    }

    pub fn database_url(&self) -> String {
        if let Some(mongo) = &self.mongo {
            return mongo.url().to_owned();
        }
        if let Some(postgres) = &self.postgres {
            return postgres.url().to_owned();
        }
        format!("sqlite://{}", self.dir.path().join("tally.db").display())
    }

    pub async fn start_bot(&mut self) {
        self.start_bot_with(|_| {}).await;
    }

    /// Starts the bot with its configuration changed by `tweak`.
    pub async fn start_bot_with(&mut self, tweak: impl FnOnce(&mut BotConfig)) {
        let mut config =
            BotConfig::from_parts(Some(self.sim.token()), &self.database_url(), &self.sim.api_base()).unwrap();
        config.web_addr = Some("127.0.0.1:0".parse().unwrap());
        config.metrics_addr = Some("127.0.0.1:0".parse().unwrap());
        config.cdn_base = self.sim.cdn_base();
        tweak(&mut config);
        self.bot = Some(Bot::start(config).await.expect("bot starts"));
        self.sim.wait_for_bot(1, WAIT).await.expect("bot connects");
    }

    pub async fn stop_bot(&mut self) {
        if let Some(bot) = self.bot.take() {
            bot.shutdown().await.expect("clean shutdown");
        }
    }

    /// Invokes a command and returns the bot's answer.
    pub async fn invoke(&self, invocation: Invocation) -> InteractionReply {
        self.sim.invoke(invocation).await.expect("the bot answers")
    }

    /// `/stats` for `user`, asked by `user`.
    pub async fn stats(&self, user: u64) -> InteractionReply {
        self.invoke(Invocation::new(self.guild, user, "stats")).await
    }

    /// Waits until everything sent so far is committed: an interaction is
    /// answered only after every event before it is in the database.
    pub async fn settle(&self) {
        settle(&self.sim, self.guild).await;
    }

    /// Runs the real `tally export` binary and parses its JSON.
    pub fn export(&self) -> Vec<Record> {
        export(&self.database_url(), self.guild)
    }

    pub fn record(&self, user: u64) -> Record {
        self.export().into_iter().find(|r| r.user_id == user.to_string()).expect("member exported")
    }
}

/// Waits until everything the simulator sent so far is committed. An answer
/// sent without deferring was ready within 1.5 s, before the bot's 2 s wait
/// for the ledger ran out, so it came after every earlier event committed. A
/// deferred one may not have: ask again.
pub async fn settle(sim: &Simulator, guild: u64) {
    for _ in 0..30 {
        let reply = sim.invoke(Invocation::new(guild, sim.owner_id(), "leaderboard")).await.expect("the bot answers");
        if !reply.deferred {
            return;
        }
    }
    panic!("the bot never caught up");
}

/// Starts the real `tally run` binary against `sim`, logging to `stderr`.
pub fn spawn_bot(sim: &Simulator, database_url: &str, stderr: std::process::Stdio) -> tokio::process::Child {
    spawn_bot_with(sim, database_url, stderr, &[])
}

/// As [`spawn_bot`], with more environment (`TALLY_SHARDS`, say).
pub fn spawn_bot_with(
    sim: &Simulator,
    database_url: &str,
    stderr: std::process::Stdio,
    env: &[(&str, &str)],
) -> tokio::process::Child {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_tally"))
        .arg("run")
        .envs(env.iter().copied())
        .env("DISCORD_TOKEN", sim.token())
        .env("DISCORD_API_BASE", sim.api_base())
        .env("DATABASE_URL", database_url)
        .env("TALLY_WEB_ADDR", "127.0.0.1:0")
        .env("TALLY_METRICS_ADDR", "127.0.0.1:0")
        .env("TALLY_CDN_BASE", sim.cdn_base())
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .stderr(stderr)
        .kill_on_drop(true)
        .spawn()
        .expect("tally starts")
}

/// Sends SIGTERM to a bot process.
pub fn terminate(bot: &tokio::process::Child) {
    signal(bot, "-TERM");
}

/// Sends SIGKILL to a bot process: it dies at once, mid-write or not.
pub fn kill_9(bot: &tokio::process::Child) {
    signal(bot, "-KILL");
}

fn signal(bot: &tokio::process::Child, which: &str) {
    let pid = bot.id().expect("running").to_string();
    assert!(std::process::Command::new("kill").args([which, &pid]).status().unwrap().success());
}

/// Runs the real `tally export` binary on a database and parses its JSON.
pub fn export(database_url: &str, guild: u64) -> Vec<Record> {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tally"))
        .args(["export", "--guild", &guild.to_string(), "--format", "json"])
        .env("DATABASE_URL", database_url)
        .output()
        .expect("tally export runs");
    assert!(output.status.success(), "export failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("export is JSON")
}
