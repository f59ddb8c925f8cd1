use serde_json::{json, Value};
use twilight_gateway::EventTypeFlags;
use twilight_model::gateway::event::{Event, GatewayEvent};

use super::translate;
use crate::domain::{Activity, ReactionKey};

fn event(name: &str, data: Value) -> Event {
    let payload = json!({ "op": 0, "s": 1, "t": name, "d": data }).to_string();
    match twilight_gateway::parse(payload, EventTypeFlags::all()) {
        Ok(Some(GatewayEvent::Dispatch(_, e))) => Event::from(e),
        other => panic!("{name} did not parse: {other:?}"),
    }
}

fn user(id: u64, name: &str, global: Option<&str>, bot: bool) -> Value {
    let mut u =
        json!({ "id": id.to_string(), "username": name, "global_name": global, "discriminator": "0", "avatar": null });
    if bot {
        u["bot"] = json!(true);
    }
    u
}

fn member(u: Value, nick: Option<&str>) -> Value {
    json!({ "user": u, "nick": nick, "roles": [], "joined_at": "2024-01-02T03:04:05.678000+00:00",
            "deaf": false, "mute": false, "flags": 0, "pending": false })
}

const JOINED_MS: i64 = 1_704_164_645_678;

#[test]
fn message_in_a_server_counts_with_the_shown_name() {
    let mut m = member(user(7, "ann", Some("Ann"), false), Some("Annie"));
    m.as_object_mut().unwrap().remove("user");
    let e = event(
        "MESSAGE_CREATE",
        json!({
            "id": "4194304", "channel_id": "3", "guild_id": "2", "author": user(7, "ann", Some("Ann"), false),
            "member": m, "content": "", "timestamp": "2024-01-02T03:04:05.678000+00:00", "edited_timestamp": null,
            "tts": false, "mention_everyone": false, "mentions": [], "mention_roles": [], "attachments": [],
            "embeds": [], "pinned": false, "type": 0
        }),
    );
    let activities: [Activity; 1] = translate(&e, 0).try_into().unwrap();
    let [Activity::Message { author, message_id, .. }] = activities else { panic!() };
    assert_eq!((author.guild_id, author.user_id, message_id), (2, 7, 4_194_304));
    assert_eq!((author.display_name.as_str(), author.username.as_str()), ("Annie", "ann"));
    assert_eq!(author.joined_at_ms, Some(JOINED_MS));
}

#[test]
fn direct_messages_and_webhooks_count_nothing() {
    let base = json!({
        "id": "4194304", "channel_id": "3", "author": user(7, "ann", None, false), "content": "",
        "timestamp": "2024-01-02T03:04:05.678000+00:00", "edited_timestamp": null, "tts": false,
        "mention_everyone": false, "mentions": [], "mention_roles": [], "attachments": [], "embeds": [],
        "pinned": false, "type": 0
    });
    assert!(translate(&event("MESSAGE_CREATE", base.clone()), 0).is_empty());
    let mut hook = base;
    hook["guild_id"] = json!("2");
    hook["webhook_id"] = json!("9");
    assert!(translate(&event("MESSAGE_CREATE", hook), 0).is_empty());
}

#[test]
fn only_messages_a_member_wrote_count() {
    let payload = |kind: u8| {
        json!({
            "id": "4194304", "channel_id": "3", "guild_id": "2", "author": user(7, "ann", None, false),
            "content": "", "timestamp": "2024-01-02T03:04:05.678000+00:00", "edited_timestamp": null,
            "tts": false, "mention_everyone": false, "mentions": [], "mention_roles": [], "attachments": [],
            "embeds": [], "pinned": false, "type": kind
        })
    };
    // DEFAULT and REPLY are written by the member.
    for kind in [0, 19] {
        assert_eq!(translate(&event("MESSAGE_CREATE", payload(kind)), 0).len(), 1, "type {kind}");
    }
    // A pin notice, "joined the server", boosts, "thread created": Discord's own.
    for kind in [6, 7, 8, 9, 10, 11, 18] {
        assert!(translate(&event("MESSAGE_CREATE", payload(kind)), 0).is_empty(), "type {kind}");
    }
}

#[test]
fn reactions_carry_author_and_emoji_key() {
    let e = event(
        "MESSAGE_REACTION_ADD",
        json!({
            "user_id": "7", "channel_id": "3", "message_id": "11", "guild_id": "2",
            "member": member(user(7, "ann", None, true), None), "message_author_id": "8",
            "emoji": { "id": "55", "name": "party" }, "burst": false, "type": 0
        }),
    );
    assert_eq!(
        translate(&e, 1_234),
        vec![Activity::ReactionAdded {
            guild_id: 2,
            key: ReactionKey { message_id: 11, user_id: 7, emoji: "id:55".into() },
            reactor_is_bot: true,
            author_id: Some(8),
            at_ms: 1_234,
        }]
    );
    let removed = event(
        "MESSAGE_REACTION_REMOVE",
        json!({
            "user_id": "7", "channel_id": "3", "message_id": "11", "guild_id": "2",
            "emoji": { "id": null, "name": "👍" }, "burst": false, "type": 0
        }),
    );
    assert_eq!(
        translate(&removed, 0),
        vec![Activity::ReactionRemoved {
            guild_id: 2,
            key: ReactionKey { message_id: 11, user_id: 7, emoji: "👍".into() },
        }]
    );
}

#[test]
fn member_events_become_joins_leaves_and_sightings() {
    let mut add = member(user(7, "ann", None, false), None);
    add["guild_id"] = json!("2");
    let activities: [Activity; 1] = translate(&event("GUILD_MEMBER_ADD", add), 0).try_into().unwrap();
    let [Activity::MemberJoined(p)] = activities else { panic!() };
    assert_eq!((p.user_id, p.display_name.as_str(), p.joined_at_ms), (7, "ann", Some(JOINED_MS)));

    let remove = event("GUILD_MEMBER_REMOVE", json!({ "guild_id": "2", "user": user(7, "ann", None, false) }));
    assert_eq!(translate(&remove, 99), vec![Activity::MemberLeft { guild_id: 2, user_id: 7, at_ms: 99 }]);

    let chunk = event(
        "GUILD_MEMBERS_CHUNK",
        json!({
            "guild_id": "2", "chunk_index": 0, "chunk_count": 1, "not_found": [],
            "members": [member(user(7, "ann", None, false), None), member(user(8, "bob", None, false), None)]
        }),
    );
    assert_eq!(translate(&chunk, 0).len(), 2);
}

#[test]
fn the_simulators_guild_create_parses_into_a_named_server() {
    let guild = discord_sim::world::Guild {
        id: 2,
        name: "Test".into(),
        owner_id: 7,
        channels: vec![3],
        voice_channels: vec![4, 5],
        members: Default::default(),
        roles: vec![discord_sim::world::Role {
            id: 2,
            name: "@everyone".into(),
            permissions: discord_sim::world::permissions::EVERYONE_DEFAULT,
            position: 0,
            bot_id: None,
        }],
        overwrites: Default::default(),
        bot_joined_at_ms: 1_700_000_000_000,
        outage: false,
    };
    let ann = discord_sim::world::Member {
        user_id: 8,
        nick: None,
        joined_at_ms: 1,
        voice_channel: Some(4),
        roles: Vec::new(),
        self_mute: false,
    };
    let user = discord_sim::world::User { id: 8, username: "ann".into(), global_name: None, bot: false, avatar: None };
    let mut in_voice = discord_sim::payloads::voice_state(2, Some(4), &ann, &user);
    in_voice.as_object_mut().unwrap().remove("guild_id"); // as GUILD_CREATE lists them
    let e = event("GUILD_CREATE", discord_sim::payloads::guild_create(&guild, vec![], vec![in_voice]));
    assert_eq!(
        translate(&e, 9),
        vec![
            Activity::GuildSeen { guild_id: 2, name: "Test".into(), afk_channel_id: Some(5) },
            Activity::VoiceRoster { guild_id: 2, in_voice: vec![(8, 4, false)], at_ms: 9, unseen_since: None }
        ]
    );
    let joined = event("VOICE_STATE_UPDATE", discord_sim::payloads::voice_state(2, Some(4), &ann, &user));
    let activities = translate(&joined, 10);
    assert!(matches!(&activities[0], Activity::MemberSeen(p) if p.user_id == 8 && p.username == "ann"));
    // Leaving voice may come with leaving the server: it shows no one present.
    let left = event("VOICE_STATE_UPDATE", discord_sim::payloads::voice_state(2, None, &ann, &user));
    assert_eq!(
        translate(&left, 10),
        [Activity::VoiceChanged { guild_id: 2, user_id: 8, channel_id: None, bot: false, muted: false, at_ms: 10 }]
    );
    // Self-muted or self-deafened: no voice XP.
    for field in ["self_mute", "self_deaf"] {
        let mut quiet = discord_sim::payloads::voice_state(2, Some(4), &ann, &user);
        quiet[field] = true.into();
        let activities = translate(&event("VOICE_STATE_UPDATE", quiet), 11);
        assert!(matches!(activities[1], Activity::VoiceChanged { muted: true, .. }), "{field}: {activities:?}");
    }
}
