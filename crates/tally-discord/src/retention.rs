//! Data retention: when the bot is removed from a server (GUILD_DELETE
//! without `unavailable`; an outage never starts the clock), the server's
//! data is kept for `TALLY_RETENTION_DAYS`, then purged through the ledger,
//! unless the bot came back first (its GUILD_CREATE stops the clock, and
//! the purge checks, in its own transaction, that the removal it counted
//! from still stands). The clock is the system's: no payload's id or date
//! can bring a purge forward.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::context::Context;
use crate::domain::activity::{Activity, Id};
use crate::domain::shards::ShardRange;
use crate::ingest::ledger::{Envelope, SessionInfo};

/// Longest wait between looks at the removed servers.
const IDLE: Duration = Duration::from_secs(600);
/// Shortest wait between looks (a busy ledger commits often).
const BETWEEN_LOOKS: Duration = Duration::from_secs(2);
/// How long a purge handed to the ledger is not handed again.
const RETAKE_AFTER: Duration = Duration::from_secs(30);

/// Runs until `stop` turns true.
pub async fn run(context: Arc<Context>, shards: ShardRange, retention: Duration, mut stop: watch::Receiver<bool>) {
    let session = Arc::new(SessionInfo::requests());
    let mut commits = context.ledger.commits();
    let mut handed: HashMap<(Id, i64), Instant> = HashMap::new();
    let retention_ms = i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
    loop {
        let looked = Instant::now();
        handed.retain(|_, at| at.elapsed() < RETAKE_AFTER);
        let reader = Arc::clone(&context.reader);
        let mut wait = IDLE;
        match tokio::task::spawn_blocking(move || reader.removed_guilds(shards)).await {
            Ok(Ok(removed)) => {
                let now = crate::domain::days::now_ms();
                for (guild_id, removed_at) in removed {
                    let due = removed_at.saturating_add(retention_ms);
                    if due > now {
                        wait = wait.min(Duration::from_millis((due - now) as u64));
                        continue;
                    }
                    if handed.contains_key(&(guild_id, removed_at)) {
                        continue;
                    }
                    tracing::info!(
                        guild = guild_id,
                        days = retention.as_secs() / 86_400,
                        "the bot was removed from this server longer ago than the retention period; purging its data"
                    );
                    let purge = Activity::PurgeGuild { guild_id, removed_at_ms: Some(removed_at), request_id: None };
                    let envelope = Envelope { session: Arc::clone(&session), sequence: 0, activities: vec![purge] };
                    if context.ledger.submit(envelope).await.is_err() {
                        return;
                    }
                    handed.insert((guild_id, removed_at), Instant::now());
                }
            }
            Ok(Err(error)) => tracing::warn!(%error, "cannot read removed servers; trying again"),
            Err(_) => return,
        }
        // Woken by a commit (a removal may have come in), or when the next one is due.
        if !crate::pacing::next_round(&mut commits, &mut stop, wait).await {
            return;
        }
        let since = looked.elapsed();
        if since < BETWEEN_LOOKS {
            tokio::select! {
                _ = stop.changed() => return,
                () = tokio::time::sleep(BETWEEN_LOOKS - since) => {}
            }
        }
    }
}
