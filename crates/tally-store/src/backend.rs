//! What [`crate::Database`] asks of whichever database
//! `DATABASE_URL` names: one trait, so the choice between SQLite,
//! PostgreSQL and MongoDB is made once ([`crate::Database::from_url`])
//! and every other call is one dispatch. A new backend implements this,
//! [`crate::StoreOps`] (a batch), [`crate::Reader`] and
//! [`crate::copy::CopyEnd`], and runs the shared storage suite.
//!
//! These are the writes and reads that happen apart from the ledger: the
//! background senders marking what they sent, the command line's requests
//! and settings, identify turns, the dashboard's sign-ins, and opening
//! connections.

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use super::copy::CopyEnd;
use super::web_sessions::{PendingLogin, WebSession};
use super::{MembershipChange, Reader, RequestState, ShardPosition, StoreError, StoreOps, Writer};
use crate::domain::{activity::Id, shards::ShardRange};

/// One kind of database, opened from its URL. See the module's opening lines.
pub(crate) trait Backend: Send + Sync + std::fmt::Debug {
    /// What it is, for logs and messages (never a password).
    fn describe(&self) -> String;
    /// Whether several bot processes may write it at once.
    fn is_shared(&self) -> bool;
    /// Opens the one writing connection, creating the database and bringing
    /// its schema up to date.
    fn open_writer(&self) -> Result<Writer, StoreError>;
    /// Opens `connections` reading connections (at least one).
    fn open_readers(&self, connections: usize) -> Result<Arc<dyn Reader>, StoreError>;
    /// Calls `each(guild_id, user_id, xp)` for every ranked member of the
    /// servers `owned` covers (all when None), from one snapshot.
    fn for_each_ranked(
        &self,
        owned: Option<ShardRange>,
        snapshot_taken: &mut dyn FnMut(),
        each: &mut dyn FnMut(Id, Id, u64),
    ) -> Result<(), StoreError>;
    /// This database's end of `tally copy`.
    fn open_copy_end(&self) -> Result<Box<dyn CopyEnd>, StoreError>;
    /// Whether `other` names the same database.
    fn is_same_as(&self, other: &dyn Backend) -> bool;
    /// For [`Self::is_same_as`]: the backend as its own type.
    fn as_any(&self) -> &dyn Any;

    /// Shows or hides a server's leaderboard on the web page.
    fn set_web_public(&self, guild_id: Id, public: bool) -> Result<(), StoreError>;
    /// Records a member's rank card colour (None: the default).
    fn set_card_accent(&self, user_id: Id, accent: Option<u32>) -> Result<(), StoreError>;
    /// Marks level-ups `(guild, member, level, found at)` as announced.
    fn mark_levelups_sent(&self, keys: &[(Id, Id, u32, i64)], at_ms: i64) -> Result<(), StoreError>;
    /// Marks join/leave posts `(guild, member, change, at)` as posted.
    fn mark_log_posts_sent(&self, keys: &[(Id, Id, MembershipChange, i64)], at_ms: i64) -> Result<(), StoreError>;
    /// Stores requests for the ledger, or finds the same ones stored before.
    fn submit_requests(
        &self,
        guild_id: Id,
        kind: &str,
        requests: &[(String, String)],
        now_ms: i64,
    ) -> Result<Vec<RequestState>, StoreError>;
    /// The states of stored requests.
    fn request_states(&self, ids: &[Id]) -> Result<Vec<RequestState>, StoreError>;
    /// Requests stored before with these digests, writing nothing.
    fn find_requests(
        &self,
        guild_id: Id,
        kind: &str,
        digests: &[String],
    ) -> Result<Vec<Option<RequestState>>, StoreError>;
    /// Notes that a running bot took requests into its ledger.
    fn mark_requests_picked(&self, ids: &[Id], at_ms: i64) -> Result<(), StoreError>;
    /// Queues the next piece of a whole-server reward check on `shards`.
    fn sweep_rewards(&self, shards: ShardRange, limit: u32) -> Result<bool, StoreError>;
    /// Takes members off the reward queue (each only if not queued again since).
    fn finish_reward_syncs(&self, done: &[(Id, Id, i64)]) -> Result<(), StoreError>;
    /// Records that Tally cannot give a reward role: true the first time.
    fn note_reward_problem(&self, guild_id: Id, role_id: Id, at_ms: i64) -> Result<bool, StoreError>;
    /// Forgets that a reward role could not be given.
    fn clear_reward_problem(&self, guild_id: Id, role_id: Id) -> Result<(), StoreError>;
    /// Takes this process's turn to IDENTIFY in `bucket`: None when taken,
    /// or how long to wait.
    fn take_identify_turn(&self, bucket: u32, interval: Duration) -> Result<Option<Duration>, StoreError>;

    /// Records a dashboard login in progress.
    fn begin_login(&self, login: &PendingLogin) -> Result<(), StoreError>;
    /// Takes the login whose state hashes to `state_hash`, once, deleting it
    /// and every login older than [`crate::web_sessions::LOGIN_MS`] before
    /// `now_ms`; None when unknown, taken or too old.
    fn take_login(&self, state_hash: &str, now_ms: i64) -> Result<Option<PendingLogin>, StoreError>;
    /// Stores a dashboard session (replacing one with the same id), and
    /// deletes sessions expired before its creation.
    fn save_web_session(&self, session: &WebSession) -> Result<(), StoreError>;
    /// The session `id_hash` names, if it has not expired by `now_ms`.
    fn web_session(&self, id_hash: &str, now_ms: i64) -> Result<Option<WebSession>, StoreError>;
    /// Ends a session, returning what it held (to revoke its token).
    fn end_web_session(&self, id_hash: &str) -> Result<Option<WebSession>, StoreError>;
}

/// What each backend's writing connection does, implemented once per
/// backend; [`Writer`] is the one place that hands calls to it.
pub(crate) trait BatchWriter: Send {
    /// Most events worth putting in one transaction on this backend.
    fn batch_limit(&self) -> usize;

    /// Runs `work` inside one transaction and commits it; on any error
    /// nothing is written.
    fn run(&mut self, work: &mut dyn FnMut(&mut dyn StoreOps) -> Result<(), StoreError>) -> Result<(), StoreError>;

    /// Takes over from the writer that last ran the same shards; only
    /// MongoDB needs to (see [`crate::mongo::MongoWriter::take_over`]).
    fn take_over(&mut self, _owner: &str) -> Result<(), StoreError> {
        Ok(())
    }

    /// The stored shard positions, read on this connection.
    fn positions(&mut self) -> Result<Vec<ShardPosition>, StoreError>;
}
