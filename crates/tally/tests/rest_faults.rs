//! Discord's REST API failing while Tally answers a command: a 429 is waited
//! out as its headers say, a burst of 5xx is retried, and the answer still
//! arrives before Discord's 3-second deadline. When Discord keeps failing
//! past the deadline, Tally gives up on that one answer and carries on.

mod harness;

use std::time::Duration;

use discord_sim::RestFault;
use harness::Harness;

fn callbacks(h: &Harness) -> usize {
    h.sim.requests().iter().filter(|r| r.path.starts_with("interactions/") && r.path.ends_with("/callback")).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_answer_is_sent_after_the_wait() {
    let h = Harness::start(1).await;
    let ann = h.members[0];
    h.sim.send_message(h.guild, ann).unwrap();
    h.settle().await;

    let before = callbacks(&h);
    let wait = Duration::from_millis(400);
    h.sim.inject_rest_faults("interactions/", [RestFault::RateLimited { retry_after: wait, global: false }]);
    let reply = h.stats(ann).await;
    assert_eq!(reply.field("Messages").as_deref(), Some("1"));
    assert_eq!(callbacks(&h) - before, 2, "one attempt refused with 429, the next one answered");
    assert!(reply.ack_after >= wait, "the retry waited as Retry-After said: {:?}", reply.ack_after);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_server_errors_is_retried_in_time() {
    let h = Harness::start(1).await;
    let ann = h.members[0];
    h.sim.send_message(h.guild, ann).unwrap();
    h.settle().await;

    let before = callbacks(&h);
    let burst = [500, 502, 503, 504].map(RestFault::ServerError);
    h.sim.inject_rest_faults("interactions/", burst);
    let reply = h.stats(ann).await;
    assert_eq!(reply.field("Messages").as_deref(), Some("1"));
    assert_eq!(callbacks(&h) - before, 5, "four failures, then the answer");
    assert!(reply.ack_after < Duration::from_secs(3), "answered within the deadline: {:?}", reply.ack_after);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_discord_fails_past_the_deadline_the_next_command_still_works() {
    let h = Harness::start(1).await;
    let ann = h.members[0];
    h.sim.inject_rest_faults("interactions/", std::iter::repeat_n(RestFault::ServerError(503), 50));
    let lost = tokio::time::timeout(Duration::from_secs(5), h.stats(ann)).await;
    assert!(lost.is_err(), "no answer can get through a 503 on every attempt");
    let attempts = callbacks(&h);
    assert!((3..50).contains(&attempts), "retried a few times, then gave up: {attempts}");

    h.sim.clear_rest_faults();
    h.sim.send_message(h.guild, ann).unwrap();
    assert_eq!(h.stats(ann).await.field("Messages").as_deref(), Some("1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_up_rides_out_server_errors_and_rate_limits() {
    let mut h = Harness::start(1).await;
    h.stop_bot().await;
    let reads = |h: &Harness| h.sim.requests().iter().filter(|r| r.path == "applications/@me").count();
    let before = reads(&h);
    h.sim.inject_rest_faults("applications/", [RestFault::ServerError(502), RestFault::ServerError(500)]);
    h.sim.inject_rest_faults(
        "applications/",
        [RestFault::RateLimited { retry_after: Duration::from_millis(200), global: false }],
    );
    h.start_bot().await;
    assert_eq!(reads(&h) - before, 4, "502, 500 and 429 each answered by one more attempt");
    let ann = h.members[0];
    h.sim.send_message(h.guild, ann).unwrap();
    assert_eq!(h.stats(ann).await.field("Messages").as_deref(), Some("1"));
}
