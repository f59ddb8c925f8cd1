//! One batch on MongoDB: the bulk reads the counting rules ask for, and
//! every change written with one `bulkWrite` (upserts keyed by each
//! collection's unique index), all inside the batch's transaction.

use std::collections::{BTreeMap, HashSet};

use mongodb::bson::{doc, Bson, Document};
use mongodb::options::{DeleteManyModel, ReplaceOneModel, UpdateManyModel, UpdateOneModel, WriteModel};
use mongodb::sync::ClientSession;

use super::fields::{boolean, id, int, opt_id, opt_int, opt_text, text};
use super::{schema, Connection};
use crate::domain::{activity::Id, ReactionKey, XpSettings};
use crate::{
    CountedReaction, DayChange, GuildRules, LogEntry, Member, OpenVoice, ShardPosition, StoreError, StoreOps,
    StoredReaction, VoiceSession, Writes,
};

/// The batch's transaction.
pub(super) struct MongoOps<'a> {
    pub connection: &'a Connection,
    pub session: &'a mut ClientSession,
}

/// `{ $or: [{guild_id: g, user_id: {$in: [...]}}, ...] }` for `(guild, user)` pairs: exact, one clause per server.
/// Pairs of one server (a member-list chunk, most batches) get the clause
/// alone: the same documents, and a query planner needs no `$or` branch
/// (on the test server, a thousand members of a 100,000-member server
/// took 115 s behind `$or` and 0.7 s without it).
pub(super) fn pairs_filter(keys: &[(Id, Id)]) -> Document {
    let mut by_guild: BTreeMap<Id, Vec<i64>> = BTreeMap::new();
    for (guild, user) in keys {
        by_guild.entry(*guild).or_default().push(*user as i64);
    }
    let clauses: Vec<Document> = by_guild
        .into_iter()
        .map(|(guild, users)| doc! { "guild_id": guild as i64, "user_id": { "$in": users } })
        .collect();
    any_of(clauses)
}

/// `{ $or: clauses }`, or the one clause alone (see [`pairs_filter`]).
fn any_of(mut clauses: Vec<Document>) -> Document {
    match clauses.len() {
        1 => clauses.pop().expect("one clause"),
        _ => doc! { "$or": clauses },
    }
}

fn ids(values: impl IntoIterator<Item = Id>) -> Vec<i64> {
    values.into_iter().map(|v| v as i64).collect()
}

/// A member as stored.
pub(crate) fn member_from(d: &Document) -> Member {
    Member {
        guild_id: id(d, "guild_id"),
        user_id: id(d, "user_id"),
        username: text(d, "username"),
        display_name: text(d, "display_name"),
        bot: boolean(d, "bot"),
        messages: int(d, "messages") as u64,
        reactions_given: int(d, "reactions_given") as u64,
        reactions_received: int(d, "reactions_received") as u64,
        xp: int(d, "xp") as u64,
        last_xp_at_ms: opt_int(d, "last_xp_at"),
        joined_at_ms: opt_int(d, "joined_at"),
        left_at_ms: opt_int(d, "left_at"),
        voice_ms: int(d, "voice_ms") as u64,
        avatar: opt_text(d, "avatar"),
        hidden: boolean(d, "hidden"),
        stopped: boolean(d, "stopped"),
    }
}

/// A member's document.
fn member_document(m: &Member) -> Document {
    doc! {
        "guild_id": m.guild_id as i64,
        "user_id": m.user_id as i64,
        "username": &m.username,
        "display_name": &m.display_name,
        "bot": m.bot,
        "messages": m.messages as i64,
        "reactions_given": m.reactions_given as i64,
        "reactions_received": m.reactions_received as i64,
        "xp": m.xp as i64,
        "last_xp_at": super::fields::nullable(m.last_xp_at_ms),
        "joined_at": super::fields::nullable(m.joined_at_ms),
        "left_at": super::fields::nullable(m.left_at_ms),
        "voice_ms": m.voice_ms as i64,
        "avatar": super::fields::nullable_text(m.avatar.as_deref()),
        "hidden": m.hidden,
        "stopped": m.stopped,
    }
}

/// `field + delta`, or `max(0, field + delta)` when clamped, for an update pipeline.
fn added(field: &str, delta: i64, clamped: bool) -> Bson {
    let sum = doc! { "$add": [{ "$ifNull": [format!("${field}"), 0_i64] }, delta] };
    if clamped {
        Bson::Document(doc! { "$max": [0_i64, sum] })
    } else {
        Bson::Document(sum)
    }
}

/// Collects a batch's writes, in order, for one `bulkWrite`.
struct Bulk<'c> {
    connection: &'c Connection,
    models: Vec<WriteModel>,
}

impl<'c> Bulk<'c> {
    fn new(connection: &'c Connection) -> Self {
        Self { connection, models: Vec::new() }
    }

    fn namespace(&self, collection: &str) -> mongodb::Namespace {
        mongodb::Namespace::new(self.connection.database.name(), collection)
    }

    /// Inserts a document unless one with the same key is there.
    fn insert_new(&mut self, collection: &str, key: Document, mut rest: Document) {
        for (field, value) in &key {
            rest.insert(field.clone(), value.clone());
        }
        let model = UpdateOneModel::builder()
            .namespace(self.namespace(collection))
            .filter(key)
            .update(doc! { "$setOnInsert": rest })
            .upsert(true)
            .build();
        self.models.push(model.into());
    }

    /// Writes a whole document under its key.
    fn replace(&mut self, collection: &str, key: Document, document: Document) {
        let model = ReplaceOneModel::builder()
            .namespace(self.namespace(collection))
            .filter(key)
            .replacement(document)
            .upsert(true)
            .build();
        self.models.push(model.into());
    }

    /// Sets fields of the document under `key`, creating it from `fresh` when missing.
    fn upsert(&mut self, collection: &str, key: Document, set: Document, fresh: Document) {
        let mut on_insert = Document::new();
        for (field, value) in fresh {
            if !set.contains_key(&field) && !key.contains_key(&field) {
                on_insert.insert(field, value);
            }
        }
        let mut update = doc! { "$set": set };
        if !on_insert.is_empty() {
            update.insert("$setOnInsert", on_insert);
        }
        let model = UpdateOneModel::builder()
            .namespace(self.namespace(collection))
            .filter(key)
            .update(update)
            .upsert(true)
            .build();
        self.models.push(model.into());
    }

    /// An update pipeline on the document under `key`, created when missing.
    fn pipeline(&mut self, collection: &str, key: Document, set: Document) {
        let model = UpdateOneModel::builder()
            .namespace(self.namespace(collection))
            .filter(key)
            .update(vec![doc! { "$set": set }])
            .upsert(true)
            .build();
        self.models.push(model.into());
    }

    fn update_many(&mut self, collection: &str, filter: Document, update: Document) {
        let model =
            UpdateManyModel::builder().namespace(self.namespace(collection)).filter(filter).update(update).build();
        self.models.push(model.into());
    }

    fn delete_many(&mut self, collection: &str, filter: Document) {
        let model = DeleteManyModel::builder().namespace(self.namespace(collection)).filter(filter).build();
        self.models.push(model.into());
    }
}

impl MongoOps<'_> {
    /// Every document of `collection` matching `filter`, read in the transaction.
    fn find(&mut self, collection: &str, filter: Document) -> Result<Vec<Document>, StoreError> {
        let mut cursor = self.connection.collection(collection).find(filter).session(&mut *self.session).run()?;
        let mut found = Vec::new();
        for document in cursor.iter(self.session) {
            found.push(document?);
        }
        Ok(found)
    }

    /// Deletes up to `limit` documents of `collection` matching `filter`; how many it deleted.
    fn delete_some(&mut self, collection: &str, filter: Document, limit: usize) -> Result<usize, StoreError> {
        let mut cursor = self
            .connection
            .collection(collection)
            .find(filter)
            .projection(doc! { "_id": 1 })
            .limit(limit as i64)
            .session(&mut *self.session)
            .run()?;
        let mut ids = Vec::new();
        for document in cursor.iter(self.session) {
            ids.push(document?.get("_id").cloned().unwrap_or(Bson::Null));
        }
        if !ids.is_empty() {
            self.connection
                .collection(collection)
                .delete_many(doc! { "_id": { "$in": ids.clone() } })
                .session(&mut *self.session)
                .run()?;
        }
        Ok(ids.len())
    }

    /// The server's members who are in no other server Tally holds (their
    /// card preferences go with the server).
    fn lonely_members(&mut self, g: i64) -> Result<Vec<i64>, StoreError> {
        let users: Vec<i64> = self.find("members", doc! { "guild_id": g })?.iter().map(|d| int(d, "user_id")).collect();
        let mut elsewhere: HashSet<i64> = HashSet::new();
        for piece in users.chunks(FILTER_IDS) {
            let found =
                self.find("members", doc! { "guild_id": { "$ne": g }, "user_id": { "$in": piece.to_vec() } })?;
            elsewhere.extend(found.iter().map(|d| int(d, "user_id")));
        }
        Ok(users.into_iter().filter(|u| !elsewhere.contains(u)).collect())
    }

    /// Sends `bulk` as one `bulkWrite` (the driver splits very large ones).
    fn send(&mut self, bulk: Bulk<'_>) -> Result<(), StoreError> {
        if !bulk.models.is_empty() {
            self.connection.client.bulk_write(bulk.models).session(&mut *self.session).run()?;
        }
        Ok(())
    }
}

/// Most ids in one `$in` filter: a command must stay under 16 MB.
const FILTER_IDS: usize = 20_000;

/// What a purge deletes before the members: everything kept per server.
const PURGED_FIRST: [&str; 12] = [
    "member_days",
    "guild_days",
    "membership_log",
    "counted_reactions",
    "voice_sessions",
    "member_prefs",
    "levelups",
    "reward_queue",
    "reward_sweeps",
    "reward_problems",
    "log_posts",
    "xp_audit",
];

impl StoreOps for MongoOps<'_> {
    fn guild_rules(&mut self, guilds: &[Id]) -> Result<Vec<(Id, GuildRules)>, StoreError> {
        let found = self.find("guilds", doc! { "guild_id": { "$in": ids(guilds.iter().copied()) } })?;
        found
            .iter()
            .map(|d| {
                let xp = XpSettings {
                    min_xp: int(d, "min_xp") as u32,
                    max_xp: int(d, "max_xp") as u32,
                    cooldown_secs: int(d, "cooldown_secs") as u32,
                };
                let leveling = crate::settings::from_document(opt_text(d, "leveling").as_deref())?;
                Ok((id(d, "guild_id"), GuildRules { xp, afk_channel_id: opt_id(d, "afk_channel_id"), leveling }))
            })
            .collect()
    }

    fn load_members(&mut self, keys: &[(Id, Id)]) -> Result<Vec<Member>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut members: Vec<Member> = self.find("members", pairs_filter(keys))?.iter().map(member_from).collect();
        members.sort_by_key(|m| (m.guild_id, m.user_id));
        Ok(members)
    }

    fn present_members(&mut self, guild_id: Id) -> Result<Vec<Id>, StoreError> {
        let found = self.find("members", doc! { "guild_id": guild_id as i64, "left_at": Bson::Null })?;
        Ok(found.iter().map(|d| id(d, "user_id")).collect())
    }

    fn claim_request(&mut self, request_id: Id, at_ms: i64) -> Result<bool, StoreError> {
        let outcome = self
            .connection
            .collection("admin_requests")
            .update_one(
                doc! { "id": request_id as i64, "done_at": Bson::Null },
                doc! { "$set": { "done_at": at_ms, "payload": "" } },
            )
            .session(&mut *self.session)
            .run()?;
        Ok(outcome.modified_count == 1)
    }

    fn all_member_ids(&mut self, guild_id: Id) -> Result<Vec<Id>, StoreError> {
        let mut found: Vec<Id> =
            self.find("members", doc! { "guild_id": guild_id as i64 })?.iter().map(|d| id(d, "user_id")).collect();
        found.sort_unstable();
        Ok(found)
    }

    fn erase_member(&mut self, guild_id: Id, user_id: Id) -> Result<(), StoreError> {
        let (g, u) = (guild_id as i64, user_id as i64);
        let mut bulk = Bulk::new(self.connection);
        let member = doc! { "guild_id": g, "user_id": u };
        for collection in
            ["members", "member_days", "membership_log", "counted_reactions", "voice_sessions", "member_prefs"]
        {
            bulk.delete_many(collection, member.clone());
        }
        bulk.update_many(
            "counted_reactions",
            doc! { "guild_id": g, "author_id": u },
            doc! { "$set": { "author_id": 0_i64 } },
        );
        for collection in ["levelups", "reward_queue", "log_posts"] {
            bulk.delete_many(collection, member.clone());
        }
        bulk.delete_many("xp_audit", doc! { "guild_id": g, "target_id": u });
        bulk.update_many("xp_audit", doc! { "guild_id": g, "by_id": u }, doc! { "$set": { "by_id": 0_i64 } });
        self.send(bulk)?;
        if self.find("members", doc! { "user_id": u })?.is_empty() {
            let mut bulk = Bulk::new(self.connection);
            bulk.delete_many("card_prefs", doc! { "user_id": u });
            self.send(bulk)?;
        }
        Ok(())
    }

    fn members_with_xp(&mut self, guild_id: Id, limit: usize) -> Result<Vec<Member>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut cursor = self
            .connection
            .collection("members")
            .find(doc! { "guild_id": guild_id as i64, "xp": { "$gt": 0_i64 } })
            // The board's index (guild, xp descending, user): members
            // already reset sort last and are never walked.
            .sort(doc! { "xp": -1, "user_id": 1 })
            .limit(limit)
            .session(&mut *self.session)
            .run()?;
        let mut found = Vec::new();
        for document in cursor.iter(self.session) {
            found.push(member_from(&document?));
        }
        Ok(found)
    }

    fn audit_written(&mut self, guild_id: Id, interaction_id: Id, target: Id) -> Result<bool, StoreError> {
        let key =
            doc! { "guild_id": guild_id as i64, "interaction_id": interaction_id as i64, "target_id": target as i64 };
        Ok(!self.find("xp_audit", key)?.is_empty())
    }

    fn guild_xp_total(&mut self, guild_id: Id) -> Result<u64, StoreError> {
        let pipeline = [
            doc! { "$match": { "guild_id": guild_id as i64 } },
            doc! { "$group": { "_id": Bson::Null, "total": { "$sum": "$xp" } } },
        ];
        let mut cursor = self.connection.collection("members").aggregate(pipeline).session(&mut *self.session).run()?;
        let mut total = 0;
        for document in cursor.iter(self.session) {
            total = int(&document?, "total").max(0) as u64;
        }
        Ok(total)
    }

    fn request_applied(&mut self, request_id: Id) -> Result<bool, StoreError> {
        let found = self.find("admin_requests", doc! { "id": request_id as i64 })?;
        Ok(found.first().is_none_or(|d| opt_int(d, "done_at").is_some()))
    }

    fn held_guilds(&mut self) -> Result<Vec<Id>, StoreError> {
        let found = self.find("guilds", doc! { "removed_at": null })?;
        Ok(found.iter().map(|d| int(d, "guild_id") as Id).collect())
    }

    fn guild_removed_at(&mut self, guild_id: Id) -> Result<Option<i64>, StoreError> {
        let found = self.find("guilds", doc! { "guild_id": guild_id as i64 })?;
        Ok(found.first().and_then(|d| opt_int(d, "removed_at")))
    }

    fn purge_guild(&mut self, guild_id: Id, limit: usize) -> Result<bool, StoreError> {
        // At most `limit` documents go per call (one transaction each):
        // first what hangs off the server, then the members' card
        // preferences that nothing else needs, then the members, and the
        // server's own document last, so a later piece still finds it.
        let g = guild_id as i64;
        let server = doc! { "guild_id": g };
        let mut budget = limit.max(1);
        for collection in PURGED_FIRST {
            budget -= self.delete_some(collection, server.clone(), budget)?;
            if budget == 0 {
                return Ok(false);
            }
        }
        let done = doc! { "guild_id": g, "done_at": { "$ne": Bson::Null } };
        budget -= self.delete_some("admin_requests", done, budget)?;
        if budget == 0 {
            return Ok(false);
        }
        for piece in self.lonely_members(g)?.chunks(FILTER_IDS) {
            budget -= self.delete_some("card_prefs", doc! { "user_id": { "$in": piece.to_vec() } }, budget)?;
            if budget == 0 {
                return Ok(false);
            }
        }
        budget -= self.delete_some("members", server.clone(), budget)?;
        if budget == 0 {
            return Ok(false);
        }
        self.delete_some("guilds", server, budget)?;
        Ok(true)
    }

    fn counted_reactions(
        &mut self,
        keys: &[&ReactionKey],
        messages: &[Id],
    ) -> Result<Vec<(ReactionKey, StoredReaction)>, StoreError> {
        if keys.is_empty() && messages.is_empty() {
            return Ok(Vec::new());
        }
        let wanted: HashSet<(Id, Id, &str)> =
            keys.iter().map(|k| (k.message_id, k.user_id, k.emoji.as_str())).collect();
        let whole: HashSet<Id> = messages.iter().copied().collect();
        let mut on: Vec<i64> = ids(keys.iter().map(|k| k.message_id).chain(messages.iter().copied()));
        on.sort_unstable();
        on.dedup();
        // Every reaction on those messages, kept where asked for.
        let found = self.find("counted_reactions", doc! { "message_id": { "$in": on } })?;
        Ok(found
            .iter()
            .filter_map(|d| {
                let key =
                    ReactionKey { message_id: id(d, "message_id"), user_id: id(d, "user_id"), emoji: text(d, "emoji") };
                let asked = whole.contains(&key.message_id)
                    || wanted.contains(&(key.message_id, key.user_id, key.emoji.as_str()));
                let counted =
                    CountedReaction { reactor: key.user_id, author: id(d, "author_id"), day: opt_int(d, "day") };
                asked.then(|| (key, StoredReaction { guild_id: id(d, "guild_id"), counted }))
            })
            .collect())
    }

    fn voice_sessions(&mut self, members: &[(Id, Id)], guilds: &[Id]) -> Result<Vec<VoiceSession>, StoreError> {
        let mut clauses = Vec::new();
        if !members.is_empty() {
            clauses.push(pairs_filter(members));
        }
        if !guilds.is_empty() {
            clauses.push(doc! { "guild_id": { "$in": ids(guilds.iter().copied()) } });
        }
        if clauses.is_empty() {
            return Ok(Vec::new());
        }
        let found = self.find("voice_sessions", any_of(clauses))?;
        Ok(found
            .iter()
            .map(|d| {
                let state = OpenVoice {
                    since: int(d, "since"),
                    channel_id: opt_id(d, "channel_id"),
                    muted: boolean(d, "muted"),
                    earning_since: opt_int(d, "earning_since"),
                };
                ((id(d, "guild_id"), id(d, "user_id")), state)
            })
            .collect())
    }

    fn log_memberships(&mut self, entries: &[LogEntry]) -> Result<Vec<bool>, StoreError> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let mut bulk = Bulk::new(self.connection);
        for e in entries {
            let key = doc! {
                "guild_id": e.guild_id as i64, "user_id": e.user_id as i64, "at": e.at_ms, "change": e.change.as_str(),
            };
            bulk.insert_new("membership_log", key, Document::new());
        }
        let result =
            self.connection.client.bulk_write(bulk.models).verbose_results().session(&mut *self.session).run()?;
        Ok((0..entries.len()).map(|i| result.update_results.get(&i).is_some_and(|r| r.upserted_id.is_some())).collect())
    }

    fn write(&mut self, writes: &Writes<'_>) -> Result<(), StoreError> {
        let mut bulk = Bulk::new(self.connection);
        for g in &writes.guilds {
            let set =
                doc! { "name": &g.name, "afk_channel_id": super::fields::nullable(g.afk_channel_id.map(|c| c as i64)) };
            bulk.upsert("guilds", doc! { "guild_id": g.guild_id as i64 }, set, schema::new_guild(g.guild_id));
        }
        for (guild_id, at) in &writes.removed {
            let model = UpdateOneModel::builder()
                .namespace(bulk.namespace("guilds"))
                .filter(doc! { "guild_id": *guild_id as i64 })
                .update(doc! { "$set": { "removed_at": super::fields::nullable(*at) } })
                .build();
            bulk.models.push(model.into());
        }
        for ((guild_id, day), c) in &writes.guild_days {
            let set = day_sums(c, true);
            bulk.pipeline("guild_days", doc! { "guild_id": *guild_id as i64, "day": *day }, set);
        }
        for ((guild_id, day, user_id), c) in &writes.member_days {
            let set = day_sums(c, false);
            bulk.pipeline(
                "member_days",
                doc! { "guild_id": *guild_id as i64, "day": *day, "user_id": *user_id as i64 },
                set,
            );
        }
        for (member, _) in &writes.members {
            let key = doc! { "guild_id": member.guild_id as i64, "user_id": member.user_id as i64 };
            bulk.replace("members", key, member_document(member));
        }
        for (key, state) in &writes.reactions {
            let filter =
                doc! { "message_id": key.message_id as i64, "user_id": key.user_id as i64, "emoji": &key.emoji };
            match state {
                None => bulk.delete_many("counted_reactions", filter),
                Some(s) => {
                    let mut document = filter.clone();
                    document.insert("guild_id", s.guild_id as i64);
                    document.insert("author_id", s.counted.author as i64);
                    document.insert("day", super::fields::nullable(s.counted.day));
                    bulk.replace("counted_reactions", filter, document);
                }
            }
        }
        for ((guild_id, user_id), state) in &writes.voice {
            let key = doc! { "guild_id": *guild_id as i64, "user_id": *user_id as i64 };
            match state {
                None => bulk.delete_many("voice_sessions", key),
                Some(v) => {
                    let mut document = key.clone();
                    document.insert("since", v.since);
                    document.insert("channel_id", super::fields::nullable(v.channel_id.map(|c| c as i64)));
                    document.insert("muted", v.muted);
                    document.insert("earning_since", super::fields::nullable(v.earning_since));
                    bulk.replace("voice_sessions", key, document);
                }
            }
        }
        for (guild_id, at) in &writes.reward_sync_all {
            let key = doc! { "guild_id": *guild_id as i64 };
            let mut sweep = with(key.clone(), "queued_at", *at);
            sweep.insert("after_user", 0_i64);
            bulk.replace("reward_sweeps", key, sweep);
        }
        leveling(&mut bulk, writes);
        self.send(bulk)
    }

    fn save_positions(&mut self, positions: &[ShardPosition]) -> Result<(), StoreError> {
        let mut bulk = Bulk::new(self.connection);
        for p in positions {
            let key = doc! { "shard_id": i64::from(p.shard_id) };
            let document = doc! {
                "shard_id": i64::from(p.shard_id),
                "shard_count": i64::from(p.shard_count),
                "session_id": &p.session_id,
                "sequence": p.sequence as i64,
                "resume_url": &p.resume_url,
                "committed_at": p.committed_at_ms,
            };
            bulk.replace("shard_positions", key, document);
        }
        self.send(bulk)
    }
}

/// `key` with one more field: a whole small document.
fn with(mut key: Document, field: &str, value: impl Into<Bson>) -> Document {
    key.insert(field, value);
    key
}

/// A day's sums after adding `c`: reactions never go below zero.
fn day_sums(c: &DayChange, guild: bool) -> Document {
    let mut set = doc! {
        "messages": added("messages", c.messages, false),
        "xp": added("xp", c.xp, false),
        "voice_ms": added("voice_ms", c.voice_ms, false),
    };
    if guild {
        set.insert("joins", added("joins", c.joins, false));
        set.insert("leaves", added("leaves", c.leaves, false));
        set.insert("reactions", added("reactions", c.reactions_given, true));
    } else {
        set.insert("reactions_given", added("reactions_given", c.reactions_given, true));
        set.insert("reactions_received", added("reactions_received", c.reactions_received, true));
    }
    set
}

/// Settings, ping choices, the outboxes, the audit log and the reward queue.
fn leveling(bulk: &mut Bulk<'_>, writes: &Writes<'_>) {
    for w in &writes.settings {
        let set = doc! {
            "min_xp": i64::from(w.xp.min_xp),
            "max_xp": i64::from(w.xp.max_xp),
            "cooldown_secs": i64::from(w.xp.cooldown_secs),
            "leveling": crate::settings::to_document(w.leveling),
        };
        bulk.upsert("guilds", doc! { "guild_id": w.guild_id as i64 }, set, schema::new_guild(w.guild_id));
    }
    for ((guild_id, user_id), pings) in &writes.pings {
        let key = doc! { "guild_id": *guild_id as i64, "user_id": *user_id as i64 };
        bulk.replace("member_prefs", key.clone(), with(key, "pings", *pings));
    }
    for (guild_id, user_id, above) in &writes.forget_levelups {
        let mut filter = doc! { "guild_id": *guild_id as i64, "level": { "$gt": i64::from(*above) } };
        if *user_id != 0 {
            filter.insert("user_id", *user_id as i64);
        }
        bulk.delete_many("levelups", filter);
    }
    for a in &writes.audit {
        let key = doc! { "guild_id": a.guild_id as i64, "interaction_id": a.interaction_id as i64, "target_id": a.target as i64 };
        let rest = doc! {
            "at": a.at_ms, "by_id": a.by as i64, "action": &a.action, "amount": a.amount as i64,
            "before": a.before as i64, "after": a.after as i64,
        };
        bulk.insert_new("xp_audit", key, rest);
    }
    for p in &writes.log_posts {
        let key = doc! { "guild_id": p.guild_id as i64, "user_id": p.user_id as i64, "at": p.at_ms, "change": p.change.as_str() };
        let rest = doc! {
            "channel_id": p.channel_id as i64,
            "joined_at": super::fields::nullable(p.joined_at_ms),
            "sent_at": Bson::Null,
        };
        bulk.insert_new("log_posts", key, rest);
    }
    for ((guild_id, user_id), at) in &writes.reward_syncs {
        let key = doc! { "guild_id": *guild_id as i64, "user_id": *user_id as i64 };
        bulk.replace("reward_queue", key.clone(), with(key, "queued_at", *at));
    }
    for l in &writes.levelups {
        let key = doc! { "guild_id": l.guild_id as i64, "user_id": l.user_id as i64, "level": i64::from(l.level) };
        let rest = doc! {
            "old_level": i64::from(l.old_level),
            "xp": l.xp as i64,
            "channel_id": super::fields::nullable(l.channel_id.map(|c| c as i64)),
            "created_at": l.created_at_ms,
            "sent_at": Bson::Null,
        };
        bulk.insert_new("levelups", key, rest);
    }
}
