//! The REST API under `/api/v10`, plus the gateway's WebSocket endpoints.
//! Every request is recorded for tests. Unknown routes get Discord's 404 body.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::interactions::ACK_DEADLINE;
use crate::payloads;
use crate::state::{Recorded, Shared};

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(crate::gateway::upgrade))
        .route("/resume", get(crate::gateway::upgrade))
        .route("/resume/", get(crate::gateway::upgrade))
        .route("/avatars/{user_id}/{file}", get(crate::cdn::avatar))
        .route("/attachments/{channel_id}/{id}/{filename}", get(crate::cdn::attachment))
        .route("/oauth2/authorize", get(crate::oauth2::authorize).post(crate::oauth2::consent))
        .route("/api/v10/oauth2/token", post(crate::oauth2::token))
        .route("/api/v10/oauth2/token/revoke", post(crate::oauth2::revoke))
        .fallback(api)
        .with_state(shared)
}

fn error(status: StatusCode, code: u32, message: &str) -> Response {
    (status, Json(payloads::error(code, message))).into_response()
}

fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, 0, "404: Not Found")
}

async fn api(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let method = request.method().clone();
    let uri = request.uri().clone();
    let Some(path) = uri.path().strip_prefix("/api/v10/") else { return not_found() };
    let path = path.trim_end_matches('/').to_owned();
    let query = uri.query().unwrap_or_default().to_owned();
    let authorization = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let authorized = authorization.as_deref() == Some(format!("Bot {}", shared.config.token).as_str());
    // A user's OAuth2 token (`Bearer …`) reads only what its scopes allow.
    let bearer = authorization.as_deref().and_then(|v| v.strip_prefix("Bearer ")).map(str::to_owned);
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let (body, files) = if multipart {
        match read_multipart(request).await {
            Ok(parts) => parts,
            Err(message) => return error(StatusCode::BAD_REQUEST, 50109, &message),
        }
    } else {
        let bytes = Bytes::from_request(request, &()).await.unwrap_or_default();
        if bytes.is_empty() {
            (Value::Null, Vec::new())
        } else {
            match serde_json::from_slice(&bytes) {
                Ok(v) => (v, Vec::new()),
                Err(_) => return error(StatusCode::BAD_REQUEST, 50109, "The request body contains invalid JSON."),
            }
        }
    };
    shared.lock().requests.push(Recorded {
        method: method.to_string(),
        path: path.clone(),
        body: body.clone(),
        files: files.clone(),
    });
    shared.changed.notify_waiters();
    let fault = shared.lock().take_rest_fault(&path);
    let late = match fault {
        Some(crate::faults::RestFault::LateAnswer(after)) => Some(after),
        Some(fault) => return fault.response(),
        None => None,
    };
    let segments: Vec<&str> = path.split('/').collect();
    // Interaction and webhook calls carry their token in the path; Get
    // Gateway is open to anyone, as on Discord.
    let needs_bot_auth = !matches!(segments.as_slice(), ["interactions", ..] | ["webhooks", ..] | ["gateway"]);
    if let Some(token) = bearer {
        let grant = shared.lock().oauth.bearer(&token).cloned();
        let answer = grant.and_then(|grant| crate::oauth2::bearer_route(&shared, &grant, method.as_str(), &segments));
        return answer.unwrap_or_else(|| error(StatusCode::UNAUTHORIZED, 0, "401: Unauthorized"));
    }
    if needs_bot_auth && !authorized {
        return error(StatusCode::UNAUTHORIZED, 0, "401: Unauthorized");
    }
    let bucket = crate::ratelimits::bucket_of(&shared.config.rate_limits, method.as_str(), &segments);
    let taken = bucket.map(|(name, limit)| shared.lock().buckets.take(&name, limit));
    let response = match taken {
        Some(Err(spent)) => {
            let body = json!({ "message": "You are being rate limited.", "retry_after": spent.retry_after(), "global": false, "code": 0 });
            let mut response = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
            spent.stamp(&mut response, true);
            response
        }
        Some(Ok(taken)) => {
            let mut response = route(&shared, &method, &segments, &query, body, files);
            taken.stamp(&mut response, false);
            response
        }
        None => route(&shared, &method, &segments, &query, body, files),
    };
    if let Some(after) = late {
        tokio::time::sleep(after).await;
    }
    response
}

async fn read_multipart(request: Request) -> Result<(Value, Vec<(String, String, Vec<u8>)>), String> {
    let mut form = Multipart::from_request(request, &()).await.map_err(|e| e.to_string())?;
    let mut body = Value::Null;
    let mut files = Vec::new();
    while let Some(field) = form.next_field().await.map_err(|e| e.to_string())? {
        let name = field.name().unwrap_or_default().to_owned();
        let filename = field.file_name().map(str::to_owned);
        let bytes = field.bytes().await.map_err(|e| e.to_string())?;
        if name == "payload_json" {
            body = serde_json::from_slice(&bytes).map_err(|e| format!("payload_json: {e}"))?;
        } else if let Some(filename) = filename {
            files.push((name, filename, bytes.to_vec()));
        }
    }
    Ok((body, files))
}

fn route(
    shared: &Shared,
    method: &Method,
    segments: &[&str],
    query: &str,
    body: Value,
    files: Vec<(String, String, Vec<u8>)>,
) -> Response {
    let app = shared.application_id.to_string();
    match (method.as_str(), segments) {
        ("GET", ["gateway"]) => Json(json!({ "url": shared.ws_url() })).into_response(),
        ("GET", ["gateway", "bot"]) => Json(json!({
            "url": shared.ws_url(),
            "shards": shared.config.shards,
            "session_start_limit": {
                "total": 1000, "remaining": 999, "reset_after": 14_400_000,
                "max_concurrency": shared.config.max_concurrency,
            },
        }))
        .into_response(),
        // Get Current Application, and the older Get Current Bot Application
        // Information that discord.py and other libraries call at login.
        ("GET", ["applications", "@me"] | ["oauth2", "applications", "@me"]) => {
            Json(payloads::application(shared.application_id, &shared.config.bot_name, &shared.bot, &shared.owner))
                .into_response()
        }
        ("GET", ["users", "@me"]) => {
            let mut user = payloads::user(&shared.bot);
            user["verified"] = json!(true);
            user["mfa_enabled"] = json!(false);
            user["locale"] = json!("en-US");
            user["email"] = Value::Null;
            Json(user).into_response()
        }
        ("GET", ["users", "@me", "guilds"]) => {
            Json(crate::oauth2::my_guilds(&shared.lock(), shared.bot.id)).into_response()
        }
        (_, ["applications", id, ..]) if *id != app => error(StatusCode::FORBIDDEN, 50001, "Missing Access"),
        ("PUT", ["applications", _, "commands"]) => set_commands(shared, None, body),
        ("GET", ["applications", _, "commands"]) => Json(shared.lock().global_commands.clone()).into_response(),
        ("PUT", ["applications", _, "guilds", guild, "commands"]) => match guild.parse() {
            Ok(g) => set_commands(shared, Some(g), body),
            Err(_) => not_found(),
        },
        ("POST", ["interactions", id, token, "callback"]) => callback(shared, id, token, query, body, files),
        ("PATCH", ["webhooks", id, token, "messages", "@original"]) if *id == app => {
            edit_original(shared, token, body, files)
        }
        ("DELETE", ["webhooks", id, token, "messages", "@original"]) if *id == app => delete_original(shared, token),
        ("POST", ["webhooks", id, token]) if *id == app => followup(shared, token, body, files),
        ("POST", ["channels", channel, "messages"]) => match channel.parse::<u64>() {
            Ok(c) if shared.lock().dm_channels.contains_key(&c) => create_message(shared, c, &body, &files),
            Ok(c) => {
                let allowed = {
                    let state = shared.lock();
                    let guild = state.world.guild_of_channel(c).and_then(|g| state.world.guilds.get(&g));
                    guild.map(|g| g.permissions_in(c, shared.bot.id))
                };
                use crate::world::permissions::{SEND_MESSAGES, VIEW_CHANNEL};
                match allowed {
                    None => error(StatusCode::NOT_FOUND, 10003, "Unknown Channel"),
                    Some(bits) if bits & VIEW_CHANNEL == 0 => error(StatusCode::FORBIDDEN, 50001, "Missing Access"),
                    Some(bits) if bits & SEND_MESSAGES == 0 => {
                        error(StatusCode::FORBIDDEN, 50013, "Missing Permissions")
                    }
                    Some(_) => create_message(shared, c, &body, &files),
                }
            }
            _ => error(StatusCode::NOT_FOUND, 10003, "Unknown Channel"),
        },
        ("POST", ["users", "@me", "channels"]) => open_dm(shared, &body),
        ("GET", ["guilds", guild]) => in_guild(shared, guild, |g| Json(payloads::guild(g)).into_response()),
        ("GET", ["guilds", guild, "roles"]) => {
            in_guild(shared, guild, |g| Json(g.roles.iter().map(payloads::role).collect::<Vec<_>>()).into_response())
        }
        ("GET", ["guilds", guild, "channels"]) => {
            in_guild(shared, guild, |g| Json(payloads::channels_of(g)).into_response())
        }
        ("GET", ["guilds", guild, "members"]) => match guild.parse() {
            Ok(g) => crate::members::list(shared, g, query),
            Err(_) => not_found(),
        },
        ("GET", ["guilds", guild, "members", user]) => match (guild.parse(), user.parse()) {
            (Ok(g), Ok(u)) => crate::members::get(shared, g, u),
            _ => not_found(),
        },
        (method @ ("PUT" | "DELETE"), ["guilds", guild, "members", user, "roles", role]) => {
            match (guild.parse(), user.parse(), role.parse()) {
                (Ok(g), Ok(u), Ok(r)) => crate::members::change_role(shared, g, u, r, method == "PUT"),
                _ => not_found(),
            }
        }
        _ => not_found(),
    }
}

/// Answers from a server the bot is in; Discord's 404 (Unknown Guild) for
/// any other, and 403 (Missing Access) for one the bot left.
fn in_guild(shared: &Shared, guild: &str, answer: impl FnOnce(&crate::world::Guild) -> Response) -> Response {
    let Ok(id) = guild.parse::<u64>() else { return error(StatusCode::NOT_FOUND, 10004, "Unknown Guild") };
    let state = shared.lock();
    match state.world.guilds.get(&id) {
        None => error(StatusCode::NOT_FOUND, 10004, "Unknown Guild"),
        Some(g) if !g.members.contains_key(&shared.bot.id) => error(StatusCode::FORBIDDEN, 50001, "Missing Access"),
        Some(g) => answer(g),
    }
}

fn set_commands(shared: &Shared, guild: Option<u64>, body: Value) -> Response {
    let Some(list) = body.as_array() else {
        return error(StatusCode::BAD_REQUEST, 50035, "Invalid Form Body");
    };
    let mut state = shared.lock();
    let mut registered = Vec::with_capacity(list.len());
    for command in list {
        let Some(name) = command["name"].as_str() else {
            return error(StatusCode::BAD_REQUEST, 50035, "Invalid Form Body");
        };
        let existing = state.global_commands.iter().find(|c| c["name"] == name).map(|c| c["id"].clone());
        let id = existing.unwrap_or_else(|| json!(state.clock.next_id().to_string()));
        let mut out = json!({
            "id": id,
            "application_id": shared.application_id.to_string(),
            "version": state.clock.next_id().to_string(),
            // A string in Discord's answers, whether sent as a string or a number.
            "default_member_permissions": match &command["default_member_permissions"] {
                Value::Number(n) => json!(n.to_string()),
                Value::String(s) => json!(s),
                _ => Value::Null,
            },
            "type": command.get("type").cloned().unwrap_or(json!(1)),
            "name": name,
            "description": command.get("description").cloned().unwrap_or(json!("")),
            "dm_permission": command.get("dm_permission").cloned().unwrap_or(json!(true)),
            "contexts": command.get("contexts").cloned().unwrap_or(Value::Null),
            "integration_types": command.get("integration_types").cloned().unwrap_or(json!([0])),
            "nsfw": command.get("nsfw").cloned().unwrap_or(json!(false)),
        });
        if let Some(options) = command.get("options") {
            out["options"] = options.clone();
        }
        if let Some(g) = guild {
            out["guild_id"] = json!(g.to_string());
        }
        registered.push(out);
    }
    match guild {
        Some(g) => {
            state.guild_commands.insert(g, registered.clone());
        }
        None => state.global_commands = registered.clone(),
    }
    drop(state);
    shared.changed.notify_waiters();
    Json(registered).into_response()
}

fn callback(
    shared: &Shared,
    id: &str,
    token: &str,
    query: &str,
    body: Value,
    files: Vec<(String, String, Vec<u8>)>,
) -> Response {
    let mut state = shared.lock();
    let Some(pending) = state.interactions.get_mut(token) else {
        return error(StatusCode::NOT_FOUND, 10062, "Unknown interaction");
    };
    if pending.id.to_string() != id || pending.created.elapsed() > ACK_DEADLINE {
        return error(StatusCode::NOT_FOUND, 10062, "Unknown interaction");
    }
    if pending.acknowledged.is_some() {
        return error(StatusCode::BAD_REQUEST, 40060, "Interaction has already been acknowledged.");
    }
    let kind = body["type"].as_u64().unwrap_or(0);
    if !crate::limits::callback_allowed(pending.kind, kind) {
        return error(StatusCode::BAD_REQUEST, 50035, "Invalid Form Body (type: not allowed for this interaction)");
    }
    if let Some(refusal) = refused(&body["data"]) {
        return refusal;
    }
    match kind {
        // CHANNEL_MESSAGE_WITH_SOURCE, or UPDATE_MESSAGE for a component's message.
        4 | 7 => {
            pending.acknowledged = Some((Instant::now(), false));
            pending.updates_message = kind == 7;
            pending.finish(body["data"].clone(), files, false);
        }
        // Deferred: a message to come, or an update to the component's message.
        5 | 6 => {
            pending.acknowledged = Some((Instant::now(), true));
            pending.updates_message = kind == 6;
            // Only a deferred message (5) takes flags, and only EPHEMERAL
            // matters: the answer edited in later keeps it.
            pending.deferred_flags =
                if kind == 5 { body["data"]["flags"].as_u64().unwrap_or(0) & EPHEMERAL } else { 0 };
        }
        _ => return error(StatusCode::BAD_REQUEST, 50035, "Invalid Form Body"),
    }
    let interaction_id = pending.id;
    let ephemeral = body["data"]["flags"].as_u64().is_some_and(|f| f & EPHEMERAL != 0);
    drop(state);
    if query.contains("with_response=true") {
        Json(json!({ "interaction": { "id": interaction_id.to_string(), "type": 2, "response_message_loading": kind == 5, "response_message_ephemeral": ephemeral } })).into_response()
    } else {
        StatusCode::NO_CONTENT.into_response()
    }
}

fn edit_original(shared: &Shared, token: &str, mut body: Value, files: Vec<(String, String, Vec<u8>)>) -> Response {
    if let Some(refusal) = refused(&body) {
        return refusal;
    }
    let channel = {
        let mut state = shared.lock();
        let Some(pending) = state.interactions.get_mut(token) else {
            return error(StatusCode::NOT_FOUND, 10015, "Unknown Webhook");
        };
        if pending.acknowledged.is_none() || pending.original_deleted {
            return error(StatusCode::NOT_FOUND, 10008, "Unknown Message");
        }
        if matches!(pending.acknowledged, Some((_, true))) && !pending.updates_message {
            // An edit cannot change whether a deferred answer is ephemeral:
            // the deferral decided.
            let flags = body["flags"].as_u64().unwrap_or(0) & !EPHEMERAL;
            body["flags"] = json!(flags | pending.deferred_flags);
        }
        pending.finish(body.clone(), files.clone(), false);
        pending.channel_id
    };
    Json(bot_message(shared, channel, &body, &files)).into_response()
}

fn delete_original(shared: &Shared, token: &str) -> Response {
    let mut state = shared.lock();
    let Some(pending) = state.interactions.get_mut(token) else {
        return error(StatusCode::NOT_FOUND, 10015, "Unknown Webhook");
    };
    if pending.acknowledged.is_none() || pending.original_deleted || pending.updates_message {
        return error(StatusCode::NOT_FOUND, 10008, "Unknown Message");
    }
    pending.original_deleted = true;
    StatusCode::NO_CONTENT.into_response()
}

fn followup(shared: &Shared, token: &str, body: Value, files: Vec<(String, String, Vec<u8>)>) -> Response {
    if let Some(refusal) = refused(&body) {
        return refusal;
    }
    let channel = {
        let mut state = shared.lock();
        let Some(pending) = state.interactions.get_mut(token) else {
            return error(StatusCode::NOT_FOUND, 10015, "Unknown Webhook");
        };
        // The answer to a deferral whose original is gone, or to a deferred
        // update that leaves the clicked message as it was.
        let deferred = matches!(pending.acknowledged, Some((_, true)));
        if deferred && (pending.original_deleted || pending.updates_message) {
            pending.finish(body.clone(), files.clone(), true);
        }
        pending.channel_id
    };
    Json(bot_message(shared, channel, &body, &files)).into_response()
}

/// Create Message: checks the body as Discord does, returns the first
/// message again for a nonce repeated with `enforce_nonce`, and records
/// what it posts.
fn create_message(shared: &Shared, channel_id: u64, body: &Value, files: &[(String, String, Vec<u8>)]) -> Response {
    let empty = chars_of(&body["content"]) == 0
        && body["embeds"].as_array().is_none_or(|e| e.is_empty())
        && body["components"].is_null()
        && body["attachments"].is_null();
    if let Some(problem) = crate::limits::message_problem(body).or(empty.then(|| "cannot send an empty message".into()))
    {
        return error(StatusCode::BAD_REQUEST, 50035, &format!("Invalid Form Body ({problem})"));
    }
    let nonce = match &body["nonce"] {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let enforced = body["enforce_nonce"] == true;
    if let (Some(nonce), true) = (&nonce, enforced) {
        // Discord remembers nonces for "the past few minutes" of real
        // time, whatever the simulated message clock says.
        let mut state = shared.lock();
        let window = shared.config.nonce_window;
        state.nonces.retain(|_, (_, at)| at.elapsed() < window);
        if let Some((first, _)) = state.nonces.get(nonce) {
            return Json(first.clone()).into_response();
        }
    }
    let mut message = bot_message(shared, channel_id, body, files);
    if let Some(nonce) = &nonce {
        message["nonce"] = json!(nonce);
    }
    if !body["allowed_mentions"].is_null() {
        // Not part of the message Discord returns; kept for tests to read.
        message["allowed_mentions"] = body["allowed_mentions"].clone();
    }
    {
        let mut state = shared.lock();
        if let (Some(nonce), true) = (nonce, enforced) {
            let now = std::time::Instant::now();
            let mut kept = message.clone();
            kept.as_object_mut().map(|m| m.remove("allowed_mentions"));
            state.nonces.insert(nonce, (kept, now));
        }
        state.posted.push(message.clone());
    }
    shared.changed.notify_waiters();
    message.as_object_mut().map(|m| m.remove("allowed_mentions"));
    Json(message).into_response()
}

fn chars_of(value: &Value) -> usize {
    value.as_str().map_or(0, |s| s.chars().count())
}

/// A 400 for a body Discord would refuse, if it would.
fn refused(body: &Value) -> Option<Response> {
    crate::limits::message_problem(body)
        .map(|problem| error(StatusCode::BAD_REQUEST, 50035, &format!("Invalid Form Body ({problem})")))
}

/// Create DM: the DM channel with a user (the same one every time).
fn open_dm(shared: &Shared, body: &Value) -> Response {
    let recipient = body["recipient_id"].as_str().and_then(|r| r.parse::<u64>().ok()).or(body["recipient_id"].as_u64());
    let mut state = shared.lock();
    let Some(user) = recipient.and_then(|r| state.world.users.get(&r)).cloned() else {
        return error(StatusCode::BAD_REQUEST, 50035, "Invalid Form Body (recipient_id)");
    };
    let channel_id = user.id ^ 0x5A5A;
    state.dm_channels.insert(channel_id, user.id);
    Json(json!({
        "id": channel_id.to_string(),
        "type": 1,
        "last_message_id": null,
        "flags": 0,
        "recipients": [payloads::user(&user)],
    }))
    .into_response()
}

/// The EPHEMERAL message flag: only the invoker sees the message.
const EPHEMERAL: u64 = 1 << 6;

/// A message the bot posted, as Discord returns it.
fn bot_message(shared: &Shared, channel_id: u64, body: &Value, files: &[(String, String, Vec<u8>)]) -> Value {
    let (id, now) = {
        let mut state = shared.lock();
        (state.clock.next_id(), state.clock.now_ms())
    };
    let mut message = payloads::message(id, channel_id, &shared.bot, now);
    for key in ["content", "embeds", "components", "flags"] {
        if let Some(v) = body.get(key).filter(|v| !v.is_null()) {
            message[key] = v.clone();
        }
    }
    for embed in message["embeds"].as_array_mut().into_iter().flatten() {
        if embed.get("type").is_none() {
            embed["type"] = json!("rich");
        }
    }
    message["attachments"] = files
        .iter()
        .enumerate()
        .map(|(i, (_, filename, bytes))| {
            json!({
                "id": (id + i as u64 + 1).to_string(),
                "filename": filename,
                "size": bytes.len(),
                "url": format!("https://cdn.discordapp.com/attachments/{channel_id}/{id}/{filename}"),
                "proxy_url": format!("https://media.discordapp.net/attachments/{channel_id}/{id}/{filename}"),
            })
        })
        .collect();
    message
}
