//! Privacy as members meet it: `/privacy hide` takes a member off every
//! public board (commands, pages, web page and JSON) while they are still
//! counted; `/privacy stop` stops counting them; `/privacy delete`, after a
//! confirmation only they can press in time, erases every row Tally holds
//! about them in the server (checked table by table), the server's daily
//! sums aside; `tally forget` does the same from the command line.

mod harness;

use std::time::Duration;

use discord_sim::Invocation;
use harness::http::{self, get};
use harness::Harness;

fn privacy(h: &Harness, user: u64, sub: &str) -> Invocation {
    Invocation::new(h.guild, user, "privacy").subcommand(sub)
}

fn enable_web(h: &Harness) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tally"))
        .args(["web", "enable", "--guild", &h.guild.to_string(), "--database-url", &h.database_url()])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

/// Ids on a `/leaderboard` page, read from its names (`Member i`).
async fn board_names(h: &Harness, options: &[(&str, &str)]) -> String {
    let mut ask = Invocation::new(h.guild, h.members[0], "leaderboard");
    for (name, value) in options {
        ask = ask.option(name, *value);
    }
    h.invoke(ask).await.text()
}

/// Every place a member's name could show publicly: the all-time board,
/// this week's board by messages, the web board (JSON and Chromium's DOM)
/// and the member's web profile.
async fn shown_everywhere(h: &Harness, i: usize) -> Vec<(&'static str, bool)> {
    let name = format!("Member {i} ");
    let user = h.members[i];
    let addr = h.bot.as_ref().unwrap().web_addr().unwrap();
    let guild = h.guild;
    let api = get(addr, &format!("/api/servers/{guild}/leaderboard")).await.json();
    let week = get(addr, &format!("/api/servers/{guild}/leaderboard?period=week&by=messages")).await.json();
    let listed = |board: &serde_json::Value| {
        board["members"].as_array().unwrap().iter().any(|m| m["user_id"] == user.to_string().as_str())
    };
    let url = format!("http://{addr}/servers/{guild}");
    let dom = tokio::task::spawn_blocking(move || http::dump_dom(&url)).await.unwrap();
    vec![
        ("/leaderboard", board_names(h, &[]).await.contains(&name)),
        (
            "/leaderboard week by messages",
            board_names(h, &[("period", "week"), ("by", "messages")]).await.contains(&name),
        ),
        ("web JSON", listed(&api)),
        ("web JSON week", listed(&week)),
        ("web page", dom.contains(&format!("Member {i}<"))),
        ("web profile", get(addr, &format!("/api/servers/{guild}/members/{user}")).await.status == 200),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hidden_members_leave_every_board_and_still_count() {
    let h = Harness::start(4).await;
    enable_web(&h);
    for (i, &member) in h.members.iter().enumerate() {
        for _ in 0..=i {
            h.sim.send_message(h.guild, member).unwrap();
            h.sim.advance(Duration::from_secs(61));
        }
    }
    h.settle().await;
    let hider = 2;
    assert!(shown_everywhere(&h, hider).await.iter().all(|(_, shown)| *shown), "on every board at first");

    let hidden = h.invoke(privacy(&h, h.members[hider], "hide")).await;
    assert!(hidden.is_ephemeral() && hidden.text().contains("Tally still counts you"), "{}", hidden.text());
    for (board, shown) in shown_everywhere(&h, hider).await {
        assert!(!shown, "hidden from {board}");
    }
    assert!(shown_everywhere(&h, 3).await.iter().all(|(_, shown)| *shown), "the others stay");
    let first = board_names(&h, &[]).await;
    assert!(first.starts_with("Leaderboard\n**#1** Member 3"), "{first}");
    assert!(first.contains("**#2** Member 1"), "ranks close up: {first}");

    // Still counted; their own /stats works, someone else's does not show them.
    let before = h.record(h.members[hider]).messages;
    h.sim.send_message(h.guild, h.members[hider]).unwrap();
    h.settle().await;
    assert_eq!(h.record(h.members[hider]).messages, before + 1);
    let own = h.stats(h.members[hider]).await;
    assert_eq!(own.field("Messages").as_deref(), Some(&*(before + 1).to_string()), "{}", own.text());
    assert!(own.field("Rank").unwrap().starts_with("hidden"), "{:?}", own.field("Rank"));
    let asked = h.invoke(Invocation::new(h.guild, h.members[0], "stats").option("member", h.members[hider])).await;
    assert!(asked.text().contains("private"), "{}", asked.text());

    h.invoke(privacy(&h, h.members[hider], "show")).await;
    for (board, shown) in shown_everywhere(&h, hider).await {
        assert!(shown, "back on {board}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_member_is_not_counted_until_they_start_again() {
    let h = Harness::start(2).await;
    let (ann, bea) = (h.members[0], h.members[1]);
    h.sim.send_message(h.guild, ann).unwrap();
    h.settle().await;
    let before = h.record(ann);

    let stopped = h.invoke(privacy(&h, ann, "stop")).await;
    assert!(stopped.text().contains("no longer counted"), "{}", stopped.text());
    h.sim.advance(Duration::from_secs(61));
    let hers = h.sim.send_message(h.guild, ann).unwrap();
    let his = h.sim.send_message(h.guild, bea).unwrap();
    h.sim.react(hers, bea, "👍").unwrap(); // Bea's gift counts, Ann's receipt does not.
    h.sim.react(his, ann, "👍").unwrap(); // Ann gives nothing countable.
    h.settle().await;
    let (a, b) = (h.record(ann), h.record(bea));
    assert_eq!((a.messages, a.xp, a.reactions_given, a.reactions_received), (before.messages, before.xp, 0, 0));
    assert_eq!((b.messages, b.reactions_given, b.reactions_received), (1, 1, 0));
    // Bea takes her reaction back: her count goes down, nothing of Ann's moves.
    h.sim.unreact(hers, bea, "👍").unwrap();
    h.settle().await;
    assert_eq!((h.record(bea).reactions_given, h.record(ann).reactions_received), (0, 0));

    h.invoke(privacy(&h, ann, "start")).await;
    h.sim.advance(Duration::from_secs(61));
    h.sim.send_message(h.guild, ann).unwrap();
    h.settle().await;
    assert_eq!(h.record(ann).messages, before.messages + 1, "counted again");
}

/// Rows in each table that name `user` in `guild` (as member, reactor or
/// author, target or admin): every table with a user column, as the
/// store's schema lists them, on any backend.
fn rows_about(database_url: &str, guild: u64, user: u64) -> Vec<(String, u64)> {
    let database = tally::store::Database::from_url(database_url).unwrap();
    let rows = tokio::task::block_in_place(|| database.rows_naming_member(guild, user)).unwrap();
    assert!(rows.len() >= 13, "every table naming a member: {rows:?}");
    rows
}

/// The server's messages, XP and reactions over all its days.
fn guild_day_sums(database_url: &str, guild: u64) -> (u64, u64, u64) {
    let days = tokio::task::block_in_place(|| {
        let reader = tally::store::Database::from_url(database_url).unwrap().open_reader().unwrap();
        reader.guild_days(guild, 0, i64::MAX / tally::store::DAY_MS).unwrap()
    });
    days.iter().fold((0, 0, 0), |(m, x, r), d| (m + d.messages, x + d.xp, r + d.reactions))
}

fn custom_id(reply: &discord_sim::InteractionReply, button: usize) -> String {
    reply.data["components"][0]["components"][button]["custom_id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_erases_every_row_about_the_member_after_their_confirmation() {
    delete_erases_every_row(Harness::start(3).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_erases_every_row_on_postgres() {
    delete_erases_every_row(Harness::start_on_postgres(3).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_erases_every_row_on_mongodb() {
    delete_erases_every_row(Harness::start_on_mongo(3).await).await;
}

async fn delete_erases_every_row(h: Harness) {
    let (ann, bea, owner) = (h.members[0], h.members[1], h.sim.owner_id());
    let config = |sub: &str| Invocation::new(h.guild, owner, "config").subcommand(sub);
    h.invoke(config("xp").option("min", 100).option("max", 100).option("cooldown", 0)).await;
    h.invoke(config("log").option("channel", h.sim.channel_of(h.guild).unwrap())).await;
    // A reward at level 1, which Discord keeps failing to give Ann for now:
    // she stays queued for her reward check.
    let reward = h.sim.add_role(h.guild, "Regular", 0).unwrap();
    let rewards = Invocation::new(h.guild, owner, "rewards").subcommand("add");
    h.invoke(rewards.option("level", 1).option("role", reward)).await;
    let ann_on_discord = format!("guilds/{}/members/{ann}", h.guild);
    h.sim.inject_rest_faults(&ann_on_discord, std::iter::repeat_n(discord_sim::RestFault::ServerError(503), 100_000));

    // Ann leaves and comes back (log posts, membership log), talks and
    // levels up, reacts and is reacted to, sets her card and pings, gets
    // XP from an admin and is in voice.
    h.sim.leave(h.guild, ann).unwrap();
    h.sim.join(h.guild, ann).unwrap();
    let mut hers = Vec::new();
    for _ in 0..3 {
        hers.push(h.sim.send_message(h.guild, ann).unwrap());
    }
    let his = h.sim.send_message(h.guild, bea).unwrap();
    h.sim.react(his, ann, "🎉").unwrap();
    h.sim.react(hers[0], bea, "👍").unwrap();
    h.invoke(Invocation::new(h.guild, ann, "card").option("colour", "teal")).await;
    h.invoke(Invocation::new(h.guild, ann, "notify").subcommand("off")).await;
    h.invoke(Invocation::new(h.guild, owner, "xp").subcommand("add").option("member", ann).option("amount", 50)).await;
    // Ann moderates too: her own /xp change names her as the admin.
    let mods = h.sim.add_role(h.guild, "Mods", discord_sim::world::permissions::MANAGE_GUILD).unwrap();
    h.sim.set_roles(h.guild, ann, &[mods]).unwrap();
    h.invoke(Invocation::new(h.guild, ann, "xp").subcommand("add").option("member", bea).option("amount", 5)).await;
    let voice = h.sim.voice_channels_of(h.guild).unwrap()[0];
    h.sim.set_voice(h.guild, ann, Some(voice)).unwrap();
    h.settle().await;
    let before = rows_about(&h.database_url(), h.guild, ann);
    for (table, rows) in &before {
        assert!(*rows > 0, "the scenario fills {table}: {before:?}");
    }
    let sums = guild_day_sums(&h.database_url(), h.guild);

    // Only Ann may press, only in time; keeping it changes nothing.
    let ask = h.invoke(privacy(&h, ann, "delete")).await;
    assert!(ask.is_ephemeral() && ask.text().contains("cannot be undone"), "{}", ask.text());
    assert!(ask.text().contains("totals per day keep their sums"), "{}", ask.text());
    let pressed = h.sim.click(h.guild, bea, &ask, &custom_id(&ask, 0)).await.unwrap();
    assert!(pressed.is_ephemeral() && !pressed.updates_message && pressed.text().contains("Only the member"));
    let kept = h.sim.click(h.guild, ann, &ask, &custom_id(&ask, 1)).await.unwrap();
    assert!(kept.updates_message && kept.text().contains("Nothing was erased"), "{}", kept.text());
    let ask = h.invoke(privacy(&h, ann, "delete")).await;
    h.sim.advance(Duration::from_secs(121));
    let late = h.sim.click(h.guild, ann, &ask, &custom_id(&ask, 0)).await.unwrap();
    assert!(late.text().contains("expired"), "{}", late.text());
    assert_eq!(rows_about(&h.database_url(), h.guild, ann), before);

    let ask = h.invoke(privacy(&h, ann, "delete")).await;
    let done = h.sim.click(h.guild, ann, &ask, &custom_id(&ask, 0)).await.unwrap();
    assert!(done.updates_message && done.text().contains("is erased"), "{}", done.text());
    for (table, rows) in rows_about(&h.database_url(), h.guild, ann) {
        assert_eq!(rows, 0, "nothing about Ann is left in {table}");
    }
    assert_eq!(guild_day_sums(&h.database_url(), h.guild), sums, "the server's days keep their sums");
    assert_eq!(h.record(bea).reactions_given, 1, "Bea's gift to Ann still counts for Bea");
    let board = h.invoke(Invocation::new(h.guild, bea, "leaderboard")).await.text();
    assert!(!board.contains("Member 0 "), "{board}");

    // Her next message starts from zero.
    h.sim.advance(Duration::from_secs(61));
    h.sim.send_message(h.guild, ann).unwrap();
    h.settle().await;
    let fresh = h.record(ann);
    assert_eq!((fresh.messages, fresh.xp, fresh.reactions_given, fresh.reactions_received), (1, 100, 0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tally_forget_erases_a_member_through_the_running_bot() {
    let h = Harness::start(3).await;
    for &member in &h.members {
        h.sim.send_message(h.guild, member).unwrap();
    }
    h.settle().await;
    let gone = h.members[1];
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tally"))
        .args(["forget", "--guild", &h.guild.to_string(), "--user", &gone.to_string()])
        .env("DATABASE_URL", h.database_url())
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(printed.contains("through the running bot") && printed.contains("keep their sums"), "{printed}");
    for (table, rows) in rows_about(&h.database_url(), h.guild, gone) {
        assert_eq!(rows, 0, "nothing about the member is left in {table}");
    }
    let board = h.invoke(Invocation::new(h.guild, h.members[0], "leaderboard")).await.text();
    assert!(!board.contains("Member 1 ") && board.contains("Member 2 "), "off the in-memory board too: {board}");
    assert_eq!(h.export().iter().filter(|r| r.user_id == gone.to_string()).count(), 0);
}
