//! How much XP a message earns, and when. Defaults follow MEE6: 15 to 25 XP a
//! message, at most once per 60 seconds per member.

use crate::dice::mix;

/// Per-server XP rules. Stored per server; these defaults apply until an admin
/// changes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XpSettings {
    /// Least XP one message can earn.
    pub min_xp: u32,
    /// Most XP one message can earn (inclusive).
    pub max_xp: u32,
    /// Seconds after an XP-earning message during which further messages earn none.
    pub cooldown_secs: u32,
}

impl Default for XpSettings {
    fn default() -> Self {
        Self { min_xp: 15, max_xp: 25, cooldown_secs: 60 }
    }
}

impl XpSettings {
    /// XP a message with this id earns if it is not in cooldown: a value in
    /// `min_xp..=max_xp` derived from a hash of the id, so the same message
    /// always earns the same amount.
    pub fn message_xp(&self, message_id: u64) -> u32 {
        let (low, high) =
            if self.min_xp <= self.max_xp { (self.min_xp, self.max_xp) } else { (self.max_xp, self.min_xp) };
        let span = u64::from(high - low) + 1;
        low + (mix(message_id) % span) as u32
    }

    /// Whether a message created at `at_ms` earns XP, given when the member
    /// last earned XP. Times are snowflake timestamps in milliseconds.
    pub fn earns_xp(&self, last_xp_at_ms: Option<i64>, at_ms: i64) -> bool {
        match last_xp_at_ms {
            None => true,
            Some(last) => at_ms - last >= i64::from(self.cooldown_secs) * 1000,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_xp_stays_in_range_and_covers_it() {
        let s = XpSettings::default();
        let mut seen = [false; 11];
        for id in 0..10_000u64 {
            let xp = s.message_xp(id * 4_194_304 + 7);
            assert!((15..=25).contains(&xp), "{xp}");
            seen[(xp - 15) as usize] = true;
        }
        assert!(seen.iter().all(|&s| s), "every value in 15..=25 occurs");
    }

    #[test]
    fn message_xp_is_deterministic() {
        let s = XpSettings::default();
        assert_eq!(s.message_xp(123_456_789), s.message_xp(123_456_789));
    }

    #[test]
    fn fixed_xp_when_min_equals_max() {
        let s = XpSettings { min_xp: 10, max_xp: 10, cooldown_secs: 0 };
        assert_eq!(s.message_xp(99), 10);
    }

    #[test]
    fn swapped_bounds_are_tolerated() {
        let s = XpSettings { min_xp: 30, max_xp: 20, cooldown_secs: 0 };
        assert!((20..=30).contains(&s.message_xp(5)));
    }

    #[test]
    fn cooldown_boundary_is_inclusive_at_exactly_the_cooldown() {
        let s = XpSettings::default();
        assert!(s.earns_xp(None, 0));
        assert!(!s.earns_xp(Some(1_000), 1_000 + 59_999));
        assert!(s.earns_xp(Some(1_000), 1_000 + 60_000));
    }

    #[test]
    fn zero_cooldown_always_earns() {
        let s = XpSettings { cooldown_secs: 0, ..XpSettings::default() };
        assert!(s.earns_xp(Some(5), 5));
    }
}

#[cfg(test)]
mod pinned {
    use super::*;

    /// The XP these message ids earn under the default rules, fixed. The
    /// hash prices every message ever counted: changing it would re-price
    /// every member's history, so this must never change.
    #[test]
    fn the_xp_of_known_messages_never_changes() {
        let ids: [u64; 8] = [
            0,
            1,
            175_928_847_299_117_063,
            1_043_576_011_409_461_248,
            1_234_567_890_123_456_789,
            4_194_304,
            u64::MAX,
            987_654_321_987_654_321,
        ];
        let earned: Vec<u32> = ids.iter().map(|&id| XpSettings::default().message_xp(id)).collect();
        assert_eq!(earned, PINNED);
    }

    const PINNED: [u32; 8] = [16, 24, 19, 17, 25, 22, 16, 25];
}

/// What an admin does to a member's XP with `/xp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XpChange {
    /// `/xp add`.
    Add(u64),
    /// `/xp remove` (never below zero).
    Remove(u64),
    /// `/xp set`.
    Set(u64),
    /// `/xp reset`: back to zero.
    Reset,
}

impl XpChange {
    /// The XP after the change, from `before`.
    pub fn apply(self, before: u64) -> u64 {
        match self {
            Self::Add(n) => before.saturating_add(n),
            Self::Remove(n) => before.saturating_sub(n),
            Self::Set(n) => n,
            Self::Reset => 0,
        }
    }

    /// The action's name in the audit log, and its amount.
    pub fn describe(self) -> (&'static str, u64) {
        match self {
            Self::Add(n) => ("add", n),
            Self::Remove(n) => ("remove", n),
            Self::Set(n) => ("set", n),
            Self::Reset => ("reset", 0),
        }
    }
}

#[cfg(test)]
mod changes {
    use super::XpChange;

    #[test]
    fn changes_saturate_and_reset() {
        assert_eq!(XpChange::Add(5).apply(10), 15);
        assert_eq!(XpChange::Add(5).apply(u64::MAX), u64::MAX);
        assert_eq!(XpChange::Remove(50).apply(10), 0);
        assert_eq!(XpChange::Set(7).apply(10), 7);
        assert_eq!(XpChange::Reset.apply(10), 0);
    }
}
