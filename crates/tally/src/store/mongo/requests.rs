//! Requests for the ledger (imports, erasures) on MongoDB: stored once per
//! (server, kind, digest), numbered in order like PostgreSQL's serial ids.

use mongodb::bson::{doc, Bson, Document};

use super::fields::{id, opt_int, text};
use super::{migrate, patient_transaction, Target};
use crate::domain::activity::Id;
use crate::store::{RequestState, StoreError};

fn state(d: &Document) -> RequestState {
    RequestState { id: id(d, "id"), picked_at_ms: opt_int(d, "picked_at"), done_at_ms: opt_int(d, "done_at") }
}

/// Stores requests for the ledger, or finds the same ones stored before;
/// their states, in the order given. Ids follow the highest stored one,
/// taken in a transaction: two processes submitting at once conflict, and
/// the one that lost tries again.
pub fn submit_requests(
    target: &Target,
    guild_id: Id,
    kind: &str,
    requests: &[(String, String)],
    at_ms: i64,
) -> Result<Vec<RequestState>, StoreError> {
    let connection = target.connect()?;
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
pub fn request_states(target: &Target, ids: &[Id]) -> Result<Vec<RequestState>, StoreError> {
    let connection = target.connect()?;
    let ids: Vec<i64> = ids.iter().map(|id| *id as i64).collect();
    let cursor =
        connection.collection("admin_requests").find(doc! { "id": { "$in": ids } }).sort(doc! { "id": 1 }).run()?;
    cursor.map(|d| d.map(|d| state(&d)).map_err(StoreError::from)).collect()
}

/// Requests stored before with these digests, without storing anything
/// (a dry run): None for each one not found, or when there is no schema yet.
pub fn find_requests(
    target: &Target,
    guild_id: Id,
    kind: &str,
    digests: &[String],
) -> Result<Vec<Option<RequestState>>, StoreError> {
    let connection = target.connect()?;
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
pub fn mark_requests_picked(target: &Target, ids: &[Id], at_ms: i64) -> Result<(), StoreError> {
    let connection = target.connect()?;
    let ids: Vec<i64> = ids.iter().map(|id| *id as i64).collect();
    let requests = connection.collection("admin_requests");
    patient_transaction(&connection, |session| {
        let set = doc! { "$set": { "picked_at": at_ms } };
        requests.update_many(doc! { "id": { "$in": ids.clone() } }, set).session(session).run()?;
        Ok(())
    })
}
