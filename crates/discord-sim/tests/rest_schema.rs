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

    // What a dashboard reads to check a member's permissions and offer channels and roles by name.
    let (status, server) = call(&sim, reqwest::Method::GET, &format!("guilds/{guild}"), None, true).await;
    assert_eq!(status, 200);
    spec::assert_fits("GuildWithCountsResponse", &server);
    assert_eq!(server["owner_id"], sim.owner_id().to_string());
    let (status, roles) = call(&sim, reqwest::Method::GET, &format!("guilds/{guild}/roles"), None, true).await;
    assert_eq!(status, 200);
    spec::assert_fits_array("GuildRoleResponse", &roles);
    assert_eq!(roles[0]["id"], guild.to_string(), "@everyone first, with the server's id");
    let (status, channels) = call(&sim, reqwest::Method::GET, &format!("guilds/{guild}/channels"), None, true).await;
    assert_eq!(status, 200);
    spec::assert_fits_array("GuildChannelResponse", &channels);
    assert!(channels.as_array().unwrap().iter().any(|c| c["id"].as_str() == Some(channel.to_string().as_str())));
    let (status, body) = call(&sim, reqwest::Method::GET, "guilds/1", None, true).await;
    assert_eq!((status, body["code"].as_u64()), (404, Some(10004)));

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
        roles: vec![5, 6],
        self_mute: true,
    };
    spec::assert_fits("UserResponse", &payloads::user(&ann));
    spec::assert_fits("GuildMemberResponse", &payloads::member(&member, &ann));
    spec::assert_fits("MessageResponse", &payloads::message(4_194_304, 3, &ann, 1_700_000_000_000));
    spec::assert_fits("GuildChannelResponse", &payloads::channel(3, 2, 0));
    spec::assert_fits("GuildChannelResponse", &payloads::voice_channel(4, 2, 1, "Lounge"));
    spec::assert_fits("VoiceStateResponse", &payloads::voice_state(2, Some(4), &member, &ann));
    spec::assert_fits("VoiceStateResponse", &payloads::voice_state(2, None, &member, &ann));
}

#[tokio::test]
async fn members_roles_and_channels_over_rest_fit_discords_schema() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let guild = sim.add_guild("Members");
    let ann = sim.add_user("ann", Some("Ann"), false);
    sim.add_member(guild, ann, 1_700_000_000_000).unwrap();
    let role = sim.add_role(guild, "Regular", 0).unwrap();
    let path = format!("guilds/{guild}/members/{ann}/roles/{role}");
    let (status, _) = call(&sim, reqwest::Method::PUT, &path, None, true).await;
    assert_eq!(status, 204);
    let (status, member) = call(&sim, reqwest::Method::GET, &format!("guilds/{guild}/members/{ann}"), None, true).await;
    assert_eq!(status, 200);
    spec::assert_fits("GuildMemberResponse", &member);
    assert_eq!(member["roles"], json!([role.to_string()]));
    let (status, _) = call(&sim, reqwest::Method::DELETE, &path, None, true).await;
    assert_eq!(status, 204);
    assert!(sim.roles_of(guild, ann).unwrap().is_empty());
    // The bot's own role cannot be given; nor a role above the bot's.
    let bot_role = sim.bot_role_of(guild).unwrap();
    let (status, body) =
        call(&sim, reqwest::Method::PUT, &format!("guilds/{guild}/members/{ann}/roles/{bot_role}"), None, true).await;
    assert_eq!((status, body["code"].as_u64()), (403, Some(50013)));
    sim.move_role_to_top(guild, role).unwrap();
    let (status, body) = call(&sim, reqwest::Method::PUT, &path, None, true).await;
    assert_eq!((status, body["code"].as_u64()), (403, Some(50013)), "above the bot's highest role");
    let (status, body) =
        call(&sim, reqwest::Method::GET, &format!("guilds/{guild}/members/{}", ann + 1), None, true).await;
    assert_eq!((status, body["code"].as_u64()), (404, Some(10007)));
    // Every answer carries its bucket's headers.
    let response = reqwest::Client::new()
        .get(format!("{}/api/v10/guilds/{guild}/members/{ann}", sim.api_base()))
        .header("Authorization", format!("Bot {}", sim.token()))
        .send()
        .await
        .unwrap();
    for header in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
        "x-ratelimit-reset-after",
        "x-ratelimit-bucket",
    ] {
        assert!(response.headers().contains_key(header), "{header}");
    }
    assert!(!response.headers().contains_key("x-ratelimit-scope"), "Discord sends the scope only with a 429");
    let quiet = sim.add_text_channel(guild).unwrap();
    let overwrite = world::Overwrite { id: guild, member: false, allow: 0, deny: world::permissions::SEND_MESSAGES };
    sim.set_overwrite(guild, overwrite, quiet).unwrap();
    let channels = sim.with_guild(guild, |g| payloads::channel_of(g, quiet, 1)).unwrap();
    spec::assert_fits("GuildChannelResponse", &channels);
}

#[tokio::test]
async fn a_spent_bucket_answers_429_until_it_resets() {
    let limits = discord_sim::RateLimits {
        messages: discord_sim::Limit { requests: 2, per: std::time::Duration::from_millis(400) },
        ..discord_sim::RateLimits::DISCORD
    };
    let sim = Simulator::start(SimConfig { rate_limits: limits, ..SimConfig::default() }).await.unwrap();
    let guild = sim.add_guild("Limits");
    let path = format!("channels/{}/messages", sim.channel_of(guild).unwrap());
    let body = || Some(json!({ "content": "hi" }));
    assert_eq!(call(&sim, reqwest::Method::POST, &path, body(), true).await.0, 200);
    assert_eq!(call(&sim, reqwest::Method::POST, &path, body(), true).await.0, 200);
    let (status, refused) = call(&sim, reqwest::Method::POST, &path, body(), true).await;
    assert_eq!(status, 429);
    assert!(refused["retry_after"].as_f64().is_some_and(|s| s > 0.0 && s <= 0.4), "{refused}");
    assert_eq!(refused["global"], false);
    assert_eq!(sim.rate_limited_requests().len(), 1);
    assert_eq!(sim.posted_messages().len(), 2, "the refused message was not posted");
    // The bucket resets by itself (real time: this waits it out).
    tokio::time::sleep(std::time::Duration::from_millis(450)).await;
    assert_eq!(call(&sim, reqwest::Method::POST, &path, body(), true).await.0, 200);
}

#[tokio::test]
async fn an_enforced_nonce_returns_the_first_message_and_creates_none() {
    let window = std::time::Duration::from_secs(1);
    let sim = Simulator::start(SimConfig { nonce_window: window, ..SimConfig::default() }).await.unwrap();
    let guild = sim.add_guild("Nonces");
    let path = format!("channels/{}/messages", sim.channel_of(guild).unwrap());
    let body = json!({ "content": "GG", "nonce": "t42", "enforce_nonce": true, "allowed_mentions": { "parse": [] } });
    let (status, first) = call(&sim, reqwest::Method::POST, &path, Some(body.clone()), true).await;
    assert_eq!(status, 200);
    spec::assert_fits("MessageResponse", &first);
    assert_eq!(first["nonce"], "t42");
    let (_, again) = call(&sim, reqwest::Method::POST, &path, Some(body), true).await;
    assert_eq!(again["id"], first["id"], "the same nonce within minutes returns the first message");
    // Without enforce_nonce, a nonce does not stop a second message.
    let loose = json!({ "content": "GG", "nonce": "t42" });
    let (_, other) = call(&sim, reqwest::Method::POST, &path, Some(loose), true).await;
    assert_ne!(other["id"], first["id"]);
    assert_eq!(sim.posted_messages().len(), 2);
    // Past the window the nonce is forgotten (the window is real time, so
    // this waits it out).
    tokio::time::sleep(window).await;
    let body = json!({ "content": "GG", "nonce": "t42", "enforce_nonce": true });
    let (_, later) = call(&sim, reqwest::Method::POST, &path, Some(body), true).await;
    assert_ne!(later["id"], first["id"]);
}

#[tokio::test]
async fn message_limits_are_discords() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let guild = sim.add_guild("Limits");
    let path = format!("channels/{}/messages", sim.channel_of(guild).unwrap());
    for body in [
        json!({ "content": "x".repeat(2_001) }),
        json!({ "content": "hi", "nonce": "n".repeat(26) }),
        json!({ "content": "" }),
    ] {
        let (status, error) = call(&sim, reqwest::Method::POST, &path, Some(body), true).await;
        assert_eq!((status, error["code"].as_u64()), (400, Some(50035)), "{error}");
    }
    let (status, _) =
        call(&sim, reqwest::Method::POST, &path, Some(json!({ "content": "é".repeat(2_000) })), true).await;
    assert_eq!(status, 200, "2,000 characters, not bytes");
    assert_eq!(sim.posted_messages().len(), 1, "refused messages are not posted");
}

#[tokio::test]
async fn a_dm_channel_opens_and_takes_messages() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let ann = sim.add_user("ann", None, false);
    let request = json!({ "recipient_id": ann.to_string() });
    spec::assert_fits("CreatePrivateChannelRequest", &request);
    let (status, dm) = call(&sim, reqwest::Method::POST, "users/@me/channels", Some(request.clone()), true).await;
    assert_eq!(status, 200);
    spec::assert_fits("PrivateChannelResponse", &dm);
    let (_, again) = call(&sim, reqwest::Method::POST, "users/@me/channels", Some(request), true).await;
    assert_eq!(again["id"], dm["id"], "one DM channel per user");
    let path = format!("channels/{}/messages", dm["id"].as_str().unwrap());
    let (status, _) = call(&sim, reqwest::Method::POST, &path, Some(json!({ "content": "hello" })), true).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn roles_and_permissions_follow_discords_rules() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let guild = sim.add_guild("Roles");
    let ann = sim.add_user("ann", None, false);
    sim.add_member(guild, ann, 0).unwrap();
    let everyone = world::permissions::EVERYONE_DEFAULT;
    assert_eq!(sim.permissions_of(guild, ann).unwrap(), everyone);
    assert_eq!(everyone & world::permissions::MANAGE_GUILD, 0, "members cannot manage the server by default");
    assert_eq!(
        sim.permissions_of(guild, sim.owner_id()).unwrap(),
        world::permissions::ALL,
        "the owner can do anything"
    );
    let managers = sim.add_role(guild, "Managers", world::permissions::MANAGE_GUILD).unwrap();
    let admins = sim.add_role(guild, "Admins", world::permissions::ADMINISTRATOR).unwrap();
    sim.set_roles(guild, ann, &[managers]).unwrap_or_default();
    assert_eq!(sim.permissions_of(guild, ann).unwrap(), everyone | world::permissions::MANAGE_GUILD);
    sim.set_roles(guild, ann, &[admins]).unwrap_or_default();
    assert_eq!(
        sim.permissions_of(guild, ann).unwrap(),
        world::permissions::ALL,
        "Administrator implies every permission"
    );
    let role = world::Role { id: admins, name: "Admins".into(), permissions: 8, position: 2, bot_id: None };
    spec::assert_fits("GuildRoleResponse", &payloads::role(&role));
}

#[tokio::test]
async fn channel_overwrites_decide_who_may_post() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let guild = sim.add_guild("Overwrites");
    let bot_role = sim.bot_role_of(guild).unwrap();
    use world::permissions::{SEND_MESSAGES, VIEW_CHANNEL};
    sim.set_role_permissions(guild, bot_role, VIEW_CHANNEL | SEND_MESSAGES).unwrap();
    let quiet = sim.add_text_channel(guild).unwrap();
    let post = |channel: u64| {
        let sim = &sim;
        async move {
            call(
                sim,
                reqwest::Method::POST,
                &format!("channels/{channel}/messages"),
                Some(json!({ "content": "hi" })),
                true,
            )
            .await
        }
    };
    assert_eq!(post(quiet).await.0, 200);
    // @everyone may not post there: neither may the bot, through its role.
    let deny_all = world::Overwrite { id: guild, member: false, allow: 0, deny: SEND_MESSAGES };
    sim.set_overwrite(guild, deny_all, quiet).unwrap();
    let (status, body) = post(quiet).await;
    assert_eq!((status, body["code"].as_u64()), (403, Some(50013)));
    // A role overwrite allowing it wins over @everyone's; a member overwrite over both.
    sim.set_overwrite(guild, world::Overwrite { id: bot_role, member: false, allow: SEND_MESSAGES, deny: 0 }, quiet)
        .unwrap();
    assert_eq!(post(quiet).await.0, 200);
    let bot = sim.bot_user_id();
    sim.set_overwrite(guild, world::Overwrite { id: bot, member: true, allow: 0, deny: VIEW_CHANNEL }, quiet).unwrap();
    let (status, body) = post(quiet).await;
    assert_eq!((status, body["code"].as_u64()), (403, Some(50001)), "cannot see it: Missing Access");
    // The general channel is untouched.
    assert_eq!(post(sim.channel_of(guild).unwrap()).await.0, 200);
}
