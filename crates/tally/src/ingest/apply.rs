//! The counting rules, applied to a batch of activity inside one store
//! transaction. Shared by every backend: the backend supplies [`StoreOps`],
//! this module decides what each activity changes. Each member's row is
//! read at most once and written at most once per batch.

use std::collections::HashMap;

use crate::domain::{activity::Id, snowflake, Activity, MemberProfile, ReactionKey, XpSettings};
use crate::store::{CountedReaction, DayChange, Member, MembershipChange, RowWrite, StoreError, StoreOps, DAY_MS};

mod voice;
use voice::{end_voice, voice_changed};

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

/// The XP a member is ranked with, if they are ranked at all.
pub fn ranked_xp(member: &Member) -> Option<u64> {
    ranked(member.xp, member.left_at_ms, member.bot)
}

fn ranked(xp: u64, left_at_ms: Option<i64>, bot: bool) -> Option<u64> {
    (!bot && left_at_ms.is_none() && xp > 0).then_some(xp)
}

/// What a committed batch changed, for what is kept in memory beside the database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// Leaderboard moves, for the in-memory standings.
    pub moves: Vec<RankChange>,
    /// Every server the batch touched, so boards built from them are known stale.
    pub guilds: Vec<Id>,
}

/// One member in a batch: the row, whether it changed, and the row as loaded.
type Entry = (Member, bool, Option<Loaded>);

/// What a member's stored row held before the batch.
#[derive(Debug, Clone, Copy)]
struct Loaded {
    xp: u64,
    left_at_ms: Option<i64>,
    bot: bool,
}

/// Members touched by a batch, loaded once and written back once.
struct Touched<'o> {
    ops: &'o mut dyn StoreOps,
    members: HashMap<(Id, Id), Entry>,
    settings: HashMap<Id, XpSettings>,
    /// Each server's AFK channel, where voice time does not count.
    afk_channels: HashMap<Id, Option<Id>>,
    /// Each server's figures by day, added to `guild_days` once per batch.
    days: HashMap<(Id, i64), DayChange>,
    /// Each member's figures by day, keyed as `member_days` is.
    member_days: HashMap<(Id, i64, Id), DayChange>,
}

impl<'o> Touched<'o> {
    fn member(&mut self, guild_id: Id, user_id: Id) -> Result<&mut Member, StoreError> {
        let entry = match self.members.entry((guild_id, user_id)) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let stored = self.ops.load_member(guild_id, user_id)?;
                let loaded = stored.as_ref().map(|m| Loaded { xp: m.xp, left_at_ms: m.left_at_ms, bot: m.bot });
                let member = stored.unwrap_or_else(|| Member::new(guild_id, user_id));
                e.insert((member, false, loaded))
            }
        };
        Ok(&mut entry.0)
    }

    /// Like [`Self::member`], and marks the row to be written back.
    fn member_mut(&mut self, guild_id: Id, user_id: Id) -> Result<&mut Member, StoreError> {
        self.member(guild_id, user_id)?;
        let entry = self.members.get_mut(&(guild_id, user_id)).expect("just loaded");
        entry.1 = true;
        Ok(&mut entry.0)
    }

    /// Loads the members a batch names up front, in key order: the B-tree is
    /// walked once from left to right instead of sought at random, member by
    /// member, as events name them.
    fn load_in_key_order<'a>(&mut self, activities: impl Iterator<Item = &'a Activity>) -> Result<(), StoreError> {
        let mut keys: Vec<(Id, Id)> = activities
            .filter_map(|activity| match activity {
                Activity::Message { author, .. } => Some((author.guild_id, author.user_id)),
                Activity::MemberSeen(p) | Activity::MemberJoined(p) => Some((p.guild_id, p.user_id)),
                Activity::ReactionAdded { guild_id, key, .. } | Activity::ReactionRemoved { guild_id, key } => {
                    Some((*guild_id, key.user_id))
                }
                Activity::VoiceChanged { guild_id, user_id, .. } => Some((*guild_id, *user_id)),
                _ => None,
            })
            .collect();
        keys.sort_unstable();
        keys.dedup();
        for (guild_id, user_id) in keys {
            self.member(guild_id, user_id)?;
        }
        Ok(())
    }

    fn settings(&mut self, guild_id: Id) -> Result<XpSettings, StoreError> {
        if let Some(s) = self.settings.get(&guild_id) {
            return Ok(*s);
        }
        let s = self.ops.xp_settings(guild_id)?;
        self.settings.insert(guild_id, s);
        Ok(s)
    }

    fn afk_channel(&mut self, guild_id: Id) -> Result<Option<Id>, StoreError> {
        if let Some(afk) = self.afk_channels.get(&guild_id) {
            return Ok(*afk);
        }
        let afk = self.ops.afk_channel(guild_id)?;
        self.afk_channels.insert(guild_id, afk);
        Ok(afk)
    }

    /// The running figures of `guild_id` on `day`.
    fn day(&mut self, guild_id: Id, day: i64) -> &mut DayChange {
        self.days.entry((guild_id, day)).or_default()
    }

    /// The running figures of one member on `day`.
    fn member_day(&mut self, guild_id: Id, day: i64, user_id: Id) -> &mut DayChange {
        self.member_days.entry((guild_id, day, user_id)).or_default()
    }

    fn flush(self) -> Result<Applied, StoreError> {
        let mut guilds: Vec<Id> =
            self.members.keys().map(|(guild, _)| *guild).chain(self.days.keys().map(|(guild, _)| *guild)).collect();
        guilds.sort_unstable();
        guilds.dedup();
        let mut days: Vec<_> = self.days.iter().collect();
        days.sort_unstable_by_key(|(key, _)| **key);
        for ((guild_id, day), change) in days {
            self.ops.add_guild_day(*guild_id, *day, change)?;
        }
        let mut member_days: Vec<_> = self.member_days.iter().collect();
        member_days.sort_unstable_by_key(|(key, _)| **key);
        for ((guild_id, day, user_id), change) in member_days {
            self.ops.add_member_day(*guild_id, *day, *user_id, change)?;
        }
        let mut changes = Vec::new();
        // In key order: neighbouring rows share B-tree pages, so each page is
        // found and rewritten once instead of once per member in hash order.
        let mut rows: Vec<&Entry> = self.members.values().filter(|(_, dirty, _)| *dirty).collect();
        rows.sort_unstable_by_key(|(m, _, _)| (m.guild_id, m.user_id));
        for (member, _, loaded) in rows {
            let write = match loaded {
                None => RowWrite::Insert,
                Some(l) if (l.xp, l.left_at_ms, l.bot) == (member.xp, member.left_at_ms, member.bot) => {
                    RowWrite::Counters
                }
                Some(_) => RowWrite::Everything,
            };
            self.ops.save_member(member, write)?;
            let before = loaded.and_then(|l| ranked(l.xp, l.left_at_ms, l.bot));
            let after = ranked_xp(member);
            if after != before {
                changes.push(RankChange { guild_id: member.guild_id, user_id: member.user_id, before, after });
            }
        }
        Ok(Applied { moves: changes, guilds })
    }
}

/// Applies `activities` in order through `ops`. Call inside a transaction:
/// on error the caller rolls back and nothing is counted. Returns what the
/// in-memory state needs once the transaction is committed: leaderboard
/// moves and the servers touched.
pub fn apply<'a, I>(ops: &mut dyn StoreOps, activities: I) -> Result<Applied, StoreError>
where
    I: IntoIterator<Item = &'a Activity>,
    I::IntoIter: Clone,
{
    let activities = activities.into_iter();
    let mut joins: Vec<(Id, Id, MembershipChange, i64)> = Vec::new();
    let mut touched = Touched {
        ops,
        members: HashMap::new(),
        settings: HashMap::new(),
        afk_channels: HashMap::new(),
        days: HashMap::new(),
        member_days: HashMap::new(),
    };
    touched.load_in_key_order(activities.clone())?;
    for activity in activities {
        match activity {
            Activity::GuildSeen { guild_id, name, afk_channel_id } => {
                touched.ops.upsert_guild(*guild_id, name, *afk_channel_id)?;
                touched.afk_channels.insert(*guild_id, *afk_channel_id);
            }
            Activity::MemberSeen(profile) => {
                let member = touched.member_mut(profile.guild_id, profile.user_id)?;
                if let Some(joined) = observe(member, profile) {
                    joins.push((profile.guild_id, profile.user_id, MembershipChange::Join, joined));
                }
            }
            Activity::MemberJoined(profile) => {
                let member = touched.member_mut(profile.guild_id, profile.user_id)?;
                update_profile(member, profile);
                let joined = profile.joined_at_ms.or(member.joined_at_ms).unwrap_or_default();
                member.joined_at_ms = Some(joined);
                member.left_at_ms = None;
                joins.push((profile.guild_id, profile.user_id, MembershipChange::Join, joined));
            }
            Activity::MemberLeft { guild_id, user_id, at_ms } => {
                let member = touched.member_mut(*guild_id, *user_id)?;
                if member.left_at_ms.is_none() {
                    member.left_at_ms = Some(*at_ms);
                    joins.push((*guild_id, *user_id, MembershipChange::Leave, *at_ms));
                }
                end_voice(&mut touched, *guild_id, *user_id, *at_ms)?;
            }
            Activity::Message { author, message_id } => {
                let settings = touched.settings(author.guild_id)?;
                let member = touched.member_mut(author.guild_id, author.user_id)?;
                if let Some(joined) = observe(member, author) {
                    joins.push((author.guild_id, author.user_id, MembershipChange::Join, joined));
                }
                if !member.bot {
                    member.messages += 1;
                    let at = snowflake::timestamp_ms(*message_id);
                    let mut earned = 0;
                    if settings.earns_xp(member.last_xp_at_ms, at) {
                        earned = u64::from(settings.message_xp(*message_id));
                        member.xp += earned;
                        member.last_xp_at_ms = Some(at);
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
                for user_id in touched.ops.present_members(*guild_id)? {
                    if present.contains(&user_id) {
                        continue;
                    }
                    let member = touched.member_mut(*guild_id, user_id)?;
                    let joined_before = member.joined_at_ms.is_none_or(|j| j < *requested_at_ms);
                    if member.left_at_ms.is_none() && joined_before {
                        member.left_at_ms = Some(*requested_at_ms);
                        joins.push((*guild_id, user_id, MembershipChange::Leave, *requested_at_ms));
                    }
                }
            }
            Activity::VoiceChanged { guild_id, user_id, channel_id, bot, at_ms } => {
                voice_changed(&mut touched, *guild_id, *user_id, *channel_id, *bot, *at_ms)?;
            }
            Activity::VoiceRoster { guild_id, in_voice, at_ms, unseen_since } => {
                let listed: std::collections::HashSet<Id> = in_voice.iter().map(|(user, _)| *user).collect();
                // They left at some moment Tally did not see: credit up to the last one it did.
                let left_by = unseen_since.map_or(*at_ms, |since| since.min(*at_ms));
                for user_id in touched.ops.open_voice_members(*guild_id)? {
                    if !listed.contains(&user_id) {
                        end_voice(&mut touched, *guild_id, user_id, left_by)?;
                    }
                }
                for &(user_id, channel_id) in in_voice {
                    voice_changed(&mut touched, *guild_id, user_id, Some(channel_id), false, *at_ms)?;
                }
            }
            Activity::ReactionAdded { guild_id, key, reactor_is_bot, author_id, at_ms } => {
                add_reaction(&mut touched, *guild_id, key, *reactor_is_bot, *author_id, at_ms.div_euclid(DAY_MS))?;
            }
            Activity::ReactionRemoved { guild_id, key } => {
                if let Some(counted) = touched.ops.delete_reaction(key)? {
                    undo_reaction(&mut touched, *guild_id, counted)?;
                }
            }
            Activity::ReactionsCleared { guild_id, message_id, emoji } => {
                for counted in touched.ops.delete_message_reactions(*message_id, emoji.as_deref())? {
                    undo_reaction(&mut touched, *guild_id, counted)?;
                }
            }
        }
    }
    for (guild_id, user_id, change, at) in joins {
        // Counted per day only when new, so a join seen twice counts once.
        if touched.ops.log_membership(guild_id, user_id, change, at)? {
            let day = touched.day(guild_id, at.div_euclid(DAY_MS));
            match change {
                MembershipChange::Join => day.joins += 1,
                MembershipChange::Leave => day.leaves += 1,
            }
        }
    }
    touched.flush()
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
    if reactor_is_bot || author_id == Some(key.user_id) || touched.member(guild_id, key.user_id)?.bot {
        return Ok(());
    }
    if let Some(author) = author_id {
        if touched.member(guild_id, author)?.bot {
            return Ok(());
        }
    }
    let author = author_id.unwrap_or(UNKNOWN_AUTHOR);
    if !touched.ops.insert_reaction(guild_id, key, author, day)? {
        return Ok(()); // Already counted (Discord repeats an add only after a remove).
    }
    let counted = CountedReaction { reactor: key.user_id, author, day: Some(day) };
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
mod tests;
