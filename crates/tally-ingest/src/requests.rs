//! Work the command line leaves for the ledger (`tally import`, `tally
//! forget`, `tally purge`), as stored in the database: each request's kind,
//! its content and digest, and the activity it asks for. A running bot
//! takes them into its ledger (`tally-discord`'s `requests`); when none
//! does, the command applies them itself ([`hand_over`]). Each is claimed
//! in the transaction that applies it, so it counts once whoever applies it.

pub mod hand_over;

use sha2::{Digest, Sha256};

use crate::domain::activity::{Activity, Id};
use crate::domain::import::ImportRequest;

/// The `kind` of import requests.
pub const IMPORT: &str = "import";
/// The `kind` of erasure requests (`tally forget`).
pub const FORGET: &str = "forget";
/// The `kind` of purge requests (`tally purge`).
pub const PURGE: &str = "purge";

/// A request's content: its digest (what makes it the same request on a
/// second run), its JSON, and how many members it holds (for progress).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// SHA-256 of the kind and the JSON, hex.
    pub digest: String,
    /// What to do, as JSON.
    pub payload: String,
    /// How many members it concerns.
    pub rows: usize,
}

impl Request {
    /// A request of `kind` carrying `payload`.
    pub fn new(kind: &str, payload: String, rows: usize) -> Self {
        let mut hash = Sha256::new();
        hash.update(kind.as_bytes());
        hash.update([0]);
        hash.update(payload.as_bytes());
        let digest = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
        Self { digest, payload, rows }
    }
}

/// What `tally forget` stores: the member, and when it was asked (so
/// asking again later, after they came back, is a new request).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ForgetRequest {
    /// The member.
    pub user_id: Id,
    /// When it was asked (ms).
    pub asked_at_ms: i64,
}

/// What `tally purge` stores: when it was asked (each run is its own request).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PurgeRequest {
    /// When it was asked (ms).
    pub asked_at_ms: i64,
}

/// The activity a stored request asks for; None for a kind or payload this
/// version cannot read.
pub fn activity(kind: &str, guild_id: Id, request_id: Id, payload: &str) -> Option<Activity> {
    match kind {
        IMPORT => {
            let ImportRequest { mode, rows } = serde_json::from_str(payload).ok()?;
            Some(Activity::Import { guild_id, rows, mode, request_id })
        }
        FORGET => {
            let ForgetRequest { user_id, .. } = serde_json::from_str(payload).ok()?;
            Some(Activity::Forget { guild_id, user_id, request_id: Some(request_id) })
        }
        PURGE => {
            let PurgeRequest { .. } = serde_json::from_str(payload).ok()?;
            Some(Activity::PurgeGuild { guild_id, removed_at_ms: None, request_id: Some(request_id) })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kind_is_part_of_the_digest() {
        assert_eq!(Request::new(IMPORT, "{}".into(), 0), Request::new(IMPORT, "{}".into(), 0));
        assert_ne!(Request::new(IMPORT, "{}".into(), 0).digest, Request::new(FORGET, "{}".into(), 0).digest);
    }

    #[test]
    fn stored_requests_read_back_as_activities() {
        let forget = serde_json::to_string(&ForgetRequest { user_id: 9, asked_at_ms: 1 }).unwrap();
        assert_eq!(
            activity(FORGET, 5, 77, &forget),
            Some(Activity::Forget { guild_id: 5, user_id: 9, request_id: Some(77) })
        );
        assert_eq!(activity("frobnicate", 5, 77, "{}"), None);
        assert_eq!(activity(IMPORT, 5, 77, "not json"), None);
    }
}
