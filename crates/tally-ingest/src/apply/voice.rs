//! Time in voice, and voice XP. A session runs from joining a voice channel
//! to leaving voice, kept open in the store between batches (and restarts),
//! and its time is credited to the member and to each UTC day it spans when
//! it ends.
//!
//! Voice XP (when the server sets `/config voicexp`) is earned for each
//! whole minute a member spends in a channel with at least one other
//! (non-bot) member, not self-muted or deafened, and not in the AFK channel
//! (which has no sessions). Whenever someone in a channel joins, leaves,
//! moves or mutes, the channel's earners are credited their whole minutes up
//! to that moment (a partial minute carries on while they keep earning),
//! and then who earns is decided afresh.

use super::Touched;
use crate::domain::activity::Id;
use crate::store::{StoreError, DAY_MS};

/// A member is now in `now`'s channel (with their mute state), or out of
/// voice (None), as of `at_ms`. Time counts from a join to a leave, in any
/// channel but the AFK one; moving between counted channels keeps the
/// session going. Bots never count.
pub(super) fn voice_changed(
    touched: &mut Touched<'_>,
    guild_id: Id,
    user_id: Id,
    now: Option<(Id, bool)>,
    bot: bool,
    at_ms: i64,
) -> Result<(), StoreError> {
    let afk = touched.afk_channel(guild_id)?;
    let counted = now.is_some_and(|(c, _)| Some(c) != afk) && !bot && {
        let member = touched.member(guild_id, user_id)?;
        !member.bot && !member.stopped
    };
    let was_in = touched.voice_slot(guild_id, user_id)?.now.and_then(|s| s.channel_id);
    let channels = [was_in, now.map(|(c, _)| c).filter(|_| counted)];
    settle(touched, guild_id, &channels, at_ms)?;
    match now {
        Some((channel, muted)) if counted => touched.open_voice(guild_id, user_id, at_ms, channel, muted)?,
        _ => credit_time(touched, guild_id, user_id, at_ms)?,
    }
    decide_earners(touched, guild_id, &channels, at_ms)
}

/// Ends a member's voice session, if one is open, crediting its time to
/// their total and to each day it spans (and the voice XP of those left
/// in the channel up to now).
pub(super) fn end_voice(touched: &mut Touched<'_>, guild_id: Id, user_id: Id, at_ms: i64) -> Result<(), StoreError> {
    let was_in = touched.voice_slot(guild_id, user_id)?.now.and_then(|s| s.channel_id);
    settle(touched, guild_id, &[was_in], at_ms)?;
    credit_time(touched, guild_id, user_id, at_ms)?;
    decide_earners(touched, guild_id, &[was_in], at_ms)
}

fn credit_time(touched: &mut Touched<'_>, guild_id: Id, user_id: Id, at_ms: i64) -> Result<(), StoreError> {
    let Some(session) = touched.close_voice(guild_id, user_id)? else { return Ok(()) };
    let since = session.since;
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

/// The server's voice XP a minute (0: off).
fn rate(touched: &mut Touched<'_>, guild_id: Id) -> Result<u32, StoreError> {
    Ok(touched.rules(guild_id)?.leveling.voice_xp_per_minute)
}

/// Credits every earner in `channels` their whole minutes up to `at_ms`.
fn settle(touched: &mut Touched<'_>, guild_id: Id, channels: &[Option<Id>], at_ms: i64) -> Result<(), StoreError> {
    let rate = rate(touched, guild_id)?;
    if rate == 0 {
        return Ok(());
    }
    for (user_id, state) in touched.voice_in(guild_id)? {
        let (Some(since), Some(channel)) = (state.earning_since, state.channel_id) else { continue };
        if !channels.contains(&Some(channel)) || at_ms <= since {
            continue;
        }
        let minutes = (at_ms - since) / 60_000;
        if minutes == 0 {
            continue;
        }
        if let Some(open) = touched.voice_slot(guild_id, user_id)?.now.as_mut() {
            open.earning_since = Some(since + minutes * 60_000);
        }
        credit_xp(touched, guild_id, user_id, minutes as u64 * u64::from(rate), channel, at_ms)?;
    }
    Ok(())
}

/// Decides who in `channels` earns from `at_ms` on: not muted, and not alone.
fn decide_earners(
    touched: &mut Touched<'_>,
    guild_id: Id,
    channels: &[Option<Id>],
    at_ms: i64,
) -> Result<(), StoreError> {
    if rate(touched, guild_id)? == 0 {
        return Ok(());
    }
    let sessions = touched.voice_in(guild_id)?;
    for (user_id, state) in &sessions {
        let Some(channel) = state.channel_id.filter(|c| channels.contains(&Some(*c))) else { continue };
        let others = sessions.iter().filter(|(u, s)| u != user_id && s.channel_id == Some(channel)).count();
        let earns = !state.muted && others > 0;
        let Some(open) = touched.voice_slot(guild_id, *user_id)?.now.as_mut() else { continue };
        open.earning_since = match (earns, open.earning_since) {
            (true, None) => Some(at_ms),
            (true, kept) => kept,
            (false, _) => None,
        };
    }
    Ok(())
}

/// Adds voice XP to a member, their day and the server's, noting a level-up.
fn credit_xp(
    touched: &mut Touched<'_>,
    guild_id: Id,
    user_id: Id,
    xp: u64,
    channel: Id,
    at_ms: i64,
) -> Result<(), StoreError> {
    let leveling = &touched.rules(guild_id)?.leveling;
    let (curve, announce_in) = (leveling.curve, leveling.levelup.target(channel));
    let member = touched.member_mut(guild_id, user_id)?;
    let before = curve.level(member.xp).level;
    member.xp += xp;
    let (after, total) = (curve.level(member.xp).level, member.xp);
    let day = at_ms.div_euclid(DAY_MS);
    touched.day(guild_id, day).xp += xp as i64;
    touched.member_day(guild_id, day, user_id).xp += xp as i64;
    if let (true, Some(target)) = (after > before, announce_in) {
        touched.level_up((guild_id, user_id), before, after, total, at_ms, target);
    }
    Ok(())
}
