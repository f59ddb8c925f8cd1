//! Leveling settings end to end: an admin sets XP, the curve, no-XP roles,
//! multipliers and announcements with `/config`; members earn exactly what
//! the settings say; each level-up is announced once, where and how
//! configured; members without Manage Server are refused even when an
//! admin let Discord deliver the command to them.

mod harness;
#[path = "../../discord-sim/tests/spec/mod.rs"]
#[allow(dead_code)]
mod spec;

use discord_sim::world::permissions;
use discord_sim::{Invocation, SimError};
use harness::{Harness, WAIT};
use serde_json::Value;

fn config(h: &Harness, sub: &str) -> Invocation {
    Invocation::new(h.guild, h.sim.owner_id(), "config").subcommand(sub)
}

/// Sends `n` messages as `user` and returns once they are committed.
async fn talk(h: &Harness, user: u64, n: usize) {
    for _ in 0..n {
        h.sim.send_message(h.guild, user).unwrap();
    }
    h.settle().await;
}

/// The announcements posted so far, after waiting for at least `count`.
async fn announcements(h: &Harness, count: usize) -> Vec<Value> {
    h.sim.wait_for_posted(count, WAIT).await.expect("the level-ups are announced")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_change_exactly_what_they_say() {
    let h = Harness::start(4).await;
    let (ann, bea, cy, dee) = (h.members[0], h.members[1], h.members[2], h.members[3]);

    // Without Manage Server, Discord does not offer the command; with an
    // override it delivers it, and Tally refuses it itself.
    let refused = h.sim.invoke(Invocation::new(h.guild, ann, "config").subcommand("show")).await;
    assert!(matches!(refused, Err(SimError::Refused(_))), "{refused:?}");
    let attempt = Invocation::new(h.guild, ann, "config").subcommand("xp").option("min", 500).overridden();
    let answer = h.invoke(attempt).await;
    assert!(answer.is_ephemeral() && answer.text().contains("Manage Server"), "{}", answer.text());
    // A member given a role with Manage Server may.
    let managers = h.sim.add_role(h.guild, "Managers", permissions::MANAGE_GUILD).unwrap();
    h.sim.set_roles(h.guild, dee, &[managers]).unwrap();
    let shown = h.invoke(Invocation::new(h.guild, dee, "config").subcommand("show")).await;
    assert_eq!(
        shown.field("XP per message").as_deref(),
        Some("15–25 XP, cooldown 60 s"),
        "the refused change did nothing"
    );

    // Every message earns 20 XP, no cooldown; 100 XP a level.
    let saved = h.invoke(config(&h, "xp").option("min", 20).option("max", 20).option("cooldown", 0)).await;
    assert!(saved.is_ephemeral() && saved.text().contains("Saved"), "{}", saved.text());
    assert_eq!(saved.field("XP per message").as_deref(), Some("20–20 XP, cooldown 0 s"));
    let curve = h.invoke(config(&h, "curve").option("kind", "linear").option("b", 0).option("c", 100)).await;
    assert_eq!(curve.field("Level curve").as_deref(), Some("XP from level L to L+1 = 0·L² + 0·L + 100 (linear)"));
    let bad =
        h.invoke(config(&h, "levelup").option("where", "current").option("message", "GG {member}, level {lvl}")).await;
    assert!(bad.is_ephemeral() && bad.text().contains("{lvl}"), "the unknown placeholder is named: {}", bad.text());

    // A no-XP role, and a ×2.5 role.
    let muted = h.sim.add_role(h.guild, "Muted", 0).unwrap();
    let boosters = h.sim.add_role(h.guild, "Boosters", 0).unwrap();
    h.sim.set_roles(h.guild, bea, &[muted]).unwrap();
    h.sim.set_roles(h.guild, cy, &[boosters]).unwrap();
    h.invoke(config(&h, "noxp").option("role", muted).option("on", true)).await;
    let boosted = h.invoke(config(&h, "multiplier").option("role", boosters).option("factor", 2.5)).await;
    assert!(boosted.field("Multipliers").unwrap().contains(&format!("<@&{boosters}> ×2.5")), "{}", boosted.text());

    // Cy turns pings off for themselves.
    let quiet = h.invoke(Invocation::new(h.guild, cy, "notify").subcommand("off")).await;
    assert!(quiet.is_ephemeral() && quiet.text().contains("without pinging"), "{}", quiet.text());

    talk(&h, ann, 5).await; // 100 XP: level 1
    talk(&h, bea, 3).await; // no XP at all
    talk(&h, cy, 2).await; // 2 × 50 = 100 XP: level 1
    let posted = announcements(&h, 2).await;
    let channel = h.sim.channel_of(h.guild).unwrap().to_string();
    let ann_says = format!("GG <@{ann}>, you reached level 1!");
    let cy_says = format!("GG <@{cy}>, you reached level 1!");
    let find =
        |text: &str| posted.iter().find(|m| m["content"] == text).unwrap_or_else(|| panic!("{text} in {posted:?}"));
    let to_ann = find(&ann_says);
    assert_eq!(to_ann["channel_id"], channel.as_str(), "announced where Ann levelled up");
    assert_eq!(to_ann["allowed_mentions"]["users"][0], ann.to_string().as_str(), "Ann is pinged");
    assert!(to_ann["nonce"].as_str().is_some_and(|n| !n.is_empty() && n.len() <= 25));
    let to_cy = find(&cy_says);
    assert_eq!(to_cy["allowed_mentions"], serde_json::json!({ "parse": [] }), "Cy named, not pinged");
    assert_eq!(posted.len(), 2, "Bea earned nothing, so nothing was announced: {posted:?}");

    let records = h.export();
    let xp = |user: u64| {
        let r = records.iter().find(|r| r.user_id == user.to_string()).expect("exported");
        (r.messages, r.xp, r.level)
    };
    assert_eq!(xp(ann), (5, 100, 1));
    assert_eq!(xp(bea), (3, 0, 0));
    assert_eq!(xp(cy), (2, 100, 1));

    // A custom template, then a curve change: the curve re-levels everyone
    // (Ann's 100 XP are level 2 at 50 a level) and announces nothing.
    let template = "{name} is level {level} (was {old_level}), {xp} XP, #{rank} in {server}";
    h.invoke(config(&h, "levelup").option("where", "current").option("message", template)).await;
    talk(&h, ann, 5).await; // 200 XP: level 2
    let posted = announcements(&h, 3).await;
    assert_eq!(posted[2]["content"], "Member 0 is level 2 (was 1), 200 XP, #1 in Test Server");
    h.invoke(config(&h, "curve").option("kind", "custom").option("a", 0).option("b", 0).option("c", 50)).await;
    let stats = h.stats(ann).await;
    assert!(stats.embed()["title"].as_str().unwrap().ends_with("level 4"), "{}", stats.text());
    // Announcements are sent in order: the next one shows that the curve
    // change itself queued none.
    talk(&h, dee, 3).await; // 60 XP: level 1 at 50 a level
    let posted = announcements(&h, 4).await;
    assert_eq!(posted[3]["content"], "Member 3 is level 1 (was 0), 60 XP, #3 in Test Server");
    assert_eq!(posted.len(), 4, "a curve change announces nothing: {posted:?}");

    // Announcements off: levels still rise, silently.
    h.invoke(config(&h, "levelup").option("where", "off")).await;
    talk(&h, ann, 3).await; // 260 XP: level 5, not announced
    let shown = h.invoke(config(&h, "show")).await;
    assert!(shown.field("Level-up announcements").unwrap().starts_with("off"), "{}", shown.text());
    assert_eq!(h.record(ann).level, 5);
    h.invoke(config(&h, "levelup").option("where", "current")).await;
    talk(&h, dee, 2).await; // level 2 at 100 XP, tied with Cy, who ranks first by id
    let posted = announcements(&h, 5).await;
    assert_eq!(posted[4]["content"], "Member 3 is level 2 (was 1), 100 XP, #3 in Test Server");
    assert_eq!(posted.len(), 5, "Ann's level 5 came while announcements were off: {posted:?}");
}

/// Under Discord's own rate limits (5 messages per 5 s in a channel) a
/// burst of level-ups is announced in full without a single 429: the
/// announcer follows the `X-RateLimit-*` headers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_level_ups_waits_for_the_rate_limit() {
    let strict = discord_sim::SimConfig { rate_limits: discord_sim::RateLimits::DISCORD, ..Default::default() };
    let h = Harness::start_with(strict, 8).await;
    h.invoke(config(&h, "xp").option("min", 100).option("max", 100).option("cooldown", 0)).await;
    for &member in &h.members {
        h.sim.send_message(h.guild, member).unwrap(); // level 1 each
    }
    let posted = h.sim.wait_for_posted(8, WAIT).await.expect("all eight announced");
    assert_eq!(posted.len(), 8);
    assert_eq!(h.sim.rate_limited_requests(), Vec::<String>::new(), "the announcer never ran into a spent bucket");
}

/// Level-ups by DM; a channel Tally may not post in is given up on (once,
/// logged) without holding back the next announcement; every Create
/// Message and Create DM Tally sends fits Discord's schema.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dms_forbidden_channels_and_request_shapes() {
    let h = Harness::start(2).await;
    let (ann, bea) = (h.members[0], h.members[1]);
    h.invoke(config(&h, "xp").option("min", 100).option("max", 100).option("cooldown", 0)).await;
    h.invoke(config(&h, "curve").option("kind", "linear").option("b", 0).option("c", 100)).await;
    h.invoke(config(&h, "levelup").option("where", "dm")).await;
    h.sim.send_message(h.guild, ann).unwrap();
    let posted = h.sim.wait_for_posted(1, WAIT).await.unwrap();
    assert_eq!(posted[0]["channel_id"], (ann ^ 0x5A5A).to_string().as_str(), "in Ann's DM channel");

    // A channel where Tally's role may not send.
    let bot_role = h.sim.bot_role_of(h.guild).unwrap();
    use discord_sim::world::permissions::{SEND_MESSAGES, VIEW_CHANNEL};
    h.sim.set_role_permissions(h.guild, bot_role, VIEW_CHANNEL | SEND_MESSAGES).unwrap();
    let closed = h.sim.add_text_channel(h.guild).unwrap();
    let deny = discord_sim::world::Overwrite { id: bot_role, member: false, allow: 0, deny: SEND_MESSAGES };
    h.sim.set_overwrite(h.guild, deny, closed).unwrap();
    h.invoke(config(&h, "levelup").option("where", "channel").option("channel", closed)).await;
    h.sim.send_message(h.guild, bea).unwrap(); // refused by Discord: dropped
    h.settle().await;
    h.invoke(config(&h, "levelup").option("where", "current")).await;
    h.sim.send_message(h.guild, ann).unwrap(); // level 2, announced here
    let posted = h.sim.wait_for_posted(2, WAIT).await.unwrap();
    assert_eq!(posted[1]["content"], format!("GG <@{ann}>, you reached level 2!").as_str());
    assert_eq!(posted.len(), 2, "Bea's went nowhere: {posted:?}");

    let requests = h.sim.requests();
    let creates: Vec<_> = requests.iter().filter(|r| r.method == "POST" && r.path.ends_with("/messages")).collect();
    assert_eq!(creates.len(), 3, "one attempt each, the refused one not retried");
    for create in creates {
        spec::assert_fits("MessageCreateRequest", &create.body);
    }
    let dm = requests.iter().find(|r| r.path == "users/@me/channels").expect("a DM channel was opened");
    spec::assert_fits("CreatePrivateChannelRequest", &dm.body);
}
