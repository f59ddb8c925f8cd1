//! Work the command line leaves for the ledger (`tally import`, `tally
//! forget`, `tally purge`): stored as requests in the database
//! ([`crate::ingest::requests`] says what each holds and asks for), taken by
//! a running bot whose shards hold the server ([`take`]), or applied by the
//! command itself when no bot takes them ([`hand_over`]). Each is claimed
//! in the transaction that applies it, so it counts once whoever applies it.

pub mod hand_over;
pub mod take;

pub use crate::ingest::requests::{activity, ForgetRequest, PurgeRequest, Request, FORGET, IMPORT, PURGE};
