//! Members over REST: Get Guild Member, List Guild Members, and Add/Remove Guild Member Role
//! with Discord's permission rules: the bot needs Manage Roles (or
//! Administrator), and can only give or take roles below its own highest
//! role, never a managed one; otherwise 403 with code 50013. A change is
//! sent to the gateway as GUILD_MEMBER_UPDATE, as Discord does.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::state::Shared;
use crate::world::{permissions, Guild};
use crate::{intents, payloads};

fn error(status: StatusCode, code: u32, message: &str) -> Response {
    (status, Json(payloads::error(code, message))).into_response()
}

/// Get Guild Member.
pub(crate) fn get(shared: &Shared, guild_id: u64, user_id: u64) -> Response {
    let state = shared.lock();
    let Some(guild) = state.world.guilds.get(&guild_id) else {
        return error(StatusCode::NOT_FOUND, 10004, "Unknown Guild");
    };
    let (Some(member), Some(user)) = (guild.members.get(&user_id), state.world.users.get(&user_id)) else {
        return error(StatusCode::NOT_FOUND, 10007, "Unknown Member");
    };
    Json(payloads::member(member, user)).into_response()
}

/// List Guild Members: up to `limit` members (1 to 1,000, default 1) with
/// user ids above `after` (default 0), in user id order, as Discord
/// answers it; a limit outside 1..=1000 is a form error (50035).
pub(crate) fn list(shared: &Shared, guild_id: u64, query: &str) -> Response {
    let (mut limit, mut after) = (1u64, 0u64);
    for (key, value) in query.split('&').filter_map(|pair| pair.split_once('=')) {
        let parsed = value.parse::<u64>();
        match (key, parsed) {
            ("limit", Ok(n)) if (1..=1000).contains(&n) => limit = n,
            ("after", Ok(n)) => after = n,
            ("limit" | "after", _) => return error(StatusCode::BAD_REQUEST, 50035, "Invalid Form Body"),
            _ => {}
        }
    }
    let state = shared.lock();
    let Some(guild) = state.world.guilds.get(&guild_id) else {
        return error(StatusCode::NOT_FOUND, 10004, "Unknown Guild");
    };
    let members: Vec<_> = guild
        .members
        .range(after.saturating_add(1)..)
        .take(limit as usize)
        .filter_map(|(id, member)| state.world.users.get(id).map(|user| payloads::member(member, user)))
        .collect();
    Json(members).into_response()
}

/// The highest position among a member's roles (@everyone is 0).
fn highest_position(guild: &Guild, user_id: u64) -> u64 {
    let Some(member) = guild.members.get(&user_id) else { return 0 };
    guild.roles.iter().filter(|r| member.roles.contains(&r.id)).map(|r| r.position).max().unwrap_or(0)
}

/// Add (`give`) or Remove Guild Member Role.
pub(crate) fn change_role(shared: &Shared, guild_id: u64, user_id: u64, role_id: u64, give: bool) -> Response {
    let bot = shared.bot.id;
    let mut state = shared.lock();
    let Some(guild) = state.world.guilds.get(&guild_id) else {
        return error(StatusCode::NOT_FOUND, 10004, "Unknown Guild");
    };
    if !guild.members.contains_key(&user_id) {
        return error(StatusCode::NOT_FOUND, 10007, "Unknown Member");
    }
    let Some(role) = guild.role(role_id).filter(|r| r.id != guild_id).cloned() else {
        return error(StatusCode::NOT_FOUND, 10011, "Unknown Role");
    };
    let may_manage = guild.permissions_of(bot) & (permissions::MANAGE_ROLES | permissions::ADMINISTRATOR) != 0;
    if !may_manage || role.position >= highest_position(guild, bot) || role.bot_id.is_some() {
        return error(StatusCode::FORBIDDEN, 50013, "Missing Permissions");
    }
    let Some(user) = state.world.users.get(&user_id).cloned() else {
        return error(StatusCode::NOT_FOUND, 10007, "Unknown Member");
    };
    let guild = state.world.guilds.get_mut(&guild_id).expect("found above");
    let member = guild.members.get_mut(&user_id).expect("found above");
    let had = member.roles.contains(&role_id);
    if give && !had {
        member.roles.push(role_id);
    } else if !give && had {
        member.roles.retain(|r| *r != role_id);
    }
    if give != had {
        let mut data = payloads::member(member, &user);
        data["guild_id"] = json!(guild_id.to_string());
        let shards = shared.config.shards;
        state.dispatch(shards, guild_id, intents::GUILD_MEMBERS, "GUILD_MEMBER_UPDATE", data);
    }
    state.role_changes.push((guild_id, user_id, role_id, give));
    drop(state);
    shared.changed.notify_waiters();
    StatusCode::NO_CONTENT.into_response()
}
