//! A server's settings as stored: the XP range in its own columns, the rest
//! as one JSON document (`guilds.leveling`), so a new setting needs no
//! migration and every backend stores it the same way.

use crate::domain::{Leveling, XpSettings};

use super::StoreError;

/// Everything `/config` sets for a server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// XP per message and the cooldown.
    pub xp: XpSettings,
    /// The curve, no-XP channels and roles, multipliers, announcements.
    pub leveling: Leveling,
}

/// The document stored for `leveling`.
pub fn to_document(leveling: &Leveling) -> String {
    serde_json::to_string(leveling).expect("settings always serialise")
}

/// Reads a stored document; a server without one has the defaults.
pub fn from_document(document: Option<&str>) -> Result<Leveling, StoreError> {
    match document {
        None => Ok(Leveling::default()),
        Some(text) => serde_json::from_str(text)
            .map_err(|error| StoreError::Corrupt(format!("a server's leveling settings cannot be read: {error}"))),
    }
}

/// A level-up waiting in the outbox, with what its message needs of the member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingLevelUp {
    /// The outbox row.
    pub row: super::LevelUpRow,
    /// The member's name as the server shows it ('' when not stored).
    pub display_name: String,
    /// Whether the member lets announcements ping them (`/notify`).
    pub pings: bool,
}

/// A join or leave waiting to be posted, with what its message needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingLogPost {
    /// The outbox row.
    pub post: super::LogPost,
    /// The member's name as the server shows it ('' when not stored).
    pub display_name: String,
}

/// A request the command line left for the ledger (an import).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminRequest {
    /// Its id, claimed when applied.
    pub id: super::Id,
    /// The server.
    pub guild_id: super::Id,
    /// `import`.
    pub kind: String,
    /// What to do, as JSON.
    pub payload: String,
}

/// Where a stored request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestState {
    /// Its id.
    pub id: super::Id,
    /// When a running bot last took it into its ledger.
    pub picked_at_ms: Option<i64>,
    /// When it was applied.
    pub done_at_ms: Option<i64>,
}

/// A member whose reward roles the role task must bring in line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingRewardSync {
    /// The server.
    pub guild_id: super::Id,
    /// The member.
    pub user_id: super::Id,
    /// When it was queued: the task removes the entry only if it was not queued again meanwhile.
    pub queued_at_ms: i64,
    /// The member's XP now (0 when not stored).
    pub xp: u64,
    /// Whether the member has left (nothing to do then).
    pub left: bool,
}
