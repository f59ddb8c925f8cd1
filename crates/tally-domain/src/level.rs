//! The level curve. Going from level L to L+1 costs `a·L² + b·L + c` XP; the
//! default is MEE6's `5L² + 50L + 100`, so servers that migrate keep their
//! members' levels. Levels are never stored: they are read from XP under the
//! server's curve, so changing the curve re-levels everyone at once.

/// A server's level curve: the step from L to L+1 costs `a·L² + b·L + c`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Curve {
    /// The square term.
    pub a: u64,
    /// The linear term.
    pub b: u64,
    /// The constant term: at least 1, so every level costs something.
    pub c: u64,
}

impl Default for Curve {
    fn default() -> Self {
        Self::MEE6
    }
}

/// The highest level Tally computes (a flat curve of 1 XP a level stops here).
const MAX_LEVEL: u64 = u32::MAX as u64;

impl Curve {
    /// MEE6's curve, the default.
    pub const MEE6: Self = Self { a: 5, b: 50, c: 100 };

    /// Largest value allowed for each of a, b and c.
    pub const MAX_TERM: u64 = 1_000_000;

    /// XP needed to go from `level` to `level + 1`.
    pub fn xp_to_next(&self, level: u32) -> u64 {
        let l = u64::from(level);
        self.a.saturating_mul(l * l).saturating_add(self.b.saturating_mul(l)).saturating_add(self.c.max(1))
    }

    /// Total XP needed to reach `level` from zero, in closed form.
    pub fn total_xp_for(&self, level: u32) -> u64 {
        let l = u128::from(level);
        let squares = if l == 0 { 0 } else { (l - 1) * l * (2 * l - 1) / 6 };
        let linear = if l == 0 { 0 } else { (l - 1) * l / 2 };
        let total = u128::from(self.a) * squares + u128::from(self.b) * linear + u128::from(self.c.max(1)) * l;
        u64::try_from(total).unwrap_or(u64::MAX)
    }

    /// Where a member with `xp` total XP stands on this curve.
    pub fn level(&self, xp: u64) -> Level {
        // The highest level whose total is at most `xp`, by bisection: a
        // curve of `c = 1` reaches millions of levels.
        let (mut low, mut high) = (0u64, MAX_LEVEL);
        while low < high {
            let mid = (low + high).div_ceil(2);
            if self.total_xp_for(mid as u32) <= xp {
                low = mid;
            } else {
                high = mid - 1;
            }
        }
        let level = low as u32;
        let progress = xp - self.total_xp_for(level);
        Level { level, progress, needed: self.xp_to_next(level) }
    }
}

/// XP needed to go from `level` to `level + 1` on MEE6's curve.
pub fn xp_to_next(level: u32) -> u64 {
    Curve::MEE6.xp_to_next(level)
}

/// Total XP needed to reach `level` from zero on MEE6's curve.
pub fn total_xp_for(level: u32) -> u64 {
    Curve::MEE6.total_xp_for(level)
}

/// Where a member stands on the curve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Level {
    /// The level reached.
    pub level: u32,
    /// XP earned since reaching `level`.
    pub progress: u64,
    /// XP the step from `level` to `level + 1` costs in all.
    pub needed: u64,
}

impl Level {
    /// The level reached with `xp` total XP on MEE6's curve.
    pub fn from_xp(xp: u64) -> Self {
        Curve::MEE6.level(xp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curve_matches_mee6() {
        assert_eq!(xp_to_next(0), 100);
        assert_eq!(xp_to_next(1), 155);
        assert_eq!(xp_to_next(10), 1100);
        assert_eq!(total_xp_for(5), 100 + 155 + 220 + 295 + 380);
    }

    #[test]
    fn level_boundaries() {
        assert_eq!(Level::from_xp(0), Level { level: 0, progress: 0, needed: 100 });
        assert_eq!(Level::from_xp(99).level, 0);
        assert_eq!(Level::from_xp(100), Level { level: 1, progress: 0, needed: 155 });
        assert_eq!(Level::from_xp(254).level, 1);
        assert_eq!(Level::from_xp(255).level, 2);
    }

    #[test]
    fn from_xp_inverts_total_xp_for() {
        for level in 0..200 {
            let total = total_xp_for(level);
            assert_eq!(Level::from_xp(total).level, level);
            if total > 0 {
                assert_eq!(Level::from_xp(total - 1).level, level - 1);
            }
        }
    }

    #[test]
    fn closed_form_total_equals_the_sum_of_steps() {
        for curve in [Curve::MEE6, Curve { a: 0, b: 7, c: 3 }, Curve { a: 2, b: 0, c: 1 }, Curve { a: 0, b: 0, c: 250 }]
        {
            let mut sum = 0;
            for level in 0..300 {
                assert_eq!(curve.total_xp_for(level), sum, "{curve:?} at {level}");
                sum += curve.xp_to_next(level);
            }
        }
    }

    #[test]
    fn a_custom_curve_gives_the_expected_levels() {
        // Linear 0·L² + 10·L + 100: steps 100, 110, 120, ... totals 0, 100, 210, 330.
        let curve = Curve { a: 0, b: 10, c: 100 };
        assert_eq!(curve.level(209), Level { level: 1, progress: 109, needed: 110 });
        assert_eq!(curve.level(210).level, 2);
        assert_eq!(curve.level(330).level, 3);
        // A flat curve of one XP a level reaches huge levels quickly and exactly.
        assert_eq!(Curve { a: 0, b: 0, c: 1 }.level(123_456).level, 123_456);
    }

    #[test]
    fn huge_xp_does_not_overflow() {
        let level = Curve::MEE6.level(u64::MAX);
        assert!(level.level > 100_000);
        assert!(level.progress < level.needed);
    }
}
