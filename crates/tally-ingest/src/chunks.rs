//! Collects a server's full member list from its GUILD_MEMBERS_CHUNK events.
//! When the last chunk arrives, Tally knows exactly who is still there, and
//! can record leaves it missed while offline (when Discord could not replay).
//!
//! Each request carries a `nonce` that Discord echoes in every chunk of its
//! answer, so chunks are matched to the request they answer: a second
//! request for the same server (a second GUILD_CREATE) replaces the first,
//! and its chunks never mix with the first's.

use std::collections::{HashMap, HashSet};

use crate::domain::activity::Id;
use crate::domain::Activity;

/// Member-list requests in flight, by nonce.
#[derive(Debug, Default)]
pub struct ChunkCollector {
    pending: HashMap<String, Pending>,
    /// The nonce of each server's latest request.
    latest: HashMap<Id, String>,
    /// Requests made so far, numbering the nonces.
    made: u64,
}

#[derive(Debug)]
struct Pending {
    guild_id: Id,
    present: HashSet<Id>,
    chunks_seen: HashSet<u32>,
    /// `chunk_count` as the first chunk said; every chunk must agree.
    count: Option<u32>,
    requested_at_ms: i64,
}

impl ChunkCollector {
    /// Starts a request for the member list of `guild_id` at `at_ms`:
    /// returns the nonce to send with it (at most 32 characters, as
    /// Discord allows). An unfinished earlier request for the server is
    /// given up; its late chunks are ignored.
    pub fn requested(&mut self, guild_id: Id, at_ms: i64) -> String {
        self.made += 1;
        let nonce = format!("{:x}.{:x}", at_ms.max(0), self.made);
        if let Some(old) = self.latest.insert(guild_id, nonce.clone()) {
            self.pending.remove(&old);
        }
        self.pending.insert(
            nonce.clone(),
            Pending {
                guild_id,
                present: HashSet::new(),
                chunks_seen: HashSet::new(),
                count: None,
                requested_at_ms: at_ms,
            },
        );
        nonce
    }

    /// When the request `nonce` names was made, while it is in flight.
    pub fn requested_at(&self, nonce: Option<&str>) -> Option<i64> {
        self.pending.get(nonce?).map(|p| p.requested_at_ms)
    }

    /// Adds one chunk. Returns the completed list as an activity once every
    /// chunk of its request has arrived. A chunk without a nonce Tally
    /// gave, for another server than its request's, with an index outside
    /// its count or a count other than the request's earlier chunks said,
    /// is ignored.
    pub fn chunk(
        &mut self,
        nonce: Option<&str>,
        guild_id: Id,
        index: u32,
        count: u32,
        members: impl IntoIterator<Item = Id>,
    ) -> Option<Activity> {
        let key = nonce?;
        let pending = self.pending.get_mut(key)?;
        let consistent =
            pending.guild_id == guild_id && index < count && pending.count.is_none_or(|expected| expected == count);
        if !consistent {
            tracing::debug!(guild_id, index, count, "ignored a member-list chunk that does not fit its request");
            return None;
        }
        pending.count = Some(count);
        if !pending.chunks_seen.insert(index) {
            return None; // the same chunk twice adds nothing
        }
        pending.present.extend(members);
        if pending.chunks_seen.len() < count as usize {
            return None;
        }
        let done = self.pending.remove(key)?;
        self.latest.remove(&guild_id);
        Some(Activity::MemberListComplete {
            guild_id,
            present: done.present.into_iter().collect(),
            requested_at_ms: done.requested_at_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn present(activity: Option<Activity>) -> Vec<Id> {
        let Some(Activity::MemberListComplete { mut present, .. }) = activity else { panic!("complete: {activity:?}") };
        present.sort_unstable();
        present
    }

    #[test]
    fn completes_after_every_chunk_in_any_order() {
        let mut c = ChunkCollector::default();
        let nonce = c.requested(1, 500);
        assert!(nonce.len() <= 32, "{nonce}");
        assert_eq!(c.chunk(Some(&nonce), 1, 1, 2, [3, 4]), None);
        let Some(Activity::MemberListComplete { guild_id, mut present, requested_at_ms }) =
            c.chunk(Some(&nonce), 1, 0, 2, [5])
        else {
            panic!("complete after both chunks")
        };
        present.sort_unstable();
        assert_eq!((guild_id, present, requested_at_ms), (1, vec![3, 4, 5], 500));
        assert_eq!(c.chunk(Some(&nonce), 1, 0, 1, [9]), None, "a finished request takes no more chunks");
        assert_eq!(c.chunk(None, 1, 0, 1, [9]), None, "chunks nobody asked for are ignored");
    }

    #[test]
    fn two_requests_for_one_server_never_mix() {
        let mut c = ChunkCollector::default();
        let first = c.requested(1, 500);
        assert_eq!(c.chunk(Some(&first), 1, 0, 2, [3]), None);
        // A second GUILD_CREATE asks again before the first list is whole.
        let second = c.requested(1, 600);
        assert_ne!(first, second);
        assert_eq!(c.chunk(Some(&first), 1, 1, 2, [4]), None, "the first request's late chunk completes nothing");
        assert_eq!(c.chunk(Some(&second), 1, 0, 2, [7]), None);
        assert_eq!(present(c.chunk(Some(&second), 1, 1, 2, [8])), vec![7, 8], "only the second request's members");
    }

    #[test]
    fn chunks_that_do_not_fit_their_request_are_ignored() {
        let mut c = ChunkCollector::default();
        let nonce = c.requested(1, 500);
        assert_eq!(c.chunk(Some(&nonce), 2, 0, 1, [3]), None, "another server's chunk");
        assert_eq!(c.chunk(Some(&nonce), 1, 3, 3, [3]), None, "an index past the count");
        assert_eq!(c.chunk(Some(&nonce), 1, 0, 3, [3]), None);
        assert_eq!(c.chunk(Some(&nonce), 1, 1, 2, [4]), None, "a count that changed");
        assert_eq!(c.chunk(Some(&nonce), 1, 0, 3, [5]), None, "the same chunk twice");
        assert_eq!(c.chunk(Some(&nonce), 1, 1, 3, [6]), None);
        assert_eq!(present(c.chunk(Some(&nonce), 1, 2, 3, [7])), vec![3, 6, 7]);
    }
}
