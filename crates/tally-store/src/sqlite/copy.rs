//! One end of `tally copy` on a SQLite file.

use std::path::Path;

use rusqlite::types::ValueRef;
use rusqlite::Connection;

use crate::copy::{CopyEnd, Kind, Row, Table, Value};
use crate::StoreError;

/// A connection a copy reads from or writes to.
pub(crate) struct SqliteCopy {
    conn: Connection,
}

/// Opens the file for a copy, creating it when it is a target and bringing
/// its schema up to date (as any Tally command does).
pub(crate) fn open(path: &Path) -> Result<SqliteCopy, StoreError> {
    let writer = super::open_writer(path)?;
    Ok(SqliteCopy { conn: writer.conn })
}

fn value(raw: ValueRef<'_>, kind: Kind) -> Result<Value, StoreError> {
    Ok(match (raw, kind) {
        (ValueRef::Null, Kind::OptInt8 | Kind::OptText) => Value::Null,
        (ValueRef::Integer(i), Kind::Bool) => Value::Bool(i != 0),
        (ValueRef::Integer(i), Kind::Int4 | Kind::Int8 | Kind::OptInt8) => Value::Int(i),
        (ValueRef::Text(t), Kind::Text | Kind::OptText) => Value::Text(
            String::from_utf8(t.to_vec()).map_err(|e| StoreError::Corrupt(format!("text that is not UTF-8: {e}")))?,
        ),
        (other, kind) => {
            return Err(StoreError::Corrupt(format!("a {:?} value where {kind:?} was expected", other.data_type())))
        }
    })
}

/// A value bound to a statement without copying its text.
struct Cell<'a>(&'a Value);

impl rusqlite::ToSql for Cell<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(rusqlite::types::ToSqlOutput::Borrowed(match self.0 {
            Value::Null => ValueRef::Null,
            Value::Int(i) => ValueRef::Integer(*i),
            Value::Bool(b) => ValueRef::Integer(i64::from(*b)),
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
        }))
    }
}

impl CopyEnd for SqliteCopy {
    fn table_names(&mut self) -> Result<Vec<String>, StoreError> {
        let mut stmt =
            self.conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")?;
        let names = stmt.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
        Ok(names)
    }

    fn column_names(&mut self, table: &str) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn.prepare("SELECT name FROM pragma_table_info(?1)")?;
        let names = stmt.query_map([table], |r| r.get(0))?.collect::<Result<_, _>>()?;
        Ok(names)
    }

    fn begin_snapshot(&mut self) -> Result<(), StoreError> {
        // A deferred transaction's snapshot is fixed by its first read.
        self.conn.execute_batch("BEGIN DEFERRED; SELECT count(*) FROM sqlite_master;")?;
        Ok(())
    }

    fn count(&mut self, table: &Table) -> Result<u64, StoreError> {
        let n: i64 = self.conn.query_row(&format!("SELECT count(*) FROM {}", table.name), [], |r| r.get(0))?;
        Ok(n as u64)
    }

    fn scan(&mut self, table: &Table, each: &mut dyn FnMut(Row) -> Result<(), StoreError>) -> Result<(), StoreError> {
        let mut stmt = self.conn.prepare(&format!("SELECT {} FROM {}", table.column_list(), table.name))?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let mut values = Vec::with_capacity(table.columns.len());
            for (index, (_, kind)) in table.columns.iter().enumerate() {
                values.push(value(row.get_ref(index)?, *kind)?);
            }
            each(values)?;
        }
        Ok(())
    }

    fn begin_write(&mut self) -> Result<(), StoreError> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        Ok(())
    }

    fn clear(&mut self, table: &Table) -> Result<(), StoreError> {
        self.conn.execute(&format!("DELETE FROM {}", table.name), [])?;
        Ok(())
    }

    fn insert(&mut self, table: &Table, rows: &[Row]) -> Result<(), StoreError> {
        let marks = vec!["?"; table.columns.len()].join(", ");
        let mut stmt = self.conn.prepare_cached(&format!(
            "INSERT INTO {} ({}) VALUES ({marks})",
            table.name,
            table.column_list()
        ))?;
        for row in rows {
            stmt.execute(rusqlite::params_from_iter(row.iter().map(Cell)))?;
        }
        Ok(())
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        self.conn.execute_batch("COMMIT")?;
        Ok(())
    }
}
