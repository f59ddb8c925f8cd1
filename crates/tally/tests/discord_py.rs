//! The simulator is faithful beyond Tally: discord.py, the library Tally's
//! original design used, logs in to `tally sim`, receives READY and
//! GUILD_CREATE, sends a message and lists the server's members.
//!
//! Needs a Python with discord.py in `TALLY_TEST_DISCORD_PY` (scripts/test
//! installs one into `target/test-services/discord-py/`); fails, saying so,
//! without it.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const MEMBERS: u64 = 20;

#[test]
fn discord_py_logs_in_sends_and_lists_members() {
    let python = std::env::var("TALLY_TEST_DISCORD_PY")
        .expect("TALLY_TEST_DISCORD_PY must name a Python with discord.py: run scripts/test, which installs it");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut sim = Command::new(env!("CARGO_BIN_EXE_tally"))
        .args(["sim", "--port", &port.to_string(), "--members", &MEMBERS.to_string(), "--token", "py-token"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("tally sim starts");
    // Its third line names the server.
    let mut lines = BufReader::new(sim.stdout.take().unwrap()).lines();
    let server = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("Server id: ").map(|rest| rest.split(' ').next().unwrap().to_owned()))
        .expect("tally sim prints its server id");

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/discord_py_login.py");
    let output = Command::new(&python)
        .arg(script)
        .env("DISCORD_API_BASE", format!("http://127.0.0.1:{port}"))
        .env("DISCORD_TOKEN", "py-token")
        .output()
        .expect("python runs");
    let _ = sim.kill();
    let _ = sim.wait();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "discord.py failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let seen: serde_json::Value =
        serde_json::from_str(stdout.lines().last().unwrap_or_default()).expect("one JSON line");

    assert_eq!(seen["events"], serde_json::json!(["READY", "GUILD_CREATE"]), "{seen}");
    assert_eq!(seen["guilds"], serde_json::json!([server]), "{seen}");
    assert_eq!(seen["user_id"], seen["application_id"], "the bot user and its application, as Discord has them");
    assert_eq!(seen["message_content"], "hello from discord.py");
    assert_eq!(seen["message_author"], seen["user_id"], "the message is the bot's");
    // The server's members: the demo's people, its owner and the bot.
    let count = seen["member_count"].as_u64().expect("member_count");
    assert!(count >= MEMBERS, "{seen}");
    assert_eq!(seen["chunked"].as_u64(), Some(count), "the member list (op 8) gave every member: {seen}");
    assert_eq!(seen["listed"].as_u64(), Some(count), "List Guild Members paged through every member: {seen}");
    assert_eq!(seen["listed_unique"], seen["listed"], "no member listed twice across pages");
}
