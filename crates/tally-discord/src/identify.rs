//! Taking turns to IDENTIFY. Discord allows one IDENTIFY per bucket
//! (`shard_id % max_concurrency`) every 5 seconds, across every process of
//! a bot. In one process twilight's in-memory queue keeps to that; when
//! several processes share a database, the turns are taken through it, so
//! the limit holds across machines. A turn is a timestamp, not a lock: a
//! process that dies while holding one blocks nobody for more than 5 s.

use std::time::Duration;

use tokio::sync::oneshot;
use twilight_gateway::queue::{InMemoryQueue, Queue, IDENTIFY_DELAY};

use crate::store::Database;

/// The identify queue every shard of this process waits in.
#[derive(Debug, Clone)]
pub enum IdentifyQueue {
    /// This process is the only one: twilight's own queue.
    Local(InMemoryQueue),
    /// Processes share the shards: turns are taken in the database.
    Shared {
        /// Where the turns are kept.
        database: Box<Database>,
        /// Buckets: Discord's `max_concurrency`.
        max_concurrency: u16,
    },
}

impl IdentifyQueue {
    /// One process with every shard: at most `max_concurrency` IDENTIFYs
    /// every 5 seconds, `remaining` of the day's session starts left.
    pub fn local(max_concurrency: u16, remaining: u32, reset_after: Duration, total: u32) -> Self {
        Self::Local(InMemoryQueue::new(max_concurrency, remaining, reset_after, total))
    }
}

impl Queue for IdentifyQueue {
    fn enqueue(&self, shard: u32) -> oneshot::Receiver<()> {
        match self {
            Self::Local(queue) => queue.enqueue(shard),
            Self::Shared { database, max_concurrency } => {
                let (go, wait) = oneshot::channel();
                let (database, bucket) = (Database::clone(database), shard % u32::from((*max_concurrency).max(1)));
                tokio::spawn(async move {
                    take_turn(database, bucket).await;
                    let _ = go.send(());
                });
                wait
            }
        }
    }
}

/// Waits until this process may IDENTIFY in `bucket`, taking the turn.
async fn take_turn(database: Database, bucket: u32) {
    loop {
        let db = database.clone();
        let outcome = tokio::task::spawn_blocking(move || db.take_identify_turn(bucket, IDENTIFY_DELAY)).await;
        match outcome {
            Ok(Ok(None)) => return,
            Ok(Ok(Some(wait))) => tokio::time::sleep(wait.max(Duration::from_millis(50))).await,
            Ok(Err(error)) => {
                tracing::warn!(%error, bucket, "cannot take an identify turn in the database; trying again in 2 s");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            Err(error) => {
                tracing::warn!(%error, "identify turn task failed; trying again");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    }
}
