//! Where a payload broke and what kind of problem it was, in words that
//! never quote the payload. serde's messages carry the offending value
//! (`invalid type: string "yes", expected a boolean`), which may be a
//! member's name, a token or anything else a payload holds; the log gets
//! the field path and the kind of problem instead.

use serde::de::DeserializeSeed;
use serde::Deserialize;

/// `error`'s kind of problem at `path` (`d.author.bot`), for the log.
pub fn describe(error: &serde_json::Error, path: Option<&str>) -> String {
    let kind = kind_of(error);
    match path.filter(|p| !p.is_empty() && *p != ".") {
        Some(path) => format!("{kind} at {path}"),
        None => format!("{kind} at column {}", error.column()),
    }
}

/// The kind of problem, without any value taken from the payload.
fn kind_of(error: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let message = error.to_string();
    // serde_json appends " at line L column C"; the rest is serde's message.
    let message = message.rsplit_once(" at line ").map_or(message.as_str(), |(m, _)| m);
    match error.classify() {
        // Syntax and end-of-input messages are fixed texts of serde_json's.
        Category::Syntax | Category::Eof | Category::Io => message.to_owned(),
        Category::Data => data_kind(message),
    }
}

/// serde's data errors name the problem, then the value found, then what
/// was expected (which comes from Tally's and twilight's types, not from
/// the payload). Field names in `missing field` and `duplicate field` are
/// the types' own too.
fn data_kind(message: &str) -> String {
    let expected = message.rfind(", expected ").map(|at| &message[at..]).unwrap_or_default();
    for kind in ["invalid type", "invalid value", "invalid length", "unknown variant", "unknown field"] {
        if message.starts_with(kind) {
            return format!("{kind}{expected}");
        }
    }
    if message.starts_with("missing field `") || message.starts_with("duplicate field `") {
        return message.to_owned();
    }
    // A type's own check (an id of zero, a malformed timestamp): its words
    // may hold the value, so only the kind is said.
    "invalid value".to_owned()
}

/// The path at which `T` fails to read `json`, found by reading it again
/// with the path tracked (only after a failure, so the fast path pays
/// nothing for it).
pub fn path_of<'de, T: Deserialize<'de>>(json: &'de str) -> Option<String> {
    let mut track = serde_path_to_error::Track::new();
    let mut de = serde_json::Deserializer::from_str(json);
    let failed = T::deserialize(serde_path_to_error::Deserializer::new(&mut de, &mut track)).is_err();
    failed.then(|| track.path().to_string())
}

/// As [`path_of`], for what a seed reads (twilight's gateway frames).
pub fn path_of_seed<'de, S: DeserializeSeed<'de>>(seed: S, json: &'de str) -> Option<String> {
    let mut track = serde_path_to_error::Track::new();
    let mut de = serde_json::Deserializer::from_str(json);
    let failed = seed.deserialize(serde_path_to_error::Deserializer::new(&mut de, &mut track)).is_err();
    failed.then(|| track.path().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Author {
        bot: bool,
        id: u64,
    }

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Message {
        author: Author,
    }

    fn said(json: &str) -> String {
        let error = serde_json::from_str::<Message>(json).unwrap_err();
        describe(&error, path_of::<Message>(json).as_deref())
    }

    #[test]
    fn the_value_is_never_quoted() {
        let told = said(r#"{"author":{"bot":"yes-secret","id":1}}"#);
        assert_eq!(told, "invalid type, expected a boolean at author.bot");
        let told = said(r#"{"author":{"bot":true,"id":-77777}}"#);
        assert!(!told.contains("77777"), "{told}");
        assert!(told.starts_with("invalid value") && told.ends_with("at author.id"), "{told}");
    }

    #[test]
    fn missing_fields_and_broken_syntax_are_named() {
        assert_eq!(said(r#"{"author":{"bot":true}}"#), "missing field `id` at author");
        let told = said(r#"{"author":{"bot":tru"#);
        assert!(told.starts_with("expected ident") || told.starts_with("EOF"), "{told}");
        assert!(!told.contains("tru\""), "{told}");
    }
}
