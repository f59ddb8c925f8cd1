//! One gateway shard: read each payload, translate it, hand it to the ledger,
//! and start command handlers. Reading waits while the ledger is full, so a
//! slow database slows the shard instead of filling memory.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use tokio::sync::watch;
use twilight_gateway::{EventTypeFlags, Message, Shard};
use twilight_model::gateway::event::{Event, GatewayEvent};
use twilight_model::gateway::payload::incoming::GuildCreate;
use twilight_model::gateway::payload::outgoing::RequestGuildMembers;

use crate::bot::Context;
use crate::commands::{self, Freshness};
use crate::ingest::chunks::ChunkCollector;
use crate::ingest::translate::translate;
use crate::ingest::{Envelope, SessionInfo};

/// The events Tally deserializes; everything else is skipped unparsed.
const WANTED: EventTypeFlags = EventTypeFlags::READY
    .union(EventTypeFlags::RESUMED)
    .union(EventTypeFlags::GUILD_CREATE)
    .union(EventTypeFlags::GUILD_UPDATE)
    .union(EventTypeFlags::MEMBER_ADD)
    .union(EventTypeFlags::MEMBER_REMOVE)
    .union(EventTypeFlags::MEMBER_UPDATE)
    .union(EventTypeFlags::MEMBER_CHUNK)
    .union(EventTypeFlags::MESSAGE_CREATE)
    .union(EventTypeFlags::REACTION_ADD)
    .union(EventTypeFlags::REACTION_REMOVE)
    .union(EventTypeFlags::REACTION_REMOVE_ALL)
    .union(EventTypeFlags::REACTION_REMOVE_EMOJI)
    .union(EventTypeFlags::INTERACTION_CREATE);

/// Gateway close codes after which reconnecting cannot help, with what to do.
fn fatal_close_advice(code: u16) -> Option<&'static str> {
    Some(match code {
        4004 => "DISCORD_TOKEN was rejected by the gateway (close code 4004): copy the token again from the Developer Portal",
        4010 | 4011 => "the gateway refused the shard layout (close code 4010/4011)",
        4012 => "the gateway does not support API v10 (close code 4012)",
        4013 => "the gateway says the intents are invalid (close code 4013)",
        4014 => "the gateway refused a privileged intent (close code 4014): in the Developer Portal, \
                 open your application > Bot and turn on SERVER MEMBERS INTENT",
        _ => return None,
    })
}

/// Runs a shard until `stop` turns true or the gateway closes it for good.
pub async fn run(mut shard: Shard, context: Arc<Context>, mut stop: watch::Receiver<bool>) -> anyhow::Result<()> {
    let shard_id = shard.id();
    let mut session: Option<Arc<SessionInfo>> = None;
    let mut last_close: Option<u16> = None;
    // Member lists requested at GUILD_CREATE, gathered chunk by chunk.
    let mut members = ChunkCollector::default();
    loop {
        let message = tokio::select! {
            _ = stop.changed() => {
                shard.close(twilight_gateway::CloseFrame::RESUME); // keeps the session resumable
                // Let the close frame go out (bounded: a dead peer must not stall shutdown).
                let drain = async {
                    while let Some(item) = shard.next().await {
                        if matches!(item, Ok(Message::Close(_)) | Err(_)) { break; }
                    }
                };
                let _ = tokio::time::timeout(std::time::Duration::from_secs(3), drain).await;
                return Ok(());
            }
            message = shard.next() => message,
        };
        match message {
            None => {
                let advice =
                    last_close.and_then(fatal_close_advice).unwrap_or("the gateway closed the connection for good");
                anyhow::bail!("shard {}: {advice}", shard_id.number());
            }
            Some(Ok(Message::Close(frame))) => {
                last_close = frame.as_ref().map(|f| f.code);
                tracing::info!(shard = shard_id.number(), ?frame, "gateway connection closed; reconnecting");
            }
            Some(Ok(Message::Text(json))) => {
                let Some(event) = parse(json, &context) else { continue };
                let GatewayEvent::Dispatch(sequence, event) = event else { continue };
                let event = Event::from(event);
                let session = current_session(&shard, &mut session);
                on_dispatch(&shard, &context, &session, sequence, &event);
                let now = now_ms();
                let mut activities = translate(&event, now);
                match &event {
                    Event::GuildCreate(create) if matches!(create.as_ref(), GuildCreate::Available(_)) => {
                        members.requested(create.id().get(), now);
                    }
                    Event::MemberChunk(chunk) => {
                        let ids = chunk.members.iter().map(|m| m.user.id.get());
                        activities.extend(members.chunk(
                            chunk.guild_id.get(),
                            chunk.chunk_index,
                            chunk.chunk_count,
                            ids,
                        ));
                    }
                    _ => {}
                }
                let envelope = Envelope { session, sequence, activities };
                if context.ledger.submit(envelope).await.is_err() {
                    anyhow::bail!("the ledger stopped; shard {} cannot continue", shard_id.number());
                }
            }
            Some(Err(error)) => {
                tracing::warn!(shard = shard_id.number(), %error, "gateway error");
            }
        }
    }
}

fn parse(json: String, context: &Context) -> Option<GatewayEvent> {
    match twilight_gateway::parse(json, WANTED) {
        Ok(event) => event,
        Err(error) => {
            context.malformed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            // twilight's message embeds the whole payload (interaction tokens
            // included, and any size): log the cause, the type and the size only.
            let (event_type, bytes) = match error.kind() {
                twilight_gateway::error::ReceiveMessageErrorType::Deserializing { event } => {
                    (event_type_of(event).to_owned(), event.len())
                }
                _ => ("?".to_owned(), 0),
            };
            let cause = std::error::Error::source(&error).map(ToString::to_string).unwrap_or_default();
            tracing::warn!(event_type, bytes, cause, "skipped a gateway payload that could not be parsed");
            None
        }
    }
}

/// The `t` field of a raw payload, for logs about payloads that failed to parse.
fn event_type_of(json: &str) -> &str {
    json.find("\"t\":\"")
        .and_then(|start| {
            let rest = &json[start + 5..];
            rest.find('"').map(|end| &rest[..end])
        })
        .unwrap_or("?")
}

fn current_session(shard: &Shard, cached: &mut Option<Arc<SessionInfo>>) -> Arc<SessionInfo> {
    let id = shard.session().map(|s| s.id()).unwrap_or_default();
    let resume_url = shard.resume_url().unwrap_or_default();
    match cached {
        Some(s) if s.session_id == id && s.resume_url == resume_url => Arc::clone(s),
        _ => {
            let fresh = Arc::new(SessionInfo {
                shard_id: shard.id().number(),
                shard_count: shard.id().total(),
                session_id: id.to_owned(),
                resume_url: resume_url.to_owned(),
            });
            *cached = Some(Arc::clone(&fresh));
            fresh
        }
    }
}

fn on_dispatch(shard: &Shard, context: &Arc<Context>, session: &Arc<SessionInfo>, sequence: u64, event: &Event) {
    match event {
        Event::Ready(ready) => {
            tracing::info!(shard = session.shard_id, guilds = ready.guilds.len(), "gateway session ready");
        }
        Event::Resumed => tracing::info!(shard = session.shard_id, "gateway session resumed; missed events replayed"),
        Event::GuildCreate(create) => {
            if let GuildCreate::Available(guild) = create.as_ref() {
                // GUILD_CREATE lists few members; ask for all of them.
                shard.command(&RequestGuildMembers::builder(guild.id).query("", None));
            }
        }
        Event::InteractionCreate(interaction) => {
            let freshness = Freshness { shard_id: session.shard_id, session_id: session.session_id.clone(), sequence };
            tokio::spawn(commands::handle(Arc::clone(context), interaction.0.clone(), freshness));
        }
        _ => {}
    }
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or_default()
}
