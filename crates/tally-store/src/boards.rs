//! Whole board orders (a week's messages, a month's XP, all-time reactions…)
//! kept for reuse. A board is one SQL pass over the day rows of everyone
//! active in its span: microseconds in a small server, about a second with
//! 300,000 active members. Paging through it, or many members asking at
//! once, should not repeat that pass.
//!
//! A kept order is reused while its server has had no commit since it was
//! built. When the server has changed, a cheap order is built again, so
//! small servers always see the latest count; an order that took long to
//! build is reused for up to [`MAX_AGE`], so a large, busy server's windowed
//! boards lag by at most that much.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{BoardOrder, Measure, Span, StoreError};
use crate::domain::activity::Id;

/// A build slower than this is worth reusing after its server changes.
pub const SLOW_BUILD: Duration = Duration::from_millis(50);

/// How long a slow build is reused after its server changed.
pub const MAX_AGE: Duration = Duration::from_secs(30);

/// Entries (members) kept across all orders, at 16 bytes each: 32 MiB. The
/// oldest orders go first; the newest is always kept.
const MAX_KEPT_ENTRIES: usize = 2 << 20;

/// Which board: a server, a span, a measure.
pub type BoardKey = (Id, Span, Measure);

#[derive(Debug)]
struct Kept {
    order: Arc<BoardOrder>,
    /// The server's generation when the build began.
    generation: u64,
    /// The server's withdrawals when the build began: an order from before
    /// a member was hidden is never served, slow or not.
    withdrawal: u64,
    built_at: Instant,
    slow: bool,
}

/// Kept board orders, and a generation per server that each commit moves.
#[derive(Debug, Default)]
pub struct BoardCache {
    kept: Mutex<HashMap<BoardKey, Kept>>,
    generations: Mutex<HashMap<Id, u64>>,
    withdrawals: Mutex<HashMap<Id, u64>>,
}

impl BoardCache {
    /// Marks `guilds` as changed by a commit: their kept orders are stale.
    pub fn changed(&self, guilds: &[Id]) {
        if guilds.is_empty() {
            return;
        }
        let mut generations = self.generations.lock().unwrap_or_else(|p| p.into_inner());
        for guild in guilds {
            *generations.entry(*guild).or_default() += 1;
        }
    }

    /// Drops every order kept for `guilds`, slow or not: a member was
    /// hidden or erased there, and no board may show them again.
    pub fn withdraw(&self, guilds: &[Id]) {
        if guilds.is_empty() {
            return;
        }
        self.changed(guilds);
        {
            let mut withdrawals = self.withdrawals.lock().unwrap_or_else(|p| p.into_inner());
            for guild in guilds {
                *withdrawals.entry(*guild).or_default() += 1;
            }
        }
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        kept.retain(|(guild, _, _), _| !guilds.contains(guild));
    }

    fn withdrawal(&self, guild: Id) -> u64 {
        self.withdrawals.lock().unwrap_or_else(|p| p.into_inner()).get(&guild).copied().unwrap_or_default()
    }

    fn generation(&self, guild: Id) -> u64 {
        self.generations.lock().unwrap_or_else(|p| p.into_inner()).get(&guild).copied().unwrap_or_default()
    }

    /// The order for `key`: kept, or built by `build` and kept. `tracked`
    /// says whether this process sees every commit to the server (it counts
    /// the server's shard); an order of a server counted elsewhere is never
    /// known to be current, so only a slow one is reused, for [`MAX_AGE`].
    pub fn get_or_build(
        &self,
        key: BoardKey,
        tracked: bool,
        build: impl FnOnce() -> Result<BoardOrder, StoreError>,
    ) -> Result<Arc<BoardOrder>, StoreError> {
        // Read before building: a commit during the build makes it stale.
        let generation = self.generation(key.0);
        let withdrawal = self.withdrawal(key.0);
        {
            let kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(k) = kept.get(&key).filter(|k| k.withdrawal == withdrawal) {
                let current = tracked && k.generation == generation;
                if current || (k.slow && k.built_at.elapsed() < MAX_AGE) {
                    return Ok(Arc::clone(&k.order));
                }
            }
        }
        let started = Instant::now();
        let order = Arc::new(build()?);
        let slow = started.elapsed() >= SLOW_BUILD;
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        kept.remove(&key);
        let mut total: usize = kept.values().map(|k| k.order.len()).sum::<usize>() + order.len();
        while total > MAX_KEPT_ENTRIES {
            let Some(oldest) = kept.iter().min_by_key(|(_, k)| k.built_at).map(|(key, _)| *key) else { break };
            total -= kept.remove(&oldest).map_or(0, |k| k.order.len());
        }
        kept.insert(key, Kept { order: Arc::clone(&order), generation, withdrawal, built_at: started, slow });
        Ok(order)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn a_cheap_order_is_rebuilt_after_its_server_changes_and_only_then() {
        let cache = BoardCache::default();
        let builds = Cell::new(0);
        let key = (1, Span::AllTime, Measure::Messages);
        let build = || {
            builds.set(builds.get() + 1);
            Ok(vec![(7, builds.get() as u64)])
        };
        assert_eq!(*cache.get_or_build(key, true, build).unwrap(), [(7, 1)]);
        assert_eq!(*cache.get_or_build(key, true, build).unwrap(), [(7, 1)], "unchanged: reused");
        cache.changed(&[2]);
        assert_eq!(*cache.get_or_build(key, true, build).unwrap(), [(7, 1)], "another server changed");
        cache.changed(&[1]);
        assert_eq!(*cache.get_or_build(key, true, build).unwrap(), [(7, 2)], "this server changed: rebuilt");
        assert_eq!(builds.get(), 2);
    }

    #[test]
    fn a_cheap_order_of_a_server_counted_elsewhere_is_always_rebuilt() {
        let cache = BoardCache::default();
        let builds = Cell::new(0);
        let key = (1, Span::AllTime, Measure::Messages);
        let build = || {
            builds.set(builds.get() + 1);
            Ok(vec![(7, builds.get() as u64)])
        };
        cache.get_or_build(key, false, build).unwrap();
        assert_eq!(*cache.get_or_build(key, false, build).unwrap(), [(7, 2)], "no commit is seen here: rebuilt");
    }

    #[test]
    fn the_oldest_orders_make_room_for_new_ones() {
        let cache = BoardCache::default();
        let big = |n: u64| move || Ok((0..n).map(|i| (i, 1)).collect::<BoardOrder>());
        let half = (MAX_KEPT_ENTRIES / 2) as u64;
        let key = |guild| (guild, Span::AllTime, Measure::Messages);
        cache.get_or_build(key(1), true, big(half)).unwrap();
        cache.get_or_build(key(2), true, big(half)).unwrap();
        cache.get_or_build(key(3), true, big(half)).unwrap(); // over the limit: server 1's goes
        cache.get_or_build(key(2), true, || panic!("server 2's order is still kept")).unwrap();
        cache.get_or_build(key(3), true, || panic!("server 3's order is still kept")).unwrap();
        let rebuilt = std::cell::Cell::new(false);
        cache
            .get_or_build(key(1), true, || {
                rebuilt.set(true);
                Ok(vec![])
            })
            .unwrap();
        assert!(rebuilt.get(), "server 1's order was dropped");
    }

    #[test]
    fn a_withdrawal_drops_even_a_slow_order() {
        let cache = BoardCache::default();
        let key = (1, Span::Days { first: 1, last: 7 }, Measure::Xp);
        let other = (2, Span::Days { first: 1, last: 7 }, Measure::Xp);
        let slow = || {
            std::thread::sleep(SLOW_BUILD);
            Ok(vec![(7, 1)])
        };
        cache.get_or_build(key, true, slow).unwrap();
        cache.get_or_build(other, true, slow).unwrap();
        cache.withdraw(&[1]);
        let rebuilt = cache.get_or_build(key, true, || Ok(vec![])).unwrap();
        assert!(rebuilt.is_empty(), "a member hidden in server 1 leaves its boards at once");
        cache.get_or_build(other, true, || panic!("server 2's order stays")).unwrap();
    }

    #[test]
    fn a_slow_order_is_reused_for_a_while_after_changes() {
        let cache = BoardCache::default();
        let key = (1, Span::Days { first: 1, last: 7 }, Measure::Xp);
        let slow = || {
            std::thread::sleep(SLOW_BUILD);
            Ok(vec![(7, 1)])
        };
        cache.get_or_build(key, true, slow).unwrap();
        cache.changed(&[1]);
        let order = cache.get_or_build(key, true, || panic!("a slow order is kept for MAX_AGE")).unwrap();
        assert_eq!(*order, [(7, 1)]);
    }
}
