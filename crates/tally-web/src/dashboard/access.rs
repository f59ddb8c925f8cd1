//! Who may manage a server from the dashboard: Discord's own rule for
//! `/config` — the owner, or a member holding Manage Server or
//! Administrator. Discord sends permissions as a string of a 64-bit
//! integer.

use serde::{Deserialize, Serialize};

/// Administrator (bit 3).
pub const ADMINISTRATOR: u64 = 1 << 3;
/// Manage Server (bit 5).
pub const MANAGE_GUILD: u64 = 1 << 5;

/// One of the user's servers, as List Current User Guilds gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedGuild {
    /// The server's id (a string of a snowflake).
    pub id: String,
    /// Its name.
    pub name: String,
    /// Whether the user owns it.
    #[serde(default)]
    pub owner: bool,
    /// The user's permissions there, a string of a 64-bit integer.
    #[serde(default)]
    pub permissions: String,
}

impl ListedGuild {
    /// The server's id as a number, if it is one.
    pub fn guild_id(&self) -> Option<u64> {
        self.id.parse().ok()
    }

    /// Whether the user may change Tally's settings there.
    pub fn may_manage(&self) -> bool {
        let bits: u64 = self.permissions.parse().unwrap_or(0);
        self.owner || bits & (ADMINISTRATOR | MANAGE_GUILD) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(owner: bool, permissions: &str) -> ListedGuild {
        ListedGuild { id: "1".into(), name: "S".into(), owner, permissions: permissions.into() }
    }

    #[test]
    fn owners_and_managers_may_manage_and_no_one_else() {
        assert!(listed(true, "0").may_manage());
        assert!(listed(false, "32").may_manage(), "Manage Server");
        assert!(listed(false, "8").may_manage(), "Administrator");
        assert!(listed(false, "2251799813685247").may_manage());
        assert!(!listed(false, "1071698660929").may_manage(), "@everyone's defaults");
        assert!(!listed(false, "not a number").may_manage());
    }
}
