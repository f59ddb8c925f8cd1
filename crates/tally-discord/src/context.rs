//! What the running bot's tasks share (shards, commands, the outbox
//! senders, the web page): a module of its own, apart from the assembly
//! (the `tally` crate's `bot`), so every task can name it without
//! importing the assembly that starts them.

use std::sync::Arc;

use twilight_http::Client;
use twilight_model::id::{marker::ApplicationMarker, Id};

use crate::ingest::LedgerHandle;
use crate::store::rankings::Rankings;
use crate::store::{Database, Reader};

/// What command handlers and shards share.
pub struct Context {
    /// Discord's REST API.
    pub http: Client,
    /// The bot's application, for interaction responses.
    pub application_id: Id<ApplicationMarker>,
    /// Read side of the store.
    pub reader: Arc<dyn Reader>,
    /// Write side: where shards send events; commands wait on it for freshness.
    pub ledger: LedgerHandle,
    /// Shard states, command latencies and skipped payloads, for `/metrics`.
    pub metrics: crate::metrics::Metrics,
    /// How long each command took to answer.
    pub timings: crate::timings::CommandTimings,
    /// The in-memory leaderboards (ready once loaded).
    pub rankings: Arc<Rankings>,
    /// The database, for the few writes commands make themselves.
    pub database: Database,
    /// Avatars for rank cards, from Discord's CDN.
    pub avatars: crate::avatars::Avatars,
}
