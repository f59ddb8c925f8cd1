//! Discord's side of signing in: the OAuth2 token endpoint (code exchange
//! with the PKCE verifier, revocation) and what the user's token may read
//! (who they are, their servers with their permissions there). Tokens go
//! to Discord only, in request bodies and headers, never into a log.

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE};
use hyper::{Method, Request};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;

/// Largest answer read from Discord.
const MAX_ANSWER: usize = 1024 * 1024;
/// Longest wait for one answer.
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Tokens Discord gave for a user.
#[derive(Debug, Deserialize)]
pub struct Tokens {
    /// The access token (a bearer token).
    pub access_token: String,
    /// The refresh token.
    pub refresh_token: String,
    /// Seconds the access token lasts.
    pub expires_in: i64,
}

/// The user, as `/users/@me` says.
#[derive(Debug, Deserialize)]
pub struct Me {
    /// Their id (a string of a snowflake).
    pub id: String,
    /// Their unique username.
    pub username: String,
    /// Their display name, if set.
    pub global_name: Option<String>,
}

/// A client for Discord's OAuth2 endpoints and the user's token.
pub struct OAuthClient {
    http: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
    api_base: String,
    client_id: u64,
    client_secret: String,
}

impl std::fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthClient").field("api_base", &self.api_base).field("client_id", &self.client_id).finish()
    }
}

impl OAuthClient {
    /// A client for the Discord at `api_base` (`https://discord.com` or a simulator).
    pub fn new(api_base: &str, client_id: u64, client_secret: &str) -> Self {
        tally_discord::tls::install_crypto_provider();
        let connector =
            hyper_rustls::HttpsConnectorBuilder::new().with_webpki_roots().https_or_http().enable_http1().build();
        Self {
            http: Client::builder(TokioExecutor::new()).build(connector),
            api_base: api_base.trim_end_matches('/').to_owned(),
            client_id,
            client_secret: client_secret.to_owned(),
        }
    }

    /// Where Discord is.
    pub fn api_base(&self) -> &str {
        &self.api_base
    }

    /// Where the browser goes to sign in.
    pub fn authorize_url(&self, redirect_uri: &str, state: &str, challenge: &str) -> String {
        format!(
            "{}/oauth2/authorize?response_type=code&client_id={}&redirect_uri={}&scope=identify%20guilds&state={state}&code_challenge={challenge}&code_challenge_method=S256",
            self.api_base,
            self.client_id,
            super::cookies::percent_encode(redirect_uri),
        )
    }

    /// Trades an authorization code for tokens.
    pub async fn exchange(&self, code: &str, redirect_uri: &str, verifier: &str) -> Result<Tokens, String> {
        let form = form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
        ]);
        let body = self.token_call("/api/v10/oauth2/token", form).await?;
        serde_json::from_slice(&body).map_err(|e| format!("unexpected token answer: {e}"))
    }

    /// Revokes a token (and so the whole authorization).
    pub async fn revoke(&self, token: &str) -> Result<(), String> {
        let form = form(&[("token", token), ("token_type_hint", "access_token")]);
        self.token_call("/api/v10/oauth2/token/revoke", form).await.map(drop)
    }

    /// Who the token belongs to.
    pub async fn me(&self, access_token: &str) -> Result<Me, String> {
        let body = self.bearer_get("/api/v10/users/@me", access_token).await?;
        serde_json::from_slice(&body).map_err(|e| format!("unexpected /users/@me answer: {e}"))
    }

    /// The user's servers, as Discord lists them (JSON), with `owner` and
    /// `permissions` for each.
    pub async fn guilds(&self, access_token: &str) -> Result<String, String> {
        let body = self.bearer_get("/api/v10/users/@me/guilds", access_token).await?;
        let parsed: Vec<super::access::ListedGuild> =
            serde_json::from_slice(&body).map_err(|e| format!("unexpected /users/@me/guilds answer: {e}"))?;
        serde_json::to_string(&parsed).map_err(|e| e.to_string())
    }

    async fn token_call(&self, path: &str, form: String) -> Result<Vec<u8>, String> {
        let credentials = super::cookies::basic_credentials(&self.client_id.to_string(), &self.client_secret);
        let request = Request::builder()
            .method(Method::POST)
            .uri(format!("{}{path}", self.api_base))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(AUTHORIZATION, format!("Basic {credentials}"))
            .body(Full::new(Bytes::from(form)))
            .map_err(|e| e.to_string())?;
        self.send(request).await
    }

    async fn bearer_get(&self, path: &str, token: &str) -> Result<Vec<u8>, String> {
        let request = Request::builder()
            .method(Method::GET)
            .uri(format!("{}{path}", self.api_base))
            .header(AUTHORIZATION, format!("Bearer {token}"))
            .body(Full::new(Bytes::new()))
            .map_err(|e| e.to_string())?;
        self.send(request).await
    }

    async fn send(&self, request: Request<Full<Bytes>>) -> Result<Vec<u8>, String> {
        let call = async {
            let response = self.http.request(request).await.map_err(|e| e.to_string())?;
            let status = response.status();
            let body = Limited::new(response.into_body(), MAX_ANSWER).collect().await.map_err(|e| e.to_string())?;
            if !status.is_success() {
                return Err(format!("Discord answered {status}"));
            }
            Ok(body.to_bytes().to_vec())
        };
        tokio::time::timeout(TIMEOUT, call).await.map_err(|_| "no answer from Discord in time".to_owned())?
    }
}

/// A form-encoded body.
fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", super::cookies::percent_encode(k), super::cookies::percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}
