//! The PostgreSQL backend, for several bot processes sharing one database.
//! The ledger's batch is a handful of statements over arrays (`UNNEST`), so
//! a batch of thousands of events costs about a dozen round trips. Readers
//! share a small pool of connections; a connection that breaks is opened
//! again on next use.

mod backend;
pub(crate) mod copy;
mod migrations;
mod reader;
pub mod scratch;
mod tls;
mod web_sessions;

use std::collections::HashSet;
use std::time::Duration;

use postgres::types::{ToSql, Type};
use postgres::{Client, Row, Transaction};

pub use reader::PgReader;
pub use tls::SslMode;

use super::{
    CountedReaction, GuildRules, LogEntry, Member, MembershipChange, ShardPosition, StoreError, StoreOps,
    StoredReaction, VoiceSession, Writes,
};
use crate::domain::{activity::Id, ReactionKey, XpSettings};

/// Where a PostgreSQL database is and how to reach it, from a `postgres://`
/// or `postgresql://` URL.
#[derive(Clone)]
pub struct Target {
    config: postgres::Config,
    ssl: SslMode,
    root_cert: Option<std::path::PathBuf>,
    shown: String,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

/// Whether `url` is meant for this backend.
pub fn handles(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

impl Target {
    /// Reads a URL: `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=…&sslrootcert=PATH&…]`.
    /// `sslmode` is `disable`, `prefer` (the default, as with libpq),
    /// `require`, `verify-ca` or `verify-full`.
    pub fn parse(url: &str) -> Result<Self, StoreError> {
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut ssl = SslMode::Prefer;
        let mut root_cert = None;
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "sslmode" => {
                    ssl = SslMode::parse(value).ok_or_else(|| {
                        StoreError::BadUrl(format!(
                            "sslmode={value} is not one of disable, prefer, require, verify-ca, verify-full"
                        ))
                    })?
                }
                "sslrootcert" => root_cert = Some(std::path::PathBuf::from(value)),
                _ => kept.push(pair),
            }
        }
        let rest = if kept.is_empty() { base.to_owned() } else { format!("{base}?{}", kept.join("&")) };
        let mut config: postgres::Config =
            rest.parse().map_err(|e| StoreError::BadUrl(format!("not a PostgreSQL URL ({e})")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        if config.get_application_name().is_none() {
            config.application_name("tally");
        }
        // A server that vanishes (failover, a pulled cable) is noticed in
        // seconds rather than when the kernel gives up on the socket.
        config.keepalives_idle(Duration::from_secs(10));
        let hosts: Vec<String> = config
            .get_hosts()
            .iter()
            .map(|h| match h {
                postgres::config::Host::Tcp(name) => name.clone(),
                #[cfg(unix)]
                postgres::config::Host::Unix(path) => path.display().to_string(),
            })
            .collect();
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let shown = format!(
            "PostgreSQL database {} on {}:{port}{}",
            config.get_dbname().unwrap_or("(default)"),
            if hosts.is_empty() { "localhost".to_owned() } else { hosts.join(",") },
            config.get_user().map(|u| format!(" as {u}")).unwrap_or_default(),
        );
        Ok(Self { config, ssl, root_cert, shown })
    }

    /// The same server, another database on it (for tests and `tally copy`).
    pub fn with_database(&self, name: &str) -> Self {
        let mut other = self.clone();
        other.config.dbname(name);
        other.shown = self.shown.replacen(self.config.get_dbname().unwrap_or("(default)"), name, 1);
        other
    }

    /// Whether both name the same database on the same server.
    pub fn same_database(&self, other: &Target) -> bool {
        self.config.get_hosts() == other.config.get_hosts()
            && self.config.get_ports() == other.config.get_ports()
            && self.database() == other.database()
    }

    /// The database's name.
    pub fn database(&self) -> &str {
        self.config.get_dbname().unwrap_or("postgres")
    }

    /// Opens a connection.
    pub(crate) fn connect(&self) -> Result<Client, StoreError> {
        let mut config = self.config.clone();
        let client = match self.ssl {
            SslMode::Disable => {
                config.ssl_mode(postgres::config::SslMode::Disable);
                config.connect(postgres::NoTls)?
            }
            mode => {
                let tls = tls::client_config(mode, self.root_cert.as_deref()).map_err(StoreError::BadUrl)?;
                let wanted = if mode == SslMode::Prefer {
                    postgres::config::SslMode::Prefer
                } else {
                    postgres::config::SslMode::Require
                };
                config.ssl_mode(wanted);
                config.connect(tokio_postgres_rustls::MakeRustlsConnect::new(tls))?
            }
        };
        Ok(client)
    }
}

/// Whether waiting and trying again may help: the server could not be
/// reached or went away (a restart, a failover, a dropped connection), it
/// is starting or shutting down, out of room or connections, or the
/// transaction lost a serialization race. A wrong statement, a broken
/// constraint or a refused password fail the same way however often they
/// are retried.
pub(crate) fn is_transient(error: &postgres::Error) -> bool {
    if error.is_closed() {
        return true;
    }
    if let Some(db) = error.as_db_error() {
        let code = db.code().code();
        return matches!(&code[..2], "08" | "53" | "57" | "58")
            || matches!(code, "40001" | "40P01" | "55P03" | "25006");
    }
    // Kinds without a server error: a socket that failed, a connection that
    // could not be made or timed out, a TLS handshake cut short (but not one
    // that refused the server's certificate: that stays refused).
    let shown = error.to_string();
    if shown.starts_with("error performing TLS handshake") {
        return !refused_certificate(error);
    }
    ["error communicating with the server", "error connecting to server", "timeout waiting for server"]
        .iter()
        .any(|kind| shown.starts_with(kind))
}

/// Whether a TLS failure is rustls refusing what the server presented.
fn refused_certificate(error: &postgres::Error) -> bool {
    let mut cause = std::error::Error::source(error);
    while let Some(e) = cause {
        let rustls_error = e.downcast_ref::<rustls::Error>().or_else(|| {
            e.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()?.downcast_ref::<rustls::Error>())
        });
        if let Some(rustls_error) = rustls_error {
            return matches!(
                rustls_error,
                rustls::Error::InvalidCertificate(_)
                    | rustls::Error::NoCertificatesPresented
                    | rustls::Error::AlertReceived(_)
            );
        }
        cause = e.source();
    }
    false
}

/// What to show of a PostgreSQL error: the server's own message when it
/// sent one, otherwise the client's with its cause.
pub(crate) fn describe(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => match std::error::Error::source(error) {
            Some(cause) => format!("{error}: {cause}"),
            None => error.to_string(),
        },
    }
}

/// Brings a database's schema up to date. Several processes may start at
/// once: an advisory lock lets one migrate while the others wait.
pub(crate) fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let mut tx = client.transaction()?;
    tx.batch_execute(
        "SELECT pg_advisory_xact_lock(7346012001);
         CREATE TABLE IF NOT EXISTS tally_schema (version INTEGER NOT NULL);",
    )?;
    let version = match tx.query_opt("SELECT version FROM tally_schema", &[])? {
        Some(row) => i64::from(row.get::<_, i32>(0)),
        None => {
            tx.execute("INSERT INTO tally_schema (version) VALUES (0)", &[])?;
            0
        }
    };
    let supported = migrations::POSTGRES.len() as i64;
    if version > supported {
        return Err(StoreError::TooNew { found: version, supported });
    }
    for (index, sql) in migrations::POSTGRES.iter().enumerate().skip(version as usize) {
        tx.batch_execute(sql)?;
        tx.execute("UPDATE tally_schema SET version = $1", &[&(index as i32 + 1)])?;
        tracing::info!(version = index + 1, "applied database migration");
    }
    tx.commit()?;
    Ok(())
}

/// Whether a Tally schema exists in the database.
pub(crate) fn has_schema(client: &mut Client) -> Result<bool, StoreError> {
    Ok(client.query_one("SELECT to_regclass('tally_schema') IS NOT NULL", &[])?.get(0))
}

/// Opens the writer's connection, creating the schema if needed.
pub fn open_writer(target: &Target) -> Result<PgWriter, StoreError> {
    let mut client = target.connect()?;
    migrate(&mut client)?;
    Ok(PgWriter { target: target.clone(), client: Some(client) })
}

/// The ledger's connection. Reconnects after the server went away.
pub struct PgWriter {
    target: Target,
    client: Option<Client>,
}

impl PgWriter {
    fn client(&mut self) -> Result<&mut Client, StoreError> {
        if self.client.as_ref().is_none_or(Client::is_closed) {
            self.client = None;
            self.client = Some(self.target.connect()?);
        }
        Ok(self.client.as_mut().expect("just connected"))
    }

    /// Runs `work` inside one transaction and commits it; on any error nothing is written.
    pub fn transaction<T>(
        &mut self,
        work: impl FnOnce(&mut dyn StoreOps) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let client = self.client()?;
        let outcome = (|| {
            let mut tx = client.transaction()?;
            let value = work(&mut PgOps { tx: &mut tx })?;
            tx.commit()?;
            Ok(value)
        })();
        if outcome.as_ref().is_err_and(StoreError::is_transient) {
            // Whatever broke, start the next attempt on a fresh connection.
            self.client = None;
        }
        outcome
    }

    /// The stored shard positions, read on the writer's own connection
    /// once no transaction that saves positions is still running.
    pub fn positions(&mut self) -> Result<Vec<ShardPosition>, StoreError> {
        fenced_positions(self.client()?)
    }
}

impl crate::backend::BatchWriter for PgWriter {
    /// A server database pays a round trip per statement and a commit per
    /// batch, and a bigger batch folds more events into each member's row:
    /// 65,536 instead of 16,384 took the Zipf benchmark at a million
    /// members from 44,302 to 85,346 events/s.
    fn batch_limit(&self) -> usize {
        65_536
    }

    fn run(&mut self, work: &mut dyn FnMut(&mut dyn StoreOps) -> Result<(), StoreError>) -> Result<(), StoreError> {
        self.transaction(work)
    }

    fn positions(&mut self) -> Result<Vec<ShardPosition>, StoreError> {
        PgWriter::positions(self)
    }
}

fn request_state(row: &Row) -> super::RequestState {
    super::RequestState { id: row.get::<_, i64>(0) as Id, picked_at_ms: row.get(1), done_at_ms: row.get(2) }
}

const POSITIONS: &str =
    "SELECT shard_id, shard_count, session_id, sequence, resume_url, committed_at FROM shard_positions ORDER BY shard_id";

/// The advisory lock space of shard positions: a transaction that saves a
/// shard's position holds `(POSITION_LOCKS, shard)` until it ends.
///
/// Why: a process killed just after sending COMMIT leaves its transaction
/// to finish on the server, and a process that starts at that moment (or
/// the same one, reconnected after its connection broke during COMMIT)
/// must not read the positions from before it, or it would resume from
/// there and count that batch again. Reading positions first takes the same
/// locks, so it waits for any such transaction to commit or abort.
const POSITION_LOCKS: i32 = 734_601;

/// Reads the stored positions after waiting, shard by shard in order (as
/// writers take them, so no deadlock), for every transaction that is
/// saving a position to end.
pub(crate) fn fenced_positions(client: &mut Client) -> Result<Vec<ShardPosition>, StoreError> {
    let mut tx = client.transaction()?;
    tx.query(
        &format!(
            "SELECT count(*) FROM (SELECT pg_advisory_xact_lock({POSITION_LOCKS}, shard_id)
             FROM (SELECT shard_id FROM shard_positions ORDER BY shard_id) AS ordered) AS locked"
        ),
        &[],
    )?;
    // A new statement, so a new snapshot: it sees what the waited-for commits wrote.
    let rows = tx.query(POSITIONS, &[])?;
    tx.commit()?;
    Ok(rows.iter().map(position_from_row).collect())
}

fn position_from_row(r: &Row) -> ShardPosition {
    ShardPosition {
        shard_id: r.get::<_, i32>(0) as u32,
        shard_count: r.get::<_, i32>(1) as u32,
        session_id: r.get(2),
        sequence: r.get::<_, i64>(3) as u64,
        resume_url: r.get(4),
        committed_at_ms: r.get(5),
    }
}

/// The columns of `members`, in the order [`member_from_row`] reads them.
pub(crate) const MEMBER_COLUMNS: &str = "guild_id, user_id, username, display_name, bot, messages, \
     reactions_given, reactions_received, xp, last_xp_at, joined_at, left_at, voice_ms, avatar, hidden, stopped";

pub(crate) fn member_from_row(row: &Row) -> Member {
    Member {
        guild_id: row.get::<_, i64>(0) as u64,
        user_id: row.get::<_, i64>(1) as u64,
        username: row.get(2),
        display_name: row.get(3),
        bot: row.get(4),
        messages: row.get::<_, i64>(5) as u64,
        reactions_given: row.get::<_, i64>(6) as u64,
        reactions_received: row.get::<_, i64>(7) as u64,
        xp: row.get::<_, i64>(8) as u64,
        last_xp_at_ms: row.get(9),
        joined_at_ms: row.get(10),
        left_at_ms: row.get(11),
        voice_ms: row.get::<_, i64>(12) as u64,
        avatar: row.get(13),
        hidden: row.get(14),
        stopped: row.get(15),
    }
}

/// `user_id, author_id, day, guild_id, message_id, emoji` of `counted_reactions`.
fn stored_reaction(row: &Row) -> (ReactionKey, StoredReaction) {
    let counted =
        CountedReaction { reactor: row.get::<_, i64>(0) as u64, author: row.get::<_, i64>(1) as u64, day: row.get(2) };
    let key = ReactionKey { message_id: row.get::<_, i64>(4) as u64, user_id: counted.reactor, emoji: row.get(5) };
    (key, StoredReaction { guild_id: row.get::<_, i64>(3) as u64, counted })
}

fn ids(values: impl IntoIterator<Item = Id>) -> Vec<i64> {
    values.into_iter().map(|v| v as i64).collect()
}

struct PgOps<'t, 'c> {
    tx: &'t mut Transaction<'c>,
}

impl PgOps<'_, '_> {
    /// Settings, ping choices and the level-up outbox: rare next to
    /// counts, so written row by row.
    fn save_leveling(&mut self, writes: &Writes<'_>) -> Result<(), StoreError> {
        for w in &writes.settings {
            let document = crate::settings::to_document(w.leveling);
            self.run(
                "INSERT INTO guilds (guild_id, min_xp, max_xp, cooldown_secs, leveling) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (guild_id) DO UPDATE SET min_xp = EXCLUDED.min_xp, max_xp = EXCLUDED.max_xp,
                 cooldown_secs = EXCLUDED.cooldown_secs, leveling = EXCLUDED.leveling",
                &[
                    (&(w.guild_id as i64), Type::INT8),
                    (&(w.xp.min_xp as i32), Type::INT4),
                    (&(w.xp.max_xp as i32), Type::INT4),
                    (&(w.xp.cooldown_secs as i32), Type::INT4),
                    (&document, Type::TEXT),
                ],
            )?;
        }
        for ((guild_id, user_id), pings) in &writes.pings {
            self.run(
                "INSERT INTO member_prefs (guild_id, user_id, pings) VALUES ($1, $2, $3)
                 ON CONFLICT (guild_id, user_id) DO UPDATE SET pings = EXCLUDED.pings",
                &[(&(*guild_id as i64), Type::INT8), (&(*user_id as i64), Type::INT8), (pings, Type::BOOL)],
            )?;
        }
        for (guild_id, user_id, above) in &writes.forget_levelups {
            self.run(
                "DELETE FROM levelups WHERE guild_id = $1 AND ($2 = 0 OR user_id = $2) AND level > $3",
                &[(&(*guild_id as i64), Type::INT8), (&(*user_id as i64), Type::INT8), (&(*above as i32), Type::INT4)],
            )?;
        }
        for a in &writes.audit {
            self.run(
                "INSERT INTO xp_audit (guild_id, interaction_id, target_id, at, by_id, action, amount, before, after)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
                &[
                    (&(a.guild_id as i64), Type::INT8),
                    (&(a.interaction_id as i64), Type::INT8),
                    (&(a.target as i64), Type::INT8),
                    (&a.at_ms, Type::INT8),
                    (&(a.by as i64), Type::INT8),
                    (&a.action, Type::TEXT),
                    (&(a.amount as i64), Type::INT8),
                    (&(a.before as i64), Type::INT8),
                    (&(a.after as i64), Type::INT8),
                ],
            )?;
        }
        for p in &writes.log_posts {
            self.run(
                "INSERT INTO log_posts (guild_id, user_id, change, at, channel_id, joined_at)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                &[
                    (&(p.guild_id as i64), Type::INT8),
                    (&(p.user_id as i64), Type::INT8),
                    (&p.change.as_str(), Type::TEXT),
                    (&p.at_ms, Type::INT8),
                    (&(p.channel_id as i64), Type::INT8),
                    (&p.joined_at_ms, Type::INT8),
                ],
            )?;
        }
        if !writes.reward_syncs.is_empty() {
            let q = &writes.reward_syncs;
            self.run(
                "INSERT INTO reward_queue (guild_id, user_id, queued_at)
                 SELECT * FROM UNNEST($1::int8[], $2::int8[], $3::int8[])
                 ON CONFLICT (guild_id, user_id) DO UPDATE SET queued_at = EXCLUDED.queued_at",
                &[
                    (&ids(q.iter().map(|((g, _), _)| *g)), ARRAY),
                    (&ids(q.iter().map(|((_, u), _)| *u)), ARRAY),
                    (&q.iter().map(|(_, at)| *at).collect::<Vec<i64>>(), ARRAY),
                ],
            )?;
        }
        for (guild_id, at) in &writes.reward_sync_all {
            self.run(
                "INSERT INTO reward_sweeps (guild_id, queued_at, after_user) VALUES ($1, $2, 0)
                 ON CONFLICT (guild_id) DO UPDATE SET queued_at = EXCLUDED.queued_at, after_user = 0",
                &[(&(*guild_id as i64), Type::INT8), (at, Type::INT8)],
            )?;
        }
        if !writes.levelups.is_empty() {
            let l = &writes.levelups;
            self.run(
                "INSERT INTO levelups (guild_id, user_id, level, old_level, xp, channel_id, created_at)
                 SELECT * FROM UNNEST($1::int8[], $2::int8[], $3::int4[], $4::int4[], $5::int8[], $6::int8[], $7::int8[])
                 ON CONFLICT DO NOTHING",
                &[
                    (&ids(l.iter().map(|r| r.guild_id)), ARRAY),
                    (&ids(l.iter().map(|r| r.user_id)), ARRAY),
                    (&l.iter().map(|r| r.level as i32).collect::<Vec<i32>>(), Type::INT4_ARRAY),
                    (&l.iter().map(|r| r.old_level as i32).collect::<Vec<i32>>(), Type::INT4_ARRAY),
                    (&ids(l.iter().map(|r| r.xp)), ARRAY),
                    (&l.iter().map(|r| r.channel_id.map(|c| c as i64)).collect::<Vec<Option<i64>>>(), ARRAY),
                    (&l.iter().map(|r| r.created_at_ms).collect::<Vec<i64>>(), ARRAY),
                ],
            )?;
        }
        Ok(())
    }

    /// One statement with typed parameters: a single round trip.
    fn run(&mut self, sql: &str, params: &[(&(dyn ToSql + Sync), Type)]) -> Result<Vec<Row>, StoreError> {
        Ok(self.tx.query_typed(sql, params)?)
    }
}

const ARRAY: Type = Type::INT8_ARRAY;

impl StoreOps for PgOps<'_, '_> {
    fn guild_rules(&mut self, guilds: &[Id]) -> Result<Vec<(Id, GuildRules)>, StoreError> {
        let rows = self.run(
            "SELECT guild_id, min_xp, max_xp, cooldown_secs, afk_channel_id, leveling FROM guilds
             WHERE guild_id = ANY($1)",
            &[(&ids(guilds.iter().copied()), ARRAY)],
        )?;
        rows.iter()
            .map(|r| {
                let xp = XpSettings {
                    min_xp: r.get::<_, i32>(1) as u32,
                    max_xp: r.get::<_, i32>(2) as u32,
                    cooldown_secs: r.get::<_, i32>(3) as u32,
                };
                let afk_channel_id = r.get::<_, Option<i64>>(4).map(|c| c as Id);
                let leveling = crate::settings::from_document(r.get::<_, Option<&str>>(5))?;
                Ok((r.get::<_, i64>(0) as Id, GuildRules { xp, afk_channel_id, leveling }))
            })
            .collect()
    }

    fn load_members(&mut self, keys: &[(Id, Id)]) -> Result<Vec<Member>, StoreError> {
        let guilds = ids(keys.iter().map(|k| k.0));
        let users = ids(keys.iter().map(|k| k.1));
        let rows = self.run(
            &format!(
                "SELECT {MEMBER_COLUMNS} FROM members
                 WHERE (guild_id, user_id) IN (SELECT * FROM UNNEST($1::int8[], $2::int8[]))"
            ),
            &[(&guilds, ARRAY), (&users, ARRAY)],
        )?;
        Ok(rows.iter().map(member_from_row).collect())
    }

    fn present_members(&mut self, guild_id: Id) -> Result<Vec<Id>, StoreError> {
        let rows = self.run(
            "SELECT user_id FROM members WHERE guild_id = $1 AND left_at IS NULL",
            &[(&(guild_id as i64), Type::INT8)],
        )?;
        Ok(rows.iter().map(|r| r.get::<_, i64>(0) as Id).collect())
    }

    fn claim_request(&mut self, request_id: Id, at_ms: i64) -> Result<bool, StoreError> {
        let rows = self.run(
            "UPDATE admin_requests SET done_at = $2, payload = '' WHERE id = $1 AND done_at IS NULL RETURNING id",
            &[(&(request_id as i64), Type::INT8), (&at_ms, Type::INT8)],
        )?;
        Ok(rows.len() == 1)
    }

    fn members_with_xp(&mut self, guild_id: Id, limit: usize) -> Result<Vec<Member>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.run(
            &format!("SELECT {MEMBER_COLUMNS} FROM members WHERE guild_id = $1 AND xp > 0 ORDER BY user_id LIMIT $2"),
            &[(&(guild_id as i64), Type::INT8), (&limit, Type::INT8)],
        )?;
        Ok(rows.iter().map(member_from_row).collect())
    }

    fn audit_written(&mut self, guild_id: Id, interaction_id: Id, target: Id) -> Result<bool, StoreError> {
        let rows = self.run(
            "SELECT 1 FROM xp_audit WHERE guild_id = $1 AND interaction_id = $2 AND target_id = $3",
            &[(&(guild_id as i64), Type::INT8), (&(interaction_id as i64), Type::INT8), (&(target as i64), Type::INT8)],
        )?;
        Ok(!rows.is_empty())
    }

    fn guild_xp_total(&mut self, guild_id: Id) -> Result<u64, StoreError> {
        let rows = self.run(
            "SELECT COALESCE(SUM(xp), 0)::BIGINT FROM members WHERE guild_id = $1",
            &[(&(guild_id as i64), Type::INT8)],
        )?;
        Ok(rows.first().map_or(0, |r| r.get::<_, i64>(0).max(0) as u64))
    }

    fn request_applied(&mut self, request_id: Id) -> Result<bool, StoreError> {
        let rows =
            self.run("SELECT done_at FROM admin_requests WHERE id = $1", &[(&(request_id as i64), Type::INT8)])?;
        Ok(rows.first().is_none_or(|r| r.get::<_, Option<i64>>(0).is_some()))
    }

    fn held_guilds(&mut self) -> Result<Vec<Id>, StoreError> {
        let rows = self.run("SELECT guild_id FROM guilds WHERE removed_at IS NULL", &[])?;
        Ok(rows.iter().map(|r| r.get::<_, i64>(0) as Id).collect())
    }

    fn guild_removed_at(&mut self, guild_id: Id) -> Result<Option<i64>, StoreError> {
        let rows =
            self.run("SELECT removed_at FROM guilds WHERE guild_id = $1", &[(&(guild_id as i64), Type::INT8)])?;
        Ok(rows.first().and_then(|r| r.get::<_, Option<i64>>(0)))
    }

    fn purge_guild(&mut self, guild_id: Id, _limit: usize) -> Result<bool, StoreError> {
        // All at once: a transaction here is not bounded by what it writes.
        for statement in crate::batch::PURGE_GUILD {
            self.run(&statement.replace("{g}", "$1"), &[(&(guild_id as i64), Type::INT8)])?;
        }
        Ok(true)
    }

    fn erase_member(&mut self, guild_id: Id, user_id: Id) -> Result<(), StoreError> {
        for statement in crate::batch::ERASE_MEMBER {
            let sql = statement.replace("{g}", "$1").replace("{u}", "$2");
            self.run(&sql, &[(&(guild_id as i64), Type::INT8), (&(user_id as i64), Type::INT8)])?;
        }
        Ok(())
    }

    fn all_member_ids(&mut self, guild_id: Id) -> Result<Vec<Id>, StoreError> {
        let rows = self.run(
            "SELECT user_id FROM members WHERE guild_id = $1 ORDER BY user_id",
            &[(&(guild_id as i64), Type::INT8)],
        )?;
        Ok(rows.iter().map(|r| r.get::<_, i64>(0) as Id).collect())
    }

    fn counted_reactions(
        &mut self,
        keys: &[&ReactionKey],
        messages: &[Id],
    ) -> Result<Vec<(ReactionKey, StoredReaction)>, StoreError> {
        let key_messages = ids(keys.iter().map(|k| k.message_id));
        let key_users = ids(keys.iter().map(|k| k.user_id));
        let key_emoji: Vec<&str> = keys.iter().map(|k| k.emoji.as_str()).collect();
        let rows = self.run(
            "SELECT user_id, author_id, day, guild_id, message_id, emoji FROM counted_reactions
             WHERE (message_id, user_id, emoji) IN (SELECT * FROM UNNEST($1::int8[], $2::int8[], $3::text[]))
             UNION
             SELECT user_id, author_id, day, guild_id, message_id, emoji FROM counted_reactions
             WHERE message_id = ANY($4)",
            &[
                (&key_messages, ARRAY),
                (&key_users, ARRAY),
                (&key_emoji, Type::TEXT_ARRAY),
                (&ids(messages.iter().copied()), ARRAY),
            ],
        )?;
        Ok(rows.iter().map(stored_reaction).collect())
    }

    fn voice_sessions(&mut self, members: &[(Id, Id)], guilds: &[Id]) -> Result<Vec<VoiceSession>, StoreError> {
        let rows = self.run(
            "SELECT guild_id, user_id, since, channel_id, muted, earning_since FROM voice_sessions
             WHERE (guild_id, user_id) IN (SELECT * FROM UNNEST($1::int8[], $2::int8[]))
             UNION
             SELECT guild_id, user_id, since, channel_id, muted, earning_since FROM voice_sessions
             WHERE guild_id = ANY($3)",
            &[
                (&ids(members.iter().map(|k| k.0)), ARRAY),
                (&ids(members.iter().map(|k| k.1)), ARRAY),
                (&ids(guilds.iter().copied()), ARRAY),
            ],
        )?;
        Ok(rows
            .iter()
            .map(|r| {
                let state = crate::OpenVoice {
                    since: r.get(2),
                    channel_id: r.get::<_, Option<i64>>(3).map(|c| c as Id),
                    muted: r.get(4),
                    earning_since: r.get(5),
                };
                ((r.get::<_, i64>(0) as Id, r.get::<_, i64>(1) as Id), state)
            })
            .collect())
    }

    fn log_memberships(&mut self, entries: &[LogEntry]) -> Result<Vec<bool>, StoreError> {
        let changes: Vec<&str> = entries.iter().map(|e| e.change.as_str()).collect();
        let at: Vec<i64> = entries.iter().map(|e| e.at_ms).collect();
        let rows = self.run(
            "INSERT INTO membership_log (guild_id, user_id, change, at)
             SELECT * FROM UNNEST($1::int8[], $2::int8[], $3::text[], $4::int8[])
             ON CONFLICT DO NOTHING RETURNING guild_id, user_id, change, at",
            &[
                (&ids(entries.iter().map(|e| e.guild_id)), ARRAY),
                (&ids(entries.iter().map(|e| e.user_id)), ARRAY),
                (&changes, Type::TEXT_ARRAY),
                (&at, ARRAY),
            ],
        )?;
        let new: HashSet<(i64, i64, bool, i64)> = rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get::<_, &str>(2) == MembershipChange::Join.as_str(), r.get(3)))
            .collect();
        Ok(entries
            .iter()
            .map(|e| new.contains(&(e.guild_id as i64, e.user_id as i64, e.change == MembershipChange::Join, e.at_ms)))
            .collect())
    }

    fn write(&mut self, writes: &Writes<'_>) -> Result<(), StoreError> {
        if !writes.guilds.is_empty() {
            let names: Vec<&str> = writes.guilds.iter().map(|g| g.name.as_str()).collect();
            let afk: Vec<Option<i64>> = writes.guilds.iter().map(|g| g.afk_channel_id.map(|c| c as i64)).collect();
            self.run(
                "INSERT INTO guilds (guild_id, name, afk_channel_id)
                 SELECT * FROM UNNEST($1::int8[], $2::text[], $3::int8[])
                 ON CONFLICT (guild_id) DO UPDATE SET name = EXCLUDED.name, afk_channel_id = EXCLUDED.afk_channel_id",
                &[(&ids(writes.guilds.iter().map(|g| g.guild_id)), ARRAY), (&names, Type::TEXT_ARRAY), (&afk, ARRAY)],
            )?;
        }
        if !writes.removed.is_empty() {
            let when: Vec<Option<i64>> = writes.removed.iter().map(|(_, at)| *at).collect();
            self.run(
                "UPDATE guilds SET removed_at = r.at FROM UNNEST($1::int8[], $2::int8[]) AS r(guild_id, at)
                 WHERE guilds.guild_id = r.guild_id AND guilds.removed_at IS DISTINCT FROM r.at",
                &[(&ids(writes.removed.iter().map(|(g, _)| *g)), ARRAY), (&when, ARRAY)],
            )?;
        }
        if !writes.guild_days.is_empty() {
            let d = &writes.guild_days;
            let column = |f: fn(&crate::DayChange) -> i64| d.iter().map(|(_, c)| f(c)).collect::<Vec<i64>>();
            self.run(
                "WITH input (guild_id, day, messages, xp, joins, leaves, reactions, voice_ms) AS (
                     SELECT * FROM UNNEST($1::int8[], $2::int8[], $3::int8[], $4::int8[], $5::int8[], $6::int8[],
                                          $7::int8[], $8::int8[])
                 ), updated AS (
                     UPDATE guild_days g SET messages = g.messages + i.messages, xp = g.xp + i.xp,
                         joins = g.joins + i.joins, leaves = g.leaves + i.leaves,
                         reactions = GREATEST(0, g.reactions + i.reactions), voice_ms = g.voice_ms + i.voice_ms
                     FROM input i WHERE g.guild_id = i.guild_id AND g.day = i.day
                     RETURNING g.guild_id, g.day
                 )
                 INSERT INTO guild_days (guild_id, day, messages, xp, joins, leaves, reactions, voice_ms)
                 SELECT guild_id, day, messages, xp, joins, leaves, GREATEST(0, reactions), voice_ms FROM input i
                 WHERE NOT EXISTS (SELECT 1 FROM updated u WHERE u.guild_id = i.guild_id AND u.day = i.day)",
                &[
                    (&ids(d.iter().map(|((g, _), _)| *g)), ARRAY),
                    (&d.iter().map(|((_, day), _)| *day).collect::<Vec<i64>>(), ARRAY),
                    (&column(|c| c.messages), ARRAY),
                    (&column(|c| c.xp), ARRAY),
                    (&column(|c| c.joins), ARRAY),
                    (&column(|c| c.leaves), ARRAY),
                    (&column(|c| c.reactions_given), ARRAY),
                    (&column(|c| c.voice_ms), ARRAY),
                ],
            )?;
        }
        if !writes.member_days.is_empty() {
            let d = &writes.member_days;
            let column = |f: fn(&crate::DayChange) -> i64| d.iter().map(|(_, c)| f(c)).collect::<Vec<i64>>();
            self.run(
                "WITH input (guild_id, day, user_id, messages, xp, given, received, voice_ms) AS (
                     SELECT * FROM UNNEST($1::int8[], $2::int8[], $3::int8[], $4::int8[], $5::int8[], $6::int8[],
                                          $7::int8[], $8::int8[])
                 ), updated AS (
                     UPDATE member_days m SET messages = m.messages + i.messages, xp = m.xp + i.xp,
                         reactions_given = GREATEST(0, m.reactions_given + i.given),
                         reactions_received = GREATEST(0, m.reactions_received + i.received),
                         voice_ms = m.voice_ms + i.voice_ms
                     FROM input i WHERE m.guild_id = i.guild_id AND m.day = i.day AND m.user_id = i.user_id
                     RETURNING m.guild_id, m.day, m.user_id
                 )
                 INSERT INTO member_days
                     (guild_id, day, user_id, messages, xp, reactions_given, reactions_received, voice_ms)
                 SELECT guild_id, day, user_id, messages, xp, GREATEST(0, given), GREATEST(0, received), voice_ms
                 FROM input i WHERE NOT EXISTS (
                     SELECT 1 FROM updated u WHERE u.guild_id = i.guild_id AND u.day = i.day AND u.user_id = i.user_id
                 )",
                &[
                    (&ids(d.iter().map(|((g, _, _), _)| *g)), ARRAY),
                    (&d.iter().map(|((_, day, _), _)| *day).collect::<Vec<i64>>(), ARRAY),
                    (&ids(d.iter().map(|((_, _, u), _)| *u)), ARRAY),
                    (&column(|c| c.messages), ARRAY),
                    (&column(|c| c.xp), ARRAY),
                    (&column(|c| c.reactions_given), ARRAY),
                    (&column(|c| c.reactions_received), ARRAY),
                    (&column(|c| c.voice_ms), ARRAY),
                ],
            )?;
        }
        if !writes.members.is_empty() {
            self.save_members(writes)?;
        }
        if !writes.reactions.is_empty() {
            self.save_reactions(writes)?;
        }
        if !writes.voice.is_empty() {
            let (gone, open): (Vec<_>, Vec<_>) = writes.voice.iter().partition(|(_, since)| since.is_none());
            if !gone.is_empty() {
                self.run(
                "DELETE FROM voice_sessions WHERE (guild_id, user_id) IN (SELECT * FROM UNNEST($1::int8[], $2::int8[]))",
                &[(&ids(gone.iter().map(|((g, _), _)| *g)), ARRAY), (&ids(gone.iter().map(|((_, u), _)| *u)), ARRAY)],
            )?;
            }
            if !open.is_empty() {
                let states: Vec<crate::OpenVoice> = open.iter().filter_map(|(_, v)| *v).collect();
                self.run(
                    "INSERT INTO voice_sessions (guild_id, user_id, since, channel_id, muted, earning_since)
                 SELECT * FROM UNNEST($1::int8[], $2::int8[], $3::int8[], $4::int8[], $5::bool[], $6::int8[])
                 ON CONFLICT (guild_id, user_id) DO UPDATE SET since = EXCLUDED.since,
                     channel_id = EXCLUDED.channel_id, muted = EXCLUDED.muted, earning_since = EXCLUDED.earning_since",
                    &[
                        (&ids(open.iter().map(|((g, _), _)| *g)), ARRAY),
                        (&ids(open.iter().map(|((_, u), _)| *u)), ARRAY),
                        (&states.iter().map(|v| v.since).collect::<Vec<i64>>(), ARRAY),
                        (&states.iter().map(|v| v.channel_id.map(|c| c as i64)).collect::<Vec<Option<i64>>>(), ARRAY),
                        (&states.iter().map(|v| v.muted).collect::<Vec<bool>>(), Type::BOOL_ARRAY),
                        (&states.iter().map(|v| v.earning_since).collect::<Vec<Option<i64>>>(), ARRAY),
                    ],
                )?;
            }
        }
        self.save_leveling(writes)
    }

    fn save_positions(&mut self, positions: &[ShardPosition]) -> Result<(), StoreError> {
        let shard_ids: Vec<i32> = positions.iter().map(|p| p.shard_id as i32).collect();
        let counts: Vec<i32> = positions.iter().map(|p| p.shard_count as i32).collect();
        let sessions: Vec<&str> = positions.iter().map(|p| p.session_id.as_str()).collect();
        let sequences: Vec<i64> = positions.iter().map(|p| p.sequence as i64).collect();
        let urls: Vec<&str> = positions.iter().map(|p| p.resume_url.as_str()).collect();
        let at: Vec<i64> = positions.iter().map(|p| p.committed_at_ms).collect();
        // The position locks (see POSITION_LOCKS) are taken, in shard order,
        // before the first row is written, by the same statement.
        self.run(
            &format!(
                "WITH fenced AS (SELECT count(*) FROM (SELECT pg_advisory_xact_lock({POSITION_LOCKS}, s)
                     FROM (SELECT unnest($1::int4[]) AS s ORDER BY 1) AS ordered) AS locked)
             INSERT INTO shard_positions (shard_id, shard_count, session_id, sequence, resume_url, committed_at)
             SELECT * FROM UNNEST($1::int4[], $2::int4[], $3::text[], $4::int8[], $5::text[], $6::int8[])
             WHERE (SELECT count(*) FROM fenced) >= 0
             ON CONFLICT (shard_id) DO UPDATE SET shard_count = EXCLUDED.shard_count,
                 session_id = EXCLUDED.session_id, sequence = EXCLUDED.sequence,
                 resume_url = EXCLUDED.resume_url, committed_at = EXCLUDED.committed_at"
            ),
            &[
                (&shard_ids, Type::INT4_ARRAY),
                (&counts, Type::INT4_ARRAY),
                (&sessions, Type::TEXT_ARRAY),
                (&sequences, ARRAY),
                (&urls, Type::TEXT_ARRAY),
                (&at, ARRAY),
            ],
        )?;
        Ok(())
    }
}

impl PgOps<'_, '_> {
    /// Every changed member row in one upsert.
    fn save_members(&mut self, writes: &Writes<'_>) -> Result<(), StoreError> {
        let m: Vec<&Member> = writes.members.iter().map(|(m, _)| *m).collect();
        let count = |f: fn(&Member) -> u64| m.iter().map(|m| f(m) as i64).collect::<Vec<i64>>();
        let when = |f: fn(&Member) -> Option<i64>| m.iter().map(|m| f(m)).collect::<Vec<Option<i64>>>();
        let usernames: Vec<&str> = m.iter().map(|m| m.username.as_str()).collect();
        let display_names: Vec<&str> = m.iter().map(|m| m.display_name.as_str()).collect();
        let bots: Vec<bool> = m.iter().map(|m| m.bot).collect();
        let avatars: Vec<Option<&str>> = m.iter().map(|m| m.avatar.as_deref()).collect();
        let hidden: Vec<bool> = m.iter().map(|m| m.hidden).collect();
        let stopped: Vec<bool> = m.iter().map(|m| m.stopped).collect();
        self.run(
            &format!(
                "INSERT INTO members ({MEMBER_COLUMNS})
                 SELECT * FROM UNNEST($1::int8[], $2::int8[], $3::text[], $4::text[], $5::bool[], $6::int8[],
                     $7::int8[], $8::int8[], $9::int8[], $10::int8[], $11::int8[], $12::int8[], $13::int8[], $14::text[],
                     $15::bool[], $16::bool[])
                 ON CONFLICT (guild_id, user_id) DO UPDATE SET username = EXCLUDED.username,
                     display_name = EXCLUDED.display_name, bot = EXCLUDED.bot, messages = EXCLUDED.messages,
                     reactions_given = EXCLUDED.reactions_given, reactions_received = EXCLUDED.reactions_received,
                     xp = EXCLUDED.xp, last_xp_at = EXCLUDED.last_xp_at, joined_at = EXCLUDED.joined_at,
                     left_at = EXCLUDED.left_at, voice_ms = EXCLUDED.voice_ms, avatar = EXCLUDED.avatar,
                     hidden = EXCLUDED.hidden, stopped = EXCLUDED.stopped"
            ),
            &[
                (&count(|m| m.guild_id), ARRAY),
                (&count(|m| m.user_id), ARRAY),
                (&usernames, Type::TEXT_ARRAY),
                (&display_names, Type::TEXT_ARRAY),
                (&bots, Type::BOOL_ARRAY),
                (&count(|m| m.messages), ARRAY),
                (&count(|m| m.reactions_given), ARRAY),
                (&count(|m| m.reactions_received), ARRAY),
                (&count(|m| m.xp), ARRAY),
                (&when(|m| m.last_xp_at_ms), ARRAY),
                (&when(|m| m.joined_at_ms), ARRAY),
                (&when(|m| m.left_at_ms), ARRAY),
                (&count(|m| m.voice_ms), ARRAY),
                (&avatars, Type::TEXT_ARRAY),
                (&hidden, Type::BOOL_ARRAY),
                (&stopped, Type::BOOL_ARRAY),
            ],
        )?;
        Ok(())
    }

    /// Forgets and remembers counted reactions: one statement each.
    fn save_reactions(&mut self, writes: &Writes<'_>) -> Result<(), StoreError> {
        let (gone, kept): (Vec<_>, Vec<_>) = writes.reactions.iter().partition(|(_, state)| state.is_none());
        let messages = |list: &[&(&ReactionKey, Option<StoredReaction>)]| ids(list.iter().map(|(k, _)| k.message_id));
        let users = |list: &[&(&ReactionKey, Option<StoredReaction>)]| ids(list.iter().map(|(k, _)| k.user_id));
        let emoji = |list: &[&(&ReactionKey, Option<StoredReaction>)]| -> Vec<String> {
            list.iter().map(|(k, _)| k.emoji.clone()).collect()
        };
        if !gone.is_empty() {
            self.run(
                "DELETE FROM counted_reactions WHERE (message_id, user_id, emoji) IN
                     (SELECT * FROM UNNEST($1::int8[], $2::int8[], $3::text[]))",
                &[(&messages(&gone), ARRAY), (&users(&gone), ARRAY), (&emoji(&gone), Type::TEXT_ARRAY)],
            )?;
        }
        if !kept.is_empty() {
            let stored: Vec<StoredReaction> = kept.iter().filter_map(|(_, s)| *s).collect();
            self.run(
                "INSERT INTO counted_reactions (message_id, user_id, emoji, guild_id, author_id, day)
                 SELECT * FROM UNNEST($1::int8[], $2::int8[], $3::text[], $4::int8[], $5::int8[], $6::int8[])
                 ON CONFLICT (message_id, user_id, emoji) DO UPDATE SET guild_id = EXCLUDED.guild_id,
                     author_id = EXCLUDED.author_id, day = EXCLUDED.day",
                &[
                    (&messages(&kept), ARRAY),
                    (&users(&kept), ARRAY),
                    (&emoji(&kept), Type::TEXT_ARRAY),
                    (&ids(stored.iter().map(|s| s.guild_id)), ARRAY),
                    (&ids(stored.iter().map(|s| s.counted.author)), ARRAY),
                    (&stored.iter().map(|s| s.counted.day).collect::<Vec<Option<i64>>>(), ARRAY),
                ],
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
