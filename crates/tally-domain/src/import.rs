//! What an import brings in, and how it merges with what Tally holds. Pure:
//! the files are read by the command line's import, the rows applied by the
//! ledger.

use crate::snowflake::Id;

/// One member's figures from an import file. Fields a format does not
/// carry are None and leave Tally's own figure alone.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImportRow {
    /// The member.
    pub user_id: Id,
    /// Total XP.
    pub xp: u64,
    /// Messages posted.
    pub messages: Option<u64>,
    /// Name shown in the server (Tally's export).
    pub name: Option<String>,
    /// Reactions given (Tally's export).
    pub reactions_given: Option<u64>,
    /// Reactions received (Tally's export).
    pub reactions_received: Option<u64>,
    /// Time in voice, ms (Tally's export).
    pub voice_ms: Option<u64>,
    /// When they joined, ms (Tally's export).
    pub joined_at_ms: Option<i64>,
    /// When they left, ms (Tally's export).
    pub left_at_ms: Option<i64>,
}

/// How imported XP meets the XP Tally already has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImportMode {
    /// The imported figures replace Tally's.
    Replace,
    /// Imported XP (and counts) are added to Tally's.
    Add,
    /// A member keeps the higher XP (the default: importing twice changes nothing).
    #[default]
    Max,
}

impl ImportMode {
    /// The XP a member ends with.
    pub fn xp(self, have: u64, imported: u64) -> u64 {
        match self {
            Self::Replace => imported,
            Self::Add => have.saturating_add(imported),
            Self::Max => have.max(imported),
        }
    }

    /// A count (messages, reactions, voice time) a member ends with, merged
    /// as XP is: MEE6's message count is kept when Tally has fewer.
    pub fn count(self, have: u64, imported: Option<u64>) -> u64 {
        imported.map_or(have, |n| self.xp(have, n))
    }

    /// As the command line names it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Replace => "replace",
            Self::Add => "add",
            Self::Max => "max",
        }
    }
}

/// One stored import request: a slice of an import's rows and how they
/// merge. Stored as JSON; its digest makes a second run of the same file
/// find the request already applied.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImportRequest {
    /// How the rows merge.
    pub mode: ImportMode,
    /// The rows, by member id.
    pub rows: Vec<ImportRow>,
}

/// What an import does to one member, for the summary and the dry run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Not stored yet: added.
    Added,
    /// XP goes up.
    Raised,
    /// XP goes down (replacing only).
    Lowered,
    /// XP stays as it is.
    Unchanged,
}

/// The outcome for a member holding `have` XP (None: not stored).
pub fn outcome(mode: ImportMode, have: Option<u64>, imported: u64) -> Outcome {
    match have {
        None => Outcome::Added,
        Some(have) => match mode.xp(have, imported).cmp(&have) {
            std::cmp::Ordering::Greater => Outcome::Raised,
            std::cmp::Ordering::Less => Outcome::Lowered,
            std::cmp::Ordering::Equal => Outcome::Unchanged,
        },
    }
}

/// Why a row is left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// Tally knows the account as a bot, and never ranks bots.
    Bot,
    /// The member asked Tally not to count them (`/privacy stop`).
    Stopped,
}

impl Skip {
    /// As the summary words it.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Bot => "a bot account",
            Self::Stopped => "asked not to be counted (/privacy stop)",
        }
    }
}

/// A member as the plan needs to know them: XP held, and whether the row
/// would be skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held {
    /// XP now.
    pub xp: u64,
    /// Why the member is left out, if they are.
    pub skip: Option<Skip>,
}

/// What an import does, counted: printed by `tally import` (and is all a
/// dry run does), answered by `/import`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Members not stored before.
    pub added: u64,
    /// Members whose XP goes up.
    pub raised: u64,
    /// Members whose XP goes down (replacing).
    pub lowered: u64,
    /// Members whose XP stays.
    pub unchanged: u64,
    /// Members left out, and why.
    pub skipped: Vec<(Id, Skip)>,
    /// Rows already applied by an earlier run of the same import.
    pub already: u64,
}

impl Summary {
    /// Counts what `rows` would do to members as `held` describes them.
    pub fn plan(rows: &[ImportRow], mode: ImportMode, held: impl Fn(Id) -> Option<Held>) -> Self {
        let mut summary = Self::default();
        for row in rows {
            let now = held(row.user_id);
            if let Some(skip) = now.and_then(|h| h.skip) {
                summary.skipped.push((row.user_id, skip));
                continue;
            }
            match outcome(mode, now.map(|h| h.xp), row.xp) {
                Outcome::Added => summary.added += 1,
                Outcome::Raised => summary.raised += 1,
                Outcome::Lowered => summary.lowered += 1,
                Outcome::Unchanged => summary.unchanged += 1,
            }
        }
        summary
    }

    /// Whether the import changes anyone's XP.
    pub fn changes_anything(&self) -> bool {
        self.added + self.raised + self.lowered > 0
    }

    /// The summary as lines: counts, then each skipped member (the first
    /// `shown_skips`, then how many more).
    pub fn lines(&self, shown_skips: usize) -> Vec<String> {
        use super::humanize::thousands;
        let mut lines = vec![
            format!("added      {:>9}  members Tally did not have", thousands(self.added)),
            format!("raised     {:>9}  members whose XP goes up", thousands(self.raised)),
        ];
        if self.lowered > 0 {
            lines.push(format!("lowered    {:>9}  members whose XP goes down (replace)", thousands(self.lowered)));
        }
        lines.push(format!("unchanged  {:>9}  members whose XP stays", thousands(self.unchanged)));
        lines.push(format!("skipped    {:>9}", thousands(self.skipped.len() as u64)));
        for (user_id, skip) in self.skipped.iter().take(shown_skips) {
            lines.push(format!("  {user_id}: {}", skip.reason()));
        }
        if self.skipped.len() > shown_skips {
            lines.push(format!("  and {} more", thousands((self.skipped.len() - shown_skips) as u64)));
        }
        if self.already > 0 {
            lines.push(format!(
                "already    {:>9}  members imported before by this same import",
                thousands(self.already)
            ));
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_merge_xp_as_named() {
        assert_eq!(ImportMode::Max.xp(500, 300), 500);
        assert_eq!(ImportMode::Max.xp(200, 300), 300);
        assert_eq!(ImportMode::Add.xp(200, 300), 500);
        assert_eq!(ImportMode::Replace.xp(200, 30), 30);
        assert_eq!(ImportMode::Max.count(10, Some(4)), 10, "keeps the higher message count");
        assert_eq!(ImportMode::Replace.count(10, Some(4)), 4);
        assert_eq!(ImportMode::Add.count(10, None), 10);
        assert_eq!(ImportMode::Add.count(10, Some(4)), 14, "adding adds the counts too");
    }

    #[test]
    fn outcomes() {
        assert_eq!(outcome(ImportMode::Max, None, 5), Outcome::Added);
        assert_eq!(outcome(ImportMode::Max, Some(9), 5), Outcome::Unchanged);
        assert_eq!(outcome(ImportMode::Max, Some(4), 5), Outcome::Raised);
        assert_eq!(outcome(ImportMode::Replace, Some(9), 5), Outcome::Lowered);
        assert_eq!(outcome(ImportMode::Add, Some(4), 0), Outcome::Unchanged);
    }

    #[test]
    fn a_plan_counts_each_outcome_and_names_skips() {
        let rows: Vec<ImportRow> = [(1, 100), (2, 50), (3, 10), (4, 7)]
            .map(|(user_id, xp)| ImportRow { user_id, xp, ..ImportRow::default() })
            .to_vec();
        let held = |id| match id {
            2 => Some(Held { xp: 20, skip: None }),
            3 => Some(Held { xp: 10, skip: None }),
            4 => Some(Held { xp: 0, skip: Some(Skip::Bot) }),
            _ => None,
        };
        let summary = Summary::plan(&rows, ImportMode::Max, held);
        assert_eq!((summary.added, summary.raised, summary.unchanged), (1, 1, 1));
        assert_eq!(summary.skipped, vec![(4, Skip::Bot)]);
        assert!(summary.lines(5).iter().any(|l| l == "  4: a bot account"));
    }
}
