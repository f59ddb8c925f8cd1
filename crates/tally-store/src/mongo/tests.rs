//! MongoDB-only tests: URLs, the standalone refusal, errors sorted into
//! passing and permanent from the server's own replies (MongoDB's
//! `failCommand` fail point), and the fence that makes a read of the shard
//! positions wait for a transaction still saving them.

use std::time::Duration;

use mongodb::bson::doc;

use super::scratch::ScratchDatabase;
use super::{fenced_positions, in_transaction, Target};
use crate::{Database, StoreError};

#[test]
fn urls_name_the_database_and_never_show_the_password() {
    let target = Target::parse("mongodb://tally:s3cret@db1:27017,db2:27017/levels?replicaSet=rs0").unwrap();
    assert_eq!(target.database(), "levels");
    let shown = target.to_string();
    assert_eq!(shown, "MongoDB database levels on db1:27017,db2:27017 as tally");
    assert!(!format!("{target:?}").contains("s3cret"));
    assert_eq!(Target::parse("mongodb://localhost").unwrap().database(), "tally", "the default database");
    let other = target.with_database("copy");
    assert_eq!(other.url, "mongodb://tally:s3cret@db1:27017,db2:27017/copy?replicaSet=rs0");
    assert!(!other.same_database(&target) && target.same_database(&target.clone()));
    let srv = Target::parse("mongodb+srv://u:p@cluster0.example.net/tally?retryWrites=true").unwrap();
    assert_eq!(srv.to_string(), "MongoDB database tally on cluster0.example.net as u");
    let error = Database::from_url("mongodb://host:notaport/x").unwrap_err();
    assert!(matches!(error, StoreError::BadUrl(_)), "{error}");
}

/// A port nobody listens on yet.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A standalone server (no replica set) is refused at once, with how to
/// make it one, and never waited for as if it might come up.
#[test]
fn a_standalone_server_is_refused_with_how_to_fix_it() {
    let server = std::env::var("TALLY_TEST_SECANTUSD").unwrap_or_else(|_| {
        panic!("TALLY_TEST_SECANTUSD must name secantusd-py (scripts/test installs it and sets it)")
    });
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = std::process::Command::new(server)
        .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--standalone", "--log-level", "ERROR"])
        .arg("--storage-path")
        .arg(data.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("secantusd-py starts");
    let url = format!("mongodb://127.0.0.1:{port}/tally?directConnection=true");
    let database = Database::from_url(&url).unwrap();
    let started = std::time::Instant::now();
    let outcome = loop {
        match database.open_writer() {
            // Not up yet: open_writer waits for a server that cannot be reached.
            Err(error) if error.is_transient() && started.elapsed() < Duration::from_secs(30) => continue,
            other => break other,
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    let error = outcome.err().expect("a standalone server is refused");
    assert!(matches!(error, StoreError::Refused(_)), "{error}");
    assert!(!error.is_transient());
    let text = error.to_string();
    assert!(text.contains("standalone") && text.contains("--replSet") && text.contains("rs.initiate()"), "{text}");
}

fn connection_as(scratch: &ScratchDatabase, app: &str) -> super::Connection {
    let url = format!("{}&appName={app}", scratch.url());
    Target::parse(&url).unwrap().connect().unwrap()
}

#[test]
fn server_errors_are_sorted_into_passing_and_permanent() {
    let scratch = ScratchDatabase::create();
    let app = format!("tally-sort-{}", std::process::id());
    let connection = connection_as(&scratch, &app);
    let notes = connection.collection("notes");
    notes
        .create_index(
            mongodb::IndexModel::builder()
                .keys(doc! { "k": 1 })
                .options(mongodb::options::IndexOptions::builder().unique(true).build())
                .build(),
        )
        .run()
        .unwrap();
    let next = std::sync::atomic::AtomicI64::new(0);
    let attempt = || {
        let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        notes.insert_one(doc! { "k": k }).run().map(drop).map_err(StoreError::from)
    };

    let armed = scratch.fail_commands(
        &app,
        1,
        serde_json::json!({ "failCommands": ["insert"], "errorCode": 112,
        "errorLabels": ["TransientTransactionError"] }),
    );
    let conflict = attempt().unwrap_err();
    assert!(conflict.is_transient(), "a write conflict passes: {conflict}");
    drop(armed);

    let armed =
        scratch.fail_commands(&app, 2, serde_json::json!({ "failCommands": ["insert"], "closeConnection": true }));
    let dropped = attempt().unwrap_err();
    assert!(dropped.is_transient(), "a dropped connection passes: {dropped}");
    drop(armed);

    let armed = scratch.fail_commands(
        &app,
        1,
        serde_json::json!({ "failCommands": ["insert"],
        "writeConcernError": { "code": 91, "errmsg": "Replication is being shut down" } }),
    );
    let shutting_down = attempt().unwrap_err();
    assert!(shutting_down.is_transient(), "a write concern error from a node going down passes: {shutting_down}");
    drop(armed);

    // The driver now takes the server for one going down, until it has
    // checked it again: passing errors, as the ledger would meet them.
    let started = std::time::Instant::now();
    loop {
        match attempt() {
            Err(error) if error.is_transient() && started.elapsed() < Duration::from_secs(60) => {
                std::thread::sleep(Duration::from_millis(200))
            }
            other => break other.unwrap(),
        }
    }
    let stored = next.load(std::sync::atomic::Ordering::Relaxed) - 1;
    let duplicate = notes.insert_one(doc! { "k": stored }).run().map_err(StoreError::from).unwrap_err();
    assert!(!duplicate.is_transient(), "a broken unique key stays broken: {duplicate}");

    let armed = scratch.fail_commands(&app, 1, serde_json::json!({ "failCommands": ["find"], "errorCode": 2 }));
    let bad = notes.find_one(doc! {}).run().map_err(StoreError::from).unwrap_err();
    drop(armed);
    assert!(!bad.is_transient(), "a bad value stays bad: {bad}");
    assert!(bad.to_string().starts_with("MongoDB: "), "{bad}");
}

/// A read of the positions waits for a transaction that has written one and
/// not yet committed, then sees what it committed.
#[test]
fn reading_positions_waits_for_a_save_in_flight() {
    let scratch = ScratchDatabase::create();
    let database = Database::from_url(scratch.url()).unwrap();
    let mut writer = database.open_writer().unwrap();
    let position = |sequence| crate::ShardPosition {
        shard_id: 0,
        shard_count: 1,
        session_id: "s".into(),
        sequence,
        resume_url: "wss://r".into(),
        committed_at_ms: 1,
    };
    writer.transaction(|ops| ops.save_positions(&[position(1)])).unwrap();
    let connection = Target::parse(scratch.url()).unwrap().connect().unwrap();
    let (saved, release) = (std::sync::mpsc::channel(), std::sync::mpsc::channel::<()>());
    let holder = {
        let connection = connection.clone();
        let saved = saved.0;
        let release = release.1;
        std::thread::spawn(move || {
            in_transaction(&connection, |session| {
                connection
                    .collection("shard_positions")
                    .update_one(doc! { "shard_id": 0_i64 }, doc! { "$set": { "sequence": 2_i64 } })
                    .session(&mut *session)
                    .run()?;
                saved.send(()).unwrap();
                release.recv().unwrap();
                Ok(())
            })
            .unwrap();
        })
    };
    saved.1.recv().unwrap();
    let reader = std::thread::spawn(move || fenced_positions(&connection).unwrap());
    std::thread::sleep(Duration::from_millis(300));
    assert!(!reader.is_finished(), "the read waits while the save is in flight");
    release.0.send(()).unwrap();
    holder.join().unwrap();
    let read = reader.join().unwrap();
    assert_eq!(read[0].sequence, 2, "and then sees the commit");
    assert_eq!(writer.positions().unwrap()[0].sequence, 2);
}
