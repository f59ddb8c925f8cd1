//! Members' privacy in the ledger: their choices (`/privacy
//! hide|show|stop|start`) and erasure (`/privacy delete`, `tally forget`),
//! applied in order with the events around them.

use crate::domain::activity::Id;
use crate::domain::privacy::PrivacyChange;
use crate::store::{Member, StoreError};

use super::voice::end_voice;
use super::{Loaded, RankChange, Slot, Touched, UNKNOWN_AUTHOR};

/// A member's choice. Stopping ends a voice session at the moment of the
/// choice (the time until then counts); nothing after it does.
pub(super) fn choose(
    touched: &mut Touched<'_>,
    guild_id: Id,
    user_id: Id,
    change: PrivacyChange,
    at_ms: i64,
) -> Result<(), StoreError> {
    if change == PrivacyChange::Stop {
        end_voice(touched, guild_id, user_id, at_ms)?;
    }
    let member = touched.member_mut(guild_id, user_id)?;
    match change {
        PrivacyChange::Hide => member.hidden = true,
        PrivacyChange::Show => member.hidden = false,
        PrivacyChange::Stop => member.stopped = true,
        PrivacyChange::Start => member.stopped = false,
    }
    Ok(())
}

/// Erases the member in the server, now, in this transaction: what later
/// events in the batch do starts from nothing, and nothing the batch held
/// for them before is written back. The server's days keep their sums.
pub(super) fn forget(
    touched: &mut Touched<'_>,
    guild_id: Id,
    user_id: Id,
    request_id: Option<Id>,
) -> Result<(), StoreError> {
    if let Some(id) = request_id {
        if !touched.ops.claim_request(id, touched.now_ms)? {
            return Ok(());
        }
    }
    // Those left in their voice channel earn up to now, then without them.
    end_voice(touched, guild_id, user_id, touched.now_ms)?;
    let key = (guild_id, user_id);
    touched.member(guild_id, user_id)?;
    let (_, _, loaded) = touched.members.remove(&key).expect("just loaded");
    if let Some(before) = loaded.and_then(Loaded::ranked) {
        touched.erased.push(RankChange { guild_id, user_id, before: Some(before), after: None });
    }
    // Not stored from here on: a later event inserts a fresh row.
    touched.members.insert(key, (Member::new(guild_id, user_id), false, None));
    touched.member_days.retain(|(g, _, u), _| (*g, *u) != key);
    touched.levelups.remove(&key);
    touched.pings.remove(&key);
    touched.forget.retain(|(g, u, _)| (*g, *u) != key);
    touched.rejoined.retain(|k| *k != key);
    touched.audit.retain(|a| (a.guild_id, a.target) != key);
    touched.log_posts.retain(|p| (p.guild_id, p.user_id) != key);
    for ((_, reactor, _), slot) in touched.reactions.iter_mut() {
        let theirs = |s: &Option<crate::store::StoredReaction>| s.as_ref().is_some_and(|r| r.guild_id == guild_id);
        if *reactor == user_id && (theirs(&slot.stored) || theirs(&slot.now)) {
            *slot = Slot::loaded(None);
            continue;
        }
        for state in [&mut slot.stored, &mut slot.now].into_iter().flatten() {
            if state.guild_id == guild_id && state.counted.author == user_id {
                state.counted.author = UNKNOWN_AUTHOR;
            }
        }
    }
    touched.voice.insert(key, Slot::loaded(None));
    touched.ops.erase_member(guild_id, user_id)
}
