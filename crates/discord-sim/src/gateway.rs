//! The gateway: one WebSocket per shard connection, speaking Discord's
//! protocol with text JSON frames (zlib-stream compressed when the client
//! asks with `compress=zlib-stream`).

use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::Response;
use flate2::{Compress, Compression, FlushCompress};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::intents;
use crate::payloads;
use crate::state::{shard_for, Connection, Outgoing, Session, Shared};

/// The query Discord reads on connect.
#[derive(Debug, Deserialize)]
pub(crate) struct GatewayQuery {
    v: Option<u8>,
    encoding: Option<String>,
    compress: Option<String>,
}

/// Members per GUILD_MEMBERS_CHUNK, as Discord sends them.
const CHUNK_SIZE: usize = 1000;

pub(crate) async fn upgrade(
    ws: WebSocketUpgrade,
    Query(query): Query<GatewayQuery>,
    State(shared): State<Arc<Shared>>,
) -> Response {
    ws.on_upgrade(move |socket| connection(socket, shared, query))
}

async fn connection(socket: WebSocket, shared: Arc<Shared>, query: GatewayQuery) {
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Outgoing>();
    let compress = query.compress.as_deref() == Some("zlib-stream");
    // Resolves when the writer stops (a close sent, a cut, a dead peer), so the
    // reader stops too and the socket really closes.
    let (writer_done, mut writer_stopped) = tokio::sync::oneshot::channel::<()>();
    let connection_id = {
        let mut state = shared.lock();
        state.next_connection += 1;
        state.next_connection
    };
    let writer_shared = Arc::clone(&shared);
    let writer = tokio::spawn(async move {
        let _done = writer_done;
        let mut zlib = compress.then(|| Compress::new(Compression::fast(), true));
        while let Some(out) = rx.recv().await {
            let text = match out {
                Outgoing::Text(text) => text,
                Outgoing::Tracked(session, seq, text) => {
                    // Taken before the write: the bot cannot read it any
                    // earlier. A connection the session has moved away from
                    // (its bot died, another resumed) records nothing.
                    let at = crate::deliveries::wall_ms();
                    let mut state = writer_shared.lock();
                    let current =
                        state.sessions.get(session.as_ref()).and_then(|s| s.connection.as_ref()).map(|c| c.id);
                    if current == Some(connection_id) {
                        state.deliveries.written.insert((session.to_string(), seq), at);
                    }
                    text
                }
                Outgoing::Drop => return,
                Outgoing::Close(code, reason) => {
                    let _ = sink.send(Message::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
                    break;
                }
            };
            let message = match zlib.as_mut() {
                Some(z) => Message::Binary(deflate(z, text.as_bytes()).into()),
                None => Message::Text(text.as_ref().into()),
            };
            if sink.send(message).await.is_err() {
                break;
            }
        }
        // Flushes any close reply the WebSocket layer queued, then closes.
        let _ = sink.close().await;
    });

    let send = |payload: Value| {
        let _ = tx.send(Outgoing::Text(payload.to_string().into()));
    };
    let close = |code: u16, reason: &str| {
        let _ = tx.send(Outgoing::Close(code, reason.to_owned()));
    };

    if query.v.is_some_and(|v| v != 10) || query.encoding.as_deref().is_some_and(|e| e != "json") {
        close(4012, "Invalid API version");
    } else {
        send(
            json!({ "op": 10, "d": { "heartbeat_interval": shared.config.heartbeat_interval_ms }, "s": null, "t": null }),
        );
        let mut session_id: Option<String> = None;
        // Discord allows 120 gateway sends a minute per connection.
        let mut sends: std::collections::VecDeque<std::time::Instant> = std::collections::VecDeque::new();
        loop {
            let frame = tokio::select! {
                frame = stream.next() => frame,
                _ = &mut writer_stopped => break,
            };
            let Some(Ok(frame)) = frame else { break };
            let text = match frame {
                Message::Text(t) => t.to_string(),
                Message::Binary(b) => String::from_utf8_lossy(&b).into_owned(),
                Message::Close(frame) => {
                    // Closing with 1000 or 1001 ends the session; other codes keep it resumable.
                    let code = frame.as_ref().map_or(1005, |f| f.code);
                    if let (true, Some(id)) = (code == 1000 || code == 1001, &session_id) {
                        shared.lock().sessions.remove(id);
                    }
                    close(if code == 1005 { 1000 } else { code }, "");
                    break;
                }
                _ => continue,
            };
            let now = std::time::Instant::now();
            while sends.front().is_some_and(|t| now.duration_since(*t) >= std::time::Duration::from_secs(60)) {
                sends.pop_front();
            }
            sends.push_back(now);
            // The heartbeats the simulator itself asks for come on top (with
            // Discord's ~41 s interval, one a minute; tests that ask for
            // 100 ms heartbeats must not be punished for them).
            let heartbeats = 60_000 / shared.config.heartbeat_interval_ms.max(1) + 1;
            if sends.len() as u64 > u64::from(shared.config.gateway_sends_per_minute) + heartbeats {
                shared.lock().gateway_rate_limited += 1;
                close(4008, "You are being rate limited.");
                break;
            }
            let Ok(payload) = serde_json::from_str::<Value>(&text) else {
                close(4002, "Error while decoding payload.");
                break;
            };
            let op = payload["op"].as_u64().unwrap_or(u64::MAX);
            let d = &payload["d"];
            match op {
                1 => {
                    let ack = {
                        let mut state = shared.lock();
                        state.heartbeats += 1;
                        if state.record_deliveries {
                            let heartbeat = crate::Heartbeat {
                                session: session_id.clone(),
                                at_ms: crate::deliveries::wall_ms(),
                                seq: d.as_u64(),
                            };
                            state.deliveries.heartbeats.push(heartbeat);
                        }
                        state.heartbeat_acks
                    };
                    if ack {
                        send(json!({ "op": 11, "d": null, "s": null, "t": null }));
                    }
                }
                2 if session_id.is_some() => {
                    close(4005, "Already authenticated.");
                    break;
                }
                2 => match identify(&shared, d, connection_id, &tx) {
                    Ok(id) => session_id = Some(id),
                    Err((code, reason)) => {
                        close(code, reason);
                        break;
                    }
                },
                6 => match resume(&shared, d, connection_id, &tx) {
                    Ok(Some(id)) => session_id = Some(id),
                    Ok(None) => send(json!({ "op": 9, "d": false, "s": null, "t": null })),
                    Err((code, reason)) => {
                        close(code, reason);
                        break;
                    }
                },
                _ if session_id.is_none() => {
                    close(4003, "Not authenticated.");
                    break;
                }
                8 => request_members(&shared, session_id.as_deref().unwrap_or_default(), d),
                3 | 4 => {}
                _ => {
                    close(4001, "Unknown opcode.");
                    break;
                }
            }
        }
        detach(&shared, session_id.as_deref(), connection_id);
    }
    drop(tx);
    let _ = writer.await;
}

fn deflate(z: &mut Compress, input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() / 2 + 64);
    let mut consumed = 0;
    loop {
        let before_in = z.total_in();
        out.reserve(input.len().max(64));
        z.compress_vec(&input[consumed..], &mut out, FlushCompress::Sync).expect("deflate");
        consumed += (z.total_in() - before_in) as usize;
        if consumed >= input.len() && out.ends_with(&[0, 0, 0xff, 0xff]) {
            return out;
        }
    }
}

fn token_ok(shared: &Shared, given: &Value) -> bool {
    let given = given.as_str().unwrap_or_default();
    given.strip_prefix("Bot ").unwrap_or(given) == shared.config.token
}

type CloseReason = (u16, &'static str);

fn identify(
    shared: &Shared,
    d: &Value,
    connection_id: u64,
    tx: &mpsc::UnboundedSender<Outgoing>,
) -> Result<String, CloseReason> {
    if !token_ok(shared, &d["token"]) {
        return Err((4004, "Authentication failed."));
    }
    let requested = d["intents"].as_u64().ok_or((4013, "Invalid intent(s)."))?;
    if requested & !intents::ALL != 0 {
        return Err((4013, "Invalid intent(s)."));
    }
    if requested & intents::PRIVILEGED & !shared.config.privileged_intents != 0 {
        return Err((4014, "Disallowed intent(s)."));
    }
    let shards = shared.config.shards;
    let shard = match d.get("shard") {
        Some(s) => {
            let id = s[0].as_u64().ok_or((4010, "Invalid shard."))? as u32;
            let count = s[1].as_u64().ok_or((4010, "Invalid shard."))? as u32;
            if count == 0 || id >= count {
                return Err((4010, "Invalid shard."));
            }
            if count < shards {
                return Err((4011, "Sharding required."));
            }
            [id, count]
        }
        None if shards > 1 => return Err((4011, "Sharding required.")),
        None => [0, 1],
    };
    let mut state = shared.lock();
    let session_id = format!("{:032x}", state.clock.next_id() as u128 * 0x9E37_79B9_7F4A_7C15);
    state.sessions.insert(
        session_id.clone(),
        Session {
            shard,
            intents: requested,
            seq: 0,
            buffer: Default::default(),
            connection: Some(Connection { id: connection_id, tx: tx.clone() }),
        },
    );
    state.active.insert(shard[0], session_id.clone());
    state.identifies += 1;
    state.identify_log.push((shard[0], std::time::Instant::now()));
    // Servers the bot is in; one in an outage is listed but sends no GUILD_CREATE.
    let guilds: Vec<u64> = state
        .world
        .guilds
        .values()
        .filter(|g| g.members.contains_key(&shared.bot.id) && shard_for(g.id, shard[1]) == shard[0])
        .map(|g| g.id)
        .collect();
    let mut bot_user = payloads::user(&shared.bot);
    bot_user["verified"] = json!(true);
    bot_user["mfa_enabled"] = json!(false);
    let ready = json!({
        "v": 10,
        "user": bot_user,
        "guilds": guilds.iter().map(|g| json!({ "id": g.to_string(), "unavailable": true })).collect::<Vec<_>>(),
        "session_id": session_id,
        "session_type": "normal",
        "resume_gateway_url": shared.resume_url(),
        "shard": shard,
        "application": { "id": shared.application_id.to_string(), "flags": 1 << 14 },
        "private_channels": [],
        "presences": [],
        "relationships": [],
        "guild_join_requests": [],
        "geo_ordered_rtc_regions": [],
        "user_settings": {},
    });
    state.dispatch_to(&session_id, 0, "READY", ready);
    if requested & intents::GUILDS != 0 {
        let available: Vec<u64> = guilds.into_iter().filter(|g| !state.world.guilds[g].outage).collect();
        for guild_id in available {
            let data = guild_create_payload(shared, &state, guild_id, requested);
            state.dispatch_to(&session_id, 0, "GUILD_CREATE", data);
        }
    }
    drop(state);
    shared.changed.notify_waiters();
    Ok(session_id)
}

/// GUILD_CREATE as Discord sends it: without the presence intent, only the
/// bot itself and members in voice are listed.
pub(crate) fn guild_create_payload(
    shared: &Shared,
    state: &crate::state::State,
    guild_id: u64,
    requested: u64,
) -> Value {
    let guild = &state.world.guilds[&guild_id];
    let everyone = requested & intents::GUILD_PRESENCES != 0;
    let listed = guild.members.values().filter(|m| everyone || m.voice_channel.is_some() || m.user_id == shared.bot.id);
    let members = listed.map(|m| payloads::member(m, &state.world.users[&m.user_id])).collect();
    let voice = guild
        .members
        .values()
        .filter(|m| m.voice_channel.is_some())
        .map(|m| {
            let mut v = payloads::voice_state(guild.id, m.voice_channel, m, &state.world.users[&m.user_id]);
            let fields = v.as_object_mut().expect("an object");
            fields.remove("guild_id");
            fields.remove("member");
            v
        })
        .collect();
    payloads::guild_create(guild, members, voice)
}

fn resume(
    shared: &Shared,
    d: &Value,
    connection_id: u64,
    tx: &mpsc::UnboundedSender<Outgoing>,
) -> Result<Option<String>, CloseReason> {
    if !token_ok(shared, &d["token"]) {
        return Err((4004, "Authentication failed."));
    }
    let session_id = d["session_id"].as_str().unwrap_or_default().to_owned();
    let seq = d["seq"].as_u64().unwrap_or(0);
    let mut state = shared.lock();
    let Some(session) = state.sessions.get_mut(&session_id) else { return Ok(None) };
    let oldest_kept = session.buffer.front().map_or(session.seq + 1, |(s, _)| *s);
    if seq > session.seq || seq + 1 < oldest_kept {
        state.sessions.remove(&session_id);
        return Ok(None);
    }
    if let Some(old) = session.connection.take() {
        let _ = old.tx.send(Outgoing::Close(4009, "Session resumed elsewhere.".into()));
    }
    let replay_started = std::time::Instant::now();
    let tracked: Option<std::sync::Arc<str>> = state.record_deliveries.then(|| session_id.as_str().into());
    let session = state.sessions.get_mut(&session_id).expect("looked up above");
    for (s, frame) in &session.buffer {
        if *s > seq {
            let frame = std::sync::Arc::clone(frame);
            let _ = tx.send(match &tracked {
                Some(id) => Outgoing::Tracked(std::sync::Arc::clone(id), *s, frame),
                None => Outgoing::Text(frame),
            });
        }
    }
    session.connection = Some(Connection { id: connection_id, tx: tx.clone() });
    let shard = session.shard[0];
    state.active.insert(shard, session_id.clone());
    state.resumes += 1;
    state.last_resume_at = Some(replay_started);
    state.dispatch_to(&session_id, 0, "RESUMED", json!({}));
    drop(state);
    shared.changed.notify_waiters();
    Ok(Some(session_id))
}

/// A snowflake as clients send it: a string, or a number (Discord takes both).
fn snowflake(value: &Value) -> Option<u64> {
    match value {
        Value::String(s) => s.parse().ok(),
        other => other.as_u64(),
    }
}

/// Request Guild Members (op 8): every member for `query: ""` with `limit:
/// 0`; otherwise those whose username starts with `query` (any case), or
/// those `user_ids` names, up to `limit`; in chunks of 1,000 that carry the
/// request's `nonce`, as Discord answers.
fn request_members(shared: &Shared, session_id: &str, d: &Value) {
    let Some(guild_id) = snowflake(&d["guild_id"]) else { return };
    let user_ids: Option<Vec<u64>> = match &d["user_ids"] {
        Value::Array(ids) => Some(ids.iter().filter_map(snowflake).collect()),
        Value::Null => None,
        one => snowflake(one).map(|id| vec![id]),
    };
    let query = d["query"].as_str().map(str::to_lowercase);
    let limit = d["limit"].as_u64().unwrap_or(0) as usize;
    let nonce = d.get("nonce").cloned();
    let mut state = shared.lock();
    let Some(session) = state.sessions.get(session_id) else { return };
    if session.intents & intents::GUILD_MEMBERS == 0 {
        if let Some(c) = &session.connection {
            let _ = c.tx.send(Outgoing::Close(4013, "Invalid intent(s).".into()));
        }
        return;
    }
    if crate::state::shard_for(guild_id, session.shard[1]) != session.shard[0] {
        // A shard holds only its own servers; Discord sends it nothing for others.
        state.misrouted_member_requests += 1;
        return;
    }
    let Some(guild) = state.world.guilds.get(&guild_id) else { return };
    let wanted = |m: &&crate::world::Member| match (&user_ids, &query) {
        (Some(ids), _) => ids.contains(&m.user_id),
        (None, Some(prefix)) => state.world.users[&m.user_id].username.to_lowercase().starts_with(prefix.as_str()),
        (None, None) => false,
    };
    let most = if limit == 0 && user_ids.is_none() && query.as_deref() == Some("") { usize::MAX } else { limit };
    let most = if user_ids.is_some() && limit == 0 { usize::MAX } else { most };
    let members: Vec<Value> = guild
        .members
        .values()
        .filter(wanted)
        .take(most)
        .map(|m| payloads::member(m, &state.world.users[&m.user_id]))
        .collect();
    let count = members.len().div_ceil(CHUNK_SIZE).max(1);
    let chunks: Vec<Vec<Value>> =
        if members.is_empty() { vec![Vec::new()] } else { members.chunks(CHUNK_SIZE).map(<[Value]>::to_vec).collect() };
    for (index, chunk) in chunks.into_iter().enumerate() {
        let mut data = json!({
            "guild_id": guild_id.to_string(),
            "members": chunk,
            "chunk_index": index,
            "chunk_count": count,
            "not_found": [],
        });
        if let Some(n) = &nonce {
            data["nonce"] = n.clone();
        }
        state.dispatch_to(session_id, 0, "GUILD_MEMBERS_CHUNK", data);
    }
    *state.member_requests.entry(guild_id).or_default() += 1;
    drop(state);
    shared.changed.notify_waiters();
}

fn detach(shared: &Shared, session_id: Option<&str>, connection_id: u64) {
    let mut state = shared.lock();
    if let Some(session) = session_id.and_then(|id| state.sessions.get_mut(id)) {
        if session.connection.as_ref().is_some_and(|c| c.id == connection_id) {
            session.connection = None;
        }
    }
    drop(state);
    shared.changed.notify_waiters();
}
