//! Imports in the ledger, on both backends: a stored request applies once
//! however often it comes; modes merge as named; bots and members who
//! stopped counting are skipped.

use super::testing::ApplyNow;
use crate::domain::import::{ImportMode, ImportRow};
use crate::domain::privacy::PrivacyChange;
use crate::domain::{Activity, MemberProfile};
use crate::store::suite::{member_profile, on_every_backend, TestDb};

fn row(user_id: u64, xp: u64, messages: Option<u64>) -> ImportRow {
    ImportRow { user_id, xp, messages, ..ImportRow::default() }
}

/// Stores a request as `tally import` does and returns its id.
fn stored(db: &TestDb, digest: &str) -> u64 {
    db.database.submit_requests(1, "import", &[(digest.to_owned(), "{}".to_owned())]).unwrap()[0].id
}

fn import(rows: Vec<ImportRow>, mode: ImportMode, request_id: u64) -> Activity {
    Activity::Import { guild_id: 1, rows, mode, request_id }
}

fn xp_and_messages(db: &TestDb, user: u64) -> (u64, u64) {
    let m = db.reader.member(1, user).unwrap().expect("stored");
    (m.xp, m.messages)
}

fn a_request_applies_once_and_modes_merge(mut db: TestDb) {
    let first = stored(&db, "a");
    let rows = vec![row(5, 500, Some(10)), row(6, 50, None)];
    db.apply(&[import(rows.clone(), ImportMode::Max, first)]);
    db.apply(&[import(rows, ImportMode::Max, first)]);
    assert_eq!(xp_and_messages(&db, 5), (500, 10));
    assert_eq!(xp_and_messages(&db, 6), (50, 0));
    let states = db.database.request_states(&[first]).unwrap();
    assert!(states[0].done_at_ms.is_some());

    let add = stored(&db, "b");
    db.apply(&[
        import(vec![row(5, 1, Some(2))], ImportMode::Add, add),
        import(vec![row(5, 1, Some(2))], ImportMode::Add, add),
    ]);
    assert_eq!(xp_and_messages(&db, 5), (501, 12), "added once, though it came twice in one batch");
    let replace = stored(&db, "c");
    db.apply(&[import(vec![row(5, 20, Some(1))], ImportMode::Replace, replace)]);
    assert_eq!(xp_and_messages(&db, 5), (20, 1));
}

fn bots_and_stopped_members_are_skipped(mut db: TestDb) {
    let bot = MemberProfile { bot: true, ..member_profile(1, 7) };
    db.apply(&[
        Activity::MemberSeen(bot),
        Activity::Privacy { guild_id: 1, user_id: 8, change: PrivacyChange::Stop, at_ms: 0 },
    ]);
    let id = stored(&db, "d");
    db.apply(&[import(vec![row(7, 900, None), row(8, 900, None), row(9, 900, None)], ImportMode::Max, id)]);
    assert_eq!(xp_and_messages(&db, 7).0, 0, "a bot");
    assert_eq!(xp_and_messages(&db, 8).0, 0, "stopped counting");
    assert_eq!(xp_and_messages(&db, 9).0, 900);
}

on_every_backend!(a_request_applies_once_and_modes_merge, bots_and_stopped_members_are_skipped);
