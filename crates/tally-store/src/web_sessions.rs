//! The dashboard's sign-ins, as stored: logins in progress (an OAuth2
//! `state` bound to one browser, with its PKCE verifier, used once) and
//! sessions. The browser holds only random ids; the database holds their
//! SHA-256, so a copy of the database opens no session. Discord's tokens
//! are kept here and never leave the server. Neither table is moved by
//! `tally copy`: after a move, admins sign in again.

use crate::domain::activity::Id;

/// How long a login may take, from `/login` to Discord sending the browser
/// back; older ones are refused and deleted.
pub const LOGIN_MS: i64 = 10 * 60 * 1000;

/// A login in progress, waiting for Discord's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingLogin {
    /// SHA-256 (hex) of the OAuth2 `state` sent to Discord.
    pub state_hash: String,
    /// SHA-256 (hex) of the id in the browser's login cookie: the answer
    /// counts only in the browser that started the login.
    pub browser_hash: String,
    /// The PKCE verifier whose challenge went to Discord.
    pub verifier: String,
    /// The dashboard page to open once signed in.
    pub return_to: String,
    /// When the login started, Unix ms.
    pub created_at_ms: i64,
}

/// A signed-in dashboard visitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSession {
    /// SHA-256 (hex) of the id in the browser's session cookie.
    pub id_hash: String,
    /// Their Discord user id.
    pub user_id: Id,
    /// The name Discord shows for them.
    pub user_name: String,
    /// Discord's access token for them (scopes `identify guilds`).
    pub access_token: String,
    /// Discord's refresh token.
    pub refresh_token: String,
    /// When the access token expires, Unix ms.
    pub token_expires_at_ms: i64,
    /// Their servers as Discord last listed them (JSON).
    pub guilds_json: String,
    /// When that list was read, Unix ms.
    pub guilds_read_at_ms: i64,
    /// When they signed in, Unix ms.
    pub created_at_ms: i64,
    /// When the session ends whatever happens, Unix ms.
    pub expires_at_ms: i64,
}
