//! Role rewards: which roles a member's level earns. Pure: the set is
//! always computed whole from the level and the server's rewards, never
//! patched step by step, so a jump over several levels, an admin's
//! reduction or a new curve all end with exactly the right roles.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::snowflake::Id;

/// How rewards add up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RewardMode {
    /// Every reward up to the member's level.
    #[default]
    Stack,
    /// Only the highest reward reached.
    Highest,
}

impl RewardMode {
    /// As `/rewards mode` names it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Stack => "stack",
            Self::Highest => "highest",
        }
    }
}

/// The reward roles a member at `level` should hold, given the server's
/// rewards (role → level). In `Highest` mode, of several roles at the same
/// highest level, all are held.
pub fn wanted(rewards: &BTreeMap<Id, u32>, mode: RewardMode, level: u32) -> BTreeSet<Id> {
    let reached = rewards.iter().filter(|(_, at)| **at <= level);
    match mode {
        RewardMode::Stack => reached.map(|(role, _)| *role).collect(),
        RewardMode::Highest => {
            let top = reached.clone().map(|(_, at)| *at).max();
            reached.filter(|(_, at)| Some(**at) == top).map(|(role, _)| *role).collect()
        }
    }
}

/// What to do to a member's roles: add these, remove those. Roles that are
/// not rewards are never in either.
pub fn changes(rewards: &BTreeMap<Id, u32>, wanted: &BTreeSet<Id>, held: &[Id]) -> (Vec<Id>, Vec<Id>) {
    let held: BTreeSet<Id> = held.iter().copied().filter(|r| rewards.contains_key(r)).collect();
    (wanted.difference(&held).copied().collect(), held.difference(wanted).copied().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewards() -> BTreeMap<Id, u32> {
        BTreeMap::from([(100, 5), (200, 10), (300, 20), (301, 20)])
    }

    #[test]
    fn stack_holds_every_reward_reached() {
        assert!(wanted(&rewards(), RewardMode::Stack, 4).is_empty());
        assert_eq!(wanted(&rewards(), RewardMode::Stack, 12), BTreeSet::from([100, 200]));
        assert_eq!(wanted(&rewards(), RewardMode::Stack, 99).len(), 4);
    }

    #[test]
    fn highest_holds_only_the_top_reward() {
        assert_eq!(wanted(&rewards(), RewardMode::Highest, 12), BTreeSet::from([200]));
        assert_eq!(wanted(&rewards(), RewardMode::Highest, 25), BTreeSet::from([300, 301]));
    }

    #[test]
    fn changes_never_touch_other_roles() {
        let want = wanted(&rewards(), RewardMode::Highest, 12);
        // Holds the level-5 reward and an unrelated role 7.
        let (add, remove) = changes(&rewards(), &want, &[100, 7]);
        assert_eq!((add, remove), (vec![200], vec![100]));
        let (add, remove) = changes(&rewards(), &BTreeSet::new(), &[7, 300]);
        assert_eq!((add, remove), (vec![], vec![300]), "an admin's reduction takes rewards away, not role 7");
    }
}
