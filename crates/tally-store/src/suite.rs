//! The storage tests every backend passes: a fixture that opens a fresh
//! database of any kind, and [`on_every_backend!`], which runs a test
//! function once per backend. A PostgreSQL test gets a database of its own on
//! the server `TALLY_TEST_POSTGRES` names (127.0.0.1:5432 by default), a
//! MongoDB test one on the server `TALLY_TEST_MONGODB` names
//! (127.0.0.1:27017 by default); either fails, saying why, when its server
//! cannot be reached.

use std::sync::Arc;

use super::mongo::scratch::ScratchDatabase as MongoScratch;
use super::postgres::scratch::ScratchDatabase;
use super::{Database, Reader, Writer};

/// What keeps a test's database alive, and lets the test run raw SQL on it.
enum Keeper {
    Sqlite { _dir: tempfile::TempDir, path: std::path::PathBuf },
    Postgres(Box<ScratchDatabase>),
    Mongo(Box<MongoScratch>),
}

/// A fresh database with its writer and a reader.
pub struct TestDb {
    keeper: Keeper,
    pub database: Database,
    pub writer: Writer,
    pub reader: Arc<dyn Reader>,
}

impl TestDb {
    /// A new SQLite file in a temporary folder.
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        Self::open(&format!("sqlite://{}", path.display()), Keeper::Sqlite { _dir: dir, path })
    }

    /// A new database on the test PostgreSQL server.
    pub fn postgres() -> Self {
        let scratch = ScratchDatabase::create();
        let url = scratch.url().to_owned();
        Self::open(&url, Keeper::Postgres(Box::new(scratch)))
    }

    /// A new database on the test MongoDB server.
    pub fn mongo() -> Self {
        let scratch = MongoScratch::create();
        let url = scratch.url().to_owned();
        Self::open(&url, Keeper::Mongo(Box::new(scratch)))
    }

    /// A new database on the test MongoDB server, connected under the
    /// application name `app` (a fail point armed for it meets only this).
    pub fn mongo_for_app(app: &str) -> Self {
        let scratch = MongoScratch::create_for_app(app);
        let url = scratch.url().to_owned();
        Self::open(&url, Keeper::Mongo(Box::new(scratch)))
    }

    /// Arms the test MongoDB server's fail point for clients named `app`
    /// ([`MongoScratch::fail_commands`]), until what it returns is dropped.
    pub fn fail_commands(&self, app: &str, times: u32, data: serde_json::Value) -> super::mongo::scratch::FailPoint {
        match &self.keeper {
            Keeper::Mongo(scratch) => scratch.fail_commands(app, times, data),
            _ => panic!("not on MongoDB"),
        }
    }

    /// Whether it is on MongoDB, whose transactions are bounded.
    pub fn is_mongo(&self) -> bool {
        matches!(self.keeper, Keeper::Mongo(_))
    }

    /// Sends a command to the test MongoDB server.
    pub fn mongo_command(&self, json: &str) -> serde_json::Value {
        match &self.keeper {
            Keeper::Mongo(scratch) => scratch.command(json),
            _ => panic!("not on MongoDB"),
        }
    }

    fn open(url: &str, keeper: Keeper) -> Self {
        let database = Database::from_url(url).unwrap();
        let writer = database.open_writer().unwrap();
        let reader = database.open_readers(2).unwrap();
        Self { keeper, database, writer, reader }
    }

    /// Runs SQL on the database behind the backend's back: for tests that
    /// set up what the counting rules would never write, on SQL backends.
    pub fn execute(&self, sql: &str) {
        match &self.keeper {
            Keeper::Sqlite { path, .. } => rusqlite::Connection::open(path).unwrap().execute_batch(sql).unwrap(),
            Keeper::Postgres(scratch) => scratch.execute(sql),
            Keeper::Mongo(_) => panic!("MongoDB runs no SQL: use TestDb::raw with the same change as a command"),
        }
    }

    /// The same change behind the backend's back, as SQL or, on MongoDB,
    /// as database commands (`runCommand` documents in JSON, run in order).
    pub fn raw(&self, sql: &str, mongo: &[&str]) {
        match &self.keeper {
            Keeper::Mongo(scratch) => {
                for command in mongo {
                    scratch.command(command);
                }
            }
            _ => self.execute(sql),
        }
    }
}

/// Runs each named test function (taking a [`TestDb`]) on SQLite, on
/// PostgreSQL and on MongoDB, as `sqlite::name`, `postgres::name` and
/// `mongo::name`.
#[macro_export]
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test] fn $name() { super::$name($crate::suite::TestDb::sqlite()) })*
        }
        mod postgres {
            $(#[test] fn $name() { super::$name($crate::suite::TestDb::postgres()) })*
        }
        mod mongo {
            $(#[test] fn $name() { super::$name($crate::suite::TestDb::mongo()) })*
        }
    };
}
pub use crate::on_every_backend;

/// A human member of `guild_id` as events show them, for tests.
pub fn member_profile(guild_id: crate::domain::activity::Id, user: u64) -> crate::domain::MemberProfile {
    crate::domain::MemberProfile {
        guild_id,
        user_id: user,
        username: format!("u{user}"),
        display_name: format!("U{user}"),
        bot: false,
        avatar: None,
        joined_at_ms: Some(1_000),
    }
}
