//! Reading fields of stored documents. Tally writes every integer as a
//! 64-bit integer, but a document written by hand or by another tool may
//! hold a 32-bit one or a double: both read as the number they hold.

use mongodb::bson::{Bson, Document};

use crate::copy::{Kind, Value};

/// An integer field; 0 when missing or null.
pub fn int(d: &Document, key: &str) -> i64 {
    opt_int(d, key).unwrap_or(0)
}

/// An integer field that may be null or missing.
pub fn opt_int(d: &Document, key: &str) -> Option<i64> {
    match d.get(key) {
        Some(Bson::Int64(v)) => Some(*v),
        Some(Bson::Int32(v)) => Some(i64::from(*v)),
        Some(Bson::Double(v)) => Some(*v as i64),
        _ => None,
    }
}

/// A text field; empty when missing or null.
pub fn text(d: &Document, key: &str) -> String {
    opt_text(d, key).unwrap_or_default()
}

/// A text field that may be null or missing.
pub fn opt_text(d: &Document, key: &str) -> Option<String> {
    match d.get(key) {
        Some(Bson::String(s)) => Some(s.clone()),
        _ => None,
    }
}

/// A boolean field; false when missing or null.
pub fn boolean(d: &Document, key: &str) -> bool {
    matches!(d.get(key), Some(Bson::Boolean(true)))
}

/// An id field (ids are stored as signed 64-bit integers, as PostgreSQL's BIGINT).
pub fn id(d: &Document, key: &str) -> u64 {
    int(d, key) as u64
}

/// An optional id field.
pub fn opt_id(d: &Document, key: &str) -> Option<u64> {
    opt_int(d, key).map(|v| v as u64)
}

/// A nullable integer as stored.
pub fn nullable(value: Option<i64>) -> Bson {
    value.map_or(Bson::Null, Bson::Int64)
}

/// A nullable text as stored.
pub fn nullable_text(value: Option<&str>) -> Bson {
    value.map_or(Bson::Null, |s| Bson::String(s.to_owned()))
}

/// A field read as `tally copy` moves it.
pub fn value(d: &Document, key: &str, kind: Kind) -> Value {
    match kind {
        Kind::Int4 | Kind::Int8 => Value::Int(int(d, key)),
        Kind::OptInt8 => opt_int(d, key).map_or(Value::Null, Value::Int),
        Kind::Bool => Value::Bool(boolean(d, key)),
        Kind::Text => Value::Text(text(d, key)),
        Kind::OptText => opt_text(d, key).map_or(Value::Null, Value::Text),
    }
}

/// A value as `tally copy` writes it.
pub fn to_bson(value: &Value) -> Bson {
    match value {
        Value::Null => Bson::Null,
        Value::Int(i) => Bson::Int64(*i),
        Value::Bool(b) => Bson::Boolean(*b),
        Value::Text(s) => Bson::String(s.clone()),
    }
}
