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
    h.invoke(Invocation::new(h.guild, h.members[0], "card").option("colour", "green")).await;

    let requests = h.sim.requests();
    let registration =
        requests.iter().find(|r| r.method == "PUT" && r.path.ends_with("/commands")).expect("commands registered");
    spec::assert_fits_array("ApplicationCommandUpdateRequest", &permissions_as_integers(&registration.body));
    let names: Vec<&str> = registration.body.as_array().unwrap().iter().filter_map(|c| c["name"].as_str()).collect();
    assert_eq!(
        names,
        [
            "stats",
            "leaderboard",
            "joined",
            "card",
            "activity",
            "config",
            "notify",
            "xp",
            "rewards",
            "privacy",
            "import",
            "export"
        ]
    );
    let config = &registration.body[5];
    assert_eq!(config["default_member_permissions"], "32", "admin commands need Manage Server by default");
    let subcommands: Vec<&str> =
        config["options"].as_array().unwrap().iter().filter_map(|o| o["name"].as_str()).collect();
    assert_eq!(subcommands, ["show", "xp", "curve", "noxp", "multiplier", "levelup", "log", "voicexp"]);

    let callbacks: Vec<_> = requests.iter().filter(|r| r.path.ends_with("/callback")).collect();
    assert_eq!(callbacks.len(), 4, "one answer per command");
    for callback in &callbacks {
        spec::assert_fits("CreateMessageInteractionCallbackRequest", &attachment_ids_as_strings(&callback.body));
    }
    // The rank card goes as a multipart file that the JSON's attachments list names.
    let stats = callbacks[0];
    assert_eq!(stats.files.len(), 1);
    assert_eq!(stats.files[0].0, "files[0]", "Discord's form field name for the first file");
    assert_eq!(stats.body["data"]["attachments"][0]["filename"], "rank-card.png");
    assert!(requests.iter().all(|r| !r.path.contains("oauth2")), "the bot uses only the documented bot endpoints");
}

/// Discord's docs give `default_member_permissions` as a string of the
/// permission bits (as twilight, discord.py and Discord's own answers send
/// it); its OpenAPI description types the request field as an integer.
/// Discord takes both, so the string is checked as the number it spells.
fn permissions_as_integers(commands: &serde_json::Value) -> serde_json::Value {
    let mut commands = commands.clone();
    for command in commands.as_array_mut().into_iter().flatten() {
        if let Some(bits) = command["default_member_permissions"].as_str().map(|s| s.parse::<u64>().expect("digits")) {
            command["default_member_permissions"] = bits.into();
        }
    }
    commands
}

/// twilight sends a new attachment's id as a number (`"id": 0`), as in the
/// example of Discord's "Uploading Files" documentation, and Discord accepts
/// it; the OpenAPI description types every snowflake as a string. Compare
/// the rest of the shape as the schema has it.
fn attachment_ids_as_strings(body: &serde_json::Value) -> serde_json::Value {
    let mut body = body.clone();
    if let Some(attachments) = body["data"]["attachments"].as_array_mut() {
        for attachment in attachments {
            if let Some(id) = attachment["id"].as_u64() {
                attachment["id"] = id.to_string().into();
            }
        }
    }
    body
}
