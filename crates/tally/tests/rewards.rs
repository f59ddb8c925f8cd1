//! Role rewards end to end: after every change of level the member's reward
//! roles are the whole set their level earns (stack or highest), across
//! jumps, an admin's reduction, a curve change and a rejoin; roles that are
//! not rewards are never touched; a role Tally cannot give is reported
//! once and counting goes on.

mod harness;

use std::collections::BTreeSet;

use discord_sim::world::permissions;
use discord_sim::Invocation;
use harness::{Harness, WAIT};

fn admin(h: &Harness, command: &str, sub: &str) -> Invocation {
    Invocation::new(h.guild, h.sim.owner_id(), command).subcommand(sub)
}

/// Waits until `user` holds exactly `roles` (as the bot's role changes arrive).
async fn holds(h: &Harness, user: u64, roles: &[u64]) {
    let wanted: BTreeSet<u64> = roles.iter().copied().collect();
    loop {
        let changes = h.sim.role_changes().len();
        let now: BTreeSet<u64> = h.sim.roles_of(h.guild, user).unwrap().into_iter().collect();
        if now == wanted {
            return;
        }
        if h.sim.wait_for_role_changes(changes + 1, WAIT).await.is_err() {
            panic!("member {user} holds {now:?}, not {wanted:?} (changes so far: {:?})", h.sim.role_changes());
        }
    }
}

async fn talk(h: &Harness, user: u64, n: usize) {
    for _ in 0..n {
        h.sim.send_message(h.guild, user).unwrap();
    }
    h.settle().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reward_roles_are_always_the_whole_set_the_level_earns() {
    let h = Harness::start(3).await;
    let (ann, bea) = (h.members[0], h.members[1]);
    // 100 XP a message, 100 XP a level.
    h.invoke(admin(&h, "config", "xp").option("min", 100).option("max", 100).option("cooldown", 0)).await;
    h.invoke(admin(&h, "config", "curve").option("kind", "linear").option("b", 0).option("c", 100)).await;
    let [r2, r4, r6] = ["Level 2", "Level 4", "Level 6"].map(|name| h.sim.add_role(h.guild, name, 0).unwrap());
    let artist = h.sim.add_role(h.guild, "Artist", 0).unwrap();
    h.sim.set_roles(h.guild, ann, &[artist]).unwrap();
    for (level, role) in [(2, r2), (4, r4), (6, r6)] {
        h.invoke(admin(&h, "rewards", "add").option("level", level).option("role", role)).await;
    }
    let listed = h.invoke(admin(&h, "rewards", "list")).await.text();
    assert!(listed.contains(&format!("Level 2: <@&{r2}>\nLevel 4: <@&{r4}>\nLevel 6: <@&{r6}>")), "{listed}");

    // A jump past two rewards, stacked; the unrelated role stays.
    talk(&h, ann, 5).await;
    holds(&h, ann, &[artist, r2, r4]).await;
    // Highest: only the top reward reached.
    h.invoke(admin(&h, "rewards", "mode").option("mode", "highest")).await;
    holds(&h, ann, &[artist, r4]).await;
    // An admin's reduction takes rewards away.
    h.invoke(admin(&h, "xp", "set").option("member", ann).option("amount", 150)).await;
    holds(&h, ann, &[artist]).await;
    // A new curve re-levels: 150 XP at 25 a level is level 6.
    h.invoke(admin(&h, "config", "curve").option("kind", "custom").option("a", 0).option("b", 0).option("c", 25)).await;
    holds(&h, ann, &[artist, r6]).await;
    // Coming back brings the rewards back (Discord gives a rejoining member no roles).
    h.sim.leave(h.guild, ann).unwrap();
    h.sim.join(h.guild, ann).unwrap();
    holds(&h, ann, &[r6]).await;
    // Unless the server turned that off.
    h.invoke(admin(&h, "rewards", "rejoin").subcommand("off")).await;
    h.invoke(admin(&h, "xp", "set").option("member", bea).option("amount", 100)).await; // level 4
    holds(&h, bea, &[r4]).await;
    h.sim.leave(h.guild, bea).unwrap();
    h.sim.join(h.guild, bea).unwrap();
    // The queue is worked through in order: once a later change is made,
    // Bea's rejoin would have been handled had it been queued.
    let cy = h.members[2];
    h.invoke(admin(&h, "xp", "set").option("member", cy).option("amount", 50)).await; // level 2
    holds(&h, cy, &[r2]).await;
    assert!(h.sim.roles_of(h.guild, bea).unwrap().is_empty(), "Bea's rewards wait: rejoin is off");
    // A sync brings everyone in line, Bea included.
    let synced = h.invoke(admin(&h, "rewards", "sync")).await;
    assert!(synced.text().contains("in line"), "{}", synced.text());
    assert_eq!(h.sim.roles_of(h.guild, bea).unwrap(), [r4]);
    // Removing a reward takes it from those who hold it.
    h.invoke(admin(&h, "rewards", "remove").option("role", r6)).await;
    holds(&h, ann, &[r4]).await;
    let changed: BTreeSet<u64> = h.sim.role_changes().iter().map(|c| c.2).collect();
    assert!(!changed.contains(&artist), "a role that is not a reward is never touched");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_tally_cannot_give_is_reported_once() {
    let h = Harness::start(2).await;
    let ann = h.members[0];
    h.invoke(admin(&h, "config", "xp").option("min", 100).option("max", 100).option("cooldown", 0)).await;
    let given = h.sim.add_role(h.guild, "Regular", 0).unwrap();
    let above = h.sim.add_role(h.guild, "Moderator", 0).unwrap();
    h.sim.move_role_to_top(h.guild, above).unwrap();
    h.invoke(admin(&h, "rewards", "add").option("level", 1).option("role", given)).await;
    h.invoke(admin(&h, "rewards", "add").option("level", 1).option("role", above)).await;
    let log = h.sim.channel_of(h.guild).unwrap();
    h.invoke(admin(&h, "config", "log").option("channel", log)).await;

    talk(&h, ann, 1).await; // level 1
    holds(&h, ann, &[given]).await;
    let posted = h.sim.wait_for_posted(2, WAIT).await.unwrap(); // the level-up and the warning
    let warning: Vec<_> = posted.iter().filter(|m| m["content"].as_str().unwrap().contains("cannot give")).collect();
    assert_eq!(warning.len(), 1, "{posted:?}");
    assert!(warning[0]["content"].as_str().unwrap().contains(&format!("<@&{above}>")));
    let shown = h.invoke(admin(&h, "config", "show")).await.text();
    assert!(shown.contains(&format!("cannot give <@&{above}>")), "{shown}");

    // Again: still not possible, still told only once; counting goes on.
    let synced = h.invoke(admin(&h, "rewards", "sync")).await;
    assert!(synced.text().contains("in line"), "{}", synced.text());
    talk(&h, ann, 1).await;
    assert_eq!(h.record(ann).messages, 2);
    let told =
        h.sim.posted_messages().iter().filter(|m| m["content"].as_str().unwrap().contains("cannot give")).count();
    assert_eq!(told, 1);

    // Without Manage Roles nothing can be given: the Regular role too is reported, once.
    let bot_role = h.sim.bot_role_of(h.guild).unwrap();
    h.sim.set_role_permissions(h.guild, bot_role, permissions::SEND_MESSAGES).unwrap();
    h.invoke(admin(&h, "xp", "set").option("member", ann).option("amount", 0)).await;
    let posted = h.sim.wait_for_posted(posted.len() + 1, WAIT).await.unwrap();
    assert!(posted.last().unwrap()["content"].as_str().unwrap().contains(&format!("<@&{given}>")), "{posted:?}");
    assert_eq!(h.sim.roles_of(h.guild, ann).unwrap(), [given], "Discord refused, so Ann keeps it");
}
