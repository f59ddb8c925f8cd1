//! Purging a whole server, in the ledger: when its retention ran out after
//! the bot was removed (and it has not come back since), or at once for
//! `tally purge`. Everything the batch held for the server goes too, so
//! nothing is written back after the rows are gone.

use crate::domain::activity::Id;
use crate::domain::shards::shard_of;
use crate::store::StoreError;

use super::{Slot, Touched};

/// At a new session's READY for shard `shard_id` of `shard_count`: every
/// server Tally holds on that shard (stored and not removed, or seen in
/// this batch) that READY does not list has removed the bot while Tally
/// was away. Its retention clock starts at `at_ms`, as a GUILD_DELETE's
/// would. A server listed as unavailable (an outage) is listed, so never.
pub(super) fn unlisted_are_removed(
    touched: &mut Touched<'_>,
    shard_id: u32,
    shard_count: u32,
    listed: &[Id],
    at_ms: i64,
) -> Result<(), StoreError> {
    let listed: std::collections::HashSet<Id> = listed.iter().copied().collect();
    let mut held: std::collections::BTreeSet<Id> = touched.ops.held_guilds()?.into_iter().collect();
    // This batch's own word on a server comes after the stored one.
    for (guild_id, removed) in &touched.removed {
        match removed {
            None => held.insert(*guild_id),
            Some(_) => held.remove(guild_id),
        };
    }
    for guild_id in held {
        if shard_of(guild_id, shard_count) == shard_id && !listed.contains(&guild_id) {
            touched.removed.insert(guild_id, Some(at_ms));
        }
    }
    Ok(())
}

/// Purges `guild_id` if it should be: true when it was.
pub(super) fn purge(
    touched: &mut Touched<'_>,
    guild_id: Id,
    removed_at_ms: Option<i64>,
    request_id: Option<Id>,
) -> Result<bool, StoreError> {
    // Whole-server work, in pieces (the ledger applies it alone): a
    // request is claimed with the last piece, so every piece before it
    // finds the request still open.
    if let Some(id) = request_id {
        if touched.ops.request_applied(id)? {
            return Ok(false);
        }
    }
    // The retention clock's purge stands only if the bot is still gone
    // since that removal (this batch may have seen it come back).
    if let Some(removed) = removed_at_ms {
        let now = match touched.removed.get(&guild_id) {
            Some(state) => *state,
            None => touched.ops.guild_removed_at(guild_id)?,
        };
        if now != Some(removed) {
            return Ok(false);
        }
    }
    touched.members.retain(|(g, _), _| *g != guild_id);
    touched.days.retain(|(g, _), _| *g != guild_id);
    touched.member_days.retain(|(g, _, _), _| *g != guild_id);
    for slot in touched.reactions.values_mut() {
        let here = |s: &Option<crate::store::StoredReaction>| s.as_ref().is_some_and(|r| r.guild_id == guild_id);
        if here(&slot.stored) || here(&slot.now) {
            *slot = Slot::loaded(None);
        }
    }
    for ((g, _), slot) in touched.voice.iter_mut() {
        if *g == guild_id {
            *slot = Slot::loaded(None);
        }
    }
    touched.voice_guilds.remove(&guild_id);
    touched.present.remove(&guild_id);
    touched.seen.retain(|g| g.guild_id != guild_id);
    touched.configured.retain(|g| *g != guild_id);
    touched.rules.remove(&guild_id);
    touched.pings.retain(|(g, _), _| *g != guild_id);
    touched.levelups.retain(|(g, _), _| *g != guild_id);
    touched.forget.retain(|(g, _, _)| *g != guild_id);
    touched.erased.retain(|c| c.guild_id != guild_id);
    touched.audit.retain(|a| a.guild_id != guild_id);
    touched.log_posts.retain(|p| p.guild_id != guild_id);
    touched.rejoined.retain(|(g, _)| *g != guild_id);
    touched.reward_sync_all.retain(|g| *g != guild_id);
    touched.removed.remove(&guild_id);
    touched.purged.push(guild_id);
    if touched.ops.purge_guild(guild_id, touched.piece)? {
        if let Some(id) = request_id {
            // Done, and then gone with the rest of the server's requests.
            touched.ops.claim_request(id, touched.now_ms)?;
            touched.ops.purge_guild(guild_id, touched.piece)?;
        }
    } else {
        touched.unfinished = true;
    }
    Ok(true)
}
