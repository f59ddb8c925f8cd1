//! Reads for commands, the web page and export. The driver keeps its own
//! pool of connections, so reads run side by side and a connection the
//! server dropped is replaced on its own.

use std::collections::{HashMap, HashSet};

use mongodb::bson::{doc, Bson, Document};
use mongodb::options::FindOptions;

use super::fields::{boolean, id, int, opt_id, opt_int, opt_text, text};
use super::ops::member_from;
use super::{Connection, Target};
use crate::domain::activity::Id;
use crate::domain::shards::ShardRange;
use crate::{
    AuditEntry, BoardOrder, Guild, GuildDay, LeaderboardPage, LevelUpRow, LogPost, Measure, Member, MemberDay,
    MembershipChange, PendingLevelUp, PendingLogPost, PendingRewardSync, Reader, ShardPosition, Span, StoreError,
};

/// Reading access to a Tally database on MongoDB.
pub struct MongoReader {
    connection: Connection,
}

/// The filter of members who are ranked: present, human, shown, with some of `field`.
fn ranked(guild_id: Id, field: &str) -> Document {
    doc! { "guild_id": guild_id as i64, "left_at": Bson::Null, "bot": false, "hidden": false, field: { "$gt": 0_i64 } }
}

impl MongoReader {
    /// A reader of `target`. Fails when the database cannot be reached now,
    /// or holds no Tally schema.
    pub fn open(target: &Target) -> Result<Self, StoreError> {
        let connection = target.connect()?;
        if !super::has_schema(&connection)? {
            return Err(StoreError::NotFound(target.to_string()));
        }
        Ok(Self { connection })
    }

    /// Documents of `collection` matching `filter`, in `sort` order, at most `limit` (0: all).
    fn find(
        &self,
        collection: &str,
        filter: Document,
        sort: Document,
        limit: i64,
    ) -> Result<Vec<Document>, StoreError> {
        let options = FindOptions::builder().sort(sort).limit((limit > 0).then_some(limit)).build();
        let cursor = self.connection.collection(collection).find(filter).with_options(options).run()?;
        cursor.map(|d| d.map_err(StoreError::from)).collect()
    }

    /// Documents of `collection` matching `filter` in `sort` order, of servers on `shards`, at most `limit`.
    fn find_on_shards(
        &self,
        collection: &str,
        filter: Document,
        sort: Document,
        shards: ShardRange,
        limit: u32,
    ) -> Result<Vec<Document>, StoreError> {
        let cursor = self.connection.collection(collection).find(filter).sort(sort).batch_size(1_000).run()?;
        let mut found = Vec::new();
        for document in cursor {
            let document = document?;
            if shards.owns(id(&document, "guild_id")) {
                found.push(document);
                if found.len() >= limit as usize {
                    break;
                }
            }
        }
        Ok(found)
    }

    fn count(&self, collection: &str, filter: Document) -> Result<u64, StoreError> {
        Ok(self.connection.collection(collection).count_documents(filter).run()?)
    }

    /// The stored members among `(guild, user)` pairs, by pair: one read.
    fn members_by_key(&self, keys: &[(Id, Id)]) -> Result<HashMap<(Id, Id), Member>, StoreError> {
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let found = self.find("members", super::ops::pairs_filter(keys), doc! {}, 0)?;
        Ok(found.iter().map(member_from).map(|m| ((m.guild_id, m.user_id), m)).collect())
    }

    /// Calls `each(guild_id, user_id, xp)` for every ranked member of the
    /// servers `owned` covers, all read from one snapshot (a snapshot
    /// session: every batch of the cursor reads as of the first).
    /// `snapshot_taken` is called once the first batch is read, which
    /// fixes that snapshot.
    pub fn for_each_ranked(
        &self,
        owned: Option<ShardRange>,
        snapshot_taken: impl FnOnce(),
        mut each: impl FnMut(Id, Id, u64),
    ) -> Result<(), StoreError> {
        let mut session = self.connection.client.start_session().snapshot(true).run()?;
        let filter = doc! { "left_at": Bson::Null, "bot": false, "hidden": false, "xp": { "$gt": 0_i64 } };
        let mut cursor = self
            .connection
            .collection("members")
            .find(filter)
            .projection(doc! { "guild_id": 1, "user_id": 1, "xp": 1 })
            .batch_size(10_000)
            .session(&mut session)
            .run()?;
        let mut snapshot_taken = Some(snapshot_taken);
        let mut documents = cursor.iter(&mut session);
        loop {
            let next = documents.next();
            if let Some(taken) = snapshot_taken.take() {
                taken();
            }
            let Some(document) = next else { break };
            let document = document?;
            let guild = id(&document, "guild_id");
            if owned.is_none_or(|range| range.owns(guild)) {
                each(guild, id(&document, "user_id"), int(&document, "xp") as u64);
            }
        }
        Ok(())
    }
}

fn guild_from(d: &Document) -> Guild {
    Guild { guild_id: id(d, "guild_id"), name: text(d, "name"), web_public: boolean(d, "web_public") }
}

fn member_day(d: &Document) -> MemberDay {
    MemberDay {
        day: int(d, "day"),
        messages: int(d, "messages") as u64,
        xp: int(d, "xp") as u64,
        reactions_given: int(d, "reactions_given") as u64,
        reactions_received: int(d, "reactions_received") as u64,
        voice_ms: int(d, "voice_ms") as u64,
    }
}

impl Reader for MongoReader {
    fn guild(&self, guild_id: Id) -> Result<Option<Guild>, StoreError> {
        Ok(self.find("guilds", doc! { "guild_id": guild_id as i64 }, doc! {}, 1)?.first().map(guild_from))
    }

    fn public_guilds(&self) -> Result<Vec<Guild>, StoreError> {
        let found = self.find("guilds", doc! { "web_public": true }, doc! { "name": 1, "guild_id": 1 }, 0)?;
        Ok(found.iter().map(guild_from).collect())
    }

    fn guild_days(&self, guild_id: Id, first: i64, last: i64) -> Result<Vec<GuildDay>, StoreError> {
        let filter = doc! { "guild_id": guild_id as i64, "day": { "$gte": first, "$lte": last } };
        Ok(self
            .find("guild_days", filter, doc! { "day": 1 }, 0)?
            .iter()
            .map(|d| GuildDay {
                day: int(d, "day"),
                messages: int(d, "messages") as u64,
                xp: int(d, "xp") as u64,
                joins: int(d, "joins") as u64,
                leaves: int(d, "leaves") as u64,
                reactions: int(d, "reactions") as u64,
                voice_ms: int(d, "voice_ms") as u64,
            })
            .collect())
    }

    fn member_days(&self, guild_id: Id, user_id: Id, first: i64, last: i64) -> Result<Vec<MemberDay>, StoreError> {
        // Keyed by day before member: probe each day of the window (a year at most).
        let days: Vec<i64> = (first..=last.min(first.saturating_add(366))).collect();
        let filter = doc! { "guild_id": guild_id as i64, "day": { "$in": days }, "user_id": user_id as i64 };
        Ok(self.find("member_days", filter, doc! { "day": 1 }, 0)?.iter().map(member_day).collect())
    }

    fn board_order(&self, guild_id: Id, span: Span, by: Measure) -> Result<BoardOrder, StoreError> {
        let field = by.column();
        let g = guild_id as i64;
        let mut order: BoardOrder = match span {
            Span::AllTime => {
                let options = FindOptions::builder()
                    .sort(doc! { field: -1, "user_id": 1 })
                    .projection(doc! { "user_id": 1, field: 1 })
                    .batch_size(10_000)
                    .build();
                let cursor =
                    self.connection.collection("members").find(ranked(guild_id, field)).with_options(options).run()?;
                let mut order = Vec::new();
                for d in cursor {
                    let d = d?;
                    order.push((id(&d, "user_id"), int(&d, field) as u64));
                }
                return Ok(order);
            }
            Span::Days { first, last } => {
                let pipeline = vec![
                    doc! { "$match": { "guild_id": g, "day": { "$gte": first, "$lte": last } } },
                    doc! { "$group": { "_id": "$user_id", "figure": { "$sum": format!("${field}") } } },
                    doc! { "$match": { "figure": { "$gt": 0 } } },
                ];
                let sums = self.connection.collection("member_days").aggregate(pipeline).run()?;
                let present: HashSet<Id> = self
                    .connection
                    .collection("members")
                    .find(doc! { "guild_id": g, "left_at": Bson::Null, "bot": false, "hidden": false })
                    .projection(doc! { "user_id": 1 })
                    .batch_size(10_000)
                    .run()?
                    .map(|d| d.map(|d| id(&d, "user_id")))
                    .collect::<Result<_, _>>()?;
                let mut order = Vec::new();
                for d in sums {
                    let d = d?;
                    let user = id(&d, "_id");
                    if present.contains(&user) {
                        order.push((user, int(&d, "figure") as u64));
                    }
                }
                order
            }
        };
        order.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        Ok(order)
    }

    fn voice_since(&self, guild_id: Id, user_id: Id) -> Result<Option<i64>, StoreError> {
        let filter = doc! { "guild_id": guild_id as i64, "user_id": user_id as i64 };
        Ok(self.find("voice_sessions", filter, doc! {}, 1)?.first().and_then(|d| opt_int(d, "since")))
    }

    fn card_accent(&self, user_id: Id) -> Result<Option<u32>, StoreError> {
        let found = self.find("card_prefs", doc! { "user_id": user_id as i64 }, doc! {}, 1)?;
        Ok(found.first().and_then(|d| opt_int(d, "accent")).map(|a| a as u32))
    }

    fn member(&self, guild_id: Id, user_id: Id) -> Result<Option<Member>, StoreError> {
        let filter = doc! { "guild_id": guild_id as i64, "user_id": user_id as i64 };
        Ok(self.find("members", filter, doc! {}, 1)?.first().map(member_from))
    }

    fn members(&self, guild_id: Id, user_ids: &[Id]) -> Result<Vec<Member>, StoreError> {
        if user_ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<(Id, Id)> = user_ids.iter().map(|u| (guild_id, *u)).collect();
        let mut found = self.members_by_key(&keys)?;
        Ok(user_ids.iter().filter_map(|u| found.remove(&(guild_id, *u))).collect())
    }

    fn rank(&self, guild_id: Id, user_id: Id) -> Result<Option<u64>, StoreError> {
        let Some(member) = self.member(guild_id, user_id)? else { return Ok(None) };
        if member.bot || member.left_at_ms.is_some() || member.xp == 0 {
            return Ok(None);
        }
        // Two ranges of the XP index: more XP, and as much with a smaller id.
        let xp = member.xp as i64;
        let mut more = ranked(guild_id, "xp");
        more.insert("xp", doc! { "$gt": xp });
        let mut tied = ranked(guild_id, "xp");
        tied.insert("xp", xp);
        tied.insert("user_id", doc! { "$lt": user_id as i64 });
        Ok(Some(self.count("members", more)? + self.count("members", tied)? + 1))
    }

    fn leaderboard(&self, guild_id: Id, offset: u64, limit: u64) -> Result<LeaderboardPage, StoreError> {
        let total = self.count("members", ranked(guild_id, "xp"))?;
        let options =
            FindOptions::builder().sort(doc! { "xp": -1, "user_id": 1 }).skip(offset).limit(limit as i64).build();
        let cursor = self.connection.collection("members").find(ranked(guild_id, "xp")).with_options(options).run()?;
        let members = cursor.map(|d| d.map(|d| member_from(&d))).collect::<Result<_, _>>()?;
        Ok(LeaderboardPage { members, total })
    }

    fn all_members(&self, guild_id: Id) -> Result<Vec<Member>, StoreError> {
        let found = self.find("members", doc! { "guild_id": guild_id as i64 }, doc! { "user_id": 1 }, 0)?;
        Ok(found.iter().map(member_from).collect())
    }

    fn positions(&self) -> Result<Vec<ShardPosition>, StoreError> {
        super::fenced_positions(&self.connection)
    }

    fn settings(&self, guild_id: Id) -> Result<crate::Settings, StoreError> {
        let found = self.find("guilds", doc! { "guild_id": guild_id as i64 }, doc! {}, 1)?;
        let Some(d) = found.first() else { return Ok(Default::default()) };
        let xp = crate::domain::XpSettings {
            min_xp: int(d, "min_xp") as u32,
            max_xp: int(d, "max_xp") as u32,
            cooldown_secs: int(d, "cooldown_secs") as u32,
        };
        let leveling = crate::settings::from_document(opt_text(d, "leveling").as_deref())?;
        Ok(crate::Settings { xp, leveling })
    }

    fn xp_log(&self, guild_id: Id, member: Option<Id>, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        let mut filter = doc! { "guild_id": guild_id as i64 };
        if let Some(member) = member {
            filter.insert("target_id", member as i64);
        }
        let found = self.find("xp_audit", filter, doc! { "at": -1, "interaction_id": -1 }, i64::from(limit))?;
        Ok(found
            .iter()
            .map(|d| AuditEntry {
                guild_id,
                interaction_id: id(d, "interaction_id"),
                at_ms: int(d, "at"),
                by: id(d, "by_id"),
                target: id(d, "target_id"),
                action: text(d, "action"),
                amount: int(d, "amount") as u64,
                before: int(d, "before") as u64,
                after: int(d, "after") as u64,
            })
            .collect())
    }

    fn pending_reward_syncs(&self, shards: ShardRange, limit: u32) -> Result<Vec<PendingRewardSync>, StoreError> {
        let queued = self.find_on_shards("reward_queue", doc! {}, doc! { "queued_at": 1 }, shards, limit)?;
        let keys: Vec<(Id, Id)> = queued.iter().map(|d| (id(d, "guild_id"), id(d, "user_id"))).collect();
        let members = self.members_by_key(&keys)?;
        Ok(queued
            .iter()
            .zip(&keys)
            .map(|(d, key)| {
                let member = members.get(key);
                PendingRewardSync {
                    guild_id: key.0,
                    user_id: key.1,
                    queued_at_ms: int(d, "queued_at"),
                    xp: member.map_or(0, |m| m.xp),
                    left: member.is_some_and(|m| m.left_at_ms.is_some()),
                }
            })
            .collect())
    }

    fn removed_guilds(&self, shards: ShardRange) -> Result<Vec<(Id, i64)>, StoreError> {
        let found = self.find_on_shards(
            "guilds",
            doc! { "removed_at": { "$ne": Bson::Null } },
            doc! { "removed_at": 1 },
            shards,
            u32::MAX,
        )?;
        Ok(found.iter().map(|d| (id(d, "guild_id"), int(d, "removed_at"))).collect())
    }

    fn pending_requests(&self, shards: ShardRange, limit: u32) -> Result<Vec<crate::AdminRequest>, StoreError> {
        let found =
            self.find_on_shards("admin_requests", doc! { "done_at": Bson::Null }, doc! { "id": 1 }, shards, limit)?;
        Ok(found
            .iter()
            .map(|d| crate::AdminRequest {
                id: id(d, "id"),
                guild_id: id(d, "guild_id"),
                kind: text(d, "kind"),
                payload: text(d, "payload"),
            })
            .collect())
    }

    fn pending_log_posts(&self, shards: ShardRange, limit: u32) -> Result<Vec<PendingLogPost>, StoreError> {
        let found =
            self.find_on_shards("log_posts", doc! { "sent_at": Bson::Null }, doc! { "at": 1 }, shards, limit)?;
        let keys: Vec<(Id, Id)> = found.iter().map(|d| (id(d, "guild_id"), id(d, "user_id"))).collect();
        let members = self.members_by_key(&keys)?;
        Ok(found
            .iter()
            .zip(&keys)
            .map(|(d, key)| PendingLogPost {
                post: LogPost {
                    guild_id: key.0,
                    user_id: key.1,
                    change: if text(d, "change") == "join" { MembershipChange::Join } else { MembershipChange::Leave },
                    at_ms: int(d, "at"),
                    channel_id: id(d, "channel_id"),
                    joined_at_ms: opt_int(d, "joined_at"),
                },
                display_name: members.get(key).map(|m| m.display_name.clone()).unwrap_or_default(),
            })
            .collect())
    }

    fn present_count(&self, guild_id: Id) -> Result<u64, StoreError> {
        self.count("members", doc! { "guild_id": guild_id as i64, "left_at": Bson::Null })
    }

    fn reward_backlog(&self, guild_id: Id) -> Result<u64, StoreError> {
        let g = guild_id as i64;
        let queued = self.count("reward_queue", doc! { "guild_id": g })?;
        let sweep = self.find("reward_sweeps", doc! { "guild_id": g }, doc! {}, 1)?;
        let unswept = match sweep.first() {
            Some(sweep) => self.count(
                "members",
                doc! { "guild_id": g, "left_at": Bson::Null, "bot": false, "user_id": { "$gt": int(sweep, "after_user") } },
            )?,
            None => 0,
        };
        Ok(queued + unswept)
    }

    fn reward_problems(&self, guild_id: Id) -> Result<Vec<(Id, i64)>, StoreError> {
        let found = self.find("reward_problems", doc! { "guild_id": guild_id as i64 }, doc! { "role_id": 1 }, 0)?;
        Ok(found.iter().map(|d| (id(d, "role_id"), int(d, "noticed_at"))).collect())
    }

    fn pending_levelups(&self, shards: ShardRange, limit: u32) -> Result<Vec<PendingLevelUp>, StoreError> {
        let found =
            self.find_on_shards("levelups", doc! { "sent_at": Bson::Null }, doc! { "created_at": 1 }, shards, limit)?;
        let keys: Vec<(Id, Id)> = found.iter().map(|d| (id(d, "guild_id"), id(d, "user_id"))).collect();
        let members = self.members_by_key(&keys)?;
        let quiet: HashSet<(Id, Id)> = if keys.is_empty() {
            HashSet::new()
        } else {
            let users: Vec<i64> = keys.iter().map(|k| k.1 as i64).collect();
            self.find("member_prefs", doc! { "user_id": { "$in": users }, "pings": false }, doc! {}, 0)?
                .iter()
                .map(|d| (id(d, "guild_id"), id(d, "user_id")))
                .collect()
        };
        Ok(found
            .iter()
            .zip(&keys)
            .map(|(d, key)| PendingLevelUp {
                row: LevelUpRow {
                    guild_id: key.0,
                    user_id: key.1,
                    level: int(d, "level") as u32,
                    old_level: int(d, "old_level") as u32,
                    xp: int(d, "xp") as u64,
                    channel_id: opt_id(d, "channel_id"),
                    created_at_ms: int(d, "created_at"),
                },
                display_name: members.get(key).map(|m| m.display_name.clone()).unwrap_or_default(),
                pings: !quiet.contains(key),
            })
            .collect())
    }
}
