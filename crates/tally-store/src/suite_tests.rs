//! The storage suite's own tests, run on every backend.

use crate::suite::{on_every_backend, TestDb};

/// Identify turns: one process at a time per bucket, per interval, on a
/// database several processes share. A SQLite file belongs to one process,
/// whose own identify queue paces its shards: the database never makes it
/// wait.
fn identify_turns_are_taken_one_at_a_time(db: TestDb) {
    use std::time::Duration;
    let every = Duration::from_millis(400);
    assert_eq!(db.database.take_identify_turn(0, every).unwrap(), None, "the first turn is free");
    if !db.database.is_shared() {
        assert_eq!(db.database.take_identify_turn(0, every).unwrap(), None, "one process: never a wait");
        return;
    }
    let wait = db.database.take_identify_turn(0, every).unwrap().expect("taken a moment ago");
    assert!(wait > Duration::ZERO && wait <= every, "{wait:?}");
    assert_eq!(db.database.take_identify_turn(1, every).unwrap(), None, "another bucket is free");
    std::thread::sleep(wait + Duration::from_millis(20));
    assert_eq!(db.database.take_identify_turn(0, every).unwrap(), None, "free again after the interval");
}

on_every_backend!(identify_turns_are_taken_one_at_a_time);
