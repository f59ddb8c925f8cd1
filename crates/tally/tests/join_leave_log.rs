//! `/config log`: one post per live join and leave in the log channel, each
//! once, with who, account age, time in the server for a leave, and the
//! member count; nothing for the members Tally learns of from the member
//! list, and nothing while the log is off.

mod harness;

use discord_sim::Invocation;
use harness::{Harness, WAIT};

fn log_to(h: &Harness, channel: Option<u64>) -> Invocation {
    let invocation = Invocation::new(h.guild, h.sim.owner_id(), "config").subcommand("log");
    match channel {
        Some(channel) => invocation.option("channel", channel),
        None => invocation,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joins_and_leaves_are_posted_once_each() {
    let h = Harness::start(2).await;
    let channel = h.sim.channel_of(h.guild).unwrap();
    let shown = h.invoke(log_to(&h, Some(channel))).await;
    assert_eq!(shown.field("Join/leave log"), Some(format!("<#{channel}>")));

    let zoe = h.sim.add_user("zoe", Some("Zoe"), false);
    h.sim.join(h.guild, zoe).unwrap();
    let created = (((zoe >> 22) + 1_420_070_400_000) / 1000).to_string();
    let posted = h.sim.wait_for_posted(1, WAIT).await.unwrap();
    // The bot, the owner, two members and Zoe.
    let joined = format!("📥 <@{zoe}> (**Zoe**) joined. Account created <t:{created}:R>. Members: 5.");
    assert_eq!(posted[0]["content"], joined.as_str());
    assert_eq!(posted[0]["channel_id"], channel.to_string().as_str());
    assert_eq!(posted[0]["allowed_mentions"], serde_json::json!({ "parse": [] }), "the log pings no one");
    h.sim.leave(h.guild, zoe).unwrap();
    let posted = h.sim.wait_for_posted(2, WAIT).await.unwrap();
    let left =
        format!("📤 **Zoe** (<@{zoe}>) left after less than a minute in the server. Account created <t:{created}:R>. Members: 4.");
    assert_eq!(posted[1]["content"], left.as_str());

    // Off: a join is not posted. Posts go out in the order things happened,
    // so once the next one (with the log back on) is posted, the one before
    // would have been too.
    h.invoke(log_to(&h, None)).await;
    let unseen = h.sim.add_user("ghost", None, false);
    h.sim.join(h.guild, unseen).unwrap();
    h.settle().await;
    h.invoke(log_to(&h, Some(channel))).await;
    let yan = h.sim.add_user("yan", None, false);
    h.sim.join(h.guild, yan).unwrap();
    let posted = h.sim.wait_for_posted(3, WAIT).await.unwrap();
    assert!(
        posted[2]["content"].as_str().unwrap().starts_with(&format!("📥 <@{yan}> (**yan**) joined.")),
        "{posted:?}"
    );
    assert_eq!(
        posted.len(),
        3,
        "no post for the join while the log was off, none for the members at start: {posted:?}"
    );
}
