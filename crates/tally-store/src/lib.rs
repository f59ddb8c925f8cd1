//! Where Tally's counts live. Every database statement in Tally is in this
//! crate, so a schema change touches one place, and nothing outside it names
//! a backend.
//!
//! - **Depends on** `tally-domain` (the rules' types) and the database
//!   clients; never on Discord, the web or the counting rules.
//! - **Start reading** at [`Database`], which opens what `DATABASE_URL`
//!   names and dispatches to one `backend`; the ledger writes through
//!   [`StoreOps`] inside one transaction per batch (`batch`); commands,
//!   pages and export read through [`Reader`]. Each backend (`sqlite`,
//!   `postgres`, `mongo`) is a module of its own; a new one is one more
//!   module, its `Backend` impl, and the shared suite (`suite`, run on
//!   every backend).

pub(crate) mod backend;
mod batch;
pub mod boards;
pub mod copy;
mod database;
pub mod mongo;
pub mod postgres;
pub mod rankings;
pub mod settings;
pub mod sqlite;
#[cfg(any(test, feature = "testing"))]
pub mod suite;
#[cfg(test)]
mod suite_tests;
pub mod web_sessions;

pub use batch::{
    AuditEntry, GuildRules, GuildSeen, LevelUpRow, LogEntry, LogPost, OpenVoice, PendingLogPost, SettingsWrite,
    StoreOps, StoredReaction, VoiceSession, Writes,
};
pub use database::{Database, Writer};
pub use settings::{AdminRequest, PendingLevelUp, PendingRewardSync, RequestState, Settings};

use crate::domain::activity::Id;
/// The rules' types, as `crate::domain` inside this crate.
use tally_domain as domain;

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite refused or failed.
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL refused or failed, or could not be reached.
    #[error("PostgreSQL: {}", postgres::describe(.0))]
    Postgres(#[from] ::postgres::Error),
    /// MongoDB refused or failed, or could not be reached.
    #[error("MongoDB: {}", mongo::describe(.0))]
    Mongo(#[from] mongodb::error::Error),
    /// The database server cannot give what Tally needs (say, transactions).
    #[error("{0}")]
    Refused(String),
    /// The database URL names nothing Tally can open.
    #[error("unsupported DATABASE_URL {0:?}: expected sqlite://PATH, postgres://USER@HOST/DATABASE, postgresql://…, mongodb://HOST/DATABASE or mongodb+srv://…")]
    UnsupportedUrl(String),
    /// The database URL is of a known kind but malformed.
    #[error("DATABASE_URL: {0}")]
    BadUrl(String),
    /// There is no Tally database where the URL points.
    #[error("no database at {0}: run `tally run` first, or point DATABASE_URL at it")]
    NotFound(String),
    /// A stored value is not what the schema says it should be.
    #[error("unexpected stored data: {0}")]
    Corrupt(String),
    /// The database was written by a newer Tally.
    #[error("database schema version {found} is newer than this Tally understands ({supported})")]
    TooNew {
        /// Version found in the database.
        found: i64,
        /// Newest version this build knows.
        supported: i64,
    },
}

/// A URL as it may be shown in a message: `scheme://user:password@host`
/// becomes `scheme://…@host`, so a mistyped URL never prints its secret.
pub fn without_credentials(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://…{}", &rest[at..]),
        None => url.to_owned(),
    }
}

impl StoreError {
    /// Whether the server gave up on a transaction for its size or length
    /// (MongoDB's transaction lifetime, its 16 MB limits). The ledger
    /// retries such a batch once as it is (a stepdown says the same), then
    /// in smaller pieces, never whole forever.
    pub fn is_overrun(&self) -> bool {
        match self {
            Self::Mongo(error) => mongo::is_overrun(error),
            _ => false,
        }
    }

    /// Whether waiting and trying again may succeed: the database is busy,
    /// locked by another process, unreachable or restarting, the disk is full,
    /// the file cannot be opened or written for now. Corruption, a wrong file
    /// or a broken constraint will fail the same way however often they are
    /// retried.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Sqlite(error) => sqlite::is_transient(error),
            Self::Postgres(error) => postgres::is_transient(error),
            Self::Mongo(error) => mongo::is_transient(error),
            _ => false,
        }
    }
}

/// One member of one server, as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Member {
    /// The server.
    pub guild_id: Id,
    /// The member.
    pub user_id: Id,
    /// Unique username.
    pub username: String,
    /// Name shown in the server.
    pub display_name: String,
    /// Bots are stored (to know that reactions to them do not count) but never earn.
    pub bot: bool,
    /// Messages posted.
    pub messages: u64,
    /// Reactions this member added to others' messages, still standing.
    pub reactions_given: u64,
    /// Reactions others added to this member's messages, still standing.
    pub reactions_received: u64,
    /// Total XP.
    pub xp: u64,
    /// Time spent in voice channels (AFK channel aside), in finished sessions, ms.
    pub voice_ms: u64,
    /// The account's avatar hash, for pictures on the web page.
    pub avatar: Option<String>,
    /// Snowflake time (ms) of the last message that earned XP: the cooldown anchor.
    pub last_xp_at_ms: Option<i64>,
    /// When the member (last) joined, ms since the Unix epoch.
    pub joined_at_ms: Option<i64>,
    /// When the member left, if they are gone.
    pub left_at_ms: Option<i64>,
    /// Off every public board (`/privacy hide`), still counted.
    pub hidden: bool,
    /// Not counted (`/privacy stop`) until `/privacy start`.
    pub stopped: bool,
}

/// Who is ranked, and with what: a member present, not a bot, not hidden,
/// with some XP. The one rule the boards, the in-memory standings and the
/// counting rules' rank moves share.
pub fn ranked(xp: u64, left_at_ms: Option<i64>, bot: bool, hidden: bool) -> Option<u64> {
    (!bot && !hidden && left_at_ms.is_none() && xp > 0).then_some(xp)
}

impl Member {
    /// A member Tally has not stored before.
    pub fn new(guild_id: Id, user_id: Id) -> Self {
        Self { guild_id, user_id, ..Self::default() }
    }

    /// The XP the member is ranked with, if ranked at all ([`ranked`]).
    pub fn ranked_xp(&self) -> Option<u64> {
        ranked(self.xp, self.left_at_ms, self.bot, self.hidden)
    }
}

/// How a member's row changed in a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowWrite {
    /// The row is new.
    Insert,
    /// Counters, names or dates changed; XP, presence, bot flag and privacy did not.
    Counters,
    /// XP, presence, the bot flag or privacy changed too.
    Everything,
}

pub use crate::domain::days::{GuildDay, MemberDay, DAY_MS};

/// What one batch adds to one day's row, of a server or of a member.
/// Signed: removing a reaction takes it off the day it was counted on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayChange {
    /// Messages posted.
    pub messages: i64,
    /// XP earned.
    pub xp: i64,
    /// Reactions given (a server's day counts these as its reactions).
    pub reactions_given: i64,
    /// Reactions received (members' days only).
    pub reactions_received: i64,
    /// Joins (servers' days only).
    pub joins: i64,
    /// Leaves (servers' days only).
    pub leaves: i64,
    /// Time in voice, ms.
    pub voice_ms: i64,
}

/// A reaction Tally counted, as remembered so it can be taken back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountedReaction {
    /// Who reacted.
    pub reactor: Id,
    /// Whose message it was (0 when Discord did not say).
    pub author: Id,
    /// The day it was counted on; None for reactions counted before days were kept.
    pub day: Option<i64>,
}

/// A row of a per-day table. Only days with activity are stored.
pub trait DayRow: Copy {
    /// Its day.
    fn day(&self) -> i64;
    /// The row of a day without activity.
    fn quiet(day: i64) -> Self;
}

impl DayRow for GuildDay {
    fn day(&self) -> i64 {
        self.day
    }
    fn quiet(day: i64) -> Self {
        Self { day, ..Self::default() }
    }
}

impl DayRow for MemberDay {
    fn day(&self) -> i64 {
        self.day
    }
    fn quiet(day: i64) -> Self {
        Self { day, ..Self::default() }
    }
}

/// Every day from `first` to `last`, quiet ones filled in, from the stored
/// rows of that span: what charts and totals show.
pub fn every_day<T: DayRow>(first: i64, last: i64, stored: &[T]) -> Vec<T> {
    (first..=last).map(|day| stored.iter().copied().find(|d| d.day() == day).unwrap_or_else(|| T::quiet(day))).collect()
}

/// A join or a leave, for the membership log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MembershipChange {
    /// Joined (or rejoined) the server.
    Join,
    /// Left, was kicked or was banned.
    Leave,
}

impl MembershipChange {
    /// The word stored for it (and hashed into a log post's nonce).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Join => "join",
            Self::Leave => "leave",
        }
    }
}

/// Where one shard's gateway session stood at the end of a committed batch:
/// enough to RESUME after a restart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardPosition {
    /// Shard number.
    pub shard_id: u32,
    /// Shards in total when this was written.
    pub shard_count: u32,
    /// Gateway session id from READY.
    pub session_id: String,
    /// Sequence of the last event included in the batch.
    pub sequence: u64,
    /// `resume_gateway_url` from READY.
    pub resume_url: String,
    /// When the batch was committed (ms since the Unix epoch, wall clock).
    pub committed_at_ms: i64,
}

/// A page of the leaderboard, with the total so pages can be numbered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderboardPage {
    /// Members on this page, best first.
    pub members: Vec<Member>,
    /// Ranked members in the whole server.
    pub total: u64,
}

/// A server Tally has seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guild {
    /// The server's id.
    pub guild_id: Id,
    /// Its name when last seen.
    pub name: String,
    /// Whether its leaderboard may be shown on the web page.
    pub web_public: bool,
}

/// What a board ranks by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Measure {
    /// XP earned.
    Xp,
    /// Messages posted.
    Messages,
    /// Reactions others gave the member's messages.
    ReactionsReceived,
    /// Reactions the member gave others' messages.
    ReactionsGiven,
    /// Time in voice.
    Voice,
}

impl Measure {
    /// The column holding it, in `members` and in `member_days` alike.
    fn column(self) -> &'static str {
        match self {
            Self::Xp => "xp",
            Self::Messages => "messages",
            Self::ReactionsReceived => "reactions_received",
            Self::ReactionsGiven => "reactions_given",
            Self::Voice => "voice_ms",
        }
    }
}

/// Which days a board adds up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Span {
    /// Everything ever counted (the members' totals).
    AllTime,
    /// Days `first` to `last` (days since the epoch, inclusive).
    Days {
        /// The first day.
        first: i64,
        /// The last day.
        last: i64,
    },
}

/// A board's whole order: `(user_id, figure)`, best first.
pub type BoardOrder = Vec<(Id, u64)>;

/// A page of a board: members with their figure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodPage {
    /// Members on this page with their figure, best first.
    pub rows: Vec<(Member, u64)>,
    /// Members on the whole board.
    pub total: u64,
}

/// What `/stats` shows of one member besides the rank: read together, in
/// one round trip where the backend is a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberSummary {
    /// The member's row.
    pub member: Member,
    /// Their rank card colour, if they chose one.
    pub accent: Option<u32>,
    /// Their stored days in the asked window, oldest first.
    pub days: Vec<MemberDay>,
    /// When their current voice session began, if they are in voice.
    pub voice_since: Option<i64>,
}

/// The page `offset..offset + limit` of `order`, with each member's row;
/// who has left since the order was made is left out. Every reader's pages
/// of a kept order come from here.
pub fn page_of<R: Reader + ?Sized>(
    reader: &R,
    guild_id: Id,
    order: &[(Id, u64)],
    offset: u64,
    limit: u64,
) -> Result<PeriodPage, StoreError> {
    let start = usize::try_from(offset).unwrap_or(usize::MAX).min(order.len());
    let end = start.saturating_add(usize::try_from(limit).unwrap_or(usize::MAX)).min(order.len());
    let page = &order[start..end];
    let ids: Vec<Id> = page.iter().map(|(user_id, _)| *user_id).collect();
    let mut found = reader.members(guild_id, &ids)?.into_iter().peekable();
    let mut rows = Vec::with_capacity(page.len());
    for &(user_id, figure) in page {
        let Some(member) = found.next_if(|m| m.user_id == user_id) else { continue };
        // A kept order may predate a leave by a few seconds: who left never shows.
        if member.left_at_ms.is_none() && !member.bot {
            rows.push((member, figure));
        }
    }
    Ok(PeriodPage { rows, total: order.len() as u64 })
}

/// Read-only queries for commands and export. Never blocks the writer.
pub trait Reader: Send + Sync {
    /// One server, if Tally has seen it (or an admin configured it).
    fn guild(&self, guild_id: Id) -> Result<Option<Guild>, StoreError>;
    /// Servers whose leaderboard is public on the web page, by name.
    fn public_guilds(&self) -> Result<Vec<Guild>, StoreError>;
    /// A server's days from `first` to `last` (days since the epoch,
    /// inclusive) that had any activity, oldest first.
    fn guild_days(&self, guild_id: Id, first: i64, last: i64) -> Result<Vec<GuildDay>, StoreError>;
    /// A member's days from `first` to `last` (inclusive, at most a year)
    /// that had any activity, oldest first.
    fn member_days(&self, guild_id: Id, user_id: Id, first: i64, last: i64) -> Result<Vec<MemberDay>, StoreError>;
    /// Present non-bot members by `by` over `span`, those with nothing left
    /// out, ties by id: the whole order.
    fn board_order(&self, guild_id: Id, span: Span, by: Measure) -> Result<BoardOrder, StoreError>;
    /// One page of [`Reader::board_order`], with the members' rows.
    fn period_board(
        &self,
        guild_id: Id,
        span: Span,
        by: Measure,
        offset: u64,
        limit: u64,
    ) -> Result<PeriodPage, StoreError> {
        let order = self.board_order(guild_id, span, by)?;
        page_of(self, guild_id, &order, offset, limit)
    }
    /// When a member's current voice session began (ms), if they are in voice.
    fn voice_since(&self, guild_id: Id, user_id: Id) -> Result<Option<i64>, StoreError>;
    /// The rank card colour a member chose (0xRRGGBB), if any.
    fn card_accent(&self, user_id: Id) -> Result<Option<u32>, StoreError>;
    /// One member, if stored.
    fn member(&self, guild_id: Id, user_id: Id) -> Result<Option<Member>, StoreError>;
    /// A member with their card colour, days `first..=last` and voice
    /// session, if the member is stored.
    fn member_summary(
        &self,
        guild_id: Id,
        user_id: Id,
        first: i64,
        last: i64,
    ) -> Result<Option<MemberSummary>, StoreError> {
        let Some(member) = self.member(guild_id, user_id)? else { return Ok(None) };
        Ok(Some(MemberSummary {
            member,
            accent: self.card_accent(user_id)?,
            days: self.member_days(guild_id, user_id, first, last)?,
            voice_since: self.voice_since(guild_id, user_id)?,
        }))
    }
    /// The stored members among `user_ids`, in the order of `user_ids`: a
    /// page of a board in one read (one round trip on a server database).
    fn members(&self, guild_id: Id, user_ids: &[Id]) -> Result<Vec<Member>, StoreError> {
        let mut found = Vec::with_capacity(user_ids.len());
        for &user_id in user_ids {
            found.extend(self.member(guild_id, user_id)?);
        }
        Ok(found)
    }
    /// 1-based rank by XP among present, non-bot members with XP; None when unranked.
    fn rank(&self, guild_id: Id, user_id: Id) -> Result<Option<u64>, StoreError>;
    /// Present non-bot members with XP, by XP then id, `limit` from `offset`.
    fn leaderboard(&self, guild_id: Id, offset: u64, limit: u64) -> Result<LeaderboardPage, StoreError>;
    /// Every member ever stored for a server, for export.
    fn all_members(&self, guild_id: Id) -> Result<Vec<Member>, StoreError>;
    /// Stored shard positions, for resuming.
    fn positions(&self) -> Result<Vec<ShardPosition>, StoreError>;
    /// A server's settings (the defaults for a server never configured).
    fn settings(&self, guild_id: Id) -> Result<Settings, StoreError>;
    /// The latest XP audit entries of a server (of one member, when given), newest first.
    fn xp_log(&self, guild_id: Id, member: Option<Id>, limit: u32) -> Result<Vec<AuditEntry>, StoreError>;
    /// Members queued for a reward-role check, of servers on `shards`, oldest first.
    fn pending_reward_syncs(
        &self,
        shards: crate::domain::shards::ShardRange,
        limit: u32,
    ) -> Result<Vec<PendingRewardSync>, StoreError>;
    /// Servers on `shards` the bot was removed from, with when (ms): what
    /// the retention clock counts from.
    fn removed_guilds(&self, shards: crate::domain::shards::ShardRange) -> Result<Vec<(Id, i64)>, StoreError>;
    /// Requests not applied yet, of servers on `shards`, oldest first.
    fn pending_requests(
        &self,
        shards: crate::domain::shards::ShardRange,
        limit: u32,
    ) -> Result<Vec<AdminRequest>, StoreError>;
    /// Unsent join/leave posts of servers on `shards`, oldest first.
    fn pending_log_posts(
        &self,
        shards: crate::domain::shards::ShardRange,
        limit: u32,
    ) -> Result<Vec<PendingLogPost>, StoreError>;
    /// Members present in a server now (bots included, as Discord counts them).
    fn present_count(&self, guild_id: Id) -> Result<u64, StoreError>;
    /// How many members of a server wait for a reward-role check.
    fn reward_backlog(&self, guild_id: Id) -> Result<u64, StoreError>;
    /// Reward roles Tally could not give in a server, with when it noticed.
    fn reward_problems(&self, guild_id: Id) -> Result<Vec<(Id, i64)>, StoreError>;
    /// Unsent level-ups of servers on `shards`, oldest first, at most `limit`.
    fn pending_levelups(
        &self,
        shards: crate::domain::shards::ShardRange,
        limit: u32,
    ) -> Result<Vec<PendingLevelUp>, StoreError>;
}
