//! The bot's side: takes requests the command line stored into the
//! ledger, so they commit in order with the events around them and the
//! in-memory leaderboards move with them. Each request is claimed in the
//! transaction that applies it, so taking one twice (after a restart, or a
//! slow commit) still applies it once.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::context::Context;
use crate::domain::activity::Id;
use crate::domain::shards::ShardRange;
use crate::ingest::ledger::{Envelope, SessionInfo};
use crate::store::AdminRequest;

/// How often the database is asked for new requests (a query on a table
/// that is nearly always empty); `tally import` waits a few times this.
const POLL: Duration = Duration::from_millis(500);
/// Requests taken at a time.
const ROUND: u32 = 20;
/// How long a request taken into the ledger is not taken again: long
/// enough for a busy ledger to commit it, short enough that one lost in a
/// failed commit is soon taken again.
const RETAKE_AFTER: Duration = Duration::from_secs(30);

/// Runs until `stop` turns true.
pub async fn run(context: Arc<Context>, shards: ShardRange, mut stop: watch::Receiver<bool>) {
    let session = Arc::new(SessionInfo::requests());
    let mut taken: HashMap<Id, Instant> = HashMap::new();
    loop {
        taken.retain(|_, at| at.elapsed() < RETAKE_AFTER);
        let reader = Arc::clone(&context.reader);
        match tokio::task::spawn_blocking(move || reader.pending_requests(shards, ROUND)).await {
            Ok(Ok(pending)) => {
                let fresh: Vec<AdminRequest> = pending.into_iter().filter(|r| !taken.contains_key(&r.id)).collect();
                if !fresh.is_empty() && take(&context, &session, &fresh, &mut taken).await.is_err() {
                    return;
                }
            }
            Ok(Err(error)) => tracing::warn!(%error, "cannot read stored requests; trying again"),
            Err(_) => return,
        }
        tokio::select! {
            _ = stop.changed() => return,
            () = tokio::time::sleep(POLL) => {}
        }
        if *stop.borrow() {
            return;
        }
    }
}

/// Hands `requests` to the ledger and notes them taken. Err when the
/// ledger has stopped.
async fn take(
    context: &Context,
    session: &Arc<SessionInfo>,
    requests: &[AdminRequest],
    taken: &mut HashMap<Id, Instant>,
) -> Result<(), crate::ingest::ledger::LedgerStopped> {
    let mut ids = Vec::new();
    for request in requests {
        // A request this version cannot read is left for one that can, and
        // not read again until RETAKE_AFTER.
        taken.insert(request.id, Instant::now());
        let Some(activity) =
            crate::ingest::requests::activity(&request.kind, request.guild_id, request.id, &request.payload)
        else {
            tracing::warn!(id = request.id, kind = %request.kind, "a stored request this version cannot read; left alone");
            continue;
        };
        let envelope = Envelope { session: Arc::clone(session), sequence: 0, activities: vec![activity] };
        context.ledger.submit(envelope).await?;
        ids.push(request.id);
    }
    tracing::info!(requests = ids.len(), "took stored requests into the ledger");
    let database = context.database.clone();
    let marked = tokio::task::spawn_blocking(move || database.mark_requests_picked(&ids)).await;
    if let Ok(Err(error)) = marked {
        tracing::warn!(%error, "cannot note requests as taken; the command may apply them itself");
    }
    Ok(())
}
