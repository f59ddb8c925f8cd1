//! What happened in a server, in Tally's own terms. The gateway translator
//! turns Discord events into these; the ledger turns these into counts.

pub use crate::snowflake::Id;

/// Who a member is, as far as a payload tells: kept current for leaderboards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberProfile {
    /// The server.
    pub guild_id: Id,
    /// The member's user id.
    pub user_id: Id,
    /// The account's unique username.
    pub username: String,
    /// What the server shows: server nickname, else global display name, else username.
    pub display_name: String,
    /// Bots never earn anything.
    pub bot: bool,
    /// The account's avatar hash, as Discord's CDN names it; None without one.
    pub avatar: Option<String>,
    /// When the member joined the server (ms since the Unix epoch), when the payload says.
    pub joined_at_ms: Option<i64>,
}

/// Identifies one member's reaction with one emoji on one message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReactionKey {
    /// The message reacted to.
    pub message_id: Id,
    /// Who reacted.
    pub user_id: Id,
    /// `id:<custom emoji id>` or the unicode emoji itself.
    pub emoji: String,
}

/// One thing that happened, ready to be counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Activity {
    /// Tally can see this server (GUILD_CREATE).
    GuildSeen {
        /// The server.
        guild_id: Id,
        /// Its name.
        name: String,
        /// Its AFK voice channel, where time does not count.
        afk_channel_id: Option<Id>,
    },
    /// A payload in the gateway's order showed this member is in the server
    /// now (GUILD_CREATE, GUILD_MEMBER_UPDATE, a voice state in a channel).
    /// A member recorded as gone is present again.
    MemberSeen(MemberProfile),
    /// A member list (GUILD_MEMBERS_CHUNK) showed this member. Chunks answer
    /// a request and may trail the events around them, so a member recorded
    /// as gone is present again only if the leave was recorded before the
    /// list was requested.
    MemberListed {
        /// Who, as the list shows them.
        profile: MemberProfile,
        /// When the list was requested (ms); None for a list Tally did not
        /// ask for, which brings no one back.
        requested_at_ms: Option<i64>,
    },
    /// The member joined the server (GUILD_MEMBER_ADD). A rejoin is a new join.
    MemberJoined(MemberProfile),
    /// The member left, was kicked or was banned (GUILD_MEMBER_REMOVE).
    MemberLeft {
        /// The server.
        guild_id: Id,
        /// Who left.
        user_id: Id,
        /// When Tally learned of it (Discord's payload carries no time).
        at_ms: i64,
    },
    /// A message was posted in a server.
    Message {
        /// The author's profile (the payload carries author and member).
        author: MemberProfile,
        /// The message id, whose timestamp dates the message.
        message_id: Id,
        /// The channel (no-XP channels and channel multipliers).
        channel_id: Id,
        /// The author's roles in the server, as the payload lists them.
        roles: Vec<Id>,
    },
    /// An admin changed a leveling setting (`/config`), at this point in the
    /// event stream: events before it count under the old settings, events
    /// after it under the new.
    Configure {
        /// The server.
        guild_id: Id,
        /// What changed.
        change: crate::SettingChange,
    },
    /// An admin changed a member's XP (`/xp add|remove|set|reset`).
    AdjustXp {
        /// The server.
        guild_id: Id,
        /// Whose XP.
        user_id: Id,
        /// What was done.
        change: crate::xp::XpChange,
        /// The admin.
        by: Id,
        /// The interaction's id: its time dates the change, and it keys the
        /// audit entry so a replay writes none twice.
        interaction_id: Id,
    },
    /// An admin confirmed `/xp reset-server`: every member's XP goes to zero.
    ResetServerXp {
        /// The server.
        guild_id: Id,
        /// The admin.
        by: Id,
        /// The confirming click's interaction id.
        interaction_id: Id,
    },
    /// An admin asked to bring every member's reward roles in line (`/rewards sync`).
    SyncRewards {
        /// The server.
        guild_id: Id,
    },
    /// An import (`tally import`): members' XP and counts merged by `mode`.
    /// `request_id` is claimed in the same transaction, so the import is
    /// applied once whoever applies it (the running bot or the command).
    Import {
        /// The server.
        guild_id: Id,
        /// The rows.
        rows: Vec<crate::import::ImportRow>,
        /// How they merge.
        mode: crate::import::ImportMode,
        /// The stored request this applies.
        request_id: Id,
    },
    /// A member's privacy choice (`/privacy hide|show|stop|start`).
    Privacy {
        /// The server.
        guild_id: Id,
        /// The member.
        user_id: Id,
        /// What they chose.
        change: crate::privacy::PrivacyChange,
        /// When (the interaction's time): stopping ends a voice session here.
        at_ms: i64,
    },
    /// Everything Tally holds about a member in a server is erased
    /// (`/privacy delete`, confirmed, or `tally forget`); the server's
    /// totals per day keep their sums. `request_id` when it came from the
    /// command line, claimed as an import is.
    Forget {
        /// The server.
        guild_id: Id,
        /// The member.
        user_id: Id,
        /// The stored request this applies, if any.
        request_id: Option<Id>,
    },
    /// The bot was removed from a server (GUILD_DELETE without
    /// `unavailable`): the retention clock starts.
    GuildRemoved {
        /// The server.
        guild_id: Id,
        /// When Tally learned it (ms).
        at_ms: i64,
    },
    /// A new gateway session's READY listed these servers for one shard
    /// (available or not). A server Tally holds on that shard that READY
    /// does not list removed the bot while Tally was away for longer than
    /// Discord replays: its retention clock starts, as for GUILD_DELETE.
    ShardGuilds {
        /// The shard whose session this is.
        shard_id: u32,
        /// How many shards there are.
        shard_count: u32,
        /// Every server READY listed for it.
        listed: Vec<Id>,
        /// When Tally received READY (ms).
        at_ms: i64,
    },
    /// Every row of a server is erased: its retention ran out
    /// (`removed_at_ms`: only if it is still removed since then), or an
    /// admin ran `tally purge` (`request_id`).
    PurgeGuild {
        /// The server.
        guild_id: Id,
        /// The removal the retention clock counted from, if that is why.
        removed_at_ms: Option<i64>,
        /// The stored request this applies, if any.
        request_id: Option<Id>,
    },
    /// A member turned level-up pings to themselves off or on (`/notify`).
    Notify {
        /// The server.
        guild_id: Id,
        /// The member.
        user_id: Id,
        /// Whether announcements may ping them.
        pings: bool,
    },
    /// A reaction was added.
    ReactionAdded {
        /// The server.
        guild_id: Id,
        /// The reaction.
        key: ReactionKey,
        /// Whether the reactor is a bot, when the payload says.
        reactor_is_bot: bool,
        /// Author of the message reacted to (`message_author_id`), when Discord sends it.
        author_id: Option<Id>,
        /// When Tally received it (ms): Discord's payload carries no time, and
        /// the day it is counted on comes from this.
        at_ms: i64,
    },
    /// A reaction was removed.
    ReactionRemoved {
        /// The server.
        guild_id: Id,
        /// The reaction.
        key: ReactionKey,
    },
    /// All reactions on a message were removed, or all of one emoji when `emoji` is set.
    ReactionsCleared {
        /// The server.
        guild_id: Id,
        /// The message.
        message_id: Id,
        /// Only this emoji's reactions, or all.
        emoji: Option<String>,
    },
    /// A member joined, moved between or left voice channels
    /// (VOICE_STATE_UPDATE; mute and similar changes arrive the same way).
    VoiceChanged {
        /// The server.
        guild_id: Id,
        /// Who.
        user_id: Id,
        /// The channel they are in now; None when they left voice.
        channel_id: Option<Id>,
        /// Whether they are a bot, when the payload says.
        bot: bool,
        /// Whether they are self-muted or self-deafened (no voice XP then).
        muted: bool,
        /// When Tally received it (ms): the payload carries no time.
        at_ms: i64,
    },
    /// Everyone in a server's voice channels right now (GUILD_CREATE, sent
    /// when a gateway session starts afresh): sessions Tally kept open for
    /// anyone else ended while it could not see.
    VoiceRoster {
        /// The server.
        guild_id: Id,
        /// `(user_id, channel_id, self-muted or deafened)` of each member in voice.
        in_voice: Vec<(Id, Id, bool)>,
        /// When Tally received it (ms).
        at_ms: i64,
        /// After a gap Discord could not replay: when Tally last committed
        /// before it (ms). Sessions of members who left meanwhile end then,
        /// not when Tally came back.
        unseen_since: Option<i64>,
    },
    /// Every chunk of a requested member list has arrived: these are all the
    /// members present. Stored members missing from it who joined before the
    /// request have left while Tally was not watching.
    MemberListComplete {
        /// The server.
        guild_id: Id,
        /// Everyone present.
        present: Vec<Id>,
        /// When the list was requested (ms); later joins are not judged.
        requested_at_ms: i64,
    },
}

impl Activity {
    /// Names of the kinds of activity, indexed by [`Activity::kind_index`]; `/metrics` counts by these.
    pub const KINDS: [&'static str; 23] = [
        "guild",
        "member_seen",
        "join",
        "leave",
        "message",
        "reaction_add",
        "reaction_remove",
        "reactions_cleared",
        "member_list",
        "voice",
        "voice_roster",
        "configure",
        "notify",
        "adjust_xp",
        "reset_server_xp",
        "sync_rewards",
        "import",
        "privacy",
        "forget",
        "guild_removed",
        "purge_guild",
        "shard_guilds",
        "member_listed",
    ];

    /// Whether this is work over a whole server that may be too much for
    /// one transaction (an XP reset, a purge): the ledger applies its event
    /// alone, in pieces, each committed before the next.
    pub fn is_whole_server(&self) -> bool {
        matches!(self, Self::ResetServerXp { .. } | Self::PurgeGuild { .. })
    }

    /// The stored request (an import, a forget, a purge) this applies, if
    /// any: the transaction that applies it marks it done.
    pub fn request_id(&self) -> Option<Id> {
        match self {
            Self::Import { request_id, .. } => Some(*request_id),
            Self::Forget { request_id, .. } | Self::PurgeGuild { request_id, .. } => *request_id,
            _ => None,
        }
    }

    /// Which of [`Activity::KINDS`] this is.
    pub fn kind_index(&self) -> usize {
        match self {
            Self::GuildSeen { .. } => 0,
            Self::MemberSeen(_) => 1,
            Self::MemberJoined(_) => 2,
            Self::MemberLeft { .. } => 3,
            Self::Message { .. } => 4,
            Self::ReactionAdded { .. } => 5,
            Self::ReactionRemoved { .. } => 6,
            Self::ReactionsCleared { .. } => 7,
            Self::MemberListComplete { .. } => 8,
            Self::VoiceChanged { .. } => 9,
            Self::VoiceRoster { .. } => 10,
            Self::Configure { .. } => 11,
            Self::Notify { .. } => 12,
            Self::AdjustXp { .. } => 13,
            Self::ResetServerXp { .. } => 14,
            Self::SyncRewards { .. } => 15,
            Self::Import { .. } => 16,
            Self::Privacy { .. } => 17,
            Self::Forget { .. } => 18,
            Self::GuildRemoved { .. } => 19,
            Self::PurgeGuild { .. } => 20,
            Self::ShardGuilds { .. } => 21,
            Self::MemberListed { .. } => 22,
        }
    }
}

/// Whether a message of Discord's message `type` is one a member wrote:
/// DEFAULT (0) and REPLY (19). Every other type is Discord's own notice in
/// the channel (a member joined, a boost, a pin, a thread created, …) and
/// counts nowhere: no message, no XP, no day. Both gateway decoders ask
/// this one rule, so they cannot disagree on it.
pub fn is_written_by_member(message_type: u8) -> bool {
    matches!(message_type, 0 | 19)
}
