//! A fast path for the events that are nearly all of a server's traffic:
//! MESSAGE_CREATE and reaction adds and removes. Only the fields Tally counts
//! are read, straight into [`Activity`]; the rest of the payload is skipped
//! without building twilight's full models (which buffer, allocate and copy
//! every field). The result is the same as [`super::translate`] gives for
//! the same payload; the property tests hold the two paths to that.

use std::borrow::Cow;

use serde::de::{Error as _, IgnoredAny};
use serde::{Deserialize, Deserializer};
use twilight_model::util::Timestamp;

use crate::domain::activity::is_written_by_member;
use crate::domain::{Activity, MemberProfile, ReactionKey};

/// The events this path reads.
pub fn handles(event_type: &str) -> bool {
    matches!(event_type, "MESSAGE_CREATE" | "MESSAGE_REACTION_ADD" | "MESSAGE_REACTION_REMOVE")
}

/// Reads the `d` of a dispatch frame of `event_type` (one [`handles`]
/// accepts), received at `received_at_ms` (which dates reactions).
pub fn read(event_type: &str, frame: &str, received_at_ms: i64) -> Result<Vec<Activity>, serde_json::Error> {
    Ok(match event_type {
        "MESSAGE_CREATE" => serde_json::from_str::<Frame<Message<'_>>>(frame)?.d.into_activity().into_iter().collect(),
        "MESSAGE_REACTION_ADD" => {
            serde_json::from_str::<Frame<ReactionAdd>>(frame)?.d.into_activity(received_at_ms)?.into_iter().collect()
        }
        "MESSAGE_REACTION_REMOVE" => {
            serde_json::from_str::<Frame<ReactionRemove>>(frame)?.d.into_activity()?.into_iter().collect()
        }
        _ => Vec::new(),
    })
}

/// Where `frame` (of an `event_type` [`handles`] accepts, that [`read`]
/// refused) broke, as a field path: read again with the path tracked.
pub fn failure_path(event_type: &str, frame: &str) -> Option<String> {
    use super::problem::path_of;
    match event_type {
        "MESSAGE_CREATE" => path_of::<Frame<Message<'_>>>(frame),
        "MESSAGE_REACTION_ADD" => path_of::<Frame<ReactionAdd>>(frame),
        "MESSAGE_REACTION_REMOVE" => path_of::<Frame<ReactionRemove>>(frame),
        _ => None,
    }
}

#[derive(Deserialize)]
struct Frame<T> {
    d: T,
}

#[derive(Deserialize)]
struct Message<'a> {
    #[serde(deserialize_with = "snowflake")]
    id: u64,
    #[serde(deserialize_with = "snowflake")]
    channel_id: u64,
    #[serde(default, deserialize_with = "optional_snowflake")]
    guild_id: Option<u64>,
    #[serde(default)]
    webhook_id: Option<IgnoredAny>,
    /// Discord's message type: only those a member wrote count.
    #[serde(rename = "type")]
    kind: u8,
    #[serde(borrow)]
    author: User<'a>,
    #[serde(default, borrow)]
    member: Option<PartialMember<'a>>,
}

impl Message<'_> {
    fn into_activity(self) -> Option<Activity> {
        // Webhook posts are not members; DMs are not in a server; Discord's
        // own notices (joins, boosts, pins) are no one's message.
        let (Some(guild_id), None) = (self.guild_id, self.webhook_id) else { return None };
        if !is_written_by_member(self.kind) {
            return None;
        }
        let member = self.member.as_ref();
        let nick = member.and_then(|m| m.nick.as_deref());
        let joined_at_ms = member.and_then(|m| m.joined_at_ms);
        let roles = member.map(|m| m.roles.iter().map(|r| r.0).collect()).unwrap_or_default();
        Some(Activity::Message {
            author: self.author.profile(guild_id, nick, joined_at_ms),
            message_id: self.id,
            channel_id: self.channel_id,
            roles,
        })
    }
}

#[derive(Deserialize)]
struct User<'a> {
    #[serde(deserialize_with = "snowflake")]
    id: u64,
    #[serde(borrow)]
    username: Cow<'a, str>,
    #[serde(default, borrow)]
    global_name: Option<Cow<'a, str>>,
    #[serde(default)]
    bot: bool,
    /// Read as twilight reads it, so a malformed hash is refused the same way.
    #[serde(default)]
    avatar: Option<twilight_model::util::ImageHash>,
}

impl User<'_> {
    fn profile(&self, guild_id: u64, nick: Option<&str>, joined_at_ms: Option<i64>) -> MemberProfile {
        let display_name = nick.or(self.global_name.as_deref()).unwrap_or(&self.username).to_owned();
        MemberProfile {
            guild_id,
            user_id: self.id,
            username: self.username.clone().into_owned(),
            display_name,
            bot: self.bot,
            avatar: self.avatar.map(|hash| hash.to_string()),
            joined_at_ms,
        }
    }
}

#[derive(Deserialize)]
struct PartialMember<'a> {
    #[serde(default, borrow)]
    nick: Option<Cow<'a, str>>,
    #[serde(default, rename = "joined_at", deserialize_with = "optional_timestamp_ms")]
    joined_at_ms: Option<i64>,
    #[serde(default)]
    roles: Vec<Snowflake>,
}

/// An id in a list.
#[derive(Deserialize)]
struct Snowflake(#[serde(deserialize_with = "snowflake")] u64);

/// A member object in a reaction: only whether it is a bot matters.
#[derive(Deserialize)]
struct ReactionMember {
    user: ReactionMemberUser,
}

#[derive(Deserialize)]
struct ReactionMemberUser {
    #[serde(default)]
    bot: bool,
}

/// An emoji, kept loose so it is read exactly as twilight reads it: custom
/// when it has a valid id (and `animated`, if present, is a bool, and `name`
/// a string or null), else unicode by its name.
#[derive(Deserialize)]
struct Emoji {
    #[serde(default)]
    id: Option<serde_json::Value>,
    #[serde(default)]
    name: Option<serde_json::Value>,
    /// Absent is None; `null` is `Some(Null)`, which twilight refuses.
    #[serde(default, deserialize_with = "present")]
    animated: Option<serde_json::Value>,
}

/// A field that is there, even as `null`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<serde_json::Value>, D::Error> {
    serde_json::Value::deserialize(d).map(Some)
}

impl Emoji {
    /// As [`super::translate::emoji_key`]: custom emojis by id, others by themselves.
    fn key<E: serde::de::Error>(&self) -> Result<String, E> {
        let id = match &self.id {
            Some(serde_json::Value::String(s)) => s.parse::<u64>().ok(),
            Some(serde_json::Value::Number(n)) => n.as_u64(),
            _ => None,
        }
        .filter(|&id| id != 0);
        let animated_ok = matches!(self.animated, None | Some(serde_json::Value::Bool(_)));
        let name_ok = matches!(self.name, None | Some(serde_json::Value::Null | serde_json::Value::String(_)));
        match (id, &self.name) {
            (Some(id), _) if animated_ok && name_ok => Ok(format!("id:{id}")),
            (_, Some(serde_json::Value::String(name))) => Ok(name.clone()),
            _ => Err(E::custom("an emoji has a valid id or a name")),
        }
    }
}

#[derive(Deserialize)]
struct ReactionAdd {
    #[serde(deserialize_with = "snowflake")]
    user_id: u64,
    #[serde(deserialize_with = "snowflake")]
    message_id: u64,
    #[serde(default, deserialize_with = "optional_snowflake")]
    guild_id: Option<u64>,
    #[serde(default)]
    member: Option<ReactionMember>,
    #[serde(default, deserialize_with = "optional_snowflake")]
    message_author_id: Option<u64>,
    emoji: Emoji,
}

impl ReactionAdd {
    fn into_activity(self, at_ms: i64) -> Result<Option<Activity>, serde_json::Error> {
        let emoji = self.emoji.key::<serde_json::Error>()?;
        let Some(guild_id) = self.guild_id else { return Ok(None) };
        Ok(Some(Activity::ReactionAdded {
            guild_id,
            key: ReactionKey { message_id: self.message_id, user_id: self.user_id, emoji },
            reactor_is_bot: self.member.is_some_and(|m| m.user.bot),
            author_id: self.message_author_id,
            at_ms,
        }))
    }
}

#[derive(Deserialize)]
struct ReactionRemove {
    #[serde(deserialize_with = "snowflake")]
    user_id: u64,
    #[serde(deserialize_with = "snowflake")]
    message_id: u64,
    #[serde(default, deserialize_with = "optional_snowflake")]
    guild_id: Option<u64>,
    emoji: Emoji,
}

impl ReactionRemove {
    fn into_activity(self) -> Result<Option<Activity>, serde_json::Error> {
        let emoji = self.emoji.key::<serde_json::Error>()?;
        let Some(guild_id) = self.guild_id else { return Ok(None) };
        Ok(Some(Activity::ReactionRemoved {
            guild_id,
            key: ReactionKey { message_id: self.message_id, user_id: self.user_id, emoji },
        }))
    }
}

/// A snowflake: a non-zero id, as a string (Discord's form) or a number.
fn snowflake<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    struct Visitor;
    impl serde::de::Visitor<'_> for Visitor {
        type Value = u64;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a non-zero id as a string or a number")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<u64, E> {
            v.parse::<u64>().map_err(E::custom).and_then(|n| self.visit_u64(n))
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<u64, E> {
            if v == 0 {
                return Err(E::custom("an id is never zero"));
            }
            Ok(v)
        }
    }
    d.deserialize_any(Visitor)
}

fn optional_snowflake<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    struct Wrap(#[serde(deserialize_with = "snowflake")] u64);
    Ok(Option::<Wrap>::deserialize(d)?.map(|w| w.0))
}

fn optional_timestamp_ms<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let Some(text) = Option::<Cow<'de, str>>::deserialize(d)? else { return Ok(None) };
    let at = Timestamp::parse(&text).map_err(D::Error::custom)?;
    Ok(Some(at.as_micros() / 1000))
}
