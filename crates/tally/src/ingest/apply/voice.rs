//! Time in voice: a session runs from joining a voice channel to leaving
//! voice, kept open in the store between batches (and restarts), and its
//! time is credited to the member and to each UTC day it spans when it ends.

use super::Touched;
use crate::domain::activity::Id;
use crate::store::{StoreError, DAY_MS};

/// A member is now in `channel` (None: out of voice) as of `at_ms`. Time
/// counts from a join to a leave, in any channel but the AFK one; moving
/// between counted channels keeps the session going. Bots never count.
pub(super) fn voice_changed(
    touched: &mut Touched<'_>,
    guild_id: Id,
    user_id: Id,
    channel: Option<Id>,
    bot: bool,
    at_ms: i64,
) -> Result<(), StoreError> {
    let afk = touched.afk_channel(guild_id)?;
    let counted = channel.is_some_and(|c| Some(c) != afk) && !bot && !touched.member(guild_id, user_id)?.bot;
    if counted {
        touched.open_voice(guild_id, user_id, at_ms)?;
        Ok(())
    } else {
        end_voice(touched, guild_id, user_id, at_ms)
    }
}

/// Ends a member's voice session, if one is open, crediting its time to
/// their total and to each day it spans.
pub(super) fn end_voice(touched: &mut Touched<'_>, guild_id: Id, user_id: Id, at_ms: i64) -> Result<(), StoreError> {
    let Some(since) = touched.close_voice(guild_id, user_id)? else { return Ok(()) };
    if at_ms <= since {
        return Ok(());
    }
    touched.member_mut(guild_id, user_id)?.voice_ms += (at_ms - since) as u64;
    let mut start = since;
    while start < at_ms {
        let day = start.div_euclid(DAY_MS);
        let end = ((day + 1) * DAY_MS).min(at_ms);
        touched.day(guild_id, day).voice_ms += end - start;
        touched.member_day(guild_id, day, user_id).voice_ms += end - start;
        start = end;
    }
    Ok(())
}
