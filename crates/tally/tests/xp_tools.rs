//! Admins' XP tools end to end: add, remove, set and reset go through the
//! ledger and the audit log; `/xp reset-server` waits for its admin's
//! confirmation, within a minute; a level taken away is announced again
//! when reached again, and admins' own changes announce nothing.

mod harness;

use discord_sim::Invocation;
use harness::{Harness, WAIT};

fn xp(h: &Harness, sub: &str) -> Invocation {
    Invocation::new(h.guild, h.sim.owner_id(), "xp").subcommand(sub)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_change_xp_through_the_ledger_with_an_audit_log() {
    let h = Harness::start(3).await;
    let (ann, bea) = (h.members[0], h.members[1]);
    h.sim.send_message(h.guild, ann).unwrap();
    h.settle().await;
    let earned = h.record(ann).xp;
    assert!((15..=25).contains(&earned));

    let added = h.invoke(xp(&h, "add").option("member", ann).option("amount", 500)).await;
    assert!(added.is_ephemeral(), "admin answers are private");
    let expected = format!("<@{ann}>: {earned} → {} XP (level 0 → 3).", earned + 500);
    assert_eq!(added.embed()["description"], expected.as_str());
    assert_eq!(h.record(ann).xp, earned + 500);
    h.invoke(xp(&h, "remove").option("member", bea).option("amount", 10)).await;
    assert_eq!(h.record(bea).xp, 0, "never below zero");
    h.invoke(xp(&h, "set").option("member", ann).option("amount", 1_000)).await;
    h.invoke(xp(&h, "reset").option("member", ann)).await;
    assert_eq!(h.record(ann).xp, 0);
    // Not for members without Manage Server, even when delivered.
    let attempt =
        Invocation::new(h.guild, bea, "xp").subcommand("add").option("member", bea).option("amount", 9).overridden();
    let refused = h.invoke(attempt).await;
    assert!(refused.text().contains("Manage Server"), "{}", refused.text());
    assert_eq!(h.record(bea).xp, 0);

    let log = h.invoke(xp(&h, "log")).await.text();
    let owner = h.sim.owner_id();
    let lines: Vec<&str> = log.lines().filter(|l| l.contains(&format!("<@{owner}>"))).collect();
    assert_eq!(lines.len(), 4, "{log}");
    assert!(lines[0].contains(&format!("reset <@{ann}>: 1,000 → 0 XP")), "newest first: {log}");
    assert!(lines[3].contains(&format!("added 500 XP to <@{ann}>: {earned} → {} XP", earned + 500)), "{log}");
    let anns = h.invoke(xp(&h, "log").option("member", ann)).await.text();
    assert_eq!(anns.lines().filter(|l| l.contains("<t:")).count(), 3, "{anns}");

    // A level taken away is announced again when reached again; an
    // admin's own change announces nothing.
    h.invoke(xp(&h, "set").option("member", ann).option("amount", 90)).await;
    h.sim.advance(std::time::Duration::from_secs(61)); // past the cooldown of Ann's first message
    h.sim.send_message(h.guild, ann).unwrap(); // ≥ 105 XP: level 1
    let posted = h.sim.wait_for_posted(1, WAIT).await.unwrap();
    let announcement = format!("GG <@{ann}>, you reached level 1!");
    assert_eq!(posted[0]["content"], announcement.as_str());
    h.invoke(xp(&h, "set").option("member", ann).option("amount", 90)).await;
    h.invoke(xp(&h, "set").option("member", bea).option("amount", 5_000)).await;
    h.sim.advance(std::time::Duration::from_secs(61));
    h.sim.send_message(h.guild, ann).unwrap();
    let posted = h.sim.wait_for_posted(2, WAIT).await.unwrap();
    assert_eq!(posted[1]["content"], announcement.as_str(), "reached again, announced again");
    assert_ne!(posted[1]["id"], posted[0]["id"], "a new message, not the first one returned for its nonce");
    assert_eq!(posted.len(), 2, "Bea's level from /xp set was not announced: {posted:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_server_waits_for_its_admins_confirmation() {
    let h = Harness::start(3).await;
    for &member in &h.members {
        h.sim.send_message(h.guild, member).unwrap();
    }
    h.settle().await;
    let total: u64 = h.export().iter().map(|r| r.xp).sum();
    assert!(total > 0);
    let (admin, other) = (h.sim.owner_id(), h.members[0]);

    // Someone else cannot press it; cancel changes nothing.
    let ask = h.invoke(xp(&h, "reset-server")).await;
    assert!(ask.is_ephemeral() && ask.text().contains("cannot be undone"), "{}", ask.text());
    let confirm = ask.data["components"][0]["components"][0]["custom_id"].as_str().unwrap().to_owned();
    let cancel = ask.data["components"][0]["components"][1]["custom_id"].as_str().unwrap().to_owned();
    let pressed = h.sim.click(h.guild, other, &ask, &confirm).await.unwrap();
    assert!(pressed.is_ephemeral() && !pressed.updates_message && pressed.text().contains("Only the admin"));
    let cancelled = h.sim.click(h.guild, admin, &ask, &cancel).await.unwrap();
    assert!(cancelled.updates_message && cancelled.text().contains("Nothing was changed"), "{}", cancelled.text());
    assert_eq!(h.export().iter().map(|r| r.xp).sum::<u64>(), total);

    // After a minute the question has expired.
    let ask = h.invoke(xp(&h, "reset-server")).await;
    h.sim.advance(std::time::Duration::from_secs(61));
    let late = h.sim.click(h.guild, admin, &ask, &confirm_of(&ask)).await.unwrap();
    assert!(late.text().contains("expired"), "{}", late.text());
    assert_eq!(h.export().iter().map(|r| r.xp).sum::<u64>(), total);

    // In time, by the admin: everyone back to zero, in the log.
    let ask = h.invoke(xp(&h, "reset-server")).await;
    let done = h.sim.click(h.guild, admin, &ask, &confirm_of(&ask)).await.unwrap();
    assert!(done.updates_message, "the answer replaces the question");
    assert!(done.text().contains(&format!("{} XP in all were reset", total)), "{}", done.text());
    assert!(h.export().iter().all(|r| r.xp == 0));
    let log = h.invoke(xp(&h, "log")).await.text();
    assert!(log.contains("reset the whole server"), "{log}");
    let board = h.invoke(Invocation::new(h.guild, admin, "leaderboard")).await;
    assert!(board.text().contains("No one has earned XP"), "the board is empty after a reset: {}", board.text());
}

fn confirm_of(reply: &discord_sim::InteractionReply) -> String {
    reply.data["components"][0]["components"][0]["custom_id"].as_str().unwrap().to_owned()
}
