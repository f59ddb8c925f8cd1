//! The level curve. Going from level L to L+1 costs `5L² + 50L + 100` XP, as
//! in MEE6, so servers that migrate keep their members' levels.

/// XP needed to go from `level` to `level + 1`.
pub fn xp_to_next(level: u32) -> u64 {
    let l = u64::from(level);
    5 * l * l + 50 * l + 100
}

/// Total XP needed to reach `level` from zero.
pub fn total_xp_for(level: u32) -> u64 {
    (0..level).map(xp_to_next).sum()
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
    /// The level reached with `xp` total XP.
    pub fn from_xp(xp: u64) -> Self {
        let mut level = 0;
        let mut rest = xp;
        while rest >= xp_to_next(level) {
            rest -= xp_to_next(level);
            level += 1;
        }
        Self { level, progress: rest, needed: xp_to_next(level) }
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
}
