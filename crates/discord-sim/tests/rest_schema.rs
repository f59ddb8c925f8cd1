//! What the simulator answers over REST has the shape Discord's own OpenAPI
//! description gives, and its gateway payload objects do too.

mod spec;

use discord_sim::{payloads, world, SimConfig, Simulator};
use serde_json::{json, Value};

async fn call(sim: &Simulator, method: reqwest::Method, path: &str, body: Option<Value>, auth: bool) -> (u16, Value) {
    let mut request = reqwest::Client::new().request(method, format!("{}/api/v10/{path}", sim.api_base()));
    if auth {
        request = request.header("Authorization", format!("Bot {}", sim.token()));
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request reaches the simulator");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).expect("JSON body") })
}

#[tokio::test]
async fn rest_answers_fit_discords_schema() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let guild = sim.add_guild("Schema");
    let channel = sim.channel_of(guild).unwrap();

    let (status, gateway) = call(&sim, reqwest::Method::GET, "gateway/bot", None, true).await;
    assert_eq!(status, 200);
    spec::assert_fits("GatewayBotResponse", &gateway);
    assert!(gateway["url"].as_str().unwrap().starts_with("ws://127.0.0.1:"));

    let (_, app) = call(&sim, reqwest::Method::GET, "applications/@me", None, true).await;
    spec::assert_fits("PrivateApplicationResponse", &app);
    let (_, me) = call(&sim, reqwest::Method::GET, "users/@me", None, true).await;
    spec::assert_fits("UserPIIResponse", &me);

    let app_id = app["id"].as_str().unwrap().to_owned();
    let commands = json!([{ "name": "stats", "description": "Stats", "type": 1,
        "options": [{ "type": 6, "name": "member", "description": "Who", "required": false }] }]);
    let (status, registered) =
        call(&sim, reqwest::Method::PUT, &format!("applications/{app_id}/commands"), Some(commands), true).await;
    assert_eq!(status, 200);
    spec::assert_fits_array("ApplicationCommandResponse", &registered);

    let (status, message) = call(
        &sim,
        reqwest::Method::POST,
        &format!("channels/{channel}/messages"),
        Some(json!({ "embeds": [{ "title": "hi" }] })),
        true,
    )
    .await;
    assert_eq!(status, 200);
    spec::assert_fits("MessageResponse", &message);
    assert_eq!(message["embeds"][0]["title"], "hi");
}

#[tokio::test]
async fn errors_use_discords_error_body() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let (status, body) = call(&sim, reqwest::Method::GET, "users/@me", None, false).await;
    assert_eq!((status, body["message"].as_str()), (401, Some("401: Unauthorized")));
    spec::assert_fits("ErrorResponse", &body);
    let (status, body) = call(&sim, reqwest::Method::GET, "no/such/route", None, true).await;
    assert_eq!((status, body["code"].as_u64()), (404, Some(0)));
    spec::assert_fits("ErrorResponse", &body);
    let (status, body) =
        call(&sim, reqwest::Method::POST, "interactions/1/nope/callback", Some(json!({ "type": 4 })), false).await;
    assert_eq!((status, body["code"].as_u64()), (404, Some(10062)));
}

#[test]
fn gateway_objects_fit_discords_schema() {
    let ann = world::User {
        id: 80_351_110_224_678_912,
        username: "ann".into(),
        global_name: Some("Ann".into()),
        bot: false,
        avatar: Some("a_0123456789abcdef0123456789abcdef".into()),
    };
    let member = world::Member {
        user_id: ann.id,
        nick: Some("Annie".into()),
        joined_at_ms: 1_700_000_000_000,
        voice_channel: None,
    };
    spec::assert_fits("UserResponse", &payloads::user(&ann));
    spec::assert_fits("GuildMemberResponse", &payloads::member(&member, &ann));
    spec::assert_fits("MessageResponse", &payloads::message(4_194_304, 3, &ann, 1_700_000_000_000));
    spec::assert_fits("GuildChannelResponse", &payloads::channel(3, 2, 0));
    spec::assert_fits("GuildChannelResponse", &payloads::voice_channel(4, 2, 1, "Lounge"));
    spec::assert_fits("VoiceStateResponse", &payloads::voice_state(2, Some(4), &member, &ann));
    spec::assert_fits("VoiceStateResponse", &payloads::voice_state(2, None, &member, &ann));
}
