//! What only the PostgreSQL backend has: URLs, TLS, and connections that
//! break. The storage suite runs here too (`store::suite`).

use super::scratch::ScratchDatabase;
use super::*;

#[test]
fn urls_say_what_they_mean() {
    let target = Target::parse("postgres://tally:secret@db.example:6543/counts?sslmode=verify-full").unwrap();
    assert_eq!(target.ssl, SslMode::VerifyFull);
    assert_eq!(target.database(), "counts");
    let shown = target.to_string();
    assert_eq!(shown, "PostgreSQL database counts on db.example:6543 as tally");
    assert!(!format!("{target:?}").contains("secret"), "the password is never shown");
    assert_eq!(Target::parse("postgresql://u@h/d").unwrap().ssl, SslMode::Prefer, "libpq's default");
    let bad = Target::parse("postgres://u@h/d?sslmode=maybe").unwrap_err().to_string();
    assert!(bad.contains("sslmode=maybe"), "{bad}");
    let root = Target::parse("postgres://u@h/d?sslmode=verify-ca&sslrootcert=/etc/ca.pem&application_name=x").unwrap();
    assert_eq!(root.root_cert.as_deref(), Some(std::path::Path::new("/etc/ca.pem")));
}

fn scratch_target(scratch: &ScratchDatabase, sslmode: &str) -> Target {
    let base = scratch.url().split('?').next().unwrap().to_owned();
    Target::parse(&format!("{base}?sslmode={sslmode}")).unwrap()
}

/// `require` encrypts (the server here has Debian's self-signed
/// certificate); `verify-full` refuses a certificate no trusted authority
/// signed, for good rather than as a passing failure.
#[test]
fn tls_encrypts_and_checks_as_asked() {
    let scratch = ScratchDatabase::create();
    let mut client = scratch_target(&scratch, "require").connect().expect("TLS with sslmode=require");
    let encrypted: bool =
        client.query_one("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[]).unwrap().get(0);
    assert!(encrypted, "sslmode=require must encrypt");
    let mut plain = scratch_target(&scratch, "disable").connect().unwrap();
    let encrypted: bool =
        plain.query_one("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[]).unwrap().get(0);
    assert!(!encrypted, "sslmode=disable must not");
    let Err(refused) = scratch_target(&scratch, "verify-full").connect() else {
        panic!("a self-signed certificate passed verify-full");
    };
    assert!(!refused.is_transient(), "an untrusted certificate is not worth retrying: {refused}");
}

/// A connection the server drops is a passing failure, and the writer's
/// next transaction runs on a new connection; a wrong statement is not.
#[test]
fn a_dropped_connection_is_retried_and_a_bad_statement_is_not() {
    let scratch = ScratchDatabase::create();
    let target = Target::parse(scratch.url()).unwrap();
    let mut writer = open_writer(&target).unwrap();
    let pid: i32 = writer.client().unwrap().query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
    scratch.execute(&format!("SELECT pg_terminate_backend({pid})"));
    let dropped = writer.positions().unwrap_err();
    assert!(dropped.is_transient(), "{dropped}");
    assert_eq!(writer.positions().unwrap(), [], "the next call reconnects");
    let bad = writer.client().unwrap().batch_execute("SELEC 1").map_err(StoreError::from).unwrap_err();
    assert!(!bad.is_transient(), "{bad}");
    assert!(bad.to_string().contains("syntax error"), "the server's own message is shown: {bad}");
}

/// A server that is not there at all: a passing failure, said plainly.
#[test]
fn an_unreachable_server_is_a_passing_failure() {
    let target = Target::parse("postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=2").unwrap();
    let Err(error) = target.connect() else { panic!("connected to port 1") };
    assert!(error.is_transient(), "{error}");
    assert!(error.to_string().contains("error connecting to server"), "{error}");
}

fn position(sequence: u64) -> ShardPosition {
    ShardPosition {
        shard_id: 0,
        shard_count: 1,
        session_id: "s".into(),
        sequence,
        resume_url: "wss://gateway".into(),
        committed_at_ms: 0,
    }
}

/// A transaction that is saving a shard's position (as one whose process
/// was killed after sending COMMIT is, on the server) holds the reading of
/// positions until it ends, so a process starting then resumes from what it
/// commits, not from before it.
#[test]
fn reading_positions_waits_for_a_commit_in_flight() {
    let scratch = ScratchDatabase::create();
    let target = Target::parse(scratch.url()).unwrap();
    let mut writer = open_writer(&target).unwrap();
    writer.transaction(|ops| ops.save_positions(&[position(10)])).unwrap();
    let reader = PgReader::open(&target, 1).unwrap();
    let mut watcher = target.connect().unwrap();

    let (saved_tx, saved) = std::sync::mpsc::channel();
    let (go_tx, go) = std::sync::mpsc::channel::<()>();
    std::thread::scope(|scope| {
        let committing = scope.spawn(move || {
            writer
                .transaction(|ops| {
                    ops.save_positions(&[position(20)])?;
                    saved_tx.send(()).unwrap();
                    go.recv().unwrap();
                    Ok(())
                })
                .unwrap()
        });
        saved.recv().unwrap();
        let reading = scope.spawn(|| crate::Reader::positions(&reader).unwrap());
        // Wait until the read is blocked on the position lock, then let the
        // save commit (whatever was seen, so no thread is left waiting).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let blocked = loop {
            let waiting: i64 = watcher
                .query_one("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted", &[])
                .unwrap()
                .get(0);
            if waiting > 0 {
                break Ok(());
            }
            if reading.is_finished() {
                break Err("the read did not wait for the save in flight");
            }
            if std::time::Instant::now() > deadline {
                break Err("the read never waited on the position lock");
            }
            std::thread::yield_now();
        };
        go_tx.send(()).unwrap();
        committing.join().unwrap();
        blocked.unwrap();
        assert_eq!(reading.join().unwrap(), [position(20)], "the read sees the commit it waited for");
    });
}
