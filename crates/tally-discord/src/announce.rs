//! Sends level-up announcements and join/leave posts from their outboxes. The ledger records each
//! level-up in the transaction that found it; this task, apart from
//! ingest, sends them after the commit and marks them sent. Each message
//! carries a nonce derived from (server, member, level) with
//! `enforce_nonce`, so if Tally dies between sending and marking, the
//! resend returns Discord's first message instead of posting a second.
//! Rate limits are obeyed by twilight's rate limiter; server errors and
//! network failures are retried; a message Discord refuses for good (a
//! deleted channel, missing permissions) is logged and given up.

use std::collections::HashMap;
use std::future::IntoFuture;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::sync::watch;
use twilight_http::request::Request;
use twilight_http::routing::Route;
use twilight_model::channel::Message;
use twilight_model::id::Id;

use crate::context::Context;
use crate::domain::activity::Id as RawId;
use crate::domain::humanize::thousands;
use crate::domain::settings::render;
use crate::domain::shards::ShardRange;
use crate::outbox::{self, Outbox};
use crate::pacing::Pacer;
use crate::retry::{self, CallError, Retry};
use crate::store::{Database, PendingLevelUp, PendingLogPost, Reader, Settings, StoreError};
use futures_util::future::BoxFuture;

/// How long one message may keep failing with server errors before the round stops.
const SEND_WINDOW: Duration = Duration::from_secs(30);
/// Pause after a round that could not finish (Discord or the database in trouble).
const BACKOFF: Duration = Duration::from_secs(5);
/// Longest a level-up waits when no commit wakes the task (a missed wake-up).
const IDLE_POLL: Duration = Duration::from_secs(10);
/// Discord's limit on message content.
const MAX_CONTENT: usize = 2_000;

/// The nonce of the announcement of `level` for a member: the same on every
/// attempt, different for every (server, member, level). When an admin took
/// a level away and the member reached it again, the new level-up (found at
/// another moment, `found_at_ms`) gets a nonce of its own. At most 25
/// characters, as Discord allows.
pub fn nonce(guild_id: RawId, user_id: RawId, level: u32, found_at_ms: i64) -> String {
    let mut hash = Sha256::new();
    hash.update(b"tally-levelup");
    hash.update(guild_id.to_be_bytes());
    hash.update(user_id.to_be_bytes());
    hash.update(level.to_be_bytes());
    hash.update(found_at_ms.to_be_bytes());
    let digest = hash.finalize();
    let n = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"));
    format!("t{n}")
}

/// Runs until `stop` turns true: drains the outbox after every commit.
pub async fn run(context: Arc<Context>, shards: ShardRange, mut stop: watch::Receiver<bool>) {
    let mut commits = context.ledger.commits();
    let mut pacer = Pacer::default();
    loop {
        let levelups = outbox::drain(LevelUps, &context, shards, &stop, &mut pacer).await;
        let posts = outbox::drain(LogPosts, &context, shards, &stop, &mut pacer).await;
        let finished = match levelups.and(posts) {
            Ok(()) => true,
            Err(error) => {
                tracing::warn!(%error, retry_in = ?BACKOFF, "level-up announcements paused; they are kept and retried");
                false
            }
        };
        let wait = if finished { IDLE_POLL } else { BACKOFF };
        if !crate::pacing::next_round(&mut commits, &mut stop, wait).await {
            return;
        }
    }
}

/// The level-up announcements' outbox.
#[derive(Debug, Clone, Copy)]
struct LevelUps;

impl Outbox for LevelUps {
    type Item = PendingLevelUp;
    type Round = Round;

    fn read(
        self,
        reader: &dyn Reader,
        shards: ShardRange,
        limit: u32,
    ) -> Result<(Vec<PendingLevelUp>, Round), StoreError> {
        let pending = reader.pending_levelups(shards, limit)?;
        let mut servers = HashMap::new();
        let mut ranks = HashMap::new();
        for levelup in &pending {
            let (guild_id, user_id) = (levelup.row.guild_id, levelup.row.user_id);
            if let std::collections::hash_map::Entry::Vacant(slot) = servers.entry(guild_id) {
                let name = reader.guild(guild_id)?.map(|g| g.name).unwrap_or_default();
                slot.insert((name, reader.settings(guild_id)?));
            }
            ranks.insert((guild_id, user_id), reader.rank(guild_id, user_id)?);
        }
        Ok((pending, Round { servers, ranks }))
    }

    fn send<'a>(
        self,
        context: &'a Arc<Context>,
        pacer: &'a mut Pacer,
        levelup: &'a PendingLevelUp,
        round: &'a Round,
    ) -> BoxFuture<'a, Result<(), CallError>> {
        Box::pin(async move {
            let (server, settings) = &round.servers[&levelup.row.guild_id];
            let rank = round.ranks.get(&(levelup.row.guild_id, levelup.row.user_id)).copied().flatten();
            match send(context, pacer, levelup, server, settings, rank).await {
                Err(CallError::Discord(error)) if !retry::is_transient(&error, Retry::ServerAndNetworkErrors) => {
                    tracing::warn!(%error, guild = levelup.row.guild_id, member = levelup.row.user_id,
                        "Discord refused a level-up announcement; it is not sent (check the channel and Tally's permissions)");
                    Ok(())
                }
                other => other,
            }
        })
    }

    fn mark(self, database: &Database, handled: &[PendingLevelUp]) -> Result<(), StoreError> {
        let keys: Vec<(RawId, RawId, u32, i64)> =
            handled.iter().map(|l| (l.row.guild_id, l.row.user_id, l.row.level, l.row.created_at_ms)).collect();
        database.mark_levelups_sent(&keys, crate::domain::days::now_ms())
    }
}

/// The join/leave posts' outbox: each post with its server's member count.
#[derive(Debug, Clone, Copy)]
struct LogPosts;

impl Outbox for LogPosts {
    type Item = PendingLogPost;
    type Round = HashMap<RawId, u64>;

    fn read(
        self,
        reader: &dyn Reader,
        shards: ShardRange,
        limit: u32,
    ) -> Result<(Vec<PendingLogPost>, HashMap<RawId, u64>), StoreError> {
        let pending = reader.pending_log_posts(shards, limit)?;
        let mut counts = HashMap::new();
        for p in &pending {
            if let std::collections::hash_map::Entry::Vacant(slot) = counts.entry(p.post.guild_id) {
                slot.insert(reader.present_count(p.post.guild_id)?);
            }
        }
        Ok((pending, counts))
    }

    fn send<'a>(
        self,
        context: &'a Arc<Context>,
        pacer: &'a mut Pacer,
        pending: &'a PendingLogPost,
        counts: &'a HashMap<RawId, u64>,
    ) -> BoxFuture<'a, Result<(), CallError>> {
        Box::pin(async move {
            let post = pending.post;
            let body = json!({
                "content": log_text(pending, counts[&post.guild_id]),
                "allowed_mentions": { "parse": [] },
                "nonce": log_nonce(&post),
                "enforce_nonce": true,
            });
            match post_message(context, pacer, post.channel_id, &body).await {
                Err(CallError::Discord(error)) if !retry::is_transient(&error, Retry::ServerAndNetworkErrors) => {
                    tracing::warn!(%error, guild = post.guild_id, "Discord refused a join/leave post; check the log channel");
                    Ok(())
                }
                other => other,
            }
        })
    }

    fn mark(self, database: &Database, handled: &[PendingLogPost]) -> Result<(), StoreError> {
        let keys: Vec<_> =
            handled.iter().map(|p| (p.post.guild_id, p.post.user_id, p.post.change, p.post.at_ms)).collect();
        database.mark_log_posts_sent(&keys, crate::domain::days::now_ms())
    }
}

/// The nonce of a join/leave post: one per (server, member, change, moment).
fn log_nonce(post: &crate::store::LogPost) -> String {
    let mut hash = Sha256::new();
    hash.update(b"tally-log");
    hash.update(post.guild_id.to_be_bytes());
    hash.update(post.user_id.to_be_bytes());
    hash.update(post.change.as_str().as_bytes());
    hash.update(post.at_ms.to_be_bytes());
    let digest = hash.finalize();
    format!("l{}", u64::from_be_bytes(digest[..8].try_into().expect("8 bytes")))
}

/// A join or leave as the log channel shows it: who, account age, time in
/// the server for a leave, and how many members the server has now.
fn log_text(pending: &crate::store::PendingLogPost, members: u64) -> String {
    let post = pending.post;
    let name = if pending.display_name.is_empty() { "someone" } else { pending.display_name.as_str() };
    let created = crate::domain::snowflake::timestamp_ms(post.user_id).div_euclid(1000);
    let count = thousands(members);
    match post.change {
        crate::store::MembershipChange::Join => {
            format!("📥 <@{}> (**{name}**) joined. Account created <t:{created}:R>. Members: {count}.", post.user_id)
        }
        crate::store::MembershipChange::Leave => {
            let stayed = post.joined_at_ms.map_or_else(String::new, |joined| {
                let at = |ms: i64| {
                    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
                        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
                };
                format!(" after {} in the server", crate::domain::humanize::since(at(joined), at(post.at_ms)))
            });
            format!(
                "📤 **{name}** (<@{}>) left{stayed}. Account created <t:{created}:R>. Members: {count}.",
                post.user_id
            )
        }
    }
}

/// Create Message with retries through server errors, paced by the
/// channel's rate-limit headers.
async fn post_message(
    context: &Arc<Context>,
    pacer: &mut Pacer,
    channel_id: RawId,
    body: &serde_json::Value,
) -> Result<(), CallError> {
    let bucket = format!("messages:{channel_id}");
    pacer.wait(&bucket).await;
    let deadline = tokio::time::Instant::now() + SEND_WINDOW;
    let response = retry::until(deadline, Retry::ServerAndNetworkErrors, "posting a message", || {
        let request = Request::builder(&Route::CreateMessage { channel_id }).json(body).build();
        let http = &context.http;
        async move { http.request::<Message>(request?).await }
    })
    .await?;
    pacer.learn(&bucket, response.headers());
    Ok(())
}

/// What a round of announcements needs besides the level-ups: their
/// servers' names and settings, and the members' ranks now.
struct Round {
    servers: HashMap<RawId, (String, Settings)>,
    ranks: HashMap<(RawId, RawId), Option<u64>>,
}

/// Sends one announcement (creating the DM channel when it goes to the member).
async fn send(
    context: &Arc<Context>,
    pacer: &mut Pacer,
    levelup: &PendingLevelUp,
    server: &str,
    settings: &Settings,
    rank: Option<u64>,
) -> Result<(), CallError> {
    let row = levelup.row;
    let content = message(levelup, server, settings, rank);
    let ping = settings.leveling.levelup.ping && levelup.pings;
    let deadline = tokio::time::Instant::now() + SEND_WINDOW;
    let channel_id = match row.channel_id {
        Some(channel) => channel,
        None => {
            let user = Id::new(row.user_id.max(1));
            let dm = retry::until(deadline, Retry::ServerAndNetworkErrors, "opening a DM for a level-up", || {
                context.http.create_private_channel(user).into_future()
            })
            .await?;
            dm.model().await.map_err(|_| CallError::Deadline)?.id.get()
        }
    };
    let body = json!({
        "content": content,
        "allowed_mentions": if ping { json!({ "parse": [], "users": [row.user_id.to_string()] }) } else { json!({ "parse": [] }) },
        "nonce": nonce(row.guild_id, row.user_id, row.level, row.created_at_ms),
        "enforce_nonce": true,
    });
    post_message(context, pacer, channel_id, &body).await
}

/// The announcement's text: the server's template filled in.
fn message(levelup: &PendingLevelUp, server: &str, settings: &Settings, rank: Option<u64>) -> String {
    let row = levelup.row;
    let name = if levelup.display_name.is_empty() { "someone" } else { levelup.display_name.as_str() };
    let text = render(settings.leveling.levelup.template(), |placeholder| match placeholder {
        "member" => format!("<@{}>", row.user_id),
        "name" => name.to_owned(),
        "level" => row.level.to_string(),
        "old_level" => row.old_level.to_string(),
        "xp" => thousands(row.xp),
        "rank" => rank.map_or_else(|| "?".to_owned(), |r| r.to_string()),
        "server" => server.to_owned(),
        _ => String::new(),
    });
    text.chars().take(MAX_CONTENT).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_are_stable_distinct_and_short() {
        assert_eq!(nonce(1, 2, 3, 9), nonce(1, 2, 3, 9));
        assert_ne!(nonce(1, 2, 3, 9), nonce(1, 2, 4, 9));
        assert_ne!(nonce(1, 2, 3, 9), nonce(2, 1, 3, 9));
        assert_ne!(nonce(1, 2, 3, 9), nonce(1, 2, 3, 10), "a level reached again after an admin took it away");
        assert!(nonce(u64::MAX, u64::MAX, u32::MAX, i64::MIN).len() <= 25);
    }
}
