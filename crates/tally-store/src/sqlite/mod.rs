//! The embedded SQLite backend (WAL mode): one writer connection owned by the
//! ledger, and reader connections that never block it.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension, Row, Transaction, TransactionBehavior};

mod backend;
pub(crate) mod copy;
mod migrations;
mod web_sessions;

pub use backend::SqliteFile;

use super::{
    BoardOrder, CountedReaction, DayChange, Guild, GuildDay, GuildRules, LeaderboardPage, LogEntry, Measure, Member,
    MemberDay, Reader, RowWrite, ShardPosition, Span, StoreError, StoreOps, StoredReaction, VoiceSession, Writes,
};
use crate::domain::{activity::Id, ReactionKey, XpSettings};

/// Whether waiting and trying again may help: busy, locked, a full disk,
/// a file that cannot be opened or written for now.
pub(crate) fn is_transient(error: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode::*;
    match error {
        rusqlite::Error::SqliteFailure(e, _) => matches!(
            e.code,
            DatabaseBusy | DatabaseLocked | DiskFull | SystemIoFailure | CannotOpen | ReadOnly | OutOfMemory
        ),
        _ => false,
    }
}

/// Turns `sqlite://tally.db`, `sqlite:tally.db` or `sqlite:///abs/tally.db` into a path.
pub fn path_from_url(url: &str) -> Result<PathBuf, StoreError> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or_else(|| StoreError::UnsupportedUrl(super::without_credentials(url)))?;
    let rest = rest.split('?').next().unwrap_or_default();
    if rest.is_empty() {
        return Err(StoreError::UnsupportedUrl(super::without_credentials(url)));
    }
    Ok(PathBuf::from(rest))
}

fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

/// The writer's page cache, in KiB.
const WRITER_CACHE_KIB: i64 = 64 * 1024;

/// Opens (creating if needed) the database for writing and brings its schema up to date.
pub fn open_writer(path: &Path) -> Result<SqliteWriter, StoreError> {
    let mut conn = Connection::open(path)?;
    configure(&conn)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // NORMAL is safe for exactly-once: counts and the resume position commit in
    // one transaction, so a power cut loses both together and Discord replays.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // Member rows a batch touches are read and rewritten: keep up to 64 MiB
    // of pages in SQLite's own cache rather than asking the kernel each time.
    conn.pragma_update(None, "cache_size", -WRITER_CACHE_KIB)?;
    migrate(&mut conn)?;
    Ok(SqliteWriter { conn })
}

/// Opens a read-only view of a database that a writer has created, on one
/// connection: for export and tools that read one thing at a time.
pub fn open_reader(path: &Path) -> Result<SqliteReader, StoreError> {
    open_readers(path, 1)
}

/// Like [`open_reader`], with `connections` connections (at least one) that
/// read side by side: WAL lets readers run at once, so one slow read (a
/// large board being built) does not hold up the others.
pub fn open_readers(path: &Path, connections: usize) -> Result<SqliteReader, StoreError> {
    let open = || -> Result<Mutex<Connection>, StoreError> {
        let conn = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        configure(&conn)?;
        conn.pragma_update(None, "query_only", "ON")?;
        Ok(Mutex::new(conn))
    };
    let conns = (0..connections.max(1)).map(|_| open()).collect::<Result<_, _>>()?;
    Ok(SqliteReader { conns, next: std::sync::atomic::AtomicUsize::new(0) })
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let supported = migrations::SQLITE.len() as i64;
    if version > supported {
        return Err(StoreError::TooNew { found: version, supported });
    }
    for (index, sql) in migrations::SQLITE.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
        tracing::info!(version = index + 1, "applied database migration");
    }
    Ok(())
}

fn request_state(r: &Row<'_>) -> rusqlite::Result<super::RequestState> {
    Ok(super::RequestState { id: r.get::<_, i64>(0)? as Id, picked_at_ms: r.get(1)?, done_at_ms: r.get(2)? })
}

/// The single writing connection, owned by the ledger.
pub struct SqliteWriter {
    conn: Connection,
}

impl SqliteWriter {
    /// Runs `work` inside one transaction and commits it; on any error nothing is written.
    ///
    /// The transaction is IMMEDIATE: it takes the write lock when it begins
    /// (waiting out another writer through the busy timeout). A deferred one
    /// reads first and then fails at its first write, at once and with no
    /// wait, whenever another connection committed in between: in the demo,
    /// "database is locked" several times a minute.
    pub fn transaction<T>(
        &mut self,
        work: impl FnOnce(&mut dyn StoreOps) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = work(&mut SqliteOps { tx: &tx })?;
        tx.commit()?;
        Ok(value)
    }
}

impl crate::backend::BatchWriter for SqliteWriter {
    /// Statements cost no round trip, and 16,384 events keep commits short.
    fn batch_limit(&self) -> usize {
        16_384
    }

    fn run(&mut self, work: &mut dyn FnMut(&mut dyn StoreOps) -> Result<(), StoreError>) -> Result<(), StoreError> {
        self.transaction(work)
    }

    fn positions(&mut self) -> Result<Vec<ShardPosition>, StoreError> {
        SqliteWriter::positions(self)
    }
}

impl SqliteWriter {
    /// The stored shard positions, read on the writer's connection.
    pub fn positions(&mut self) -> Result<Vec<ShardPosition>, StoreError> {
        let mut stmt = self.conn.prepare_cached(POSITIONS)?;
        let rows = stmt.query_map([], position_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

const POSITIONS: &str =
    "SELECT shard_id, shard_count, session_id, sequence, resume_url, committed_at FROM shard_positions ORDER BY shard_id";

fn position_from_row(r: &Row<'_>) -> rusqlite::Result<ShardPosition> {
    Ok(ShardPosition {
        shard_id: r.get(0)?,
        shard_count: r.get(1)?,
        session_id: r.get(2)?,
        sequence: r.get::<_, i64>(3)? as u64,
        resume_url: r.get(4)?,
        committed_at_ms: r.get(5)?,
    })
}

struct SqliteOps<'a> {
    tx: &'a Transaction<'a>,
}

const MEMBER_COLUMNS: &str = "guild_id, user_id, username, display_name, bot, messages, \
     reactions_given, reactions_received, xp, last_xp_at, joined_at, left_at, voice_ms, avatar, hidden, stopped";

/// `user_id, author_id, day, guild_id, message_id, emoji` of `counted_reactions`.
fn stored_reaction(row: &Row<'_>) -> rusqlite::Result<(ReactionKey, StoredReaction)> {
    let counted = CountedReaction {
        reactor: row.get::<_, i64>(0)? as u64,
        author: row.get::<_, i64>(1)? as u64,
        day: row.get(2)?,
    };
    let key = ReactionKey { message_id: row.get::<_, i64>(4)? as u64, user_id: counted.reactor, emoji: row.get(5)? };
    Ok((key, StoredReaction { guild_id: row.get::<_, i64>(3)? as u64, counted }))
}

fn member_from_row(row: &Row<'_>) -> rusqlite::Result<Member> {
    Ok(Member {
        guild_id: row.get::<_, i64>(0)? as u64,
        user_id: row.get::<_, i64>(1)? as u64,
        username: row.get(2)?,
        display_name: row.get(3)?,
        bot: row.get(4)?,
        messages: row.get::<_, i64>(5)? as u64,
        reactions_given: row.get::<_, i64>(6)? as u64,
        reactions_received: row.get::<_, i64>(7)? as u64,
        xp: row.get::<_, i64>(8)? as u64,
        last_xp_at_ms: row.get(9)?,
        joined_at_ms: row.get(10)?,
        left_at_ms: row.get(11)?,
        voice_ms: row.get::<_, i64>(12)? as u64,
        avatar: row.get(13)?,
        hidden: row.get(14)?,
        stopped: row.get(15)?,
    })
}

impl StoreOps for SqliteOps<'_> {
    fn guild_rules(&mut self, guilds: &[Id]) -> Result<Vec<(Id, GuildRules)>, StoreError> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT min_xp, max_xp, cooldown_secs, afk_channel_id, leveling FROM guilds WHERE guild_id = ?1",
        )?;
        let mut found = Vec::with_capacity(guilds.len());
        for &guild_id in guilds {
            let row = stmt
                .query_row([guild_id as i64], |r| {
                    Ok((
                        XpSettings { min_xp: r.get(0)?, max_xp: r.get(1)?, cooldown_secs: r.get(2)? },
                        r.get::<_, Option<i64>>(3)?.map(|c| c as Id),
                        r.get::<_, Option<String>>(4)?,
                    ))
                })
                .optional()?;
            if let Some((xp, afk_channel_id, document)) = row {
                let leveling = super::settings::from_document(document.as_deref())?;
                found.push((guild_id, GuildRules { xp, afk_channel_id, leveling }));
            }
        }
        Ok(found)
    }

    fn load_members(&mut self, keys: &[(Id, Id)]) -> Result<Vec<Member>, StoreError> {
        let mut stmt = self
            .tx
            .prepare_cached(&format!("SELECT {MEMBER_COLUMNS} FROM members WHERE guild_id = ?1 AND user_id = ?2"))?;
        let mut found = Vec::with_capacity(keys.len());
        for &(guild_id, user_id) in keys {
            found.extend(stmt.query_row([guild_id as i64, user_id as i64], member_from_row).optional()?);
        }
        Ok(found)
    }

    fn present_members(&mut self, guild_id: Id) -> Result<Vec<Id>, StoreError> {
        let mut stmt = self.tx.prepare_cached("SELECT user_id FROM members WHERE guild_id = ?1 AND left_at IS NULL")?;
        let rows = stmt.query_map([guild_id as i64], |r| r.get::<_, i64>(0).map(|id| id as u64))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn claim_request(&mut self, request_id: Id, at_ms: i64) -> Result<bool, StoreError> {
        let claimed = self
            .tx
            .prepare_cached("UPDATE admin_requests SET done_at = ?2, payload = '' WHERE id = ?1 AND done_at IS NULL")?
            .execute(params![request_id as i64, at_ms])?;
        Ok(claimed == 1)
    }

    fn members_with_xp(&mut self, guild_id: Id, limit: usize) -> Result<Vec<Member>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut stmt = self.tx.prepare_cached(&format!(
            "SELECT {MEMBER_COLUMNS} FROM members WHERE guild_id = ?1 AND xp > 0 ORDER BY user_id LIMIT ?2"
        ))?;
        let rows = stmt.query_map(params![guild_id as i64, limit], member_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn audit_written(&mut self, guild_id: Id, interaction_id: Id, target: Id) -> Result<bool, StoreError> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT 1 FROM xp_audit WHERE guild_id = ?1 AND interaction_id = ?2 AND target_id = ?3")?;
        Ok(stmt.exists(params![guild_id as i64, interaction_id as i64, target as i64])?)
    }

    fn guild_xp_total(&mut self, guild_id: Id) -> Result<u64, StoreError> {
        let mut stmt = self.tx.prepare_cached("SELECT COALESCE(SUM(xp), 0) FROM members WHERE guild_id = ?1")?;
        Ok(stmt.query_row([guild_id as i64], |r| r.get::<_, i64>(0))?.max(0) as u64)
    }

    fn request_applied(&mut self, request_id: Id) -> Result<bool, StoreError> {
        let mut stmt = self.tx.prepare_cached("SELECT done_at FROM admin_requests WHERE id = ?1")?;
        let done: Option<Option<i64>> = stmt.query_row([request_id as i64], |r| r.get(0)).optional()?;
        Ok(done.is_none_or(|at| at.is_some()))
    }

    fn held_guilds(&mut self) -> Result<Vec<Id>, StoreError> {
        let mut stmt = self.tx.prepare_cached("SELECT guild_id FROM guilds WHERE removed_at IS NULL")?;
        let rows = stmt.query_map([], |r| r.get::<_, i64>(0))?;
        Ok(rows.map(|r| r.map(|id| id as Id)).collect::<Result<_, _>>()?)
    }

    fn guild_removed_at(&mut self, guild_id: Id) -> Result<Option<i64>, StoreError> {
        let mut stmt = self.tx.prepare_cached("SELECT removed_at FROM guilds WHERE guild_id = ?1")?;
        Ok(stmt.query_row([guild_id as i64], |r| r.get(0)).optional()?.flatten())
    }

    fn purge_guild(&mut self, guild_id: Id, _limit: usize) -> Result<bool, StoreError> {
        // All at once: a transaction here is not bounded by what it writes.
        for statement in crate::batch::PURGE_GUILD {
            self.tx.prepare_cached(&statement.replace("{g}", "?1"))?.execute([guild_id as i64])?;
        }
        Ok(true)
    }

    fn erase_member(&mut self, guild_id: Id, user_id: Id) -> Result<(), StoreError> {
        for statement in crate::batch::ERASE_MEMBER {
            let sql = statement.replace("{g}", "?1").replace("{u}", "?2");
            self.tx.prepare_cached(&sql)?.execute(params![guild_id as i64, user_id as i64])?;
        }
        Ok(())
    }

    fn all_member_ids(&mut self, guild_id: Id) -> Result<Vec<Id>, StoreError> {
        let mut stmt = self.tx.prepare_cached("SELECT user_id FROM members WHERE guild_id = ?1 ORDER BY user_id")?;
        let rows = stmt.query_map([guild_id as i64], |r| r.get::<_, i64>(0).map(|id| id as u64))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn counted_reactions(
        &mut self,
        keys: &[&ReactionKey],
        messages: &[Id],
    ) -> Result<Vec<(ReactionKey, StoredReaction)>, StoreError> {
        let mut found = Vec::new();
        let mut by_key = self.tx.prepare_cached(
            "SELECT user_id, author_id, day, guild_id, message_id, emoji FROM counted_reactions
             WHERE message_id = ?1 AND user_id = ?2 AND emoji = ?3",
        )?;
        for key in keys {
            let row = by_key
                .query_row(params![key.message_id as i64, key.user_id as i64, key.emoji], stored_reaction)
                .optional()?;
            found.extend(row);
        }
        let mut by_message = self.tx.prepare_cached(
            "SELECT user_id, author_id, day, guild_id, message_id, emoji FROM counted_reactions WHERE message_id = ?1",
        )?;
        for &message_id in messages {
            for row in by_message.query_map([message_id as i64], stored_reaction)? {
                found.push(row?);
            }
        }
        Ok(found)
    }

    fn voice_sessions(&mut self, members: &[(Id, Id)], guilds: &[Id]) -> Result<Vec<VoiceSession>, StoreError> {
        fn open(r: &rusqlite::Row<'_>, from: usize) -> rusqlite::Result<crate::OpenVoice> {
            Ok(crate::OpenVoice {
                since: r.get(from)?,
                channel_id: r.get::<_, Option<i64>>(from + 1)?.map(|c| c as Id),
                muted: r.get(from + 2)?,
                earning_since: r.get(from + 3)?,
            })
        }
        let mut found = Vec::new();
        let mut by_member = self.tx.prepare_cached(
            "SELECT since, channel_id, muted, earning_since FROM voice_sessions WHERE guild_id = ?1 AND user_id = ?2",
        )?;
        for &(guild_id, user_id) in members {
            let state = by_member.query_row([guild_id as i64, user_id as i64], |r| open(r, 0)).optional()?;
            found.extend(state.map(|state| ((guild_id, user_id), state)));
        }
        let mut by_guild = self.tx.prepare_cached(
            "SELECT user_id, since, channel_id, muted, earning_since FROM voice_sessions WHERE guild_id = ?1",
        )?;
        for &guild_id in guilds {
            for row in
                by_guild.query_map([guild_id as i64], |r| Ok(((guild_id, r.get::<_, i64>(0)? as Id), open(r, 1)?)))?
            {
                found.push(row?);
            }
        }
        Ok(found)
    }

    fn log_memberships(&mut self, entries: &[LogEntry]) -> Result<Vec<bool>, StoreError> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT OR IGNORE INTO membership_log (guild_id, user_id, change, at) VALUES (?1, ?2, ?3, ?4)",
        )?;
        let mut new = Vec::with_capacity(entries.len());
        for e in entries {
            new.push(stmt.execute(params![e.guild_id as i64, e.user_id as i64, e.change.as_str(), e.at_ms])? == 1);
        }
        Ok(new)
    }

    fn write(&mut self, writes: &Writes<'_>) -> Result<(), StoreError> {
        for g in &writes.guilds {
            self.tx
                .prepare_cached(
                    "INSERT INTO guilds (guild_id, name, afk_channel_id) VALUES (?1, ?2, ?3)
                     ON CONFLICT (guild_id) DO UPDATE SET name = excluded.name, afk_channel_id = excluded.afk_channel_id",
                )?
                .execute(params![g.guild_id as i64, g.name, g.afk_channel_id.map(|c| c as i64)])?;
        }
        for (guild_id, removed_at) in &writes.removed {
            self.tx
                .prepare_cached("UPDATE guilds SET removed_at = ?2 WHERE guild_id = ?1 AND removed_at IS NOT ?2")?
                .execute(params![*guild_id as i64, removed_at])?;
        }
        for ((guild_id, day), change) in &writes.guild_days {
            self.add_guild_day(*guild_id, *day, change)?;
        }
        for ((guild_id, day, user_id), change) in &writes.member_days {
            self.add_member_day(*guild_id, *day, *user_id, change)?;
        }
        for (member, write) in &writes.members {
            self.save_member(member, *write)?;
        }
        for (key, state) in &writes.reactions {
            match state {
                None => {
                    self.tx
                        .prepare_cached(
                            "DELETE FROM counted_reactions WHERE message_id = ?1 AND user_id = ?2 AND emoji = ?3",
                        )?
                        .execute(params![key.message_id as i64, key.user_id as i64, key.emoji])?;
                }
                Some(r) => {
                    self.tx
                        .prepare_cached(
                            "INSERT OR REPLACE INTO counted_reactions
                             (message_id, user_id, emoji, guild_id, author_id, day) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                        )?
                        .execute(params![
                            key.message_id as i64,
                            key.user_id as i64,
                            key.emoji,
                            r.guild_id as i64,
                            r.counted.author as i64,
                            r.counted.day
                        ])?;
                }
            }
        }
        for ((guild_id, user_id), state) in &writes.voice {
            let key = (*guild_id as i64, *user_id as i64);
            match state {
                None => self
                    .tx
                    .prepare_cached("DELETE FROM voice_sessions WHERE guild_id = ?1 AND user_id = ?2")?
                    .execute(params![key.0, key.1])?,
                Some(v) => self
                    .tx
                    .prepare_cached(
                        "INSERT OR REPLACE INTO voice_sessions (guild_id, user_id, since, channel_id, muted, earning_since)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    )?
                    .execute(params![key.0, key.1, v.since, v.channel_id.map(|c| c as i64), v.muted, v.earning_since])?,
            };
        }
        for w in &writes.settings {
            self.tx
                .prepare_cached(
                    "INSERT INTO guilds (guild_id, min_xp, max_xp, cooldown_secs, leveling) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (guild_id) DO UPDATE SET min_xp = excluded.min_xp, max_xp = excluded.max_xp,
                     cooldown_secs = excluded.cooldown_secs, leveling = excluded.leveling",
                )?
                .execute(params![
                    w.guild_id as i64,
                    w.xp.min_xp,
                    w.xp.max_xp,
                    w.xp.cooldown_secs,
                    super::settings::to_document(w.leveling)
                ])?;
        }
        for ((guild_id, user_id), pings) in &writes.pings {
            self.tx
                .prepare_cached("INSERT OR REPLACE INTO member_prefs (guild_id, user_id, pings) VALUES (?1, ?2, ?3)")?
                .execute(params![*guild_id as i64, *user_id as i64, pings])?;
        }
        for (guild_id, user_id, above) in &writes.forget_levelups {
            self.tx
                .prepare_cached("DELETE FROM levelups WHERE guild_id = ?1 AND (?2 = 0 OR user_id = ?2) AND level > ?3")?
                .execute(params![*guild_id as i64, *user_id as i64, above])?;
        }
        for a in &writes.audit {
            self.tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO xp_audit
                     (guild_id, interaction_id, target_id, at, by_id, action, amount, before, after)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )?
                .execute(params![
                    a.guild_id as i64,
                    a.interaction_id as i64,
                    a.target as i64,
                    a.at_ms,
                    a.by as i64,
                    a.action,
                    a.amount as i64,
                    a.before as i64,
                    a.after as i64
                ])?;
        }
        for p in &writes.log_posts {
            self.tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO log_posts (guild_id, user_id, change, at, channel_id, joined_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute(params![
                    p.guild_id as i64,
                    p.user_id as i64,
                    p.change.as_str(),
                    p.at_ms,
                    p.channel_id as i64,
                    p.joined_at_ms
                ])?;
        }
        for ((guild_id, user_id), at) in &writes.reward_syncs {
            self.tx
                .prepare_cached(
                    "INSERT INTO reward_queue (guild_id, user_id, queued_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (guild_id, user_id) DO UPDATE SET queued_at = excluded.queued_at",
                )?
                .execute(params![*guild_id as i64, *user_id as i64, at])?;
        }
        for (guild_id, at) in &writes.reward_sync_all {
            self.tx
                .prepare_cached(
                    "INSERT INTO reward_sweeps (guild_id, queued_at, after_user) VALUES (?1, ?2, 0)
                     ON CONFLICT (guild_id) DO UPDATE SET queued_at = excluded.queued_at, after_user = 0",
                )?
                .execute(params![*guild_id as i64, at])?;
        }
        for l in &writes.levelups {
            self.tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO levelups
                     (guild_id, user_id, level, old_level, xp, channel_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?
                .execute(params![
                    l.guild_id as i64,
                    l.user_id as i64,
                    l.level,
                    l.old_level,
                    l.xp as i64,
                    l.channel_id.map(|c| c as i64),
                    l.created_at_ms
                ])?;
        }
        Ok(())
    }

    fn save_positions(&mut self, positions: &[ShardPosition]) -> Result<(), StoreError> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT OR REPLACE INTO shard_positions
             (shard_id, shard_count, session_id, sequence, resume_url, committed_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for p in positions {
            stmt.execute(params![
                p.shard_id,
                p.shard_count,
                p.session_id,
                p.sequence as i64,
                p.resume_url,
                p.committed_at_ms
            ])?;
        }
        Ok(())
    }
}

impl SqliteOps<'_> {
    fn save_member(&mut self, m: &Member, write: RowWrite) -> Result<(), StoreError> {
        let key = (m.guild_id as i64, m.user_id as i64);
        let everything = match write {
            // Leaves the indexed columns (xp, left_at, bot) out of SET, so
            // SQLite does not touch the ranking index.
            RowWrite::Counters => {
                self.tx
                    .prepare_cached(
                        "UPDATE members SET username = ?3, display_name = ?4, messages = ?5, reactions_given = ?6,
                         reactions_received = ?7, last_xp_at = ?8, joined_at = ?9, voice_ms = ?10, avatar = ?11
                         WHERE guild_id = ?1 AND user_id = ?2",
                    )?
                    .execute(params![
                        key.0,
                        key.1,
                        m.username,
                        m.display_name,
                        m.messages as i64,
                        m.reactions_given as i64,
                        m.reactions_received as i64,
                        m.last_xp_at_ms,
                        m.joined_at_ms,
                        m.voice_ms as i64,
                        m.avatar,
                    ])?;
                return Ok(());
            }
            RowWrite::Insert => std::borrow::Cow::Owned(format!(
                "INSERT INTO members ({MEMBER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"
            )),
            // The same parameters, in MEMBER_COLUMNS order.
            RowWrite::Everything => std::borrow::Cow::Borrowed(
                "UPDATE members SET username = ?3, display_name = ?4, bot = ?5, messages = ?6,
                 reactions_given = ?7, reactions_received = ?8, xp = ?9, last_xp_at = ?10, joined_at = ?11,
                 left_at = ?12, voice_ms = ?13, avatar = ?14, hidden = ?15, stopped = ?16
                 WHERE guild_id = ?1 AND user_id = ?2",
            ),
        };
        self.tx.prepare_cached(&everything)?.execute(params![
            key.0,
            key.1,
            m.username,
            m.display_name,
            m.bot,
            m.messages as i64,
            m.reactions_given as i64,
            m.reactions_received as i64,
            m.xp as i64,
            m.last_xp_at_ms,
            m.joined_at_ms,
            m.left_at_ms,
            m.voice_ms as i64,
            m.avatar,
            m.hidden,
            m.stopped,
        ])?;
        Ok(())
    }

    fn add_member_day(&mut self, guild_id: Id, day: i64, user_id: Id, c: &DayChange) -> Result<(), StoreError> {
        // MAX(0, …): a removal never takes a day below nothing, even for a
        // day whose row has gone.
        self.tx
            .prepare_cached(
                "INSERT INTO member_days
                 (guild_id, day, user_id, messages, xp, reactions_given, reactions_received, voice_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, MAX(0, ?6), MAX(0, ?7), ?8)
                 ON CONFLICT (guild_id, day, user_id) DO UPDATE SET messages = messages + excluded.messages,
                 xp = xp + excluded.xp, reactions_given = MAX(0, reactions_given + ?6),
                 reactions_received = MAX(0, reactions_received + ?7), voice_ms = voice_ms + excluded.voice_ms",
            )?
            .execute(params![
                guild_id as i64,
                day,
                user_id as i64,
                c.messages,
                c.xp,
                c.reactions_given,
                c.reactions_received,
                c.voice_ms
            ])?;
        Ok(())
    }

    fn add_guild_day(&mut self, guild_id: Id, day: i64, c: &DayChange) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(
                "INSERT INTO guild_days (guild_id, day, messages, xp, joins, leaves, reactions, voice_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, MAX(0, ?7), ?8)
                 ON CONFLICT (guild_id, day) DO UPDATE SET messages = messages + excluded.messages,
                 xp = xp + excluded.xp, joins = joins + excluded.joins, leaves = leaves + excluded.leaves,
                 reactions = MAX(0, reactions + ?7), voice_ms = voice_ms + excluded.voice_ms",
            )?
            .execute(params![
                guild_id as i64,
                day,
                c.messages,
                c.xp,
                c.joins,
                c.leaves,
                c.reactions_given,
                c.voice_ms
            ])?;
        Ok(())
    }
}

/// Read-only connections for commands, the web page and export.
pub struct SqliteReader {
    conns: Vec<Mutex<Connection>>,
    /// Where the search for a free connection starts, turning each time.
    next: std::sync::atomic::AtomicUsize,
}

impl SqliteReader {
    /// Calls `each(guild_id, user_id, xp)` for every ranked member (present,
    /// not a bot, with XP), all read from one snapshot of the database.
    /// `snapshot_taken` is called as soon as that snapshot is fixed: commits
    /// after that moment are not in what `each` sees.
    pub fn for_each_ranked(
        &self,
        snapshot_taken: impl FnOnce(),
        mut each: impl FnMut(Id, Id, u64),
    ) -> Result<(), StoreError> {
        let conn = self.connection();
        conn.execute_batch("BEGIN")?;
        let result = (|| {
            let mut statement = conn.prepare(
                "SELECT guild_id, user_id, xp FROM members WHERE left_at IS NULL AND bot = 0 AND hidden = 0 AND xp > 0",
            )?;
            let mut rows = statement.query([])?;
            let mut signal = Some(snapshot_taken);
            loop {
                let row = rows.next()?; // the first step fixes the snapshot
                if let Some(signal) = signal.take() {
                    signal();
                }
                let Some(row) = row else { break };
                each(row.get::<_, i64>(0)? as Id, row.get::<_, i64>(1)? as Id, row.get::<_, i64>(2)? as u64);
            }
            Ok(())
        })();
        conn.execute_batch("COMMIT")?;
        result
    }

    /// A free connection, or (all busy) the next one in turn once it is free.
    fn connection(&self) -> std::sync::MutexGuard<'_, Connection> {
        let start = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let n = self.conns.len();
        for i in 0..n {
            match self.conns[(start + i) % n].try_lock() {
                Ok(conn) => return conn,
                Err(std::sync::TryLockError::Poisoned(poisoned)) => return poisoned.into_inner(),
                Err(std::sync::TryLockError::WouldBlock) => {}
            }
        }
        self.conns[start % n].lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, StoreError> {
        Ok(f(&self.connection())?)
    }
}

const RANKED: &str = "guild_id = ?1 AND left_at IS NULL AND bot = 0 AND hidden = 0 AND xp > 0";

/// Members queued for a reward check, and those a sweep has still to queue.
const SQL_REWARD_BACKLOG: &str = "SELECT (SELECT COUNT(*) FROM reward_queue WHERE guild_id = ?1)
    + (SELECT COUNT(*) FROM members m JOIN reward_sweeps s ON s.guild_id = m.guild_id
       WHERE m.guild_id = ?1 AND m.left_at IS NULL AND m.bot = 0 AND m.user_id > s.after_user)";

fn guild_from_row(row: &Row<'_>) -> rusqlite::Result<Guild> {
    Ok(Guild { guild_id: row.get::<_, i64>(0)? as u64, name: row.get(1)?, web_public: row.get(2)? })
}

impl Reader for SqliteReader {
    fn pending_reward_syncs(
        &self,
        shards: crate::domain::shards::ShardRange,
        limit: u32,
    ) -> Result<Vec<crate::PendingRewardSync>, StoreError> {
        self.with(|c| {
            c.prepare_cached(
                "SELECT q.guild_id, q.user_id, q.queued_at, COALESCE(m.xp, 0), m.left_at IS NOT NULL
                 FROM reward_queue q LEFT JOIN members m ON m.guild_id = q.guild_id AND m.user_id = q.user_id
                 WHERE (q.guild_id >> 22) % ?1 BETWEEN ?2 AND ?3 ORDER BY q.queued_at LIMIT ?4",
            )?
            .query_map(params![shards.total, shards.first, shards.last, limit], |r| {
                Ok(crate::PendingRewardSync {
                    guild_id: r.get::<_, i64>(0)? as Id,
                    user_id: r.get::<_, i64>(1)? as Id,
                    queued_at_ms: r.get(2)?,
                    xp: r.get::<_, i64>(3)? as u64,
                    left: r.get(4)?,
                })
            })?
            .collect()
        })
    }

    fn pending_log_posts(
        &self,
        shards: crate::domain::shards::ShardRange,
        limit: u32,
    ) -> Result<Vec<crate::PendingLogPost>, StoreError> {
        self.with(|c| {
            c.prepare_cached(
                "SELECT l.guild_id, l.user_id, l.change, l.at, l.channel_id, l.joined_at, COALESCE(m.display_name, '')
                 FROM log_posts l LEFT JOIN members m ON m.guild_id = l.guild_id AND m.user_id = l.user_id
                 WHERE l.sent_at IS NULL AND (l.guild_id >> 22) % ?1 BETWEEN ?2 AND ?3 ORDER BY l.at LIMIT ?4",
            )?
            .query_map(params![shards.total, shards.first, shards.last, limit], |r| {
                let change = if r.get::<_, String>(2)? == "join" {
                    crate::MembershipChange::Join
                } else {
                    crate::MembershipChange::Leave
                };
                Ok(crate::PendingLogPost {
                    post: crate::LogPost {
                        guild_id: r.get::<_, i64>(0)? as Id,
                        user_id: r.get::<_, i64>(1)? as Id,
                        change,
                        at_ms: r.get(3)?,
                        channel_id: r.get::<_, i64>(4)? as Id,
                        joined_at_ms: r.get(5)?,
                    },
                    display_name: r.get(6)?,
                })
            })?
            .collect()
        })
    }

    fn removed_guilds(&self, shards: crate::domain::shards::ShardRange) -> Result<Vec<(Id, i64)>, StoreError> {
        self.with(|c| {
            c.prepare_cached(
                "SELECT guild_id, removed_at FROM guilds
                 WHERE removed_at IS NOT NULL AND (guild_id >> 22) % ?1 BETWEEN ?2 AND ?3 ORDER BY removed_at",
            )?
            .query_map(params![shards.total, shards.first, shards.last], |r| {
                Ok((r.get::<_, i64>(0)? as Id, r.get(1)?))
            })?
            .collect()
        })
    }

    fn pending_requests(
        &self,
        shards: crate::domain::shards::ShardRange,
        limit: u32,
    ) -> Result<Vec<crate::AdminRequest>, StoreError> {
        self.with(|c| {
            c.prepare_cached(
                "SELECT id, guild_id, kind, payload FROM admin_requests
                 WHERE done_at IS NULL AND (guild_id >> 22) % ?1 BETWEEN ?2 AND ?3 ORDER BY id LIMIT ?4",
            )?
            .query_map(params![shards.total, shards.first, shards.last, limit], |r| {
                Ok(crate::AdminRequest {
                    id: r.get::<_, i64>(0)? as Id,
                    guild_id: r.get::<_, i64>(1)? as Id,
                    kind: r.get(2)?,
                    payload: r.get(3)?,
                })
            })?
            .collect()
        })
    }

    fn present_count(&self, guild_id: Id) -> Result<u64, StoreError> {
        self.with(|c| {
            c.prepare_cached("SELECT COUNT(*) FROM members WHERE guild_id = ?1 AND left_at IS NULL")?
                .query_row([guild_id as i64], |r| r.get::<_, i64>(0).map(|n| n as u64))
        })
    }

    fn reward_backlog(&self, guild_id: Id) -> Result<u64, StoreError> {
        self.with(|c| {
            c.prepare_cached(SQL_REWARD_BACKLOG)?.query_row([guild_id as i64], |r| r.get::<_, i64>(0).map(|n| n as u64))
        })
    }

    fn reward_problems(&self, guild_id: Id) -> Result<Vec<(Id, i64)>, StoreError> {
        self.with(|c| {
            c.prepare_cached("SELECT role_id, noticed_at FROM reward_problems WHERE guild_id = ?1 ORDER BY role_id")?
                .query_map([guild_id as i64], |r| Ok((r.get::<_, i64>(0)? as Id, r.get(1)?)))?
                .collect()
        })
    }

    fn xp_log(&self, guild_id: Id, member: Option<Id>, limit: u32) -> Result<Vec<crate::AuditEntry>, StoreError> {
        self.with(|c| {
            c.prepare_cached(
                "SELECT interaction_id, at, by_id, target_id, action, amount, before, after FROM xp_audit
                 WHERE guild_id = ?1 AND (?2 IS NULL OR target_id = ?2) ORDER BY at DESC, interaction_id DESC LIMIT ?3",
            )?
            .query_map(params![guild_id as i64, member.map(|m| m as i64), limit], |r| {
                Ok(crate::AuditEntry {
                    guild_id,
                    interaction_id: r.get::<_, i64>(0)? as Id,
                    at_ms: r.get(1)?,
                    by: r.get::<_, i64>(2)? as Id,
                    target: r.get::<_, i64>(3)? as Id,
                    action: r.get(4)?,
                    amount: r.get::<_, i64>(5)? as u64,
                    before: r.get::<_, i64>(6)? as u64,
                    after: r.get::<_, i64>(7)? as u64,
                })
            })?
            .collect()
        })
    }

    fn settings(&self, guild_id: Id) -> Result<crate::Settings, StoreError> {
        let row = self.with(|c| {
            c.prepare_cached("SELECT min_xp, max_xp, cooldown_secs, leveling FROM guilds WHERE guild_id = ?1")?
                .query_row([guild_id as i64], |r| {
                    Ok((
                        XpSettings { min_xp: r.get(0)?, max_xp: r.get(1)?, cooldown_secs: r.get(2)? },
                        r.get::<_, Option<String>>(3)?,
                    ))
                })
                .optional()
        })?;
        let Some((xp, document)) = row else { return Ok(Default::default()) };
        Ok(crate::Settings { xp, leveling: super::settings::from_document(document.as_deref())? })
    }

    fn pending_levelups(
        &self,
        shards: crate::domain::shards::ShardRange,
        limit: u32,
    ) -> Result<Vec<crate::PendingLevelUp>, StoreError> {
        self.with(|c| {
            c.prepare_cached(
                "SELECT l.guild_id, l.user_id, l.level, l.old_level, l.xp, l.channel_id, l.created_at,
                        COALESCE(m.display_name, ''), COALESCE(p.pings, 1)
                 FROM levelups l
                 LEFT JOIN members m ON m.guild_id = l.guild_id AND m.user_id = l.user_id
                 LEFT JOIN member_prefs p ON p.guild_id = l.guild_id AND p.user_id = l.user_id
                 WHERE l.sent_at IS NULL AND (l.guild_id >> 22) % ?1 BETWEEN ?2 AND ?3
                 ORDER BY l.created_at LIMIT ?4",
            )?
            .query_map(params![shards.total, shards.first, shards.last, limit], |r| {
                Ok(crate::PendingLevelUp {
                    row: crate::LevelUpRow {
                        guild_id: r.get::<_, i64>(0)? as Id,
                        user_id: r.get::<_, i64>(1)? as Id,
                        level: r.get(2)?,
                        old_level: r.get(3)?,
                        xp: r.get::<_, i64>(4)? as u64,
                        channel_id: r.get::<_, Option<i64>>(5)?.map(|c| c as Id),
                        created_at_ms: r.get(6)?,
                    },
                    display_name: r.get(7)?,
                    pings: r.get(8)?,
                })
            })?
            .collect()
        })
    }

    fn guild(&self, guild_id: Id) -> Result<Option<Guild>, StoreError> {
        self.with(|c| {
            c.prepare_cached("SELECT guild_id, name, web_public FROM guilds WHERE guild_id = ?1")?
                .query_row([guild_id as i64], guild_from_row)
                .optional()
        })
    }

    fn guild_days(&self, guild_id: Id, first: i64, last: i64) -> Result<Vec<GuildDay>, StoreError> {
        self.with(|c| {
            c.prepare_cached(
                "SELECT day, messages, xp, joins, leaves, reactions, voice_ms FROM guild_days
                 WHERE guild_id = ?1 AND day BETWEEN ?2 AND ?3 ORDER BY day",
            )?
            .query_map(params![guild_id as i64, first, last], |r| {
                Ok(GuildDay {
                    day: r.get(0)?,
                    messages: r.get::<_, i64>(1)? as u64,
                    xp: r.get::<_, i64>(2)? as u64,
                    joins: r.get::<_, i64>(3)? as u64,
                    leaves: r.get::<_, i64>(4)? as u64,
                    reactions: r.get::<_, i64>(5)? as u64,
                    voice_ms: r.get::<_, i64>(6)? as u64,
                })
            })?
            .collect()
        })
    }

    fn member_days(&self, guild_id: Id, user_id: Id, first: i64, last: i64) -> Result<Vec<MemberDay>, StoreError> {
        let last = last.min(first.saturating_add(366));
        self.with(|c| {
            // One key lookup a day: the key leads with the day, not the
            // member, and a range over days would scan every member's rows.
            let mut lookup = c.prepare_cached(
                "SELECT messages, xp, reactions_given, reactions_received, voice_ms FROM member_days
                 WHERE guild_id = ?1 AND day = ?2 AND user_id = ?3",
            )?;
            let mut days = Vec::new();
            for day in first..=last {
                let found = lookup
                    .query_row(params![guild_id as i64, day, user_id as i64], |r| {
                        Ok(MemberDay {
                            day,
                            messages: r.get::<_, i64>(0)? as u64,
                            xp: r.get::<_, i64>(1)? as u64,
                            reactions_given: r.get::<_, i64>(2)? as u64,
                            reactions_received: r.get::<_, i64>(3)? as u64,
                            voice_ms: r.get::<_, i64>(4)? as u64,
                        })
                    })
                    .optional()?;
                days.extend(found);
            }
            Ok(days)
        })
    }

    fn board_order(&self, guild_id: Id, span: Span, by: Measure) -> Result<BoardOrder, StoreError> {
        let column = by.column();
        let (sql, days) = match span {
            Span::AllTime => (
                format!(
                    "SELECT user_id, {column} FROM members
                     WHERE guild_id = ?1 AND left_at IS NULL AND bot = 0 AND hidden = 0 AND {column} > 0
                     ORDER BY {column} DESC, user_id"
                ),
                None,
            ),
            // Only members who did something in the span have day rows, so
            // this reads those rows, not the whole server.
            Span::Days { first, last } => (
                format!(
                    "SELECT t.user_id, t.figure FROM (
                         SELECT user_id, SUM({column}) AS figure FROM member_days
                         WHERE guild_id = ?1 AND day BETWEEN ?2 AND ?3 GROUP BY user_id
                     ) t JOIN members m ON m.guild_id = ?1 AND m.user_id = t.user_id
                     WHERE t.figure > 0 AND m.left_at IS NULL AND m.bot = 0 AND m.hidden = 0
                     ORDER BY t.figure DESC, t.user_id"
                ),
                Some((first, last)),
            ),
        };
        let row = |r: &Row<'_>| Ok((r.get::<_, i64>(0)? as Id, r.get::<_, i64>(1)? as u64));
        self.with(|c| {
            let mut statement = c.prepare_cached(&sql)?;
            let rows = match days {
                None => statement.query_map([guild_id as i64], row)?.collect(),
                Some((first, last)) => statement.query_map(params![guild_id as i64, first, last], row)?.collect(),
            };
            rows
        })
    }

    fn voice_since(&self, guild_id: Id, user_id: Id) -> Result<Option<i64>, StoreError> {
        self.with(|c| {
            c.prepare_cached("SELECT since FROM voice_sessions WHERE guild_id = ?1 AND user_id = ?2")?
                .query_row([guild_id as i64, user_id as i64], |r| r.get(0))
                .optional()
        })
    }

    fn card_accent(&self, user_id: Id) -> Result<Option<u32>, StoreError> {
        self.with(|c| {
            c.prepare_cached("SELECT accent FROM card_prefs WHERE user_id = ?1")?
                .query_row([user_id as i64], |r| r.get::<_, i64>(0).map(|a| a as u32))
                .optional()
        })
    }

    fn public_guilds(&self) -> Result<Vec<Guild>, StoreError> {
        self.with(|c| {
            c.prepare_cached(
                "SELECT guild_id, name, web_public FROM guilds WHERE web_public = 1 ORDER BY name, guild_id",
            )?
            .query_map([], guild_from_row)?
            .collect()
        })
    }

    fn member(&self, guild_id: Id, user_id: Id) -> Result<Option<Member>, StoreError> {
        self.with(|c| {
            c.prepare_cached(&format!("SELECT {MEMBER_COLUMNS} FROM members WHERE guild_id = ?1 AND user_id = ?2"))?
                .query_row([guild_id as i64, user_id as i64], member_from_row)
                .optional()
        })
    }

    fn rank(&self, guild_id: Id, user_id: Id) -> Result<Option<u64>, StoreError> {
        let Some(member) = self.member(guild_id, user_id)? else { return Ok(None) };
        if member.bot || member.left_at_ms.is_some() || member.xp == 0 {
            return Ok(None);
        }
        self.with(|c| {
            c.prepare_cached(&format!(
                "SELECT COUNT(*) FROM members WHERE {RANKED} AND (xp > ?2 OR (xp = ?2 AND user_id < ?3))"
            ))?
            .query_row(params![guild_id as i64, member.xp as i64, user_id as i64], |r| r.get::<_, i64>(0))
            .map(|ahead| Some(ahead as u64 + 1))
        })
    }

    fn leaderboard(&self, guild_id: Id, offset: u64, limit: u64) -> Result<LeaderboardPage, StoreError> {
        self.with(|c| {
            let total: i64 = c
                .prepare_cached(&format!("SELECT COUNT(*) FROM members WHERE {RANKED}"))?
                .query_row([guild_id as i64], |r| r.get(0))?;
            let members = c
                .prepare_cached(&format!(
                    "SELECT {MEMBER_COLUMNS} FROM members WHERE {RANKED}
                     ORDER BY xp DESC, user_id LIMIT ?2 OFFSET ?3"
                ))?
                .query_map(params![guild_id as i64, limit as i64, offset as i64], member_from_row)?
                .collect::<Result<_, _>>()?;
            Ok(LeaderboardPage { members, total: total as u64 })
        })
    }

    fn all_members(&self, guild_id: Id) -> Result<Vec<Member>, StoreError> {
        self.with(|c| {
            c.prepare_cached(&format!("SELECT {MEMBER_COLUMNS} FROM members WHERE guild_id = ?1 ORDER BY user_id"))?
                .query_map([guild_id as i64], member_from_row)?
                .collect()
        })
    }

    fn positions(&self) -> Result<Vec<ShardPosition>, StoreError> {
        self.with(|c| c.prepare_cached(POSITIONS)?.query_map([], position_from_row)?.collect())
    }
}

#[cfg(test)]
mod tests;
