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

/// The dashboard's sign-ins: a login is taken once and only while fresh; a
/// session is read until it expires, replaced in place, and ended once,
/// giving back what it held (its token, to revoke).
fn dashboard_logins_and_sessions_are_kept_as_documented(db: TestDb) {
    use crate::web_sessions::{PendingLogin, WebSession, LOGIN_MS};
    let db = &db.database;
    let login = |state: &str, at: i64| PendingLogin {
        state_hash: state.to_owned(),
        browser_hash: format!("browser-of-{state}"),
        verifier: format!("verifier-of-{state}"),
        return_to: "/dashboard".to_owned(),
        created_at_ms: at,
    };
    let now = 1_000_000_000;
    db.begin_login(&login("fresh", now)).unwrap();
    db.begin_login(&login("stale", now - LOGIN_MS - 1)).unwrap();
    assert_eq!(db.take_login("fresh", now + 5).unwrap(), Some(login("fresh", now)));
    assert_eq!(db.take_login("fresh", now + 5).unwrap(), None, "a login is taken once");
    assert_eq!(db.take_login("stale", now + 5).unwrap(), None, "too old");
    assert_eq!(db.take_login("unknown", now + 5).unwrap(), None);

    let session = WebSession {
        id_hash: "h1".to_owned(),
        user_id: u64::MAX - 7,
        user_name: "Ada".to_owned(),
        access_token: "access".to_owned(),
        refresh_token: "refresh".to_owned(),
        token_expires_at_ms: now + 604_800_000,
        guilds_json: r#"[{"id":"1"}]"#.to_owned(),
        guilds_read_at_ms: now,
        created_at_ms: now,
        expires_at_ms: now + 1_000,
    };
    db.save_web_session(&session).unwrap();
    assert_eq!(db.web_session("h1", now + 999).unwrap(), Some(session.clone()));
    assert_eq!(db.web_session("h1", now + 1_000).unwrap(), None, "expired");
    assert_eq!(db.web_session("h2", now).unwrap(), None);
    let renewed = WebSession { guilds_json: "[]".to_owned(), guilds_read_at_ms: now + 60, ..session.clone() };
    db.save_web_session(&renewed).unwrap();
    assert_eq!(db.web_session("h1", now + 61).unwrap(), Some(renewed.clone()), "replaced in place");
    // A session saved later sweeps the expired ones away.
    let later =
        WebSession { id_hash: "h2".to_owned(), created_at_ms: now + 5_000, expires_at_ms: now + 9_000, ..session };
    db.save_web_session(&later).unwrap();
    assert_eq!(db.end_web_session("h1").unwrap(), None, "swept when it expired");
    assert_eq!(db.end_web_session("h2").unwrap(), Some(later));
    assert_eq!(db.end_web_session("h2").unwrap(), None, "ended once");
    assert_eq!(db.web_session("h2", now + 5_001).unwrap(), None);
}

on_every_backend!(identify_turns_are_taken_one_at_a_time, dashboard_logins_and_sessions_are_kept_as_documented);
