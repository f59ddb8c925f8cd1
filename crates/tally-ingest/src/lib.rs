//! From gateway events to committed counts: decoding and translation (pure),
//! the counting rules applied inside a transaction, and the ledger that
//! batches commits. Stored requests of the command line become activities
//! here too (`requests`).
//!
//! - **Depends on** `tally-domain` (the rules' types) and `tally-store`
//!   (the batch seam it writes through), and on twilight's gateway types to
//!   decode; never on the Discord client, the web or the binary.
//! - **Start reading** at [`decode`] (a frame becomes a typed event or the
//!   reason it was refused) and [`translate`] (an event becomes activities),
//!   then [`apply::apply`], where an activity becomes counts and XP inside
//!   the batch's transaction, and [`Ledger`], which commits batches exactly
//!   once.

pub mod admin;
pub mod apply;
pub mod chunks;
pub mod decode;
pub mod fast;
pub mod histogram;
pub mod ledger;
pub mod privacy;
pub mod problem;
pub mod requests;
#[cfg(test)]
mod scale_tests;
pub mod translate;

pub use ledger::{Envelope, Ledger, LedgerHandle, LedgerStats, SessionInfo};

/// The rules' types, as `crate::domain` inside this crate.
use tally_domain as domain;
/// Where the counts are written, as `crate::store` inside this crate.
use tally_store as store;
