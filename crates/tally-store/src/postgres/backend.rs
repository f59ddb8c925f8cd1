//! A PostgreSQL server as a [`Backend`]: what Tally writes and reads
//! apart from the ledger (marks of what was sent, the command line's
//! requests and settings, identify turns), each on a connection of its own.

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::backend::Backend;
use crate::copy::CopyEnd;
use crate::domain::shards::ShardRange;
use crate::web_sessions::{PendingLogin, WebSession};
use crate::{Reader, Writer};

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

    fn open_readers(&self, connections: usize) -> Result<Arc<dyn Reader>, StoreError> {
        Ok(Arc::new(PgReader::open(self, connections)?))
    }

    fn for_each_ranked(
        &self,
        owned: Option<ShardRange>,
        snapshot_taken: &mut dyn FnMut(),
        each: &mut dyn FnMut(Id, Id, u64),
    ) -> Result<(), StoreError> {
        PgReader::open(self, 1)?.for_each_ranked(owned, snapshot_taken, each)
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
        let mut client = self.connect()?;
        migrate(&mut client)?;
        client.execute(
            "INSERT INTO guilds (guild_id, web_public) VALUES ($1, $2)
             ON CONFLICT (guild_id) DO UPDATE SET web_public = EXCLUDED.web_public",
            &[&(guild_id as i64), &public],
        )?;
        Ok(())
    }

    /// Records a member's rank card colour, or forgets it (None: the default).
    fn set_card_accent(&self, user_id: Id, accent: Option<u32>) -> Result<(), StoreError> {
        let mut client = self.connect()?;
        match accent {
            Some(accent) => client.execute(
                "INSERT INTO card_prefs (user_id, accent) VALUES ($1, $2)
                 ON CONFLICT (user_id) DO UPDATE SET accent = EXCLUDED.accent",
                &[&(user_id as i64), &i64::from(accent)],
            )?,
            None => client.execute("DELETE FROM card_prefs WHERE user_id = $1", &[&(user_id as i64)])?,
        };
        Ok(())
    }

    /// Marks level-ups as announced, in one statement.
    fn mark_levelups_sent(&self, keys: &[(Id, Id, u32, i64)], at_ms: i64) -> Result<(), StoreError> {
        let mut client = self.connect()?;
        let guilds: Vec<i64> = keys.iter().map(|k| k.0 as i64).collect();
        let users: Vec<i64> = keys.iter().map(|k| k.1 as i64).collect();
        let levels: Vec<i32> = keys.iter().map(|k| k.2 as i32).collect();
        let found: Vec<i64> = keys.iter().map(|k| k.3).collect();
        client.execute(
            "UPDATE levelups l SET sent_at = $4
             FROM UNNEST($1::int8[], $2::int8[], $3::int4[], $5::int8[]) AS k (guild_id, user_id, level, created_at)
             WHERE l.guild_id = k.guild_id AND l.user_id = k.user_id AND l.level = k.level
               AND l.created_at = k.created_at AND l.sent_at IS NULL",
            &[&guilds, &users, &levels, &at_ms, &found],
        )?;
        Ok(())
    }

    /// Marks join/leave posts as posted.
    fn mark_log_posts_sent(&self, keys: &[(Id, Id, MembershipChange, i64)], at_ms: i64) -> Result<(), StoreError> {
        let mut client = self.connect()?;
        let guilds: Vec<i64> = keys.iter().map(|k| k.0 as i64).collect();
        let users: Vec<i64> = keys.iter().map(|k| k.1 as i64).collect();
        let changes: Vec<&str> = keys.iter().map(|k| k.2.as_str()).collect();
        let at: Vec<i64> = keys.iter().map(|k| k.3).collect();
        client.execute(
            "UPDATE log_posts l SET sent_at = $5
             FROM UNNEST($1::int8[], $2::int8[], $3::text[], $4::int8[]) AS k (guild_id, user_id, change, at)
             WHERE l.guild_id = k.guild_id AND l.user_id = k.user_id AND l.change = k.change AND l.at = k.at",
            &[&guilds, &users, &changes, &at, &at_ms],
        )?;
        Ok(())
    }

    /// Stores requests for the ledger, or finds the same ones stored before;
    /// their states, in the order given.
    fn submit_requests(
        &self,
        guild_id: Id,
        kind: &str,
        requests: &[(String, String)],
        at_ms: i64,
    ) -> Result<Vec<crate::RequestState>, StoreError> {
        let mut client = self.connect()?;
        migrate(&mut client)?;
        let mut tx = client.transaction()?;
        let insert = tx.prepare(
            "INSERT INTO admin_requests (guild_id, kind, digest, payload, created_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (guild_id, kind, digest) DO NOTHING",
        )?;
        let find = tx.prepare(
            "SELECT id, picked_at, done_at FROM admin_requests WHERE guild_id = $1 AND kind = $2 AND digest = $3",
        )?;
        let mut states = Vec::with_capacity(requests.len());
        for (digest, payload) in requests {
            tx.execute(&insert, &[&(guild_id as i64), &kind, digest, payload, &at_ms])?;
            let row = tx.query_one(&find, &[&(guild_id as i64), &kind, digest])?;
            states.push(request_state(&row));
        }
        tx.commit()?;
        Ok(states)
    }

    /// The states of stored requests (unknown ids are left out).
    fn request_states(&self, ids: &[Id]) -> Result<Vec<crate::RequestState>, StoreError> {
        let mut client = self.connect()?;
        let ids: Vec<i64> = ids.iter().map(|id| *id as i64).collect();
        let rows = client
            .query("SELECT id, picked_at, done_at FROM admin_requests WHERE id = ANY($1) ORDER BY id", &[&ids])?;
        Ok(rows.iter().map(request_state).collect())
    }

    /// Requests stored before with these digests, without storing anything
    /// (a dry run): None for each one not found, or when there is no schema yet.
    fn find_requests(
        &self,
        guild_id: Id,
        kind: &str,
        digests: &[String],
    ) -> Result<Vec<Option<crate::RequestState>>, StoreError> {
        let mut client = self.connect()?;
        let exists: bool = client.query_one("SELECT to_regclass('admin_requests') IS NOT NULL", &[])?.get(0);
        if !exists {
            return Ok(vec![None; digests.len()]);
        }
        let rows = client.query(
            "SELECT id, picked_at, done_at, digest FROM admin_requests WHERE guild_id = $1 AND kind = $2 AND digest = ANY($3)",
            &[&(guild_id as i64), &kind, &digests],
        )?;
        let found: std::collections::HashMap<String, crate::RequestState> =
            rows.iter().map(|r| (r.get::<_, String>(3), request_state(r))).collect();
        Ok(digests.iter().map(|d| found.get(d).copied()).collect())
    }

    /// Notes that a running bot took requests into its ledger.
    fn mark_requests_picked(&self, ids: &[Id], at_ms: i64) -> Result<(), StoreError> {
        let mut client = self.connect()?;
        let ids: Vec<i64> = ids.iter().map(|id| *id as i64).collect();
        client.execute("UPDATE admin_requests SET picked_at = $2 WHERE id = ANY($1)", &[&ids, &at_ms])?;
        Ok(())
    }

    /// Queues the next `limit` present members of the oldest reward sweep on
    /// `shards`, and moves the sweep on (or ends it), in one transaction.
    /// False when no sweep was waiting.
    fn sweep_rewards(&self, shards: crate::domain::shards::ShardRange, limit: u32) -> Result<bool, StoreError> {
        let mut client = self.connect()?;
        let mut tx = client.transaction()?;
        let sweep = tx.query_opt(
            "SELECT guild_id, queued_at, after_user FROM reward_sweeps
             WHERE (guild_id >> 22) % $1 BETWEEN $2 AND $3 ORDER BY queued_at LIMIT 1 FOR UPDATE",
            &[&i64::from(shards.total), &i64::from(shards.first), &i64::from(shards.last)],
        )?;
        let Some(sweep) = sweep else {
            return Ok(false);
        };
        let (guild_id, queued_at, after): (i64, i64, i64) = (sweep.get(0), sweep.get(1), sweep.get(2));
        let users: Vec<i64> = tx
            .query(
                "SELECT user_id FROM members WHERE guild_id = $1 AND left_at IS NULL AND NOT bot AND user_id > $2
                 ORDER BY user_id LIMIT $3",
                &[&guild_id, &after, &i64::from(limit)],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect();
        tx.execute(
            "INSERT INTO reward_queue (guild_id, user_id, queued_at) SELECT $1, u, $3 FROM UNNEST($2::int8[]) AS u
             ON CONFLICT (guild_id, user_id) DO UPDATE SET queued_at = EXCLUDED.queued_at",
            &[&guild_id, &users, &queued_at],
        )?;
        match users.last() {
            Some(last) if users.len() == limit as usize => {
                tx.execute("UPDATE reward_sweeps SET after_user = $2 WHERE guild_id = $1", &[&guild_id, last])?;
            }
            _ => {
                tx.execute("DELETE FROM reward_sweeps WHERE guild_id = $1", &[&guild_id])?;
            }
        }
        tx.commit()?;
        Ok(true)
    }

    /// Removes members from the reward queue, each only if not queued again since.
    fn finish_reward_syncs(&self, done: &[(Id, Id, i64)]) -> Result<(), StoreError> {
        let mut client = self.connect()?;
        let guilds: Vec<i64> = done.iter().map(|k| k.0 as i64).collect();
        let users: Vec<i64> = done.iter().map(|k| k.1 as i64).collect();
        let at: Vec<i64> = done.iter().map(|k| k.2).collect();
        client.execute(
            "DELETE FROM reward_queue q USING UNNEST($1::int8[], $2::int8[], $3::int8[]) AS d (guild_id, user_id, at)
             WHERE q.guild_id = d.guild_id AND q.user_id = d.user_id AND q.queued_at = d.at",
            &[&guilds, &users, &at],
        )?;
        Ok(())
    }

    /// Records that Tally cannot give a reward role; true the first time.
    fn note_reward_problem(&self, guild_id: Id, role_id: Id, at_ms: i64) -> Result<bool, StoreError> {
        let mut client = self.connect()?;
        let new = client.execute(
            "INSERT INTO reward_problems (guild_id, role_id, noticed_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[&(guild_id as i64), &(role_id as i64), &at_ms],
        )?;
        Ok(new == 1)
    }

    /// Forgets a reward problem once the role could be given.
    fn clear_reward_problem(&self, guild_id: Id, role_id: Id) -> Result<(), StoreError> {
        let mut client = self.connect()?;
        client.execute(
            "DELETE FROM reward_problems WHERE guild_id = $1 AND role_id = $2",
            &[&(guild_id as i64), &(role_id as i64)],
        )?;
        Ok(())
    }

    /// Takes the turn to IDENTIFY in `bucket` when the last one, by any
    /// process, is at least `interval` old (by the server's clock, the one all
    /// processes share). None when taken; otherwise how long until it is free.
    fn take_identify_turn(&self, bucket: u32, interval: Duration) -> Result<Option<Duration>, StoreError> {
        let mut client = self.connect()?;
        let seconds = interval.as_secs_f64();
        let row = client.query_one(
            "WITH claimed AS (
                 INSERT INTO identify_turns (bucket, last_at) VALUES ($1, clock_timestamp())
                 ON CONFLICT (bucket) DO UPDATE SET last_at = clock_timestamp()
                 WHERE identify_turns.last_at <= clock_timestamp() - make_interval(secs => $2)
                 RETURNING 1
             )
             SELECT EXISTS (SELECT 1 FROM claimed),
                    (SELECT EXTRACT(EPOCH FROM last_at + make_interval(secs => $2) - clock_timestamp())::float8
                     FROM identify_turns WHERE bucket = $1)",
            &[&(bucket as i32), &seconds],
        )?;
        if row.get::<_, bool>(0) {
            return Ok(None);
        }
        let wait: Option<f64> = row.get(1);
        Ok(Some(Duration::from_secs_f64(wait.unwrap_or(seconds).clamp(0.0, seconds))))
    }

    fn begin_login(&self, login: &PendingLogin) -> Result<(), StoreError> {
        super::web_sessions::begin_login(&mut self.connect()?, login)
    }

    fn take_login(&self, state_hash: &str, now_ms: i64) -> Result<Option<PendingLogin>, StoreError> {
        super::web_sessions::take_login(&mut self.connect()?, state_hash, now_ms)
    }

    fn save_web_session(&self, session: &WebSession) -> Result<(), StoreError> {
        super::web_sessions::save_session(&mut self.connect()?, session)
    }

    fn web_session(&self, id_hash: &str, now_ms: i64) -> Result<Option<WebSession>, StoreError> {
        super::web_sessions::session(&mut self.connect()?, id_hash, now_ms)
    }

    fn end_web_session(&self, id_hash: &str) -> Result<Option<WebSession>, StoreError> {
        super::web_sessions::end_session(&mut self.connect()?, id_hash)
    }
}
