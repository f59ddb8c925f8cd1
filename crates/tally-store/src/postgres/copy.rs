//! One end of `tally copy` on a PostgreSQL database. Rows go in with
//! binary `COPY`, one statement per chunk.

use bytes::BytesMut;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use postgres::Client;

use super::Target;
use crate::copy::{CopyEnd, Kind, Row, Table, Value};
use crate::StoreError;

/// A connection a copy reads from or writes to.
pub(crate) struct PgCopy {
    client: Client,
}

/// Connects for a copy, creating the schema when it is a target and bringing
/// it up to date (as any Tally command does).
pub(crate) fn open(target: &Target) -> Result<PgCopy, StoreError> {
    let mut client = target.connect()?;
    super::migrate(&mut client)?;
    Ok(PgCopy { client })
}

fn sql_type(kind: Kind) -> Type {
    match kind {
        Kind::Int4 => Type::INT4,
        Kind::Int8 | Kind::OptInt8 => Type::INT8,
        Kind::Bool => Type::BOOL,
        Kind::Text | Kind::OptText => Type::TEXT,
    }
}

fn value(row: &postgres::Row, index: usize, kind: Kind) -> Result<Value, StoreError> {
    Ok(match kind {
        Kind::Int4 => Value::Int(i64::from(row.try_get::<_, i32>(index)?)),
        Kind::Int8 => Value::Int(row.try_get::<_, i64>(index)?),
        Kind::OptInt8 => row.try_get::<_, Option<i64>>(index)?.map_or(Value::Null, Value::Int),
        Kind::Bool => Value::Bool(row.try_get(index)?),
        Kind::Text => Value::Text(row.try_get(index)?),
        Kind::OptText => row.try_get::<_, Option<String>>(index)?.map_or(Value::Null, Value::Text),
    })
}

/// A value written in the column's own binary form.
#[derive(Debug)]
struct Cell<'a>(&'a Value, Kind);

impl ToSql for Cell<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match (self.0, self.1) {
            (Value::Null, _) => Ok(IsNull::Yes),
            (Value::Int(i), Kind::Int4) => i32::try_from(*i)?.to_sql(ty, out),
            (Value::Int(i), _) => i.to_sql(ty, out),
            (Value::Bool(b), _) => b.to_sql(ty, out),
            (Value::Text(s), _) => s.as_str().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

impl CopyEnd for PgCopy {
    fn table_names(&mut self) -> Result<Vec<String>, StoreError> {
        let rows = self.client.query(
            "SELECT table_name::text FROM information_schema.tables
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
            &[],
        )?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn column_names(&mut self, table: &str) -> Result<Vec<String>, StoreError> {
        let rows = self.client.query(
            "SELECT column_name::text FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = $1",
            &[&table],
        )?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn begin_snapshot(&mut self) -> Result<(), StoreError> {
        self.client.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?;
        Ok(())
    }

    fn count(&mut self, table: &Table) -> Result<u64, StoreError> {
        let n: i64 = self.client.query_one(&format!("SELECT count(*) FROM {}", table.name), &[])?.get(0);
        Ok(n as u64)
    }

    fn scan(&mut self, table: &Table, each: &mut dyn FnMut(Row) -> Result<(), StoreError>) -> Result<(), StoreError> {
        let sql = format!("SELECT {} FROM {}", table.column_list(), table.name);
        let mut rows = self.client.query_raw(&sql, std::iter::empty::<i32>())?;
        while let Some(row) = postgres::fallible_iterator::FallibleIterator::next(&mut rows)? {
            let mut values = Vec::with_capacity(table.columns.len());
            for (index, (_, kind)) in table.columns.iter().enumerate() {
                values.push(value(&row, index, *kind)?);
            }
            each(values)?;
        }
        Ok(())
    }

    fn begin_write(&mut self) -> Result<(), StoreError> {
        self.client.batch_execute("BEGIN")?;
        Ok(())
    }

    fn clear(&mut self, table: &Table) -> Result<(), StoreError> {
        self.client.batch_execute(&format!("TRUNCATE {}", table.name))?;
        Ok(())
    }

    fn insert(&mut self, table: &Table, rows: &[Row]) -> Result<(), StoreError> {
        let types: Vec<Type> = table.columns.iter().map(|(_, kind)| sql_type(*kind)).collect();
        let sink = self.client.copy_in(&format!("COPY {} ({}) FROM STDIN BINARY", table.name, table.column_list()))?;
        let mut writer = BinaryCopyInWriter::new(sink, &types);
        for row in rows {
            let cells: Vec<Cell<'_>> = row.iter().zip(table.columns).map(|(v, (_, kind))| Cell(v, *kind)).collect();
            let refs: Vec<&(dyn ToSql + Sync)> = cells.iter().map(|c| c as &(dyn ToSql + Sync)).collect();
            writer.write(&refs)?;
        }
        writer.finish()?;
        Ok(())
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        self.client.batch_execute("COMMIT")?;
        Ok(())
    }
}
