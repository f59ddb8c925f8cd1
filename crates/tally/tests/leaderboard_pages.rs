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
    let next = format!("lb:{asker}:2");
    assert_eq!(buttons(&first), [(format!("lb:{asker}:1"), true), (next.clone(), false)]);
    assert!(h.sim.click(h.guild, asker, &first, &format!("lb:{asker}:1")).await.is_err(), "Previous is disabled");

    let second = h.sim.click(h.guild, asker, &first, &next).await.unwrap();
    assert!(second.updates_message, "the page replaces the asker's copy");
    assert!(footer(&second).starts_with("Page 2 of 3"));
    let typed = h.invoke(Invocation::new(h.guild, asker, "leaderboard").option("page", 2)).await;
    assert_eq!(second.embed()["description"], typed.embed()["description"], "the same page as /leaderboard page:2");
    assert!(second.embed()["description"].as_str().unwrap().starts_with("**#11**"));

    let refused = h.sim.click(h.guild, other, &second, &format!("lb:{asker}:3")).await.unwrap();
    assert!(!refused.updates_message && refused.is_ephemeral(), "someone else gets a note, the copy stays");
    assert!(refused.text().contains(&format!("Only <@{asker}>")), "{}", refused.text());

    let third = h.sim.click(h.guild, asker, &second, &format!("lb:{asker}:3")).await.unwrap();
    assert!(footer(&third).starts_with("Page 3 of 3"));
    assert_eq!(buttons(&third)[1], (format!("lb:{asker}:3"), true), "Next stops at the last page");
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
