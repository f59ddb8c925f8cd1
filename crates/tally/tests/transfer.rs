//! `/import` and `/export` in Discord, as an admin uses them: a MEE6 page
//! attached to `/import` is downloaded from the attachment's URL and
//! imported once, with the same summary as `tally import`; a bad file is
//! refused with its place and nothing written; members without Manage
//! Server are refused; `/export` attaches exactly what `tally export` prints.

mod harness;

use discord_sim::Invocation;
use harness::Harness;

fn mee6_page(players: &[(u64, u64)]) -> Vec<u8> {
    let players: Vec<serde_json::Value> = players
        .iter()
        .map(|&(id, xp)| serde_json::json!({ "id": id.to_string(), "xp": xp, "level": 0, "message_count": 7, "detailed_xp": [0, 100, xp] }))
        .collect();
    serde_json::to_vec(&serde_json::json!({ "page": 0, "players": players })).unwrap()
}

fn import(h: &Harness, user: u64, file: u64) -> Invocation {
    Invocation::new(h.guild, user, "import").option("file", file)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attached_mee6_page_is_imported_once() {
    let h = Harness::start(30).await;
    let owner = h.sim.owner_id();
    let players: Vec<(u64, u64)> = h.members.iter().enumerate().map(|(i, &id)| (id, 1_000 + 97 * i as u64)).collect();
    let page = h.sim.upload(h.guild, "leaderboard.json", "application/json", mee6_page(&players)).unwrap();

    let refused = h.sim.invoke(import(&h, h.members[0], page).overridden()).await.unwrap();
    assert!(refused.text().contains("Manage Server"), "{}", refused.text());

    let answer = h.invoke(import(&h, owner, page)).await;
    assert!(answer.is_ephemeral(), "the summary is for the admin");
    let text = answer.text();
    assert!(text.contains("Imported 30 members from 1 MEE6 leaderboard page (mode max)"), "{text}");
    assert!(text.contains("raised            30"), "{text}");
    assert!(h.sim.attachment_fetches().contains(&(page, true)), "downloaded from the attachment's URL");
    let exported = h.export();
    for &(id, xp) in &players {
        let r = exported.iter().find(|r| r.user_id == id.to_string()).unwrap();
        assert_eq!((r.xp, r.messages), (xp, 7), "member {id}");
    }
    let board = h.invoke(Invocation::new(h.guild, owner, "leaderboard")).await.text();
    assert!(board.contains("**#1** Member 29 — level"), "{board}");

    let again = h.invoke(import(&h, owner, page)).await.text();
    assert!(again.contains("Already imported"), "{again}");
    assert_eq!(h.export(), exported);

    // A bad row: refused with its line, nothing written.
    let bad = h.sim.upload(h.guild, "members.csv", "text/csv", b"user_id,xp\n1,5\n2,lots\n".to_vec()).unwrap();
    let refused = h.invoke(import(&h, owner, bad)).await.text();
    assert!(refused.contains("members.csv: line 3: xp") && refused.contains("Nothing was imported"), "{refused}");
    assert_eq!(h.export(), exported);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_attaches_what_tally_export_prints() {
    let h = Harness::start(5).await;
    for &member in &h.members {
        h.sim.send_message(h.guild, member).unwrap();
    }
    h.settle().await;
    for format in ["json", "csv"] {
        let answer = h.invoke(Invocation::new(h.guild, h.sim.owner_id(), "export").option("format", format)).await;
        assert!(answer.is_ephemeral() && answer.text().contains("Export of 6 members"), "{}", answer.text());
        assert_eq!(answer.files.len(), 1);
        let (_, name, bytes) = &answer.files[0];
        assert_eq!(name, &format!("tally-{}.{format}", h.guild));
        let printed = std::process::Command::new(env!("CARGO_BIN_EXE_tally"))
            .args(["export", "--guild", &h.guild.to_string(), "--format", format])
            .env("DATABASE_URL", h.database_url())
            .output()
            .unwrap()
            .stdout;
        assert_eq!(bytes, &printed, "{format}: the same bytes as `tally export`");
    }
}
