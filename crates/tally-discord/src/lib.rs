//! Tally's Discord side: the gateway shards that read events and hand them
//! to the ledger, the slash commands that answer members and admins, and
//! the tasks that talk back to Discord after a commit (level-up and
//! join/leave posts, reward roles), with identify turns, pacing by
//! Discord's rate-limit headers and REST retries within a deadline.
//!
//! - **Depends on** `tally-domain`, `tally-card` (the images commands
//!   attach), `tally-store` (read through `Reader`), `tally-ingest` (the
//!   ledger events go to, admins' command definitions) and `tally-transfer`
//!   (`/import`, `/export`), and on twilight; never on the web or the binary.
//! - **Start reading** at [`shard::run`] (a gateway payload goes to the
//!   ledger; an interaction to a command) and [`commands`] (each command in
//!   a file of its own). What the running tasks share is [`context::Context`],
//!   built by the assembly in the `tally` crate.

pub mod announce;
pub mod avatars;
pub mod boards;
pub mod commands;
pub mod context;
pub mod identify;
pub mod metrics;
pub mod outbox;
pub mod pacing;
pub mod requests;
pub mod retention;
pub mod retry;
pub mod roles;
pub mod shard;
pub mod timings;
pub mod tls;

/// The images commands attach, as `crate::card` inside this crate.
use tally_card as card;
/// The rules' types, as `crate::domain` inside this crate.
use tally_domain as domain;
/// The ledger and admins' command definitions, as `crate::ingest`.
use tally_ingest as ingest;
/// What is read for commands, as `crate::store` inside this crate.
use tally_store as store;
/// `/import` and `/export`, as `crate::import` and `crate::export`.
use tally_transfer::{export, import};
