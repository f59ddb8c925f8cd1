//! The simulator's shared state and the one place dispatches are sequenced,
//! buffered for RESUME, and sent.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;
use tokio::sync::{mpsc, Notify};

use crate::clock::Clock;
use crate::interactions::Pending;
use crate::world::{User, World};
use crate::SimConfig;

/// A frame for one gateway connection's writer.
#[derive(Debug, Clone)]
pub(crate) enum Outgoing {
    /// A JSON payload.
    Text(Arc<str>),
    /// A dispatch whose writing is recorded: its session, sequence and frame.
    Tracked(Arc<str>, u64, Arc<str>),
    /// Close with a code and reason.
    Close(u16, String),
    /// Cut the connection without a close frame, as a network failure would.
    Drop,
}

/// One live WebSocket.
#[derive(Debug)]
pub(crate) struct Connection {
    pub id: u64,
    pub tx: mpsc::UnboundedSender<Outgoing>,
}

/// A gateway session: survives its connection, so it can be resumed.
#[derive(Debug)]
pub(crate) struct Session {
    pub shard: [u32; 2],
    pub intents: u64,
    pub seq: u64,
    pub buffer: VecDeque<(u64, Arc<str>)>,
    pub connection: Option<Connection>,
}

/// A request the bot made, for tests to inspect.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// HTTP method.
    pub method: String,
    /// Path after `/api/v10`.
    pub path: String,
    /// JSON body (`payload_json` for multipart); Null when none.
    pub body: Value,
    /// Attached files: (form field, filename, bytes).
    pub files: Vec<(String, String, Vec<u8>)>,
}

/// Everything behind the lock.
pub(crate) struct State {
    pub clock: Clock,
    pub world: World,
    pub sessions: HashMap<String, Session>,
    /// The session events for each shard go to.
    pub active: HashMap<u32, String>,
    pub global_commands: Vec<Value>,
    pub guild_commands: HashMap<u64, Vec<Value>>,
    pub requests: Vec<Recorded>,
    /// CDN avatar fetches: (user id, hash asked for, whether it was served).
    pub cdn_fetches: Vec<(u64, String, bool)>,
    pub interactions: HashMap<String, Pending>,
    pub next_connection: u64,
    pub identifies: u64,
    pub resumes: u64,
    /// When each IDENTIFY arrived, with its shard, for tests of the identify limit.
    pub identify_log: Vec<(u32, std::time::Instant)>,
    /// Events a session keeps for RESUME.
    pub replay_limit: usize,
    /// Whether dispatch writes and heartbeats are recorded.
    pub record_deliveries: bool,
    /// Servers whose member list the bot has requested (and been sent).
    pub member_requests: HashMap<u64, u64>,
    /// Whether heartbeats are acknowledged (off: a zombie connection).
    pub heartbeat_acks: bool,
    /// Heartbeats received, acknowledged or not.
    pub heartbeats: u64,
    /// When the last RESUME was accepted (its replay starts then).
    pub last_resume_at: Option<std::time::Instant>,
    /// Deliveries and heartbeats, when the configuration records them.
    pub deliveries: crate::DeliveryLog,
    /// Faults to answer REST requests with: (path prefix, fault), first match first.
    pub rest_faults: VecDeque<(String, crate::faults::RestFault)>,
    /// Messages the bot created with Create Message, in order.
    pub posted: Vec<Value>,
    /// Nonces the bot sent with `enforce_nonce`: the message each created
    /// and when (virtual ms), so a repeat within minutes returns it.
    pub nonces: HashMap<String, (Value, std::time::Instant)>,
    /// DM channels the bot opened: channel id → the other user.
    pub dm_channels: HashMap<u64, u64>,
    /// Role changes the bot made: (guild, user, role, given).
    pub role_changes: Vec<(u64, u64, u64, bool)>,
    /// REST rate-limit buckets.
    pub buckets: crate::ratelimits::Buckets,
    /// Connections closed with 4008 for sending too fast.
    pub gateway_rate_limited: u64,
    /// Member requests for servers not on the requesting shard (ignored, as
    /// the shard does not hold them).
    pub misrouted_member_requests: u64,
    /// Where this simulator serves files (`http://127.0.0.1:PORT`).
    pub cdn_base: String,
    /// Files members attached to commands, by id.
    pub attachments: HashMap<u64, crate::world::Attachment>,
    /// Attachment fetches: (attachment id, whether it was served).
    pub attachment_fetches: Vec<(u64, bool)>,
    /// OAuth2: registered redirect URIs, codes, tokens.
    pub oauth: crate::grants::OAuth,
}

/// State plus what never changes.
pub(crate) struct Shared {
    pub config: SimConfig,
    pub addr: SocketAddr,
    pub application_id: u64,
    pub bot: User,
    pub owner: User,
    state: Mutex<State>,
    /// Woken whenever sessions or commands change, for scenario waits.
    pub changed: Notify,
}

impl Shared {
    pub fn new(config: SimConfig, addr: SocketAddr) -> Self {
        let replay_limit = config.replay_buffer.max(1);
        let record_deliveries = config.record_deliveries;
        let mut clock = Clock::new(config.start_ms);
        let created = config.start_ms.saturating_sub(400 * 86_400_000);
        let application_id = clock.id_at(created);
        let bot = User {
            id: application_id,
            username: config.bot_name.to_lowercase(),
            global_name: Some(config.bot_name.clone()),
            bot: true,
            avatar: None,
        };
        let owner = User {
            id: clock.id_at(created),
            username: "owner".into(),
            global_name: Some("Server Owner".into()),
            bot: false,
            avatar: None,
        };
        let mut world = World::default();
        world.users.insert(bot.id, bot.clone());
        world.users.insert(owner.id, owner.clone());
        Self {
            config,
            addr,
            application_id,
            bot,
            owner,
            state: Mutex::new(State {
                clock,
                world,
                sessions: HashMap::new(),
                active: HashMap::new(),
                global_commands: Vec::new(),
                guild_commands: HashMap::new(),
                requests: Vec::new(),
                cdn_fetches: Vec::new(),
                interactions: HashMap::new(),
                next_connection: 0,
                identifies: 0,
                resumes: 0,
                identify_log: Vec::new(),
                replay_limit,
                record_deliveries,
                member_requests: HashMap::new(),
                heartbeat_acks: true,
                heartbeats: 0,
                last_resume_at: None,
                rest_faults: VecDeque::new(),
                posted: Vec::new(),
                nonces: HashMap::new(),
                dm_channels: HashMap::new(),
                role_changes: Vec::new(),
                buckets: Default::default(),
                gateway_rate_limited: 0,
                misrouted_member_requests: 0,
                cdn_base: format!("http://{addr}"),
                attachments: HashMap::new(),
                attachment_fetches: Vec::new(),
                oauth: Default::default(),
                deliveries: Default::default(),
            }),
            changed: Notify::new(),
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    pub fn resume_url(&self) -> String {
        format!("ws://{}/resume", self.addr)
    }

    pub fn close_all_connections(&self) {
        let mut state = self.lock();
        for session in state.sessions.values_mut() {
            if let Some(c) = session.connection.take() {
                let _ = c.tx.send(Outgoing::Close(1001, "simulator stopped".into()));
            }
        }
    }
}

/// Which shard a server's events go to (Discord's formula).
pub(crate) fn shard_for(guild_id: u64, shards: u32) -> u32 {
    ((guild_id >> 22) % u64::from(shards.max(1))) as u32
}

impl State {
    /// The injected fault for a request to `path`, if one is queued.
    pub fn take_rest_fault(&mut self, path: &str) -> Option<crate::faults::RestFault> {
        let index = self.rest_faults.iter().position(|(prefix, _)| path.starts_with(prefix.as_str()))?;
        self.rest_faults.remove(index).map(|(_, fault)| fault)
    }

    /// Sends a dispatch for `guild_id` to the session of its shard if that
    /// session asked for `intent` (0: always). Buffered for RESUME whether or
    /// not a connection is up. Returns the sequence number, or None when no
    /// session would receive it (as Discord drops events for absent bots).
    pub fn dispatch(&mut self, shards: u32, guild_id: u64, intent: u64, event: &str, data: Value) -> Option<u64> {
        let shard = shard_for(guild_id, shards);
        let session_id = self.active.get(&shard)?.clone();
        self.dispatch_to(&session_id, intent, event, data)
    }

    /// Sends a dispatch to one session.
    pub fn dispatch_to(&mut self, session_id: &str, intent: u64, event: &str, data: Value) -> Option<u64> {
        let session = self.sessions.get_mut(session_id)?;
        if intent != 0 && session.intents & intent == 0 {
            return None;
        }
        session.seq += 1;
        let seq = session.seq;
        // Keys in the order Discord sends them: `t`, `s`, `op`, then `d`.
        let frame: Arc<str> = format!(r#"{{"t":{},"s":{seq},"op":0,"d":{data}}}"#, Value::from(event)).into();
        session.buffer.push_back((seq, Arc::clone(&frame)));
        if session.buffer.len() > self.replay_limit {
            session.buffer.pop_front();
        }
        if let Some(connection) = &session.connection {
            let _ = connection.tx.send(if self.record_deliveries {
                Outgoing::Tracked(session_id.into(), seq, frame)
            } else {
                Outgoing::Text(frame)
            });
        }
        Some(seq)
    }
}
