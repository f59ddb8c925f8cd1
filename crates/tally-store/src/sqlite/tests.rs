use super::*;

/// A database from before day buckets gets its days' joins and leaves
/// from the membership log when it is opened.
#[test]
fn upgrading_fills_days_from_the_membership_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        let conn = Connection::open(&path).unwrap();
        for sql in &migrations::SQLITE[..3] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 3).unwrap();
        let day = 86_400_000_i64;
        for (user, change, at) in [(1, "join", 5 * day + 1), (2, "join", 5 * day + 2), (1, "leave", 7 * day)] {
            conn.execute(
                "INSERT INTO membership_log (guild_id, user_id, change, at) VALUES (9, ?1, ?2, ?3)",
                params![user, change, at],
            )
            .unwrap();
        }
    }
    drop(open_writer(&path).unwrap());
    let days = open_reader(&path).unwrap().guild_days(9, 0, 100).unwrap();
    assert_eq!(
        days,
        [GuildDay { day: 5, joins: 2, ..GuildDay::default() }, GuildDay { day: 7, leaves: 1, ..GuildDay::default() }]
    );
}

/// A database from the first release with days (version 5) opens with
/// its counts intact: new columns start empty, and a reaction counted
/// back then can still be taken back.
#[test]
fn a_version_5_database_upgrades_with_its_counts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v5.db");
    {
        let conn = Connection::open(&path).unwrap();
        for sql in &migrations::SQLITE[..5] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 5).unwrap();
        conn.execute_batch(
            "INSERT INTO members (guild_id, user_id, username, messages, reactions_given, xp)
                 VALUES (9, 1, 'ann', 3, 1, 40), (9, 2, 'bob', 1, 0, 20);
             UPDATE members SET reactions_received = 1 WHERE user_id = 2;
             INSERT INTO counted_reactions (message_id, user_id, emoji, guild_id, author_id)
                 VALUES (77, 1, 'x', 9, 2);
             INSERT INTO shard_positions VALUES (0, 1, 'old', 42, 'ws://old');",
        )
        .unwrap();
    }
    let mut writer = open_writer(&path).unwrap();
    let reader = open_reader(&path).unwrap();
    let ann = reader.member(9, 1).unwrap().unwrap();
    assert_eq!((ann.messages, ann.xp, ann.voice_ms, ann.avatar), (3, 40, 0, None));
    let position = &reader.positions().unwrap()[0];
    assert_eq!((position.sequence, position.committed_at_ms), (42, 0), "the resume position survives");
    // A reaction counted back then reads back whole, so the counting
    // rules can take it back: who reacted, whose message, and no day (so
    // no day loses it).
    let key = ReactionKey { message_id: 77, user_id: 1, emoji: "x".into() };
    let found = writer.transaction(|ops| ops.counted_reactions(&[&key], &[])).unwrap();
    assert_eq!(found.len(), 1);
    let (stored_key, stored) = &found[0];
    assert_eq!(stored_key, &key);
    assert_eq!((stored.guild_id, stored.counted.reactor, stored.counted.author, stored.counted.day), (9, 1, 2, None));
}

/// With several connections, a read goes ahead while another holds a
/// connection (as a large board's build does for a while).
#[test]
fn readers_read_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    drop(open_writer(&path).unwrap());
    let readers = std::sync::Arc::new(open_readers(&path, 2).unwrap());
    let held = readers.connection();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let other = std::sync::Arc::clone(&readers);
    std::thread::spawn(move || done_tx.send(other.guild(1).map(|g| g.is_none())).unwrap());
    let answered = done_rx.recv_timeout(std::time::Duration::from_secs(10));
    assert!(matches!(answered, Ok(Ok(true))), "the second read did not wait for the first: {answered:?}");
    drop(held);
}

/// A URL Tally cannot use is named in the error without its password.
#[test]
fn an_unsupported_url_is_shown_without_its_password() {
    let error = path_from_url("mysql://admin:hunter2@db.example/tally").unwrap_err().to_string();
    assert!(!error.contains("hunter2") && !error.contains("admin"), "{error}");
    assert!(error.contains("mysql://…@db.example/tally"), "{error}");
    assert!(path_from_url("tally.db").unwrap_err().to_string().contains("\"tally.db\""));
}

/// Another connection's short write while a batch is open never fails the
/// batch: the ledger's transaction holds the write lock from its start, so
/// the other write waits its turn (busy timeout) instead of slipping in
/// between the batch's reads and its writes, which SQLite answers with an
/// immediate "database is locked" that no timeout can wait out.
#[test]
fn a_write_beside_an_open_batch_waits_instead_of_failing_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let mut writer = open_writer(&path).unwrap();
    let (committed_tx, committed_rx) = std::sync::mpsc::channel();
    let other = {
        let path = path.clone();
        move || {
            use crate::backend::Backend;
            SqliteFile { path }.set_web_public(9, true).unwrap();
            committed_tx.send(()).unwrap();
        }
    };
    let mut other = Some(other);
    let mut side = None;
    writer
        .transaction(|ops| {
            ops.guild_rules(&[9])?; // the batch reads first, as every batch does
            side = Some(std::thread::spawn(other.take().unwrap()));
            // The other write cannot commit while the batch is open.
            let slipped_in = committed_rx.recv_timeout(std::time::Duration::from_millis(300)).is_ok();
            assert!(!slipped_in, "another connection committed inside the batch");
            let position = ShardPosition {
                shard_id: 0,
                shard_count: 1,
                session_id: "s".into(),
                sequence: 1,
                resume_url: String::new(),
                committed_at_ms: 0,
            };
            ops.save_positions(&[position])
        })
        .expect("the batch commits");
    side.unwrap().join().unwrap();
    committed_rx.recv().expect("the other write commits after the batch");
}
