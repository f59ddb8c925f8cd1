//! Gateway faults never lose or double-count an event: dropped sockets,
//! RECONNECT, INVALID_SESSION (resumable or not) and a zombie connection
//! whose heartbeats go unanswered, with messages sent around each of them.

mod harness;

use harness::{Harness, WAIT};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_stay_exact_through_gateway_faults() {
    let h = Harness::start(1).await;
    let ann = h.members[0];
    let sent = std::cell::Cell::new(0u64);
    let post = |n: u64| {
        for _ in 0..n {
            h.sim.send_message(h.guild, ann).expect("a session receives the message");
        }
        sent.set(sent.get() + n);
    };

    post(5);
    h.sim.drop_connections();
    post(5); // buffered by the session while the socket is down
    h.sim.wait_for_bot(1, WAIT).await.unwrap();
    post(5);
    h.sim.send_reconnect();
    post(5);
    h.sim.wait_for_bot(1, WAIT).await.unwrap();
    h.sim.invalidate_sessions(true);
    post(5);
    h.sim.wait_for_bot(1, WAIT).await.unwrap();
    h.settle().await;
    assert_eq!(h.record(ann).messages, sent.get());
    let (identifies, resumes) = h.sim.session_starts();
    assert_eq!(identifies, 1, "every fault so far was resumable");
    assert!(resumes >= 2, "resumed after the drop and the reconnect: {resumes}");

    // A session Discord will not resume: the bot identifies afresh and counts on.
    h.sim.invalidate_sessions(false);
    h.sim.wait_for_bot(1, WAIT).await.unwrap();
    post(5);
    h.settle().await;
    assert_eq!(h.record(ann).messages, sent.get());
    assert_eq!(h.sim.session_starts().0, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaves_missed_while_offline_are_found_in_the_member_list() {
    let mut h = Harness::start(3).await;
    let (ann, bob) = (h.members[0], h.members[1]);
    h.sim.send_message(h.guild, ann).unwrap();
    h.sim.send_message(h.guild, bob).unwrap();
    h.settle().await;
    h.stop_bot().await;

    h.sim.leave(h.guild, bob).unwrap();
    h.sim.invalidate_sessions(false); // the session expired: Discord will not replay the leave
    h.start_bot().await;
    h.sim.wait_for_member_request(h.guild, 2, WAIT).await.unwrap();
    h.settle().await;

    let bob_record = h.record(bob);
    assert!(!bob_record.left_at.is_empty(), "bob is recorded as gone");
    assert_eq!(bob_record.messages, 1, "history is kept");
    assert!(h.record(ann).left_at.is_empty(), "ann is still here");
    let board = h.invoke(discord_sim::Invocation::new(h.guild, ann, "leaderboard")).await;
    assert!(!board.text().contains("Member 1"), "{}", board.text());
    assert!(board.text().contains("Member 0"), "{}", board.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zombie_connection_is_replaced_by_a_resumed_one() {
    let config = discord_sim::SimConfig { heartbeat_interval_ms: 200, ..Default::default() };
    let h = Harness::start_with(config, 1).await;
    let ann = h.members[0];
    for _ in 0..3 {
        h.sim.send_message(h.guild, ann).unwrap();
    }
    h.sim.set_heartbeat_acks(false);
    for _ in 0..3 {
        h.sim.send_message(h.guild, ann).unwrap();
    }
    // Heartbeats go unanswered: the bot must notice and resume on a new connection.
    h.sim.wait_for_session_starts(1, 1, WAIT).await.unwrap();
    h.sim.set_heartbeat_acks(true);
    h.sim.wait_for_bot(1, WAIT).await.unwrap();
    for _ in 0..3 {
        h.sim.send_message(h.guild, ann).unwrap();
    }
    h.settle().await;
    assert_eq!(h.record(ann).messages, 9);
    assert_eq!(h.sim.session_starts().0, 1, "resumed, never identified afresh");
}
