//! The dashboard's sign-ins on MongoDB (see [`crate::web_sessions`]): one
//! document per login in progress (`web_logins`) and per session
//! (`web_sessions`), each taken or ended by one atomic find-and-delete.

use mongodb::bson::{doc, Document};

use super::fields::{id, int, text};
use super::Connection;
use crate::web_sessions::{PendingLogin, WebSession, LOGIN_MS};
use crate::StoreError;

fn login_of(d: &Document) -> PendingLogin {
    PendingLogin {
        state_hash: text(d, "state_hash"),
        browser_hash: text(d, "browser_hash"),
        verifier: text(d, "verifier"),
        return_to: text(d, "return_to"),
        created_at_ms: int(d, "created_at"),
    }
}

fn session_of(d: &Document) -> WebSession {
    WebSession {
        id_hash: text(d, "id_hash"),
        user_id: id(d, "user_id"),
        user_name: text(d, "user_name"),
        access_token: text(d, "access_token"),
        refresh_token: text(d, "refresh_token"),
        token_expires_at_ms: int(d, "token_expires_at"),
        guilds_json: text(d, "guilds"),
        guilds_read_at_ms: int(d, "guilds_read_at"),
        created_at_ms: int(d, "created_at"),
        expires_at_ms: int(d, "expires_at"),
    }
}

pub(super) fn begin_login(connection: &Connection, login: &PendingLogin) -> Result<(), StoreError> {
    connection
        .collection("web_logins")
        .insert_one(doc! {
            "state_hash": &login.state_hash,
            "browser_hash": &login.browser_hash,
            "verifier": &login.verifier,
            "return_to": &login.return_to,
            "created_at": login.created_at_ms,
        })
        .run()?;
    Ok(())
}

pub(super) fn take_login(
    connection: &Connection,
    state_hash: &str,
    now_ms: i64,
) -> Result<Option<PendingLogin>, StoreError> {
    let logins = connection.collection("web_logins");
    let oldest = now_ms - LOGIN_MS;
    logins.delete_many(doc! { "created_at": { "$lt": oldest } }).run()?;
    let taken =
        logins.find_one_and_delete(doc! { "state_hash": state_hash, "created_at": { "$gte": oldest } }).run()?;
    Ok(taken.as_ref().map(login_of))
}

pub(super) fn save_session(connection: &Connection, session: &WebSession) -> Result<(), StoreError> {
    let sessions = connection.collection("web_sessions");
    sessions.delete_many(doc! { "expires_at": { "$lte": session.created_at_ms } }).run()?;
    let stored = doc! {
        "id_hash": &session.id_hash,
        "user_id": session.user_id as i64,
        "user_name": &session.user_name,
        "access_token": &session.access_token,
        "refresh_token": &session.refresh_token,
        "token_expires_at": session.token_expires_at_ms,
        "guilds": &session.guilds_json,
        "guilds_read_at": session.guilds_read_at_ms,
        "created_at": session.created_at_ms,
        "expires_at": session.expires_at_ms,
    };
    sessions.replace_one(doc! { "id_hash": &session.id_hash }, stored).upsert(true).run()?;
    Ok(())
}

pub(super) fn session(connection: &Connection, id_hash: &str, now_ms: i64) -> Result<Option<WebSession>, StoreError> {
    let found = connection
        .collection("web_sessions")
        .find_one(doc! { "id_hash": id_hash, "expires_at": { "$gt": now_ms } })
        .run()?;
    Ok(found.as_ref().map(session_of))
}

pub(super) fn end_session(connection: &Connection, id_hash: &str) -> Result<Option<WebSession>, StoreError> {
    let ended = connection.collection("web_sessions").find_one_and_delete(doc! { "id_hash": id_hash }).run()?;
    Ok(ended.as_ref().map(session_of))
}
