//! From gateway events to committed counts: translation (pure), the counting
//! rules applied inside a transaction, and the ledger that batches commits.

pub mod admin;
pub mod apply;
pub mod chunks;
pub mod decode;
pub mod fast;
pub mod ledger;
pub mod privacy;
pub mod problem;
#[cfg(test)]
mod scale_tests;
pub mod translate;

pub use ledger::{Envelope, Ledger, LedgerHandle, LedgerStats, SessionInfo};
