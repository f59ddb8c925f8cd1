//! The web leaderboard as a visitor meets it: private until a server admin
//! turns it on, then every present member with XP in the right order, page
//! by page, in the JSON API and in a real headless Chromium.

mod harness;

use std::time::Duration;

use harness::http::{self, get};
use harness::Harness;

/// Members in the test server: more than one page of 50.
const MEMBERS: usize = 64;

/// The avatar hash member `i` posts with (every third member has one).
fn avatar_hash(i: usize) -> Option<String> {
    i.is_multiple_of(3).then(|| format!("{:032x}", 0xa0 + i))
}

/// The member whose avatar changes after their last message, so Tally holds
/// a stale hash for them and the CDN refuses it.
const STALE_AVATAR: usize = 6;

/// A server where member `i` posted `i % 7 + 1` messages a minute apart (so
/// each earns XP) and member 3 then left. Returns the harness and the board
/// expected from `tally export`: present members with XP, by XP then id.
async fn busy_server() -> (Harness, Vec<(String, String)>) {
    let h = Harness::start(MEMBERS).await;
    for (i, &member) in h.members.iter().enumerate() {
        h.sim.set_avatar(member, avatar_hash(i).as_deref()).unwrap();
    }
    for round in 0..7 {
        for (i, &member) in h.members.iter().enumerate() {
            if i % 7 >= round {
                h.sim.send_message(h.guild, member).unwrap();
            }
        }
        h.sim.advance(Duration::from_secs(61));
    }
    h.sim.leave(h.guild, h.members[3]).unwrap();
    h.sim.set_avatar(h.members[STALE_AVATAR], Some(&format!("{:032x}", 0xfff))).unwrap();
    h.settle().await;
    let mut ranked: Vec<_> = h.export().into_iter().filter(|r| r.left_at.is_empty() && r.xp > 0).collect();
    ranked.sort_by(|a, b| b.xp.cmp(&a.xp).then(a.user_id.parse::<u64>().unwrap().cmp(&b.user_id.parse().unwrap())));
    assert_eq!(ranked.len(), MEMBERS - 1, "everyone but the one who left is ranked");
    let expected = ranked.into_iter().map(|r| (r.user_id, r.name)).collect();
    (h, expected)
}

/// Runs the real `tally web enable` against the bot's live database.
fn enable_web(h: &Harness) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tally"))
        .args(["web", "enable", "--guild", &h.guild.to_string(), "--database-url", &h.database_url()])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).contains("is public"));
}

fn web_addr(h: &Harness) -> std::net::SocketAddr {
    h.bot.as_ref().and_then(|b| b.web_addr()).expect("the web server is on")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_serves_public_boards_only_in_order() {
    let (h, expected) = busy_server().await;
    let addr = web_addr(&h);
    let guild = h.guild;

    for path in [
        format!("/servers/{guild}"),
        format!("/api/servers/{guild}/leaderboard"),
        format!("/api/servers/{guild}/members/{}", h.members[1]),
    ] {
        assert_eq!(get(addr, &path).await.status, 404, "{path} is private until enabled");
    }
    assert_eq!(get(addr, "/api/servers").await.json(), serde_json::json!([]));

    enable_web(&h);
    let servers = get(addr, "/api/servers").await.json();
    assert_eq!(servers, serde_json::json!([{ "id": guild.to_string(), "name": "Test Server" }]));

    let mut seen = Vec::new();
    for page in 1..=2 {
        let board = get(addr, &format!("/api/servers/{guild}/leaderboard?page={page}")).await.json();
        assert_eq!(board["page"], page);
        assert_eq!(board["pages"], 2);
        assert_eq!(board["total"], MEMBERS as u64 - 1);
        for member in board["members"].as_array().unwrap() {
            seen.push((member["user_id"].as_str().unwrap().to_owned(), member["name"].as_str().unwrap().to_owned()));
            assert_eq!(member["rank"], seen.len() as u64, "ranks run on across pages");
        }
    }
    assert_eq!(seen, expected);
    assert_eq!(get(addr, &format!("/api/servers/{guild}/leaderboard?page=3")).await.status, 404);

    let (id, name) = &expected[10];
    let profile = get(addr, &format!("/api/servers/{guild}/members/{id}")).await.json();
    assert_eq!(profile["member"]["rank"], 11);
    assert_eq!(profile["member"]["name"], name.as_str());
    let days = profile["days"].as_array().unwrap();
    assert_eq!(days.len(), 30);
    let record = h.export().into_iter().find(|r| r.user_id == *id).unwrap();
    let day_sum = |field: &str| days.iter().map(|d| d[field].as_u64().unwrap()).sum::<u64>();
    assert_eq!((day_sum("messages"), day_sum("xp")), (record.messages, record.xp), "every message is on a day");
    let gone = get(addr, &format!("/api/servers/{guild}/members/{}", h.members[3])).await;
    assert_eq!(gone.status, 404, "members who left are never shown");
    assert_eq!(get(addr, &format!("/api/servers/{}/leaderboard", guild + 1)).await.status, 404);

    // The last 30 days: every message, the one leave, and the joins whose
    // dates fall in the window (members joined 1 to 64 days ago).
    let activity = get(addr, &format!("/api/servers/{guild}/activity")).await.json();
    let days = activity["days"].as_array().unwrap();
    assert_eq!(days.len(), 30);
    let sum = |field: &str| days.iter().map(|d| d[field].as_u64().unwrap()).sum::<u64>();
    let messages: usize = (0..MEMBERS).map(|i| i % 7 + 1).sum();
    assert_eq!(sum("messages"), messages as u64);
    assert_eq!(sum("leaves"), 1);
    let first = days[0]["date"].as_str().unwrap().to_owned();
    let joins_in_window = h.export().iter().filter(|r| r.joined_at[..10] >= *first).count();
    assert!(joins_in_window > 0 && joins_in_window < MEMBERS);
    assert_eq!(sum("joins"), joins_in_window as u64);
    let xp: u64 = h.export().iter().map(|r| r.xp).sum();
    assert_eq!(sum("xp"), xp, "all XP was earned in the window");
}

/// The other boards, as a visitor reaches them: from the default board's
/// own tabs, in headless Chromium, and as JSON; a nonsense choice is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boards_by_period_and_measure_follow_the_tabs() {
    let (h, _) = busy_server().await;
    let addr = web_addr(&h);
    enable_web(&h);
    let guild = h.guild;
    // Everyone posted today, so this week's messages are their messages.
    let mut by_messages: Vec<_> = h.export().into_iter().filter(|r| r.left_at.is_empty()).collect();
    by_messages.sort_by(|a, b| {
        b.messages.cmp(&a.messages).then(a.user_id.parse::<u64>().unwrap().cmp(&b.user_id.parse().unwrap()))
    });

    let api = get(addr, &format!("/api/servers/{guild}/leaderboard?period=week&by=messages")).await.json();
    assert_eq!(api["choice"], serde_json::json!({ "period": "week", "by": "messages" }));
    let rows = api["members"].as_array().unwrap();
    assert_eq!(rows.len(), 50);
    for (row, record) in rows.iter().zip(&by_messages) {
        assert_eq!(row["user_id"].as_str().unwrap(), record.user_id);
        assert_eq!(row["figure"], record.messages);
    }
    let bad = get(addr, &format!("/api/servers/{guild}/leaderboard?by=charisma")).await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(bad.json()["error"].as_str().unwrap().contains("charisma"), "the error says what was wrong: {}", bad.body);
    let bad_page = get(addr, &format!("/servers/{guild}?page=two")).await;
    assert_eq!(bad_page.status, 400);
    assert!(bad_page.content_type.starts_with("text/html") && bad_page.body.contains("That address does not work"));
    let bad_member = get(addr, &format!("/api/servers/{guild}/members/someone")).await;
    assert_eq!(bad_member.status, 400);
    assert!(bad_member.json()["error"].is_string(), "{}", bad_member.body);

    // From the default board, follow "This week", then "Messages".
    let base = format!("http://{addr}");
    let dump = |path: String| {
        let url = format!("{base}{path}");
        tokio::task::spawn_blocking(move || http::dump_dom(&url))
    };
    let href_of = |dom: &str, text: &str| -> String {
        let end = dom.find(&format!(">{text}</a>")).unwrap_or_else(|| panic!("a {text} tab"));
        let start = dom[..end].rfind("href=\"").unwrap() + 6;
        dom[start..end].split('"').next().unwrap().replace("&amp;", "&")
    };
    let first = dump(format!("/servers/{guild}")).await.unwrap();
    let week = dump(href_of(&first, "This week")).await.unwrap();
    let weekly_messages = dump(href_of(&week, "Messages")).await.unwrap();
    assert!(weekly_messages.contains("aria-current=\"page\">This week</a>"));
    assert!(weekly_messages.contains("aria-current=\"page\">Messages</a>"));
    let ids = attribute_values(&weekly_messages, "data-user-id");
    let want: Vec<String> = by_messages.iter().take(50).map(|r| r.user_id.clone()).collect();
    assert_eq!(ids, want, "the week's messages board, in order");
    assert!(weekly_messages.contains(&format!("{} messages</span>", by_messages[0].messages)));

    let shot =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/web-screenshots/week-by-messages.png");
    let url = format!("{base}{}", href_of(&week, "Messages"));
    tokio::task::spawn_blocking(move || http::screenshot(&url, &shot, 1100, 900)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_metrics_describe_the_running_bot() {
    let (h, _) = busy_server().await;
    let addr = web_addr(&h);

    let health = get(addr, "/healthz").await;
    assert_eq!(health.status, 200, "{}", health.body);
    assert_eq!(
        health.json(),
        serde_json::json!({ "status": "ok", "ledger": "running", "shards": { "0": "connected" } })
    );

    // Metrics are the operator's: on their own address, not the public one.
    assert_eq!(get(addr, "/metrics").await.status, 404);
    let metrics_addr = h.bot.as_ref().and_then(|b| b.metrics_addr()).expect("the metrics server is on");
    assert_eq!(get(metrics_addr, "/healthz").await.status, 200);
    let metrics = get(metrics_addr, "/metrics").await;
    assert_eq!(metrics.status, 200);
    assert!(metrics.content_type.starts_with("text/plain; version=0.0.4"), "{}", metrics.content_type);
    let value = |line: &str| -> f64 {
        let found = metrics.body.lines().find(|l| l.starts_with(line)).unwrap_or_else(|| panic!("{line} missing"));
        found.rsplit(' ').next().unwrap().parse().unwrap()
    };
    let messages: usize = (0..MEMBERS).map(|i| i % 7 + 1).sum();
    assert_eq!(value("tally_activities_total{kind=\"message\"}"), messages as f64);
    assert_eq!(value("tally_activities_total{kind=\"leave\"}"), 1.0);
    assert!(value("tally_commits_total ") >= 1.0);
    assert_eq!(value("tally_commit_batch_events_count "), value("tally_commits_total "));
    assert!(value("tally_command_seconds_count{command=\"leaderboard\"}") >= 1.0, "settle() asked");
    assert_eq!(value("tally_shard_state{shard=\"0\",state=\"connected\"}"), 1.0);
}

/// Element attribute values in document order, from a DOM dump.
fn attribute_values(dom: &str, attribute: &str) -> Vec<String> {
    let marker = format!("{attribute}=\"");
    dom.match_indices(&marker)
        .map(|(at, _)| {
            let rest = &dom[at + marker.len()..];
            rest[..rest.find('"').unwrap()].to_owned()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_board_reads_right_in_headless_chromium() {
    let (h, expected) = busy_server().await;
    let addr = web_addr(&h);
    enable_web(&h);
    let base = format!("http://{addr}");
    let guild = h.guild;

    let page_one = format!("{base}/servers/{guild}");
    let dom = tokio::task::spawn_blocking({
        let url = page_one.clone();
        move || http::dump_dom(&url)
    })
    .await
    .unwrap();
    let ids: Vec<String> = attribute_values(&dom, "data-user-id");
    let want: Vec<String> = expected.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(ids, want[..50], "page 1 shows the first 50 in order");
    // Pictures come from the CDN for members with an avatar; a stale hash is
    // refused there and leaves the initials showing.
    let fetched = h.sim.cdn_fetches();
    for (i, &member) in h.members.iter().enumerate() {
        let Some(hash) = avatar_hash(i) else { continue };
        if !ids.contains(&member.to_string()) {
            continue;
        }
        assert!(
            dom.contains(&format!("/avatars/{member}/{hash}.png?size=128&quot;)")),
            "member {i}'s picture is on the page"
        );
        let served = fetched.iter().find(|(user, h, _)| *user == member && *h == hash).map(|f| f.2);
        assert_eq!(served, Some(i != STALE_AVATAR), "member {i}'s picture was fetched (served unless stale)");
    }
    assert!(!dom.contains(&format!("/avatars/{}/", h.members[1])), "no picture for a member without an avatar");
    for (_, name) in &expected[..50] {
        assert!(dom.contains(&format!(">{name}</a>")), "{name} is on page 1");
    }
    assert!(dom.contains("Page 1 of 2"));
    let charted: u64 = attribute_values(&dom, "data-messages").iter().map(|m| m.parse::<u64>().unwrap()).sum();
    assert_eq!(charted, (0..MEMBERS).map(|i| i % 7 + 1).sum::<usize>() as u64, "the chart shows every message");

    // Follow the page's own "Next" link, as a visitor would.
    let next = dom
        .split("rel=\"next\" href=\"")
        .nth(1)
        .map(|rest| rest[..rest.find('"').unwrap()].replace("&amp;", "&"))
        .expect("a Next link");
    let dom_two = tokio::task::spawn_blocking({
        let url = format!("{base}{next}");
        move || http::dump_dom(&url)
    })
    .await
    .unwrap();
    assert_eq!(attribute_values(&dom_two, "data-user-id"), want[50..], "page 2 holds the rest in order");
    assert!(dom_two.contains("rel=\"prev\""));

    // A member's page, from the link on the board.
    let (id, name) = &expected[0];
    let member = tokio::task::spawn_blocking({
        let url = format!("{base}/servers/{guild}/members/{id}");
        move || http::dump_dom(&url)
    })
    .await
    .unwrap();
    assert!(member.contains(&format!("<h1>{name}</h1>")), "{member}");
    assert!(member.contains("<strong class=\"rank\">#1</strong>"));
    let charted: u64 = attribute_values(&member, "data-messages").iter().map(|m| m.parse::<u64>().unwrap()).sum();
    let record = h.export().into_iter().find(|r| r.user_id == *id).unwrap();
    assert_eq!(charted, record.messages, "the member's chart shows each of their messages");

    // Kept for people to look at: CI keeps target/web-screenshots/.
    let shot = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/web-screenshots/leaderboard.png");
    tokio::task::spawn_blocking(move || http::screenshot(&page_one, &shot, 1100, 1400)).await.unwrap();
}
