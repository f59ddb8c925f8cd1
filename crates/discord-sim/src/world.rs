//! The simulated Discord's contents: users, servers, members, messages.

use std::collections::{BTreeMap, HashMap};

/// A Discord account.
#[derive(Debug, Clone)]
pub struct User {
    /// Snowflake id.
    pub id: u64,
    /// Unique username.
    pub username: String,
    /// Display name across Discord, if set.
    pub global_name: Option<String>,
    /// Bot accounts.
    pub bot: bool,
    /// Avatar hash; None for Discord's default avatar.
    pub avatar: Option<String>,
}

/// A user's membership in a server.
#[derive(Debug, Clone)]
pub struct Member {
    /// The user.
    pub user_id: u64,
    /// Server nickname.
    pub nick: Option<String>,
    /// When they (last) joined, Unix ms.
    pub joined_at_ms: u64,
    /// The voice channel they sit in, if any (such members come in GUILD_CREATE).
    pub voice_channel: Option<u64>,
}

/// A server.
#[derive(Debug, Clone)]
pub struct Guild {
    /// Snowflake id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// The owner's user id.
    pub owner_id: u64,
    /// Its text channels.
    pub channels: Vec<u64>,
    /// Its voice channels; the last is the AFK channel.
    pub voice_channels: Vec<u64>,
    /// Present members by user id.
    pub members: BTreeMap<u64, Member>,
    /// When the bot joined, Unix ms.
    pub bot_joined_at_ms: u64,
}

/// What the simulator remembers of a posted message.
#[derive(Debug, Clone, Copy)]
pub struct MessageInfo {
    /// Its server.
    pub guild_id: u64,
    /// Its channel.
    pub channel_id: u64,
    /// Who wrote it.
    pub author_id: u64,
}

/// Everything in the simulated Discord.
#[derive(Debug, Default)]
pub struct World {
    /// All accounts, the bot's included.
    pub users: HashMap<u64, User>,
    /// All servers.
    pub guilds: BTreeMap<u64, Guild>,
    /// Posted messages.
    pub messages: HashMap<u64, MessageInfo>,
}

impl World {
    /// The server a channel belongs to.
    pub fn guild_of_channel(&self, channel_id: u64) -> Option<u64> {
        self.guilds.values().find(|g| g.channels.contains(&channel_id)).map(|g| g.id)
    }
}
