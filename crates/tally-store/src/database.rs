//! The database `DATABASE_URL` names, whichever backend it is: the one
//! place that chooses between them, so nothing else in Tally needs to.

use std::sync::Arc;
use std::time::Duration;

use super::backend::{Backend, BatchWriter};
use super::copy::{self, CopyEnd, CopyError, CopyReport, Progress};
use super::{mongo, postgres, sqlite, Reader, ShardPosition, StoreError, StoreOps};
use crate::domain::{activity::Id, shards::ShardRange};

/// A database Tally can open, named by a URL: `sqlite://PATH`,
/// `postgres://…` or `mongodb://…`. Cheap to clone; opening connections is
/// explicit. Every call goes to its [`Backend`].
#[derive(Debug, Clone)]
pub struct Database {
    backend: Arc<dyn Backend>,
}

/// How often start-up says it is still waiting for a database server.
const START_RETRY_EVERY: Duration = Duration::from_secs(5);

impl Database {
    /// Reads a `DATABASE_URL`. Nothing is opened yet.
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        let backend: Arc<dyn Backend> = if postgres::handles(url) {
            Arc::new(postgres::Target::parse(url)?)
        } else if mongo::handles(url) {
            Arc::new(mongo::Target::parse(url)?)
        } else {
            Arc::new(sqlite::SqliteFile { path: sqlite::path_from_url(url)? })
        };
        Ok(Self { backend })
    }

    /// What it is, for logs and messages (never a password).
    pub fn describe(&self) -> String {
        self.backend.describe()
    }

    /// Whether several bot processes may write it at once. A SQLite file
    /// belongs to one process.
    pub fn is_shared(&self) -> bool {
        self.backend.is_shared()
    }

    /// Opens the one writing connection, creating the database and bringing
    /// its schema up to date. A database server that cannot be reached is
    /// waited for, with a log line every few seconds.
    pub fn open_writer(&self) -> Result<Writer, StoreError> {
        self.backend.open_writer()
    }

    /// Opens `connections` reading connections (at least one) that read side
    /// by side, for commands and the web page. The database must exist.
    pub fn open_readers(&self, connections: usize) -> Result<Arc<dyn Reader>, StoreError> {
        self.backend.open_readers(connections)
    }

    /// One reading connection, for tools that read one thing at a time.
    pub fn open_reader(&self) -> Result<Arc<dyn Reader>, StoreError> {
        self.open_readers(1)
    }

    /// Calls `each(guild_id, user_id, xp)` for every ranked member of the
    /// servers `owned` covers (all when None), read from one snapshot;
    /// `snapshot_taken` is called once that snapshot is fixed.
    pub fn for_each_ranked(
        &self,
        owned: Option<ShardRange>,
        snapshot_taken: impl FnOnce(),
        mut each: impl FnMut(Id, Id, u64),
    ) -> Result<(), StoreError> {
        let mut snapshot_taken = Some(snapshot_taken);
        let mut taken = || {
            if let Some(call) = snapshot_taken.take() {
                call();
            }
        };
        self.backend.for_each_ranked(owned, &mut taken, &mut each)
    }

    /// Shows or hides a server's leaderboard on the web page. Works whether
    /// or not the bot is running; the server need not be seen yet.
    pub fn set_web_public(&self, guild_id: Id, public: bool) -> Result<(), StoreError> {
        self.backend.set_web_public(guild_id, public)
    }

    /// Marks level-ups `(guild, member, level, found at)` as announced at
    /// `at_ms`. The moment it was found is part of the key: a level an
    /// admin took away and the member reached again while the first was
    /// being sent is a new level-up, still to announce.
    pub fn mark_levelups_sent(&self, keys: &[(Id, Id, u32, i64)], at_ms: i64) -> Result<(), StoreError> {
        if keys.is_empty() {
            return Ok(());
        }
        self.backend.mark_levelups_sent(keys, at_ms)
    }

    /// Stores requests for the ledger, `(digest, payload)` each (the
    /// database is created and migrated if need be), or finds the same ones
    /// (same server, kind and digest) stored before: their states, in order.
    pub fn submit_requests(
        &self,
        guild_id: Id,
        kind: &str,
        requests: &[(String, String)],
    ) -> Result<Vec<super::RequestState>, StoreError> {
        self.backend.submit_requests(guild_id, kind, requests, crate::domain::days::now_ms())
    }

    /// The states of stored requests.
    pub fn request_states(&self, ids: &[Id]) -> Result<Vec<super::RequestState>, StoreError> {
        self.backend.request_states(ids)
    }

    /// Requests stored before with these digests, writing nothing (and
    /// creating no database): for a dry run.
    pub fn find_requests(
        &self,
        guild_id: Id,
        kind: &str,
        digests: &[String],
    ) -> Result<Vec<Option<super::RequestState>>, StoreError> {
        self.backend.find_requests(guild_id, kind, digests)
    }

    /// Notes that this bot took requests into its ledger, so the command
    /// that left them waits for it instead of applying them itself.
    pub fn mark_requests_picked(&self, ids: &[Id]) -> Result<(), StoreError> {
        self.backend.mark_requests_picked(ids, crate::domain::days::now_ms())
    }

    /// Marks join/leave posts `(guild, member, change, at)` as posted.
    pub fn mark_log_posts_sent(
        &self,
        keys: &[(Id, Id, super::MembershipChange, i64)],
        at_ms: i64,
    ) -> Result<(), StoreError> {
        if keys.is_empty() {
            return Ok(());
        }
        self.backend.mark_log_posts_sent(keys, at_ms)
    }

    /// Turns the next piece of a whole-server reward check (a sweep,
    /// [`crate::Writes::reward_sync_all`]) on `shards` into queued
    /// members: at most `limit`, in one transaction with the sweep's
    /// progress, so no transaction writes a whole server. False when no
    /// sweep was waiting.
    pub fn sweep_rewards(&self, shards: ShardRange, limit: u32) -> Result<bool, StoreError> {
        self.backend.sweep_rewards(shards, limit)
    }

    /// Takes members off the reward queue (each only if not queued again since).
    pub fn finish_reward_syncs(&self, done: &[(Id, Id, i64)]) -> Result<(), StoreError> {
        if done.is_empty() {
            return Ok(());
        }
        self.backend.finish_reward_syncs(done)
    }

    /// Records that Tally cannot give `role_id`: true the first time, when the admins are told.
    pub fn note_reward_problem(&self, guild_id: Id, role_id: Id, at_ms: i64) -> Result<bool, StoreError> {
        self.backend.note_reward_problem(guild_id, role_id, at_ms)
    }

    /// Forgets that `role_id` could not be given (it was, now).
    pub fn clear_reward_problem(&self, guild_id: Id, role_id: Id) -> Result<(), StoreError> {
        self.backend.clear_reward_problem(guild_id, role_id)
    }

    /// Takes this process's turn to IDENTIFY in `bucket` if the last turn
    /// taken there, by any process, is at least `interval` old: None when
    /// taken, or how long to wait before asking again. A SQLite database has
    /// one process, which needs no turns: always None.
    pub fn take_identify_turn(&self, bucket: u32, interval: Duration) -> Result<Option<Duration>, StoreError> {
        self.backend.take_identify_turn(bucket, interval)
    }

    /// Records a dashboard login in progress.
    pub fn begin_login(&self, login: &crate::web_sessions::PendingLogin) -> Result<(), StoreError> {
        self.backend.begin_login(login)
    }

    /// Takes a login in progress once (see [`crate::web_sessions`]).
    pub fn take_login(
        &self,
        state_hash: &str,
        now_ms: i64,
    ) -> Result<Option<crate::web_sessions::PendingLogin>, StoreError> {
        self.backend.take_login(state_hash, now_ms)
    }

    /// Stores a dashboard session.
    pub fn save_web_session(&self, session: &crate::web_sessions::WebSession) -> Result<(), StoreError> {
        self.backend.save_web_session(session)
    }

    /// The unexpired dashboard session `id_hash` names.
    pub fn web_session(
        &self,
        id_hash: &str,
        now_ms: i64,
    ) -> Result<Option<crate::web_sessions::WebSession>, StoreError> {
        self.backend.web_session(id_hash, now_ms)
    }

    /// Ends a dashboard session, returning what it held.
    pub fn end_web_session(&self, id_hash: &str) -> Result<Option<crate::web_sessions::WebSession>, StoreError> {
        self.backend.end_web_session(id_hash)
    }

    /// Copies every row of this database into `target` (see [`copy`] for
    /// how), calling `progress` as it goes. The source must exist; the
    /// target is created if needed and must be empty unless `replace`.
    pub fn copy_to(
        &self,
        target: &Database,
        replace: bool,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<CopyReport, CopyError> {
        if self.same_place(target) {
            return Err(CopyError::SameDatabase(self.describe()));
        }
        // The source must be there: opening a reader says so clearly.
        drop(self.open_reader()?);
        let mut from = self.open_copy_end()?;
        let mut to = target.open_copy_end()?;
        copy::copy(from.as_mut(), to.as_mut(), replace, progress)
    }

    /// Each table's row count and checksum, from one snapshot: what
    /// `tally copy` compares, for tests that compare two databases.
    #[cfg(test)]
    pub(crate) fn table_sums(&self) -> Result<Vec<(&'static str, copy::TableSum)>, StoreError> {
        drop(self.open_reader()?);
        copy::sums(self.open_copy_end()?.as_mut())
    }

    /// Checks that the schema holds exactly the tables and columns `tally
    /// copy` moves.
    #[cfg(test)]
    pub(crate) fn check_copy_schema(&self) -> Result<(), CopyError> {
        copy::check_schema(self.open_copy_end()?.as_mut(), "database")
    }

    /// What Tally holds about one member, table by table: for every table
    /// with a column naming a user (`user_id`, `author_id`, `target_id`,
    /// `by_id`), the rows whose server is `guild_id` (when the table has a
    /// server) and whose user column is `user_id`. Read from one snapshot,
    /// over every table `tally copy` knows (which a test holds equal to
    /// each backend's real schema), so an audit of an erasure cannot miss a
    /// table added later.
    pub fn rows_naming_member(&self, guild_id: Id, user_id: Id) -> Result<Vec<(String, u64)>, StoreError> {
        const USER_COLUMNS: [&str; 4] = ["user_id", "author_id", "target_id", "by_id"];
        let mut end = self.open_copy_end()?;
        end.begin_snapshot()?;
        let mut found = Vec::new();
        for table in copy::TABLES {
            let position = |name: &str| table.columns.iter().position(|(column, _)| *column == name);
            let guild_column = position("guild_id");
            for user_column in USER_COLUMNS.iter().filter_map(|c| position(c).map(|at| (*c, at))) {
                let mut rows = 0;
                end.scan(table, &mut |row| {
                    let here = guild_column.is_none_or(|at| row[at] == copy::Value::Int(guild_id as i64));
                    if here && row[user_column.1] == copy::Value::Int(user_id as i64) {
                        rows += 1;
                    }
                    Ok(())
                })?;
                found.push((format!("{}.{}", table.name, user_column.0), rows));
            }
        }
        end.commit()?;
        Ok(found)
    }

    /// Rows Tally holds about one server, table by table (every table with a
    /// `guild_id` column `tally copy` knows), from one snapshot: what a
    /// purge must leave at zero.
    pub fn rows_of_server(&self, guild_id: Id) -> Result<Vec<(String, u64)>, StoreError> {
        let mut end = self.open_copy_end()?;
        end.begin_snapshot()?;
        let mut found = Vec::new();
        for table in copy::TABLES {
            let Some(at) = table.columns.iter().position(|(column, _)| *column == "guild_id") else { continue };
            let mut rows = 0;
            end.scan(table, &mut |row| {
                rows += u64::from(row[at] == copy::Value::Int(guild_id as i64));
                Ok(())
            })?;
            found.push((table.name.to_owned(), rows));
        }
        end.commit()?;
        Ok(found)
    }

    fn open_copy_end(&self) -> Result<Box<dyn CopyEnd>, StoreError> {
        self.backend.open_copy_end()
    }

    /// Whether two URLs name the same database.
    fn same_place(&self, other: &Database) -> bool {
        self.backend.is_same_as(other.backend.as_ref())
    }

    /// Records a member's rank card colour, or forgets it (None: the default).
    pub fn set_card_accent(&self, user_id: Id, accent: Option<u32>) -> Result<(), StoreError> {
        self.backend.set_card_accent(user_id, accent)
    }
}

/// Runs `open` until it succeeds or fails for good, saying every few
/// seconds that the server cannot be reached yet.
pub(crate) fn patiently<T>(
    target: &dyn std::fmt::Display,
    mut open: impl FnMut() -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    loop {
        match open() {
            Err(error) if error.is_transient() => {
                tracing::warn!(
                    "cannot reach the {target} ({error}); trying again in {} s",
                    START_RETRY_EVERY.as_secs()
                );
                std::thread::sleep(START_RETRY_EVERY);
            }
            other => return other,
        }
    }
}

/// The ledger's writing connection, whichever the backend: every call goes
/// to the backend's `BatchWriter` (see `backend`).
pub struct Writer(Box<dyn BatchWriter>);

impl Writer {
    /// A writer over one backend's connection.
    pub(crate) fn new(backend: impl BatchWriter + 'static) -> Self {
        Self(Box::new(backend))
    }

    /// Most events worth putting in one transaction on this backend. A
    /// server database pays a round trip per statement and a commit per
    /// batch, and a bigger batch also folds more events into each member's
    /// row; each backend says why its figure.
    pub fn batch_limit(&self) -> usize {
        self.0.batch_limit()
    }

    /// Runs `work` inside one transaction and commits it; on any error nothing is written.
    pub fn transaction<T>(
        &mut self,
        work: impl FnOnce(&mut dyn StoreOps) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut work = Some(work);
        let mut done = None;
        self.0.run(&mut |ops| {
            let work = work.take().expect("a transaction runs its work once");
            done = Some(work(ops)?);
            Ok(())
        })?;
        Ok(done.expect("a committed transaction ran its work"))
    }

    /// Takes over from the writer that last ran the same shards (`owner`):
    /// on MongoDB, ends the transaction it may have left open when it was
    /// killed (see [`mongo::MongoWriter::take_over`]). The other backends
    /// abort a dead client's transaction on their own.
    pub fn take_over(&mut self, owner: &str) -> Result<(), StoreError> {
        self.0.take_over(owner)
    }

    /// The stored shard positions, read on the writer's own connection: after
    /// a commit whose outcome is unknown (the connection broke while
    /// committing), they tell whether it went through.
    pub fn positions(&mut self) -> Result<Vec<ShardPosition>, StoreError> {
        self.0.positions()
    }
}
