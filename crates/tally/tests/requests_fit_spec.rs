//! What the bot sends to Discord has the shape Discord's OpenAPI description
//! requires: command registration and interaction answers, immediate and
//! deferred alike.

mod harness;
#[path = "../../discord-sim/tests/spec/mod.rs"]
mod spec;

use discord_sim::Invocation;
use harness::Harness;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_and_answers_fit_discords_request_schemas() {
    let h = Harness::start(3).await;
    h.sim.send_message(h.guild, h.members[0]).unwrap();
    h.stats(h.members[0]).await;
    h.invoke(Invocation::new(h.guild, h.members[0], "leaderboard").option("page", 4)).await;
    h.invoke(Invocation::new(h.guild, h.members[0], "joined").option("member", h.members[1])).await;

    let requests = h.sim.requests();
    let registration =
        requests.iter().find(|r| r.method == "PUT" && r.path.ends_with("/commands")).expect("commands registered");
    spec::assert_fits_array("ApplicationCommandUpdateRequest", &registration.body);
    let names: Vec<&str> = registration.body.as_array().unwrap().iter().filter_map(|c| c["name"].as_str()).collect();
    assert_eq!(names, ["stats", "leaderboard", "joined"]);

    let callbacks: Vec<_> = requests.iter().filter(|r| r.path.ends_with("/callback")).collect();
    assert_eq!(callbacks.len(), 3, "one answer per command");
    for callback in callbacks {
        spec::assert_fits("CreateMessageInteractionCallbackRequest", &callback.body);
    }
    assert!(requests.iter().all(|r| !r.path.contains("oauth2")), "the bot uses only the documented bot endpoints");
}
