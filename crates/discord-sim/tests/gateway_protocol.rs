//! The simulator's gateway speaks Discord's protocol over a real WebSocket.

use std::time::Duration;

use discord_sim::{intents, SimConfig, Simulator};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(url: &str) -> Socket {
    let (socket, _) = tokio_tungstenite::connect_async(format!("{url}/?v=10&encoding=json")).await.unwrap();
    socket
}

/// The next payload, or the close code.
async fn next(socket: &mut Socket) -> Result<Value, u16> {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), socket.next()).await.expect("a frame in time");
        match frame {
            Some(Ok(Message::Text(text))) => return Ok(serde_json::from_str(&text).unwrap()),
            Some(Ok(Message::Close(frame))) => return Err(frame.map_or(1005, |f| u16::from(f.code))),
            Some(Ok(_)) => continue,
            other => panic!("connection ended without a close frame: {other:?}"),
        }
    }
}

async fn send(socket: &mut Socket, payload: Value) {
    socket.send(Message::Text(payload.to_string().into())).await.unwrap();
}

fn identify(token: &str, intents: u64) -> Value {
    json!({ "op": 2, "d": { "token": format!("Bot {token}"), "intents": intents, "shard": [0, 1],
        "properties": { "os": "linux", "browser": "test", "device": "test" } } })
}

const BOT_INTENTS: u64 = intents::GUILDS | intents::GUILD_MEMBERS | intents::GUILD_MESSAGES;

#[tokio::test]
async fn hello_then_identify_failures_close_with_discords_codes() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let url = format!("ws://{}", sim.addr());
    let mut socket = connect(&url).await;
    let hello = next(&mut socket).await.unwrap();
    assert_eq!((hello["op"].as_u64(), hello["d"]["heartbeat_interval"].as_u64()), (Some(10), Some(41_250)));
    send(&mut socket, identify("wrong", BOT_INTENTS)).await;
    assert_eq!(next(&mut socket).await, Err(4004));

    let mut socket = connect(&url).await;
    next(&mut socket).await.unwrap();
    send(&mut socket, identify(sim.token(), BOT_INTENTS | intents::MESSAGE_CONTENT)).await;
    assert_eq!(next(&mut socket).await, Err(4014), "MESSAGE_CONTENT is not enabled for the application");

    let mut socket = connect(&url).await;
    next(&mut socket).await.unwrap();
    send(&mut socket, json!({ "op": 8, "d": { "guild_id": "1", "query": "", "limit": 0 } })).await;
    assert_eq!(next(&mut socket).await, Err(4003), "commands before IDENTIFY");
}

#[tokio::test]
async fn ready_guilds_chunks_heartbeats_and_resume_with_replay() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let guild = sim.add_guild("Proto");
    let ann = sim.add_user("ann", None, false);
    sim.add_member(guild, ann, sim.now_ms() - 1000).unwrap();
    let url = format!("ws://{}", sim.addr());
    let mut socket = connect(&url).await;
    next(&mut socket).await.unwrap();
    send(&mut socket, identify(sim.token(), BOT_INTENTS)).await;
    let ready = next(&mut socket).await.unwrap();
    assert_eq!((ready["t"].as_str(), ready["s"].as_u64()), (Some("READY"), Some(1)));
    let session = ready["d"]["session_id"].as_str().unwrap().to_owned();
    let resume_url = ready["d"]["resume_gateway_url"].as_str().unwrap().to_owned();
    let create = next(&mut socket).await.unwrap();
    assert_eq!(create["t"], "GUILD_CREATE");
    assert_eq!(create["d"]["members"].as_array().unwrap().len(), 1, "only the bot, without the presence intent");
    assert_eq!(create["d"]["member_count"], 3);

    send(
        &mut socket,
        json!({ "op": 8, "d": { "guild_id": guild.to_string(), "query": "", "limit": 0, "nonce": "n1" } }),
    )
    .await;
    let chunk = next(&mut socket).await.unwrap();
    assert_eq!((chunk["t"].as_str(), chunk["s"].as_u64()), (Some("GUILD_MEMBERS_CHUNK"), Some(3)));
    assert_eq!((chunk["d"]["members"].as_array().unwrap().len(), chunk["d"]["nonce"].as_str()), (3, Some("n1")));

    send(&mut socket, json!({ "op": 1, "d": 3 })).await;
    assert_eq!(next(&mut socket).await.unwrap()["op"], 11);

    // Drop the connection (resumable close), let events happen, then resume.
    socket.close(Some(CloseFrame { code: CloseCode::Library(4000), reason: "".into() })).await.unwrap();
    sim.send_message(guild, ann).unwrap();
    sim.send_message(guild, ann).unwrap();
    let mut socket = connect(&resume_url).await;
    next(&mut socket).await.unwrap();
    send(&mut socket, json!({ "op": 6, "d": { "token": sim.token(), "session_id": session, "seq": 3 } })).await;
    let replayed: Vec<Value> = vec![next(&mut socket).await.unwrap(), next(&mut socket).await.unwrap()];
    assert_eq!(replayed.iter().map(|p| p["s"].as_u64().unwrap()).collect::<Vec<_>>(), vec![4, 5]);
    assert!(replayed.iter().all(|p| p["t"] == "MESSAGE_CREATE"));
    let resumed = next(&mut socket).await.unwrap();
    assert_eq!((resumed["t"].as_str(), resumed["s"].as_u64()), (Some("RESUMED"), Some(6)));

    // A session closed with 1000 is gone: resuming it is refused with op 9.
    socket.close(Some(CloseFrame { code: CloseCode::Normal, reason: "".into() })).await.unwrap();
    let mut socket = connect(&resume_url).await;
    next(&mut socket).await.unwrap();
    send(&mut socket, json!({ "op": 6, "d": { "token": sim.token(), "session_id": session, "seq": 6 } })).await;
    let invalid = next(&mut socket).await.unwrap();
    assert_eq!((invalid["op"].as_u64(), invalid["d"].as_bool()), (Some(9), Some(false)));
}

#[tokio::test]
async fn a_resume_older_than_the_replay_buffer_is_refused() {
    let sim = Simulator::start(SimConfig { replay_buffer: 2, ..SimConfig::default() }).await.unwrap();
    let guild = sim.add_guild("Short memory");
    let owner = sim.owner_id();
    let url = format!("ws://{}", sim.addr());
    let mut socket = connect(&url).await;
    next(&mut socket).await.unwrap();
    send(&mut socket, identify(sim.token(), BOT_INTENTS)).await;
    let session = next(&mut socket).await.unwrap()["d"]["session_id"].as_str().unwrap().to_owned();
    next(&mut socket).await.unwrap(); // GUILD_CREATE, sequence 2
    socket.close(Some(CloseFrame { code: CloseCode::Library(4000), reason: "".into() })).await.unwrap();
    for _ in 0..3 {
        sim.send_message(guild, owner).unwrap(); // sequences 3..=5; only 4 and 5 are kept
    }
    let mut socket = connect(&url).await;
    next(&mut socket).await.unwrap();
    send(&mut socket, json!({ "op": 6, "d": { "token": sim.token(), "session_id": session, "seq": 2 } })).await;
    let invalid = next(&mut socket).await.unwrap();
    assert_eq!((invalid["op"].as_u64(), invalid["d"].as_bool()), (Some(9), Some(false)));
}

#[tokio::test]
async fn more_than_120_sends_a_minute_close_with_4008() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let mut socket = connect(&format!("ws://{}", sim.addr())).await;
    next(&mut socket).await.unwrap(); // HELLO
    send(&mut socket, identify(sim.token(), BOT_INTENTS)).await;
    // 120 sends a minute, plus the one or two heartbeats a minute HELLO asked for.
    for _ in 0..125 {
        send(&mut socket, json!({ "op": 1, "d": null })).await;
    }
    let mut closed = None;
    for _ in 0..300 {
        match next(&mut socket).await {
            Ok(_) => continue,
            Err(code) => {
                closed = Some(code);
                break;
            }
        }
    }
    assert_eq!(closed, Some(4008));
    assert_eq!(sim.gateway_rate_limited(), 1);
}
