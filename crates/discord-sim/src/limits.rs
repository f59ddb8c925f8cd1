//! Discord's limits on what a bot sends, checked on every message it
//! creates, every interaction answer and every edit, so a bot that would
//! be refused by Discord is refused here too (400, code 50035). From
//! Discord's docs: Create Message, Embed Limits, Message Components.

use serde_json::Value;

/// Characters of message content.
pub const CONTENT: usize = 2_000;
/// Embeds per message.
pub const EMBEDS: usize = 10;
/// Characters across every embed of a message (titles, descriptions, field
/// names and values, footers, authors).
pub const EMBED_TOTAL: usize = 6_000;

fn chars(value: &Value) -> usize {
    value.as_str().map_or(0, |s| s.chars().count())
}

/// What Discord would refuse in a message body, if anything.
pub fn message_problem(body: &Value) -> Option<String> {
    if chars(&body["content"]) > CONTENT {
        return Some(format!("content: must be {CONTENT} or fewer in length"));
    }
    if body["nonce"].as_str().is_some_and(|n| n.chars().count() > 25) {
        return Some("nonce: must be 25 or fewer in length".into());
    }
    let embeds = body["embeds"].as_array().map(Vec::as_slice).unwrap_or_default();
    if embeds.len() > EMBEDS {
        return Some(format!("embeds: must be {EMBEDS} or fewer in length"));
    }
    let mut total = 0;
    for (i, embed) in embeds.iter().enumerate() {
        let limited = [
            ("title", &embed["title"], 256),
            ("description", &embed["description"], 4_096),
            ("footer.text", &embed["footer"]["text"], 2_048),
            ("author.name", &embed["author"]["name"], 256),
        ];
        for (name, value, most) in limited {
            let n = chars(value);
            if n > most {
                return Some(format!("embeds.{i}.{name}: must be {most} or fewer in length"));
            }
            total += n;
        }
        let fields = embed["fields"].as_array().map(Vec::as_slice).unwrap_or_default();
        if fields.len() > 25 {
            return Some(format!("embeds.{i}.fields: must be 25 or fewer in length"));
        }
        for (j, field) in fields.iter().enumerate() {
            let (name, value) = (chars(&field["name"]), chars(&field["value"]));
            if name == 0 || name > 256 {
                return Some(format!("embeds.{i}.fields.{j}.name: must be between 1 and 256 in length"));
            }
            if value == 0 || value > 1_024 {
                return Some(format!("embeds.{i}.fields.{j}.value: must be between 1 and 1024 in length"));
            }
            total += name + value;
        }
    }
    if total > EMBED_TOTAL {
        return Some(format!("embeds: {total} characters in all; at most {EMBED_TOTAL}"));
    }
    let rows = body["components"].as_array().map(Vec::as_slice).unwrap_or_default();
    if rows.len() > 5 {
        return Some("components: must be 5 or fewer in length".into());
    }
    for (i, row) in rows.iter().enumerate() {
        let items = row["components"].as_array().map(Vec::as_slice).unwrap_or_default();
        if items.is_empty() || items.len() > 5 {
            return Some(format!("components.{i}.components: must be between 1 and 5 in length"));
        }
        for (j, item) in items.iter().enumerate() {
            if chars(&item["custom_id"]) > 100 {
                return Some(format!("components.{i}.components.{j}.custom_id: must be 100 or fewer in length"));
            }
            if chars(&item["label"]) > 80 {
                return Some(format!("components.{i}.components.{j}.label: must be 80 or fewer in length"));
            }
        }
    }
    None
}

/// Whether an answer of `callback` type may answer an interaction of
/// `interaction` type: commands take a message, a deferred message or a
/// modal; components also an update or a deferred update of their message.
pub fn callback_allowed(interaction: u64, callback: u64) -> bool {
    match interaction {
        2 => matches!(callback, 4 | 5 | 9),
        3 => matches!(callback, 4 | 5 | 6 | 7 | 9),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn content_and_embed_limits() {
        assert!(message_problem(&json!({ "content": "é".repeat(2_000) })).is_none());
        assert!(message_problem(&json!({ "content": "x".repeat(2_001) })).is_some());
        let field = |v: &str| json!({ "name": "n", "value": v });
        assert!(message_problem(&json!({ "embeds": [{ "fields": [field("")] }] })).is_some(), "empty field value");
        assert!(message_problem(&json!({ "embeds": [{ "fields": [field(&"v".repeat(1_025))] }] })).is_some());
        assert!(message_problem(&json!({ "embeds": [{ "title": "t".repeat(257) }] })).is_some());
        let big = json!({ "description": "d".repeat(4_000) });
        assert!(message_problem(&json!({ "embeds": [big.clone()] })).is_none());
        assert!(message_problem(&json!({ "embeds": [big.clone(), big] })).is_some(), "6,000 characters across embeds");
        let fields: Vec<_> = (0..26).map(|_| field("v")).collect();
        assert!(message_problem(&json!({ "embeds": [{ "fields": fields }] })).is_some());
    }

    #[test]
    fn component_limits() {
        let button = json!({ "type": 2, "style": 1, "label": "ok", "custom_id": "x" });
        let row = |n: usize| json!({ "type": 1, "components": vec![button.clone(); n] });
        assert!(message_problem(&json!({ "components": [row(5)] })).is_none());
        assert!(message_problem(&json!({ "components": [row(6)] })).is_some());
        assert!(message_problem(&json!({ "components": vec![row(1); 6] })).is_some());
        let long = json!({ "type": 1, "components": [{ "type": 2, "style": 1, "label": "ok", "custom_id": "x".repeat(101) }] });
        assert!(message_problem(&json!({ "components": [long] })).is_some());
    }

    #[test]
    fn callbacks_fit_their_interaction() {
        assert!(callback_allowed(2, 4) && callback_allowed(2, 5));
        assert!(!callback_allowed(2, 6) && !callback_allowed(2, 7), "a slash command has no message to update");
        assert!(callback_allowed(3, 6) && callback_allowed(3, 7));
        assert!(!callback_allowed(2, 1), "PONG answers only a ping");
    }
}
