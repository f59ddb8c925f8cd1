//! Interactions Tally cannot serve as asked get a friendly answer only the
//! asker sees: a command it no longer has, options of the wrong type, a
//! command typed in a direct message. None of them stops the bot.

mod harness;

use discord_sim::Invocation;
use harness::Harness;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_commands_wrong_options_and_dms_get_friendly_private_answers() {
    let h = Harness::start(1).await;
    let ann = h.members[0];

    let unknown = h.invoke(Invocation::new(h.guild, ann, "frobnicate").unchecked()).await;
    assert!(unknown.is_ephemeral());
    assert!(unknown.text().contains("/frobnicate"), "{}", unknown.text());
    assert!(unknown.text().contains("/stats"), "suggests what exists: {}", unknown.text());

    let wrong_type = h.invoke(Invocation::new(h.guild, ann, "leaderboard").option("page", "two").unchecked()).await;
    assert!(wrong_type.is_ephemeral());
    assert!(wrong_type.text().contains("options"), "{}", wrong_type.text());

    let not_a_member = h.invoke(Invocation::new(h.guild, ann, "stats").option("member", true).unchecked()).await;
    assert!(not_a_member.is_ephemeral());
    assert!(not_a_member.text().contains("options"), "{}", not_a_member.text());

    let dm = h.invoke(Invocation::in_dm(ann, "stats")).await;
    assert!(dm.is_ephemeral());
    assert!(dm.text().contains("in a server"), "{}", dm.text());

    // The bot is still counting and answering.
    h.sim.send_message(h.guild, ann).unwrap();
    let stats = h.stats(ann).await;
    assert!(!stats.is_ephemeral());
    assert_eq!(stats.field("Messages").as_deref(), Some("1"));
}
