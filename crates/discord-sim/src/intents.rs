//! Gateway intent bits, as Discord numbers them.

/// Servers: GUILD_CREATE and friends.
pub const GUILDS: u64 = 1 << 0;
/// Privileged: joins, leaves, member lists.
pub const GUILD_MEMBERS: u64 = 1 << 1;
/// Voice state changes.
pub const GUILD_VOICE_STATES: u64 = 1 << 7;
/// Privileged: presences (and full member lists in GUILD_CREATE).
pub const GUILD_PRESENCES: u64 = 1 << 8;
/// Messages in servers.
pub const GUILD_MESSAGES: u64 = 1 << 9;
/// Reactions in servers.
pub const GUILD_MESSAGE_REACTIONS: u64 = 1 << 10;
/// Privileged: message content.
pub const MESSAGE_CONTENT: u64 = 1 << 15;
/// The privileged ones.
pub const PRIVILEGED: u64 = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT;
/// Every bit Discord defines today.
pub const ALL: u64 = (1 << 0)
    | (1 << 1)
    | (1 << 2)
    | (1 << 3)
    | (1 << 4)
    | (1 << 5)
    | (1 << 6)
    | (1 << 7)
    | (1 << 8)
    | (1 << 9)
    | (1 << 10)
    | (1 << 11)
    | (1 << 12)
    | (1 << 13)
    | (1 << 14)
    | (1 << 15)
    | (1 << 16)
    | (1 << 20)
    | (1 << 21)
    | (1 << 24)
    | (1 << 25);
