//! One gateway shard: read each payload, translate it, hand it to the ledger,
//! and start command handlers. Reading waits while the ledger is full, so a
//! slow database slows the shard instead of filling memory.

use std::sync::Arc;

use futures_util::StreamExt;
use tokio::sync::watch;
use twilight_gateway::Message;
use twilight_model::gateway::event::Event;
use twilight_model::gateway::payload::incoming::GuildCreate;
use twilight_model::gateway::payload::outgoing::RequestGuildMembers;

use crate::commands::{self, Freshness};
use crate::context::Context;
use crate::identify::IdentifyQueue;
use crate::ingest::chunks::ChunkCollector;
use crate::ingest::decode::{self, decode, Decoded, Rejected};
use crate::ingest::translate::translate;
use crate::ingest::{Envelope, SessionInfo};
use crate::metrics::ShardState;

/// A gateway shard that waits in this process's identify queue.
pub type Shard = twilight_gateway::Shard<IdentifyQueue>;

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
    // Event types Discord sent that this build does not know, logged once each.
    let mut unknown_types = std::collections::HashSet::new();
    // Sequence of the last event handed to the ledger in this session.
    let mut last_submitted = 0u64;
    // When this session follows one Discord would not resume: when Tally
    // last committed from the old one (what it could not see began then).
    let mut unseen_since: Option<i64> = None;
    context.metrics.shard_state(shard_id.number(), ShardState::Connecting);
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
                context.metrics.shard_state(shard_id.number(), ShardState::Disconnected);
                tracing::info!(shard = shard_id.number(), ?frame, "gateway connection closed; reconnecting");
            }
            Some(Ok(Message::Text(json))) => {
                let received_at_ms = crate::domain::days::now_ms();
                let (sequence, activities, session) = match decode(json, received_at_ms) {
                    Decoded::Counted { sequence, activities } => {
                        (sequence, activities, current_session(&shard, &mut session))
                    }
                    Decoded::Dispatch { sequence, event } => {
                        let session = current_session(&shard, &mut session);
                        if matches!(event, Event::Ready(_)) {
                            last_submitted = 0; // a new session numbers from 1 again
                            unseen_since = gap_before(&context, &session);
                        }
                        if let Event::GuildCreate(create) = &event {
                            if let GuildCreate::Available(guild) = create.as_ref() {
                                // GUILD_CREATE lists few members; ask for all of them.
                                let nonce = members.requested(guild.id.get(), received_at_ms);
                                let request = RequestGuildMembers::builder(guild.id).nonce(nonce).query("", None);
                                shard.command(&request);
                            }
                        }
                        on_dispatch(&context, &session, (last_submitted, sequence), &event);
                        (sequence, read_event(&event, received_at_ms, unseen_since, &mut members), session)
                    }
                    Decoded::Ignored => continue,
                    Decoded::Unknown { event_type } => {
                        context.metrics.unknown_events.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if unknown_types.insert(event_type.clone()) {
                            tracing::warn!(
                                event_type,
                                "skipping an event type this version of Tally does not know (logged once per type)"
                            );
                        }
                        continue;
                    }
                    Decoded::Rejected(Rejected { event_type, bytes, cause }) => {
                        context.metrics.malformed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        tracing::warn!(event_type, bytes, cause, "skipped a gateway payload that could not be read");
                        continue;
                    }
                };
                let envelope = Envelope { session, sequence, activities };
                last_submitted = sequence;
                if context.ledger.submit(envelope).await.is_err() {
                    anyhow::bail!("the ledger stopped; shard {} cannot continue", shard_id.number());
                }
            }
            Some(Err(error)) => match error.kind() {
                // A frame twilight could not read before handing it over:
                // the same as a payload `decode` rejects.
                twilight_gateway::error::ReceiveMessageErrorType::Deserializing { event } => {
                    context.metrics.malformed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let (event_type, bytes) = (decode::event_type_of(event), event.len());
                    tracing::warn!(event_type, bytes, "skipped a gateway payload that could not be read");
                }
                _ => tracing::warn!(shard = shard_id.number(), %error, "gateway error"),
            },
        }
    }
}

/// What an event (other than a message or reaction) records, including the
/// members a completed member list shows to have left. `unseen_since`: when
/// this session follows a gap Discord would not replay, since when.
fn read_event(
    event: &Event,
    now: i64,
    unseen_since: Option<i64>,
    members: &mut ChunkCollector,
) -> Vec<crate::domain::Activity> {
    let mut activities = translate(event, now);
    match event {
        Event::GuildCreate(create) if matches!(create.as_ref(), GuildCreate::Available(_)) => {
            // Its voice states end sessions Tally could not see end: as of
            // when it stopped watching, if this session follows such a gap.
            for activity in &mut activities {
                if let crate::domain::Activity::VoiceRoster { unseen_since: gap, .. } = activity {
                    *gap = unseen_since;
                }
            }
        }
        Event::MemberChunk(chunk) => {
            let requested = members.requested_at(chunk.nonce.as_deref());
            for activity in &mut activities {
                if let crate::domain::Activity::MemberListed { requested_at_ms, .. } = activity {
                    *requested_at_ms = requested;
                }
            }
            let ids = chunk.members.iter().map(|m| m.user.id.get());
            let (guild_id, nonce) = (chunk.guild_id.get(), chunk.nonce.as_deref());
            activities.extend(members.chunk(nonce, guild_id, chunk.chunk_index, chunk.chunk_count, ids));
        }
        _ => {}
    }
    activities
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

/// At READY: when the new session follows one Discord would not resume,
/// says so in the log and returns when Tally last committed from the old
/// one, since when it could not see.
fn gap_before(context: &Context, session: &SessionInfo) -> Option<i64> {
    let old = context.ledger.committed().remove(&session.shard_id)?;
    if old.session_id == session.session_id {
        return None;
    }
    tracing::warn!(
        shard = session.shard_id,
        old_session = old.session_id,
        last_committed_sequence = old.sequence,
        "Discord could not resume the previous gateway session: messages and reactions sent while Tally was \
         disconnected cannot be recovered and are not counted (joins and leaves are caught up from the member \
         list; voice sessions of members who left meanwhile end as of the last commit)"
    );
    Some(old.at_ms)
}

/// Side effects of an event besides counting. `sequences` holds the last
/// sequence handed to the ledger before this event (what a command must
/// wait for to answer with everything before it counted) and the event's
/// own (what a command that changes settings waits for).
fn on_dispatch(
    context: &Arc<Context>,
    session: &Arc<SessionInfo>,
    (submitted_before, own_sequence): (u64, u64),
    event: &Event,
) {
    match event {
        Event::Ready(ready) => {
            tracing::info!(shard = session.shard_id, guilds = ready.guilds.len(), "gateway session ready");
            context.metrics.shard_state(session.shard_id, ShardState::Connected);
        }
        Event::Resumed => {
            tracing::info!(shard = session.shard_id, "gateway session resumed; missed events replayed");
            context.metrics.shard_state(session.shard_id, ShardState::Connected);
        }
        Event::InteractionCreate(interaction) => {
            let freshness = Freshness {
                shard_id: session.shard_id,
                session_id: session.session_id.clone(),
                sequence: submitted_before,
                own_sequence,
            };
            tokio::spawn(commands::handle(Arc::clone(context), interaction.0.clone(), freshness));
        }
        _ => {}
    }
}
