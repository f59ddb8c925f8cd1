//! The dashboard's sign-ins on PostgreSQL (see [`crate::web_sessions`]),
//! each call on a connection of its own, as the other writes made apart
//! from the ledger.

use postgres::{Client, Row};

use crate::web_sessions::{PendingLogin, WebSession, LOGIN_MS};
use crate::StoreError;

const LOGIN_COLUMNS: &str = "state_hash, browser_hash, verifier, return_to, created_at";
const SESSION_COLUMNS: &str = "id_hash, user_id, user_name, access_token, refresh_token, token_expires_at, \
                               guilds, guilds_read_at, created_at, expires_at";

fn login_of(r: &Row) -> PendingLogin {
    PendingLogin {
        state_hash: r.get(0),
        browser_hash: r.get(1),
        verifier: r.get(2),
        return_to: r.get(3),
        created_at_ms: r.get(4),
    }
}

fn session_of(r: &Row) -> WebSession {
    WebSession {
        id_hash: r.get(0),
        user_id: r.get::<_, i64>(1) as u64,
        user_name: r.get(2),
        access_token: r.get(3),
        refresh_token: r.get(4),
        token_expires_at_ms: r.get(5),
        guilds_json: r.get(6),
        guilds_read_at_ms: r.get(7),
        created_at_ms: r.get(8),
        expires_at_ms: r.get(9),
    }
}

pub(super) fn begin_login(client: &mut Client, login: &PendingLogin) -> Result<(), StoreError> {
    client.execute(
        &format!("INSERT INTO web_logins ({LOGIN_COLUMNS}) VALUES ($1, $2, $3, $4, $5)"),
        &[&login.state_hash, &login.browser_hash, &login.verifier, &login.return_to, &login.created_at_ms],
    )?;
    Ok(())
}

pub(super) fn take_login(
    client: &mut Client,
    state_hash: &str,
    now_ms: i64,
) -> Result<Option<PendingLogin>, StoreError> {
    let mut tx = client.transaction()?;
    tx.execute("DELETE FROM web_logins WHERE created_at < $1", &[&(now_ms - LOGIN_MS)])?;
    let row = tx.query_opt(
        &format!("DELETE FROM web_logins WHERE state_hash = $1 RETURNING {LOGIN_COLUMNS}"),
        &[&state_hash],
    )?;
    tx.commit()?;
    Ok(row.as_ref().map(login_of))
}

pub(super) fn save_session(client: &mut Client, session: &WebSession) -> Result<(), StoreError> {
    let mut tx = client.transaction()?;
    tx.execute("DELETE FROM web_sessions WHERE expires_at <= $1", &[&session.created_at_ms])?;
    tx.execute(
        &format!(
            "INSERT INTO web_sessions ({SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (id_hash) DO UPDATE SET user_id = EXCLUDED.user_id, user_name = EXCLUDED.user_name,
                 access_token = EXCLUDED.access_token, refresh_token = EXCLUDED.refresh_token,
                 token_expires_at = EXCLUDED.token_expires_at, guilds = EXCLUDED.guilds,
                 guilds_read_at = EXCLUDED.guilds_read_at, created_at = EXCLUDED.created_at,
                 expires_at = EXCLUDED.expires_at"
        ),
        &[
            &session.id_hash,
            &(session.user_id as i64),
            &session.user_name,
            &session.access_token,
            &session.refresh_token,
            &session.token_expires_at_ms,
            &session.guilds_json,
            &session.guilds_read_at_ms,
            &session.created_at_ms,
            &session.expires_at_ms,
        ],
    )?;
    tx.commit()?;
    Ok(())
}

pub(super) fn session(client: &mut Client, id_hash: &str, now_ms: i64) -> Result<Option<WebSession>, StoreError> {
    let row = client.query_opt(
        &format!("SELECT {SESSION_COLUMNS} FROM web_sessions WHERE id_hash = $1 AND expires_at > $2"),
        &[&id_hash, &now_ms],
    )?;
    Ok(row.as_ref().map(session_of))
}

pub(super) fn end_session(client: &mut Client, id_hash: &str) -> Result<Option<WebSession>, StoreError> {
    let row = client
        .query_opt(&format!("DELETE FROM web_sessions WHERE id_hash = $1 RETURNING {SESSION_COLUMNS}"), &[&id_hash])?;
    Ok(row.as_ref().map(session_of))
}
