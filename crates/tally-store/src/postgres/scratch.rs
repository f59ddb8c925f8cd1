//! Throwaway databases on a PostgreSQL server, for tests and benchmarks:
//! each gets a database of its own, dropped when it is done with it. Usable
//! from async tests too: the blocking client runs on a thread of its own.

use std::sync::atomic::{AtomicU64, Ordering};

use super::Target;

/// The server tests use when `TALLY_TEST_POSTGRES` does not name another:
/// the one these machines run on 127.0.0.1:5432 (`scripts/test` starts it).
pub const DEFAULT_SERVER: &str = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable";

/// A database created for one test and dropped (with every connection to
/// it) when this is dropped.
pub struct ScratchDatabase {
    admin: Target,
    name: String,
    url: String,
}

impl ScratchDatabase {
    /// Creates a fresh, empty database. Panics, saying how to fix it, when
    /// the server cannot be reached: a test that needs PostgreSQL fails
    /// loudly rather than skipping.
    pub fn create() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let server = std::env::var("TALLY_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_SERVER.to_owned());
        let admin = Target::parse(&server).expect("TALLY_TEST_POSTGRES is a PostgreSQL URL");
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
        let name =
            format!("tally_test_{}_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed), nanos % 1_000_000);
        let created = off_thread(|| {
            let mut client = admin.connect()?;
            client.batch_execute(&format!("CREATE DATABASE {name}"))?;
            Ok::<_, super::StoreError>(())
        });
        if let Err(error) = created {
            panic!(
                "these tests need PostgreSQL at {admin} ({error}); run scripts/test, which starts it, \
                 or set TALLY_TEST_POSTGRES to a server where databases may be created"
            )
        }
        let (base, query) = server.split_once('?').unwrap_or((&server, ""));
        let base = base.rsplit_once('/').map_or(base, |(server, _)| server);
        let url = if query.is_empty() { format!("{base}/{name}") } else { format!("{base}/{name}?{query}") };
        Self { admin, name, url }
    }

    /// Its `DATABASE_URL`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Its name on the server.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs SQL on it directly, for a test that sets up or inspects what the
    /// backend's own statements would not.
    pub fn execute(&self, sql: &str) {
        let target = self.admin.with_database(&self.name);
        off_thread(|| {
            let mut client = target.connect().expect("connect to the scratch database");
            client.batch_execute(sql).expect("scratch SQL runs");
        });
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        off_thread(|| {
            if let Ok(mut client) = self.admin.connect() {
                let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
            }
        });
    }
}

/// Runs `work` on a thread of its own: the blocking client may not run on
/// an async runtime's threads.
fn off_thread<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| scope.spawn(work).join().expect("scratch database thread"))
}
