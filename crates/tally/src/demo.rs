//! `tally demo` and `tally sim`: a simulated server full of chatting members,
//! so a newcomer sees Tally work in one command, without a token.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use discord_sim::{Invocation, SimConfig, Simulator};

use crate::bot::Bot;
use crate::config::BotConfig;
use crate::dice::Dice;
use crate::domain::Level;

/// Options of `tally demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Members in the simulated server.
    #[arg(long, default_value_t = 300)]
    members: usize,
    /// The demo's database (kept between runs; delete it to start afresh).
    #[arg(long = "database-url", env = "TALLY_DEMO_DATABASE_URL", default_value = "sqlite://tally-demo.db")]
    database_url: String,
    /// Stop after this many seconds (default: run until Ctrl-C).
    #[arg(long)]
    seconds: Option<u64>,
    /// Where the web leaderboard listens (IP:PORT), or off. When the port is
    /// taken, the demo picks a free one and says which.
    #[arg(long, env = "TALLY_WEB_ADDR", default_value = crate::config::DEFAULT_WEB_ADDR)]
    web_addr: String,
    /// Where /metrics listens (IP:PORT), or off; a free port when taken.
    #[arg(long, env = "TALLY_METRICS_ADDR", default_value = crate::config::DEFAULT_METRICS_ADDR)]
    metrics_addr: String,
}

/// Options of `tally sim`.
#[derive(Debug, Args)]
pub struct SimArgs {
    /// Port on 127.0.0.1 for the simulator's REST API and gateway.
    #[arg(long, default_value_t = 9000)]
    port: u16,
    /// Members in the simulated server.
    #[arg(long, default_value_t = 300)]
    members: usize,
    /// The token the simulator accepts.
    #[arg(long, default_value = "sim-token")]
    token: String,
}

const FIRST: &[&str] = &[
    "ada", "bea", "cy", "dee", "eli", "fay", "gus", "hal", "ivy", "jo", "kai", "lu", "max", "nia", "oz", "pia",
    "quinn", "rae", "sol", "tess", "uma", "vic", "wren", "xan", "yui", "zed",
];
const EMOJIS: &[&str] = &["👍", "❤️", "😂", "🎉", "👀", "🔥"];

/// The simulated server and who is in it.
pub struct DemoWorld {
    /// The server.
    pub guild_id: u64,
    /// Everyone who can talk (present or not).
    pub people: Vec<u64>,
}

/// How far in the past the demo's clock starts.
pub const HEAD_START: Duration = Duration::from_secs(3 * 3600);

/// A simulator whose clock starts [`HEAD_START`] ago.
fn demo_sim_config() -> SimConfig {
    let defaults = SimConfig::default();
    SimConfig { start_ms: defaults.start_ms - HEAD_START.as_millis() as u64, ..defaults }
}

/// Fills the simulator with a server of `members` people, most of whom joined long ago.
pub fn build_world(sim: &Simulator, members: usize) -> anyhow::Result<DemoWorld> {
    let guild_id = sim.add_guild("Tally Demo Server");
    let mut dice = Dice(7);
    let now = sim.now_ms();
    let mut people = Vec::with_capacity(members);
    for i in 0..members {
        let name = format!("{}{}", FIRST[i % FIRST.len()], i / FIRST.len());
        let display = format!(
            "{}{}",
            capitalise(FIRST[i % FIRST.len()]),
            if i < FIRST.len() { String::new() } else { format!(" {}", i / FIRST.len()) }
        );
        let user = sim.add_user(&name, Some(&display), false);
        if i % 3 != 2 {
            // Most people have a picture; the rest show their initials.
            sim.set_avatar(user, Some(&format!("{:032x}", u128::from(user).wrapping_mul(0x9E37_79B9_7F4A_7C15))))?;
        }
        let days_ago = 1 + dice.below(1500) as u64;
        sim.add_member(guild_id, user, now - days_ago * 86_400_000)?;
        people.push(user);
    }
    let helper = sim.add_user("helperbot", Some("Helper Bot"), true);
    sim.add_member(guild_id, helper, now - 200 * 86_400_000)?;
    Ok(DemoWorld { guild_id, people })
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

/// Makes the server lively: messages, reactions, voice, joins and leaves. The
/// simulator's clock starts [`HEAD_START`] in the past and runs 20 times
/// faster than real time until it catches up, so XP cooldowns pass quickly at
/// first and no date is ever in the future.
pub async fn drive(sim: Arc<Simulator>, world: DemoWorld, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut dice = Dice(42);
    let mut recent: Vec<u64> = Vec::new();
    let mut in_voice = std::collections::HashSet::new();
    let voice_channels = sim.voice_channels_of(world.guild_id).unwrap_or_default();
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = tick.tick() => {}
        }
        // Fast-forward 20x until the virtual clock reaches real time, never beyond it.
        let wall =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        sim.catch_up_to((sim.now_ms() + 400).min(wall));
        let present = sim.members_of(world.guild_id);
        let person = world.people[dice.skewed(world.people.len())];
        let roll = dice.below(100);
        let result = if !present.contains(&person) {
            if roll < 10 {
                sim.join(world.guild_id, person).map(|_| ())
            } else {
                Ok(())
            }
        } else if roll < 70 {
            sim.send_message(world.guild_id, person).map(|id| {
                recent.push(id);
                if recent.len() > 50 {
                    recent.remove(0);
                }
            })
        } else if roll < 92 && !recent.is_empty() {
            let message = recent[dice.below(recent.len())];
            sim.react(message, person, EMOJIS[dice.below(EMOJIS.len())]).map(|_| ())
        } else if roll < 96 && !recent.is_empty() {
            let message = recent[dice.below(recent.len())];
            sim.unreact(message, person, EMOJIS[dice.below(EMOJIS.len())]).map(|_| ())
        } else if roll < 97 {
            in_voice.remove(&person);
            sim.leave(world.guild_id, person).map(|_| ())
        } else if let [lounge, afk] = voice_channels[..] {
            // Into the lounge (now and then the AFK channel), or out of voice.
            let channel = if in_voice.remove(&person) {
                None
            } else {
                in_voice.insert(person);
                Some(if dice.below(5) == 0 { afk } else { lounge })
            };
            sim.set_voice(world.guild_id, person, channel).map(|_| ())
        } else {
            Ok(())
        };
        if let Err(error) = result {
            tracing::debug!(%error, "demo step skipped");
        }
    }
}

/// `tally demo`.
pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let sim = Arc::new(Simulator::start(demo_sim_config()).await?);
    let world = build_world(&sim, args.members)?;
    let guild_id = world.guild_id;
    let people = world.people.clone();
    println!("Tally demo: a simulated Discord server with {} members at {}", args.members, sim.api_base());
    println!("Database: {} (Ctrl-C to stop)", crate::store::without_credentials(&args.database_url));
    let mut config = BotConfig::from_parts(Some(sim.token()), &args.database_url, &sim.api_base())?;
    config.web_addr = crate::config::parse_web_addr(&args.web_addr)?.map(free_or_any);
    config.metrics_addr = crate::config::parse_metrics_addr(&args.metrics_addr)?.map(free_or_any);
    config.cdn_base = sim.cdn_base();
    // The dashboard is on, and the simulated Discord signs the visitor in
    // as the demo server's owner without asking.
    config.dashboard.client_secret = Some(sim.client_secret().to_owned());
    sim.oauth_login_as(Some(sim.owner_id()));
    let mut bot = Bot::start(config.clone()).await?;
    sim.wait_for_bot(1, Duration::from_secs(30)).await?;
    if let Some(addr) = bot.metrics_addr() {
        println!("Metrics: http://{addr}/metrics");
    }
    let web = match bot.web_addr() {
        Some(addr) => {
            let database = bot.context().database.clone();
            tokio::task::spawn_blocking(move || database.set_web_public(guild_id, true)).await??;
            let url = format!("http://{addr}/servers/{guild_id}");
            println!("Web leaderboard: {url}");
            sim.oauth_add_redirect_uri(&format!("http://{addr}/auth/callback"));
            println!("Dashboard (signed in as the server's owner in one click): http://{addr}/login");
            Some(url)
        }
        None => None,
    };
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let driver = tokio::spawn(drive(Arc::clone(&sim), world, stop_rx));

    let deadline = args.seconds.map(|s| tokio::time::Instant::now() + Duration::from_secs(s));
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut seconds = 0u64;
    let mut last_answer = String::from("(asking in a moment)");
    let shutdown = crate::shutdown::signal();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            result = bot.wait() => { result?; break; }
            _ = tick.tick() => {}
        }
        seconds += 1;
        if seconds % 5 == 3 {
            // Ask as the most active member still in the server (people come and go).
            let present = sim.members_of(guild_id);
            let asker = people.iter().copied().find(|p| present.contains(p)).unwrap_or(people[0]);
            let answer = sim.invoke(Invocation::new(guild_id, asker, "stats")).await;
            last_answer = match answer {
                Ok(reply) => reply.text().lines().take(3).collect::<Vec<_>>().join(" | "),
                Err(error) => format!("no answer: {error}"),
            };
        }
        print_summary(&bot, guild_id, &last_answer, web.as_deref())?;
        if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
            break;
        }
    }
    let _ = stop.send(true);
    let _ = driver.await;
    bot.shutdown().await?;
    println!(
        "Stopped cleanly. Try: tally export --guild {guild_id} --database-url {}",
        crate::store::without_credentials(&args.database_url)
    );
    Ok(())
}

/// `addr` when it is free, else the same IP with a port the system picks.
fn free_or_any(addr: std::net::SocketAddr) -> std::net::SocketAddr {
    if addr.port() == 0 || std::net::TcpListener::bind(addr).is_ok() {
        return addr;
    }
    eprintln!("note: {addr} is in use; a free port is taken instead");
    std::net::SocketAddr::new(addr.ip(), 0)
}

fn print_summary(bot: &Bot, guild_id: u64, last_answer: &str, web: Option<&str>) -> anyhow::Result<()> {
    let context = bot.context();
    let stats = context.ledger.stats();
    let board = tokio::task::block_in_place(|| context.reader.leaderboard(guild_id, 0, 5))?;
    let mut out = String::new();
    let tty = std::io::stdout().is_terminal();
    if tty {
        out.push_str("\x1b[2J\x1b[H");
    }
    out.push_str(&format!(
        "Tally demo — events committed: {}  commits: {}  replays skipped: {}  malformed: {}\n",
        stats.events.load(std::sync::atomic::Ordering::Relaxed),
        stats.commits.load(std::sync::atomic::Ordering::Relaxed),
        stats.replays_skipped.load(std::sync::atomic::Ordering::Relaxed),
        context.metrics.malformed.load(std::sync::atomic::Ordering::Relaxed),
    ));
    out.push_str(&format!("Top members of {} ranked:\n", board.total));
    for (i, m) in board.members.iter().enumerate() {
        out.push_str(&format!(
            "  #{} {:<16} level {:>2}  {:>6} XP  {:>4} messages  {:>3} reactions received  {:>9} in voice\n",
            i + 1,
            m.display_name,
            Level::from_xp(m.xp).level,
            m.xp,
            m.messages,
            m.reactions_received,
            crate::domain::humanize::duration_short(m.voice_ms)
        ));
    }
    out.push_str(&format!("Last /stats answer: {last_answer}\n"));
    if let Some(url) = web {
        out.push_str(&format!("Web leaderboard: {url}\n"));
    }
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(out.as_bytes())?;
    stdout.flush()?;
    Ok(())
}

/// `tally sim`: the simulator alone, for a separately started `tally run`.
pub async fn run_sim(args: SimArgs) -> anyhow::Result<()> {
    let config = SimConfig { port: args.port, token: args.token.clone(), ..demo_sim_config() };
    let sim = Arc::new(Simulator::start(config).await?);
    let world = build_world(&sim, args.members)?;
    println!("Discord simulator listening. In another terminal:");
    println!("  DISCORD_TOKEN={} DISCORD_API_BASE={} tally run", args.token, sim.api_base());
    println!("Server id: {} (Ctrl-C to stop)", world.guild_id);
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let driver = tokio::spawn(drive(Arc::clone(&sim), world, stop_rx));
    crate::shutdown::signal().await;
    let _ = stop.send(true);
    let _ = driver.await;
    Ok(())
}
