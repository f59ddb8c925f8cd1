//! Tally: a Discord bot that counts member activity exactly once and turns it
//! into XP, levels and leaderboards.
//!
//! Data flows gateway → [`discord::shard`] → [`ingest::translate`] (pure) →
//! [`ingest::Ledger`] (group commit) → [`store`]; interactions flow to
//! [`discord::commands`], which read the store and answer over REST.
//!
//! This crate is the binary: configuration ([`config`]), the command line
//! ([`cli`]), the demo ([`demo`]) and the assembly ([`bot`]), the only
//! crate that knows all the others. It depends on and re-exports the pure
//! rules ([`domain`]), the images ([`card`]), the storage ([`store`]), the
//! way from events to counts ([`ingest`]), imports and exports
//! ([`transfer`]), the Discord side ([`discord`]) and the web pages
//! ([`web`]), each a crate of its own (see STRUCTURE.md). Start reading at
//! [`bot::Bot::start`], or at the README's "Where to start reading".

pub mod bot;
pub mod cli;
pub mod config;
pub mod demo;
pub mod progress;
pub mod shutdown;

/// The images, in a crate of their own ([`tally_card`]).
pub use tally_card as card;
/// The Discord side, in a crate of its own ([`tally_discord`]).
pub use tally_discord as discord;
/// The pure rules, in a crate of their own ([`tally_domain`]).
pub use tally_domain as domain;
/// The seeded generator the demo, tests and benchmark share.
pub use tally_domain::dice;
/// From gateway events to committed counts, in a crate of its own ([`tally_ingest`]).
pub use tally_ingest as ingest;
/// Where counts live, in a crate of its own ([`tally_store`]).
pub use tally_store as store;
/// Imports and exports, in a crate of its own ([`tally_transfer`]).
pub use tally_transfer as transfer;
/// The web pages, in a crate of their own ([`tally_web`]).
pub use tally_web as web;
