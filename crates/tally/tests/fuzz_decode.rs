//! Property tests (a bounded fuzzer) over what Tally reads from the gateway:
//! raw frames through [`decode`] and events through [`translate`]. Whatever
//! arrives, Tally returns an answer and never panics; valid messages with
//! any ids and names translate to exactly the activity they describe.
//!
//! The default run is short, for CI. A longer one:
//! `PROPTEST_CASES=20000 cargo test -p tally --release --test fuzz_decode`.

use discord_sim::payloads;
use discord_sim::world::{Member, User};
use proptest::prelude::*;
use serde_json::{json, Value};
use tally::domain::Activity;
use tally::ingest::decode::{decode, decode_with_twilight, Decoded};
use tally::ingest::translate::translate;

const NOW_MS: i64 = 1_764_000_000_000;

/// Every event type Tally reads, and a few it does not.
const EVENT_TYPES: [&str; 18] = [
    "READY",
    "RESUMED",
    "GUILD_CREATE",
    "GUILD_UPDATE",
    "GUILD_MEMBER_ADD",
    "GUILD_MEMBER_REMOVE",
    "GUILD_MEMBER_UPDATE",
    "GUILD_MEMBERS_CHUNK",
    "MESSAGE_CREATE",
    "MESSAGE_REACTION_ADD",
    "MESSAGE_REACTION_REMOVE",
    "MESSAGE_REACTION_REMOVE_ALL",
    "MESSAGE_REACTION_REMOVE_EMOJI",
    "INTERACTION_CREATE",
    "VOICE_STATE_UPDATE",
    "TYPING_START",
    "PRESENCE_UPDATE",
    "SOMETHING_NEW",
];

/// Keys Discord payloads use, so random objects reach real deserializers.
const KEYS: [&str; 28] = [
    "id",
    "user",
    "member",
    "guild_id",
    "emoji",
    "author",
    "joined_at",
    "username",
    "message_id",
    "user_id",
    "channel_id",
    "name",
    "members",
    "chunk_index",
    "chunk_count",
    "roles",
    "bot",
    "global_name",
    "nick",
    "data",
    "type",
    "token",
    "unavailable",
    "timestamp",
    "session_id",
    "voice_states",
    "afk_channel_id",
    "avatar",
];

fn snowflake_string() -> impl Strategy<Value = Value> {
    any::<u64>().prop_map(|n| Value::String(n.to_string()))
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("JSON has no NaN", |f| f.is_finite()).prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
        snowflake_string(),
        Just(json!("2025-01-02T03:04:05.678000+00:00")),
    ];
    leaf.prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS.to_vec()), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    })
}

fn frame(event_type: &str, sequence: u64, d: &Value) -> String {
    json!({ "op": 0, "s": sequence, "t": event_type, "d": d }).to_string()
}

/// Decodes and, for dispatches, translates: the whole path a frame takes
/// before the ledger. Returns the activities.
fn read(text: String) -> Option<Vec<Activity>> {
    activities(decode(text, NOW_MS))
}

/// The same through twilight's full models only: the reference for the fast path.
fn read_with_twilight(text: String) -> Option<Vec<Activity>> {
    activities(decode_with_twilight(text))
}

fn activities(decoded: Decoded) -> Option<Vec<Activity>> {
    match decoded {
        Decoded::Counted { activities, .. } => Some(activities),
        Decoded::Dispatch { event, .. } => Some(translate(&event, NOW_MS)),
        Decoded::Ignored | Decoded::Unknown { .. } | Decoded::Rejected(_) => None,
    }
}

/// A valid MESSAGE_CREATE as Discord sends it.
fn message_create(guild: u64, user: &User, nick: Option<String>, message: u64) -> Value {
    let mut d = payloads::message(message, 42, user, 1_700_000_000_000);
    d["guild_id"] = json!(guild.to_string());
    d["member"] = payloads::partial_member(&Member {
        user_id: user.id,
        nick,
        joined_at_ms: 1_600_000_000_000,
        voice_channel: None,
        roles: Vec::new(),
        self_mute: false,
    });
    d
}

/// Every path to a node of a JSON value, as (parent pointer, key or index).
fn paths(value: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                out.push((at.to_owned(), k.clone()));
                paths(v, &format!("{at}/{k}"), out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                out.push((at.to_owned(), i.to_string()));
                paths(v, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// Removes the node at `(parent, key)`, or replaces it with `with`.
fn mutate(value: &mut Value, (parent, key): &(String, String), with: Option<Value>) {
    match value.pointer_mut(parent) {
        Some(Value::Object(map)) => match with {
            Some(v) => {
                map.insert(key.clone(), v);
            }
            None => {
                map.remove(key);
            }
        },
        Some(Value::Array(items)) => {
            let i: usize = key.parse().unwrap();
            match with {
                Some(v) => items[i] = v,
                None => {
                    items.remove(i);
                }
            }
        }
        _ => {}
    }
}

proptest! {
    #[test]
    fn any_text_is_answered_without_panicking(text in ".{0,256}") {
        let rejected_or_ignored = read(text.clone()).is_none();
        // Text that is not a dispatch frame never yields activity.
        if !text.contains("\"op\"") {
            prop_assert!(rejected_or_ignored);
        }
    }

    #[test]
    fn any_payload_of_any_event_type_is_answered(event_type in prop::sample::select(EVENT_TYPES.to_vec()),
                                                sequence in 1u64..u64::MAX / 2, d in any_json()) {
        match decode(frame(event_type, sequence, &d), NOW_MS) {
            Decoded::Dispatch { sequence: s, event } => {
                prop_assert_eq!(s, sequence);
                let _ = translate(&event, NOW_MS);
            }
            Decoded::Counted { sequence: s, .. } => prop_assert_eq!(s, sequence),
            Decoded::Rejected(r) => prop_assert_eq!(r.event_type, event_type),
            Decoded::Unknown { event_type: t } => prop_assert_eq!(t, event_type),
            Decoded::Ignored => {}
        }
    }

    #[test]
    fn valid_messages_translate_to_exactly_their_author(guild in 1u64.., user_id in 1u64.., message in 1u64..,
                                                        username in "\\PC{1,32}", global in proptest::option::of("\\PC{1,32}"),
                                                        nick in proptest::option::of("\\PC{1,32}")) {
        let user = User { id: user_id, username: username.clone(), global_name: global.clone(), bot: false, avatar: None };
        let d = message_create(guild, &user, nick.clone(), message);
        let activities = read(frame("MESSAGE_CREATE", 1, &d)).expect("a valid message is read");
        prop_assert_eq!(activities.len(), 1);
        let Activity::Message { author, message_id, .. } = &activities[0] else { panic!("{activities:?}") };
        prop_assert_eq!(*message_id, message);
        prop_assert_eq!((author.guild_id, author.user_id), (guild, user_id));
        prop_assert_eq!(&author.username, &username);
        let shown = nick.or(global).unwrap_or(username);
        prop_assert_eq!(&author.display_name, &shown);
    }

    #[test]
    fn a_valid_payload_with_one_field_removed_or_changed_never_panics(
        which in 0usize..4, pick in any::<prop::sample::Index>(), with in proptest::option::of(any_json()),
    ) {
        let user = User { id: 7, username: "ann".into(), global_name: None, bot: false, avatar: None };
        let (event_type, mut d) = match which {
            3 => ("MESSAGE_REACTION_REMOVE", json!({
                "user_id": "7", "channel_id": "42", "message_id": "1234", "guild_id": "99",
                "emoji": { "id": "555", "name": "party", "animated": false }, "burst": false, "type": 0,
            })),
            0 => ("MESSAGE_CREATE", message_create(99, &user, None, 1234)),
            1 => ("MESSAGE_REACTION_ADD", json!({
                "user_id": "7", "channel_id": "42", "message_id": "1234", "guild_id": "99",
                "message_author_id": "8", "burst": false, "type": 0, "emoji": { "id": null, "name": "👍" },
                "member": payloads::member(&Member { user_id: 7, nick: None, joined_at_ms: 1, voice_channel: None, roles: Vec::new(), self_mute: false }, &user),
            })),
            _ => {
                let mut m = payloads::member(&Member { user_id: 7, nick: Some("A".into()), joined_at_ms: 1, voice_channel: None, roles: Vec::new(), self_mute: false }, &user);
                m["guild_id"] = json!("99");
                ("GUILD_MEMBER_ADD", m)
            }
        };
        let mut all = Vec::new();
        paths(&d, "", &mut all);
        let target = pick.get(&all).clone();
        mutate(&mut d, &target, with);
        let fast = read(frame(event_type, 5, &d));
        if let Some(activities) = &fast {
            prop_assert!(activities.len() <= 1, "{activities:?}");
        }
        // What twilight's full models accept, the fast path reads the same way.
        if let Some(reference) = read_with_twilight(frame(event_type, 5, &d)) {
            prop_assert_eq!(fast, Some(reference), "{}", d);
        }
    }
}

fn emoji() -> impl Strategy<Value = Value> {
    prop_oneof![
        "\\PC{1,4}".prop_map(|name| json!({ "id": null, "name": name })),
        (1u64.., proptest::option::of("[a-z_]{2,10}"), any::<bool>())
            .prop_map(|(id, name, animated)| json!({ "id": id.to_string(), "name": name, "animated": animated })),
    ]
}

proptest! {
    /// Every message type reads the same through the fast path as through
    /// twilight's models, and only DEFAULT (0) and REPLY (19) count.
    #[test]
    fn only_messages_a_member_wrote_count_on_both_paths(kind in 0u8..=255, guild in 1u64.., message in 1u64..,
                                                         user_id in 1u64..) {
        let user = User { id: user_id, username: "ann".into(), global_name: None, bot: false, avatar: None };
        let mut d = message_create(guild, &user, None, message);
        d["type"] = json!(kind);
        let text = frame("MESSAGE_CREATE", 3, &d);
        let reference = read_with_twilight(text.clone());
        prop_assert!(reference.is_some(), "twilight reads a message of type {}", kind);
        let fast = read(text);
        prop_assert_eq!(&fast, &reference);
        let counted = fast.expect("read").len();
        prop_assert_eq!(counted, usize::from(kind == 0 || kind == 19), "type {}", kind);
    }

    /// Messages and reactions as Discord sends them read the same through
    /// the fast path as through twilight's full models.
    #[test]
    fn the_fast_path_agrees_with_twilight(guild in proptest::option::of(1u64..), user_id in 1u64.., message in 1u64..,
                                          author in 1u64.., username in "\\PC{1,32}", global in proptest::option::of("\\PC{1,32}"),
                                          nick in proptest::option::of("\\PC{1,32}"), bot in any::<bool>(), emoji in emoji(),
                                          with_member in any::<bool>(), which in 0usize..3) {
        let user = User { id: user_id, username, global_name: global, bot, avatar: None };
        let member = Member { user_id, nick, joined_at_ms: 1_600_000_000_123, voice_channel: None, roles: Vec::new(), self_mute: false };
        let mut d = match which {
            0 => {
                let mut d = payloads::message(message, 42, &user, 1_700_000_000_000);
                if with_member {
                    d["member"] = payloads::partial_member(&member);
                }
                ("MESSAGE_CREATE", d)
            }
            1 => {
                let mut d = json!({ "user_id": user_id.to_string(), "channel_id": "42", "message_id": message.to_string(),
                                    "message_author_id": author.to_string(), "burst": false, "type": 0, "emoji": emoji });
                if with_member {
                    d["member"] = payloads::member(&member, &user);
                }
                ("MESSAGE_REACTION_ADD", d)
            }
            _ => ("MESSAGE_REACTION_REMOVE", json!({ "user_id": user_id.to_string(), "channel_id": "42",
                                                      "message_id": message.to_string(), "emoji": emoji,
                                                      "burst": false, "type": 0 })),
        };
        if let Some(g) = guild {
            d.1["guild_id"] = json!(g.to_string());
        }
        let text = frame(d.0, 9, &d.1);
        let reference = read_with_twilight(text.clone());
        prop_assert!(reference.is_some(), "twilight reads a valid {}", d.0);
        prop_assert_eq!(read(text), reference);
    }
}
