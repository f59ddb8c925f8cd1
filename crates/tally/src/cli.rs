//! The `tally` command line: `run`, `demo`, `export`, `sim`.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::bot::Bot;
use crate::config::{
    parse_metrics_addr, parse_web_addr, BotConfig, ConfigError, DEFAULT_API_BASE, DEFAULT_DATABASE_URL,
    DEFAULT_METRICS_ADDR, DEFAULT_WEB_ADDR,
};
use crate::store::Database;
use crate::transfer::export::{self, Format};

/// Tally counts what members do in your Discord server, exactly once, and
/// turns it into XP, levels and leaderboards.
#[derive(Debug, Parser)]
#[command(name = "tally", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the bot against Discord (needs DISCORD_TOKEN).
    Run(RunArgs),
    /// See Tally work with no token: a simulated server, the bot, live stats.
    Demo(crate::demo::DemoArgs),
    /// Write every member's figures for one server to stdout.
    Export(ExportArgs),
    /// Bring members' XP in from MEE6's leaderboard pages, Tally's export or a CSV with user_id,xp.
    Import(ImportArgs),
    /// Erase everything Tally holds about one member in one server (as /privacy delete does).
    Forget(ForgetArgs),
    /// Erase everything Tally holds about one server, at once (as the retention period does).
    Purge(PurgeArgs),
    /// Run only the Discord simulator with a busy demo server, for `tally run` to connect to.
    Sim(crate::demo::SimArgs),
    /// Show or hide a server's leaderboard on the web page.
    Web(WebArgs),
    /// Copy a whole database to another (SQLite to PostgreSQL or back), then check both hold the same rows.
    Copy(CopyArgs),
}

#[derive(Debug, Args)]
struct CopyArgs {
    /// The database to read: sqlite://PATH or postgres://USER@HOST/DATABASE.
    #[arg(long)]
    from: String,
    /// The database to fill (its schema is created if needed). It must be empty, unless --replace.
    #[arg(long)]
    to: String,
    /// Empty the target first (in the same transaction: if the copy fails, the target keeps what it had).
    #[arg(long)]
    replace: bool,
}

#[derive(Debug, Args)]
struct WebArgs {
    #[command(subcommand)]
    action: WebAction,
}

#[derive(Debug, Subcommand)]
enum WebAction {
    /// Make a server's leaderboard public on the web page.
    Enable(WebGuildArgs),
    /// Take a server's leaderboard off the web page (the default).
    Disable(WebGuildArgs),
}

#[derive(Debug, Args)]
struct WebGuildArgs {
    /// The server (guild) id.
    #[arg(long)]
    guild: u64,
    #[command(flatten)]
    database: DatabaseArg,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// The bot token from Discord's Developer Portal.
    #[arg(long, env = "DISCORD_TOKEN", hide_env_values = true)]
    token: Option<String>,
    #[command(flatten)]
    database: DatabaseArg,
    /// Where Discord's API is; point it at a simulator or proxy.
    #[arg(long, env = "DISCORD_API_BASE", default_value = DEFAULT_API_BASE)]
    api_base: String,
    /// Where the web leaderboard listens (IP:PORT), or off.
    #[arg(long, env = "TALLY_WEB_ADDR", default_value = DEFAULT_WEB_ADDR)]
    web_addr: String,
    /// The OAuth2 client secret (Developer Portal > OAuth2): turns on the dashboard's sign-in.
    #[arg(long, env = "DISCORD_CLIENT_SECRET", hide_env_values = true)]
    client_secret: Option<String>,
    /// The OAuth2 client id, when it is not the application's id.
    #[arg(long, env = "DISCORD_CLIENT_ID")]
    client_id: Option<u64>,
    /// Where people reach the web page, like https://tally.example.org (default: TALLY_WEB_ADDR's address).
    #[arg(long, env = "TALLY_PUBLIC_URL")]
    public_url: Option<String>,
    /// Where /metrics and /healthz listen for monitoring (IP:PORT), or off.
    #[arg(long, env = "TALLY_METRICS_ADDR", default_value = DEFAULT_METRICS_ADDR)]
    metrics_addr: String,
    /// Where rank cards fetch avatars from.
    #[arg(long, env = "TALLY_CDN_BASE", default_value = crate::discord::avatars::DEFAULT_CDN_BASE)]
    cdn_base: String,
    /// The shards this process runs, like 0-3 (needs --total-shards and PostgreSQL).
    #[arg(long, env = "TALLY_SHARDS")]
    shards: Option<String>,
    /// How many shards all processes run together (the same in every process).
    #[arg(long, env = "TALLY_TOTAL_SHARDS")]
    total_shards: Option<u32>,
    /// Days a server's data is kept after the bot is removed from it (0: purged at once).
    #[arg(long, env = "TALLY_RETENTION_DAYS", default_value_t = crate::config::DEFAULT_RETENTION_DAYS)]
    retention_days: u32,
}

/// `--database-url`, shared by the commands that open the database.
#[derive(Debug, Args)]
pub struct DatabaseArg {
    /// The database: sqlite://PATH or postgres://USER@HOST/DATABASE (created on first run).
    #[arg(long = "database-url", env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub url: String,
}

#[derive(Debug, Args)]
struct ExportArgs {
    /// The server (guild) id to export.
    #[arg(long)]
    guild: u64,
    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
    #[command(flatten)]
    database: DatabaseArg,
}

#[derive(Debug, Args)]
struct ImportArgs {
    /// The server (guild) id to import into.
    #[arg(long)]
    guild: u64,
    /// Files to import, or folders of them (their .json and .csv files).
    #[arg(required = true, value_name = "FILE|FOLDER")]
    files: Vec<std::path::PathBuf>,
    /// How imported XP meets the XP Tally has: keep the higher (max), add them up (add), or take the file's (replace).
    #[arg(long, value_enum, default_value = "max")]
    mode: ImportModeArg,
    /// Print what would change, and write nothing.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    database: DatabaseArg,
}

#[derive(Debug, Args)]
struct ForgetArgs {
    /// The server (guild) id.
    #[arg(long)]
    guild: u64,
    /// The member's user id.
    #[arg(long)]
    user: u64,
    #[command(flatten)]
    database: DatabaseArg,
}

#[derive(Debug, Args)]
struct PurgeArgs {
    /// The server (guild) id.
    #[arg(long)]
    guild: u64,
    #[command(flatten)]
    database: DatabaseArg,
}

/// `--mode`, as the command line spells it.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ImportModeArg {
    /// A member keeps the higher XP (importing twice changes nothing).
    Max,
    /// Imported XP is added to Tally's.
    Add,
    /// The file's figures replace Tally's.
    Replace,
}

impl From<ImportModeArg> for crate::domain::import::ImportMode {
    fn from(mode: ImportModeArg) -> Self {
        match mode {
            ImportModeArg::Max => Self::Max,
            ImportModeArg::Add => Self::Add,
            ImportModeArg::Replace => Self::Replace,
        }
    }
}

/// Sets up logging from RUST_LOG (default: Tally's own info messages and warnings).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,tally=info,discord_sim=info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
}

/// Parses arguments, runs the command, and maps failures to exit codes:
/// 2 for configuration mistakes, 1 for everything else.
pub fn main() -> ExitCode {
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            if let Some(config) = error.downcast_ref::<ConfigError>() {
                eprintln!("error: {config}");
                ExitCode::from(2)
            } else {
                eprintln!("error: {error:#}");
                ExitCode::FAILURE
            }
        }
    }
}

async fn dispatch(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Run(args) => {
            let mut config = BotConfig::from_parts(args.token.as_deref(), &args.database.url, &args.api_base)?
                .with_shards(args.shards.as_deref(), args.total_shards)?;
            config.web_addr = parse_web_addr(&args.web_addr)?;
            config.metrics_addr = parse_metrics_addr(&args.metrics_addr)?;
            config.dashboard = crate::config::dashboard(args.client_secret, args.client_id, args.public_url)?;
            config.cdn_base = args.cdn_base;
            config.retention = std::time::Duration::from_secs(u64::from(args.retention_days) * 86_400);
            run_until_stopped(config).await
        }
        Command::Demo(args) => crate::demo::run(args).await,
        Command::Sim(args) => crate::demo::run_sim(args).await,
        // The database clients block: off the async threads.
        Command::Export(args) => tokio::task::spawn_blocking(move || export_guild(args)).await?,
        Command::Import(args) => tokio::task::spawn_blocking(move || import_files(args)).await?,
        Command::Forget(args) => tokio::task::spawn_blocking(move || forget_member(args)).await?,
        Command::Purge(args) => tokio::task::spawn_blocking(move || purge_guild(args)).await?,
        Command::Web(args) => tokio::task::spawn_blocking(move || set_web_public(args)).await?,
        Command::Copy(args) => tokio::task::spawn_blocking(move || copy_database(args)).await?,
    }
}

/// Runs the bot until Ctrl-C or SIGTERM, then shuts down cleanly.
pub async fn run_until_stopped(config: BotConfig) -> anyhow::Result<()> {
    let mut bot = Bot::start(config).await?;
    let failure = tokio::select! {
        result = bot.wait() => result.err(),
        () = crate::shutdown::signal() => {
            tracing::info!("stopping: committing what was received");
            None
        }
    };
    // Even when one shard failed, the others stop cleanly and what was
    // received is committed before the process exits.
    bot.shutdown().await?;
    failure.map_or(Ok(()), Err)
}

/// The database named by `--database-url`, for commands that work on one.
fn database(database: &DatabaseArg) -> anyhow::Result<Database> {
    named(&database.url, "DATABASE_URL")
}

/// The database `url` names; a malformed URL is a configuration mistake
/// (exit 2) attributed to `what`.
fn named(url: &str, what: &'static str) -> anyhow::Result<Database> {
    Ok(Database::from_url(url).map_err(|e| ConfigError { variable: what, problem: e.to_string() })?)
}

fn copy_database(args: CopyArgs) -> anyhow::Result<()> {
    use crate::domain::humanize::thousands;
    use crate::progress::ProgressBar;
    use crate::store::copy::{CopyError, Step};
    use crate::store::StoreError;

    let from = named(&args.from, "--from")?;
    let to = named(&args.to, "--to")?;
    eprintln!("copying the {} to the {}", from.describe(), to.describe());
    let started = std::time::Instant::now();
    let mut bar: Option<(Step, ProgressBar)> = None;
    let mut last = (0, 0);
    let outcome = from.copy_to(&to, args.replace, &mut |p| {
        if bar.as_ref().is_none_or(|(step, _)| *step != p.step) {
            if let Some((_, mut previous)) = bar.take() {
                previous.finish(last.0, last.1);
            }
            bar = Some((p.step, ProgressBar::new(if p.step == Step::Copying { "copying " } else { "checking" })));
        }
        last = (p.done, p.total);
        if let Some((_, bar)) = bar.as_mut() {
            bar.update(p.done, p.total, p.table);
        }
    });
    if let Some((_, mut bar)) = bar.take() {
        bar.finish(last.0, last.1);
    }
    let report = match outcome {
        Ok(report) => report,
        Err(error @ (CopyError::SameDatabase(_) | CopyError::TargetNotEmpty { .. })) => {
            return Err(ConfigError { variable: "tally copy", problem: error.to_string() }.into())
        }
        Err(CopyError::Store(error @ StoreError::NotFound(_))) => {
            return Err(ConfigError { variable: "--from", problem: error.to_string() }.into())
        }
        Err(error) => {
            return Err(anyhow::Error::new(error)
                .context("the copy did not complete; the target keeps what it had before, run the copy again"))
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    println!("{:<18} {:>12}  checksum", "table", "rows");
    for (table, sum) in &report.tables {
        println!("{table:<18} {:>12}  {:032x}", thousands(sum.rows), sum.checksum);
    }
    println!(
        "copied {} rows in {seconds:.1} s ({} rows/s); the target, read back, holds the same rows",
        thousands(report.rows()),
        thousands((report.rows() as f64 / seconds.max(0.001)) as u64),
    );
    Ok(())
}

/// A reader on the database `--database-url` names, which must exist: an
/// admin who mistyped the URL is told so (exit 2), nothing is created.
fn existing(database_arg: &DatabaseArg) -> anyhow::Result<(Database, std::sync::Arc<dyn crate::store::Reader>)> {
    let database = database(database_arg)?;
    match database.open_reader() {
        Ok(reader) => Ok((database, reader)),
        Err(error @ crate::store::StoreError::NotFound(_)) => {
            Err(ConfigError { variable: "DATABASE_URL", problem: error.to_string() }.into())
        }
        Err(error) => Err(anyhow::Error::new(error).context(format!("cannot open the {}", database.describe()))),
    }
}

fn set_web_public(args: WebArgs) -> anyhow::Result<()> {
    let (guild, public) = match &args.action {
        WebAction::Enable(a) => (a, true),
        WebAction::Disable(a) => (a, false),
    };
    let (database, _) = existing(&guild.database)?;
    database.set_web_public(guild.guild, public)?;
    if public {
        println!(
            "The leaderboard of server {} is public: /servers/{} on the web page (TALLY_WEB_ADDR).",
            guild.guild, guild.guild
        );
    } else {
        println!("The leaderboard of server {} is no longer on the web page.", guild.guild);
    }
    Ok(())
}

fn export_guild(args: ExportArgs) -> anyhow::Result<()> {
    let (_, reader) = existing(&args.database)?;
    let members = reader.all_members(args.guild)?;
    let curve = reader.settings(args.guild)?.leveling.curve;
    if members.is_empty() {
        eprintln!("note: no members stored for server {}", args.guild);
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    // A bar only for a person watching a large server; logs and pipes of
    // stderr get nothing, and stdout is the same either way.
    let total = members.iter().filter(|m| !m.bot).count() as u64;
    let mut bar = (std::io::stderr().is_terminal() && total >= EXPORT_BAR_FROM)
        .then(|| crate::progress::ProgressBar::counting("exporting", "members"));
    let mut tick = |done: u64| {
        if let Some(bar) = bar.as_mut() {
            bar.update(done, total, "");
        }
    };
    let written = export::write_counting(&members, curve, args.format, &mut out, &mut tick)
        .and_then(|()| Ok(std::io::Write::flush(&mut out)?));
    if let Some(bar) = bar.as_mut() {
        bar.finish(total, total);
    }
    match written {
        // `| head`: the reader has all it wanted.
        Err(error) if broken_pipe(&error) => Ok(()),
        other => other,
    }
}

/// Members from which `tally export` shows a progress bar (on a terminal).
const EXPORT_BAR_FROM: u64 = 10_000;

/// Skipped members listed by name before "and N more".
const SHOWN_SKIPS: usize = 20;

fn import_files(args: ImportArgs) -> anyhow::Result<()> {
    use crate::transfer::import::{self, run};

    let database = database(&args.database)?;
    let mode = args.mode.into();
    let inputs = import::read_paths(&args.files)
        .map_err(|error| anyhow::anyhow!("{error}\nnothing was imported: fix the file and run the command again"))?;
    let what = import::describe(&inputs);
    if args.dry_run {
        let summary = run::dry_run(&database, args.guild, &inputs, mode)?;
        println!("dry run: importing {what} into server {} (mode {}) would change:", args.guild, mode.name());
        for line in summary.lines(SHOWN_SKIPS) {
            println!("  {line}");
        }
        println!("nothing was written");
        return Ok(());
    }
    eprintln!("importing {what} into server {} (mode {}), in the {}", args.guild, mode.name(), database.describe());
    let mut bar = crate::progress::ProgressBar::counting("importing", "members");
    let mut last = (0, 0);
    let report = run::import(&database, args.guild, &inputs, mode, &mut |done, total, stage| {
        last = (done, total);
        bar.update(done, total, stage);
    })?;
    bar.finish(last.0, last.1);
    for line in report.summary.lines(SHOWN_SKIPS) {
        println!("  {line}");
    }
    if report.summary.already == inputs.rows.len() as u64 {
        println!("already imported: this same import was applied before; nothing changed");
    } else if report.by_bot {
        println!("imported, through the running bot: its leaderboards show the new figures now");
    } else {
        println!("imported");
    }
    Ok(())
}

/// Whether writing failed because the reader closed the pipe.
fn broken_pipe(error: &anyhow::Error) -> bool {
    let kind = error
        .downcast_ref::<std::io::Error>()
        .map(std::io::Error::kind)
        .or_else(|| error.downcast_ref::<serde_json::Error>().and_then(serde_json::Error::io_error_kind));
    kind == Some(std::io::ErrorKind::BrokenPipe)
}

fn forget_member(args: ForgetArgs) -> anyhow::Result<()> {
    use crate::ingest::requests::{hand_over, ForgetRequest, Request, FORGET};

    let (database, reader) = existing(&args.database)?;
    let held = reader.member(args.guild, args.user)?.is_some();
    let asked = ForgetRequest { user_id: args.user, asked_at_ms: crate::domain::days::now_ms() };
    let request = Request::new(FORGET, serde_json::to_string(&asked)?, 1);
    let states = hand_over::submit(&database, args.guild, FORGET, std::slice::from_ref(&request))?;
    let by_bot = hand_over::complete(&database, args.guild, FORGET, &[(states[0].id, &request)], &mut |_, _, _| {})?;
    if !held {
        println!(
            "Tally held no member row for {} in server {}; anything else about them is erased too.",
            args.user, args.guild
        );
    }
    println!(
        "Erased everything Tally held about member {} in server {}{}. {}",
        args.user,
        args.guild,
        if by_bot { " (through the running bot)" } else { "" },
        crate::discord::commands::TOTALS_KEPT
    );
    Ok(())
}

fn purge_guild(args: PurgeArgs) -> anyhow::Result<()> {
    use crate::ingest::requests::{hand_over, PurgeRequest, Request, PURGE};

    let (database, reader) = existing(&args.database)?;
    let members = reader.all_members(args.guild)?.len();
    let asked = PurgeRequest { asked_at_ms: crate::domain::days::now_ms() };
    let request = Request::new(PURGE, serde_json::to_string(&asked)?, 1);
    let states = hand_over::submit(&database, args.guild, PURGE, std::slice::from_ref(&request))?;
    let by_bot = hand_over::complete(&database, args.guild, PURGE, &[(states[0].id, &request)], &mut |_, _, _| {})?;
    println!(
        "Purged server {}: {} member{} and every day, log and setting of it are erased{}.",
        args.guild,
        crate::domain::humanize::thousands(members as u64),
        if members == 1 { "" } else { "s" },
        if by_bot { " (through the running bot)" } else { "" }
    );
    Ok(())
}
