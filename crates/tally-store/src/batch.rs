//! The write seam: what one batch reads and writes, in bulk. The counting
//! rules (`ingest::apply`) read everything a batch needs up front, decide
//! in memory, and write the result back, so a backend over the network pays
//! a few round trips per batch, never one per event.

use crate::domain::{activity::Id, Leveling, ReactionKey, XpSettings};

pub use super::settings::PendingLogPost;
use super::{CountedReaction, DayChange, Member, MembershipChange, RowWrite, ShardPosition, StoreError};

/// What the counting rules need to know about a server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuildRules {
    /// Its XP rules (defaults until an admin changes them).
    pub xp: XpSettings,
    /// Its AFK channel, where voice time does not count.
    pub afk_channel_id: Option<Id>,
    /// Its other leveling settings.
    pub leveling: Leveling,
}

/// A server's settings as an admin changed them in the batch: written
/// whole (the XP range and the leveling document).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsWrite<'a> {
    /// The server.
    pub guild_id: Id,
    /// The XP range and cooldown.
    pub xp: XpSettings,
    /// The rest.
    pub leveling: &'a Leveling,
}

/// A join or leave to post in the server's log channel, as the batch that
/// saw it records it in the outbox (live joins and leaves only: not those a
/// member list reveals after Tally was away).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogPost {
    /// The server.
    pub guild_id: Id,
    /// The member.
    pub user_id: Id,
    /// Joined or left.
    pub change: MembershipChange,
    /// When (ms).
    pub at_ms: i64,
    /// The log channel when it happened.
    pub channel_id: Id,
    /// For a leave: when they had joined (ms), if known.
    pub joined_at_ms: Option<i64>,
}

/// One entry of the XP audit log: an admin's `/xp` change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// The server.
    pub guild_id: Id,
    /// The interaction that made it (unique; keys the entry).
    pub interaction_id: Id,
    /// When (ms since the Unix epoch, from the interaction's id).
    pub at_ms: i64,
    /// The admin.
    pub by: Id,
    /// Whose XP; 0 for the whole server (`/xp reset-server`).
    pub target: Id,
    /// `add`, `remove`, `set`, `reset` or `reset-server`.
    pub action: String,
    /// The amount given (0 for resets).
    pub amount: u64,
    /// XP before (the server's total for `reset-server`).
    pub before: u64,
    /// XP after.
    pub after: u64,
}

/// A level-up to announce, as the batch that found it records it in the
/// outbox. Keyed by (server, member, level): a level is announced once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LevelUpRow {
    /// The server.
    pub guild_id: Id,
    /// The member.
    pub user_id: Id,
    /// The level reached.
    pub level: u32,
    /// The level before the batch.
    pub old_level: u32,
    /// The member's XP when they reached it.
    pub xp: u64,
    /// The channel to announce in; None for a direct message.
    pub channel_id: Option<Id>,
    /// When it was found (ms since the Unix epoch).
    pub created_at_ms: i64,
}

/// A server as a gateway payload showed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuildSeen {
    /// The server.
    pub guild_id: Id,
    /// Its name.
    pub name: String,
    /// Its AFK channel.
    pub afk_channel_id: Option<Id>,
}

/// One entry of the join/leave log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LogEntry {
    /// The server.
    pub guild_id: Id,
    /// The member.
    pub user_id: Id,
    /// Joined or left.
    pub change: MembershipChange,
    /// When (ms since the Unix epoch).
    pub at_ms: i64,
}

/// A counted reaction with the server it was counted in, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredReaction {
    /// The server.
    pub guild_id: Id,
    /// Who reacted, to whom, on which day.
    pub counted: CountedReaction,
}

/// Everything a batch changed, besides the membership log: written by
/// [`StoreOps::write`] in one go, in key order.
#[derive(Debug, Default)]
pub struct Writes<'a> {
    /// Servers seen, with their names and AFK channels.
    pub guilds: Vec<GuildSeen>,
    /// Member rows, each with how much of it changed.
    pub members: Vec<(&'a Member, RowWrite)>,
    /// Signed additions to servers' days: `(guild, day)`.
    pub guild_days: Vec<((Id, i64), DayChange)>,
    /// Signed additions to members' days: `(guild, day, user)`.
    pub member_days: Vec<((Id, i64, Id), DayChange)>,
    /// Counted reactions whose state changed: Some to remember, None to forget.
    pub reactions: Vec<(&'a ReactionKey, Option<StoredReaction>)>,
    /// Voice sessions whose state changed: `(guild, user)` and Some for an
    /// open session, None for one that ended.
    pub voice: Vec<((Id, Id), Option<OpenVoice>)>,
    /// Servers whose settings an admin changed.
    pub settings: Vec<SettingsWrite<'a>>,
    /// Members' choice about level-up pings: `(guild, user)` and whether they may be pinged.
    pub pings: Vec<((Id, Id), bool)>,
    /// Level-ups to announce (one already recorded is kept as it is).
    pub levelups: Vec<LevelUpRow>,
    /// Level-ups to forget because an admin took the XP away: `(guild,
    /// user, level)`, every recorded level above `level` (user 0: every
    /// member). Reached again, they are announced again.
    pub forget_levelups: Vec<(Id, Id, u32)>,
    /// Admins' XP changes, for the audit log.
    pub audit: Vec<AuditEntry>,
    /// Joins and leaves to post in log channels (one already recorded is kept).
    pub log_posts: Vec<LogPost>,
    /// Members whose reward roles may be wrong now: `(guild, user)`, queued
    /// at `queued_at` (ms) for the role task to bring in line.
    pub reward_syncs: Vec<((Id, Id), i64)>,
    /// Servers whose every present member's reward roles must be checked
    /// (rewards, their mode or the curve changed; `/rewards sync`), with
    /// when. Each starts (or starts again) a sweep: one row here, which the
    /// role task turns into queued members a bounded piece at a time
    /// ([`crate::Database::sweep_rewards`]).
    pub reward_sync_all: Vec<(Id, i64)>,
    /// When the bot was removed from servers (GUILD_DELETE without
    /// `unavailable`), or None where it is back (GUILD_CREATE): the
    /// retention clock.
    pub removed: Vec<(Id, Option<i64>)>,
}

impl Writes<'_> {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.guilds.is_empty()
            && self.members.is_empty()
            && self.guild_days.is_empty()
            && self.member_days.is_empty()
            && self.reactions.is_empty()
            && self.voice.is_empty()
            && self.settings.is_empty()
            && self.pings.is_empty()
            && self.levelups.is_empty()
            && self.forget_levelups.is_empty()
            && self.audit.is_empty()
            && self.log_posts.is_empty()
            && self.reward_syncs.is_empty()
            && self.reward_sync_all.is_empty()
            && self.removed.is_empty()
    }
}

/// An open voice session, as stored between batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenVoice {
    /// When it began (ms): its time is credited when it ends.
    pub since: i64,
    /// The channel the member is in now (None for sessions stored before
    /// Tally kept it).
    pub channel_id: Option<Id>,
    /// Whether the member is self-muted or self-deafened.
    pub muted: bool,
    /// Since when the member earns voice XP (ms), carried over the last
    /// partial minute; None while they earn none.
    pub earning_since: Option<i64>,
}

/// An open voice session: `(guild, user)` and its state.
pub type VoiceSession = ((Id, Id), OpenVoice);

/// The bulk reads and writes of one batch, inside one transaction.
/// Implemented by each backend over its open transaction; the counting logic
/// itself lives in `ingest::apply` and is shared by all backends. Every read
/// sees the database as it was before the batch wrote anything.
pub trait StoreOps {
    /// The rules of these servers; servers never stored are left out.
    fn guild_rules(&mut self, guilds: &[Id]) -> Result<Vec<(Id, GuildRules)>, StoreError>;
    /// The stored members among `keys` (`(guild, user)`, sorted).
    fn load_members(&mut self, keys: &[(Id, Id)]) -> Result<Vec<Member>, StoreError>;
    /// Members stored as present in a server.
    fn present_members(&mut self, guild_id: Id) -> Result<Vec<Id>, StoreError>;
    /// Marks a stored request (an import) as applied at `at_ms`: true when
    /// this transaction is the one that applies it, false when it was
    /// applied already. Its payload is emptied: the rows live on in the
    /// members they changed, not in a second copy (the digest stays, so a
    /// second run of the same import still finds it applied).
    fn claim_request(&mut self, request_id: Id, at_ms: i64) -> Result<bool, StoreError>;
    /// Whether a stored request was applied: marked done, or gone (a purge
    /// of its server takes the requests it finished). What the ledger reads
    /// back after a commit whose outcome it could not learn.
    fn request_applied(&mut self, request_id: Id) -> Result<bool, StoreError>;
    /// Up to `limit` members of a server who have XP, whole, in whatever
    /// order the backend finds them cheapest without walking past those
    /// already at zero: an XP reset's next piece, read once.
    fn members_with_xp(&mut self, guild_id: Id, limit: usize) -> Result<Vec<Member>, StoreError>;
    /// The XP every member of a server holds, summed.
    fn guild_xp_total(&mut self, guild_id: Id) -> Result<u64, StoreError>;
    /// Whether the audit log holds the entry of `interaction_id` on
    /// `target` (0: the whole server): whole-server work written by an
    /// earlier piece.
    fn audit_written(&mut self, guild_id: Id, interaction_id: Id, target: Id) -> Result<bool, StoreError>;
    /// Every member ever stored for a server, present or not.
    fn all_member_ids(&mut self, guild_id: Id) -> Result<Vec<Id>, StoreError>;
    /// Erases everything stored about a member in a server (`/privacy
    /// delete`): their row, days, membership log, the counted reactions they
    /// gave (those they received keep counting for the giver, with no
    /// author), voice session, choices, queued posts and level-ups, the XP
    /// log about them (entries they made as an admin lose their name), and
    /// their card colour when no other server holds them. The server's days
    /// keep their sums.
    fn erase_member(&mut self, guild_id: Id, user_id: Id) -> Result<(), StoreError>;
    /// Servers stored and not removed: those Tally holds as the bot's.
    fn held_guilds(&mut self) -> Result<Vec<Id>, StoreError>;
    /// When the bot was removed from a server (None: it is there).
    fn guild_removed_at(&mut self, guild_id: Id) -> Result<Option<i64>, StoreError>;
    /// Erases every row of a server in every table, its days included, and
    /// card colours of members no other server holds: all of it, or (where
    /// a transaction is bounded by what it writes, as on MongoDB) at least
    /// one and at most `limit` rows of it, the server's own row last. True
    /// once nothing of the server is left.
    fn purge_guild(&mut self, guild_id: Id, limit: usize) -> Result<bool, StoreError>;
    /// Counted reactions with one of `keys`, or on one of `messages`.
    fn counted_reactions(
        &mut self,
        keys: &[&ReactionKey],
        messages: &[Id],
    ) -> Result<Vec<(ReactionKey, StoredReaction)>, StoreError>;
    /// Open voice sessions `((guild, user), since)` of `members`, and of
    /// everyone in `guilds`.
    fn voice_sessions(&mut self, members: &[(Id, Id)], guilds: &[Id]) -> Result<Vec<VoiceSession>, StoreError>;
    /// Appends to the join/leave log, ignoring entries already there.
    /// Returns, for each entry, whether it was new. `entries` has no repeats.
    fn log_memberships(&mut self, entries: &[LogEntry]) -> Result<Vec<bool>, StoreError>;
    /// Writes what the batch changed.
    fn write(&mut self, writes: &Writes<'_>) -> Result<(), StoreError>;
    /// Stores where shards' sessions stand.
    fn save_positions(&mut self, positions: &[ShardPosition]) -> Result<(), StoreError>;
}

/// The statements of [`StoreOps::erase_member`], with `{g}` and `{u}` for
/// the server's and member's parameters; the order matters only for the
/// last, which looks for the member in other servers.
pub const ERASE_MEMBER: &[&str] = &[
    "DELETE FROM members WHERE guild_id = {g} AND user_id = {u}",
    "DELETE FROM member_days WHERE guild_id = {g} AND user_id = {u}",
    "DELETE FROM membership_log WHERE guild_id = {g} AND user_id = {u}",
    "DELETE FROM counted_reactions WHERE guild_id = {g} AND user_id = {u}",
    "UPDATE counted_reactions SET author_id = 0 WHERE guild_id = {g} AND author_id = {u}",
    "DELETE FROM voice_sessions WHERE guild_id = {g} AND user_id = {u}",
    "DELETE FROM member_prefs WHERE guild_id = {g} AND user_id = {u}",
    "DELETE FROM levelups WHERE guild_id = {g} AND user_id = {u}",
    "DELETE FROM reward_queue WHERE guild_id = {g} AND user_id = {u}",
    "DELETE FROM log_posts WHERE guild_id = {g} AND user_id = {u}",
    "DELETE FROM xp_audit WHERE guild_id = {g} AND target_id = {u}",
    "UPDATE xp_audit SET by_id = 0 WHERE guild_id = {g} AND by_id = {u}",
    "DELETE FROM card_prefs WHERE user_id = {u} AND NOT EXISTS (SELECT 1 FROM members WHERE user_id = {u})",
];

/// The statements of [`StoreOps::purge_guild`], with `{g}` for the server.
pub const PURGE_GUILD: &[&str] = &[
    "DELETE FROM member_days WHERE guild_id = {g}",
    "DELETE FROM guild_days WHERE guild_id = {g}",
    "DELETE FROM membership_log WHERE guild_id = {g}",
    "DELETE FROM counted_reactions WHERE guild_id = {g}",
    "DELETE FROM voice_sessions WHERE guild_id = {g}",
    "DELETE FROM member_prefs WHERE guild_id = {g}",
    "DELETE FROM levelups WHERE guild_id = {g}",
    "DELETE FROM reward_queue WHERE guild_id = {g}",
    "DELETE FROM reward_sweeps WHERE guild_id = {g}",
    "DELETE FROM reward_problems WHERE guild_id = {g}",
    "DELETE FROM log_posts WHERE guild_id = {g}",
    "DELETE FROM xp_audit WHERE guild_id = {g}",
    "DELETE FROM admin_requests WHERE guild_id = {g} AND done_at IS NOT NULL",
    "DELETE FROM card_prefs WHERE user_id IN (SELECT user_id FROM members WHERE guild_id = {g})
         AND user_id NOT IN (SELECT user_id FROM members WHERE guild_id <> {g})",
    "DELETE FROM members WHERE guild_id = {g}",
    "DELETE FROM guilds WHERE guild_id = {g}",
];
