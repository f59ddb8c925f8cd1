//! The one loop of every outbox sender: level-up announcements and
//! join/leave posts ([`crate::announce`]) and reward roles
//! ([`crate::roles`]). The ledger writes what is due in the same
//! transaction as the change that made it due; a sender reads a round of
//! it, sends each item, and marks what it handled in one write, round after
//! round until nothing is due. An item is handled when Discord took it or
//! refused it for good; anything else (Discord or the network in trouble)
//! stops the round, leaves the rest due, and the sender tries again later.
//! A crash between a send and its mark sends again, which the items' nonces
//! (or the idempotence of role changes) make harmless.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use tokio::sync::watch;

use crate::context::Context;
use crate::domain::shards::ShardRange;
use crate::pacing::Pacer;
use crate::retry::CallError;
use crate::store::{Database, Reader, StoreError};

/// Items read at a time.
pub const ROUND: u32 = 50;

/// What one sender reads, sends and marks.
pub trait Outbox: Copy + Send + Sync + 'static {
    /// One thing to send.
    type Item: Send + Sync + 'static;
    /// What a round's sends need besides the items (settings, names, ranks).
    type Round: Send + Sync + 'static;

    /// Up to `limit` items due on `shards`, oldest first, and what sending them needs.
    fn read(
        self,
        reader: &dyn Reader,
        shards: ShardRange,
        limit: u32,
    ) -> Result<(Vec<Self::Item>, Self::Round), StoreError>;

    /// Makes more items due when a round comes up short (a whole-server
    /// reward check, a piece at a time): true when it did. Most outboxes
    /// have nothing to add.
    fn refill(self, _database: &Database, _shards: ShardRange) -> Result<bool, StoreError> {
        Ok(false)
    }

    /// Sends one item: Ok once it is handled (taken, or refused for good and
    /// said so in the log); Err to stop the round and try again later.
    fn send<'a>(
        self,
        context: &'a Arc<Context>,
        pacer: &'a mut Pacer,
        item: &'a Self::Item,
        round: &'a Self::Round,
    ) -> BoxFuture<'a, Result<(), CallError>>;

    /// Marks items handled, each only as it was when read.
    fn mark(self, database: &Database, handled: &[Self::Item]) -> Result<(), StoreError>;
}

/// Sends everything due in `outbox`, a round at a time, until nothing is
/// due, `stop` turns true, or a send fails (the error is returned; what
/// was handled before it is marked).
pub async fn drain<O: Outbox>(
    outbox: O,
    context: &Arc<Context>,
    shards: ShardRange,
    stop: &watch::Receiver<bool>,
    pacer: &mut Pacer,
) -> anyhow::Result<()> {
    loop {
        let reader = Arc::clone(&context.reader);
        let (mut pending, round) =
            tokio::task::spawn_blocking(move || outbox.read(reader.as_ref(), shards, ROUND)).await??;
        let short = pending.len() < ROUND as usize;
        let mut refilled = false;
        if short {
            let database = context.database.clone();
            refilled = tokio::task::spawn_blocking(move || outbox.refill(&database, shards)).await??;
        }
        if pending.is_empty() {
            if refilled {
                continue;
            }
            return Ok(());
        }
        let mut handled = 0;
        let mut failure = None;
        for item in &pending {
            if *stop.borrow() {
                break;
            }
            match outbox.send(context, pacer, item, &round).await {
                Ok(()) => handled += 1,
                Err(error) => {
                    failure = Some(error);
                    break;
                }
            }
        }
        pending.truncate(handled);
        if !pending.is_empty() {
            let database = context.database.clone();
            tokio::task::spawn_blocking(move || outbox.mark(&database, &pending)).await??;
        }
        if let Some(error) = failure {
            return Err(error.into());
        }
        if *stop.borrow() || (short && !refilled) {
            return Ok(());
        }
    }
}
