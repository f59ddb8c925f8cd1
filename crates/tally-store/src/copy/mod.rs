//! `tally copy`: moves a whole database from one backend to another, table
//! by table, in one transaction on the target, and then proves that both
//! hold the same rows (a count and a checksum per table).
//!
//! The list of tables and columns below is the one both backends share. A
//! test compares it with each backend's real schema, so a table or column
//! added by a migration but not here fails loudly instead of being left
//! behind by a copy.

use sha2::{Digest, Sha256};

use super::StoreError;

/// How a column is stored, so each backend reads and writes it with the
/// right type (SQLite keeps every integer and boolean as INTEGER).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A 32-bit integer, never NULL.
    Int4,
    /// A 64-bit integer, never NULL.
    Int8,
    /// A 64-bit integer or NULL.
    OptInt8,
    /// A boolean, never NULL.
    Bool,
    /// Text, never NULL.
    Text,
    /// Text or NULL.
    OptText,
}

/// A table that `tally copy` moves, with its columns in order.
#[derive(Debug)]
pub struct Table {
    /// The table's name, the same in every backend.
    pub name: &'static str,
    /// Its columns and how each is stored.
    pub columns: &'static [(&'static str, Kind)],
}

impl Table {
    /// The column names joined for a statement: `a, b, c`.
    pub fn column_list(&self) -> String {
        self.columns.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(", ")
    }
}

use Kind::*;

/// Every table that holds Tally's data, in the order they are copied.
pub const TABLES: &[Table] = &[
    Table {
        name: "guilds",
        columns: &[
            ("guild_id", Int8),
            ("name", Text),
            ("min_xp", Int4),
            ("max_xp", Int4),
            ("cooldown_secs", Int4),
            ("web_public", Bool),
            ("afk_channel_id", OptInt8),
            ("leveling", OptText),
            ("removed_at", OptInt8),
        ],
    },
    Table {
        name: "members",
        columns: &[
            ("guild_id", Int8),
            ("user_id", Int8),
            ("username", Text),
            ("display_name", Text),
            ("bot", Bool),
            ("messages", Int8),
            ("reactions_given", Int8),
            ("reactions_received", Int8),
            ("xp", Int8),
            ("last_xp_at", OptInt8),
            ("joined_at", OptInt8),
            ("left_at", OptInt8),
            ("voice_ms", Int8),
            ("avatar", OptText),
            ("hidden", Bool),
            ("stopped", Bool),
        ],
    },
    Table { name: "membership_log", columns: &[("guild_id", Int8), ("user_id", Int8), ("change", Text), ("at", Int8)] },
    Table {
        name: "counted_reactions",
        columns: &[
            ("message_id", Int8),
            ("user_id", Int8),
            ("emoji", Text),
            ("guild_id", Int8),
            ("author_id", Int8),
            ("day", OptInt8),
        ],
    },
    Table {
        name: "shard_positions",
        columns: &[
            ("shard_id", Int4),
            ("shard_count", Int4),
            ("session_id", Text),
            ("sequence", Int8),
            ("resume_url", Text),
            ("committed_at", Int8),
        ],
    },
    Table { name: "card_prefs", columns: &[("user_id", Int8), ("accent", Int8)] },
    Table {
        name: "guild_days",
        columns: &[
            ("guild_id", Int8),
            ("day", Int8),
            ("messages", Int8),
            ("xp", Int8),
            ("joins", Int8),
            ("leaves", Int8),
            ("reactions", Int8),
            ("voice_ms", Int8),
        ],
    },
    Table {
        name: "member_days",
        columns: &[
            ("guild_id", Int8),
            ("day", Int8),
            ("user_id", Int8),
            ("messages", Int8),
            ("xp", Int8),
            ("reactions_given", Int8),
            ("reactions_received", Int8),
            ("voice_ms", Int8),
        ],
    },
    Table {
        name: "voice_sessions",
        columns: &[
            ("guild_id", Int8),
            ("user_id", Int8),
            ("since", Int8),
            ("channel_id", OptInt8),
            ("muted", Bool),
            ("earning_since", OptInt8),
        ],
    },
    Table { name: "member_prefs", columns: &[("guild_id", Int8), ("user_id", Int8), ("pings", Bool)] },
    Table {
        name: "levelups",
        columns: &[
            ("guild_id", Int8),
            ("user_id", Int8),
            ("level", Int4),
            ("old_level", Int4),
            ("xp", Int8),
            ("channel_id", OptInt8),
            ("created_at", Int8),
            ("sent_at", OptInt8),
        ],
    },
    Table {
        name: "xp_audit",
        columns: &[
            ("guild_id", Int8),
            ("interaction_id", Int8),
            ("target_id", Int8),
            ("at", Int8),
            ("by_id", Int8),
            ("action", Text),
            ("amount", Int8),
            ("before", Int8),
            ("after", Int8),
        ],
    },
    Table { name: "reward_queue", columns: &[("guild_id", Int8), ("user_id", Int8), ("queued_at", Int8)] },
    Table { name: "reward_sweeps", columns: &[("guild_id", Int8), ("queued_at", Int8), ("after_user", Int8)] },
    Table {
        name: "log_posts",
        columns: &[
            ("guild_id", Int8),
            ("user_id", Int8),
            ("change", Text),
            ("at", Int8),
            ("channel_id", Int8),
            ("joined_at", OptInt8),
            ("sent_at", OptInt8),
        ],
    },
    Table {
        name: "admin_requests",
        columns: &[
            ("id", Int8),
            ("guild_id", Int8),
            ("kind", Text),
            ("digest", Text),
            ("payload", Text),
            ("created_at", Int8),
            ("picked_at", OptInt8),
            ("done_at", OptInt8),
        ],
    },
    Table { name: "reward_problems", columns: &[("guild_id", Int8), ("role_id", Int8), ("noticed_at", Int8)] },
];

/// Tables a backend has that are not data to move: its schema version
/// (each backend numbers its own), the identify turns, which only pace the
/// processes running right now, MongoDB's record of each writer's
/// session, and the dashboard's sign-ins (admins sign in again after a move).
pub const NOT_COPIED: &[&str] = &["tally_schema", "identify_turns", "writer_sessions", "web_logins", "web_sessions"];

/// One stored value, the same whichever backend it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// Any integer column.
    Int(i64),
    /// A boolean column.
    Bool(bool),
    /// A text column.
    Text(String),
}

/// One row of a table, its values in the table's column order.
pub type Row = Vec<Value>;

/// How many rows a table holds and a checksum of them that does not depend
/// on their order (each backend sorts text its own way).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TableSum {
    /// Rows seen.
    pub rows: u64,
    /// The sum, modulo 2¹²⁸, of each row's SHA-256 cut to 128 bits.
    pub checksum: u128,
}

impl TableSum {
    /// Counts one row into the sum.
    pub fn add(&mut self, row: &[Value]) {
        let mut hash = Sha256::new();
        for value in row {
            match value {
                Value::Null => hash.update([0]),
                Value::Int(i) => {
                    hash.update([1]);
                    hash.update(i.to_le_bytes());
                }
                Value::Bool(b) => hash.update([2, u8::from(*b)]),
                Value::Text(s) => {
                    hash.update([3]);
                    hash.update((s.len() as u64).to_le_bytes());
                    hash.update(s.as_bytes());
                }
            }
        }
        let digest = hash.finalize();
        let mut first = [0u8; 16];
        first.copy_from_slice(&digest[..16]);
        self.rows += 1;
        self.checksum = self.checksum.wrapping_add(u128::from_le_bytes(first));
    }
}

/// One end of a copy: a source read from one snapshot, or a target written
/// in one transaction. Each backend implements it over one connection.
pub(crate) trait CopyEnd {
    /// The tables this database holds, for the schema check.
    fn table_names(&mut self) -> Result<Vec<String>, StoreError>;
    /// The columns of one table as this database has them.
    fn column_names(&mut self, table: &str) -> Result<Vec<String>, StoreError>;
    /// Starts a read-only transaction whose snapshot every later read sees.
    fn begin_snapshot(&mut self) -> Result<(), StoreError>;
    /// How many rows `table` holds.
    fn count(&mut self, table: &Table) -> Result<u64, StoreError>;
    /// Calls `each` with every row of `table`, in no particular order.
    fn scan(&mut self, table: &Table, each: &mut dyn FnMut(Row) -> Result<(), StoreError>) -> Result<(), StoreError>;
    /// Starts the one writing transaction.
    fn begin_write(&mut self) -> Result<(), StoreError>;
    /// Removes every row of `table` (inside the writing transaction).
    fn clear(&mut self, table: &Table) -> Result<(), StoreError>;
    /// Adds `rows` to `table` (inside the writing transaction).
    fn insert(&mut self, table: &Table, rows: &[Row]) -> Result<(), StoreError>;
    /// Commits whichever transaction is open.
    fn commit(&mut self) -> Result<(), StoreError>;
}

/// What a copy is doing, for a progress bar.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Copying or checking.
    pub step: Step,
    /// The table being worked on.
    pub table: &'static str,
    /// Rows done so far in this step, across every table.
    pub done: u64,
    /// Rows this step has in all.
    pub total: u64,
}

/// The two passes of a copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Reading the source and writing the target.
    Copying,
    /// Reading the target back to compare.
    Checking,
}

/// What a finished copy moved: each table's rows and checksum, the same on
/// both sides.
#[derive(Debug, Clone)]
pub struct CopyReport {
    /// Each table with its count and checksum.
    pub tables: Vec<(&'static str, TableSum)>,
}

impl CopyReport {
    /// Rows moved in all.
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|(_, sum)| sum.rows).sum()
    }
}

/// Why a copy did not happen or did not check out.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// Reading or writing failed; the target is as it was.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The two URLs name the same database.
    #[error("the source and the target are the same database ({0})")]
    SameDatabase(String),
    /// The target holds data and was not to be replaced.
    #[error("the target already holds {rows} rows ({tables}); pass --replace to empty it first")]
    TargetNotEmpty {
        /// Rows found.
        rows: u64,
        /// The tables they are in.
        tables: String,
    },
    /// A database's schema is not the one this Tally copies.
    #[error("the {0}'s schema does not match this Tally's: {1}")]
    Schema(String, String),
    /// The target, read back, differs from what was read from the source.
    #[error("table {table} differs after the copy: the source had {source_rows} rows (checksum {source_sum:032x}), the target has {target_rows} (checksum {target_sum:032x})")]
    Mismatch {
        /// The table.
        table: &'static str,
        /// Rows read from the source.
        source_rows: u64,
        /// Their checksum.
        source_sum: u128,
        /// Rows read back from the target.
        target_rows: u64,
        /// Their checksum.
        target_sum: u128,
    },
}

/// Rows sent to the target at a time.
const CHUNK: usize = 10_000;

/// Checks that a database has exactly the tables and columns of [`TABLES`]
/// (besides [`NOT_COPIED`]), so nothing it holds is left behind.
pub(crate) fn check_schema(end: &mut dyn CopyEnd, what: &str) -> Result<(), CopyError> {
    let mut found: Vec<String> =
        end.table_names()?.into_iter().filter(|name| !NOT_COPIED.contains(&name.as_str())).collect();
    found.sort();
    let mut expected: Vec<String> = TABLES.iter().map(|t| t.name.to_owned()).collect();
    expected.sort();
    if found != expected {
        return Err(CopyError::Schema(
            what.to_owned(),
            format!("it has tables {} where {} were expected", found.join(", "), expected.join(", ")),
        ));
    }
    for table in TABLES {
        let mut columns = end.column_names(table.name)?;
        let mut wanted: Vec<String> = table.columns.iter().map(|(name, _)| (*name).to_owned()).collect();
        columns.sort();
        wanted.sort();
        if columns != wanted {
            return Err(CopyError::Schema(
                what.to_owned(),
                format!(
                    "table {} has columns {} where {} were expected",
                    table.name,
                    columns.join(", "),
                    wanted.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// Copies every table of `source` into `target` in one transaction, then
/// reads the target back and compares counts and checksums. The target's
/// existing rows are refused unless `replace`, which empties it in the same
/// transaction: if anything fails or the process is killed, the target is
/// left as it was, and the copy can simply be run again.
pub(crate) fn copy(
    source: &mut dyn CopyEnd,
    target: &mut dyn CopyEnd,
    replace: bool,
    progress: &mut dyn FnMut(Progress),
) -> Result<CopyReport, CopyError> {
    check_schema(source, "source")?;
    check_schema(target, "target")?;
    if !replace {
        let mut rows = 0;
        let mut holding = Vec::new();
        for table in TABLES {
            let n = target.count(table)?;
            if n > 0 {
                rows += n;
                holding.push(format!("{} in {}", n, table.name));
            }
        }
        if rows > 0 {
            return Err(CopyError::TargetNotEmpty { rows, tables: holding.join(", ") });
        }
    }

    source.begin_snapshot()?;
    let mut total = 0;
    for table in TABLES {
        total += source.count(table)?;
    }
    target.begin_write()?;
    if replace {
        for table in TABLES {
            target.clear(table)?;
        }
    }
    let mut done = 0u64;
    let mut sums = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        progress(Progress { step: Step::Copying, table: table.name, done, total });
        let mut sum = TableSum::default();
        let mut chunk: Vec<Row> = Vec::with_capacity(CHUNK);
        source.scan(table, &mut |row| {
            sum.add(&row);
            chunk.push(row);
            if chunk.len() == CHUNK {
                target.insert(table, &chunk)?;
                chunk.clear();
                done += CHUNK as u64;
                progress(Progress { step: Step::Copying, table: table.name, done, total });
            }
            Ok(())
        })?;
        if !chunk.is_empty() {
            target.insert(table, &chunk)?;
            done += chunk.len() as u64;
        }
        sums.push((table.name, sum));
    }
    progress(Progress { step: Step::Copying, table: "", done, total });
    target.commit()?;
    source.commit()?;

    // Read the target back from its own fresh snapshot.
    target.begin_snapshot()?;
    let mut checked = 0u64;
    for (table, (name, source_sum)) in TABLES.iter().zip(&sums) {
        progress(Progress { step: Step::Checking, table: name, done: checked, total: done });
        let mut sum = TableSum::default();
        sum_table(target, table, &mut sum, &mut |rows| {
            progress(Progress { step: Step::Checking, table: name, done: checked + rows, total: done })
        })?;
        checked += sum.rows;
        if sum != *source_sum {
            return Err(CopyError::Mismatch {
                table: name,
                source_rows: source_sum.rows,
                source_sum: source_sum.checksum,
                target_rows: sum.rows,
                target_sum: sum.checksum,
            });
        }
    }
    target.commit()?;
    progress(Progress { step: Step::Checking, table: "", done: checked, total: done });
    Ok(CopyReport { tables: sums })
}

/// Sums every row of `table` in `end`, reporting the running count now and then.
fn sum_table(
    end: &mut dyn CopyEnd,
    table: &Table,
    sum: &mut TableSum,
    tick: &mut dyn FnMut(u64),
) -> Result<(), StoreError> {
    end.scan(table, &mut |row| {
        sum.add(&row);
        if sum.rows.is_multiple_of(CHUNK as u64) {
            tick(sum.rows);
        }
        Ok(())
    })
}

/// Sums every table of a database, read from one snapshot: what a copy's
/// check compares, for tests that compare two databases.
#[cfg(test)]
pub(crate) fn sums(end: &mut dyn CopyEnd) -> Result<Vec<(&'static str, TableSum)>, StoreError> {
    end.begin_snapshot()?;
    let mut out = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        let mut sum = TableSum::default();
        sum_table(end, table, &mut sum, &mut |_| {})?;
        out.push((table.name, sum));
    }
    end.commit()?;
    Ok(out)
}

#[cfg(test)]
mod tests;
