//! The rank card as a member sees it: `/stats` attaches a PNG with their
//! avatar (fetched from the simulator's CDN) or their initials, in the
//! colour they chose with `/card`.

mod harness;

use std::time::Duration;

use discord_sim::cdn::{avatar_png, AVATAR_SIZE};
use discord_sim::Invocation;
use harness::Harness;
use tally::card::svg::{AVATAR, HEIGHT, WIDTH};

fn rgb(png: &[u8], x: u32, y: u32) -> [u8; 3] {
    at(&tally::card::decode(png).expect("a PNG"), x, y)
}

fn at(image: &tally::card::Pixmap, x: u32, y: u32) -> [u8; 3] {
    let c = image.pixel(x, y).expect("inside").demultiply();
    [c.red(), c.green(), c.blue()]
}

fn close(a: [u8; 3], b: [u8; 3]) -> bool {
    a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= 6)
}

/// The point on the card inside the avatar disc, and the point of the
/// avatar picture drawn there (away from the picture's band edges).
fn probe() -> ((u32, u32), (u32, u32)) {
    let (cx, cy, r) = AVATAR;
    let card = ((cx - 30.0) as u32, cy as u32);
    let scale = 2.0 * r / AVATAR_SIZE as f32;
    let picture = (((card.0 as f32 - (cx - r)) / scale) as u32, ((card.1 as f32 - (cy - r)) / scale) as u32);
    (card, picture)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_attaches_a_card_with_the_avatar_or_initials() {
    let h = Harness::start(2).await;
    let (ada, bo) = (h.members[0], h.members[1]);
    h.sim.set_avatar(ada, Some("0123456789abcdef0123456789abcdef")).unwrap();
    for _ in 0..3 {
        h.sim.send_message(h.guild, ada).unwrap();
        h.sim.send_message(h.guild, bo).unwrap();
        h.sim.advance(Duration::from_secs(61));
    }
    h.settle().await;

    let reply = h.stats(ada).await;
    assert_eq!(reply.files.len(), 1, "one attachment");
    let (_, filename, png) = &reply.files[0];
    assert_eq!(filename, "rank-card.png");
    assert_eq!(reply.embed()["image"]["url"], "attachment://rank-card.png", "the embed shows the card");
    let card = tally::card::decode(png).expect("the card is a PNG");
    assert_eq!((card.width(), card.height()), (WIDTH, HEIGHT));

    let (on_card, on_picture) = probe();
    let picture = avatar_png(ada);
    let expected = rgb(&picture, on_picture.0, on_picture.1);
    assert!(close(rgb(png, on_card.0, on_card.1), expected), "Ada's avatar is in the disc");

    let bo_reply = h.stats(bo).await;
    let bo_png = &bo_reply.files[0].2;
    // Kept for people to look at, beside the web screenshots.
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/rank-cards");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("with-avatar.png"), png).unwrap();
    std::fs::write(out.join("with-initials.png"), bo_png).unwrap();
    assert!(!close(rgb(bo_png, on_card.0, on_card.1), expected), "Bo has no avatar");
    let (cx, cy, _) = AVATAR;
    let bo_card = tally::card::decode(bo_png).unwrap();
    let white = (cx as u32 - 40..cx as u32 + 40)
        .flat_map(|x| (cy as u32 - 30..cy as u32 + 30).map(move |y| (x, y)))
        .filter(|&(x, y)| at(&bo_card, x, y) == [255, 255, 255])
        .count();
    assert!(white > 100, "Bo's initials are drawn in the disc ({white} white pixels)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_choose_their_card_colour() {
    let h = Harness::start(1).await;
    let ada = h.members[0];
    h.sim.send_message(h.guild, ada).unwrap();
    h.settle().await;

    let bad = h.invoke(Invocation::new(h.guild, ada, "card").option("colour", "mauve")).await;
    assert!(bad.is_ephemeral());
    assert!(bad.text().contains("can't read \"mauve\""), "{}", bad.text());

    let set = h.invoke(Invocation::new(h.guild, ada, "card").option("colour", "#ff2200")).await;
    assert!(set.is_ephemeral());
    assert!(set.text().contains("#FF2200"), "{}", set.text());
    let reply = h.stats(ada).await;
    assert_eq!(reply.embed()["color"], 0xFF2200);
    assert_eq!(rgb(&reply.files[0].2, WIDTH / 2, 2), [0xFF, 0x22, 0x00], "the card's top edge takes the colour");

    let reset = h.invoke(Invocation::new(h.guild, ada, "card")).await;
    assert!(reset.text().contains("default"));
    let reply = h.stats(ada).await;
    assert_eq!(rgb(&reply.files[0].2, WIDTH / 2, 2), [0x58, 0x65, 0xF2], "back to blurple");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activity_shows_the_servers_days_with_a_chart() {
    let h = Harness::start(4).await;
    for round in 0..3 {
        for &member in &h.members[..=round] {
            h.sim.send_message(h.guild, member).unwrap();
        }
        h.sim.advance(Duration::from_secs(61));
    }
    h.sim.leave(h.guild, h.members[3]).unwrap();
    h.settle().await;

    let reply = h.invoke(Invocation::new(h.guild, h.members[0], "activity").option("days", 7)).await;
    assert_eq!(reply.field("Messages").as_deref(), Some("6"), "{}", reply.text());
    assert_eq!(reply.field("Left").as_deref(), Some("1"));
    let xp: u64 = h.export().iter().map(|r| r.xp).sum();
    assert_eq!(reply.field("XP earned"), Some(xp.to_string()));
    assert!(reply.embed()["title"].as_str().unwrap().contains("last 7 days"));
    assert_eq!(reply.embed()["image"]["url"], "attachment://activity.png");
    let chart = tally::card::decode(&reply.files[0].2).expect("a PNG");
    assert_eq!((chart.width(), chart.height()), (tally::card::activity::WIDTH, tally::card::activity::HEIGHT));
    // Today's bar (the last of seven) is drawn in the accent colour.
    let (x0, base, width, _) = tally::card::activity::BARS;
    let today = at(&chart, (x0 + width - width / 14.0) as u32, base as u32 - 3);
    assert_eq!(today, [0x58, 0x65, 0xF2], "today's messages bar");
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/rank-cards");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("activity.png"), &reply.files[0].2).unwrap();

    let too_short = h.invoke(Invocation::new(h.guild, h.members[0], "activity").option("days", 3).unchecked()).await;
    assert!(too_short.is_ephemeral(), "a stale client's out-of-range days get a note: {}", too_short.text());
}
