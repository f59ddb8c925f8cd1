//! Raw gateway text in, a typed dispatch out, or the reason it was refused.
//! Pure, so it can be fuzzed: whatever the bytes, this returns, never panics.

use twilight_gateway::error::ReceiveMessageErrorType;
use twilight_gateway::EventTypeFlags;
use twilight_model::gateway::event::{Event, EventType, GatewayEvent, GatewayEventDeserializer};

/// The events Tally deserializes; everything else is skipped unparsed.
pub const WANTED: EventTypeFlags = EventTypeFlags::READY
    .union(EventTypeFlags::RESUMED)
    .union(EventTypeFlags::GUILD_CREATE)
    .union(EventTypeFlags::GUILD_UPDATE)
    .union(EventTypeFlags::GUILD_DELETE)
    .union(EventTypeFlags::MEMBER_ADD)
    .union(EventTypeFlags::MEMBER_REMOVE)
    .union(EventTypeFlags::MEMBER_UPDATE)
    .union(EventTypeFlags::MEMBER_CHUNK)
    .union(EventTypeFlags::MESSAGE_CREATE)
    .union(EventTypeFlags::REACTION_ADD)
    .union(EventTypeFlags::REACTION_REMOVE)
    .union(EventTypeFlags::REACTION_REMOVE_ALL)
    .union(EventTypeFlags::REACTION_REMOVE_EMOJI)
    .union(EventTypeFlags::VOICE_STATE_UPDATE)
    .union(EventTypeFlags::INTERACTION_CREATE);

/// Largest payload accepted for an event about one thing (a message, a
/// reaction, a member, an interaction). Discord's own limits keep these
/// under a few hundred KiB; only READY, GUILD_CREATE and member chunks grow
/// with the number of servers or members, and they are not capped.
pub const MAX_SINGLE_EVENT_BYTES: usize = 1 << 20;

/// What a gateway text frame turned out to be. Returned by value and taken
/// apart at once, so the large dispatch variant is not boxed: a box would
/// cost an allocation per event.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Decoded {
    /// A dispatch Tally reads, with its sequence number.
    Dispatch {
        /// The gateway sequence number.
        sequence: u64,
        /// The event.
        event: Event,
    },
    /// A message or reaction, read by the fast path straight into what it counts.
    Counted {
        /// The gateway sequence number.
        sequence: u64,
        /// What it records (empty for one outside a server).
        activities: Vec<crate::domain::Activity>,
    },
    /// A frame Tally has no use for (heartbeat ACKs, HELLO, unwanted events).
    Ignored,
    /// A dispatch of a type Discord added after this build: skipped, and
    /// worth a note in the log.
    Unknown {
        /// Its `t` field.
        event_type: String,
    },
    /// A frame that could not be read; it is skipped and counted.
    Rejected(Rejected),
}

/// Why a frame was skipped, for the log: never the payload itself, which may
/// hold interaction tokens and be of any size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// The `t` field, or `?` when there is none.
    pub event_type: String,
    /// Size of the frame.
    pub bytes: usize,
    /// What was wrong.
    pub cause: String,
}

/// Reads one text frame from the gateway, received at `received_at_ms`
/// (which dates what a payload carries no time for: reactions).
pub fn decode(json: String, received_at_ms: i64) -> Decoded {
    let bytes = json.len();
    if bytes > MAX_SINGLE_EVENT_BYTES {
        let event_type = event_type_of(&json);
        if !matches!(event_type, "READY" | "GUILD_CREATE" | "GUILD_MEMBERS_CHUNK") {
            let cause = format!("larger than the {MAX_SINGLE_EVENT_BYTES} bytes any such event can be");
            return Decoded::Rejected(Rejected { event_type: event_type.to_owned(), bytes, cause });
        }
    }
    if let Some(header) = GatewayEventDeserializer::from_json(&json) {
        let event_type = header.event_type().unwrap_or_default();
        if header.op() == 0 {
            if let (true, Some(sequence)) = (super::fast::handles(event_type), header.sequence()) {
                return match super::fast::read(event_type, &json, received_at_ms) {
                    Ok(activities) => Decoded::Counted { sequence, activities },
                    Err(error) => Decoded::Rejected(Rejected {
                        event_type: event_type.to_owned(),
                        bytes,
                        cause: super::problem::describe(
                            &error,
                            super::fast::failure_path(event_type, &json).as_deref(),
                        ),
                    }),
                };
            }
            if EventType::try_from(event_type).is_err() {
                return Decoded::Unknown { event_type: event_type.to_owned() };
            }
        }
    }
    decode_with_twilight(json)
}

/// Reads a frame with twilight's full models, skipping the fast path: what
/// every event but messages and reactions takes, and the reference the fast
/// path is tested against.
pub fn decode_with_twilight(json: String) -> Decoded {
    let bytes = json.len();
    match twilight_gateway::parse(json, WANTED) {
        Ok(Some(GatewayEvent::Dispatch(sequence, event))) => Decoded::Dispatch { sequence, event: Event::from(event) },
        Ok(_) => Decoded::Ignored,
        Err(error) => {
            let frame = match error.kind() {
                ReceiveMessageErrorType::Deserializing { event } => event.as_str(),
                _ => "",
            };
            let json_error = std::error::Error::source(&error).and_then(|e| e.downcast_ref::<serde_json::Error>());
            let cause = match json_error {
                Some(json_error) => {
                    let path = GatewayEventDeserializer::from_json(frame)
                        .and_then(|seed| super::problem::path_of_seed(seed, frame));
                    super::problem::describe(json_error, path.as_deref())
                }
                // Not JSON at all, or no header twilight can read: its own fixed words.
                None => "not a gateway frame".to_owned(),
            };
            Decoded::Rejected(Rejected { event_type: event_type_of(frame).to_owned(), bytes, cause })
        }
    }
}

/// The `t` field of a raw payload, found without parsing it. Inside JSON
/// strings quotes are escaped, so `"t":"` only matches the real key.
pub fn event_type_of(json: &str) -> &str {
    json.find("\"t\":\"")
        .and_then(|start| {
            let rest = &json[start + 5..];
            rest.find('"').map(|end| &rest[..end])
        })
        .unwrap_or("?")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispatches_unwanted_events_and_garbage() {
        let message = r#"{"op":0,"s":7,"t":"RESUMED","d":{}}"#;
        assert!(matches!(decode(message.into(), 0), Decoded::Dispatch { sequence: 7, event: Event::Resumed }));
        let dm = r#"{"t":"MESSAGE_CREATE","s":8,"op":0,"d":{"id":"5","channel_id":"9","type":0,"author":{"id":"6","username":"a"}}}"#;
        assert!(matches!(decode(dm.into(), 0), Decoded::Counted { sequence: 8, activities } if activities.is_empty()));
        assert!(matches!(decode(r#"{"op":0,"s":8,"t":"TYPING_START","d":{}}"#.into(), 0), Decoded::Ignored));
        assert!(matches!(decode(r#"{"op":11,"d":null,"s":null,"t":null}"#.into(), 0), Decoded::Ignored));
        let Decoded::Unknown { event_type } = decode(r#"{"op":0,"s":9,"t":"BRAND_NEW","d":{}}"#.into(), 0) else {
            panic!("an event type Discord added later is reported")
        };
        assert_eq!(event_type, "BRAND_NEW");
        let Decoded::Rejected(r) = decode(r#"{"op":0,"s":9,"t":"MESSAGE_CREATE","d":{"id":"x"}}"#.into(), 0) else {
            panic!("a message without its fields is rejected")
        };
        assert_eq!((r.event_type.as_str(), r.bytes), ("MESSAGE_CREATE", 50));
        assert!(matches!(decode("{not json".into(), 0), Decoded::Rejected(_)));
    }

    /// A skipped payload is described by where it broke and how, never by
    /// what it held: on the fast path and on twilight's.
    #[test]
    fn a_rejection_never_quotes_the_payload() {
        let message = r#"{"op":0,"s":9,"t":"MESSAGE_CREATE","d":{"id":"5","channel_id":"9","guild_id":"2","type":0,"author":{"id":"6","username":"a","bot":"secret-yes"}}}"#;
        let Decoded::Rejected(r) = decode(message.into(), 0) else { panic!("a bot flag that is a string") };
        assert_eq!(r.cause, "invalid type, expected a boolean at d.author.bot");
        let member = r#"{"op":0,"s":9,"t":"GUILD_MEMBER_ADD","d":{"guild_id":"2","roles":[],"joined_at":"2024-01-01T00:00:00Z","deaf":false,"mute":false,"flags":0,"user":{"id":"6","username":"a","bot":"secret-yes","discriminator":"0","avatar":null}}}"#;
        let Decoded::Rejected(r) = decode(member.into(), 0) else { panic!("a bot flag that is a string") };
        assert_eq!(r.event_type, "GUILD_MEMBER_ADD");
        assert!(!r.cause.contains("secret"), "{}", r.cause);
        // twilight reads a member through its own layers: the path ends at `d`.
        assert!(r.cause.starts_with("invalid") && r.cause.contains(" at d"), "{}", r.cause);
    }

    #[test]
    fn oversized_single_events_are_rejected_before_parsing() {
        let padding = "x".repeat(MAX_SINGLE_EVENT_BYTES);
        let frame = format!(r#"{{"op":0,"s":1,"t":"MESSAGE_CREATE","d":{{"content":"{padding}"}}}}"#);
        let Decoded::Rejected(r) = decode(frame, 0) else { panic!("too large") };
        assert_eq!(r.event_type, "MESSAGE_CREATE");
        assert!(r.cause.contains("larger than"), "{}", r.cause);
        // A whole server's worth of data may be that large.
        let frame =
            format!(r#"{{"op":0,"s":1,"t":"GUILD_CREATE","d":{{"id":"1","unavailable":true,"x":"{padding}"}}}}"#);
        assert!(matches!(decode(frame, 0), Decoded::Dispatch { .. }));
    }

    #[test]
    fn event_type_is_found_without_parsing() {
        assert_eq!(event_type_of(r#"{"t":"MESSAGE_CREATE","s":1}"#), "MESSAGE_CREATE");
        assert_eq!(event_type_of(r#"{"d":{"content":"\"t\":\"FAKE\""},"t":"REAL"}"#), "REAL");
        assert_eq!(event_type_of("garbage"), "?");
    }
}
