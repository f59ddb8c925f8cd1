//! Faults injected into a real MongoDB wire conversation with MongoDB's own
//! `failCommand` fail point, while the bot counts a stream of messages: a
//! write conflict, dropped connections in the middle of a batch and during
//! its commit, a commit that was applied but whose write concern failed (its
//! outcome unknown to the bot), a primary stepping down. Each fault is seen
//! to make the ledger retry, and at the end every member's messages and XP
//! are exactly what was sent: nothing lost, nothing counted twice.

mod harness;

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use discord_sim::{Invocation, SimConfig};
use harness::Harness;
use tally::domain::XpSettings;
use tally::store::mongo::scratch::ScratchDatabase;

#[derive(Default)]
struct Expected {
    messages: u64,
    xp: u64,
    last_xp_at: Option<u64>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_mongodb_faults_lose_and_double_nothing() {
    // Only this bot's commands meet the faults: they are armed for its name.
    let app = format!("tally-faults-{}", std::process::id());
    let mut h = Harness::start_on(SimConfig::default(), 12, Some(ScratchDatabase::create_for_app(&app))).await;
    // No announcements: the ledger alone commits, so every fault is its to meet.
    let off = Invocation::new(h.guild, h.sim.owner_id(), "config").subcommand("levelup").option("where", "off");
    h.invoke(off).await;
    h.settle().await;
    let ledger = h.bot.as_ref().unwrap().context().ledger.clone();
    let settings = XpSettings::default();
    let mut expected: HashMap<u64, Expected> = h.members.iter().map(|m| (*m, Expected::default())).collect();
    let mut pick = 0usize;

    // (what, how many times, the fail point's data). Only commands the
    // ledger sends are failed, so the settling command reads as usual.
    let faults = [
        (
            "a write conflict",
            3,
            serde_json::json!({ "failCommands": ["bulkWrite"], "errorCode": 112,
                "errorLabels": ["TransientTransactionError"] }),
        ),
        (
            "a connection dropped mid-batch",
            3,
            serde_json::json!({ "failCommands": ["bulkWrite"], "closeConnection": true }),
        ),
        (
            "a connection dropped at commit",
            2,
            serde_json::json!({ "failCommands": ["commitTransaction"], "closeConnection": true }),
        ),
        (
            "a commit applied whose write concern failed",
            2,
            serde_json::json!({ "failCommands": ["commitTransaction"],
                "writeConcernError": { "code": 91, "errmsg": "Replication is being shut down" } }),
        ),
        (
            "a primary stepping down",
            2,
            serde_json::json!({ "failCommands": ["bulkWrite"], "errorCode": 189,
                "errorLabels": ["TransientTransactionError"] }),
        ),
    ];
    let scratch = h.mongo.as_ref().expect("on MongoDB");
    for (what, times, data) in faults {
        let retries = ledger.stats().retries.load(Ordering::Relaxed);
        let armed = scratch.fail_commands(&app, times, data);
        for _ in 0..40 {
            h.sim.advance(Duration::from_millis(7_000 + (pick as u64 * 7_919) % 60_000));
            let author = h.members[pick % h.members.len()];
            pick += 1;
            let id = h.sim.send_message(h.guild, author).unwrap();
            let e = expected.get_mut(&author).unwrap();
            e.messages += 1;
            let at = discord_sim::clock::timestamp_ms(id);
            if e.last_xp_at.is_none_or(|last| at - last >= 60_000) {
                e.xp += u64::from(settings.message_xp(id));
                e.last_xp_at = Some(at);
            }
        }
        h.settle().await;
        assert!(
            ledger.stats().retries.load(Ordering::Relaxed) > retries,
            "{what}: the ledger met the fault and retried"
        );
        drop(armed);
    }

    let exported = h.export();
    for (user, e) in &expected {
        let r = exported.iter().find(|r| r.user_id == user.to_string()).expect("member exported");
        assert_eq!((r.messages, r.xp), (e.messages, e.xp), "member {user}");
    }
    assert_eq!(exported.iter().map(|r| r.messages).sum::<u64>(), 200);
    drop(ledger); // a handle held here would keep the ledger from finishing
    h.stop_bot().await;
}

/// A batch that holds only a stored request (here `tally import`, taken by
/// the running bot) whose commit fails with its outcome unknown to the
/// driver, and did not commit. The ledger reads the request back, finds it
/// not applied, and applies it once (a blind retry of one that did commit
/// would apply it twice). Before requests were read back, the batch was
/// taken as done and the bot's request taker found the request again a
/// moment later; `ledger::tests` holds the read-back itself to account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_whose_commit_outcome_is_lost_is_applied_once() {
    let app = format!("tally-import-cut-{}", std::process::id());
    let h = Harness::start_on(SimConfig::default(), 3, Some(ScratchDatabase::create_for_app(&app))).await;
    let off = Invocation::new(h.guild, h.sim.owner_id(), "config").subcommand("levelup").option("where", "off");
    h.invoke(off).await;
    h.settle().await;
    let ledger = h.bot.as_ref().unwrap().context().ledger.clone();
    let member = h.members[1];
    let before = h.record(member).xp;

    // Both tries of the commit (the driver retries a commit once on its
    // own) fail before the server runs them, with an error that leaves the
    // outcome unknown to the client: the import is not committed.
    let scratch = h.mongo.as_ref().expect("on MongoDB");
    let armed = scratch.fail_commands(
        &app,
        2,
        serde_json::json!({ "failCommands": ["commitTransaction"], "errorCode": 91,
            "errorLabels": ["UnknownTransactionCommitResult"] }),
    );
    let retries = ledger.stats().retries.load(Ordering::Relaxed);
    let file = h.dir.path().join("xp.csv");
    std::fs::write(&file, format!("user_id,xp\n{member},500\n")).unwrap();
    let url = h.database_url();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_tally"))
            .args(["import", "--guild", &h.guild.to_string(), "--mode", "add"])
            .arg(&file)
            .env("DATABASE_URL", url)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    drop(armed);
    assert!(ledger.stats().retries.load(Ordering::Relaxed) > retries, "the failed commit was retried");
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(printed.contains("through the running bot"), "the bot applied it, not the command's fallback: {printed}");
    assert_eq!(h.record(member).xp, before + 500, "the import counts once");
    drop(ledger);
}
