//! Throwaway databases on a MongoDB server, for tests and benchmarks: each
//! gets a database name of its own, dropped when it is done with it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::Target;

/// The server tests use when `TALLY_TEST_MONGODB` does not name another:
/// the one `scripts/test` starts on 127.0.0.1:27017 (a one-node replica
/// set). Polled rather than streamed server monitoring: after an injected
/// "shutting down" or "stepped down" error, the driver's streaming monitor
/// took tens of seconds to see secantusdb as primary again; polling sees it
/// at the next check.
pub const DEFAULT_SERVER: &str = "mongodb://127.0.0.1:27017/?directConnection=true&serverMonitoringMode=poll";

/// A database created for one test and dropped when this is dropped.
pub struct ScratchDatabase {
    target: Target,
    url: String,
}

impl ScratchDatabase {
    /// A fresh database name on the test server. Panics, saying how to fix
    /// it, when the server cannot be reached: a test that needs MongoDB
    /// fails loudly rather than skipping.
    pub fn create() -> Self {
        Self::create_as(None)
    }

    /// As [`ScratchDatabase::create`], with `appName=app` in [`Self::url`]:
    /// a test arms MongoDB's `failCommand` for that name, and only the bot
    /// it starts meets the faults, never the tests beside it.
    pub fn create_for_app(app: &str) -> Self {
        Self::create_as(Some(app))
    }

    fn create_as(app: Option<&str>) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let server = std::env::var("TALLY_TEST_MONGODB").unwrap_or_else(|_| DEFAULT_SERVER.to_owned());
        let base = Target::parse(&server).expect("TALLY_TEST_MONGODB is a MongoDB URL");
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
        let name =
            format!("tally_test_{}_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed), nanos % 1_000_000);
        let target = base.with_database(&name);
        let reached = off_thread(|| {
            let connection = target.connect()?;
            connection.database.run_command(mongodb::bson::doc! { "ping": 1 }).run()?;
            Ok::<_, crate::StoreError>(())
        });
        if let Err(error) = reached {
            panic!(
                "these tests need MongoDB at {server} ({error}); run scripts/test, which starts a \
                 MongoDB-compatible server, or set TALLY_TEST_MONGODB to a replica set"
            )
        }
        let url = match app {
            Some(app) if target.url.contains('?') => format!("{}&appName={app}", target.url),
            Some(app) => format!("{}?appName={app}", target.url),
            None => target.url.clone(),
        };
        Self { target, url }
    }

    /// Its `DATABASE_URL`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Runs a database command on it (MongoDB's `runCommand`, given as
    /// JSON), for a test that sets up or inspects what the backend's own
    /// writes would not. Returns the server's reply as JSON.
    pub fn command(&self, json: &str) -> serde_json::Value {
        let value: serde_json::Value = serde_json::from_str(json).expect("a command as JSON");
        // Documents take Tally's 64-bit integers.
        self.run(to_longs(mongodb::bson::to_document(&value).expect("a JSON object")))
    }

    /// Runs `command` as it is and returns the reply as JSON.
    fn run(&self, command: mongodb::bson::Document) -> serde_json::Value {
        off_thread(|| {
            let connection = self.target.connect().expect("connect to the scratch database");
            let reply = connection.database.run_command(command).run().expect("the command runs");
            serde_json::to_value(reply).expect("a reply as JSON")
        })
    }

    /// Arms MongoDB's `failCommand` fail point: the next `times` commands
    /// that `data` names, from clients named `app` only, fail as `data`
    /// says. A server has one such fail point, so the tests of a process
    /// take turns at it: arming waits while another test holds it, and
    /// dropping what this returns turns it off.
    pub fn fail_commands(&self, app: &str, times: u32, mut data: serde_json::Value) -> FailPoint {
        static TURN: Mutex<()> = Mutex::new(());
        let turn = TURN.lock().unwrap_or_else(PoisonError::into_inner);
        data["appName"] = serde_json::json!(app);
        let arm = serde_json::json!({ "configureFailPoint": "failCommand", "mode": { "times": times }, "data": data });
        // As JSON gives them: the fail point takes the 32-bit integers
        // MongoDB's own commands expect.
        self.run(mongodb::bson::to_document(&arm).expect("a fail point as a document"));
        FailPoint { target: self.target.clone(), _turn: turn }
    }
}

/// An armed `failCommand` fail point ([`ScratchDatabase::fail_commands`]),
/// turned off when dropped.
pub struct FailPoint {
    target: Target,
    _turn: MutexGuard<'static, ()>,
}

impl Drop for FailPoint {
    fn drop(&mut self) {
        off_thread(|| {
            let off = mongodb::bson::doc! { "configureFailPoint": "failCommand", "mode": "off" };
            let turned_off = self.target.connect().and_then(|c| Ok(c.database.run_command(off).run()?));
            // A test that is already failing may have lost the server; any other must not go on armed.
            if let Err(error) = turned_off {
                assert!(std::thread::panicking(), "the fail point did not turn off: {error}");
            }
        });
    }
}

/// JSON numbers become 64-bit integers, as Tally stores every integer.
fn to_longs(document: mongodb::bson::Document) -> mongodb::bson::Document {
    use mongodb::bson::Bson;
    fn walk(value: Bson) -> Bson {
        match value {
            Bson::Int32(i) => Bson::Int64(i64::from(i)),
            Bson::Document(d) => Bson::Document(to_longs(d)),
            Bson::Array(a) => Bson::Array(a.into_iter().map(walk).collect()),
            other => other,
        }
    }
    document.into_iter().map(|(k, v)| (k, walk(v))).collect()
}

impl Drop for ScratchDatabase {
    /// Empties every collection in a transaction first, waiting out any
    /// transaction a killed bot left open (the server ends those after a
    /// minute), then drops the database. Dropping at once would meet those
    /// transactions' documents inside the server instead, where
    /// secantusdb waits for them while holding up every other client.
    fn drop(&mut self) {
        off_thread(|| {
            let Ok(connection) = self.target.connect() else { return };
            let Ok(names) = connection.database.list_collection_names().run() else { return };
            let emptied = super::patient_transaction(&connection, |session| {
                for name in &names {
                    connection.collection(name).delete_many(mongodb::bson::doc! {}).session(&mut *session).run()?;
                }
                Ok(())
            });
            if emptied.is_ok() {
                let _ = connection.database.drop().run();
            }
        });
    }
}

/// Runs `work` on a thread of its own: the blocking client may not run on
/// an async runtime's threads.
fn off_thread<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| scope.spawn(work).join().expect("scratch database thread"))
}
