//! Gives and takes reward roles. The ledger queues a member (in the same
//! transaction as the change) whenever their level moves, they come back,
//! or the rewards change; this task, apart from ingest, takes each queued
//! member, works out the reward roles their level earns *as a whole set*,
//! reads the roles they hold, and adds and removes only the difference —
//! roles that are not rewards are never touched. Then it takes the member
//! off the queue, unless they were queued again meanwhile. A check of a
//! whole server is one row (a sweep) that this task turns into queued
//! members a thousand at a time, so no transaction writes a whole server.
//!
//! Per-role calls (Add/Remove Guild Member Role) rather than one Modify
//! Guild Member with the whole list: the whole list would undo any role a
//! moderator gave between Tally's read and its write.
//!
//! When Discord answers 403 (50013: Tally lacks Manage Roles, or the role
//! sits above Tally's highest role), the admins are told once, in the log
//! channel if there is one (`/config show` lists it either way), and Tally
//! goes on counting.

use std::collections::HashMap;
use std::future::IntoFuture;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use twilight_http::request::AuditLogReason;
use twilight_model::id::Id;

use crate::context::Context;
use crate::domain::activity::Id as RawId;
use crate::domain::rewards;
use crate::domain::shards::ShardRange;
use crate::outbox::{self, Outbox};
use crate::pacing::Pacer;
use crate::retry::{self, CallError, Retry};
use crate::store::{Database, PendingRewardSync, Reader, Settings, StoreError};
use futures_util::future::BoxFuture;

/// Members a whole-server check (a sweep) queues per transaction: enough
/// to stay ahead of the calls, few enough to keep every transaction small.
const SWEEP_PIECE: u32 = 1_000;
/// How long one call may keep failing with server errors before the round stops.
const CALL_WINDOW: Duration = Duration::from_secs(30);
/// Pause after a round that could not finish.
const BACKOFF: Duration = Duration::from_secs(5);
/// Longest wait when no commit wakes the task.
const IDLE_POLL: Duration = Duration::from_secs(10);
/// Discord's "missing permissions" error code.
const MISSING_PERMISSIONS: u64 = 50013;
/// Discord's "unknown member" error code: they left.
const UNKNOWN_MEMBER: u64 = 10007;
/// Shown in the server's audit log for every change.
const REASON: &str = "Tally: level reward";

/// Runs until `stop` turns true: works through the queue after every commit.
pub async fn run(context: Arc<Context>, shards: ShardRange, mut stop: watch::Receiver<bool>) {
    let mut commits = context.ledger.commits();
    let mut pacer = Pacer::default();
    loop {
        let wait = match outbox::drain(RewardQueue, &context, shards, &stop, &mut pacer).await {
            Ok(()) => IDLE_POLL,
            Err(error) => {
                tracing::warn!(%error, retry_in = ?BACKOFF, "reward roles paused; members stay queued and are retried");
                BACKOFF
            }
        };
        if !crate::pacing::next_round(&mut commits, &mut stop, wait).await {
            return;
        }
    }
}

/// The reward queue: members whose reward roles may be wrong, with their
/// servers' settings.
#[derive(Debug, Clone, Copy)]
struct RewardQueue;

impl Outbox for RewardQueue {
    type Item = PendingRewardSync;
    type Round = HashMap<RawId, Settings>;

    fn read(
        self,
        reader: &dyn Reader,
        shards: ShardRange,
        limit: u32,
    ) -> Result<(Vec<PendingRewardSync>, HashMap<RawId, Settings>), StoreError> {
        let pending = reader.pending_reward_syncs(shards, limit)?;
        let mut servers = HashMap::new();
        for p in &pending {
            if let std::collections::hash_map::Entry::Vacant(slot) = servers.entry(p.guild_id) {
                slot.insert(reader.settings(p.guild_id)?);
            }
        }
        Ok((pending, servers))
    }

    /// A whole-server check goes into the queue a piece at a time, when
    /// the queue runs short.
    fn refill(self, database: &Database, shards: ShardRange) -> Result<bool, StoreError> {
        database.sweep_rewards(shards, SWEEP_PIECE)
    }

    fn send<'a>(
        self,
        context: &'a Arc<Context>,
        pacer: &'a mut Pacer,
        member: &'a PendingRewardSync,
        servers: &'a HashMap<RawId, Settings>,
    ) -> BoxFuture<'a, Result<(), CallError>> {
        Box::pin(bring_in_line(context, pacer, member, &servers[&member.guild_id]))
    }

    fn mark(self, database: &Database, handled: &[PendingRewardSync]) -> Result<(), StoreError> {
        let done: Vec<(RawId, RawId, i64)> = handled.iter().map(|m| (m.guild_id, m.user_id, m.queued_at_ms)).collect();
        database.finish_reward_syncs(&done)
    }
}

/// Gives and takes one member's reward roles. Err only for failures worth
/// retrying later (Discord in trouble); refusals are handled here.
async fn bring_in_line(
    context: &Arc<Context>,
    pacer: &mut Pacer,
    member: &PendingRewardSync,
    settings: &Settings,
) -> Result<(), CallError> {
    if member.left {
        return Ok(());
    }
    let leveling = &settings.leveling;
    let managed = leveling.reward_roles();
    if managed.is_empty() {
        return Ok(());
    }
    let level = leveling.curve.level(member.xp).level;
    let wanted = rewards::wanted(&leveling.rewards, leveling.reward_mode, level);
    let (guild, user) = (Id::new(member.guild_id.max(1)), Id::new(member.user_id.max(1)));
    let deadline = tokio::time::Instant::now() + CALL_WINDOW;
    let read = retry::until(deadline, Retry::ServerAndNetworkErrors, "reading a member's roles", || {
        context.http.guild_member(guild, user).into_future()
    })
    .await;
    let held: Vec<RawId> = match read {
        Ok(response) => match response.model().await {
            Ok(m) => m.roles.iter().map(|r| r.get()).collect(),
            Err(_) => return Ok(()),
        },
        Err(CallError::Discord(error)) if retry::discord_code(&error) == Some(UNKNOWN_MEMBER) => return Ok(()),
        Err(error) => return Err(error),
    };
    let (add, remove) = rewards::changes(&managed, &wanted, &held);
    let bucket = format!("roles:{}", member.guild_id);
    for (role, give) in add.iter().map(|r| (*r, true)).chain(remove.iter().map(|r| (*r, false))) {
        let role_id = Id::new(role.max(1));
        pacer.wait(&bucket).await;
        let outcome = retry::until(deadline, Retry::ServerAndNetworkErrors, "changing a reward role", || {
            let http = &context.http;
            async move {
                if give {
                    http.add_guild_member_role(guild, user, role_id).reason(REASON).await
                } else {
                    http.remove_guild_member_role(guild, user, role_id).reason(REASON).await
                }
            }
        })
        .await;
        match outcome {
            Ok(response) => pacer.learn(&bucket, response.headers()),
            Err(CallError::Discord(error)) if retry::discord_code(&error) == Some(MISSING_PERMISSIONS) => {
                cannot_give(context, member.guild_id, role, settings).await;
            }
            Err(CallError::Discord(error)) if !retry::is_transient(&error, Retry::ServerAndNetworkErrors) => {
                tracing::warn!(%error, guild = member.guild_id, role, "Discord refused a reward role change; skipped");
            }
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// Tells the admins, once per role, that Tally cannot give it.
async fn cannot_give(context: &Arc<Context>, guild_id: RawId, role: RawId, settings: &Settings) {
    let database = context.database.clone();
    let now = crate::domain::days::now_ms();
    let first = tokio::task::spawn_blocking(move || database.note_reward_problem(guild_id, role, now)).await;
    let Ok(Ok(true)) = first else { return };
    tracing::warn!(
        guild = guild_id,
        role,
        "cannot give a reward role: Tally lacks Manage Roles or the role is above Tally's"
    );
    let Some(channel) = settings.leveling.log_channel else { return };
    let text = format!(
        "⚠️ Tally cannot give the reward role <@&{role}>: it needs the **Manage Roles** permission, and its own role \
         must sit above <@&{role}> in Server Settings → Roles. Tally keeps counting; run `/rewards sync` once it is fixed."
    );
    let body = serde_json::json!({ "content": text, "allowed_mentions": { "parse": [] } });
    let channel_id = channel;
    let request =
        twilight_http::request::Request::builder(&twilight_http::routing::Route::CreateMessage { channel_id })
            .json(&body)
            .build();
    match request {
        Ok(request) => {
            if let Err(error) = context.http.request::<twilight_model::channel::Message>(request).await {
                tracing::warn!(%error, "could not tell the admins in the log channel");
            }
        }
        Err(error) => tracing::warn!(%error, "could not build the log channel message"),
    }
}
