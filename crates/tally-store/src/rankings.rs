//! Every server's leaderboard order, in memory: read from the database on a
//! thread of its own at start, moved by the ledger after each commit, read by
//! commands. [`IndexedReader`] answers ranks and pages from it and everything
//! else from the database, falling back to SQL while the order is being built.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use super::boards::BoardCache;
use super::{
    page_of, BoardOrder, Database, Guild, GuildDay, LeaderboardPage, Measure, Member, MemberDay, PeriodPage, Reader,
    ShardPosition, Span, StoreError,
};
use crate::domain::activity::Id;
use crate::domain::shards::ShardRange;
use crate::domain::standings::Standings;

/// A member whose place on the leaderboard a batch changed: their XP while
/// ranked before and after (None: not ranked, as a bot, a member who left or
/// one without XP). The ledger applies these to the in-memory standings once
/// the batch is committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RankChange {
    /// The server.
    pub guild_id: Id,
    /// The member.
    pub user_id: Id,
    /// Ranked XP before the batch.
    pub before: Option<u64>,
    /// Ranked XP after it.
    pub after: Option<u64>,
}

/// Where the in-memory order stands.
#[derive(Debug)]
enum State {
    /// Being read from the database; what is committed meanwhile waits here.
    Building { pending: Vec<Pending> },
    /// In step with the database.
    Ready(HashMap<Id, Standings>),
    /// Could not be built: ranks come from SQL.
    Unavailable,
}

/// A committed change waiting for the order to be built.
#[derive(Debug)]
enum Pending {
    /// A member's move.
    Move(RankChange),
    /// A server purged whole.
    Purge(Id),
}

/// The standings of the servers this process counts, shared by the ledger
/// (which moves them) and commands (which read them). Servers on other
/// processes' shards are not kept here: their ranks come from the database.
#[derive(Debug)]
pub struct Rankings {
    state: RwLock<State>,
    /// The shards whose servers this process counts; None: all.
    owned: Option<ShardRange>,
    /// False in a process that counts nothing (`tally web`).
    counting: bool,
    /// Other boards' orders, built by SQL and kept while they are current.
    pub boards: BoardCache,
}

impl Default for Rankings {
    fn default() -> Self {
        Self::for_shards(None)
    }
}

impl Rankings {
    /// Standings for the servers on `owned` (None: every server).
    pub fn for_shards(owned: Option<ShardRange>) -> Self {
        let state = RwLock::new(State::Building { pending: Vec::new() });
        Self { state, owned, counting: true, boards: BoardCache::default() }
    }

    /// Standings for no server at all: for a process that counts nothing
    /// (`tally web`), every rank and page comes from the database.
    pub fn none() -> Self {
        let rankings = Self { counting: false, ..Self::for_shards(None) };
        rankings.give_up();
        rankings
    }

    /// Whether this process counts a server's events, and so keeps its
    /// standings and knows when its boards change.
    pub fn owns(&self, guild_id: Id) -> bool {
        self.counting && self.owned.is_none_or(|range| range.owns(guild_id))
    }

    /// Reads every ranked member of the servers this process counts from
    /// `database` on a thread of its own, without holding up the ledger: the
    /// returned receiver yields once the read's snapshot is fixed, after
    /// which the ledger may commit (its moves wait in `pending` until the
    /// order is installed).
    pub fn build_in_background(self: &Arc<Self>, database: &Database) -> std::sync::mpsc::Receiver<()> {
        let (taken_tx, taken_rx) = std::sync::mpsc::sync_channel(1);
        let (rankings, database) = (Arc::clone(self), database.clone());
        let build = move || {
            let started = std::time::Instant::now();
            let mut servers: HashMap<Id, Vec<(Id, u64)>> = HashMap::new();
            database.for_each_ranked(
                rankings.owned,
                || {
                    let _ = taken_tx.send(());
                },
                |guild, user, xp| servers.entry(guild).or_default().push((user, xp)),
            )?;
            let members: usize = servers.values().map(Vec::len).sum();
            rankings.install(servers);
            tracing::info!(members, took = ?started.elapsed(), "leaderboards loaded into memory");
            Ok::<_, StoreError>(())
        };
        let failed = Arc::clone(self);
        std::thread::Builder::new()
            .name("tally-rankings".into())
            .spawn(move || {
                if let Err(error) = build() {
                    tracing::warn!(%error, "could not load leaderboards into memory; ranks will come from SQL");
                    failed.give_up();
                }
            })
            .expect("spawn rankings thread");
        taken_rx
    }

    /// Installs the order read from the database, `guild → (user_id, xp)`,
    /// and applies the moves committed since the read began.
    pub fn install(&self, ranked: HashMap<Id, Vec<(Id, u64)>>) {
        let mut servers: HashMap<Id, Standings> =
            ranked.into_iter().map(|(guild, members)| (guild, Standings::from_unsorted(members))).collect();
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        if let State::Building { pending } = &*state {
            for p in pending {
                match p {
                    Pending::Move(c) => servers.entry(c.guild_id).or_default().update(c.user_id, c.before, c.after),
                    Pending::Purge(guild_id) => {
                        servers.remove(guild_id);
                    }
                }
            }
        }
        *state = State::Ready(servers);
    }

    /// Stops keeping an order: ranks come from SQL from now on.
    pub fn give_up(&self) {
        *self.state.write().unwrap_or_else(|p| p.into_inner()) = State::Unavailable;
    }

    /// Applies a committed batch: the servers it purged, then its moves.
    pub fn apply(&self, purged: &[Id], changes: &[RankChange]) {
        if changes.is_empty() && purged.is_empty() {
            return;
        }
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        match &mut *state {
            State::Building { pending } => {
                pending.extend(purged.iter().map(|g| Pending::Purge(*g)));
                pending.extend(changes.iter().map(|c| Pending::Move(*c)));
            }
            State::Ready(servers) => {
                for guild_id in purged {
                    servers.remove(guild_id);
                }
                for c in changes {
                    servers.entry(c.guild_id).or_default().update(c.user_id, c.before, c.after);
                }
            }
            State::Unavailable => {}
        }
    }

    /// Whether the order is built and in step.
    pub fn is_ready(&self) -> bool {
        matches!(*self.state.read().unwrap_or_else(|p| p.into_inner()), State::Ready(_))
    }

    /// `f` over the standings, when they are built and `guild_id` is counted here.
    fn read<T>(&self, guild_id: Id, f: impl FnOnce(&HashMap<Id, Standings>) -> T) -> Option<T> {
        if self.owned.is_some_and(|range| !range.owns(guild_id)) {
            return None;
        }
        match &*self.state.read().unwrap_or_else(|p| p.into_inner()) {
            State::Ready(servers) => Some(f(servers)),
            _ => None,
        }
    }
}

/// A [`Reader`] that answers ranks and leaderboard pages from [`Rankings`].
pub struct IndexedReader {
    inner: Arc<dyn Reader>,
    rankings: Arc<Rankings>,
}

impl IndexedReader {
    /// Wraps `inner`, reading order from `rankings` once they are built.
    pub fn new(inner: Arc<dyn Reader>, rankings: Arc<Rankings>) -> Self {
        Self { inner, rankings }
    }

    /// A board's order, kept or built from the database.
    fn kept_order(&self, guild_id: Id, span: Span, by: Measure) -> Result<Arc<BoardOrder>, StoreError> {
        let tracked = self.rankings.owns(guild_id);
        self.rankings.boards.get_or_build((guild_id, span, by), tracked, || self.inner.board_order(guild_id, span, by))
    }
}

impl Reader for IndexedReader {
    fn guild(&self, guild_id: Id) -> Result<Option<Guild>, StoreError> {
        self.inner.guild(guild_id)
    }

    fn settings(&self, guild_id: Id) -> Result<crate::Settings, StoreError> {
        self.inner.settings(guild_id)
    }

    fn xp_log(&self, guild_id: Id, member: Option<Id>, limit: u32) -> Result<Vec<crate::AuditEntry>, StoreError> {
        self.inner.xp_log(guild_id, member, limit)
    }

    fn pending_reward_syncs(
        &self,
        shards: crate::domain::shards::ShardRange,
        limit: u32,
    ) -> Result<Vec<crate::PendingRewardSync>, StoreError> {
        self.inner.pending_reward_syncs(shards, limit)
    }

    fn reward_backlog(&self, guild_id: Id) -> Result<u64, StoreError> {
        self.inner.reward_backlog(guild_id)
    }

    fn pending_log_posts(
        &self,
        shards: crate::domain::shards::ShardRange,
        limit: u32,
    ) -> Result<Vec<crate::PendingLogPost>, StoreError> {
        self.inner.pending_log_posts(shards, limit)
    }

    fn present_count(&self, guild_id: Id) -> Result<u64, StoreError> {
        self.inner.present_count(guild_id)
    }

    fn pending_requests(
        &self,
        shards: crate::domain::shards::ShardRange,
        limit: u32,
    ) -> Result<Vec<crate::AdminRequest>, StoreError> {
        self.inner.pending_requests(shards, limit)
    }

    fn removed_guilds(&self, shards: crate::domain::shards::ShardRange) -> Result<Vec<(Id, i64)>, StoreError> {
        self.inner.removed_guilds(shards)
    }

    fn reward_problems(&self, guild_id: Id) -> Result<Vec<(Id, i64)>, StoreError> {
        self.inner.reward_problems(guild_id)
    }

    fn pending_levelups(
        &self,
        shards: crate::domain::shards::ShardRange,
        limit: u32,
    ) -> Result<Vec<crate::PendingLevelUp>, StoreError> {
        self.inner.pending_levelups(shards, limit)
    }

    fn public_guilds(&self) -> Result<Vec<Guild>, StoreError> {
        self.inner.public_guilds()
    }

    fn card_accent(&self, user_id: Id) -> Result<Option<u32>, StoreError> {
        self.inner.card_accent(user_id)
    }

    fn voice_since(&self, guild_id: Id, user_id: Id) -> Result<Option<i64>, StoreError> {
        self.inner.voice_since(guild_id, user_id)
    }

    fn guild_days(&self, guild_id: Id, first: i64, last: i64) -> Result<Vec<GuildDay>, StoreError> {
        self.inner.guild_days(guild_id, first, last)
    }

    fn member_days(&self, guild_id: Id, user_id: Id, first: i64, last: i64) -> Result<Vec<MemberDay>, StoreError> {
        self.inner.member_days(guild_id, user_id, first, last)
    }

    fn board_order(&self, guild_id: Id, span: Span, by: Measure) -> Result<BoardOrder, StoreError> {
        Ok(self.kept_order(guild_id, span, by)?.as_ref().clone())
    }

    fn period_board(
        &self,
        guild_id: Id,
        span: Span,
        by: Measure,
        offset: u64,
        limit: u64,
    ) -> Result<PeriodPage, StoreError> {
        page_of(self, guild_id, &self.kept_order(guild_id, span, by)?, offset, limit)
    }

    fn member(&self, guild_id: Id, user_id: Id) -> Result<Option<Member>, StoreError> {
        self.inner.member(guild_id, user_id)
    }

    fn members(&self, guild_id: Id, user_ids: &[Id]) -> Result<Vec<Member>, StoreError> {
        self.inner.members(guild_id, user_ids)
    }

    fn member_summary(
        &self,
        guild_id: Id,
        user_id: Id,
        first: i64,
        last: i64,
    ) -> Result<Option<crate::MemberSummary>, StoreError> {
        self.inner.member_summary(guild_id, user_id, first, last)
    }

    fn rank(&self, guild_id: Id, user_id: Id) -> Result<Option<u64>, StoreError> {
        let Some(member) = self.inner.member(guild_id, user_id)? else { return Ok(None) };
        let Some(xp) = member.ranked_xp() else { return Ok(None) };
        let indexed = self.rankings.read(guild_id, |servers| servers.get(&guild_id).and_then(|s| s.rank(user_id, xp)));
        match indexed.flatten() {
            Some(rank) => Ok(Some(rank)),
            // Not built yet, or the row was read between a commit and the
            // order catching up with it: ask the database.
            None => self.inner.rank(guild_id, user_id),
        }
    }

    fn leaderboard(&self, guild_id: Id, offset: u64, limit: u64) -> Result<LeaderboardPage, StoreError> {
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        let end = start.saturating_add(usize::try_from(limit).unwrap_or(usize::MAX));
        let indexed = self.rankings.read(guild_id, |servers| match servers.get(&guild_id) {
            Some(s) => (s.page(start..end.min(s.len().max(start))), s.len() as u64),
            None => (Vec::new(), 0),
        });
        let Some((entries, total)) = indexed else { return self.inner.leaderboard(guild_id, offset, limit) };
        let ids: Vec<Id> = entries.iter().map(|(user_id, _)| *user_id).collect();
        Ok(LeaderboardPage { members: self.inner.members(guild_id, &ids)?, total })
    }

    fn all_members(&self, guild_id: Id) -> Result<Vec<Member>, StoreError> {
        self.inner.all_members(guild_id)
    }

    fn positions(&self) -> Result<Vec<ShardPosition>, StoreError> {
        self.inner.positions()
    }
}
