//! Assembles the running bot: database, ledger, REST client, command
//! registration and one task per shard.

use std::future::IntoFuture;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::sync::watch;
use tokio::task::JoinSet;
use twilight_gateway::{ConfigBuilder, Intents, Session, Shard, ShardId};
use twilight_http::Client;
use twilight_model::gateway::SessionStartLimit;

use crate::config::BotConfig;
use crate::discord::commands;
use crate::discord::context::Context;
use crate::discord::identify::IdentifyQueue;
use crate::discord::retry::{self, CallError, Retry};
use crate::discord::shard;
use crate::domain::shards::ShardRange;
use crate::ingest::Ledger;
use crate::store::rankings::{IndexedReader, Rankings};
use crate::store::{Database, Reader};
use crate::web::WebServer;

/// What Tally asks Discord for. Never MESSAGE_CONTENT: Tally counts, it does not read.
pub const INTENTS: Intents = Intents::GUILDS
    .union(Intents::GUILD_MEMBERS)
    .union(Intents::GUILD_MESSAGES)
    .union(Intents::GUILD_MESSAGE_REACTIONS)
    .union(Intents::GUILD_VOICE_STATES);

/// Reading connections for commands and the web page: enough that a slow
/// read (a large board being built) leaves others free on a 2-core machine.
const READERS: usize = 4;

/// A running bot.
pub struct Bot {
    context: Arc<Context>,
    ledger: Ledger,
    shards: JoinSet<anyhow::Result<()>>,
    stop: watch::Sender<bool>,
    web: Option<WebServer>,
    metrics_server: Option<WebServer>,
    announcer: tokio::task::JoinHandle<()>,
    role_task: tokio::task::JoinHandle<()>,
    request_task: tokio::task::JoinHandle<()>,
    retention_task: tokio::task::JoinHandle<()>,
}

/// Builds the REST client, pointed at `DISCORD_API_BASE` when it is not Discord.
pub fn http_client(config: &BotConfig) -> Client {
    crate::discord::tls::install_crypto_provider();
    let mut builder = Client::builder().token(config.token.expose().to_owned());
    if !config.api_base.is_discord() {
        builder = builder.proxy(config.api_base.authority.clone(), config.api_base.scheme == "http");
    }
    builder.build()
}

impl Bot {
    /// Opens the database, checks the token, registers commands and connects
    /// every shard. Returns once the shards are started.
    pub async fn start(config: BotConfig) -> anyhow::Result<Self> {
        let database = Database::from_url(config.database_url.expose())?;
        // Claim the web address first: a port in use is a mistake to report
        // before anything connects to Discord.
        let web_listener = match config.web_addr {
            Some(addr) => Some(tokio::net::TcpListener::bind(addr).await.with_context(|| {
                format!("TALLY_WEB_ADDR: cannot listen on {addr}; choose another port, or set it to off")
            })?),
            None => None,
        };
        let metrics_listener = match config.metrics_addr {
            Some(addr) => Some(tokio::net::TcpListener::bind(addr).await.with_context(|| {
                format!("TALLY_METRICS_ADDR: cannot listen on {addr}; choose another port, or set it to off")
            })?),
            None => None,
        };
        let opening = database.clone();
        // The writer that ran these shards before, if it died mid-batch,
        // must be out of the way before the positions are read; they are
        // read on the writer's own connection.
        let owner = config.shards.map_or_else(|| "all shards".to_owned(), |range| range.to_string());
        let (writer, positions) = tokio::task::spawn_blocking(move || {
            let mut writer = opening.open_writer()?;
            writer.take_over(&owner)?;
            let positions = writer.positions()?;
            Ok::<_, crate::store::StoreError>((writer, positions))
        })
        .await?
        .with_context(|| format!("cannot open the {}", database.describe()))?;
        tracing::info!(database = %database.describe(), "database open");
        let rankings = Arc::new(Rankings::for_shards(config.shards));
        // Commands and the web page read side by side on a few connections.
        let opening = database.clone();
        let connections = tokio::task::spawn_blocking(move || opening.open_readers(READERS)).await??;
        let reader: Arc<dyn Reader> = Arc::new(IndexedReader::new(connections, Arc::clone(&rankings)));

        let http = http_client(&config);
        let application =
            at_start(&config, "reading the application", || http.current_user_application().into_future())
                .await?
                .model()
                .await?;
        let gateway = at_start(&config, "asking for the gateway address", || http.gateway().authed().into_future())
            .await?
            .model()
            .await?;
        let range = config.shards.unwrap_or_else(|| ShardRange::all(gateway.shards));
        tracing::info!(application = %application.name, recommended_shards = gateway.shards, %range, url = %gateway.url, "connected to Discord");

        let definitions = commands::definitions();
        at_start(&config, "registering slash commands", || {
            http.interaction(application.id).set_global_commands(&definitions).into_future()
        })
        .await?;

        let snapshot_taken = rankings.build_in_background(&database);
        let ledger = Ledger::start(writer, positions.clone(), Arc::clone(&rankings), snapshot_taken);
        let context = Arc::new(Context {
            http,
            application_id: application.id,
            reader,
            ledger: ledger.handle(),
            metrics: Default::default(),
            timings: Default::default(),
            rankings,
            database: database.clone(),
            avatars: crate::discord::avatars::Avatars::new(&config.cdn_base),
        });
        let (stop, stop_rx) = watch::channel(false);
        let web = match web_listener {
            Some(listener) => {
                let dashboard = crate::web::dashboard::Settings {
                    api_base: config.api_base.to_string(),
                    ..config.dashboard.clone()
                };
                Some(WebServer::start(listener, Arc::clone(&context), &dashboard, stop_rx.clone())?)
            }
            None => None,
        };
        let metrics_server = match metrics_listener {
            Some(listener) => Some(WebServer::start_metrics(listener, Arc::clone(&context), stop_rx.clone())?),
            None => None,
        };
        let announcer = tokio::spawn(crate::discord::announce::run(Arc::clone(&context), range, stop_rx.clone()));
        let role_task = tokio::spawn(crate::discord::roles::run(Arc::clone(&context), range, stop_rx.clone()));
        let request_task = tokio::spawn(crate::discord::requests::run(Arc::clone(&context), range, stop_rx.clone()));
        let retention_task = tokio::spawn(crate::discord::retention::run(
            Arc::clone(&context),
            range,
            config.retention,
            stop_rx.clone(),
        ));
        let queue = identify_queue(&database, &gateway.session_start_limit, range.total);
        let mut shards = JoinSet::new();
        for number in range.shards() {
            let id = ShardId::new(number, range.total);
            let mut builder = ConfigBuilder::new(config.token.expose().to_owned(), INTENTS)
                .proxy_url(gateway.url.clone())
                .queue(queue.clone());
            if let Some(p) = positions.iter().find(|p| p.shard_id == number && p.shard_count == range.total) {
                tracing::info!(shard = number, sequence = p.sequence, "resuming the stored gateway session");
                builder =
                    builder.session(Session::new(p.sequence, p.session_id.clone())).resume_url(p.resume_url.clone());
            }
            let shard = Shard::with_config(id, builder.build());
            shards.spawn(shard::run(shard, Arc::clone(&context), stop_rx.clone()));
        }
        Ok(Self {
            context,
            ledger,
            shards,
            stop,
            web,
            metrics_server,
            announcer,
            role_task,
            request_task,
            retention_task,
        })
    }

    /// Where the web leaderboard listens, when it is on.
    pub fn web_addr(&self) -> Option<std::net::SocketAddr> {
        self.web.as_ref().map(WebServer::addr)
    }

    /// Where `/metrics` listens, when it is on.
    pub fn metrics_addr(&self) -> Option<std::net::SocketAddr> {
        self.metrics_server.as_ref().map(WebServer::addr)
    }

    /// Shared state, for the demo's summary.
    pub fn context(&self) -> &Arc<Context> {
        &self.context
    }

    /// Waits until a shard stops on its own (a fatal gateway error) or the
    /// database fails for good, and returns why.
    pub async fn wait(&mut self) -> anyhow::Result<()> {
        tokio::select! {
            result = self.shards.join_next() => match result {
                Some(result) => result?,
                None => Ok(()),
            },
            reason = self.ledger.failed() => anyhow::bail!("the database cannot store events: {reason}"),
        }
    }

    /// Stops reading, commits everything received, closes each shard so the
    /// session can be resumed, and returns.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        while let Some(result) = self.shards.join_next().await {
            if let Err(error) = result? {
                tracing::warn!(%error, "shard stopped with an error");
            }
        }
        // Open browser connections must not hold up shutdown.
        for server in [self.web.take(), self.metrics_server.take()].into_iter().flatten() {
            server.finished(std::time::Duration::from_secs(3)).await;
        }
        let Self { context, ledger, announcer, role_task, request_task, retention_task, .. } = self;
        // They hold the context (and so a ledger handle): they must stop first.
        let _ = announcer.await;
        let _ = role_task.await;
        let _ = request_task.await;
        let _ = retention_task.await;
        drop(context);
        ledger.finish().await;
        tracing::info!("all events committed; stopped");
        Ok(())
    }
}

/// One identify queue for every shard of this process: twilight's own when
/// the database belongs to this process alone, turns taken in the database
/// when several processes share it.
fn identify_queue(database: &Database, limit: &SessionStartLimit, total: u32) -> IdentifyQueue {
    let max_concurrency = limit.max_concurrency.max(1);
    if database.is_shared() {
        IdentifyQueue::Shared { database: Box::new(database.clone()), max_concurrency }
    } else {
        let reset_after = std::time::Duration::from_millis(limit.reset_after);
        IdentifyQueue::local(max_concurrency, limit.remaining, reset_after, total.max(limit.total))
    }
}

/// How long start-up keeps trying while Discord answers with server errors.
const START_RETRY_WINDOW: std::time::Duration = std::time::Duration::from_secs(60);

/// A REST call made while starting: retried through Discord's server errors
/// for a while, and explained plainly when it fails.
async fn at_start<T, F, Fut>(config: &BotConfig, what: &str, call: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, twilight_http::Error>>,
{
    let deadline = tokio::time::Instant::now() + START_RETRY_WINDOW;
    match retry::until(deadline, Retry::ServerErrors, what, call).await {
        Ok(value) => Ok(value),
        Err(CallError::Discord(error)) => Err(explain_http_error(error, config).context(format!("{what} failed"))),
        Err(CallError::Deadline) => Err(anyhow::anyhow!(
            "{what} failed: Discord at {} did not answer within {START_RETRY_WINDOW:?}",
            config.api_base
        )),
    }
}

fn explain_http_error(error: twilight_http::Error, config: &BotConfig) -> anyhow::Error {
    use twilight_http::error::ErrorType;
    let unauthorized = match error.kind() {
        ErrorType::Unauthorized => true,
        ErrorType::Response { status, .. } => status.get() == 401,
        _ => false,
    };
    match error.kind() {
        _ if unauthorized => anyhow::anyhow!(
            "DISCORD_TOKEN was rejected by {} (401 Unauthorized): copy the token again from the Developer Portal",
            config.api_base
        ),
        ErrorType::RequestError | ErrorType::RequestTimedOut => {
            anyhow::anyhow!(
                "cannot reach Discord at {} ({error}); check DISCORD_API_BASE and the network",
                config.api_base
            )
        }
        _ => anyhow::Error::new(error).context(format!("Discord at {} answered with an error", config.api_base)),
    }
}
