//! End-to-end benchmarks: the real `tally` binary (release build) against the
//! simulator over real sockets, on SQLite in a temporary directory and on
//! PostgreSQL over loopback (a scratch database on the server
//! `TALLY_TEST_POSTGRES` names, 127.0.0.1:5432 by default), in the same run;
//! on MongoDB when asked (`TALLY_BENCH_BACKENDS=sqlite,mongo`, the server
//! `TALLY_TEST_MONGODB` names, which `scripts/test` starts), at a small scale:
//! the MongoDB-compatible server these machines run is far slower than mongod.
//!
//! ```sh
//! cargo bench -p tally --bench e2e                          # every figure in BENCHMARKS.md
//! TALLY_BENCH_SCALE=0.1 cargo bench -p tally --bench e2e    # a quick run at a tenth of the size
//! TALLY_BENCH_BACKENDS=postgres cargo bench -p tally --bench e2e   # one backend only
//! TALLY_BENCH_BACKENDS=sqlite,mongo TALLY_BENCH_SCALE=0.01 cargo bench -p tally --bench e2e
//! ```
//!
//! Ingest: with the bot stopped, the simulator queues N full MESSAGE_CREATE
//! dispatches (author and member objects, as Discord sends them) in the bot's
//! gateway session. The bot starts, resumes, and the simulator replays them
//! over the WebSocket (zlib-stream, as with Discord). The figure is events per
//! second from the first replayed event to the database holding the last
//! one's sequence. The bot's own CPU time over that span gives events per
//! CPU-second, the figure for one core.
//!
//! Commands run with the bot in this process, to read its own timings: from
//! interaction received to answer accepted by the simulator's REST API.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use discord_sim::{Invocation, SimConfig, Simulator};
use tally::bot::Bot;
use tally::config::BotConfig;
use tally::dice::Dice as Rng;
use tally::discord::timings::quantile;

#[path = "e2e/db.rs"]
mod db;
use db::{Backend, BenchDb};

const WAIT: Duration = Duration::from_secs(1800);

fn main() {
    let scale: f64 = std::env::var("TALLY_BENCH_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1.0);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(run(scale));
}

/// Zipf's law over `n` ranks with exponent `s`: rank k drawn with weight 1/k^s.
struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    fn new(n: usize, s: f64) -> Self {
        let mut cdf = Vec::with_capacity(n);
        let mut total = 0.0;
        for k in 1..=n {
            total += 1.0 / (k as f64).powf(s);
            cdf.push(total);
        }
        cdf.iter_mut().for_each(|c| *c /= total);
        Self { cdf }
    }

    fn sample(&self, rng: &mut Rng) -> usize {
        let u = rng.unit();
        self.cdf.partition_point(|&c| c < u).min(self.cdf.len() - 1)
    }
}

/// One server of the simulated world.
struct Server {
    id: u64,
    members: Vec<u64>,
}

async fn run(scale: f64) {
    let members = ((1_000_000.0 * scale) as usize).max(1000);
    let events = ((1_000_000.0 * scale) as usize).max(1000);
    let backends: Vec<Backend> = std::env::var("TALLY_BENCH_BACKENDS")
        .unwrap_or_else(|_| "sqlite,postgres".into())
        .split(',')
        .map(|b| b.trim().parse().expect("TALLY_BENCH_BACKENDS lists sqlite, postgres and/or mongo"))
        .collect();
    println!("# Tally end-to-end benchmarks ({members} members, {events} events a run)\n");
    let mut sqlite_file = None;
    let with_mongo = backends.contains(&Backend::Mongo);
    for backend in backends {
        let BackendRun { rows, baseline, commands, ready_after, rss, sizes, db } =
            run_backend(backend, members, events).await;
        println!("## {backend}: ingest\n");
        println!("| stream | events | wall time | events/s | bot CPU | events per CPU-second | vs baseline |");
        println!("|---|---|---|---|---|---|---|");
        for (name, r) in &rows {
            println!(
                "| {name} | {} | {:.2?} | {:.0} | {:.2?} | {:.0} | {:.1}× |",
                r.events,
                r.wall,
                r.per_second(),
                r.cpu,
                r.per_cpu_second(),
                r.per_second() / baseline.per_second()
            );
        }
        println!("\n## {backend}: commands and web at {members} members\n");
        println!("Commands inside the bot (interaction received → answer accepted); web pages over HTTP from this process.\n");
        println!("| request | answers | p50 | p99 |");
        println!("|---|---|---|---|");
        for (name, mut samples) in commands {
            let (p50, p99) = (quantile(&mut samples, 0.5), quantile(&mut samples, 0.99));
            println!("| {name} | {} | {p50:.2?} | {p99:.2?} |", samples.len());
        }
        println!("\n## {backend}: memory, start-up, size\n");
        println!("- peak RSS of the bot process: {rss:.0} MB");
        println!("- start to gateway session resumed: {ready_after:.2?}");
        let per_million = |bytes: u64| bytes as f64 / members as f64 * 1e6 / 1_048_576.0;
        println!(
            "- database size with {members} members listed: {:.0} MB ({:.0} MB per million members)",
            sizes.0 as f64 / 1_048_576.0,
            per_million(sizes.0)
        );
        println!(
            "- database size after every run above (days, reactions, the 1,000-server world): {:.0} MB",
            sizes.1 as f64 / 1_048_576.0
        );
        println!();
        if backend == Backend::Sqlite {
            sqlite_file = Some(db);
        }
    }
    if let Some(source) = sqlite_file {
        println!("## tally copy (the one-server database above)\n");
        println!("| direction | rows | wall time | rows/s |");
        println!("|---|---|---|---|");
        let (middle, back) = (BenchDb::new(Backend::Postgres), BenchDb::new(Backend::Sqlite));
        let mut legs = vec![("SQLite → PostgreSQL", &source, &middle), ("PostgreSQL → SQLite", &middle, &back)];
        let mongo = with_mongo.then(|| (BenchDb::new(Backend::Mongo), BenchDb::new(Backend::Sqlite)));
        if let Some((mongo, back_again)) = &mongo {
            legs.push(("SQLite → MongoDB (secantusdb)", &source, mongo));
            legs.push(("MongoDB (secantusdb) → SQLite", mongo, back_again));
        }
        for (name, from, to) in legs {
            let (rows, wall) = tokio::task::block_in_place(|| copy(from.url(), to.url()));
            println!("| {name} | {rows} | {wall:.2?} | {:.0} |", rows as f64 / wall.as_secs_f64());
        }
        println!();
    }

    println!("## Rank card (one core, in this process)\n");
    println!("| card | renders | p50 | p99 |");
    println!("|---|---|---|---|");
    for (name, mut samples) in rank_cards() {
        let (p50, p99) = (quantile(&mut samples, 0.5), quantile(&mut samples, 0.99));
        println!("| {name} | {} | {p50:.2?} | {p99:.2?} |", samples.len());
    }
}

/// What one backend's part of the run measured.
struct BackendRun {
    /// Each ingest stream by name.
    rows: Vec<(&'static str, Ingest)>,
    /// What the ratios are against.
    baseline: Ingest,
    /// Latency samples by request.
    commands: Vec<(String, Vec<Duration>)>,
    ready_after: Duration,
    rss: f64,
    /// Bytes with the members listed, and after every stream.
    sizes: (u64, u64),
    /// The one-server database, for `tally copy`.
    db: BenchDb,
}

/// Every ingest stream, the commands and the sizes on one backend.
async fn run_backend(backend: Backend, members: usize, events: usize) -> BackendRun {
    let mut rows = Vec::new();
    // One server with a million members.
    let sim = Simulator::start(SimConfig { replay_buffer: events * 2, ..SimConfig::default() }).await.unwrap();
    let big = world(&sim, 1, members);
    let db = BenchDb::new(backend);
    let took = first_start(&sim, &db, &big).await;
    let listed_size = db.size_bytes();
    println!("{backend} set-up: {members} members listed and stored in {took:.1?}\n");

    let zipf = Zipf::new(members, 1.1);
    let mut rng = Rng(1);
    let server = &big[0];
    let zipf_run =
        ingest(&sim, &db, events, None, || message(&sim, server.id, server.members[zipf.sample(&mut rng)])).await;
    rows.push(("one server, 1M members, Zipf s=1.1", zipf_run.clone()));

    let baseline_events = (events / 10).max(1000);
    let baseline = match backend {
        // The same binary, one transaction per event.
        Backend::Sqlite => {
            let run = ingest(&sim, &db, baseline_events, Some("1"), || {
                message(&sim, server.id, server.members[zipf.sample(&mut rng)])
            })
            .await;
            rows.push(("baseline: same, one transaction per event", run.clone()));
            run
        }
        // What most bots do: one upsert per message, one round trip each.
        Backend::Postgres => {
            let mut picks = Rng(2);
            let ids: Vec<u64> = (0..baseline_events).map(|_| server.members[zipf.sample(&mut picks)]).collect();
            let guild = server.id;
            let run = tokio::task::spawn_blocking(move || db::one_round_trip_per_event(guild, &ids)).await.unwrap();
            rows.push(("baseline: one upsert per message (one round trip each), Zipf", run.clone()));
            run
        }
        Backend::Mongo => {
            let mut picks = Rng(2);
            let ids: Vec<u64> = (0..baseline_events).map(|_| server.members[zipf.sample(&mut picks)]).collect();
            let guild = server.id;
            let run =
                tokio::task::spawn_blocking(move || db::one_round_trip_per_event_mongo(guild, &ids)).await.unwrap();
            rows.push(("baseline: one upsert per message (one round trip each), Zipf", run.clone()));
            run
        }
    };

    let mut mixed = Mixed::new(server);
    let mixed_run = ingest(&sim, &db, events, None, || mixed.step(&sim, &zipf, &mut rng)).await;
    rows.push(("mixed: messages, reactions, joins, leaves", mixed_run));

    let worst =
        ingest(&sim, &db, events, None, || message(&sim, server.id, server.members[rng.below(server.members.len())]))
            .await;
    rows.push(("worst case: every event a random member", worst));

    let (ready_after, rss) = (zipf_run.ready_after, zipf_run.peak_rss_mb);
    let commands = commands(&sim, &db, server, &zipf).await;
    drop(sim);

    // A thousand servers of a thousand members.
    let sim = Simulator::start(SimConfig { replay_buffer: events * 2, ..SimConfig::default() }).await.unwrap();
    let servers = world(&sim, 1000, (members / 1000).max(10));
    let many_db = BenchDb::new(backend);
    first_start(&sim, &many_db, &[]).await;
    // Member lists of a thousand servers come slowly (the gateway allows 120
    // requests a minute), so one message from each member introduces them
    // all first, untimed: the timed stream then meets known members, as in
    // the one-server shape.
    let everyone: Vec<(u64, u64)> = servers.iter().flat_map(|s| s.members.iter().map(|m| (s.id, *m))).collect();
    let mut next = everyone.iter();
    ingest(&sim, &many_db, everyone.len(), None, || next.next().is_some_and(|&(g, m)| message(&sim, g, m))).await;
    let zipf = Zipf::new(servers[0].members.len(), 1.1);
    let many = ingest(&sim, &many_db, events, None, || {
        let server = &servers[rng.below(servers.len())];
        message(&sim, server.id, server.members[zipf.sample(&mut rng)])
    })
    .await;
    rows.push(("1,000 servers × 1,000 members, Zipf within each", many));
    let final_size = db.size_bytes();
    BackendRun { rows, baseline, commands, ready_after, rss, sizes: (listed_size, final_size), db }
}

/// Runs `tally copy` and reads the rows it moved from its report.
fn copy(from: &str, to: &str) -> (u64, Duration) {
    let started = Instant::now();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tally"))
        .args(["copy", "--from", from, "--to", to])
        .env("RUST_LOG", "warn")
        .output()
        .expect("tally copy runs");
    let wall = started.elapsed();
    assert!(output.status.success(), "tally copy failed: {}", String::from_utf8_lossy(&output.stderr));
    let report = String::from_utf8_lossy(&output.stdout);
    let line = report.lines().find(|l| l.starts_with("copied ")).expect("a summary line");
    let rows = line.split_whitespace().nth(1).unwrap().replace(',', "").parse().unwrap();
    (rows, wall)
}

/// Times drawing rank cards, with initials and with an avatar picture.
fn rank_cards() -> Vec<(&'static str, Vec<Duration>)> {
    use tally::card::{render, CardData, DEFAULT_ACCENT};
    let card = |i: u64| CardData {
        user_id: 80_351_110_224_678_912 + i,
        name: format!("Member {i}"),
        username: format!("member{i}"),
        xp: 1_000 + i * 37,
        curve: tally::domain::Curve::MEE6,
        rank: Some(i + 1),
        messages: 100 + i,
        reactions_given: i,
        reactions_received: 2 * i,
        accent: DEFAULT_ACCENT,
        days: (0..30).map(|d| (i + d) % 9).collect(),
    };
    let avatar = discord_sim::cdn::avatar_png(80_351_110_224_678_912);
    let _ = render(&card(0), None); // loads the fonts once
    let mut out = Vec::new();
    for (name, picture) in [("initials", None), ("with avatar (128×128 PNG)", Some(avatar.as_slice()))] {
        let samples = (0..300)
            .map(|i| {
                let started = Instant::now();
                let png = render(&card(i), picture).expect("a card");
                std::hint::black_box(png);
                started.elapsed()
            })
            .collect();
        out.push((name, samples));
    }
    out
}

/// One message, a millisecond of virtual time after the last: a million
/// messages span about 17 minutes, so active members earn XP again and
/// again (the cooldown is a minute) and the leaderboard keeps moving.
fn message(sim: &Simulator, guild: u64, member: u64) -> bool {
    sim.advance(Duration::from_millis(1));
    sim.send_message(guild, member).is_ok()
}

/// Adds `servers` servers of `members` members each.
fn world(sim: &Simulator, servers: usize, members: usize) -> Vec<Server> {
    let now = sim.now_ms();
    let mut n = 0u64;
    (0..servers)
        .map(|s| {
            let id = sim.add_guild(&format!("Server {s}"));
            let members = (0..members)
                .map(|_| {
                    n += 1;
                    let user = sim.add_user(&format!("member{n}"), Some(&format!("Member {n}")), false);
                    sim.add_member(id, user, now - 86_400_000 * (1 + n % 700)).unwrap();
                    user
                })
                .collect();
            Server { id, members }
        })
        .collect()
}

fn spawn_bot(sim: &Simulator, url: &str, batch: Option<&str>) -> tokio::process::Child {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_tally"));
    command
        .arg("run")
        .env("DISCORD_TOKEN", sim.token())
        .env("DISCORD_API_BASE", sim.api_base())
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .env("TALLY_WEB_ADDR", "off")
        .env("TALLY_METRICS_ADDR", "off")
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true);
    if let Some(batch) = batch {
        command.env("TALLY_LEDGER_MAX_BATCH", batch);
    }
    command.spawn().expect("tally starts")
}

async fn stop_bot(bot: tokio::process::Child) {
    let pid = bot.id().unwrap().to_string();
    std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let output = bot.wait_with_output().await.unwrap();
    assert!(output.status.success(), "the bot stopped cleanly");
}

async fn wait_committed(db: &BenchDb, sequence: u64, every: Duration) -> Instant {
    let deadline = Instant::now() + WAIT;
    loop {
        if tokio::task::block_in_place(|| db.committed()) >= sequence {
            return Instant::now();
        }
        assert!(Instant::now() < deadline, "the bot never committed sequence {sequence}");
        tokio::time::sleep(every).await;
    }
}

/// First start: the bot identifies, lists every member (chunks for the big
/// server), stores them, and stops with a resumable session.
async fn first_start(sim: &Simulator, db: &BenchDb, chunked: &[Server]) -> Duration {
    let started = Instant::now();
    let bot = spawn_bot(sim, db.url(), None);
    sim.wait_for_bot(1, WAIT).await.unwrap();
    for server in chunked {
        sim.wait_for_member_request(server.id, 1, WAIT).await.unwrap();
    }
    let target = sim.last_sequence(0).unwrap();
    wait_committed(db, target, Duration::from_millis(50)).await;
    let took = started.elapsed();
    stop_bot(bot).await;
    took
}

/// What one ingest run measured.
#[derive(Debug, Clone)]
pub struct Ingest {
    pub events: usize,
    pub wall: Duration,
    pub cpu: Duration,
    pub peak_rss_mb: f64,
    pub ready_after: Duration,
}

impl Ingest {
    fn per_second(&self) -> f64 {
        self.events as f64 / self.wall.as_secs_f64()
    }

    fn per_cpu_second(&self) -> f64 {
        self.events as f64 / self.cpu.as_secs_f64().max(1e-9)
    }
}

/// Queues `events` events (bot stopped; `next` sends one, or returns false
/// when it could not, as for a member who has left), then starts the bot and times the
/// replay until the last one is committed.
async fn ingest(
    sim: &Simulator,
    db: &BenchDb,
    events: usize,
    batch: Option<&str>,
    mut next: impl FnMut() -> bool,
) -> Ingest {
    let mut sent = 0;
    while sent < events {
        sent += usize::from(next());
    }
    let target = sim.last_sequence(0).unwrap();
    let resumes = sim.session_starts().1;
    let spawned = Instant::now();
    let bot = spawn_bot(sim, db.url(), batch);
    let pid = bot.id().unwrap();
    sim.wait_for_session_starts(1, resumes + 1, WAIT).await.unwrap();
    let ready_after = spawned.elapsed();
    let cpu_before = cpu_time(pid);
    let start = sim.last_resume_at().unwrap();
    let end = wait_committed(db, target, Duration::from_millis(1)).await;
    let cpu = cpu_time(pid).saturating_sub(cpu_before);
    let peak_rss_mb = peak_rss_kb(pid) as f64 / 1024.0;
    stop_bot(bot).await;
    Ingest { events, wall: end - start, cpu, peak_rss_mb, ready_after }
}

/// User plus system CPU time of a process so far.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces): utime is the 12th, stime the 13th.
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = fields.get(11).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0)
        + fields.get(12).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    Duration::from_millis(ticks * 10) // USER_HZ is 100 on Linux
}

/// Peak resident set size of a process, in KiB.
fn peak_rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// A realistic mix: mostly messages, reactions added and removed, members
/// leaving and coming back.
struct Mixed<'a> {
    server: &'a Server,
    recent: VecDeque<u64>,
    standing: Vec<(u64, u64)>,
    standing_set: std::collections::HashSet<(u64, u64)>,
    gone: Vec<u64>,
}

impl<'a> Mixed<'a> {
    fn new(server: &'a Server) -> Self {
        Self {
            server,
            recent: VecDeque::new(),
            standing: Vec::new(),
            standing_set: Default::default(),
            gone: Vec::new(),
        }
    }

    fn step(&mut self, sim: &Simulator, zipf: &Zipf, rng: &mut Rng) -> bool {
        let server = self.server;
        let pick = |rng: &mut Rng| server.members[zipf.sample(rng)];
        let roll = rng.below(100);
        if roll < 75 || self.recent.is_empty() {
            let who = pick(rng);
            sim.advance(Duration::from_millis(1));
            let Ok(id) = sim.send_message(self.server.id, who) else { return false };
            self.recent.push_back(id);
            if self.recent.len() > 1000 {
                self.recent.pop_front();
            }
            true
        } else if roll < 88 {
            let message = self.recent[rng.below(self.recent.len())];
            let who = pick(rng);
            if self.standing_set.contains(&(message, who)) || sim.react(message, who, "👍").is_err() {
                return false;
            }
            self.standing.push((message, who));
            self.standing_set.insert((message, who));
            true
        } else if roll < 95 && !self.standing.is_empty() {
            let (message, who) = self.standing.swap_remove(rng.below(self.standing.len()));
            self.standing_set.remove(&(message, who));
            sim.unreact(message, who, "👍").is_ok()
        } else if roll < 98 || self.gone.is_empty() {
            let who = self.server.members[rng.below(self.server.members.len())];
            if sim.leave(self.server.id, who).is_err() {
                return false;
            }
            self.gone.push(who);
            true
        } else {
            let who = self.gone.swap_remove(rng.below(self.gone.len()));
            sim.join(self.server.id, who).is_ok()
        }
    }
}

/// The bot records a command's time just after Discord (the simulator)
/// has its answer, so the last sample may land a moment after `invoke`
/// returns: waits until `n` samples are there, then takes them. Every
/// group is taken this way: a sample left behind would count in the next
/// group (a board's build once showed up among the pages of its kept order).
async fn take_samples(timings: &tally::discord::timings::CommandTimings, command: &str, n: usize) -> Vec<Duration> {
    let mut samples = Vec::new();
    while samples.len() < n {
        samples.extend(timings.take(command));
        tokio::task::yield_now().await;
    }
    samples
}

/// Command latencies with the bot in this process.
async fn commands(sim: &Simulator, db: &BenchDb, server: &Server, zipf: &Zipf) -> Vec<(String, Vec<Duration>)> {
    let mut config = BotConfig::from_parts(Some(sim.token()), db.url(), &sim.api_base()).unwrap();
    config.web_addr = Some("127.0.0.1:0".parse().unwrap());
    let database = tally::store::Database::from_url(db.url()).unwrap();
    tokio::task::block_in_place(|| database.set_web_public(server.id, true)).unwrap();
    let bot = Bot::start(config).await.unwrap();
    sim.wait_for_bot(1, WAIT).await.unwrap();
    while !bot.context().rankings.is_ready() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Members who left in the mixed stream cannot type commands.
    let present: std::collections::HashSet<u64> = sim.members_of(server.id).into_iter().collect();
    let asker = *server.members.iter().find(|m| present.contains(m)).unwrap();
    let mut rng = Rng(7);
    let mut out = Vec::new();
    let timings = &bot.context().timings;
    for _ in 0..100 {
        sim.invoke(Invocation::new(server.id, asker, "stats")).await.unwrap(); // warm-up
    }
    take_samples(timings, "stats", 100).await;
    for _ in 0..2000 {
        let who = server.members[zipf.sample(&mut rng)];
        let who = if present.contains(&who) { who } else { asker };
        sim.invoke(Invocation::new(server.id, who, "stats")).await.unwrap();
    }
    out.push(("/stats (with rank)".to_owned(), take_samples(timings, "stats", 2000).await));
    for page in [1, 100, 10_000] {
        for _ in 0..500 {
            sim.invoke(Invocation::new(server.id, asker, "leaderboard").option("page", page)).await.unwrap();
        }
        out.push((format!("/leaderboard page {page}"), take_samples(timings, "leaderboard", 500).await));
    }
    // The page just past the last asks the database for no one: it must
    // cost no more than a page that exists (it once walked PostgreSQL's
    // ranking index: 62 ms at 100,000 members).
    let ranked = tokio::task::block_in_place(|| bot.context().reader.leaderboard(server.id, 0, 1)).unwrap().total;
    let past = ranked.div_ceil(10) + 1;
    for _ in 0..500 {
        sim.invoke(Invocation::new(server.id, asker, "leaderboard").option("page", past)).await.unwrap();
    }
    let samples = take_samples(timings, "leaderboard", 500).await;
    out.push((format!("/leaderboard page {past}, just past the end"), samples));
    // Windows come from the day tables (every member who posted in the
    // benchmark's streams posted "today"), all-time messages from the
    // members' totals. The first answer builds the board's order; later
    // ones, with no new activity, page from the kept order.
    for (period, by) in [("week", "messages"), ("month", "xp"), ("all", "messages")] {
        for page in 1..=100 {
            let ask = Invocation::new(server.id, asker, "leaderboard")
                .option("period", period)
                .option("by", by)
                .option("page", page);
            sim.invoke(ask).await.unwrap();
            if page == 1 {
                let building = take_samples(timings, "leaderboard", 1).await;
                out.push((format!("/leaderboard period:{period} by:{by}, building"), building));
            }
        }
        let kept = take_samples(timings, "leaderboard", 99).await;
        out.push((format!("/leaderboard period:{period} by:{by}, pages 2-100 kept"), kept));
    }
    let web = bot.web_addr().expect("the web page is on");
    let board = format!("/api/servers/{}/leaderboard", server.id);
    let pages: u64 = serde_json::from_str::<serde_json::Value>(&db::http_get(web, &board).await.1).unwrap()["pages"]
        .as_u64()
        .unwrap();
    for (name, page) in [("web board page 1 (HTML)", 1), ("web board, deepest page (HTML)", pages)] {
        let path = format!("/servers/{}?page={page}", server.id);
        let mut samples = Vec::new();
        for _ in 0..200 {
            let (took, body) = db::http_get(web, &path).await;
            assert!(body.contains("ranked member"), "a board page: {}", &body[..body.len().min(200)]);
            samples.push(took);
        }
        out.push((format!("{name}, page {page}"), samples));
    }
    bot.shutdown().await.unwrap();
    out
}
