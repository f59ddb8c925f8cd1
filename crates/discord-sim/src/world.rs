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
    /// Their roles (ids), besides @everyone.
    pub roles: Vec<u64>,
    /// Self-muted (or deafened) in voice.
    pub self_mute: bool,
}

impl Member {
    /// A member since `joined_at_ms`, without nickname, roles or voice.
    pub fn new(user_id: u64, joined_at_ms: u64) -> Self {
        Self { user_id, nick: None, joined_at_ms, voice_channel: None, roles: Vec::new(), self_mute: false }
    }
}

/// A role in a server.
#[derive(Debug, Clone)]
pub struct Role {
    /// Snowflake id (the server's own id for @everyone).
    pub id: u64,
    /// Name.
    pub name: String,
    /// Permission bits.
    pub permissions: u64,
    /// Place in the hierarchy: higher is more powerful; @everyone is 0.
    pub position: u64,
    /// The bot whose own role this is (managed by Discord), if it is one.
    pub bot_id: Option<u64>,
}

/// A channel's permission overwrite for a role or a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overwrite {
    /// The role (the server's id for @everyone) or member.
    pub id: u64,
    /// Whether `id` is a member (else a role).
    pub member: bool,
    /// Permissions granted.
    pub allow: u64,
    /// Permissions taken away.
    pub deny: u64,
}

/// Discord's permission bits that matter here.
pub mod permissions {
    /// Every permission.
    pub const ALL: u64 = 2_251_799_813_685_247;
    /// Administrator: every permission, overwrites ignored.
    pub const ADMINISTRATOR: u64 = 1 << 3;
    /// Manage Server.
    pub const MANAGE_GUILD: u64 = 1 << 5;
    /// View Channel.
    pub const VIEW_CHANNEL: u64 = 1 << 10;
    /// Send Messages.
    pub const SEND_MESSAGES: u64 = 1 << 11;
    /// Manage Roles.
    pub const MANAGE_ROLES: u64 = 1 << 28;
    /// What @everyone has in a new server, as Discord sets it.
    pub const EVERYONE_DEFAULT: u64 = 1_071_698_660_929;
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
    /// Its roles; the first is @everyone.
    pub roles: Vec<Role>,
    /// Permission overwrites by channel.
    pub overwrites: HashMap<u64, Vec<Overwrite>>,
    /// When the bot joined, Unix ms.
    pub bot_joined_at_ms: u64,
    /// In an outage: Discord lists it as unavailable and sends nothing for it.
    pub outage: bool,
}

/// A file a member attached to a command (an option of type 11).
#[derive(Debug, Clone)]
pub struct Attachment {
    /// Its name, as uploaded.
    pub filename: String,
    /// Its MIME type, as the client guessed it.
    pub content_type: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// The channel it was uploaded in (part of its URL).
    pub channel_id: u64,
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

impl Guild {
    /// A member's permissions in the server, as Discord computes them:
    /// @everyone's and their roles' together; everything for the owner and
    /// for Administrator.
    pub fn permissions_of(&self, user_id: u64) -> u64 {
        if user_id == self.owner_id {
            return permissions::ALL;
        }
        let Some(member) = self.members.get(&user_id) else { return 0 };
        let mut bits = self.roles.first().map_or(0, |r| r.permissions);
        for role in self.roles.iter().filter(|r| member.roles.contains(&r.id)) {
            bits |= role.permissions;
        }
        if bits & permissions::ADMINISTRATOR != 0 {
            permissions::ALL
        } else {
            bits
        }
    }

    /// A member's permissions in one channel: the server's, then the
    /// channel's overwrites for @everyone, their roles, and them, in
    /// Discord's order. Administrators and the owner keep everything.
    pub fn permissions_in(&self, channel_id: u64, user_id: u64) -> u64 {
        let mut bits = self.permissions_of(user_id);
        if bits == permissions::ALL && (user_id == self.owner_id || bits & permissions::ADMINISTRATOR != 0) {
            return bits;
        }
        let Some(overwrites) = self.overwrites.get(&channel_id) else { return bits };
        let roles = self.members.get(&user_id).map(|m| m.roles.clone()).unwrap_or_default();
        if let Some(everyone) = overwrites.iter().find(|o| !o.member && o.id == self.id) {
            bits = (bits & !everyone.deny) | everyone.allow;
        }
        let (mut allow, mut deny) = (0, 0);
        for o in overwrites.iter().filter(|o| !o.member && roles.contains(&o.id)) {
            allow |= o.allow;
            deny |= o.deny;
        }
        bits = (bits & !deny) | allow;
        if let Some(mine) = overwrites.iter().find(|o| o.member && o.id == user_id) {
            bits = (bits & !mine.deny) | mine.allow;
        }
        bits
    }

    /// A role by id.
    pub fn role(&self, role_id: u64) -> Option<&Role> {
        self.roles.iter().find(|r| r.id == role_id)
    }
}

impl World {
    /// The server a channel belongs to.
    pub fn guild_of_channel(&self, channel_id: u64) -> Option<u64> {
        self.guilds.values().find(|g| g.channels.contains(&channel_id)).map(|g| g.id)
    }
}
