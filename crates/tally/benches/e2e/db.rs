//! The benchmark's databases: a SQLite file in a temporary directory or a
//! scratch database on the test PostgreSQL server, read directly for the
//! committed sequence and the size on disk; the one-round-trip-per-event
//! writer PostgreSQL is compared with; a bare HTTP GET for the web page.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use tally::store::postgres::scratch::ScratchDatabase;

use super::Ingest;

/// Which backend a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    Mongo,
}

impl std::str::FromStr for Backend {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "sqlite" => Ok(Self::Sqlite),
            "postgres" => Ok(Self::Postgres),
            "mongo" => Ok(Self::Mongo),
            other => Err(format!("unknown backend {other}")),
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Sqlite => "SQLite",
            Self::Postgres => "PostgreSQL",
            Self::Mongo => "MongoDB (secantusdb)",
        })
    }
}

/// A fresh database for one part of the benchmark, dropped afterwards.
#[allow(clippy::large_enum_variant)] // a handful exist, never moved in a loop
pub enum BenchDb {
    Sqlite { _dir: tempfile::TempDir, path: std::path::PathBuf, url: String },
    Postgres { client: Mutex<Option<postgres::Client>>, url: String, _scratch: ScratchDatabase },
    Mongo { database: mongodb::sync::Database, url: String, _scratch: tally::store::mongo::scratch::ScratchDatabase },
}

impl BenchDb {
    pub fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("tally.db");
                let url = format!("sqlite://{}", path.display());
                Self::Sqlite { _dir: dir, path, url }
            }
            Backend::Postgres => {
                let scratch = ScratchDatabase::create();
                let url = scratch.url().to_owned();
                let opening = url.clone();
                // The blocking client may not start on an async thread.
                let client = std::thread::spawn(move || connect(&opening)).join().unwrap();
                Self::Postgres { client: Mutex::new(Some(client)), url, _scratch: scratch }
            }
            Backend::Mongo => {
                let scratch = tally::store::mongo::scratch::ScratchDatabase::create();
                let url = scratch.url().to_owned();
                let database = mongo_database(&url);
                Self::Mongo { database, url, _scratch: scratch }
            }
        }
    }

    pub fn url(&self) -> &str {
        match self {
            Self::Sqlite { url, .. } | Self::Postgres { url, .. } | Self::Mongo { url, .. } => url,
        }
    }

    /// The sequence the database has committed for shard 0 (blocking).
    pub fn committed(&self) -> u64 {
        const SQL: &str = "SELECT sequence FROM shard_positions WHERE shard_id = 0";
        match self {
            Self::Sqlite { path, .. } => {
                let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
                let Ok(conn) = rusqlite::Connection::open_with_flags(path, flags) else { return 0 };
                conn.query_row(SQL, [], |r| r.get::<_, i64>(0)).map_or(0, |s| s as u64)
            }
            Self::Postgres { client, .. } => {
                let mut client = client.lock().unwrap();
                match client.as_mut().expect("open").query_opt(SQL, &[]) {
                    Ok(row) => row.map_or(0, |r| r.get::<_, i64>(0) as u64),
                    Err(_) => 0, // the schema is not there yet
                }
            }
            Self::Mongo { database, .. } => tokio::task::block_in_place(|| {
                let found = database
                    .collection::<mongodb::bson::Document>("shard_positions")
                    .find_one(mongodb::bson::doc! { "shard_id": 0_i64 })
                    .run()
                    .ok()
                    .flatten();
                found.and_then(|d| d.get_i64("sequence").ok()).map_or(0, |s| s as u64)
            }),
        }
    }

    /// Bytes on disk: the SQLite file with its WAL, or the PostgreSQL
    /// database less an empty one's size.
    pub fn size_bytes(&self) -> u64 {
        match self {
            Self::Sqlite { path, .. } => {
                let wal = path.with_extension("db-wal");
                [path.as_path(), wal.as_path()].iter().filter_map(|p| std::fs::metadata(p).ok()).map(|m| m.len()).sum()
            }
            Self::Postgres { client, .. } => tokio::task::block_in_place(|| {
                let mut guard = client.lock().unwrap();
                let client = guard.as_mut().expect("open");
                let total: i64 = client.query_one("SELECT pg_database_size(current_database())", &[]).unwrap().get(0);
                let empty: i64 = client.query_one("SELECT pg_database_size('template1')", &[]).unwrap().get(0);
                (total - empty).max(0) as u64
            }),
            // What the server reports for the data and its indexes.
            Self::Mongo { database, .. } => tokio::task::block_in_place(|| {
                let stats = database.run_command(mongodb::bson::doc! { "dbStats": 1 }).run().unwrap();
                let number = |key: &str| match stats.get(key) {
                    Some(mongodb::bson::Bson::Int64(v)) => *v as u64,
                    Some(mongodb::bson::Bson::Int32(v)) => *v as u64,
                    Some(mongodb::bson::Bson::Double(v)) => *v as u64,
                    _ => 0,
                };
                number("storageSize") + number("indexSize")
            }),
        }
    }
}

impl Drop for BenchDb {
    fn drop(&mut self) {
        // The blocking client closes on a thread of its own, off the runtime.
        if let Self::Postgres { client, .. } = self {
            if let Some(client) = client.get_mut().unwrap().take() {
                std::thread::spawn(move || drop(client)).join().unwrap();
            }
        }
    }
}

fn mongo_database(url: &str) -> mongodb::sync::Database {
    let url = url.to_owned();
    std::thread::spawn(move || {
        let client = mongodb::sync::Client::with_uri_str(&url).expect("the benchmark's MongoDB");
        let name = mongodb::options::ConnectionString::parse(&url).unwrap().default_database.unwrap();
        client.database(&name)
    })
    .join()
    .unwrap()
}

/// The same one-upsert-per-message design on MongoDB: `updateOne` with
/// `$inc` and upsert, each its own round trip.
pub fn one_round_trip_per_event_mongo(guild: u64, members: &[u64]) -> Ingest {
    use mongodb::bson::doc;
    let db = BenchDb::new(Backend::Mongo);
    let database = mongo_database(db.url());
    let collection = database.collection::<mongodb::bson::Document>("members");
    collection
        .create_index(mongodb::IndexModel::builder().keys(doc! { "guild_id": 1, "user_id": 1 }).build())
        .run()
        .unwrap();
    let started = Instant::now();
    for (i, member) in members.iter().enumerate() {
        let xp = 15 + (i as i64 % 11);
        collection
            .update_one(
                doc! { "guild_id": guild as i64, "user_id": *member as i64 },
                doc! { "$inc": { "messages": 1_i64, "xp": xp }, "$set": { "last_xp_at": i as i64 } },
            )
            .upsert(true)
            .run()
            .unwrap();
    }
    let wall = started.elapsed();
    Ingest { events: members.len(), wall, cpu: Duration::ZERO, peak_rss_mb: 0.0, ready_after: Duration::ZERO }
}

fn connect(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls).expect("the benchmark's PostgreSQL")
}

/// The design most bots use, on the same PostgreSQL: one upsert per message
/// (count it, add its XP), each its own round trip and commit. Timed in this
/// process, with no gateway in the way, so it is the best such a bot could do.
pub fn one_round_trip_per_event(guild: u64, members: &[u64]) -> Ingest {
    let db = BenchDb::new(Backend::Postgres);
    let mut client = connect(db.url());
    client
        .batch_execute(
            "CREATE TABLE members (guild_id BIGINT, user_id BIGINT, messages BIGINT NOT NULL DEFAULT 0,
                 xp BIGINT NOT NULL DEFAULT 0, last_xp_at BIGINT, PRIMARY KEY (guild_id, user_id));
             CREATE INDEX members_by_xp ON members (guild_id, xp DESC, user_id);",
        )
        .unwrap();
    let upsert = client
        .prepare(
            "INSERT INTO members (guild_id, user_id, messages, xp, last_xp_at) VALUES ($1, $2, 1, $3, $4)
             ON CONFLICT (guild_id, user_id) DO UPDATE SET messages = members.messages + 1,
                 xp = members.xp + EXCLUDED.xp, last_xp_at = EXCLUDED.last_xp_at",
        )
        .unwrap();
    let started = Instant::now();
    for (i, member) in members.iter().enumerate() {
        let xp = 15 + (i as i64 % 11);
        client.execute(&upsert, &[&(guild as i64), &(*member as i64), &xp, &(i as i64)]).unwrap();
    }
    let wall = started.elapsed();
    Ingest { events: members.len(), wall, cpu: Duration::ZERO, peak_rss_mb: 0.0, ready_after: Duration::ZERO }
}

/// GETs `path` over a fresh HTTP/1.1 connection (reqwest, keeping no
/// connection between calls): how long until the whole answer was read,
/// and its body.
pub async fn http_get(addr: std::net::SocketAddr, path: &str) -> (Duration, String) {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    let client = CLIENT.get_or_init(|| reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap());
    let started = Instant::now();
    let response = client.get(format!("http://{addr}{path}")).send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    let body = response.text().await.unwrap();
    (started.elapsed(), body)
}
