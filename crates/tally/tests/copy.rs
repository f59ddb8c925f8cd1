//! `tally copy` as an admin runs it: the demo server's database moves from
//! SQLite to PostgreSQL (or MongoDB) and back, and every export of it is the
//! same on all three; a second copy onto the filled target is refused until
//! --replace.

mod harness;

use std::process::{Command, Output};

use tally::store::postgres::scratch::ScratchDatabase;

fn tally(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tally"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .output()
        .expect("tally runs")
}

fn succeeded(output: Output) -> String {
    assert!(output.status.success(), "tally failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

/// The per-table lines of a copy's report: name, rows, checksum.
fn table_lines(report: &str) -> Vec<&str> {
    report.lines().filter(|l| !l.starts_with("table") && !l.starts_with("copied")).collect()
}

fn csv(url: &str, guild: u64) -> String {
    succeeded(tally(&["export", "--guild", &guild.to_string(), "--format", "csv", "--database-url", url]))
}

#[test]
fn sqlite_to_postgres_and_back_gives_identical_exports() {
    let middle = ScratchDatabase::create();
    sqlite_to_a_server_and_back(middle.url());
}

#[test]
fn sqlite_to_mongodb_and_back_gives_identical_exports() {
    let middle = tally::store::mongo::scratch::ScratchDatabase::create();
    sqlite_to_a_server_and_back(middle.url());
}

fn sqlite_to_a_server_and_back(middle: &str) {
    let dir = tempfile::tempdir().unwrap();
    let source_path = dir.path().join("source.db");
    let source = format!("sqlite://{}", source_path.display());
    succeeded(tally(&[
        "demo",
        "--members",
        "150",
        "--seconds",
        "4",
        "--web-addr",
        "off",
        "--metrics-addr",
        "off",
        "--database-url",
        &source,
    ]));
    let guild: u64 = rusqlite::Connection::open(&source_path)
        .unwrap()
        .query_row("SELECT guild_id FROM guilds", [], |r| r.get::<_, i64>(0))
        .unwrap() as u64;
    tally::store::Database::from_url(&source).unwrap().set_card_accent(42, Some(0x3366ff)).unwrap();

    let there = succeeded(tally(&["copy", "--from", &source, "--to", middle]));
    let back = format!("sqlite://{}", dir.path().join("back.db").display());
    let home = succeeded(tally(&["copy", "--from", middle, "--to", &back]));

    let lines = table_lines(&there);
    assert_eq!(lines.len(), tally::store::copy::TABLES.len(), "{there}");
    assert_eq!(lines, table_lines(&home), "both copies moved the same rows with the same checksums");
    for table in ["members", "membership_log", "counted_reactions", "guild_days", "member_days", "card_prefs"] {
        let line = lines.iter().find(|l| l.starts_with(table)).unwrap();
        assert!(!line.split_whitespace().nth(1).unwrap().starts_with('0'), "the demo filled {table}: {line}");
    }

    let exported = harness::export(&source, guild);
    assert!(exported.len() >= 150, "{} members", exported.len());
    assert!(exported.iter().any(|r| r.messages > 0) && exported.iter().any(|r| r.reactions_received > 0));
    assert_eq!(harness::export(middle, guild), exported);
    assert_eq!(harness::export(&back, guild), exported);
    assert_eq!(csv(middle, guild), csv(&source, guild));
    assert_eq!(csv(&back, guild), csv(&source, guild));

    let again = tally(&["copy", "--from", &source, "--to", middle]);
    assert_eq!(again.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("already holds") && stderr.contains("--replace"), "{stderr}");
    let replaced = succeeded(tally(&["copy", "--from", &back, "--to", middle, "--replace"]));
    assert_eq!(table_lines(&replaced), lines);
}

#[test]
fn a_missing_source_exits_2_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let missing = format!("sqlite://{}", dir.path().join("missing.db").display());
    let target = format!("sqlite://{}", dir.path().join("target.db").display());
    let output = tally(&["copy", "--from", &missing, "--to", &target]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no database at"));
    assert!(!dir.path().join("missing.db").exists() && !dir.path().join("target.db").exists());
}
