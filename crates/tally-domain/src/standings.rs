//! A server's ranked members in order, kept in memory so `/stats` can give a
//! rank and `/leaderboard` any page in microseconds at a million members,
//! where SQL needs a `COUNT(*)` or a deep `OFFSET` (tens of milliseconds).
//!
//! The order is XP descending, then user id ascending (the leaderboard's
//! order). Entries live in sorted blocks of a few hundred: an insert or a
//! removal moves at most one block's worth of entries, and a rank or a page
//! adds up block lengths, about two thousand of them at a million members.

use std::ops::Range;

use crate::snowflake::Id;

/// Most entries in one block before it is split in two.
const MAX_BLOCK: usize = 1024;

/// A member's place in the order: sorts best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    /// `u64::MAX - xp`, so more XP sorts first.
    xp_desc: u64,
    user_id: Id,
}

impl Key {
    fn new(user_id: Id, xp: u64) -> Self {
        Self { xp_desc: u64::MAX - xp, user_id }
    }
}

/// The ranked members of one server, best first.
#[derive(Debug, Default, Clone)]
pub struct Standings {
    blocks: Vec<Vec<Key>>,
    len: usize,
}

impl Standings {
    /// Builds the order from `(user_id, xp)` pairs in any order, each user once.
    pub fn from_unsorted(mut entries: Vec<(Id, u64)>) -> Self {
        let mut keys: Vec<Key> = entries.drain(..).map(|(user, xp)| Key::new(user, xp)).collect();
        keys.sort_unstable();
        let len = keys.len();
        let blocks = keys.chunks(MAX_BLOCK / 2).map(<[Key]>::to_vec).collect();
        Self { blocks, len }
    }

    /// Members ranked.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nobody is ranked.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The block that holds `key`, or would.
    fn block_for(&self, key: &Key) -> usize {
        let after = self.blocks.partition_point(|b| b.last().is_some_and(|last| last < key));
        after.min(self.blocks.len().saturating_sub(1))
    }

    /// Adds a member with `xp`. Adding one already present is a mistake the
    /// caller avoids (use [`Standings::update`]).
    pub fn insert(&mut self, user_id: Id, xp: u64) {
        let key = Key::new(user_id, xp);
        if self.blocks.is_empty() {
            self.blocks.push(Vec::with_capacity(MAX_BLOCK));
        }
        let b = self.block_for(&key);
        let block = &mut self.blocks[b];
        let at = block.partition_point(|k| k < &key);
        block.insert(at, key);
        self.len += 1;
        if block.len() > MAX_BLOCK {
            let upper = block.split_off(MAX_BLOCK / 2);
            self.blocks.insert(b + 1, upper);
        }
    }

    /// Removes a member who had `xp`. True when they were there.
    pub fn remove(&mut self, user_id: Id, xp: u64) -> bool {
        let key = Key::new(user_id, xp);
        if self.blocks.is_empty() {
            return false;
        }
        let b = self.block_for(&key);
        let block = &mut self.blocks[b];
        let Ok(at) = block.binary_search(&key) else { return false };
        block.remove(at);
        self.len -= 1;
        if block.is_empty() {
            self.blocks.remove(b);
        }
        true
    }

    /// Moves a member from `before` to `after`: None means not ranked.
    pub fn update(&mut self, user_id: Id, before: Option<u64>, after: Option<u64>) {
        if before == after {
            return;
        }
        if let Some(xp) = before {
            self.remove(user_id, xp);
        }
        if let Some(xp) = after {
            self.insert(user_id, xp);
        }
    }

    /// 1-based rank of a member with `xp`, None when not ranked.
    pub fn rank(&self, user_id: Id, xp: u64) -> Option<u64> {
        let key = Key::new(user_id, xp);
        if self.blocks.is_empty() {
            return None;
        }
        let b = self.block_for(&key);
        let at = self.blocks[b].binary_search(&key).ok()?;
        let before: usize = self.blocks[..b].iter().map(Vec::len).sum();
        Some((before + at + 1) as u64)
    }

    /// `(user_id, xp)` of the members at places `range` (0-based), best first.
    pub fn page(&self, range: Range<usize>) -> Vec<(Id, u64)> {
        let mut out = Vec::with_capacity(range.len());
        let mut skip = range.start;
        let mut want = range.len();
        for block in &self.blocks {
            if want == 0 {
                break;
            }
            if skip >= block.len() {
                skip -= block.len();
                continue;
            }
            let take = (block.len() - skip).min(want);
            out.extend(block[skip..skip + take].iter().map(|k| (k.user_id, u64::MAX - k.xp_desc)));
            want -= take;
            skip = 0;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same order, computed the slow way.
    fn reference(entries: &[(Id, u64)]) -> Vec<(Id, u64)> {
        let mut sorted = entries.to_vec();
        sorted.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        sorted
    }

    #[test]
    fn ranks_and_pages_match_a_sorted_list_through_many_changes() {
        let mut state: std::collections::HashMap<Id, u64> = std::collections::HashMap::new();
        let mut standings = Standings::default();
        let mut seed = 1u64;
        for step in 0..20_000u64 {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let user = (seed >> 33) % 3000;
            let before = state.get(&user).copied();
            let after = match (seed >> 20) % 5 {
                0 => None,
                _ => Some(before.unwrap_or(0) + (seed >> 40) % 40),
            };
            standings.update(user, before, after);
            match after {
                Some(xp) => state.insert(user, xp),
                None => state.remove(&user),
            };
            if step % 2000 == 0 || step == 19_999 {
                let expected = reference(&state.iter().map(|(u, x)| (*u, *x)).collect::<Vec<_>>());
                assert_eq!(standings.len(), expected.len());
                assert_eq!(standings.page(0..expected.len()), expected);
                for (place, (user, xp)) in expected.iter().enumerate().step_by(97) {
                    assert_eq!(standings.rank(*user, *xp), Some(place as u64 + 1));
                }
                assert_eq!(standings.page(10..20), expected[10.min(expected.len())..20.min(expected.len())]);
            }
        }
    }

    #[test]
    fn built_in_bulk_equals_built_one_by_one() {
        let entries: Vec<(Id, u64)> = (0..5000).map(|u| (u, (u * 7919) % 1000)).collect();
        let mut bulk = Standings::from_unsorted(entries.clone());
        let mut single = Standings::default();
        for (u, xp) in &entries {
            single.insert(*u, *xp);
        }
        assert_eq!(bulk.page(0..5000), single.page(0..5000));
        assert_eq!(bulk.rank(0, 0), single.rank(0, 0));
        assert_eq!(bulk.page(4990..6000).len(), 10);
        assert_eq!(Standings::default().rank(1, 1), None);
        assert!(!bulk.remove(1, 999_999), "a member with other XP is not there");
    }
}
