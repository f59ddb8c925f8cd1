//! What the simulated Discord remembers of OAuth2 authorizations: codes
//! waiting to be exchanged, live access tokens and refresh tokens, each
//! tied to the authorization it came from. Kept in the simulator's state;
//! the endpoints that use it are in `oauth2`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

/// How long an authorization code may wait to be exchanged.
pub(crate) const CODE_LIFETIME: Duration = Duration::from_secs(600);
/// How long an access token lasts, in seconds (Discord: a week).
pub(crate) const ACCESS_SECONDS: u64 = 604_800;

/// One authorization a user gave: who, which scopes.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub user_id: u64,
    pub scopes: Vec<String>,
    /// Which authorization it is, so a revocation ends every token of it.
    pub authorization: u64,
    /// When its latest access token expires, Unix ms (for `/oauth2/@me`).
    pub expires_ms: u64,
}

/// A code waiting to be exchanged.
#[derive(Debug, Clone)]
pub(crate) struct Code {
    pub(crate) grant: Grant,
    pub(crate) redirect_uri: String,
    /// The PKCE challenge and its method (`S256` or `plain`), if one was sent.
    pub(crate) challenge: Option<(String, String)>,
    pub(crate) issued: Instant,
}

/// A live access token.
#[derive(Debug, Clone)]
pub(crate) struct Access {
    pub(crate) grant: Grant,
    pub(crate) expires: Instant,
}

/// Everything the OAuth2 endpoints remember.
#[derive(Debug, Default)]
pub(crate) struct OAuth {
    /// Redirect URIs registered for the application.
    pub redirect_uris: Vec<String>,
    /// Who an authorization logs in without asking, when a test chose.
    pub login_as: Option<u64>,
    pub(crate) codes: HashMap<String, Code>,
    pub(crate) access: HashMap<String, Access>,
    pub(crate) refresh: HashMap<String, Grant>,
    pub(crate) next_authorization: u64,
    /// Code exchanges refused, for tests.
    pub refused_exchanges: u64,
}

impl OAuth {
    /// The grant behind a live access token.
    pub fn bearer(&self, token: &str) -> Option<&Grant> {
        self.access.get(token).filter(|a| a.expires > Instant::now()).map(|a| &a.grant)
    }

    /// Live access tokens of a user.
    pub fn live_tokens_of(&self, user_id: u64) -> usize {
        let now = Instant::now();
        self.access.values().filter(|a| a.grant.user_id == user_id && a.expires > now).count()
    }

    pub(crate) fn issue_tokens(&mut self, mut grant: Grant) -> Value {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or_default();
        grant.expires_ms = now_ms + ACCESS_SECONDS * 1000;
        let access = random_token();
        let refresh = random_token();
        let scope = grant.scopes.join(" ");
        self.access.insert(
            access.clone(),
            Access { grant: grant.clone(), expires: Instant::now() + Duration::from_secs(ACCESS_SECONDS) },
        );
        self.refresh.insert(refresh.clone(), grant);
        json!({
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": ACCESS_SECONDS,
            "refresh_token": refresh,
            "scope": scope,
        })
    }

    pub(crate) fn revoke_authorization(&mut self, authorization: u64) {
        self.access.retain(|_, a| a.grant.authorization != authorization);
        self.refresh.retain(|_, g| g.authorization != authorization);
    }
}

/// A random token of 30 letters and digits.
pub(crate) fn random_token() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rngs::SmallRng::from_os_rng();
    (0..30).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}
