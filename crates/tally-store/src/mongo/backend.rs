//! A MongoDB deployment as a [`Backend`]: what Tally writes and reads
//! apart from the ledger (marks of what was sent, the command line's
//! requests and settings, identify turns), each in a transaction of its own.

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::backend::Backend;
use crate::copy::CopyEnd;
use crate::domain::shards::ShardRange;
use crate::web_sessions::{PendingLogin, WebSession};
use crate::{Reader, RequestState, Writer};
use fields::id;

/// A stored request's state, from its document.
fn state(d: &Document) -> RequestState {
    RequestState { id: id(d, "id"), picked_at_ms: opt_int(d, "picked_at"), done_at_ms: opt_int(d, "done_at") }
}

impl Backend for Target {
    fn describe(&self) -> String {
        self.to_string()
    }

    fn is_shared(&self) -> bool {
        true
    }

    fn open_writer(&self) -> Result<Writer, StoreError> {
        let writer = crate::database::patiently(self, || super::open_writer(self))?;
        Ok(Writer::new(writer))
    }

    fn open_readers(&self, _connections: usize) -> Result<Arc<dyn Reader>, StoreError> {
        // The driver pools its own connections.
        Ok(Arc::new(MongoReader::open(self)?))
    }

    fn for_each_ranked(
        &self,
        owned: Option<ShardRange>,
        snapshot_taken: &mut dyn FnMut(),
        each: &mut dyn FnMut(Id, Id, u64),
    ) -> Result<(), StoreError> {
        MongoReader::open(self)?.for_each_ranked(owned, snapshot_taken, each)
    }

    fn open_copy_end(&self) -> Result<Box<dyn CopyEnd>, StoreError> {
        Ok(Box::new(super::copy::open(self)?))
    }

    fn is_same_as(&self, other: &dyn Backend) -> bool {
        other.as_any().downcast_ref::<Self>().is_some_and(|other| self.same_database(other))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    /// Shows or hides a server's leaderboard on the web page.
    fn set_web_public(&self, guild_id: Id, public: bool) -> Result<(), StoreError> {
        let connection = self.connect()?;
        migrate(&connection)?;
        let mut fresh = schema::new_guild(guild_id);
        fresh.remove("web_public");
        connection
            .collection("guilds")
            .update_one(
                doc! { "guild_id": guild_id as i64 },
                doc! { "$set": { "web_public": public }, "$setOnInsert": fresh },
            )
            .upsert(true)
            .run()?;
        Ok(())
    }

    /// Records a member's rank card colour, or forgets it (None: the default).
    fn set_card_accent(&self, user_id: Id, accent: Option<u32>) -> Result<(), StoreError> {
        let connection = self.connect()?;
        let prefs = connection.collection("card_prefs");
        let key = doc! { "user_id": user_id as i64 };
        patient_transaction(&connection, |session| {
            match accent {
                Some(accent) => {
                    let set = doc! { "$set": { "accent": i64::from(accent) } };
                    prefs.update_one(key.clone(), set).upsert(true).session(session).run()?;
                }
                None => {
                    prefs.delete_one(key.clone()).session(session).run()?;
                }
            }
            Ok(())
        })
    }

    /// Marks level-ups as announced.
    fn mark_levelups_sent(&self, keys: &[(Id, Id, u32, i64)], at_ms: i64) -> Result<(), StoreError> {
        let connection = self.connect()?;
        let levelups = connection.collection("levelups");
        let models = keys.iter().map(|(g, u, level, found_at)| {
            mongodb::options::UpdateOneModel::builder()
                .namespace(levelups.namespace())
                .filter(doc! {
                    "guild_id": *g as i64,
                    "user_id": *u as i64,
                    "level": i64::from(*level),
                    "created_at": *found_at,
                    "sent_at": Bson::Null,
                })
                .update(doc! { "$set": { "sent_at": at_ms } })
                .build()
        });
        bulk_in_transaction(&connection, models.map(Into::into).collect())
    }

    /// Marks join/leave posts as posted.
    fn mark_log_posts_sent(&self, keys: &[(Id, Id, MembershipChange, i64)], at_ms: i64) -> Result<(), StoreError> {
        let connection = self.connect()?;
        let posts = connection.collection("log_posts");
        let models = keys.iter().map(|(g, u, change, at)| {
            mongodb::options::UpdateOneModel::builder()
                .namespace(posts.namespace())
                .filter(doc! { "guild_id": *g as i64, "user_id": *u as i64, "change": change.as_str(), "at": *at })
                .update(doc! { "$set": { "sent_at": at_ms } })
                .build()
        });
        bulk_in_transaction(&connection, models.map(Into::into).collect())
    }

    /// Stores requests for the ledger, or finds the same ones stored before;
    /// their states, in the order given. Ids follow the highest stored one,
    /// taken in a transaction: two processes submitting at once conflict, and
    /// the one that lost tries again.
    fn submit_requests(
        &self,
        guild_id: Id,
        kind: &str,
        requests: &[(String, String)],
        at_ms: i64,
    ) -> Result<Vec<RequestState>, StoreError> {
        let connection = self.connect()?;
        migrate(&connection)?;
        let collection = connection.collection("admin_requests");
        patient_transaction(&connection, |session| {
            let last = collection.find_one(doc! {}).sort(doc! { "id": -1 }).session(&mut *session).run()?;
            let mut next = last.map_or(0, |d| id(&d, "id") as i64) + 1;
            let mut states = Vec::with_capacity(requests.len());
            for (digest, payload) in requests {
                let key = doc! { "guild_id": guild_id as i64, "kind": kind, "digest": digest };
                if let Some(found) = collection.find_one(key.clone()).session(&mut *session).run()? {
                    states.push(state(&found));
                    continue;
                }
                let mut document = key;
                document.insert("id", next);
                document.insert("payload", payload);
                document.insert("created_at", at_ms);
                document.insert("picked_at", Bson::Null);
                document.insert("done_at", Bson::Null);
                collection.insert_one(&document).session(&mut *session).run()?;
                states.push(state(&document));
                next += 1;
            }
            Ok(states)
        })
    }

    /// The states of stored requests (unknown ids are left out), by id.
    fn request_states(&self, ids: &[Id]) -> Result<Vec<RequestState>, StoreError> {
        let connection = self.connect()?;
        let ids: Vec<i64> = ids.iter().map(|id| *id as i64).collect();
        let cursor =
            connection.collection("admin_requests").find(doc! { "id": { "$in": ids } }).sort(doc! { "id": 1 }).run()?;
        cursor.map(|d| d.map(|d| state(&d)).map_err(StoreError::from)).collect()
    }

    /// Requests stored before with these digests, without storing anything
    /// (a dry run): None for each one not found, or when there is no schema yet.
    fn find_requests(
        &self,
        guild_id: Id,
        kind: &str,
        digests: &[String],
    ) -> Result<Vec<Option<RequestState>>, StoreError> {
        let connection = self.connect()?;
        let filter = doc! { "guild_id": guild_id as i64, "kind": kind, "digest": { "$in": digests } };
        let found: std::collections::HashMap<String, RequestState> = connection
            .collection("admin_requests")
            .find(filter)
            .run()?
            .map(|d| d.map(|d| (text(&d, "digest"), state(&d))))
            .collect::<Result<_, _>>()?;
        Ok(digests.iter().map(|d| found.get(d).copied()).collect())
    }

    /// Notes that a running bot took requests into its ledger.
    fn mark_requests_picked(&self, ids: &[Id], at_ms: i64) -> Result<(), StoreError> {
        let connection = self.connect()?;
        let ids: Vec<i64> = ids.iter().map(|id| *id as i64).collect();
        let requests = connection.collection("admin_requests");
        patient_transaction(&connection, |session| {
            let set = doc! { "$set": { "picked_at": at_ms } };
            requests.update_many(doc! { "id": { "$in": ids.clone() } }, set).session(session).run()?;
            Ok(())
        })
    }

    /// Queues the next `limit` present members of the oldest reward sweep on
    /// `shards`, and moves the sweep on (or ends it), in one transaction.
    /// False when no sweep was waiting.
    fn sweep_rewards(&self, shards: crate::domain::shards::ShardRange, limit: u32) -> Result<bool, StoreError> {
        let connection = self.connect()?;
        let sweeps = connection.collection("reward_sweeps");
        let members = connection.collection("members");
        let queue = connection.collection("reward_queue");
        // Asked after every commit: with no sweep waiting, one read, no transaction.
        if sweeps.find_one(doc! {}).run()?.is_none() {
            return Ok(false);
        }
        patient_transaction(&connection, |session| {
            let mut sweep = None;
            let mut cursor = sweeps.find(doc! {}).sort(doc! { "queued_at": 1 }).session(&mut *session).run()?;
            for document in cursor.iter(session) {
                let document = document?;
                if shards.owns(int(&document, "guild_id") as Id) {
                    sweep = Some(document);
                    break;
                }
            }
            let Some(sweep) = sweep else {
                return Ok(false);
            };
            let (guild_id, queued_at, after) =
                (int(&sweep, "guild_id"), int(&sweep, "queued_at"), int(&sweep, "after_user"));
            let filter =
                doc! { "guild_id": guild_id, "left_at": Bson::Null, "bot": false, "user_id": { "$gt": after } };
            let mut cursor = members
                .find(filter)
                .sort(doc! { "user_id": 1 })
                .projection(doc! { "user_id": 1 })
                .limit(i64::from(limit))
                .session(&mut *session)
                .run()?;
            let mut users = Vec::new();
            for document in cursor.iter(session) {
                users.push(int(&document?, "user_id"));
            }
            let mut models: Vec<mongodb::options::WriteModel> = users
                .iter()
                .map(|user_id| {
                    let key = doc! { "guild_id": guild_id, "user_id": *user_id };
                    let mut queued = key.clone();
                    queued.insert("queued_at", queued_at);
                    mongodb::options::ReplaceOneModel::builder()
                        .namespace(queue.namespace())
                        .filter(key)
                        .replacement(queued)
                        .upsert(true)
                        .build()
                        .into()
                })
                .collect();
            let key = doc! { "guild_id": guild_id };
            models.push(match users.last() {
                Some(last) if users.len() == limit as usize => mongodb::options::UpdateOneModel::builder()
                    .namespace(sweeps.namespace())
                    .filter(key)
                    .update(doc! { "$set": { "after_user": *last } })
                    .build()
                    .into(),
                _ => {
                    mongodb::options::DeleteOneModel::builder().namespace(sweeps.namespace()).filter(key).build().into()
                }
            });
            connection.client.bulk_write(models).session(&mut *session).run()?;
            Ok(true)
        })
    }

    /// Removes members from the reward queue, each only if not queued again since.
    fn finish_reward_syncs(&self, done: &[(Id, Id, i64)]) -> Result<(), StoreError> {
        let connection = self.connect()?;
        let queue = connection.collection("reward_queue");
        let models = done.iter().map(|(g, u, at)| {
            mongodb::options::DeleteOneModel::builder()
                .namespace(queue.namespace())
                .filter(doc! { "guild_id": *g as i64, "user_id": *u as i64, "queued_at": *at })
                .build()
        });
        bulk_in_transaction(&connection, models.map(Into::into).collect())
    }

    /// Records that Tally cannot give a reward role; true the first time.
    fn note_reward_problem(&self, guild_id: Id, role_id: Id, at_ms: i64) -> Result<bool, StoreError> {
        let connection = self.connect()?;
        let key = doc! { "guild_id": guild_id as i64, "role_id": role_id as i64 };
        let problems = connection.collection("reward_problems");
        patient_transaction(&connection, |session| {
            let outcome = problems
                .update_one(key.clone(), doc! { "$setOnInsert": { "noticed_at": at_ms } })
                .upsert(true)
                .session(session)
                .run()?;
            Ok(outcome.upserted_id.is_some())
        })
    }

    /// Forgets a reward problem once the role could be given.
    fn clear_reward_problem(&self, guild_id: Id, role_id: Id) -> Result<(), StoreError> {
        let connection = self.connect()?;
        let problems = connection.collection("reward_problems");
        patient_transaction(&connection, |session| {
            problems
                .delete_one(doc! { "guild_id": guild_id as i64, "role_id": role_id as i64 })
                .session(session)
                .run()?;
            Ok(())
        })
    }

    /// Takes the turn to IDENTIFY in `bucket` when the last one, by any
    /// process, is at least `interval` old, by the server's clock (`$$NOW`,
    /// the one clock all processes share). None when taken; otherwise how long
    /// until it is free.
    fn take_identify_turn(&self, bucket: u32, interval: Duration) -> Result<Option<Duration>, StoreError> {
        let connection = self.connect()?;
        let ms = interval.as_millis() as i64;
        let pipeline = vec![
            doc! { "$set": { "now": { "$toLong": "$$NOW" } } },
            doc! { "$set": { "taken": { "$lte": [{ "$ifNull": ["$last_at", 0_i64] }, { "$subtract": ["$now", ms] }] } } },
            doc! { "$set": { "last_at": { "$cond": ["$taken", "$now", "$last_at"] } } },
        ];
        let turn = connection
            .collection("identify_turns")
            .find_one_and_update(doc! { "bucket": i64::from(bucket) }, pipeline)
            .upsert(true)
            .return_document(mongodb::options::ReturnDocument::After)
            .run()?
            .ok_or_else(|| StoreError::Corrupt("identify turn upsert returned nothing".into()))?;
        if turn.get_bool("taken").unwrap_or(false) {
            return Ok(None);
        }
        let wait = opt_int(&turn, "last_at").unwrap_or(0) + ms - int(&turn, "now");
        Ok(Some(Duration::from_millis(wait.clamp(0, ms) as u64)))
    }

    fn begin_login(&self, login: &PendingLogin) -> Result<(), StoreError> {
        super::web_sessions::begin_login(&self.connect()?, login)
    }

    fn take_login(&self, state_hash: &str, now_ms: i64) -> Result<Option<PendingLogin>, StoreError> {
        super::web_sessions::take_login(&self.connect()?, state_hash, now_ms)
    }

    fn save_web_session(&self, session: &WebSession) -> Result<(), StoreError> {
        super::web_sessions::save_session(&self.connect()?, session)
    }

    fn web_session(&self, id_hash: &str, now_ms: i64) -> Result<Option<WebSession>, StoreError> {
        super::web_sessions::session(&self.connect()?, id_hash, now_ms)
    }

    fn end_web_session(&self, id_hash: &str) -> Result<Option<WebSession>, StoreError> {
        super::web_sessions::end_session(&self.connect()?, id_hash)
    }
}
