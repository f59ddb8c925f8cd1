//! Tally: a Discord bot that counts member activity exactly once and turns it
//! into XP, levels and leaderboards.
//!
//! Data flows gateway → [`shard`] → [`ingest::translate`] (pure) →
//! [`ingest::Ledger`] (group commit) → [`store`]; interactions flow to
//! [`commands`], which read the store and answer over REST.
//!
//! This crate is everything but the pure rules ([`domain`], the crate
//! `tally-domain`), the images ([`card`], the crate `tally-card`), the
//! storage ([`store`], the crate `tally-store`) and the way from events to
//! counts ([`ingest`], the crate `tally-ingest`), which it depends on and
//! re-exports; it is the only crate that knows them all.
//! The Discord side and the web are still modules here, to be cut into
//! crates of their own: see STRUCTURE.md. Start reading at [`bot::Bot::start`], or at
//! the README's "Where to start reading".

pub mod announce;
pub mod avatars;
pub mod boards;
pub mod bot;
pub mod cli;
pub mod commands;
pub mod config;
pub mod context;
pub mod demo;
pub mod export;
pub mod identify;
pub mod import;
pub mod metrics;
pub mod outbox;
pub mod pacing;
pub mod progress;
pub mod requests;
pub mod retention;
pub mod retry;
pub mod roles;
pub mod shard;
pub mod shutdown;
pub mod timings;
pub mod tls;
pub mod web;

/// The images, in a crate of their own ([`tally_card`]).
pub use tally_card as card;
/// The pure rules, in a crate of their own ([`tally_domain`]).
pub use tally_domain as domain;
/// The seeded generator the demo, tests and benchmark share.
pub use tally_domain::dice;
/// From gateway events to committed counts, in a crate of its own ([`tally_ingest`]).
pub use tally_ingest as ingest;
/// Where counts live, in a crate of its own ([`tally_store`]).
pub use tally_store as store;
