//! Paging `/leaderboard` with its buttons, as members would: the asker's
//! clicks replace their copy with the next page; anyone else is told to ask
//! for their own; the buttons stop at the ends.

mod harness;
#[path = "../../discord-sim/tests/spec/mod.rs"]
#[allow(dead_code)]
mod spec;

use discord_sim::{InteractionReply, Invocation};
use harness::Harness;

fn buttons(reply: &InteractionReply) -> Vec<(String, bool)> {
    reply.data["components"][0]["components"]
        .as_array()
        .expect("a row of buttons")
        .iter()
        .map(|b| (b["custom_id"].as_str().unwrap().to_owned(), b["disabled"] == true))
        .collect()
}

fn footer(reply: &InteractionReply) -> String {
    reply.embed()["footer"]["text"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_asker_pages_with_buttons_and_no_one_else_can() {
    let h = Harness::start(25).await;
    for &member in &h.members {
        h.sim.send_message(h.guild, member).unwrap();
    }
    h.settle().await;
    let (asker, other) = (h.members[0], h.members[1]);

    let first = h.invoke(Invocation::new(h.guild, asker, "leaderboard")).await;
    assert!(footer(&first).starts_with("Page 1 of 3"), "{}", footer(&first));
    let id = |page: u64| format!("lb:{asker}:{page}:all:xp");
    let next = id(2);
    assert_eq!(buttons(&first), [(id(1), true), (next.clone(), false)]);
    assert!(h.sim.click(h.guild, asker, &first, &id(1)).await.is_err(), "Previous is disabled");

    let second = h.sim.click(h.guild, asker, &first, &next).await.unwrap();
    assert!(second.updates_message, "the page replaces the asker's copy");
    assert!(footer(&second).starts_with("Page 2 of 3"));
    let typed = h.invoke(Invocation::new(h.guild, asker, "leaderboard").option("page", 2)).await;
    assert_eq!(second.embed()["description"], typed.embed()["description"], "the same page as /leaderboard page:2");
    assert!(second.embed()["description"].as_str().unwrap().starts_with("**#11**"));

    let refused = h.sim.click(h.guild, other, &second, &id(3)).await.unwrap();
    assert!(!refused.updates_message && refused.is_ephemeral(), "someone else gets a note, the copy stays");
    assert!(refused.text().contains(&format!("Only <@{asker}>")), "{}", refused.text());

    let third = h.sim.click(h.guild, asker, &second, &id(3)).await.unwrap();
    assert!(footer(&third).starts_with("Page 3 of 3"));
    assert_eq!(buttons(&third)[1], (id(3), true), "Next stops at the last page");
    assert_eq!(third.embed()["description"].as_str().unwrap().lines().count(), 5, "25 members: 10, 10, 5");

    // Every answer has the shape Discord's OpenAPI description gives it.
    for request in h.sim.requests().iter().filter(|r| r.path.ends_with("/callback")) {
        let schema = match request.body["type"].as_u64() {
            Some(7) => "UpdateMessageInteractionCallbackRequest",
            _ => "CreateMessageInteractionCallbackRequest",
        };
        spec::assert_fits(schema, &request.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weekly_boards_count_the_window_and_skip_who_left() {
    use std::time::Duration;
    let h = Harness::start(14).await;
    // Member i posts i + 1 messages, a minute apart, all today; member 13,
    // the busiest, then leaves.
    for round in 0..14 {
        for (i, &member) in h.members.iter().enumerate() {
            if i >= round {
                h.sim.send_message(h.guild, member).unwrap();
            }
        }
        h.sim.advance(Duration::from_secs(61));
    }
    h.sim.leave(h.guild, h.members[13]).unwrap();
    h.settle().await;
    let asker = h.members[0];

    let board = |period: &'static str, by: &'static str| {
        Invocation::new(h.guild, asker, "leaderboard").option("period", period).option("by", by)
    };
    let weekly = h.invoke(board("week", "messages")).await;
    assert_eq!(weekly.embed()["title"], "Leaderboard — messages, last 7 days");
    let lines: Vec<String> = weekly.embed()["description"].as_str().unwrap().lines().map(str::to_owned).collect();
    assert_eq!(lines[0], "**#1** Member 12 — 13 messages", "member 13 left and is not listed");
    assert_eq!(lines[9], "**#10** Member 3 — 4 messages");
    assert!(footer(&weekly).starts_with("Page 1 of 2 · 13 ranked members"), "{}", footer(&weekly));
    let next = format!("lb:{asker}:2:week:messages");
    assert_eq!(buttons(&weekly)[1], (next.clone(), false), "the buttons keep the period and measure");
    let second = h.sim.click(h.guild, asker, &weekly, &next).await.unwrap();
    let last_line = second.embed()["description"].as_str().unwrap().lines().last().unwrap().to_owned();
    assert_eq!(last_line, "**#13** Member 0 — 1 message");

    // Monthly XP equals all-time XP here: everything happened today.
    let monthly = h.invoke(board("month", "xp")).await;
    let all_time = h.invoke(Invocation::new(h.guild, asker, "leaderboard")).await;
    let names = |reply: &InteractionReply| -> Vec<String> {
        let text = reply.embed()["description"].as_str().unwrap();
        text.lines().map(|l| l.split(" — ").next().unwrap().to_owned()).collect()
    };
    assert_eq!(names(&monthly), names(&all_time), "same members in the same order");
    let top_xp = h.export().into_iter().filter(|r| r.left_at.is_empty()).map(|r| r.xp).max().unwrap();
    assert!(monthly.embed()["description"]
        .as_str()
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .ends_with(&format!("{top_xp} XP")));
}

/// Boards by reactions count what still stands: removals and clears come
/// off, reactions to one's own message never count, and the week's board,
/// the all-time board and /activity agree with the export.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reaction_boards_count_what_still_stands() {
    let h = Harness::start(6).await;
    let m = &h.members;
    let posts: Vec<u64> = m.iter().map(|&member| h.sim.send_message(h.guild, member).unwrap()).collect();
    // Member i's post gets a reaction from each member before i: member 5
    // gets 5, member 4 gets 4, ..., member 0 none.
    for (i, &post) in posts.iter().enumerate() {
        for &reactor in &m[..i] {
            h.sim.react(post, reactor, "👍").unwrap();
        }
    }
    h.sim.react(posts[1], m[1], "🎉").unwrap(); // one's own: never counted
    h.sim.unreact(posts[5], m[0], "👍").unwrap(); // member 5 is down to 4
    h.sim.react(posts[2], m[4], "🎉").unwrap();
    h.sim.clear_reactions(posts[2], Some("🎉")).unwrap(); // member 2 keeps their 2 👍
    h.settle().await;

    let board = |period: &'static str, by: &'static str| {
        Invocation::new(h.guild, m[0], "leaderboard").option("period", period).option("by", by)
    };
    let lines = |reply: &InteractionReply| -> Vec<String> {
        reply.embed()["description"].as_str().unwrap().lines().map(str::to_owned).collect()
    };
    let received = h.invoke(board("week", "reactions")).await;
    assert_eq!(received.embed()["title"], "Leaderboard — reactions received, last 7 days");
    assert_eq!(
        lines(&received),
        [
            "**#1** Member 4 — 4 reactions received", // ties (members 4 and 5) by id
            "**#2** Member 5 — 4 reactions received",
            "**#3** Member 3 — 3 reactions received",
            "**#4** Member 2 — 2 reactions received",
            "**#5** Member 1 — 1 reaction received",
        ]
    );
    let all_time = h.invoke(board("all", "reactions")).await;
    assert_eq!(lines(&all_time), lines(&received), "everything happened this week");

    // Given: member 0 gave to 1..=5 and took one back (4); member 1 to 2..=5 (4); ...
    let given = h.invoke(board("month", "reactions_given")).await;
    assert_eq!(lines(&given)[0], "**#1** Member 0 — 4 reactions given");
    let export = h.export();
    let given_in_export: Vec<(String, u64)> = {
        let mut rows: Vec<(String, u64)> =
            export.iter().filter(|r| r.reactions_given > 0).map(|r| (r.name.clone(), r.reactions_given)).collect();
        rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        rows
    };
    let given_on_board: Vec<(String, u64)> = lines(&given)
        .iter()
        .map(|l| {
            let (name, figure) = l.split_once(" — ").unwrap();
            let name = name.split_once(' ').unwrap().1.to_owned();
            (name, figure.split(' ').next().unwrap().parse().unwrap())
        })
        .collect();
    assert_eq!(given_on_board, given_in_export, "the month's board equals the totals");

    let activity = h.invoke(Invocation::new(h.guild, m[0], "activity")).await;
    let standing: u64 = export.iter().map(|r| r.reactions_given).sum();
    assert_eq!(standing, 14);
    assert_eq!(activity.field("Reactions"), Some(standing.to_string()));
}
