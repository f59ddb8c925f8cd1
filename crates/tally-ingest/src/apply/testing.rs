//! The counting rules applied to a test database of the storage suite, in
//! one committed batch: how the tests of the rules and of what they store
//! write their history.

use crate::domain::Activity;
use crate::store::suite::TestDb;

use super::Applied;

/// Applies activities to a [`TestDb`] as the ledger would.
pub(crate) trait ApplyNow {
    /// Applies `activities` in one committed batch, now.
    fn apply(&mut self, activities: &[Activity]) -> Applied;
}

impl ApplyNow for TestDb {
    fn apply(&mut self, activities: &[Activity]) -> Applied {
        let now = crate::domain::days::now_ms();
        self.writer.transaction(|ops| super::apply(ops, activities, now)).unwrap()
    }
}
