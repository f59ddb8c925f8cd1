//! `tally import` end to end, through the real binary: MEE6's leaderboard
//! pages keep every member's level and the board's order; each mode merges
//! as named; a dry run writes nothing; a bad row is refused with its line
//! before anything is written; the same import twice changes nothing; an
//! export imported into an empty database exports the same; an import
//! while messages stream gives exactly both.

mod harness;

use std::path::Path;
use std::process::Output;

use discord_sim::Invocation;
use harness::Harness;
use tally::dice::Dice;
use tally::transfer::export::Record;

/// Runs `tally import` (arguments after `import`) on `database_url`.
fn import(database_url: &str, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_tally"))
        .arg("import")
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("NO_COLOR", "1")
        .output()
        .expect("tally import runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn succeeded(output: Output) -> String {
    assert!(output.status.success(), "import failed: {}", String::from_utf8_lossy(&output.stderr));
    stdout(&output)
}

/// `tally export` as it prints, byte for byte.
fn export_text(database_url: &str, guild: u64, format: &str) -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tally"))
        .args(["export", "--guild", &guild.to_string(), "--format", format])
        .env("DATABASE_URL", database_url)
        .output()
        .expect("tally export runs");
    assert!(output.status.success(), "export failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

fn records(database_url: &str, guild: u64) -> Vec<Record> {
    harness::export(database_url, guild)
}

/// MEE6's level for total `xp`, worked out here from MEE6's published
/// formula (each level costs 5l² + 50l + 100), not with Tally's code.
fn mee6_level(xp: u64) -> (u64, u64, u64) {
    let (mut level, mut spent) = (0u64, 0u64);
    loop {
        let cost = 5 * level * level + 50 * level + 100;
        if spent + cost > xp {
            return (level, xp - spent, cost);
        }
        spent += cost;
        level += 1;
    }
}

/// A MEE6 player as its API serves it.
fn player(id: u64, xp: u64, messages: u64) -> serde_json::Value {
    let (level, into, needed) = mee6_level(xp);
    serde_json::json!({
        "id": id.to_string(), "username": format!("user{id}"), "avatar": null, "guild_id": "1",
        "xp": xp, "level": level, "message_count": messages, "detailed_xp": [into, needed, xp],
    })
}

fn write_pages(dir: &Path, players: &[serde_json::Value]) {
    std::fs::create_dir_all(dir).unwrap();
    for (page, chunk) in players.chunks(1_000).enumerate() {
        let body = serde_json::json!({
            "page": page, "players": chunk, "role_rewards": [], "xp_per_message": [15, 25], "xp_rate": 1.0,
        });
        std::fs::write(dir.join(format!("page-{page}.json")), serde_json::to_vec_pretty(&body).unwrap()).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mee6_leaderboard_in_three_pages_keeps_every_level_and_the_order() {
    let h = Harness::start(2_500).await;
    // One member talked to Tally before the move: more messages in MEE6's
    // count, so MEE6's count is kept; one has more messages in Tally.
    let (talker, chatty) = (h.members[0], h.members[1]);
    h.sim.send_message(h.guild, talker).unwrap();
    h.settle().await;

    let mut dice = Dice(12);
    let mut players: Vec<(u64, u64, u64)> = h
        .members
        .iter()
        .enumerate()
        .map(|(i, &id)| (id, 1_000 + dice.below(400_000) as u64 * 2_500 + i as u64, 5 + dice.below(3_000) as u64))
        .collect();
    players.iter_mut().find(|p| p.0 == chatty).unwrap().2 = 0;
    for _ in 0..3 {
        h.sim.send_message(h.guild, chatty).unwrap();
    }
    h.settle().await;
    // MEE6 serves its pages by XP, highest first.
    players.sort_by_key(|p| std::cmp::Reverse(p.1));
    let json: Vec<serde_json::Value> = players.iter().map(|&(id, xp, m)| player(id, xp, m)).collect();
    let folder = h.dir.path().join("mee6");
    write_pages(&folder, &json);
    assert_eq!(std::fs::read_dir(&folder).unwrap().count(), 3);

    let printed = succeeded(import(&h.database_url(), &["--guild", &h.guild.to_string(), folder.to_str().unwrap()]));
    assert!(printed.contains("through the running bot"), "{printed}");
    assert!(printed.contains("raised         2,500"), "Tally knew every member, with little XP: {printed}");

    let exported = h.export();
    assert_eq!(exported.len(), 2_501, "the 2,500 members and the owner");
    for &(id, xp, messages) in &players {
        let r = exported.iter().find(|r| r.user_id == id.to_string()).unwrap();
        assert_eq!(r.xp, xp, "member {id}: the total XP, not the XP into the level");
        assert_eq!(u64::from(r.level), mee6_level(xp).0, "member {id}: the same level as in MEE6");
        let expected = if id == chatty { 3 } else { messages };
        assert_eq!(r.messages, expected, "member {id}: the higher message count");
    }

    // The board in MEE6's order, names and levels as Discord shows them.
    for page in 1..=2u64 {
        let board = h.invoke(Invocation::new(h.guild, h.members[7], "leaderboard").option("page", page)).await;
        let text = board.embed()["description"].as_str().unwrap().to_owned();
        let expected: Vec<String> = players[(page as usize - 1) * 10..page as usize * 10]
            .iter()
            .map(|&(id, xp, _)| {
                let i = h.members.iter().position(|&m| m == id).unwrap();
                format!("Member {i} — level {}", mee6_level(xp).0)
            })
            .collect();
        let shown: Vec<String> =
            text.lines().map(|l| l.split_once("** ").unwrap().1.split(" · ").next().unwrap().to_owned()).collect();
        assert_eq!(shown, expected, "page {page}");
    }

    // The bot applied it: a second run finds it done and changes nothing.
    let before = h.export();
    let again = succeeded(import(&h.database_url(), &["--guild", &h.guild.to_string(), folder.to_str().unwrap()]));
    assert!(again.contains("already imported"), "{again}");
    assert_eq!(h.export(), before);
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// `user id → (xp, messages)` from an export.
fn figures(database_url: &str, guild: u64) -> Vec<(String, u64, u64)> {
    records(database_url, guild).into_iter().map(|r| (r.user_id, r.xp, r.messages)).collect()
}

#[test]
fn modes_merge_as_named_a_dry_run_writes_nothing_and_twice_is_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("tally.db").display());
    let guild = "81384788765712384";
    let first = write(dir.path(), "first.csv", "user_id,xp,messages\n11,500,10\n12,900,30\n13,50,1\n");
    let second = write(dir.path(), "second.csv", "user_id,xp,messages\n11,800,5\n12,300,40\n14,70,2\n");

    let dry = succeeded(import(&url, &["--guild", guild, &first, "--dry-run"]));
    assert!(dry.contains("added              3") && dry.contains("nothing was written"), "{dry}");
    assert!(!dir.path().join("tally.db").exists(), "a dry run creates no database");

    succeeded(import(&url, &["--guild", guild, &first]));
    let s = |id: &str, xp, m| (id.to_owned(), xp, m);
    assert_eq!(figures(&url, 81384788765712384), [s("11", 500, 10), s("12", 900, 30), s("13", 50, 1)]);

    let before = export_text(&url, 81384788765712384, "json");
    let dry = succeeded(import(&url, &["--guild", guild, &second, "--dry-run"]));
    for line in ["added              1", "raised             1", "unchanged          1", "nothing was written"] {
        assert!(dry.contains(line), "{line:?} in {dry}");
    }
    assert_eq!(export_text(&url, 81384788765712384, "json"), before, "the dry run wrote nothing");

    // max: the higher XP and the higher count of each.
    succeeded(import(&url, &["--guild", guild, &second]));
    let max = [s("11", 800, 10), s("12", 900, 40), s("13", 50, 1), s("14", 70, 2)];
    assert_eq!(figures(&url, 81384788765712384), max);
    let again = succeeded(import(&url, &["--guild", guild, &second]));
    assert!(again.contains("already imported"), "{again}");
    assert_eq!(figures(&url, 81384788765712384), max, "the second time changes nothing");

    // add: both added up, once however often it is run.
    let third = write(dir.path(), "third.csv", "user_id,xp\n11,1\n13,2\n");
    succeeded(import(&url, &["--guild", guild, &third, "--mode", "add"]));
    succeeded(import(&url, &["--guild", guild, &third, "--mode", "add"]));
    let added = [s("11", 801, 10), s("12", 900, 40), s("13", 52, 1), s("14", 70, 2)];
    assert_eq!(figures(&url, 81384788765712384), added);

    // replace: the file's figures, even lower ones.
    let replaced = succeeded(import(&url, &["--guild", guild, &first, "--mode", "replace"]));
    assert!(replaced.contains("lowered            2"), "{replaced}");
    let after = [s("11", 500, 10), s("12", 900, 30), s("13", 50, 1), s("14", 70, 2)];
    assert_eq!(figures(&url, 81384788765712384), after);
    let level_of_12 = records(&url, 81384788765712384)[1].level;
    assert_eq!(u64::from(level_of_12), mee6_level(900).0);

    // Tally's own columns come in too (voice time, reactions, dates).
    let own = write(
        dir.path(),
        "own.csv",
        "guild_id,user_id,name,messages,reactions_given,reactions_received,xp,level,joined_at,left_at,voice_seconds\n\
         1,15,\"Ann, the first\",3,4,5,60,0,2024-01-02T03:04:05.678Z,,125\n",
    );
    succeeded(import(&url, &["--guild", guild, &own]));
    let ann = records(&url, 81384788765712384).into_iter().find(|r| r.user_id == "15").unwrap();
    assert_eq!((ann.name.as_str(), ann.reactions_given, ann.reactions_received), ("Ann, the first", 4, 5));
    assert_eq!((ann.voice_seconds, ann.joined_at.as_str()), (125, "2024-01-02T03:04:05.678Z"));
}

#[test]
fn a_bad_row_is_refused_with_its_line_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("tally.db").display());
    let mut csv = String::from("user_id,xp,messages\n");
    for i in 2..=1_500u64 {
        let xp = if i == 1_234 { "12x".to_owned() } else { (i * 7).to_string() };
        csv.push_str(&format!("{},{xp},{}\n", 1_000 + i, i % 13));
    }
    let file = write(dir.path(), "members.csv", &csv);
    let refused = import(&url, &["--guild", "5", &file]);
    assert_eq!(refused.status.code(), Some(1));
    let error = String::from_utf8_lossy(&refused.stderr);
    assert!(error.contains("members.csv: line 1234: xp"), "{error}");
    assert!(error.contains("nothing was imported"), "{error}");
    assert!(!dir.path().join("tally.db").exists(), "refused before the database was even created");

    // With a good first page and a bad second: neither is written.
    succeeded(import(&url, &["--guild", "5", &write(dir.path(), "ok.csv", "user_id,xp\n1,10\n")]));
    let before = export_text(&url, 5, "csv");
    let pages = dir.path().join("pages");
    write_pages(&pages, &(0..1_200).map(|i| player(100 + i, 5_000 - i, 3)).collect::<Vec<_>>());
    let second = pages.join("page-1.json");
    let text = std::fs::read_to_string(&second).unwrap().replacen("\"xp\": 3900", "\"xp\": \"lots\"", 1);
    std::fs::write(&second, text).unwrap();
    let refused = import(&url, &["--guild", "5", pages.to_str().unwrap()]);
    let error = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(error.contains("page-1.json: players[100].xp: expected a whole number"), "{error}");
    assert_eq!(export_text(&url, 5, "csv"), before, "nothing from the first page either");

    let twice = write(dir.path(), "twice.csv", "user_id,xp\n1,10\n");
    let refused = import(&url, &["--guild", "5", &twice, &write(dir.path(), "again.csv", "user_id,xp\n1,20\n")]);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("appears twice"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_imported_into_an_empty_database_exports_the_same() {
    let mut h = Harness::start(6).await;
    // A name with a comma, quotes and a line break: CSV quotes all three.
    let odd = h.sim.add_user("odd", Some("Ann, \"the\" first\nof her name"), false);
    h.sim.add_member(h.guild, odd, h.sim.now_ms() - 3_600_000).unwrap();
    let m = h.members.clone();
    for (i, &member) in m.iter().chain([&odd]).enumerate() {
        for _ in 0..=i {
            let message = h.sim.send_message(h.guild, member).unwrap();
            h.sim.react(message, m[(i + 1) % m.len()], "👍").unwrap();
        }
        h.sim.advance(std::time::Duration::from_secs(61));
    }
    h.sim.leave(h.guild, m[5]).unwrap();
    h.settle().await;
    h.stop_bot().await;

    for format in ["json", "csv"] {
        let original = export_text(&h.database_url(), h.guild, format);
        assert!(original.contains("Ann"), "{original}");
        let file = write(h.dir.path(), &format!("export.{format}"), &original);
        let fresh = format!("sqlite://{}", h.dir.path().join(format!("fresh-{format}.db")).display());
        succeeded(import(&fresh, &["--guild", &h.guild.to_string(), &file]));
        assert_eq!(export_text(&fresh, h.guild, format), original, "{format}: the same export, byte for byte");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_while_messages_stream_gives_exactly_both() {
    let h = Harness::start(40).await;
    let config = Invocation::new(h.guild, h.sim.owner_id(), "config").subcommand("xp");
    h.invoke(config.option("min", 20).option("max", 20).option("cooldown", 0)).await;
    let rows: String = h.members.iter().enumerate().map(|(i, id)| format!("{id},{},{i}\n", 1_000 * (i + 1))).collect();
    let file = write(h.dir.path(), "members.csv", &format!("user_id,xp,messages\n{rows}"));

    let url = h.database_url();
    let guild = h.guild.to_string();
    let importing = tokio::task::spawn_blocking(move || import(&url, &["--guild", &guild, &file, "--mode", "add"]));
    let mut sent = vec![0u64; h.members.len()];
    let mut round = 0;
    while !importing.is_finished() || round < 3 {
        for (i, &member) in h.members.iter().enumerate() {
            h.sim.send_message(h.guild, member).unwrap();
            sent[i] += 1;
        }
        round += 1;
        tokio::task::yield_now().await;
    }
    let printed = succeeded(importing.await.unwrap());
    assert!(printed.contains("through the running bot"), "{printed}");
    h.settle().await;
    let exported = h.export();
    for (i, &member) in h.members.iter().enumerate() {
        let r = exported.iter().find(|r| r.user_id == member.to_string()).unwrap();
        assert_eq!(r.messages, i as u64 + sent[i], "member {i}: imported and streamed messages");
        assert_eq!(r.xp, 1_000 * (i as u64 + 1) + 20 * sent[i], "member {i}: imported and streamed XP");
    }
}
