//! The SQLite file as a [`Backend`]: what Tally writes and reads apart
//! from the ledger (marks of what was sent, the command line's requests
//! and settings), each on a connection of its own.

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::backend::Backend;
use crate::copy::CopyEnd;
use crate::domain::shards::ShardRange;
use crate::web_sessions::{PendingLogin, WebSession};
use crate::{Reader, Writer};

/// A SQLite database: the file `sqlite://PATH` names.
#[derive(Debug, Clone)]
pub struct SqliteFile {
    /// Where it is.
    pub path: PathBuf,
}

impl SqliteFile {
    /// A connection of its own for one short write or read beside the
    /// ledger's (SQLite waits for the ledger's transaction to finish).
    fn short_connection(&self) -> Result<Connection, StoreError> {
        let conn = Connection::open(self.path.as_path())?;
        configure(&conn)?;
        Ok(conn)
    }
}

impl Backend for SqliteFile {
    fn describe(&self) -> String {
        format!("SQLite file {}", self.path.display())
    }

    fn is_shared(&self) -> bool {
        // A SQLite file belongs to one process.
        false
    }

    fn open_writer(&self) -> Result<Writer, StoreError> {
        Ok(Writer::new(super::open_writer(&self.path)?))
    }

    fn open_readers(&self, connections: usize) -> Result<Arc<dyn Reader>, StoreError> {
        if !self.path.exists() {
            return Err(StoreError::NotFound(self.describe()));
        }
        Ok(Arc::new(super::open_readers(&self.path, connections)?))
    }

    fn for_each_ranked(
        &self,
        owned: Option<ShardRange>,
        snapshot_taken: &mut dyn FnMut(),
        each: &mut dyn FnMut(Id, Id, u64),
    ) -> Result<(), StoreError> {
        super::open_reader(&self.path)?.for_each_ranked(snapshot_taken, |guild, user, xp| {
            if owned.is_none_or(|range| range.owns(guild)) {
                each(guild, user, xp);
            }
        })
    }

    fn open_copy_end(&self) -> Result<Box<dyn CopyEnd>, StoreError> {
        Ok(Box::new(super::copy::open(&self.path)?))
    }

    fn is_same_as(&self, other: &dyn Backend) -> bool {
        let Some(other) = other.as_any().downcast_ref::<Self>() else { return false };
        let (a, b) = (&self.path, &other.path);
        a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn take_identify_turn(&self, _bucket: u32, _interval: Duration) -> Result<Option<Duration>, StoreError> {
        // One process, which needs no turns.
        Ok(None)
    }

    fn begin_login(&self, login: &PendingLogin) -> Result<(), StoreError> {
        super::web_sessions::begin_login(&self.short_connection()?, login)
    }

    fn take_login(&self, state_hash: &str, now_ms: i64) -> Result<Option<PendingLogin>, StoreError> {
        super::web_sessions::take_login(&mut self.short_connection()?, state_hash, now_ms)
    }

    fn save_web_session(&self, session: &WebSession) -> Result<(), StoreError> {
        super::web_sessions::save_session(&mut self.short_connection()?, session)
    }

    fn web_session(&self, id_hash: &str, now_ms: i64) -> Result<Option<WebSession>, StoreError> {
        super::web_sessions::session(&self.short_connection()?, id_hash, now_ms)
    }

    fn end_web_session(&self, id_hash: &str) -> Result<Option<WebSession>, StoreError> {
        super::web_sessions::end_session(&self.short_connection()?, id_hash)
    }

    /// Shows or hides a server's leaderboard on the web page. Opens its own
    /// connection, so it works whether or not the bot is running (SQLite waits
    /// for the ledger's transaction to finish). The server need not be seen yet.
    fn set_web_public(&self, guild_id: Id, public: bool) -> Result<(), StoreError> {
        let path = self.path.as_path();
        let mut conn = Connection::open(path)?;
        configure(&conn)?;
        migrate(&mut conn)?;
        conn.execute(
            "INSERT INTO guilds (guild_id, web_public) VALUES (?1, ?2)
             ON CONFLICT (guild_id) DO UPDATE SET web_public = excluded.web_public",
            params![guild_id as i64, public],
        )?;
        Ok(())
    }

    /// Records a member's rank card colour, or forgets it (None: the default).
    /// Like [`set_web_public`], a short write beside the ledger's.
    fn set_card_accent(&self, user_id: Id, accent: Option<u32>) -> Result<(), StoreError> {
        let path = self.path.as_path();
        let conn = Connection::open(path)?;
        configure(&conn)?;
        match accent {
            Some(accent) => conn.execute(
                "INSERT INTO card_prefs (user_id, accent) VALUES (?1, ?2)
                 ON CONFLICT (user_id) DO UPDATE SET accent = excluded.accent",
                params![user_id as i64, i64::from(accent)],
            )?,
            None => conn.execute("DELETE FROM card_prefs WHERE user_id = ?1", [user_id as i64])?,
        };
        Ok(())
    }

    /// Marks level-ups as announced (Discord has the message). Opens its own
    /// connection, like [`set_web_public`].
    fn mark_levelups_sent(&self, keys: &[(Id, Id, u32, i64)], at_ms: i64) -> Result<(), StoreError> {
        let path = self.path.as_path();
        let mut conn = Connection::open(path)?;
        configure(&conn)?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut stmt = tx.prepare_cached(
                "UPDATE levelups SET sent_at = ?4
                 WHERE guild_id = ?1 AND user_id = ?2 AND level = ?3 AND created_at = ?5 AND sent_at IS NULL",
            )?;
            for (guild_id, user_id, level, found_at) in keys {
                stmt.execute(params![*guild_id as i64, *user_id as i64, level, at_ms, found_at])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Marks join/leave posts as posted: `(guild, user, change, at)`.
    fn mark_log_posts_sent(
        &self,
        keys: &[(Id, Id, crate::MembershipChange, i64)],
        at_ms: i64,
    ) -> Result<(), StoreError> {
        let path = self.path.as_path();
        let mut conn = Connection::open(path)?;
        configure(&conn)?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut stmt = tx.prepare_cached(
                "UPDATE log_posts SET sent_at = ?5 WHERE guild_id = ?1 AND user_id = ?2 AND change = ?3 AND at = ?4",
            )?;
            for (guild_id, user_id, change, at) in keys {
                stmt.execute(params![*guild_id as i64, *user_id as i64, change.as_str(), at, at_ms])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Stores requests for the ledger (creating and migrating the database if
    /// need be), or finds the same ones (same server, kind and digest) stored
    /// before; their states, in the order given.
    fn submit_requests(
        &self,
        guild_id: Id,
        kind: &str,
        requests: &[(String, String)],
        at_ms: i64,
    ) -> Result<Vec<crate::RequestState>, StoreError> {
        let path = self.path.as_path();
        let mut conn = Connection::open(path)?;
        configure(&conn)?;
        migrate(&mut conn)?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut states = Vec::with_capacity(requests.len());
        {
            let mut insert = tx.prepare_cached(
                "INSERT OR IGNORE INTO admin_requests (guild_id, kind, digest, payload, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            let mut find = tx.prepare_cached(
                "SELECT id, picked_at, done_at FROM admin_requests WHERE guild_id = ?1 AND kind = ?2 AND digest = ?3",
            )?;
            for (digest, payload) in requests {
                insert.execute(params![guild_id as i64, kind, digest, payload, at_ms])?;
                states.push(find.query_row(params![guild_id as i64, kind, digest], request_state)?);
            }
        }
        tx.commit()?;
        Ok(states)
    }

    /// The states of stored requests (unknown ids are left out).
    fn request_states(&self, ids: &[Id]) -> Result<Vec<crate::RequestState>, StoreError> {
        let path = self.path.as_path();
        let conn = Connection::open(path)?;
        configure(&conn)?;
        let mut find = conn.prepare_cached("SELECT id, picked_at, done_at FROM admin_requests WHERE id = ?1")?;
        let mut states = Vec::with_capacity(ids.len());
        for id in ids {
            states.extend(find.query_row([*id as i64], request_state).optional()?);
        }
        Ok(states)
    }

    /// Requests stored before with these digests, without storing anything
    /// (a dry run): None for each one not found, or when there is no database.
    fn find_requests(
        &self,
        guild_id: Id,
        kind: &str,
        digests: &[String],
    ) -> Result<Vec<Option<crate::RequestState>>, StoreError> {
        let path = self.path.as_path();
        if !path.exists() {
            return Ok(vec![None; digests.len()]);
        }
        let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        configure(&conn)?;
        let table: i64 =
            conn.query_row("SELECT count(*) FROM sqlite_master WHERE name = 'admin_requests'", [], |r| r.get(0))?;
        if table == 0 {
            return Ok(vec![None; digests.len()]);
        }
        let mut find = conn.prepare_cached(
            "SELECT id, picked_at, done_at FROM admin_requests WHERE guild_id = ?1 AND kind = ?2 AND digest = ?3",
        )?;
        digests
            .iter()
            .map(|d| Ok(find.query_row(params![guild_id as i64, kind, d], request_state).optional()?))
            .collect()
    }

    /// Notes that a running bot took requests into its ledger.
    fn mark_requests_picked(&self, ids: &[Id], at_ms: i64) -> Result<(), StoreError> {
        let path = self.path.as_path();
        let mut conn = Connection::open(path)?;
        configure(&conn)?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut mark = tx.prepare_cached("UPDATE admin_requests SET picked_at = ?2 WHERE id = ?1")?;
            for id in ids {
                mark.execute(params![*id as i64, at_ms])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Queues the next `limit` present members of the oldest reward sweep on
    /// `shards`, and moves the sweep on (or ends it), in one transaction.
    /// False when no sweep was waiting.
    fn sweep_rewards(&self, shards: crate::domain::shards::ShardRange, limit: u32) -> Result<bool, StoreError> {
        let path = self.path.as_path();
        let mut conn = Connection::open(path)?;
        configure(&conn)?;
        // Asked after every commit: with no sweep waiting, a read, never the write lock.
        let waiting: bool = conn.query_row("SELECT EXISTS (SELECT 1 FROM reward_sweeps)", [], |r| r.get(0))?;
        if !waiting {
            return Ok(false);
        }
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let sweep: Option<(i64, i64, i64)> = tx
            .prepare_cached(
                "SELECT guild_id, queued_at, after_user FROM reward_sweeps
                 WHERE (guild_id >> 22) % ?1 BETWEEN ?2 AND ?3 ORDER BY queued_at LIMIT 1",
            )?
            .query_row(params![shards.total, shards.first, shards.last], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        let Some((guild_id, queued_at, after)) = sweep else {
            return Ok(false);
        };
        let users: Vec<i64> = tx
            .prepare_cached(
                "SELECT user_id FROM members WHERE guild_id = ?1 AND left_at IS NULL AND bot = 0 AND user_id > ?2
                 ORDER BY user_id LIMIT ?3",
            )?
            .query_map(params![guild_id, after, limit], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        {
            let mut queue = tx.prepare_cached(
                "INSERT INTO reward_queue (guild_id, user_id, queued_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (guild_id, user_id) DO UPDATE SET queued_at = excluded.queued_at",
            )?;
            for user_id in &users {
                queue.execute(params![guild_id, user_id, queued_at])?;
            }
        }
        match users.last() {
            Some(last) if users.len() == limit as usize => {
                tx.execute("UPDATE reward_sweeps SET after_user = ?2 WHERE guild_id = ?1", params![guild_id, last])?;
            }
            _ => {
                tx.execute("DELETE FROM reward_sweeps WHERE guild_id = ?1", [guild_id])?;
            }
        }
        tx.commit()?;
        Ok(true)
    }

    /// Removes members from the reward queue, each only if it was not queued
    /// again since `queued_at`.
    fn finish_reward_syncs(&self, done: &[(Id, Id, i64)]) -> Result<(), StoreError> {
        let path = self.path.as_path();
        let mut conn = Connection::open(path)?;
        configure(&conn)?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut stmt =
                tx.prepare_cached("DELETE FROM reward_queue WHERE guild_id = ?1 AND user_id = ?2 AND queued_at = ?3")?;
            for (guild_id, user_id, at) in done {
                stmt.execute(params![*guild_id as i64, *user_id as i64, at])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Records that Tally cannot give a reward role; true the first time (tell the admins then).
    fn note_reward_problem(&self, guild_id: Id, role_id: Id, at_ms: i64) -> Result<bool, StoreError> {
        let path = self.path.as_path();
        let conn = Connection::open(path)?;
        configure(&conn)?;
        let new = conn.execute(
            "INSERT OR IGNORE INTO reward_problems (guild_id, role_id, noticed_at) VALUES (?1, ?2, ?3)",
            params![guild_id as i64, role_id as i64, at_ms],
        )?;
        Ok(new == 1)
    }

    /// Forgets a reward problem once the role could be given.
    fn clear_reward_problem(&self, guild_id: Id, role_id: Id) -> Result<(), StoreError> {
        let path = self.path.as_path();
        let conn = Connection::open(path)?;
        configure(&conn)?;
        conn.execute(
            "DELETE FROM reward_problems WHERE guild_id = ?1 AND role_id = ?2",
            params![guild_id as i64, role_id as i64],
        )?;
        Ok(())
    }
}
