//! The collections Tally keeps in MongoDB: one per table of
//! [`TABLES`](crate::copy::TABLES), each with a `$jsonSchema`
//! validator made from that list (every field present, of its type), a
//! unique index on its key and an index for each way it is read. Creating
//! them is idempotent.

use mongodb::bson::{doc, Bson, Document};
use mongodb::sync::Database;
use mongodb::IndexModel;

use crate::copy::{Kind, TABLES};
use crate::domain::activity::Id;
use crate::StoreError;

/// The schema version this build creates; stored in `tally_schema`.
pub const VERSION: i64 = 1;

/// A collection's index: its fields (1 ascending, -1 descending) and whether it is unique.
type Index = (&'static [(&'static str, i32)], bool);

/// Every index, by collection. The first of each is its key.
pub const INDEXES: &[(&str, &[Index])] = &[
    ("guilds", &[(&[("guild_id", 1)], true)]),
    (
        "members",
        &[
            (&[("guild_id", 1), ("user_id", 1)], true),
            // One per board: all-time boards and ranks walk these in order.
            (&[("guild_id", 1), ("xp", -1), ("user_id", 1)], false),
            (&[("guild_id", 1), ("messages", -1), ("user_id", 1)], false),
            (&[("guild_id", 1), ("reactions_received", -1), ("user_id", 1)], false),
            (&[("guild_id", 1), ("reactions_given", -1), ("user_id", 1)], false),
            (&[("guild_id", 1), ("voice_ms", -1), ("user_id", 1)], false),
            // Card colours are forgotten when a member is in no server.
            (&[("user_id", 1)], false),
        ],
    ),
    ("membership_log", &[(&[("guild_id", 1), ("user_id", 1), ("at", 1), ("change", 1)], true)]),
    (
        "counted_reactions",
        &[
            (&[("message_id", 1), ("user_id", 1), ("emoji", 1)], true),
            (&[("guild_id", 1), ("user_id", 1)], false),
            (&[("guild_id", 1), ("author_id", 1)], false),
        ],
    ),
    ("shard_positions", &[(&[("shard_id", 1)], true)]),
    ("card_prefs", &[(&[("user_id", 1)], true)]),
    ("guild_days", &[(&[("guild_id", 1), ("day", 1)], true)]),
    // Windowed boards add up a server's days; a member's days are probed by day.
    ("member_days", &[(&[("guild_id", 1), ("day", 1), ("user_id", 1)], true)]),
    ("voice_sessions", &[(&[("guild_id", 1), ("user_id", 1)], true)]),
    ("member_prefs", &[(&[("guild_id", 1), ("user_id", 1)], true)]),
    (
        "levelups",
        &[(&[("guild_id", 1), ("user_id", 1), ("level", 1)], true), (&[("sent_at", 1), ("created_at", 1)], false)],
    ),
    (
        "xp_audit",
        &[
            (&[("guild_id", 1), ("interaction_id", 1), ("target_id", 1)], true),
            (&[("guild_id", 1), ("at", -1), ("interaction_id", -1)], false),
        ],
    ),
    ("reward_queue", &[(&[("guild_id", 1), ("user_id", 1)], true), (&[("queued_at", 1)], false)]),
    ("reward_sweeps", &[(&[("guild_id", 1)], true), (&[("queued_at", 1)], false)]),
    (
        "log_posts",
        &[(&[("guild_id", 1), ("user_id", 1), ("at", 1), ("change", 1)], true), (&[("sent_at", 1), ("at", 1)], false)],
    ),
    (
        "admin_requests",
        &[
            (&[("id", 1)], true),
            (&[("guild_id", 1), ("kind", 1), ("digest", 1)], true),
            (&[("done_at", 1), ("id", 1)], false),
        ],
    ),
    ("reward_problems", &[(&[("guild_id", 1), ("role_id", 1)], true)]),
    // Not data: pacing of IDENTIFY across processes (see `take_identify_turn`).
    ("identify_turns", &[(&[("bucket", 1)], true)]),
    // Not data: the dashboard's sign-ins (see `crate::web_sessions`).
    ("web_logins", &[(&[("state_hash", 1)], true), (&[("created_at", 1)], false)]),
    ("web_sessions", &[(&[("id_hash", 1)], true), (&[("expires_at", 1)], false)]),
];

/// The `$jsonSchema` a table's documents must match.
fn validator(columns: &[(&str, Kind)]) -> Document {
    let mut properties = Document::new();
    for (name, kind) in columns {
        let types: Vec<&str> = match kind {
            Kind::Int4 | Kind::Int8 => vec!["long", "int"],
            Kind::OptInt8 => vec!["long", "int", "null"],
            Kind::Bool => vec!["bool"],
            Kind::Text => vec!["string"],
            Kind::OptText => vec!["string", "null"],
        };
        properties.insert(*name, doc! { "bsonType": types });
    }
    let required: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
    doc! { "$jsonSchema": { "bsonType": "object", "required": required, "properties": properties } }
}

/// Creates every collection with its validator and indexes (existing ones
/// get the current validator).
pub fn create(database: &Database) -> Result<(), StoreError> {
    let existing = database.list_collection_names().run()?;
    for table in TABLES {
        let validator = validator(table.columns);
        if existing.iter().any(|name| name == table.name) {
            database.run_command(doc! { "collMod": table.name, "validator": validator }).run()?;
        } else {
            create_collection(database, table.name, Some(validator))?;
        }
    }
    if !existing.iter().any(|name| name == "identify_turns") {
        create_collection(database, "identify_turns", None)?;
    }
    for (collection, indexes) in INDEXES {
        let models: Vec<IndexModel> = indexes
            .iter()
            .map(|(fields, unique)| {
                let mut keys = Document::new();
                for (field, order) in *fields {
                    keys.insert(*field, *order);
                }
                let options = mongodb::options::IndexOptions::builder().unique(*unique).build();
                IndexModel::builder().keys(keys).options(options).build()
            })
            .collect();
        database.collection::<Document>(collection).create_indexes(models).run()?;
    }
    Ok(())
}

/// Creates a collection; one created meanwhile by another process is fine.
fn create_collection(database: &Database, name: &str, validator: Option<Document>) -> Result<(), StoreError> {
    let mut command = doc! { "create": name };
    if let Some(validator) = validator {
        command.insert("validator", validator);
    }
    match database.run_command(command).run() {
        Err(error) if super::codes(&error).contains(&48) => Ok(()), // NamespaceExists
        other => other.map(drop).map_err(StoreError::from),
    }
}

/// The document of a server seen for the first time: the defaults.
pub fn new_guild(guild_id: Id) -> Document {
    let defaults = crate::domain::XpSettings::default();
    doc! {
        "guild_id": guild_id as i64,
        "name": "",
        "min_xp": i64::from(defaults.min_xp),
        "max_xp": i64::from(defaults.max_xp),
        "cooldown_secs": i64::from(defaults.cooldown_secs),
        "web_public": false,
        "afk_channel_id": Bson::Null,
        "leveling": Bson::Null,
        "removed_at": Bson::Null,
    }
}

/// The columns of a table as this database's validator has them (none for
/// a collection without one).
pub fn validated_fields(database: &Database, collection: &str) -> Result<Vec<String>, StoreError> {
    let mut cursor = database.list_collections().filter(doc! { "name": collection }).run()?;
    let Some(spec) = cursor.next().transpose()? else { return Ok(Vec::new()) };
    let fields = spec
        .options
        .validator
        .as_ref()
        .and_then(|v| v.get_document("$jsonSchema").ok())
        .and_then(|s| s.get_document("properties").ok())
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    Ok(fields)
}
