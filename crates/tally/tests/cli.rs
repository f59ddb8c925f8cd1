//! The binary as a user meets it: configuration mistakes give one clear line
//! naming the variable and exit code 2.

use std::process::Command;

fn tally() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tally"));
    command.env_remove("DISCORD_TOKEN").env_remove("DATABASE_URL").env_remove("DISCORD_API_BASE");
    command.env("TALLY_WEB_ADDR", "127.0.0.1:0").env("TALLY_METRICS_ADDR", "127.0.0.1:0");
    command.current_dir(std::env::temp_dir());
    command
}

#[test]
fn missing_token_exits_2_naming_the_variable() {
    let output = tally().arg("run").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("error: DISCORD_TOKEN: not set"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn bad_api_base_exits_2() {
    let output = tally().args(["run", "--token", "abc"]).env("DISCORD_API_BASE", "localhost:9000").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("DISCORD_API_BASE"));
}

#[test]
fn export_without_a_database_exits_2() {
    let output = tally()
        .args(["export", "--guild", "1"])
        .env("DATABASE_URL", "sqlite:///nonexistent/dir/tally.db")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no database at"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_token_is_reported_without_printing_it() {
    let sim = discord_sim::Simulator::start(discord_sim::SimConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_tally"))
        .arg("run")
        .env("DISCORD_TOKEN", "wrong-secret-token")
        .env("DISCORD_API_BASE", sim.api_base())
        .env("DATABASE_URL", format!("sqlite://{}", dir.path().join("t.db").display()))
        .env("RUST_LOG", "trace")
        .env("TALLY_WEB_ADDR", "off")
        .env("TALLY_METRICS_ADDR", "off")
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("DISCORD_TOKEN was rejected"), "{stderr}");
    assert!(!stderr.contains("wrong-secret-token"), "the token must never be logged");
}

#[test]
fn demo_runs_and_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let output = tally()
        .args(["demo", "--seconds", "3", "--members", "20"])
        .env("TALLY_DEMO_DATABASE_URL", format!("sqlite://{}", dir.path().join("demo.db").display()))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("events committed"), "{stdout}");
    assert!(stdout.contains("Stopped cleanly"), "{stdout}");
    assert!(stdout.contains("Web leaderboard: http://127.0.0.1:"), "the demo prints the board's address: {stdout}");
    assert!(dir.path().join("demo.db").exists());
}

/// `tally demo` turns the dashboard on: following its sign-in link, a
/// browser comes back signed in as the demo server's owner, who manages it.
#[tokio::test]
async fn the_demos_dashboard_signs_the_owner_in_in_one_click() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let mut demo = tokio::process::Command::new(env!("CARGO_BIN_EXE_tally"))
        .args(["demo", "--seconds", "60", "--members", "5"])
        .env_remove("DISCORD_TOKEN")
        .env("TALLY_WEB_ADDR", "127.0.0.1:0")
        .env("TALLY_METRICS_ADDR", "127.0.0.1:0")
        .env("TALLY_DEMO_DATABASE_URL", format!("sqlite://{}", dir.path().join("demo.db").display()))
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(demo.stdout.take().unwrap()).lines();
    let login = loop {
        let line = lines.next_line().await.unwrap().expect("the demo prints its dashboard's address");
        if let Some(url) = line.strip_prefix("Dashboard (signed in as the server's owner in one click): ") {
            break url.to_owned();
        }
    };
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let base = login.trim_end_matches("/login").to_owned();
    let mut url = login;
    let mut cookies: Vec<String> = Vec::new();
    // /login → the simulated Discord → /auth/callback → /dashboard: a browser following redirects.
    for _ in 0..4 {
        let answer = client.get(&url).header("cookie", cookies.join("; ")).send().await.unwrap();
        for set in answer.headers().get_all("set-cookie") {
            cookies.push(set.to_str().unwrap().split(';').next().unwrap().to_owned());
        }
        if answer.status().as_u16() != 302 {
            assert_eq!(answer.status().as_u16(), 200, "{url}");
            let page = answer.text().await.unwrap();
            assert!(url.ends_with("/dashboard") && page.contains("Tally Demo Server"), "{url}: {page}");
            return;
        }
        let next = answer.headers()["location"].to_str().unwrap().to_owned();
        url = if next.starts_with('/') { format!("{base}{next}") } else { next };
    }
    panic!("the sign-in did not come back to the dashboard: {url}");
}
