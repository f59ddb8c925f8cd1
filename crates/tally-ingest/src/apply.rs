//! The counting rules, applied to a batch of activity inside one store
//! transaction. Shared by every backend: the backend supplies [`StoreOps`],
//! this module decides what each activity changes. Each member's row is
//! read at most once and written at most once per batch.

use std::collections::{BTreeMap, HashMap};

use crate::domain::{activity::Id, snowflake, Activity, MemberProfile, ReactionKey, SettingChange};
use crate::store::rankings::RankChange;
use crate::store::{
    CountedReaction, DayChange, GuildRules, GuildSeen, LevelUpRow, LogEntry, Member, MembershipChange, OpenVoice,
    RowWrite, SettingsWrite, StoreError, StoreOps, StoredReaction, Writes, DAY_MS,
};

mod admin;
mod privacy;
mod retention;
mod voice;
use voice::{end_voice, voice_changed};

/// What a committed batch changed, for what is kept in memory beside the database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// Leaderboard moves, for the in-memory standings.
    pub moves: Vec<RankChange>,
    /// Every server the batch touched, so boards built from them are known stale.
    pub guilds: Vec<Id>,
    /// Servers purged whole: their standings go, before `moves` apply.
    pub purged: Vec<Id>,
    /// Servers where a member was hidden or erased: every board kept for
    /// them is dropped at once, however long it took to build (`/privacy
    /// hide` is immediate everywhere).
    pub withdrawn: Vec<Id>,
    /// Servers whose XP is being reset: no one is ranked once it is done,
    /// so their standings go whole, like a purged server's (each piece of a
    /// reset says so, whichever pieces' commits the ledger learned of).
    pub reset: Vec<Id>,
    /// False when whole-server work (an XP reset, a purge) did one piece of its
    /// work and more remain: the ledger commits it and applies the same
    /// event again, without moving the event's gateway position until done.
    pub finished: bool,
}

/// One member in a batch: the row, whether it changed, and the row as loaded.
type Entry = (Member, bool, Option<Loaded>);

/// What a member's stored row held before the batch: the columns that
/// decide ranking and the ranking index (a change rewrites them all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Loaded {
    xp: u64,
    left_at_ms: Option<i64>,
    bot: bool,
    hidden: bool,
    stopped: bool,
}

impl Loaded {
    fn of(member: &Member) -> Self {
        let Member { xp, left_at_ms, bot, hidden, stopped, .. } = *member;
        Self { xp, left_at_ms, bot, hidden, stopped }
    }

    /// The XP the member is ranked with, if ranked at all: present, not a
    /// bot, not hidden, with some XP.
    fn ranked(self) -> Option<u64> {
        crate::store::ranked(self.xp, self.left_at_ms, self.bot, self.hidden)
    }
}

/// Something stored, as it was before the batch and as it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Slot<T> {
    stored: Option<T>,
    now: Option<T>,
}

impl<T: Clone> Slot<T> {
    fn loaded(stored: Option<T>) -> Self {
        Self { now: stored.clone(), stored }
    }
}

/// A counted reaction's key as a sortable tuple: message, reactor, emoji.
type ReactionTuple = (Id, Id, String);

fn reaction_tuple(key: &ReactionKey) -> ReactionTuple {
    (key.message_id, key.user_id, key.emoji.clone())
}

/// What a batch reads before it decides anything: every row its events
/// name, in a few bulk reads.
#[derive(Default)]
struct Wanted {
    guilds: Vec<Id>,
    members: Vec<(Id, Id)>,
    reactions: Vec<ReactionKey>,
    messages: Vec<Id>,
    voice_members: Vec<(Id, Id)>,
    voice_guilds: Vec<Id>,
    /// Servers whose member list completed, with who it listed.
    lists: Vec<(Id, std::collections::HashSet<Id>)>,
}

impl Wanted {
    fn of<'a>(activities: impl Iterator<Item = &'a Activity>) -> Self {
        let mut w = Self::default();
        for activity in activities {
            match activity {
                Activity::GuildSeen { guild_id, .. } => w.guilds.push(*guild_id),
                Activity::MemberSeen(p) | Activity::MemberListed { profile: p, .. } => {
                    w.members.push((p.guild_id, p.user_id));
                }
                Activity::MemberJoined(p) => {
                    // Its rules say whether a member who comes back gets their rewards back.
                    w.guilds.push(p.guild_id);
                    w.members.push((p.guild_id, p.user_id));
                }
                Activity::MemberLeft { guild_id, user_id, .. } => {
                    w.guilds.push(*guild_id); // its log channel
                    w.members.push((*guild_id, *user_id));
                    w.voice_members.push((*guild_id, *user_id));
                }
                Activity::Message { author, .. } => {
                    w.guilds.push(author.guild_id);
                    w.members.push((author.guild_id, author.user_id));
                }
                Activity::ReactionAdded { guild_id, key, author_id, .. } => {
                    w.members.push((*guild_id, key.user_id));
                    w.members.extend(author_id.map(|author| (*guild_id, author)));
                    w.reactions.push(key.clone());
                }
                Activity::ReactionRemoved { guild_id, key } => {
                    w.members.push((*guild_id, key.user_id));
                    w.reactions.push(key.clone());
                }
                Activity::ReactionsCleared { message_id, .. } => w.messages.push(*message_id),
                Activity::VoiceChanged { guild_id, user_id, .. } => {
                    w.guilds.push(*guild_id);
                    // Voice XP looks at who else is in the channel.
                    w.voice_guilds.push(*guild_id);
                    w.members.push((*guild_id, *user_id));
                    w.voice_members.push((*guild_id, *user_id));
                }
                Activity::VoiceRoster { guild_id, in_voice, .. } => {
                    w.guilds.push(*guild_id);
                    w.voice_guilds.push(*guild_id);
                    for (user_id, _, _) in in_voice {
                        w.members.push((*guild_id, *user_id));
                        w.voice_members.push((*guild_id, *user_id));
                    }
                }
                Activity::MemberListComplete { guild_id, present, .. } => {
                    w.lists.push((*guild_id, present.iter().copied().collect()));
                }
                Activity::Configure { guild_id, .. }
                | Activity::ResetServerXp { guild_id, .. }
                | Activity::SyncRewards { guild_id } => w.guilds.push(*guild_id),
                Activity::AdjustXp { guild_id, user_id, .. } => {
                    w.guilds.push(*guild_id);
                    w.members.push((*guild_id, *user_id));
                }
                Activity::Notify { .. } | Activity::ShardGuilds { .. } => {}
                Activity::Import { guild_id, .. }
                | Activity::GuildRemoved { guild_id, .. }
                | Activity::PurgeGuild { guild_id, .. } => w.guilds.push(*guild_id),
                Activity::Privacy { guild_id, user_id, .. } | Activity::Forget { guild_id, user_id, .. } => {
                    // Stopping or erasing ends a voice session, which looks at the channel.
                    w.guilds.push(*guild_id);
                    w.voice_guilds.push(*guild_id);
                    w.members.push((*guild_id, *user_id));
                    w.voice_members.push((*guild_id, *user_id));
                }
            }
        }
        for list in [&mut w.guilds, &mut w.messages, &mut w.voice_guilds] {
            list.sort_unstable();
            list.dedup();
        }
        w.voice_members.sort_unstable();
        w.voice_members.dedup();
        w.reactions.sort_unstable_by_key(reaction_tuple);
        w.reactions.dedup();
        w
    }
}

/// Members touched by a batch, loaded once and written back once, with the
/// other rows the batch reads and changes.
struct Touched<'o> {
    ops: &'o mut dyn StoreOps,
    members: HashMap<(Id, Id), Entry>,
    rules: HashMap<Id, GuildRules>,
    /// Servers seen in the batch, written back with their names.
    seen: Vec<GuildSeen>,
    /// Counted reactions the batch named, by message then reactor.
    reactions: BTreeMap<ReactionTuple, Slot<StoredReaction>>,
    /// Messages whose every counted reaction is in `reactions`.
    messages: std::collections::HashSet<Id>,
    /// Voice sessions the batch named: `(guild, user)` → since.
    voice: BTreeMap<(Id, Id), Slot<OpenVoice>>,
    /// Servers whose every open voice session is in `voice`.
    voice_guilds: std::collections::HashSet<Id>,
    /// Members stored as present before the batch, for servers whose member list completed.
    present: HashMap<Id, Vec<Id>>,
    /// Each server's figures by day, added to `guild_days` once per batch.
    days: HashMap<(Id, i64), DayChange>,
    /// Each member's figures by day, keyed as `member_days` is.
    member_days: HashMap<(Id, i64, Id), DayChange>,
    /// Servers whose settings an admin changed in the batch.
    configured: Vec<Id>,
    /// Members' ping choices made in the batch.
    pings: BTreeMap<(Id, Id), bool>,
    /// Level-ups earned in the batch, one per member: the last level
    /// reached, with the level the member had before the batch.
    levelups: BTreeMap<(Id, Id), LevelUpRow>,
    /// Level-ups an admin took away: `(guild, user, above this level)`.
    forget: Vec<(Id, Id, u32)>,
    /// Members erased in the batch, off the standings.
    erased: Vec<RankChange>,
    /// Servers purged in the batch, off the standings whole.
    purged: Vec<Id>,
    /// Servers where a member was hidden or erased (see [`Applied::withdrawn`]).
    withdrawn: Vec<Id>,
    /// Servers whose XP is being reset (see [`Applied::reset`]).
    reset: Vec<Id>,
    /// Most members whole-server work changes in this transaction.
    piece: usize,
    /// Whole-server work stopped at `piece` with more to do.
    unfinished: bool,
    /// Servers the bot left (Some: since when) or is in (None).
    removed: BTreeMap<Id, Option<i64>>,
    /// Admins' XP changes, for the audit log.
    audit: Vec<crate::store::AuditEntry>,
    /// Servers whose every member's reward roles must be checked.
    reward_sync_all: Vec<Id>,
    /// Members who came back, to get their rewards back.
    rejoined: Vec<(Id, Id)>,
    /// Live joins and leaves for log channels.
    log_posts: Vec<crate::store::LogPost>,
    /// The batch's stamp for what it queues.
    now_ms: i64,
}

impl<'o> Touched<'o> {
    /// Reads everything `activities` name, in a few bulk reads: the
    /// servers' rules, counted reactions, voice sessions, present members
    /// where a member list completed, then every member involved, in key
    /// order.
    fn prefetch<'a>(
        ops: &'o mut dyn StoreOps,
        activities: impl Iterator<Item = &'a Activity>,
    ) -> Result<Self, StoreError> {
        let mut wanted = Wanted::of(activities);
        let rules = if wanted.guilds.is_empty() { Vec::new() } else { ops.guild_rules(&wanted.guilds)? };
        let mut reactions: BTreeMap<ReactionTuple, Slot<StoredReaction>> =
            wanted.reactions.iter().map(|key| (reaction_tuple(key), Slot::loaded(None))).collect();
        if !wanted.reactions.is_empty() || !wanted.messages.is_empty() {
            let keys: Vec<&ReactionKey> = wanted.reactions.iter().collect();
            for (key, stored) in ops.counted_reactions(&keys, &wanted.messages)? {
                let CountedReaction { reactor, author, .. } = stored.counted;
                wanted.members.push((stored.guild_id, reactor));
                if author != UNKNOWN_AUTHOR {
                    wanted.members.push((stored.guild_id, author));
                }
                reactions.insert(reaction_tuple(&key), Slot::loaded(Some(stored)));
            }
        }
        let mut voice: BTreeMap<(Id, Id), Slot<OpenVoice>> =
            wanted.voice_members.iter().map(|key| (*key, Slot::loaded(None))).collect();
        if !wanted.voice_members.is_empty() || !wanted.voice_guilds.is_empty() {
            for (key, state) in ops.voice_sessions(&wanted.voice_members, &wanted.voice_guilds)? {
                wanted.members.push(key);
                voice.insert(key, Slot::loaded(Some(state)));
            }
        }
        let mut present = HashMap::new();
        for (guild_id, listed) in &wanted.lists {
            let stored = ops.present_members(*guild_id)?;
            wanted.members.extend(stored.iter().filter(|u| !listed.contains(u)).map(|u| (*guild_id, *u)));
            present.insert(*guild_id, stored);
        }
        let mut touched = Self {
            ops,
            members: HashMap::new(),
            rules: rules.into_iter().collect(),
            seen: Vec::new(),
            reactions,
            messages: wanted.messages.iter().copied().collect(),
            voice,
            voice_guilds: wanted.voice_guilds.iter().copied().collect(),
            present,
            days: HashMap::new(),
            member_days: HashMap::new(),
            configured: Vec::new(),
            pings: BTreeMap::new(),
            levelups: BTreeMap::new(),
            forget: Vec::new(),
            erased: Vec::new(),
            purged: Vec::new(),
            withdrawn: Vec::new(),
            reset: Vec::new(),
            piece: usize::MAX,
            unfinished: false,
            removed: BTreeMap::new(),
            audit: Vec::new(),
            reward_sync_all: Vec::new(),
            rejoined: Vec::new(),
            log_posts: Vec::new(),
            now_ms: 0,
        };
        for guild_id in &wanted.guilds {
            touched.rules.entry(*guild_id).or_default();
        }
        // In key order: the B-tree is walked once from left to right instead
        // of sought at random, member by member, as events name them.
        wanted.members.sort_unstable();
        wanted.members.dedup();
        touched.load(&wanted.members)?;
        Ok(touched)
    }

    /// Loads `keys` (sorted), remembering which are not stored yet.
    fn load(&mut self, keys: &[(Id, Id)]) -> Result<(), StoreError> {
        if keys.is_empty() {
            return Ok(());
        }
        for stored in self.ops.load_members(keys)? {
            let loaded = Loaded::of(&stored);
            self.members.insert((stored.guild_id, stored.user_id), (stored, false, Some(loaded)));
        }
        for &(guild_id, user_id) in keys {
            self.members.entry((guild_id, user_id)).or_insert_with(|| (Member::new(guild_id, user_id), false, None));
        }
        Ok(())
    }

    /// Members read whole by the caller, kept as if [`Self::load`] had read
    /// them (a member already in the batch keeps its batch state).
    fn take_loaded(&mut self, members: Vec<Member>) {
        for stored in members {
            let loaded = Loaded::of(&stored);
            self.members.entry((stored.guild_id, stored.user_id)).or_insert((stored, false, Some(loaded)));
        }
    }

    fn member(&mut self, guild_id: Id, user_id: Id) -> Result<&mut Member, StoreError> {
        if !self.members.contains_key(&(guild_id, user_id)) {
            self.load(&[(guild_id, user_id)])?;
        }
        Ok(&mut self.members.get_mut(&(guild_id, user_id)).expect("just loaded").0)
    }

    /// Like [`Self::member`], and marks the row to be written back.
    fn member_mut(&mut self, guild_id: Id, user_id: Id) -> Result<&mut Member, StoreError> {
        self.member(guild_id, user_id)?;
        let entry = self.members.get_mut(&(guild_id, user_id)).expect("just loaded");
        entry.1 = true;
        Ok(&mut entry.0)
    }

    fn rules(&mut self, guild_id: Id) -> Result<&mut GuildRules, StoreError> {
        if !self.rules.contains_key(&guild_id) {
            let rules = self.ops.guild_rules(&[guild_id])?.into_iter().next().map(|(_, r)| r).unwrap_or_default();
            self.rules.insert(guild_id, rules);
        }
        Ok(self.rules.get_mut(&guild_id).expect("just loaded"))
    }

    fn afk_channel(&mut self, guild_id: Id) -> Result<Option<Id>, StoreError> {
        Ok(self.rules(guild_id)?.afk_channel_id)
    }

    /// Applies an admin's change to a server's settings, from the next event on.
    fn configure(&mut self, guild_id: Id, change: &SettingChange) -> Result<(), StoreError> {
        let rules = self.rules(guild_id)?;
        if let SettingChange::Xp { min, max, cooldown } = change {
            let xp = &mut rules.xp;
            if let Some(min) = min {
                xp.min_xp = *min;
                xp.max_xp = xp.max_xp.max(*min);
            }
            if let Some(max) = max {
                xp.max_xp = *max;
                xp.min_xp = xp.min_xp.min(*max);
            }
            if let Some(cooldown) = cooldown {
                xp.cooldown_secs = *cooldown;
            }
        }
        rules.leveling.apply(change);
        if !self.configured.contains(&guild_id) {
            self.configured.push(guild_id);
        }
        Ok(())
    }

    /// Records a live join or leave for the server's log channel, if it has one.
    fn post_to_log(
        &mut self,
        guild_id: Id,
        user_id: Id,
        change: MembershipChange,
        at_ms: i64,
        joined_at_ms: Option<i64>,
    ) -> Result<(), StoreError> {
        if let Some(channel_id) = self.rules(guild_id)?.leveling.log_channel {
            self.log_posts.push(crate::store::LogPost { guild_id, user_id, change, at_ms, channel_id, joined_at_ms });
        }
        Ok(())
    }

    /// Queues every present member of a server for a reward-role check.
    fn sync_all_rewards(&mut self, guild_id: Id) {
        if !self.reward_sync_all.contains(&guild_id) {
            self.reward_sync_all.push(guild_id);
        }
    }

    /// Notes a level-up a message earned: the member's last level in the
    /// batch is the one announced, with the level they had before it.
    fn level_up(&mut self, member: (Id, Id), from: u32, to: u32, xp: u64, at_ms: i64, channel: Option<Id>) {
        let entry = self.levelups.entry(member).or_insert(LevelUpRow {
            guild_id: member.0,
            user_id: member.1,
            level: to,
            old_level: from,
            xp,
            channel_id: channel,
            created_at_ms: at_ms,
        });
        entry.level = to;
        entry.xp = xp;
        entry.channel_id = channel;
        entry.created_at_ms = at_ms;
    }

    fn guild_seen(&mut self, guild_id: Id, name: &str, afk_channel_id: Option<Id>) -> Result<(), StoreError> {
        // Back (or never gone): no retention clock.
        self.removed.insert(guild_id, None);
        self.rules(guild_id)?.afk_channel_id = afk_channel_id;
        self.seen.retain(|g| g.guild_id != guild_id);
        self.seen.push(GuildSeen { guild_id, name: name.to_owned(), afk_channel_id });
        Ok(())
    }

    fn present_members(&mut self, guild_id: Id) -> Result<Vec<Id>, StoreError> {
        match self.present.get(&guild_id) {
            Some(present) => Ok(present.clone()),
            None => self.ops.present_members(guild_id),
        }
    }

    fn reaction(&mut self, key: &ReactionKey) -> Result<&mut Slot<StoredReaction>, StoreError> {
        let tuple = reaction_tuple(key);
        if !self.reactions.contains_key(&tuple) {
            let stored = self.ops.counted_reactions(&[key], &[])?.into_iter().next().map(|(_, r)| r);
            self.reactions.insert(tuple.clone(), Slot::loaded(stored));
        }
        Ok(self.reactions.get_mut(&tuple).expect("just loaded"))
    }

    /// Remembers a counted reaction. False when already remembered.
    fn insert_reaction(
        &mut self,
        guild_id: Id,
        key: &ReactionKey,
        counted: CountedReaction,
    ) -> Result<bool, StoreError> {
        let slot = self.reaction(key)?;
        if slot.now.is_some() {
            return Ok(false);
        }
        slot.now = Some(StoredReaction { guild_id, counted });
        Ok(true)
    }

    /// Forgets a counted reaction, returning it; None when it was never counted.
    fn delete_reaction(&mut self, key: &ReactionKey) -> Result<Option<CountedReaction>, StoreError> {
        Ok(self.reaction(key)?.now.take().map(|r| r.counted))
    }

    /// Forgets every counted reaction on a message (of one emoji, when given).
    fn delete_message_reactions(
        &mut self,
        message_id: Id,
        emoji: Option<&str>,
    ) -> Result<Vec<CountedReaction>, StoreError> {
        if self.messages.insert(message_id) {
            for (key, stored) in self.ops.counted_reactions(&[], &[message_id])? {
                self.reactions.entry(reaction_tuple(&key)).or_insert_with(|| Slot::loaded(Some(stored)));
            }
        }
        let start = (message_id, Id::MIN, String::new());
        Ok(self
            .reactions
            .range_mut(start..)
            .take_while(|((message, _, _), _)| *message == message_id)
            .filter(|((_, _, e), _)| emoji.is_none_or(|emoji| emoji == e))
            .filter_map(|(_, slot)| slot.now.take().map(|r| r.counted))
            .collect())
    }

    fn voice_slot(&mut self, guild_id: Id, user_id: Id) -> Result<&mut Slot<OpenVoice>, StoreError> {
        if !self.voice.contains_key(&(guild_id, user_id)) {
            let stored = self.ops.voice_sessions(&[(guild_id, user_id)], &[])?.first().map(|(_, state)| *state);
            self.voice.insert((guild_id, user_id), Slot::loaded(stored));
        }
        Ok(self.voice.get_mut(&(guild_id, user_id)).expect("just loaded"))
    }

    /// Opens a member's voice session at `since` in `channel`, or, when one
    /// is open, moves it there (its start stays).
    fn open_voice(
        &mut self,
        guild_id: Id,
        user_id: Id,
        since: i64,
        channel: Id,
        muted: bool,
    ) -> Result<(), StoreError> {
        let slot = self.voice_slot(guild_id, user_id)?;
        let state = slot.now.get_or_insert(OpenVoice { since, channel_id: None, muted, earning_since: None });
        state.channel_id = Some(channel);
        state.muted = muted;
        Ok(())
    }

    /// Closes a member's voice session, returning it.
    fn close_voice(&mut self, guild_id: Id, user_id: Id) -> Result<Option<OpenVoice>, StoreError> {
        Ok(self.voice_slot(guild_id, user_id)?.now.take())
    }

    /// The open voice sessions in a server, all of them.
    fn voice_in(&mut self, guild_id: Id) -> Result<Vec<(Id, OpenVoice)>, StoreError> {
        self.open_voice_members(guild_id)?;
        Ok(self
            .voice
            .range((guild_id, Id::MIN)..)
            .take_while(|((guild, _), _)| *guild == guild_id)
            .filter_map(|((_, user), slot)| slot.now.map(|state| (*user, state)))
            .collect())
    }

    /// Members of a server with an open voice session.
    fn open_voice_members(&mut self, guild_id: Id) -> Result<Vec<Id>, StoreError> {
        if self.voice_guilds.insert(guild_id) {
            for (key, state) in self.ops.voice_sessions(&[], &[guild_id])? {
                self.voice.entry(key).or_insert_with(|| Slot::loaded(Some(state)));
            }
        }
        Ok(self
            .voice
            .range((guild_id, Id::MIN)..)
            .take_while(|((guild, _), _)| *guild == guild_id)
            .filter(|(_, slot)| slot.now.is_some())
            .map(|((_, user), _)| *user)
            .collect())
    }

    /// The running figures of `guild_id` on `day`.
    fn day(&mut self, guild_id: Id, day: i64) -> &mut DayChange {
        self.days.entry((guild_id, day)).or_default()
    }

    /// The running figures of one member on `day`.
    fn member_day(&mut self, guild_id: Id, day: i64, user_id: Id) -> &mut DayChange {
        self.member_days.entry((guild_id, day, user_id)).or_default()
    }

    /// Writes back what the batch changed, and says what moved.
    fn flush(self) -> Result<Applied, StoreError> {
        let mut guilds: Vec<Id> = self
            .members
            .keys()
            .map(|(guild, _)| *guild)
            .chain(self.days.keys().map(|(guild, _)| *guild))
            .chain(self.seen.iter().map(|g| g.guild_id))
            .chain(self.purged.iter().copied())
            .collect();
        guilds.sort_unstable();
        guilds.dedup();
        let mut writes = Writes { guilds: self.seen, ..Writes::default() };
        writes.guild_days = self.days.into_iter().collect();
        writes.guild_days.sort_unstable_by_key(|(key, _)| *key);
        writes.member_days = self.member_days.into_iter().collect();
        writes.member_days.sort_unstable_by_key(|(key, _)| *key);
        let mut moves = self.erased;
        // In key order: neighbouring rows share B-tree pages, so each page is
        // found and rewritten once instead of once per member in hash order.
        let mut rows: Vec<&Entry> = self.members.values().filter(|(_, dirty, _)| *dirty).collect();
        rows.sort_unstable_by_key(|(m, _, _)| (m.guild_id, m.user_id));
        for (member, _, loaded) in rows.iter().copied() {
            let write = match loaded {
                None => RowWrite::Insert,
                Some(l) if *l == Loaded::of(member) => RowWrite::Counters,
                Some(_) => RowWrite::Everything,
            };
            writes.members.push((member, write));
            let before = loaded.and_then(Loaded::ranked);
            let after = member.ranked_xp();
            if after != before {
                moves.push(RankChange { guild_id: member.guild_id, user_id: member.user_id, before, after });
            }
        }
        let keys: Vec<ReactionKey> = self
            .reactions
            .iter()
            .filter(|(_, slot)| slot.now != slot.stored)
            .map(|((message_id, user_id, emoji), _)| ReactionKey {
                message_id: *message_id,
                user_id: *user_id,
                emoji: emoji.clone(),
            })
            .collect();
        let changed = self.reactions.values().filter(|slot| slot.now != slot.stored).map(|slot| slot.now);
        writes.reactions = keys.iter().zip(changed).collect();
        writes.voice =
            self.voice.iter().filter(|(_, slot)| slot.now != slot.stored).map(|(key, slot)| (*key, slot.now)).collect();
        writes.settings = self
            .configured
            .iter()
            .map(|guild_id| {
                let rules = &self.rules[guild_id];
                SettingsWrite { guild_id: *guild_id, xp: rules.xp, leveling: &rules.leveling }
            })
            .collect();
        writes.pings = self.pings.into_iter().collect();
        writes.levelups = self.levelups.into_values().collect();
        writes.forget_levelups = self.forget;
        writes.audit = self.audit;
        writes.log_posts = self.log_posts;
        writes.reward_sync_all = self.reward_sync_all.iter().map(|g| (*g, self.now_ms)).collect();
        writes.removed = self.removed.into_iter().collect();
        writes.reward_syncs = reward_syncs(&self.rules, &rows, &self.rejoined, &self.reward_sync_all, self.now_ms);
        if !writes.is_empty() {
            self.ops.write(&writes)?;
        }
        let mut withdrawn = self.withdrawn;
        withdrawn.sort_unstable();
        withdrawn.dedup();
        Ok(Applied { moves, guilds, purged: self.purged, withdrawn, reset: self.reset, finished: !self.unfinished })
    }
}

/// Applies `activities` in order through `ops`. Call inside a transaction:
/// on error the caller rolls back and nothing is counted. `now_ms` stamps
/// what the batch queues for the role task (the ledger makes it rise with
/// every commit). Returns what the in-memory state needs once the
/// transaction is committed: leaderboard moves and the servers touched.
pub fn apply<'a, I>(ops: &mut dyn StoreOps, activities: I, now_ms: i64) -> Result<Applied, StoreError>
where
    I: IntoIterator<Item = &'a Activity>,
    I::IntoIter: Clone,
{
    apply_piece(ops, activities, now_ms, usize::MAX)
}

/// As [`apply`], with whole-server work (an XP reset: see
/// [`Activity::is_whole_server`]) bounded to `piece` members per
/// transaction: [`Applied::finished`] is false while more remain.
pub fn apply_piece<'a, I>(
    ops: &mut dyn StoreOps,
    activities: I,
    now_ms: i64,
    piece: usize,
) -> Result<Applied, StoreError>
where
    I: IntoIterator<Item = &'a Activity>,
    I::IntoIter: Clone,
{
    let activities = activities.into_iter();
    let mut joins: Vec<LogEntry> = Vec::new();
    let mut touched = Touched::prefetch(ops, activities.clone())?;
    touched.now_ms = now_ms;
    touched.piece = piece.max(1);
    let mut leave_stamps: HashMap<(Id, Id), i64> = HashMap::new();
    for activity in activities {
        match activity {
            Activity::GuildSeen { guild_id, name, afk_channel_id } => {
                touched.guild_seen(*guild_id, name, *afk_channel_id)?;
            }
            Activity::MemberSeen(profile) | Activity::MemberListed { profile, .. } => {
                let member = touched.member_mut(profile.guild_id, profile.user_id)?;
                let here_now = match activity {
                    Activity::MemberListed { requested_at_ms, .. } => {
                        requested_at_ms.is_some_and(|asked| member.left_at_ms.is_some_and(|left| left < asked))
                    }
                    _ => true,
                };
                if here_now {
                    come_back(member);
                }
                if let Some(joined) = observe(member, profile) {
                    joins.push(LogEntry {
                        guild_id: profile.guild_id,
                        user_id: profile.user_id,
                        change: MembershipChange::Join,
                        at_ms: joined,
                    });
                }
            }
            Activity::MemberJoined(profile) => {
                let member = touched.member_mut(profile.guild_id, profile.user_id)?;
                let came_back = member.left_at_ms.is_some();
                update_profile(member, profile);
                let joined = profile.joined_at_ms.or(member.joined_at_ms).unwrap_or_default();
                member.joined_at_ms = Some(joined);
                member.left_at_ms = None;
                if came_back {
                    touched.rejoined.push((profile.guild_id, profile.user_id));
                }
                touched.post_to_log(profile.guild_id, profile.user_id, MembershipChange::Join, joined, None)?;
                joins.push(LogEntry {
                    guild_id: profile.guild_id,
                    user_id: profile.user_id,
                    change: MembershipChange::Join,
                    at_ms: joined,
                });
            }
            Activity::MemberLeft { guild_id, user_id, at_ms } => {
                // A leave is dated on receipt, and a replayed burst can bring
                // a member's leave, rejoin and second leave in one
                // millisecond: each leave of the batch gets a moment of its
                // own, or the log would take the second for the first.
                let at_ms = match leave_stamps.get(&(*guild_id, *user_id)) {
                    Some(&last) => (*at_ms).max(last + 1),
                    None => *at_ms,
                };
                leave_stamps.insert((*guild_id, *user_id), at_ms);
                let member = touched.member_mut(*guild_id, *user_id)?;
                if member.left_at_ms.is_none() {
                    member.left_at_ms = Some(at_ms);
                    let joined = member.joined_at_ms;
                    touched.post_to_log(*guild_id, *user_id, MembershipChange::Leave, at_ms, joined)?;
                    joins.push(LogEntry {
                        guild_id: *guild_id,
                        user_id: *user_id,
                        change: MembershipChange::Leave,
                        at_ms,
                    });
                }
                end_voice(&mut touched, *guild_id, *user_id, at_ms)?;
            }
            Activity::Configure { guild_id, change } => {
                touched.configure(*guild_id, change)?;
                if change.moves_rewards() {
                    touched.sync_all_rewards(*guild_id);
                }
            }
            Activity::SyncRewards { guild_id } => touched.sync_all_rewards(*guild_id),
            Activity::Import { guild_id, rows, mode, request_id } => {
                admin::import(&mut touched, *guild_id, rows, *mode, *request_id)?;
            }
            Activity::AdjustXp { guild_id, user_id, change, by, interaction_id } => {
                admin::adjust_xp(&mut touched, *guild_id, *user_id, *change, *by, *interaction_id)?;
            }
            Activity::ResetServerXp { guild_id, by, interaction_id } => {
                admin::reset_server(&mut touched, *guild_id, *by, *interaction_id)?;
            }
            Activity::Notify { guild_id, user_id, pings } => {
                touched.pings.insert((*guild_id, *user_id), *pings);
            }
            Activity::Privacy { guild_id, user_id, change, at_ms } => {
                privacy::choose(&mut touched, *guild_id, *user_id, *change, *at_ms)?;
                if *change == crate::domain::privacy::PrivacyChange::Hide {
                    touched.withdrawn.push(*guild_id);
                }
            }
            Activity::GuildRemoved { guild_id, at_ms } => {
                touched.removed.insert(*guild_id, Some(*at_ms));
            }
            Activity::ShardGuilds { shard_id, shard_count, listed, at_ms } => {
                retention::unlisted_are_removed(&mut touched, *shard_id, *shard_count, listed, *at_ms)?;
            }
            Activity::PurgeGuild { guild_id, removed_at_ms, request_id } => {
                if retention::purge(&mut touched, *guild_id, *removed_at_ms, *request_id)? {
                    joins.retain(|e| e.guild_id != *guild_id);
                }
            }
            Activity::Forget { guild_id, user_id, request_id } => {
                touched.withdrawn.push(*guild_id);
                privacy::forget(&mut touched, *guild_id, *user_id, *request_id)?;
                joins.retain(|e| (e.guild_id, e.user_id) != (*guild_id, *user_id));
            }
            Activity::Message { author, message_id, channel_id, roles } => {
                let rules = touched.rules(author.guild_id)?;
                let settings = rules.xp;
                let worth = rules.leveling.message_xp(settings.message_xp(*message_id), *channel_id, roles);
                let curve = rules.leveling.curve;
                let announce_in = rules.leveling.levelup.target(*channel_id);
                let member = touched.member_mut(author.guild_id, author.user_id)?;
                come_back(member);
                if let Some(joined) = observe(member, author) {
                    joins.push(LogEntry {
                        guild_id: author.guild_id,
                        user_id: author.user_id,
                        change: MembershipChange::Join,
                        at_ms: joined,
                    });
                }
                if !member.bot && !member.stopped {
                    member.messages += 1;
                    let at = snowflake::timestamp_ms(*message_id);
                    let mut earned = 0;
                    let mut levelled = None;
                    // A message that earns nothing (a no-XP channel or role) starts no cooldown.
                    if worth > 0 && settings.earns_xp(member.last_xp_at_ms, at) {
                        earned = worth;
                        let before = curve.level(member.xp).level;
                        member.xp += earned;
                        member.last_xp_at_ms = Some(at);
                        let after = curve.level(member.xp).level;
                        if after > before {
                            levelled = Some((before, after, member.xp));
                        }
                    }
                    if let (Some((before, after, xp)), Some(channel)) = (levelled, announce_in) {
                        touched.level_up((author.guild_id, author.user_id), before, after, xp, at, channel);
                    }
                    let day = at.div_euclid(DAY_MS);
                    let server = touched.day(author.guild_id, day);
                    server.messages += 1;
                    server.xp += earned as i64;
                    let mine = touched.member_day(author.guild_id, day, author.user_id);
                    mine.messages += 1;
                    mine.xp += earned as i64;
                }
            }
            Activity::MemberListComplete { guild_id, present, requested_at_ms } => {
                let present: std::collections::HashSet<Id> = present.iter().copied().collect();
                for user_id in touched.present_members(*guild_id)? {
                    if present.contains(&user_id) {
                        continue;
                    }
                    let member = touched.member_mut(*guild_id, user_id)?;
                    let joined_before = member.joined_at_ms.is_none_or(|j| j < *requested_at_ms);
                    if member.left_at_ms.is_none() && joined_before {
                        member.left_at_ms = Some(*requested_at_ms);
                        joins.push(LogEntry {
                            guild_id: *guild_id,
                            user_id,
                            change: MembershipChange::Leave,
                            at_ms: *requested_at_ms,
                        });
                    }
                }
            }
            Activity::VoiceChanged { guild_id, user_id, channel_id, bot, muted, at_ms } => {
                voice_changed(&mut touched, *guild_id, *user_id, channel_id.map(|c| (c, *muted)), *bot, *at_ms)?;
            }
            Activity::VoiceRoster { guild_id, in_voice, at_ms, unseen_since } => {
                let listed: std::collections::HashSet<Id> = in_voice.iter().map(|(user, _, _)| *user).collect();
                // They left at some moment Tally did not see: credit up to the last one it did.
                let left_by = unseen_since.map_or(*at_ms, |since| since.min(*at_ms));
                for user_id in touched.open_voice_members(*guild_id)? {
                    if !listed.contains(&user_id) {
                        end_voice(&mut touched, *guild_id, user_id, left_by)?;
                    }
                }
                for &(user_id, channel_id, muted) in in_voice {
                    voice_changed(&mut touched, *guild_id, user_id, Some((channel_id, muted)), false, *at_ms)?;
                }
            }
            Activity::ReactionAdded { guild_id, key, reactor_is_bot, author_id, at_ms } => {
                add_reaction(&mut touched, *guild_id, key, *reactor_is_bot, *author_id, at_ms.div_euclid(DAY_MS))?;
            }
            Activity::ReactionRemoved { guild_id, key } => {
                if let Some(counted) = touched.delete_reaction(key)? {
                    undo_reaction(&mut touched, *guild_id, counted)?;
                }
            }
            Activity::ReactionsCleared { guild_id, message_id, emoji } => {
                for counted in touched.delete_message_reactions(*message_id, emoji.as_deref())? {
                    undo_reaction(&mut touched, *guild_id, counted)?;
                }
            }
        }
    }
    // Counted per day only when new, so a join seen twice counts once.
    let mut seen = std::collections::HashSet::new();
    joins.retain(|entry| seen.insert(*entry));
    let new = if joins.is_empty() { Vec::new() } else { touched.ops.log_memberships(&joins)? };
    for (entry, new) in joins.iter().zip(new) {
        if new {
            let day = touched.day(entry.guild_id, entry.at_ms.div_euclid(DAY_MS));
            match entry.change {
                MembershipChange::Join => day.joins += 1,
                MembershipChange::Leave => day.leaves += 1,
            }
        }
    }
    touched.flush()
}

/// Members whose reward roles may now be wrong: those whose level moved (on
/// their server's curve as the batch left it), and those who came back
/// (when the server gives rewards back on rejoin). Only in servers with
/// rewards; servers checked whole are left to that.
fn reward_syncs(
    rules: &HashMap<Id, GuildRules>,
    rows: &[&Entry],
    rejoined: &[(Id, Id)],
    whole: &[Id],
    now_ms: i64,
) -> Vec<((Id, Id), i64)> {
    let gives = |guild: &Id| rules.get(guild).is_some_and(|r| !r.leveling.rewards.is_empty()) && !whole.contains(guild);
    let mut queued: Vec<(Id, Id)> = rows
        .iter()
        .filter(|(m, _, _)| !m.bot && m.left_at_ms.is_none() && gives(&m.guild_id))
        .filter(|(m, _, loaded)| {
            let curve = rules[&m.guild_id].leveling.curve;
            curve.level(loaded.map_or(0, |l| l.xp)).level != curve.level(m.xp).level
        })
        .map(|(m, _, _)| (m.guild_id, m.user_id))
        .collect();
    queued.extend(rejoined.iter().filter(|(g, _)| gives(g) && rules[g].leveling.rewards_on_rejoin));
    queued.sort_unstable();
    queued.dedup();
    queued.into_iter().map(|key| (key, now_ms)).collect()
}

/// Author id stored for a reaction whose message author Discord did not send.
const UNKNOWN_AUTHOR: Id = 0;

fn add_reaction(
    touched: &mut Touched<'_>,
    guild_id: Id,
    key: &ReactionKey,
    reactor_is_bot: bool,
    author_id: Option<Id>,
    day: i64,
) -> Result<(), StoreError> {
    if reactor_is_bot || author_id == Some(key.user_id) {
        return Ok(());
    }
    if touched.member(guild_id, key.user_id)?.left_at_ms.is_some() {
        // Reacting shows they are in the server.
        come_back(touched.member_mut(guild_id, key.user_id)?);
    }
    let reactor = touched.member(guild_id, key.user_id)?;
    if reactor.bot || reactor.stopped {
        return Ok(());
    }
    let mut author = author_id.unwrap_or(UNKNOWN_AUTHOR);
    if author != UNKNOWN_AUTHOR {
        let by = touched.member(guild_id, author)?;
        if by.bot {
            return Ok(());
        }
        // The reactor's gift counts; nothing is recorded about a member
        // who stopped counting, so neither is its receipt.
        if by.stopped {
            author = UNKNOWN_AUTHOR;
        }
    }
    let counted = CountedReaction { reactor: key.user_id, author, day: Some(day) };
    if !touched.insert_reaction(guild_id, key, counted)? {
        return Ok(()); // Already counted (Discord repeats an add only after a remove).
    }
    count_reaction(touched, guild_id, counted, 1)
}

fn undo_reaction(touched: &mut Touched<'_>, guild_id: Id, counted: CountedReaction) -> Result<(), StoreError> {
    count_reaction(touched, guild_id, counted, -1)
}

/// Adds (`sign` 1) or takes back (`sign` -1) a counted reaction: on the
/// members' totals and, when it has one, on its day.
fn count_reaction(
    touched: &mut Touched<'_>,
    guild_id: Id,
    counted: CountedReaction,
    sign: i64,
) -> Result<(), StoreError> {
    let CountedReaction { reactor, author, day } = counted;
    let step = |n: &mut u64| *n = n.saturating_add_signed(sign);
    step(&mut touched.member_mut(guild_id, reactor)?.reactions_given);
    if author != UNKNOWN_AUTHOR {
        step(&mut touched.member_mut(guild_id, author)?.reactions_received);
    }
    if let Some(day) = day {
        touched.day(guild_id, day).reactions_given += sign;
        touched.member_day(guild_id, day, reactor).reactions_given += sign;
        if author != UNKNOWN_AUTHOR {
            touched.member_day(guild_id, day, author).reactions_received += sign;
        }
    }
    Ok(())
}

fn update_profile(member: &mut Member, profile: &MemberProfile) {
    if member.username != profile.username {
        member.username.clone_from(&profile.username);
    }
    if member.display_name != profile.display_name {
        member.display_name.clone_from(&profile.display_name);
    }
    if member.avatar != profile.avatar {
        member.avatar.clone_from(&profile.avatar);
    }
    member.bot = profile.bot;
}

/// A payload in the gateway's order shows the member in the server now: a
/// leave recorded before it was wrong (a member list that missed them, say)
/// and they are present again at once. Their join date is what Discord
/// says; the wrong leave stays in the log and the day's leaves.
fn come_back(member: &mut Member) {
    member.left_at_ms = None;
}

/// Records what a payload shows about a present member. Returns the join time
/// to log when it reveals a join Tally had not recorded (a member who was
/// there before the bot, or who came back while it was away).
fn observe(member: &mut Member, profile: &MemberProfile) -> Option<i64> {
    update_profile(member, profile);
    let joined = profile.joined_at_ms?;
    let newer = member.joined_at_ms.is_none_or(|known| joined > known);
    if newer {
        member.joined_at_ms = Some(joined);
        member.left_at_ms = None;
        Some(joined)
    } else {
        None
    }
}

#[cfg(test)]
pub(crate) mod testing;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod stored_tests;

#[cfg(test)]
mod rankings_tests;

#[cfg(test)]
mod leveling_tests;

#[cfg(test)]
mod import_tests;

#[cfg(test)]
mod privacy_tests;

#[cfg(test)]
mod retention_tests;
