//! `tally copy` at the store level: every table and column is covered, odd
//! values survive SQLite → PostgreSQL → SQLite, a non-empty target is
//! refused, and a copy that fails part-way leaves the target as it was.

use super::{CopyError, TableSum, TABLES};
use crate::suite::{on_every_backend, TestDb};

/// One row in every table, with the values most likely to be bent on the
/// way: the largest snowflake, negatives, NULLs, text beyond ASCII, quotes.
const ODD_ROWS: &str = "
    INSERT INTO guilds VALUES (9223372036854775807, 'Café ☕ ''quoted''', 1, 2, 0, true, NULL, NULL, NULL);
    INSERT INTO guilds VALUES (2, '', 15, 25, 60, false, 1234567890123456789, '{\"curve\":{\"a\":0,\"b\":1,\"c\":2}}', -7);
    INSERT INTO members VALUES (2, 3, 'ünïcødé', '🦀 Crab', true, 1, 2, 3, -4, NULL, 0, NULL, 5, NULL, true, false);
    INSERT INTO members VALUES (2, 4, 'b', 'B', false, 9223372036854775807, 0, 0, 100, 1700000000000, 1600000000000, 1800000000000, 0, 'a_1f2e', false, true);
    INSERT INTO membership_log VALUES (2, 3, 'join', 0), (2, 3, 'leave', -1);
    INSERT INTO counted_reactions VALUES (5, 3, '<:tally:123>', 2, 4, NULL), (5, 3, '👍', 2, 4, 19700);
    INSERT INTO shard_positions VALUES (0, 1, 'session', 42, 'wss://gateway.example', 1700000000000);
    INSERT INTO card_prefs VALUES (3, 16777215);
    INSERT INTO guild_days VALUES (2, 19700, 1, 2, 3, 4, 5, 6);
    INSERT INTO member_days VALUES (2, 19700, 3, 1, 2, 3, 4, 5);
    INSERT INTO voice_sessions VALUES (2, 3, 1700000000000, NULL, false, NULL), (2, 4, 1, 9223372036854775807, true, -1);
    INSERT INTO xp_audit VALUES (2, 9, 3, 1700000000000, 4, 'add', 9223372036854775807, 0, 9223372036854775807), (2, 10, 0, -1, 4, 'reset-server', 0, 12, 0);
    INSERT INTO log_posts VALUES (2, 3, 'leave', 5, 7, NULL, NULL), (2, 3, 'join', -5, 9223372036854775807, 1, 2);
    INSERT INTO admin_requests VALUES (7, 2, 'import', 'abc', '{\"rows\":[]}', 1, 2, NULL);
    INSERT INTO reward_queue VALUES (2, 3, 1700000000000);
    INSERT INTO reward_sweeps VALUES (2, -1, 9223372036854775807);
    INSERT INTO reward_problems VALUES (2, 9223372036854775807, -5);
    INSERT INTO member_prefs VALUES (2, 3, false), (2, 4, true);
    INSERT INTO levelups VALUES (2, 3, 7, 5, 1234, NULL, 1700000000000, NULL), (2, 4, 1, 0, 100, 9223372036854775807, 1, 2);
";

fn sums(db: &TestDb) -> Vec<(&'static str, TableSum)> {
    db.database.table_sums().unwrap()
}

fn no_progress(_: super::Progress) {}

fn every_table_and_column_is_copied(db: TestDb) {
    db.database.check_copy_schema().expect("tally copy moves every table and column of the schema");
}

fn a_table_the_copy_does_not_know_is_refused(db: TestDb) {
    db.raw("CREATE TABLE member_notes (guild_id BIGINT, note TEXT)", &[r#"{"create": "member_notes"}"#]);
    let error = db.database.check_copy_schema().unwrap_err();
    assert!(error.to_string().contains("member_notes"), "{error}");
}

on_every_backend!(every_table_and_column_is_copied, a_table_the_copy_does_not_know_is_refused);

#[test]
fn odd_values_go_to_postgres_and_back_unchanged() {
    let source = TestDb::sqlite();
    source.execute(ODD_ROWS);
    let before = sums(&source);
    assert!(before.iter().all(|(_, sum)| sum.rows > 0), "the fixture fills every table: {before:?}");
    assert_eq!(before.len(), TABLES.len());

    let middle = TestDb::postgres();
    let report = source.database.copy_to(&middle.database, false, &mut no_progress).unwrap();
    assert_eq!(report.tables, before);
    assert_eq!(sums(&middle), before);

    let back = TestDb::sqlite();
    back.database.check_copy_schema().unwrap();
    middle.database.copy_to(&back.database, false, &mut no_progress).unwrap();
    assert_eq!(sums(&back), before);
    for guild in [2, 9223372036854775807] {
        assert_eq!(back.reader.all_members(guild).unwrap(), source.reader.all_members(guild).unwrap());
        assert_eq!(middle.reader.guild(guild).unwrap(), source.reader.guild(guild).unwrap());
    }
}

#[test]
fn odd_values_go_to_mongodb_and_back_unchanged() {
    let source = TestDb::sqlite();
    source.execute(ODD_ROWS);
    let before = sums(&source);
    let middle = TestDb::mongo();
    let report = source.database.copy_to(&middle.database, false, &mut no_progress).unwrap();
    assert_eq!(report.tables, before);
    assert_eq!(sums(&middle), before);
    let back = TestDb::postgres();
    middle.database.copy_to(&back.database, false, &mut no_progress).unwrap();
    assert_eq!(sums(&back), before);
    for guild in [2, 9223372036854775807] {
        assert_eq!(middle.reader.all_members(guild).unwrap(), source.reader.all_members(guild).unwrap());
        assert_eq!(middle.reader.guild(guild).unwrap(), source.reader.guild(guild).unwrap());
    }
}

/// MongoDB refuses the copy's first write (MongoDB's `failCommand`, for
/// this test's connection only) after `--replace` emptied the target in the
/// same transaction: the target keeps its row.
#[test]
fn a_failed_copy_into_mongodb_leaves_the_target_as_it_was() {
    let source = TestDb::sqlite();
    source.execute(ODD_ROWS);
    let app = format!("tally-copy-{}", std::process::id());
    let scratch = crate::mongo::scratch::ScratchDatabase::create_for_app(&app);
    let target = crate::Database::from_url(scratch.url()).unwrap();
    drop(target.open_writer().unwrap()); // creates the collections
    target.set_card_accent(77, Some(1)).unwrap();
    let kept = target.table_sums().unwrap();
    let armed = scratch.fail_commands(&app, 1, serde_json::json!({ "failCommands": ["bulkWrite"], "errorCode": 2 }));
    let error = source.database.copy_to(&target, true, &mut no_progress).unwrap_err();
    drop(armed);
    assert!(matches!(error, CopyError::Store(_)), "{error}");
    assert_eq!(target.table_sums().unwrap(), kept, "nothing of the failed copy is left, and nothing was emptied");
}

#[test]
fn the_checksum_sees_one_changed_value() {
    let a = TestDb::sqlite();
    let b = TestDb::sqlite();
    a.execute(ODD_ROWS);
    b.execute(ODD_ROWS);
    assert_eq!(sums(&a), sums(&b));
    b.execute("UPDATE member_days SET voice_ms = voice_ms + 1");
    let (sa, sb) = (sums(&a), sums(&b));
    let differing: Vec<_> = sa.iter().zip(&sb).filter(|(x, y)| x != y).map(|(x, _)| x.0).collect();
    assert_eq!(differing, ["member_days"]);
}

#[test]
fn a_target_with_rows_is_refused_and_kept() {
    let source = TestDb::sqlite();
    source.execute(ODD_ROWS);
    let target = TestDb::postgres();
    target.execute("INSERT INTO card_prefs VALUES (77, 1)");
    let kept = sums(&target);
    let error = source.database.copy_to(&target.database, false, &mut no_progress).unwrap_err();
    assert!(matches!(error, CopyError::TargetNotEmpty { rows: 1, .. }), "{error}");
    assert!(error.to_string().contains("--replace"), "{error}");
    assert_eq!(sums(&target), kept);

    source.database.copy_to(&target.database, true, &mut no_progress).unwrap();
    assert_eq!(sums(&target), sums(&source), "--replace leaves exactly the source's rows");
}

#[test]
fn a_copy_that_fails_part_way_leaves_the_target_as_it_was() {
    let source = TestDb::sqlite();
    source.execute(ODD_ROWS);
    // PostgreSQL's shard ids are 32-bit: this row, in the fifth table, fails
    // after four tables have gone in.
    source.execute("INSERT INTO shard_positions VALUES (4294967296, 1, 's', 1, 'u', 0)");
    let target = TestDb::postgres();
    target.execute("INSERT INTO card_prefs VALUES (77, 1)");
    let kept = sums(&target);
    let error = source.database.copy_to(&target.database, true, &mut no_progress).unwrap_err();
    assert!(matches!(error, CopyError::Store(_)), "{error}");
    assert_eq!(sums(&target), kept, "nothing of the failed copy is left, and nothing was emptied");
}

#[test]
fn progress_reaches_every_row_in_both_steps() {
    let source = TestDb::sqlite();
    source.execute(ODD_ROWS);
    let target = TestDb::sqlite();
    let mut seen = Vec::new();
    let report = source.database.copy_to(&target.database, false, &mut |p| seen.push(p)).unwrap();
    let last_of = |step| seen.iter().rev().find(|p| p.step == step).copied().unwrap();
    for step in [super::Step::Copying, super::Step::Checking] {
        let last = last_of(step);
        assert_eq!((last.done, last.total), (report.rows(), report.rows()), "{step:?}");
    }
}

#[test]
fn the_same_database_is_refused() {
    let db = TestDb::sqlite();
    let error = db.database.copy_to(&db.database.clone(), true, &mut no_progress).unwrap_err();
    assert!(matches!(error, CopyError::SameDatabase(_)), "{error}");
}
