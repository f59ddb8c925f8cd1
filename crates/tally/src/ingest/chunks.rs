//! Collects a server's full member list from its GUILD_MEMBERS_CHUNK events.
//! When the last chunk arrives, Tally knows exactly who is still there, and
//! can record leaves it missed while offline (when Discord could not replay).

use std::collections::{HashMap, HashSet};

use crate::domain::activity::Id;
use crate::domain::Activity;

/// Member-list chunks received so far, per server.
#[derive(Debug, Default)]
pub struct ChunkCollector {
    pending: HashMap<Id, Pending>,
}

#[derive(Debug)]
struct Pending {
    present: HashSet<Id>,
    chunks_seen: HashSet<u32>,
    requested_at_ms: i64,
}

impl ChunkCollector {
    /// Notes that the member list of `guild_id` was requested at `at_ms`.
    pub fn requested(&mut self, guild_id: Id, at_ms: i64) {
        self.pending
            .insert(guild_id, Pending { present: HashSet::new(), chunks_seen: HashSet::new(), requested_at_ms: at_ms });
    }

    /// Adds one chunk. Returns the completed list as an activity once every
    /// chunk of the request has arrived.
    pub fn chunk(
        &mut self,
        guild_id: Id,
        index: u32,
        count: u32,
        members: impl IntoIterator<Item = Id>,
    ) -> Option<Activity> {
        let pending = self.pending.get_mut(&guild_id)?;
        pending.present.extend(members);
        pending.chunks_seen.insert(index);
        if pending.chunks_seen.len() < count as usize {
            return None;
        }
        let done = self.pending.remove(&guild_id)?;
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

    #[test]
    fn completes_after_every_chunk_in_any_order() {
        let mut c = ChunkCollector::default();
        c.requested(1, 500);
        assert_eq!(c.chunk(1, 1, 2, [3, 4]), None);
        let Some(Activity::MemberListComplete { guild_id, mut present, requested_at_ms }) = c.chunk(1, 0, 2, [5])
        else {
            panic!("complete after both chunks")
        };
        present.sort_unstable();
        assert_eq!((guild_id, present, requested_at_ms), (1, vec![3, 4, 5], 500));
        assert_eq!(c.chunk(1, 0, 1, [9]), None, "chunks nobody asked for are ignored");
    }
}
