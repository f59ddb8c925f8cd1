//! Admins' XP changes (`/xp`), applied in order with the events around
//! them. Each is written to the audit log, keyed by its interaction so a
//! replay writes it once. Level-ups an admin takes away are forgotten, so
//! reaching them again announces them again; admin changes announce
//! nothing themselves.

use crate::domain::activity::Id;
use crate::domain::import::{ImportMode, ImportRow};
use crate::domain::snowflake;
use crate::domain::xp::XpChange;
use crate::store::{AuditEntry, StoreError};

use super::Touched;

/// `/xp add|remove|set|reset` on one member.
pub(super) fn adjust_xp(
    touched: &mut Touched<'_>,
    guild_id: Id,
    user_id: Id,
    change: XpChange,
    by: Id,
    interaction_id: Id,
) -> Result<(), StoreError> {
    let curve = touched.rules(guild_id)?.leveling.curve;
    let member = touched.member_mut(guild_id, user_id)?;
    let before = member.xp;
    member.xp = change.apply(before);
    let after = member.xp;
    if after < before {
        let level = curve.level(after).level;
        touched.forget.push((guild_id, user_id, level));
        if touched.levelups.get(&(guild_id, user_id)).is_some_and(|l| l.level > level) {
            touched.levelups.remove(&(guild_id, user_id));
        }
    }
    let (action, amount) = change.describe();
    touched.audit.push(AuditEntry {
        guild_id,
        interaction_id,
        at_ms: snowflake::timestamp_ms(interaction_id),
        by,
        target: user_id,
        action: action.to_owned(),
        amount,
        before,
        after,
    });
    Ok(())
}

/// `/xp reset-server`, confirmed: every member stored for the server back to zero.
pub(super) fn reset_server(
    touched: &mut Touched<'_>,
    guild_id: Id,
    by: Id,
    interaction_id: Id,
) -> Result<(), StoreError> {
    // In pieces: the members who still have XP, a piece at a time. A piece
    // committed is done for good, so a crash between pieces goes on from
    // where the last one ended, and nothing else interleaves (the ledger
    // applies this event alone until it is finished).
    let piece = touched.piece;
    let holding = touched.ops.members_with_xp(guild_id, piece)?;
    touched.unfinished |= holding.len() >= piece;
    let users: Vec<Id> = holding.iter().map(|m| m.user_id).collect();
    // The server's XP before the reset, for the audit log: the whole of it
    // while no member has been reset yet (the first piece, or the only
    // one), which is the only piece whose entry is written (later pieces
    // find it there and leave it).
    let first_piece = !touched.ops.audit_written(guild_id, interaction_id, 0)?;
    let total = if first_piece { touched.ops.guild_xp_total(guild_id)? } else { 0 };
    touched.take_loaded(holding);
    for user_id in users {
        touched.member_mut(guild_id, user_id)?.xp = 0;
    }
    touched.reset.push(guild_id);
    touched.forget.push((guild_id, 0, 0));
    touched.levelups.retain(|(guild, _), _| *guild != guild_id);
    touched.audit.push(AuditEntry {
        guild_id,
        interaction_id,
        at_ms: snowflake::timestamp_ms(interaction_id),
        by,
        target: 0,
        action: "reset-server".to_owned(),
        amount: 0,
        before: total,
        after: 0,
    });
    Ok(())
}

/// An import, claimed first: applied once, whoever applies it. Members'
/// XP merge by `mode`; counts keep the higher figure (or the imported one
/// when replacing); names and dates fill in what Tally does not know.
/// Imported XP is not on any day (its history is not known) and announces
/// nothing; reward roles follow from the level changes as always. Bots are
/// skipped (Tally never ranks them), and members who asked not to be counted.
pub(super) fn import(
    touched: &mut Touched<'_>,
    guild_id: Id,
    rows: &[ImportRow],
    mode: ImportMode,
    request_id: Id,
) -> Result<(), StoreError> {
    if !touched.ops.claim_request(request_id, touched.now_ms)? {
        return Ok(());
    }
    let curve = touched.rules(guild_id)?.leveling.curve;
    let mut keys: Vec<(Id, Id)> = rows.iter().map(|r| (guild_id, r.user_id)).collect();
    keys.sort_unstable();
    let missing: Vec<(Id, Id)> = keys.iter().filter(|k| !touched.members.contains_key(k)).copied().collect();
    touched.load(&missing)?;
    let replace = mode == ImportMode::Replace;
    for row in rows {
        let known = touched.member(guild_id, row.user_id)?;
        if known.bot || known.stopped {
            continue;
        }
        let member = touched.member_mut(guild_id, row.user_id)?;
        let before = member.xp;
        member.xp = mode.xp(member.xp, row.xp);
        member.messages = mode.count(member.messages, row.messages);
        member.reactions_given = mode.count(member.reactions_given, row.reactions_given);
        member.reactions_received = mode.count(member.reactions_received, row.reactions_received);
        member.voice_ms = mode.count(member.voice_ms, row.voice_ms);
        if let Some(name) = row.name.as_ref().filter(|_| replace || member.display_name.is_empty()) {
            member.display_name.clone_from(name);
        }
        if row.joined_at_ms.is_some() && (replace || member.joined_at_ms.is_none()) {
            member.joined_at_ms = row.joined_at_ms;
        }
        if row.left_at_ms.is_some() && (replace || member.joined_at_ms == row.joined_at_ms) {
            member.left_at_ms = row.left_at_ms;
        }
        let after = member.xp;
        if after < before {
            let level = curve.level(after).level;
            touched.forget.push((guild_id, row.user_id, level));
            if touched.levelups.get(&(guild_id, row.user_id)).is_some_and(|l| l.level > level) {
                touched.levelups.remove(&(guild_id, row.user_id));
            }
        }
    }
    Ok(())
}
