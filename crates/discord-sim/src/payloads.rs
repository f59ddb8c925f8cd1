//! Discord's JSON shapes, built from the field tables of Discord's docs and
//! checked against Discord's OpenAPI description in this crate's tests.

use serde_json::{json, Value};

use crate::clock::iso8601;
use crate::world::{Guild, Member, Role, User};

/// Permissions an administrator has, as Discord writes them (a decimal string).
pub const ALL_PERMISSIONS: &str = "2251799813685247";

/// A user object.
pub fn user(u: &User) -> Value {
    let mut v = json!({
        "id": u.id.to_string(),
        "username": u.username,
        "global_name": u.global_name,
        "discriminator": "0",
        "avatar": u.avatar,
        "avatar_decoration_data": null,
        "banner": null,
        "accent_color": null,
        "collectibles": null,
        "primary_guild": null,
        "public_flags": 0,
        "flags": 0,
    });
    if u.bot {
        v["bot"] = json!(true);
    }
    v
}

/// A guild member object without its user (as in MESSAGE_CREATE).
pub fn partial_member(m: &Member) -> Value {
    json!({
        "nick": m.nick,
        "avatar": null,
        "banner": null,
        "roles": m.roles.iter().map(u64::to_string).collect::<Vec<_>>(),
        "joined_at": iso8601(m.joined_at_ms),
        "premium_since": null,
        "deaf": false,
        "mute": false,
        "flags": 0,
        "pending": false,
        "communication_disabled_until": null,
    })
}

/// A guild member object with its user.
pub fn member(m: &Member, u: &User) -> Value {
    let mut v = partial_member(m);
    v["user"] = user(u);
    v
}

/// A text channel in a server.
pub fn channel(id: u64, guild_id: u64, position: usize) -> Value {
    json!({
        "id": id.to_string(),
        "type": 0,
        "guild_id": guild_id.to_string(),
        "name": if position == 0 { "general".to_owned() } else { format!("channel-{position}") },
        "position": position,
        "permission_overwrites": [],
        "topic": null,
        "nsfw": false,
        "last_message_id": null,
        "rate_limit_per_user": 0,
        "parent_id": null,
        "flags": 0,
    })
}

/// A text channel with its permission overwrites.
pub fn channel_of(g: &Guild, id: u64, position: usize) -> Value {
    let mut v = channel(id, g.id, position);
    let overwrites: Vec<Value> = g
        .overwrites
        .get(&id)
        .into_iter()
        .flatten()
        .map(|o| {
            json!({
                "id": o.id.to_string(),
                "type": u8::from(o.member),
                "allow": o.allow.to_string(),
                "deny": o.deny.to_string(),
            })
        })
        .collect();
    v["permission_overwrites"] = json!(overwrites);
    v
}

/// A role object.
pub fn role(r: &Role) -> Value {
    let mut v = json!({
        "id": r.id.to_string(),
        "name": r.name,
        "description": null,
        "color": 0,
        "colors": { "primary_color": 0, "secondary_color": null, "tertiary_color": null },
        "hoist": false,
        "icon": null,
        "unicode_emoji": null,
        "position": r.position,
        "permissions": r.permissions.to_string(),
        "managed": r.bot_id.is_some(),
        "mentionable": false,
        "flags": 0,
    });
    if let Some(bot) = r.bot_id {
        v["tags"] = json!({ "bot_id": bot.to_string() });
    }
    v
}

/// A guild object, as Get Guild answers (and GUILD_CREATE begins).
pub fn guild(g: &Guild) -> Value {
    json!({
        "id": g.id.to_string(),
        "name": g.name,
        "icon": null,
        "icon_hash": null,
        "splash": null,
        "discovery_splash": null,
        "home_header": null,
        "owner_id": g.owner_id.to_string(),
        "region": "deprecated",
        "afk_channel_id": g.voice_channels.last().map(u64::to_string),
        "afk_timeout": 300,
        "widget_enabled": false,
        "widget_channel_id": null,
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "roles": g.roles.iter().map(role).collect::<Vec<_>>(),
        "emojis": [],
        "features": [],
        "mfa_level": 0,
        "application_id": null,
        "system_channel_id": g.channels.first().map(u64::to_string),
        "system_channel_flags": 0,
        "rules_channel_id": null,
        "max_presences": null,
        "max_members": 500_000,
        "vanity_url_code": null,
        "description": null,
        "banner": null,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "preferred_locale": "en-US",
        "public_updates_channel_id": null,
        "max_video_channel_users": 25,
        "max_stage_video_channel_users": 50,
        "nsfw": false,
        "nsfw_level": 0,
        "stickers": [],
        "premium_progress_bar_enabled": false,
        "safety_alerts_channel_id": null,
        "incidents_data": null,
    })
}

/// A server's channels, text then voice (the last voice channel is AFK),
/// as Get Guild Channels answers and GUILD_CREATE carries.
pub fn channels_of(g: &Guild) -> Vec<Value> {
    g.channels
        .iter()
        .enumerate()
        .map(|(i, c)| channel_of(g, *c, i))
        .chain(g.voice_channels.iter().enumerate().map(|(i, c)| {
            let afk = i + 1 == g.voice_channels.len();
            voice_channel(*c, g.id, g.channels.len() + i, if afk { "AFK" } else { "Lounge" })
        }))
        .collect()
}

/// A GUILD_CREATE payload: the guild object plus the gateway's extra fields.
/// `members` are those Discord includes (the bot, members in voice, or all
/// with the presence intent).
pub fn guild_create(g: &Guild, members: Vec<Value>, voice_states: Vec<Value>) -> Value {
    let mut payload = guild(g);
    let extra = json!({
        "joined_at": iso8601(g.bot_joined_at_ms),
        "large": g.members.len() > 250,
        "unavailable": false,
        "member_count": g.members.len(),
        "voice_states": voice_states,
        "members": members,
        "channels": channels_of(g),
        "threads": [],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
        "lazy": true,
    });
    if let (Some(object), Value::Object(extra)) = (payload.as_object_mut(), extra) {
        object.extend(extra);
    }
    payload
}

/// A voice channel in a server.
pub fn voice_channel(id: u64, guild_id: u64, position: usize, name: &str) -> Value {
    json!({
        "id": id.to_string(),
        "type": 2,
        "guild_id": guild_id.to_string(),
        "name": name,
        "position": position,
        "permission_overwrites": [],
        "nsfw": false,
        "last_message_id": null,
        "rate_limit_per_user": 0,
        "bitrate": 64_000,
        "user_limit": 0,
        "rtc_region": null,
        "parent_id": null,
        "flags": 0,
    })
}

/// A member's voice state, as VOICE_STATE_UPDATE carries it: in
/// `channel_id`, or out of voice (null). GUILD_CREATE's `voice_states`
/// are these without `guild_id` and `member`.
pub fn voice_state(guild_id: u64, channel_id: Option<u64>, m: &Member, user: &User) -> Value {
    json!({
        "guild_id": guild_id.to_string(),
        "channel_id": channel_id.map(|c| c.to_string()),
        "user_id": m.user_id.to_string(),
        "member": member(m, user),
        "session_id": format!("voice{}", m.user_id),
        "deaf": false, "mute": false, "self_deaf": false, "self_mute": m.self_mute, "self_stream": false,
        "self_video": false, "suppress": false, "request_to_speak_timestamp": null,
    })
}

/// A message object, as the gateway's MESSAGE_CREATE carries it to a bot
/// without the MESSAGE_CONTENT intent (empty content).
pub fn message(id: u64, channel_id: u64, author: &User, created_ms: u64) -> Value {
    json!({
        "id": id.to_string(),
        "channel_id": channel_id.to_string(),
        "author": user(author),
        "content": "",
        "timestamp": iso8601(created_ms),
        "edited_timestamp": null,
        "tts": false,
        "mention_everyone": false,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "components": [],
        "pinned": false,
        "type": 0,
        "flags": 0,
    })
}

/// An emoji as reactions carry it: unicode (`name` only) or custom (`id:name`).
pub fn emoji(key: &str) -> Value {
    match key.split_once(':') {
        Some((id, name)) if id.chars().all(|c| c.is_ascii_digit()) => {
            json!({ "id": id, "name": name, "animated": false })
        }
        _ => json!({ "id": null, "name": key }),
    }
}

/// The application object (`GET /applications/@me`).
pub fn application(id: u64, name: &str, bot: &User, owner: &User) -> Value {
    json!({
        "id": id.to_string(),
        "name": name,
        "icon": null,
        "description": "",
        "summary": "",
        "type": null,
        "bot": user(bot),
        "rpc_origins": [],
        "bot_public": true,
        "bot_require_code_grant": false,
        "integration_types_config": {},
        "verify_key": "0".repeat(64),
        "flags": (1 << 15) | (1 << 19),
        "flags_new": ((1u64 << 15) | (1 << 19)).to_string(),
        "max_participants": null,
        "tags": [],
        "redirect_uris": [],
        "interactions_endpoint_url": null,
        "role_connections_verification_url": null,
        "owner": user(owner),
        "approximate_guild_count": 0,
        "approximate_user_install_count": 0,
        "approximate_user_authorization_count": 0,
        "explicit_content_filter": 0,
        "team": null,
        "eligible_oauth2_scopes": [],
    })
}

/// Discord's error body.
pub fn error(code: u32, message: &str) -> Value {
    json!({ "code": code, "message": message })
}
