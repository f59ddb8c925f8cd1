//! Retention as Discord's events drive it: removed from a server
//! (GUILD_DELETE without `unavailable`), Tally keeps its data for the
//! retention period and then purges every row of it; an outage
//! (`unavailable: true`) never starts the clock, and coming back stops it;
//! `tally purge` purges at once.

mod harness;

use std::time::Duration;

use discord_sim::Invocation;
use harness::{Harness, WAIT};

fn sqlite(h: &Harness) -> rusqlite::Connection {
    rusqlite::Connection::open(h.database_url().strip_prefix("sqlite://").unwrap()).unwrap()
}

fn removed_at(h: &Harness, guild: u64) -> Option<i64> {
    sqlite(h).query_row("SELECT removed_at FROM guilds WHERE guild_id = ?1", [guild as i64], |r| r.get(0)).unwrap()
}

/// Rows of `guild` in every table that has a server column.
fn rows_of(h: &Harness, guild: u64) -> Vec<(String, i64)> {
    let conn = sqlite(h);
    let tables: Vec<String> = conn
        .prepare("SELECT m.name FROM sqlite_master m JOIN pragma_table_info(m.name) c WHERE m.type = 'table' AND c.name = 'guild_id'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(tables.len() >= 10, "{tables:?}");
    tables
        .into_iter()
        .map(|t| {
            let n =
                conn.query_row(&format!("SELECT COUNT(*) FROM {t} WHERE guild_id = ?1"), [guild as i64], |r| r.get(0));
            (t, n.unwrap())
        })
        .collect()
}

/// Polls the database (the bot commits on its own time) until `done`.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until everything sent so far is committed, asking in a second
/// server (on the same shard): the first may be one the bot cannot see.
async fn settle_by(h: &Harness, other: u64) {
    harness::settle(&h.sim, other).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_server_is_kept_for_the_retention_period_then_purged() {
    let mut h = Harness::start(3).await;
    for &member in &h.members {
        let message = h.sim.send_message(h.guild, member).unwrap();
        h.sim.react(message, h.sim.owner_id(), "👍").unwrap();
    }
    h.settle().await;
    let other = h.sim.add_guild("Other Server");
    h.stop_bot().await;
    h.start_bot_with(|config| config.retention = Duration::from_secs(4)).await;
    // The resumed session has not seen the new server: it joins it now.
    h.sim.add_bot(other).unwrap();
    settle_by(&h, other).await;
    h.settle().await;

    // An outage never starts the clock.
    h.sim.start_outage(h.guild).unwrap();
    settle_by(&h, other).await;
    assert_eq!(removed_at(&h, h.guild), None, "an outage is not a removal");
    h.sim.end_outage(h.guild).unwrap();
    h.settle().await;

    // Removed: kept for now, every row still there.
    let before = rows_of(&h, h.guild);
    let others = rows_of(&h, other);
    assert!(others.iter().any(|(_, n)| *n > 0), "{others:?}");
    h.sim.remove_bot(h.guild).unwrap();
    settle_by(&h, other).await;
    assert!(removed_at(&h, h.guild).is_some(), "the removal starts the clock");
    assert_eq!(h.export().len(), 4, "kept during the retention period");
    assert_eq!(rows_of(&h, h.guild), before);

    // Then purged, table by table; the other server keeps its rows.
    until("the server is purged", || rows_of(&h, h.guild).iter().all(|(_, n)| *n == 0)).await;
    assert_eq!(rows_of(&h, other), others, "only that server is purged");
    let board = h.invoke(Invocation::new(other, h.sim.owner_id(), "leaderboard")).await;
    assert!(board.text().contains("No one has earned XP"), "{}", board.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coming_back_stops_the_clock() {
    let h = Harness::start(2).await;
    h.sim.send_message(h.guild, h.members[0]).unwrap();
    h.settle().await;
    let other = h.sim.add_guild("Other Server");
    h.sim.add_bot(other).unwrap();
    settle_by(&h, other).await;
    h.sim.remove_bot(h.guild).unwrap();
    settle_by(&h, other).await;
    assert!(removed_at(&h, h.guild).is_some());
    h.sim.add_bot(h.guild).unwrap();
    h.settle().await;
    assert_eq!(removed_at(&h, h.guild), None, "back before the period ran out: no clock");
    assert_eq!(h.record(h.members[0]).messages, 1, "nothing was purged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tally_purge_erases_a_server_at_once() {
    let h = Harness::start(3).await;
    for &member in &h.members {
        h.sim.send_message(h.guild, member).unwrap();
    }
    h.settle().await;
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tally"))
        .args(["purge", "--guild", &h.guild.to_string()])
        .env("DATABASE_URL", h.database_url())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let printed = String::from_utf8_lossy(&output.stdout);
    // The three, the owner and the bot itself.
    assert!(printed.contains("5 members") && printed.contains("through the running bot"), "{printed}");
    for (table, rows) in rows_of(&h, h.guild) {
        assert_eq!(rows, 0, "{table}");
    }
    let board = h.invoke(Invocation::new(h.guild, h.members[0], "leaderboard")).await;
    assert!(board.text().contains("No one has earned XP"), "off the in-memory board: {}", board.text());
}

/// Removed while Tally was away for longer than Discord replays: the next
/// session's READY no longer lists those servers, and they are let go as
/// after a GUILD_DELETE (here at once: a retention of 0). A server listed in
/// READY but unavailable (an outage) keeps everything; so does one that
/// stayed. Two shards, a removal on each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_removed_while_tally_was_away_are_let_go() {
    let config = discord_sim::SimConfig { shards: 2, ..discord_sim::SimConfig::default() };
    removed_while_away(Harness::start_with(config, 2).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_removed_while_tally_was_away_are_let_go_on_postgres() {
    let config = discord_sim::SimConfig { shards: 2, ..discord_sim::SimConfig::default() };
    removed_while_away(Harness::start_on_postgres_with(config, 2).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_removed_while_tally_was_away_are_let_go_on_mongodb() {
    let config = discord_sim::SimConfig { shards: 2, ..discord_sim::SimConfig::default() };
    let mongo = tally::store::mongo::scratch::ScratchDatabase::create();
    removed_while_away(Harness::start_on(config, 2, Some(mongo)).await).await;
}

/// Rows of `guild` in every table, on any backend.
fn rows_anywhere(h: &Harness, guild: u64) -> Vec<(String, u64)> {
    let url = h.database_url();
    tokio::task::block_in_place(|| tally::store::Database::from_url(&url).unwrap().rows_of_server(guild).unwrap())
}

/// When the bot was removed from `guild`, on any backend.
fn removed_at_anywhere(h: &Harness, guild: u64) -> Option<i64> {
    let url = h.database_url();
    tokio::task::block_in_place(|| {
        let reader = tally::store::Database::from_url(&url).unwrap().open_reader().unwrap();
        let all = tally::domain::shards::ShardRange::all(1);
        reader.removed_guilds(all).unwrap().into_iter().find(|(g, _)| *g == guild).map(|(_, at)| at)
    })
}

async fn removed_while_away(mut h: Harness) {
    h.sim.wait_for_bot(2, WAIT).await.expect("both shards connect");
    // Servers on both shards ((id >> 22) % 2), each with a message counted.
    let shard_of = |guild: u64| (guild >> 22) % 2;
    let mut servers: Vec<u64> = Vec::new();
    for want in [0, 1, 0, 1] {
        // Ids carry the clock's milliseconds: step it by 1 or 2 ms until a
        // server lands on the shard wanted (each try steps the parity).
        let guild = (1..)
            .map(|step| {
                h.sim.advance(Duration::from_millis(1 + step % 2));
                h.sim.add_guild("Another Server")
            })
            .find(|guild| shard_of(*guild) == want)
            .unwrap();
        h.sim.add_bot(guild).unwrap();
        let member = h.sim.add_user("someone", None, false);
        h.sim.add_member(guild, member, h.sim.now_ms() - 86_400_000).unwrap();
        h.sim.send_message(guild, member).unwrap();
        servers.push(guild);
    }
    for &guild in &servers {
        settle_by(&h, guild).await;
    }
    let removed: Vec<u64> = [0, 1].map(|s| *servers.iter().find(|g| shard_of(**g) == s).unwrap()).to_vec();
    let out = *servers.iter().find(|g| !removed.contains(g)).unwrap();
    let stayed: Vec<u64> = servers.iter().copied().filter(|g| !removed.contains(g) && *g != out).collect();
    let kept_rows: Vec<_> = [out].iter().chain(&stayed).map(|g| rows_anywhere(&h, *g)).collect();

    // Tally goes away; Discord forgets its session; meanwhile it is removed
    // from one server on each shard, and another server has an outage.
    h.stop_bot().await;
    h.sim.invalidate_sessions(false);
    for &guild in &removed {
        assert_eq!(h.sim.remove_bot(guild).unwrap(), None, "no session hears the removal");
    }
    assert_eq!(h.sim.start_outage(out).unwrap(), None);
    h.start_bot_with(|config| config.retention = Duration::ZERO).await;
    h.sim.wait_for_bot(2, WAIT).await.expect("both shards connect");
    h.settle().await;

    for &guild in &removed {
        until("a server removed while Tally was away is purged", || {
            rows_anywhere(&h, guild).iter().all(|(_, n)| *n == 0)
        })
        .await;
    }
    assert_eq!(removed_at_anywhere(&h, out), None, "an outage listed in READY never starts the clock");
    let now_rows: Vec<_> = [out].iter().chain(&stayed).map(|g| rows_anywhere(&h, *g)).collect();
    assert_eq!(now_rows, kept_rows, "the outage and the servers that stayed keep every row");
}
