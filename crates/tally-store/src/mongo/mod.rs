//! The MongoDB backend, for bot owners who already run MongoDB (a replica
//! set they trust, or a hosted cluster). One collection per table of the
//! other backends, one document per row, its fields named as the columns;
//! `$jsonSchema` validators hold every document to that shape.
//!
//! Each ledger batch is one multi-document transaction: a few bulk reads,
//! one `bulkWrite` of every change (upserts with `$set`, `$setOnInsert` and
//! update pipelines for the clamped day sums), one for the shard positions,
//! and the commit. Transactions need a replica set (or a sharded cluster):
//! a standalone server is refused at start with a message saying how to
//! make it a one-node replica set.

mod backend;
pub(crate) mod copy;
mod fields;
mod ops;
mod reader;
pub(crate) mod schema;
pub mod scratch;
#[cfg(test)]
mod tests;
mod web_sessions;

use std::time::Duration;

use mongodb::bson::{doc, Bson, Document};
use mongodb::error::{Error, ErrorKind};
use mongodb::options::{ClientOptions, ConnectionString};
use mongodb::sync::{Client, ClientSession, Collection, Database};

pub use reader::MongoReader;

use super::{MembershipChange, ShardPosition, StoreError, StoreOps};
use crate::domain::activity::Id;
use fields::{int, opt_int, text};

/// Whether `url` is meant for this backend.
pub fn handles(url: &str) -> bool {
    url.starts_with("mongodb://") || url.starts_with("mongodb+srv://")
}

/// Where a MongoDB database is, from a `mongodb://` or `mongodb+srv://`
/// URL. The database is the URL's path (`tally` when it has none).
#[derive(Clone)]
pub struct Target {
    url: String,
    database: String,
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

/// The database a URL without a path uses.
pub const DEFAULT_DATABASE: &str = "tally";

impl Target {
    /// Reads a URL without touching the network (a `mongodb+srv://` name
    /// is looked up when connecting).
    pub fn parse(url: &str) -> Result<Self, StoreError> {
        let parsed =
            ConnectionString::parse(url).map_err(|e| StoreError::BadUrl(format!("not a MongoDB URL ({})", e.kind)))?;
        let database = parsed.default_database.clone().unwrap_or_else(|| DEFAULT_DATABASE.to_owned());
        let hosts = hosts_of(url);
        let user = parsed.credential.as_ref().and_then(|c| c.username.clone());
        let shown =
            format!("MongoDB database {database} on {hosts}{}", user.map(|u| format!(" as {u}")).unwrap_or_default());
        Ok(Self { url: url.to_owned(), database, shown })
    }

    /// The same server, another database on it (tests, `tally copy`).
    pub fn with_database(&self, name: &str) -> Self {
        let (base, query) = self.url.split_once('?').unwrap_or((&self.url, ""));
        let scheme_end = base.find("://").map_or(0, |i| i + 3);
        let authority = match base[scheme_end..].find('/') {
            Some(slash) => &base[..scheme_end + slash],
            None => base,
        };
        let url = if query.is_empty() { format!("{authority}/{name}") } else { format!("{authority}/{name}?{query}") };
        Self {
            shown: self.shown.replacen(&format!("database {}", self.database), &format!("database {name}"), 1),
            url,
            database: name.to_owned(),
        }
    }

    /// Whether both name the same database on the same servers.
    pub fn same_database(&self, other: &Target) -> bool {
        hosts_of(&self.url) == hosts_of(&other.url) && self.database == other.database
    }

    /// The database's name.
    pub fn database(&self) -> &str {
        &self.database
    }

    /// A client for the servers (connections are made as needed), with
    /// timeouts short enough that an unreachable server is reported in
    /// seconds.
    pub(crate) fn connect(&self) -> Result<Connection, StoreError> {
        // A client keeps its own pool and watches the servers: one per URL
        // serves the whole process, as MongoDB's drivers intend.
        type Shared = (Client, std::sync::Arc<std::sync::Mutex<Option<ClientSession>>>);
        static CLIENTS: std::sync::Mutex<Option<std::collections::HashMap<String, Shared>>> =
            std::sync::Mutex::new(None);
        let mut clients = CLIENTS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let clients = clients.get_or_insert_with(Default::default);
        if let Some((client, helper)) = clients.get(&self.url) {
            let database = client.database(&self.database);
            return Ok(Connection { database, client: client.clone(), helper: helper.clone() });
        }
        let mut options = ClientOptions::parse(&self.url).run()?;
        if options.app_name.is_none() {
            options.app_name = Some("tally".to_owned());
        }
        options.server_selection_timeout.get_or_insert(Duration::from_secs(5));
        options.connect_timeout.get_or_insert(Duration::from_secs(5));
        let client = Client::with_options(options)?;
        let helper = std::sync::Arc::default();
        clients.insert(self.url.clone(), (client.clone(), std::sync::Arc::clone(&helper)));
        let database = client.database(&self.database);
        Ok(Connection { client, database, helper })
    }
}

/// `host:port,…` of a URL, without credentials.
fn hosts_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    authority.rsplit_once('@').map_or(authority, |(_, hosts)| hosts).to_owned()
}

/// A client and the database Tally uses on it.
#[derive(Clone)]
pub(crate) struct Connection {
    pub client: Client,
    pub database: Database,
    /// The one session this process runs its small transactions on
    /// (started when first needed), so that a process that takes over
    /// from a killed one can end the transaction it left open there too.
    helper: std::sync::Arc<std::sync::Mutex<Option<ClientSession>>>,
}

impl Connection {
    /// The process's session for small transactions (see `helper`).
    fn helper_session(&self) -> Result<std::sync::MutexGuard<'_, Option<ClientSession>>, StoreError> {
        let mut helper = self.helper.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if helper.is_none() {
            *helper = Some(new_session(self)?);
        }
        Ok(helper)
    }

    /// A collection of documents.
    pub fn collection(&self, name: &str) -> Collection<Document> {
        self.database.collection(name)
    }
}

/// MongoDB server error codes after which trying again may succeed: the
/// primary stepped down or is shutting down, a node is recovering, a
/// network timeout, a write conflict, an exceeded time limit.
const TRANSIENT_CODES: &[i32] =
    &[6, 7, 24, 50, 64, 89, 91, 112, 189, 251, 262, 9001, 10107, 11600, 11602, 13388, 13435, 13436, 46841];

/// Codes a server answers when a transaction was too much for it: it ran
/// past `transactionLifetimeLimitSeconds` (290) and was aborted, so its
/// next command finds no transaction (251); a time limit ran out (50); a
/// document or command outgrew the 16 MB limit (10334, 10337).
const OVERRUN_CODES: &[i32] = &[50, 251, 290, 10334, 10337];

/// Whether the transaction was too long or too large for the server: the
/// same work retried whole may meet the same end, smaller pieces will not.
pub(crate) fn is_overrun(error: &Error) -> bool {
    codes(error).iter().any(|code| OVERRUN_CODES.contains(code))
}

/// Whether waiting and trying again may help: the driver or server labels
/// the error transient (`TransientTransactionError`,
/// `UnknownTransactionCommitResult`, `RetryableWriteError`), the servers
/// cannot be reached or went away, or the code is one of
/// [`TRANSIENT_CODES`]. A bad URL, refused credentials, a document the
/// validator refuses or a broken unique key fail the same way however
/// often they are retried.
pub(crate) fn is_transient(error: &Error) -> bool {
    if ["TransientTransactionError", "UnknownTransactionCommitResult", "RetryableWriteError"]
        .iter()
        .any(|label| error.contains_label(label))
    {
        return true;
    }
    match error.kind.as_ref() {
        ErrorKind::Io(_) | ErrorKind::ServerSelection { .. } | ErrorKind::ConnectionPoolCleared { .. } => true,
        ErrorKind::DnsResolve { .. } => true,
        _ => codes(error).iter().any(|code| TRANSIENT_CODES.contains(code)),
    }
}

/// Every server error code an error carries: the command's, a write
/// concern error's, each write error's.
pub(crate) fn codes(error: &Error) -> Vec<i32> {
    use mongodb::error::WriteFailure;
    let mut found = Vec::new();
    match error.kind.as_ref() {
        ErrorKind::Command(command) => found.push(command.code),
        ErrorKind::Write(WriteFailure::WriteConcernError(e)) => found.push(e.code),
        ErrorKind::Write(WriteFailure::WriteError(e)) => found.push(e.code),
        ErrorKind::BulkWrite(bulk) => {
            found.extend(bulk.write_concern_errors.iter().map(|e| e.code));
            found.extend(bulk.write_errors.values().map(|e| e.code));
        }
        ErrorKind::InsertMany(many) => {
            found.extend(many.write_concern_error.iter().map(|e| e.code));
            found.extend(many.write_errors.iter().flatten().map(|e| e.code));
        }
        _ => {}
    }
    found
}

/// What to show of a MongoDB error: the server's message and code name
/// when it sent one, otherwise the driver's.
pub(crate) fn describe(error: &Error) -> String {
    let text = error.to_string();
    // The driver's text carries every label; a short form reads better in a log.
    text.split(", labels:").next().unwrap_or(&text).to_owned()
}

/// The document holding the schema version.
const SCHEMA_COLLECTION: &str = "tally_schema";

/// Brings a database's collections, validators and indexes up to date.
/// Every step is idempotent, so several processes may start at once.
pub(crate) fn migrate(connection: &Connection) -> Result<(), StoreError> {
    let versions = connection.collection(SCHEMA_COLLECTION);
    let found = versions.find_one(doc! { "_id": "schema" }).run()?.map(|d| int(&d, "version")).unwrap_or(0);
    let supported = schema::VERSION;
    if found > supported {
        return Err(StoreError::TooNew { found, supported });
    }
    if found == supported {
        return Ok(());
    }
    schema::create(&connection.database)?;
    versions.update_one(doc! { "_id": "schema" }, doc! { "$max": { "version": supported } }).upsert(true).run()?;
    tracing::info!(version = supported, "created MongoDB collections and indexes");
    Ok(())
}

/// Whether a Tally schema exists in the database.
pub(crate) fn has_schema(connection: &Connection) -> Result<bool, StoreError> {
    Ok(connection.collection(SCHEMA_COLLECTION).find_one(doc! { "_id": "schema" }).run()?.is_some())
}

/// Refuses a server that cannot run transactions: Tally's exactly-once
/// rests on committing a batch and its shard positions together.
fn require_transactions(connection: &Connection, target: &Target) -> Result<(), StoreError> {
    let hello = connection.database.run_command(doc! { "hello": 1 }).run()?;
    let replica_set = hello.get_str("setName").is_ok();
    let router = hello.get_str("msg") == Ok("isdbgrid");
    if replica_set || router {
        return Ok(());
    }
    Err(StoreError::Refused(format!(
        "the {target} is a standalone server, and Tally needs transactions, which MongoDB offers only on a \
         replica set. Make it a one-node replica set: start mongod with --replSet rs0 (or `replication: \
         replSetName: rs0` in mongod.conf), run `rs.initiate()` once in mongosh, and add ?replicaSet=rs0 to \
         DATABASE_URL. Hosted clusters (such as Atlas, free tier included) are replica sets already."
    )))
}

/// Opens the writer's connection, checking for transactions and creating
/// the collections if needed.
pub fn open_writer(target: &Target) -> Result<MongoWriter, StoreError> {
    let connection = target.connect()?;
    require_transactions(&connection, target)?;
    migrate(&connection)?;
    let session = new_session(&connection)?;
    Ok(MongoWriter { connection, session })
}

/// The ledger's connection, with the one session its transactions run on.
pub struct MongoWriter {
    connection: Connection,
    session: ClientSession,
}

impl MongoWriter {
    /// Runs `work` inside one transaction and commits it; on any error
    /// nothing is written (the transaction is aborted, or never commits).
    pub fn transaction<T>(
        &mut self,
        work: impl FnOnce(&mut dyn StoreOps) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let connection = &self.connection;
        run_transaction(&mut self.session, |session| work(&mut ops::MongoOps { connection, session }))
    }

    /// The stored shard positions, once no transaction that saves
    /// positions is still running; read on the writer's own session, which
    /// the next writer ends should this process die meanwhile.
    pub fn positions(&mut self) -> Result<Vec<ShardPosition>, StoreError> {
        let connection = &self.connection;
        patiently_on(&mut self.session, |session| read_fenced(connection, session))
    }

    /// Ends the transactions a killed predecessor may have left open, and
    /// records this process's sessions in their place.
    ///
    /// Why: MongoDB does not abort a transaction when its client's
    /// connection closes (a driver may send the commit on another
    /// connection); an abandoned one holds its documents until
    /// `transactionLifetimeLimitSeconds` (60 s by default) runs out, and
    /// every batch touching them waits that long. The process that ran the
    /// same shards (`owner`: the shard range, or every shard) left the ids
    /// of its sessions behind, so `killSessions` ends them at once.
    pub fn take_over(&mut self, owner: &str) -> Result<(), StoreError> {
        let sessions = self.connection.collection(WRITER_SESSIONS);
        if let Some(previous) = sessions.find_one(doc! { "_id": owner }).run()? {
            if let Ok(lsids) = previous.get_array("lsids") {
                let command = doc! { "killSessions": lsids.clone() };
                self.connection.client.database("admin").run_command(command).run()?;
            }
        }
        // This process's two sessions: the ledger's and the small transactions'.
        let helper = self.connection.helper_session()?.as_ref().map(|s| s.id().clone());
        let lsids: Vec<Document> = std::iter::once(self.session.id().clone()).chain(helper).collect();
        sessions.replace_one(doc! { "_id": owner }, doc! { "_id": owner, "lsids": lsids }).upsert(true).run()?;
        Ok(())
    }
}

impl crate::backend::BatchWriter for MongoWriter {
    /// A MongoDB transaction must end within the server's
    /// transactionLifetimeLimitSeconds (60 s by default) or it is aborted,
    /// and MongoDB advises against transactions that touch many thousands
    /// of documents: 2,048 events keep a batch to a few thousand document
    /// writes. (16,384 events of distinct members outlived the limit on the
    /// test server.)
    fn batch_limit(&self) -> usize {
        2_048
    }

    fn run(&mut self, work: &mut dyn FnMut(&mut dyn StoreOps) -> Result<(), StoreError>) -> Result<(), StoreError> {
        self.transaction(work)
    }

    fn take_over(&mut self, owner: &str) -> Result<(), StoreError> {
        MongoWriter::take_over(self, owner)
    }

    fn positions(&mut self) -> Result<Vec<ShardPosition>, StoreError> {
        MongoWriter::positions(self)
    }
}

/// Where each writer leaves its session id for the next one (see
/// [`MongoWriter::take_over`]); not data, never copied.
pub const WRITER_SESSIONS: &str = "writer_sessions";

/// A session for transactions. Every transaction reads and writes on the
/// primary, which needs no causal ordering between them (it would make the
/// driver add `afterClusterTime` to the first command of each transaction
/// after the first, which some servers refuse on `bulkWrite`).
fn new_session(connection: &Connection) -> Result<ClientSession, StoreError> {
    Ok(connection.client.start_session().causal_consistency(false).run()?)
}

/// Runs `work` in a transaction on `session` and commits it.
fn run_transaction<T>(
    session: &mut ClientSession,
    work: impl FnOnce(&mut ClientSession) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    session.start_transaction().run()?;
    match work(session) {
        Ok(value) => {
            session.commit_transaction().run()?;
            Ok(value)
        }
        Err(error) => {
            // The server would end it with the session; say so now.
            let _ = session.abort_transaction().run();
            Err(error)
        }
    }
}

/// Runs `work` in a transaction on a session of its own and commits it.
#[cfg(test)]
pub(crate) fn in_transaction<T>(
    connection: &Connection,
    work: impl FnOnce(&mut ClientSession) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let mut session = new_session(connection)?;
    run_transaction(&mut session, work)
}

/// Runs `work` in a transaction, again while it fails with a passing
/// error (a write conflict with the ledger's batch, say), for up to a
/// minute. Small writes outside the ledger go through here: a conflict
/// surfaces at once inside a transaction and is waited out here, instead
/// of being retried inside the server while the batch it waits for waits
/// in turn.
pub(crate) fn patient_transaction<T>(
    connection: &Connection,
    work: impl FnMut(&mut ClientSession) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let mut helper = connection.helper_session()?;
    patiently_on(helper.as_mut().expect("started"), work)
}

/// [`patient_transaction`] on a given session.
fn patiently_on<T>(
    session: &mut ClientSession,
    mut work: impl FnMut(&mut ClientSession) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let mut wait = Duration::from_millis(10);
    let started = std::time::Instant::now();
    loop {
        match run_transaction(session, &mut work) {
            Err(error) if error.is_transient() && started.elapsed() < Duration::from_secs(90) => {
                std::thread::sleep(wait);
                wait = (wait * 2).min(Duration::from_secs(2));
            }
            other => return other,
        }
    }
}

/// Reads the stored positions once every transaction that is saving a
/// position has ended.
///
/// Why: a process killed just after sending its commit leaves the commit
/// to finish on the server, and a process that starts at that moment (or
/// the same one, after its connection broke while committing) must not
/// read the positions from before it, or it would resume from there and
/// count that batch again. So the read is made inside a transaction that
/// first writes every position document (and puts it back): a write that
/// meets a transaction still holding one of them fails with a write
/// conflict and is tried again until that transaction has committed or
/// aborted, and a transaction that committed meanwhile is seen.
pub(crate) fn fenced_positions(connection: &Connection) -> Result<Vec<ShardPosition>, StoreError> {
    patient_transaction(connection, |session| read_fenced(connection, session))
}

/// The fence and the read, inside the caller's transaction.
fn read_fenced(connection: &Connection, session: &mut ClientSession) -> Result<Vec<ShardPosition>, StoreError> {
    let positions = connection.collection("shard_positions");
    positions.update_many(doc! {}, doc! { "$set": { "fence": true } }).session(&mut *session).run()?;
    positions.update_many(doc! {}, doc! { "$unset": { "fence": "" } }).session(&mut *session).run()?;
    let mut cursor = positions.find(doc! {}).sort(doc! { "shard_id": 1 }).session(&mut *session).run()?;
    let mut found = Vec::new();
    for document in cursor.iter(session) {
        found.push(position_from(&document?));
    }
    Ok(found)
}

pub(crate) fn position_from(d: &Document) -> ShardPosition {
    ShardPosition {
        shard_id: int(d, "shard_id") as u32,
        shard_count: int(d, "shard_count") as u32,
        session_id: text(d, "session_id"),
        sequence: int(d, "sequence") as u64,
        resume_url: text(d, "resume_url"),
        committed_at_ms: int(d, "committed_at"),
    }
}

/// Writes `models` in one transaction, waiting out conflicts.
fn bulk_in_transaction(connection: &Connection, models: Vec<mongodb::options::WriteModel>) -> Result<(), StoreError> {
    patient_transaction(connection, |session| {
        connection.client.bulk_write(models.clone()).session(session).run()?;
        Ok(())
    })
}
