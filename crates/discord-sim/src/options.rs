//! A slash command's options as Discord's client sends them: nested under
//! the subcommand group and subcommand, typed as the bot registered them,
//! checked the way the client checks them (required options, choices,
//! ranges, lengths), with the `resolved` users, members, roles and
//! channels they name.

use serde_json::{json, Map, Value};

use crate::error::SimError;
use crate::interactions::Invocation;
use crate::payloads;
use crate::state::State;
use crate::world::Guild;

/// Option types, as Discord numbers them.
const SUB_COMMAND: u64 = 1;
const SUB_COMMAND_GROUP: u64 = 2;
const STRING: u64 = 3;
const INTEGER: u64 = 4;
const BOOLEAN: u64 = 5;
const USER: u64 = 6;
const CHANNEL: u64 = 7;
const ROLE: u64 = 8;
const NUMBER: u64 = 10;
const ATTACHMENT: u64 = 11;

/// The options payload and the `resolved` map for an invocation of `command`.
pub(crate) fn build(
    s: &State,
    command: &Value,
    inv: &Invocation,
    guild: Option<&Guild>,
) -> Result<(Vec<Value>, Map<String, Value>), SimError> {
    let mut declared: Vec<Value> = command["options"].as_array().cloned().unwrap_or_default();
    let mut levels = Vec::new();
    for (depth, name) in inv.path.iter().enumerate() {
        let found = declared
            .iter()
            .find(|o| o["name"] == name.as_str() && matches!(o["type"].as_u64(), Some(SUB_COMMAND | SUB_COMMAND_GROUP)))
            .cloned();
        let kind = match (&found, inv.unchecked) {
            (Some(o), _) => o["type"].as_u64().unwrap_or(SUB_COMMAND),
            (None, true) if depth + 1 < inv.path.len() => SUB_COMMAND_GROUP,
            (None, true) => SUB_COMMAND,
            (None, false) => return Err(SimError::BadOption(format!("no subcommand {name}"))),
        };
        levels.push((name.clone(), kind));
        declared = found.and_then(|o| o["options"].as_array().cloned()).unwrap_or_default();
    }
    if !inv.unchecked {
        if let Some(sub) = declared.iter().find(|o| matches!(o["type"].as_u64(), Some(SUB_COMMAND | SUB_COMMAND_GROUP)))
        {
            return Err(SimError::BadOption(format!("pick a subcommand, such as {}", sub["name"])));
        }
    }
    let mut resolved = Map::new();
    let mut leaves = Vec::new();
    for (name, value) in &inv.options {
        let spec = declared.iter().find(|o| o["name"] == name.as_str());
        let kind = match (spec, inv.unchecked) {
            (Some(spec), false) => {
                check(spec, value)?;
                spec["type"].as_u64().unwrap_or(STRING)
            }
            (None, false) => return Err(SimError::BadOption(format!("no option {name}"))),
            _ if value.is_boolean() => BOOLEAN,
            _ if value.is_i64() || value.is_u64() => INTEGER,
            _ if value.is_number() => NUMBER,
            _ => STRING,
        };
        let value = match kind {
            USER | CHANNEL | ROLE | ATTACHMENT => {
                let id = value
                    .as_u64()
                    .or_else(|| value.as_str().and_then(|v| v.parse().ok()))
                    .ok_or_else(|| SimError::BadOption(format!("{name} takes an id")))?;
                resolve(s, guild, inv.user_id, kind, id, &mut resolved)?;
                json!(id.to_string())
            }
            _ => value.clone(),
        };
        leaves.push(json!({ "name": name, "type": kind, "value": value }));
    }
    if !inv.unchecked {
        for spec in &declared {
            let given = inv.options.iter().any(|(n, _)| spec["name"] == n.as_str());
            if spec["required"] == true && !given {
                return Err(SimError::BadOption(format!("{} is required", spec["name"])));
            }
        }
    }
    // Wrap the leaves in their subcommand, and that in its group.
    let mut options = leaves;
    for (name, kind) in levels.into_iter().rev() {
        options = vec![json!({ "name": name, "type": kind, "options": options })];
    }
    Ok((options, resolved))
}

/// The client's own checks of one value against its declaration.
fn check(spec: &Value, value: &Value) -> Result<(), SimError> {
    let name = spec["name"].as_str().unwrap_or("?");
    let bad = |why: &str| Err(SimError::BadOption(format!("{name}: {why}")));
    let kind = spec["type"].as_u64().unwrap_or(STRING);
    let fits = match kind {
        STRING => value.is_string(),
        INTEGER => value.is_i64() || value.is_u64(),
        NUMBER => value.is_number(),
        BOOLEAN => value.is_boolean(),
        USER | CHANNEL | ROLE | ATTACHMENT => {
            value.is_u64() || value.as_str().is_some_and(|v| v.parse::<u64>().is_ok())
        }
        _ => true,
    };
    if !fits {
        return bad("wrong type");
    }
    if let Some(choices) = spec["choices"].as_array() {
        if !choices.iter().any(|c| &c["value"] == value) {
            return bad("not one of the choices");
        }
    }
    if let Some(n) = value.as_f64().filter(|_| matches!(kind, INTEGER | NUMBER)) {
        if spec["min_value"].as_f64().is_some_and(|min| n < min)
            || spec["max_value"].as_f64().is_some_and(|max| n > max)
        {
            return bad("out of range");
        }
    }
    if let Some(text) = value.as_str().filter(|_| kind == STRING) {
        let length = text.chars().count() as u64;
        if spec["min_length"].as_u64().is_some_and(|min| length < min)
            || spec["max_length"].as_u64().is_some_and(|max| length > max)
        {
            return bad("too short or too long");
        }
    }
    Ok(())
}

/// Adds what an id option names to `resolved`, as Discord does.
fn resolve(
    s: &State,
    guild: Option<&Guild>,
    invoker: u64,
    kind: u64,
    id: u64,
    resolved: &mut Map<String, Value>,
) -> Result<(), SimError> {
    let mut add = |section: &str, value: Value| {
        let map = resolved.entry(section).or_insert_with(|| Value::Object(Map::new()));
        map[id.to_string()] = value;
    };
    match kind {
        USER => {
            let user = s.world.users.get(&id).ok_or(SimError::Unknown("user"))?;
            add("users", payloads::user(user));
            if let Some((g, m)) = guild.and_then(|g| g.members.get(&id).map(|m| (g, m))) {
                let mut member = payloads::partial_member(m);
                member["permissions"] = json!(g.permissions_of(id).to_string());
                add("members", member);
            }
        }
        ROLE => {
            let role = guild.and_then(|g| g.role(id)).ok_or(SimError::Unknown("role"))?;
            add("roles", payloads::role(role));
        }
        CHANNEL => {
            let g = guild.ok_or(SimError::Unknown("channel"))?;
            let (position, text) = match g.channels.iter().position(|c| *c == id) {
                Some(i) => (i, true),
                None => (g.voice_channels.iter().position(|c| *c == id).ok_or(SimError::Unknown("channel"))?, false),
            };
            let mut channel = if text {
                payloads::channel(id, g.id, position)
            } else {
                payloads::voice_channel(id, g.id, position, "Lounge")
            };
            // Resolved channels carry the invoker's permissions in them.
            channel["permissions"] = json!(g.permissions_of(invoker).to_string());
            add("channels", channel);
        }
        ATTACHMENT => {
            let file = s.attachments.get(&id).ok_or(SimError::Unknown("attachment"))?;
            add("attachments", attachment(s, id, file));
        }
        _ => {}
    }
    Ok(())
}

/// An attachment object, as `resolved.attachments` carries it: its URL on
/// the CDN (this simulator's address), signed as Discord's are.
fn attachment(s: &State, id: u64, file: &crate::world::Attachment) -> Value {
    let expires = s.clock.now_ms() / 1000 + 86_400;
    let url = format!("{}/attachments/{}/{id}/{}?ex={expires:x}&is=0&hm=0", s.cdn_base, file.channel_id, file.filename);
    json!({
        "id": id.to_string(),
        "filename": file.filename,
        "size": file.bytes.len(),
        "url": url,
        "proxy_url": url,
        "content_type": file.content_type,
        "ephemeral": true,
    })
}
