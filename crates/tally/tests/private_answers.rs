//! Answers keep their privacy when the database is slow. Discord fixes a
//! deferred answer's visibility at the deferral and an edit cannot change
//! it, so Tally decides before deferring whether the answer is private and
//! whether it replaces the clicked message; an answer that turns out a
//! private notice after a public deferral replaces the placeholder with a
//! private follow-up.

mod harness;
#[path = "../../discord-sim/tests/spec/mod.rs"]
#[allow(dead_code)]
mod spec;

use discord_sim::Invocation;
use harness::Harness;

/// Holds the database's write lock and sends a message behind it, so the
/// next answers wait for that message (up to 2 s) and are deferred.
fn slow_down(h: &Harness) -> rusqlite::Connection {
    let blocker = rusqlite::Connection::open(h.dir.path().join("tally.db")).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    h.sim.send_message(h.guild, h.members[0]).unwrap();
    blocker
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_keep_their_privacy_fast_and_deferred() {
    let h = Harness::start(12).await;
    for &member in &h.members {
        h.sim.send_message(h.guild, member).unwrap();
    }
    h.settle().await;
    let (asker, other) = (h.members[0], h.members[1]);
    let next = format!("lb:{asker}:2:all:xp");

    // Fast: each answer as it is.
    let board = h.invoke(Invocation::new(h.guild, asker, "leaderboard")).await;
    assert!(!board.deferred && !board.is_ephemeral());
    let card = h.invoke(Invocation::new(h.guild, asker, "card").option("colour", "nonsense")).await;
    assert!(!card.deferred && card.is_ephemeral(), "a /card notice is private");
    let past = h.invoke(Invocation::new(h.guild, asker, "leaderboard").option("page", 99)).await;
    assert!(!past.deferred && past.is_ephemeral() && past.text().contains("no page 99"), "{}", past.text());
    let refused = h.sim.click(h.guild, other, &board, &next).await.unwrap();
    assert!(refused.is_ephemeral() && !refused.updates_message, "someone else's click gets a private note");

    let blocker = slow_down(&h);
    // Deferred: a private answer stays private.
    let card = h.invoke(Invocation::new(h.guild, asker, "card").option("colour", "nonsense")).await;
    assert!(card.deferred && card.is_ephemeral(), "a deferred /card notice is still private");
    assert!(card.text().contains("can't read"), "{}", card.text());
    // A public command whose answer is a notice: the placeholder goes and
    // the notice follows, privately.
    let past = h.invoke(Invocation::new(h.guild, asker, "leaderboard").option("page", 99)).await;
    assert!(past.deferred && past.followup, "the notice follows the removed placeholder");
    assert!(past.is_ephemeral() && past.text().contains("no page 99"), "{}", past.text());
    // A public answer stays public, edited into the placeholder.
    let stats = h.stats(asker).await;
    assert!(stats.deferred && !stats.is_ephemeral() && !stats.followup);
    // Someone else's click needs nothing read: answered at once, privately,
    // and the asker's board is left alone.
    let refused = h.sim.click(h.guild, other, &board, &next).await.unwrap();
    assert!(!refused.deferred, "known at once, so never deferred");
    assert!(refused.is_ephemeral() && !refused.updates_message, "the asker's board stays");
    assert!(refused.text().contains(&format!("Only <@{asker}>")), "{}", refused.text());
    // The asker's own click, deferred, still replaces their board.
    let second = h.sim.click(h.guild, asker, &board, &next).await.unwrap();
    assert!(second.deferred && second.updates_message && !second.is_ephemeral());
    assert!(second.embed()["footer"]["text"].as_str().unwrap_or_default().starts_with("Page 2 of 2"));
    blocker.execute_batch("COMMIT").unwrap();

    // Deferrals, follow-ups and the placeholder's removal are Discord's
    // documented requests.
    let requests = h.sim.requests();
    for callback in requests.iter().filter(|r| r.path.ends_with("/callback")) {
        let schema = match callback.body["type"].as_u64() {
            Some(6 | 7) => "UpdateMessageInteractionCallbackRequest",
            _ => "CreateMessageInteractionCallbackRequest",
        };
        spec::assert_fits(schema, &callback.body);
    }
    let followups: Vec<_> = requests.iter().filter(|r| r.method == "POST" && r.path.starts_with("webhooks/")).collect();
    assert_eq!(followups.len(), 1, "one answer came as a follow-up");
    spec::assert_fits("IncomingWebhookRequestPartial", &followups[0].body);
    let removed = requests.iter().filter(|r| r.method == "DELETE" && r.path.ends_with("/messages/@original")).count();
    assert_eq!(removed, 1, "one placeholder was removed");
}
