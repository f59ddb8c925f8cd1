#![recursion_limit = "256"]
//! A stand-in for Discord on 127.0.0.1, for testing and demoing bots without
//! the internet. It speaks the real gateway protocol over a WebSocket (HELLO,
//! IDENTIFY, READY, heartbeats, RESUME with replay, member chunking,
//! dispatches with sequence numbers) and the REST endpoints a bot uses, under
//! `/api/v10`. Tests script a server through [`Simulator`]'s scenario API and
//! read back what the bot sent.
//!
//! It never imports the bot it tests.

pub mod cdn;
pub mod clock;
mod deliveries;
mod error;
mod faults;
mod gateway;
mod grants;
pub mod intents;
mod interactions;
pub mod limits;
mod members;
mod oauth2;
mod options;
pub mod payloads;
pub mod ratelimits;
mod rest;
mod scenario;
mod state;
pub mod world;

use std::net::SocketAddr;
use std::sync::Arc;

pub use deliveries::{DeliveryLog, Heartbeat};
pub use error::SimError;
pub use faults::RestFault;
pub use interactions::{InteractionReply, Invocation};
pub use oauth2::encode_base64url;
pub use ratelimits::{Limit, RateLimits};
pub use scenario::message_type;
pub use state::Recorded;

/// How the simulated Discord is set up.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The bot token it accepts.
    pub token: String,
    /// Shards `GET /gateway/bot` recommends.
    pub shards: u32,
    /// Heartbeat interval sent in HELLO.
    pub heartbeat_interval_ms: u64,
    /// Privileged intents the application may use (as enabled in the
    /// Developer Portal). Default: GUILD_MEMBERS only.
    pub privileged_intents: u64,
    /// Start of the virtual clock, Unix ms. Default: now.
    pub start_ms: u64,
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// The application's and bot's name.
    pub bot_name: String,
    /// Events a session keeps for RESUME; older ones make a resume fail.
    pub replay_buffer: usize,
    /// IDENTIFYs allowed per 5 seconds (`session_start_limit.max_concurrency`):
    /// shards `id % max_concurrency` share a bucket. Default 1, as most bots have.
    pub max_concurrency: u32,
    /// Records when each dispatch is written and each heartbeat arrives
    /// ([`Simulator::delivery_log`]), for tests that bound receipt times.
    /// Off by default: it grows with every event.
    pub record_deliveries: bool,
    /// How long a nonce sent with `enforce_nonce` is remembered (real time;
    /// Discord says "the past few minutes").
    pub nonce_window: std::time::Duration,
    /// The REST rate limits (see [`RateLimits`]).
    pub rate_limits: RateLimits,
    /// Gateway sends a connection may make per minute before it is closed
    /// with 4008 (Discord: 120), besides the heartbeats the simulator asks for.
    pub gateway_sends_per_minute: u32,
    /// The application's OAuth2 client secret (Developer Portal → OAuth2).
    pub client_secret: String,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            token: "sim-token".into(),
            shards: 1,
            max_concurrency: 1,
            heartbeat_interval_ms: 41_250,
            privileged_intents: intents::GUILD_MEMBERS,
            start_ms: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or_default(),
            port: 0,
            bot_name: "Tally".into(),
            replay_buffer: 1_000_000,
            record_deliveries: false,
            nonce_window: std::time::Duration::from_secs(5 * 60),
            rate_limits: RateLimits::default(),
            gateway_sends_per_minute: 120,
            client_secret: "sim-client-secret".into(),
        }
    }
}

/// A running simulator. Dropping it stops the server.
pub struct Simulator {
    shared: Arc<state::Shared>,
    addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl Simulator {
    /// Binds 127.0.0.1 and starts serving REST and the gateway on one port.
    pub async fn start(config: SimConfig) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(state::Shared::new(config, addr));
        let app = rest::router(Arc::clone(&shared));
        let server = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::error!(%error, "simulator server stopped");
            }
        });
        Ok(Self { shared, addr, server })
    }

    /// What to put in `DISCORD_API_BASE`: `http://127.0.0.1:PORT`.
    pub fn api_base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// What to put in `TALLY_CDN_BASE`: the same address serves avatars.
    pub fn cdn_base(&self) -> String {
        self.api_base()
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The token it accepts.
    pub fn token(&self) -> &str {
        &self.shared.config.token
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.server.abort();
        self.shared.close_all_connections();
    }
}
