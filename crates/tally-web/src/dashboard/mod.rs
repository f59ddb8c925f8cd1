//! The dashboard's sign-in with Discord (OAuth2 authorization code grant
//! with PKCE) and the list of servers a signed-in admin may manage.
//!
//! - `GET /login` starts a login: a random `state` (bound to this browser
//!   by a login cookie) and PKCE verifier are stored, hashed where they are
//!   secrets, and the browser goes to Discord.
//! - `GET /auth/callback` takes that login once, checks the browser, trades
//!   the code for tokens, reads who signed in and their servers, and
//!   creates a session in the database; the browser holds only its random
//!   id in an `HttpOnly`, `SameSite=Lax` cookie (`Secure` and `__Host-` over
//!   https).
//! - `GET /dashboard` lists the servers the user may manage where Tally is,
//!   and invite links for the others; the list is read again from Discord
//!   when it is more than [`GUILDS_MAX_AGE_MS`] old.
//! - `POST /logout`, from the dashboard's own pages only, ends the session
//!   and revokes Discord's token.
//!
//! Without `DISCORD_CLIENT_SECRET` all of this is off, and `/login` says how
//! to turn it on.

pub mod access;
pub mod cookies;
pub mod discord;
mod pages;

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use tally_discord::context::Context;
use tally_store::web_sessions::{PendingLogin, WebSession, LOGIN_MS};

use access::ListedGuild;
use cookies::{CookieJar, LOGIN, SESSION};
use discord::OAuthClient;

/// How long a session lasts at most.
pub const SESSION_MS: i64 = 7 * 86_400_000;
/// How old the list of a user's servers may be before it is read again.
pub const GUILDS_MAX_AGE_MS: i64 = 60_000;
/// The permissions the invite link asks for (as the README's invite link).
const INVITE_PERMISSIONS: u64 = 268_487_680;

/// How the dashboard is set up (`DISCORD_CLIENT_SECRET`, `DISCORD_CLIENT_ID`,
/// `TALLY_PUBLIC_URL`).
#[derive(Clone, Default)]
pub struct Settings {
    /// The application's OAuth2 client secret; None turns the dashboard off.
    pub client_secret: Option<String>,
    /// The OAuth2 client id, when it is not the application's id.
    pub client_id: Option<u64>,
    /// Where people reach the web page; None: the web server's own address.
    pub public_url: Option<String>,
    /// Where Discord is (`DISCORD_API_BASE`).
    pub api_base: String,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The client secret is never shown, not even in part: only whether sign-in is on.
        f.debug_struct("Settings")
            .field("sign_in", &self.client_secret.is_some())
            .field("client_id", &self.client_id)
            .field("public_url", &self.public_url)
            .field("api_base", &self.api_base)
            .finish()
    }
}

/// What the dashboard's handlers share.
pub struct Dashboard {
    context: Arc<Context>,
    /// None when the dashboard is off.
    oauth: Option<OAuthClient>,
    public_url: String,
    jar: CookieJar,
}

impl Dashboard {
    /// The dashboard for a web server listening at `addr`.
    pub fn new(context: Arc<Context>, settings: &Settings, addr: std::net::SocketAddr) -> Self {
        let public_url =
            settings.public_url.clone().unwrap_or_else(|| format!("http://{addr}")).trim_end_matches('/').to_owned();
        let client_id = settings.client_id.unwrap_or_else(|| context.application_id.get());
        let oauth =
            settings.client_secret.as_deref().map(|secret| OAuthClient::new(&settings.api_base, client_id, secret));
        Self { context, oauth, jar: CookieJar::for_url(&public_url), public_url }
    }

    /// The redirect URI to register in the Developer Portal.
    pub fn redirect_uri(&self) -> String {
        format!("{}/auth/callback", self.public_url)
    }

    /// Whether signing in is on.
    pub fn is_on(&self) -> bool {
        self.oauth.is_some()
    }
}

/// The dashboard's routes.
pub fn router(dashboard: Arc<Dashboard>) -> Router {
    Router::new()
        .route("/login", get(login))
        .route("/auth/callback", get(callback))
        .route("/dashboard", get(servers))
        .route("/logout", post(logout))
        .with_state(dashboard)
}

fn page(status: StatusCode, html: String) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response()
}

fn redirect(to: &str, cookies: &[String]) -> Response {
    let mut response = (StatusCode::FOUND, [(header::LOCATION, to.to_owned())]).into_response();
    for cookie in cookies {
        if let Ok(value) = cookie.parse() {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    response
}

/// Runs a store call off the async threads.
async fn store<T: Send + 'static>(
    dashboard: &Dashboard,
    call: impl FnOnce(&tally_store::Database) -> Result<T, tally_store::StoreError> + Send + 'static,
) -> Result<T, Response> {
    let database = dashboard.context.database.clone();
    match tokio::task::spawn_blocking(move || call(&database)).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => {
            tracing::warn!(%error, "the dashboard could not reach the database");
            Err(page(
                StatusCode::SERVICE_UNAVAILABLE,
                pages::problem("The database did not answer; try again in a moment."),
            ))
        }
        Err(_) => Err(page(StatusCode::INTERNAL_SERVER_ERROR, pages::problem("Something went wrong."))),
    }
}

#[derive(Debug, Deserialize)]
struct LoginQuery {
    return_to: Option<String>,
}

/// Only the dashboard's own pages are places to return to.
fn safe_return(to: Option<String>) -> String {
    to.filter(|t| t == "/dashboard" || t.starts_with("/dashboard/"))
        .filter(|t| !t.contains("//"))
        .unwrap_or_else(|| "/dashboard".to_owned())
}

async fn login(State(dashboard): State<Arc<Dashboard>>, Query(query): Query<LoginQuery>) -> Response {
    let Some(oauth) = &dashboard.oauth else {
        return page(StatusCode::SERVICE_UNAVAILABLE, pages::off(&dashboard.redirect_uri()));
    };
    let (state, verifier, browser) = (cookies::random_id(), cookies::random_id(), cookies::random_id());
    let pending = PendingLogin {
        state_hash: cookies::hash(&state),
        browser_hash: cookies::hash(&browser),
        verifier: verifier.clone(),
        return_to: safe_return(query.return_to),
        created_at_ms: tally_domain::days::now_ms(),
    };
    if let Err(response) = store(&dashboard, move |db| db.begin_login(&pending)).await {
        return response;
    }
    let to = oauth.authorize_url(&dashboard.redirect_uri(), &state, &cookies::challenge(&verifier));
    redirect(&to, &[dashboard.jar.set(LOGIN, &browser, LOGIN_MS / 1000)])
}

#[derive(Debug, Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

async fn callback(
    State(dashboard): State<Arc<Dashboard>>,
    headers: HeaderMap,
    Query(query): Query<CallbackQuery>,
) -> Response {
    let Some(oauth) = &dashboard.oauth else {
        return page(StatusCode::SERVICE_UNAVAILABLE, pages::off(&dashboard.redirect_uri()));
    };
    let refused = |why: &str| page(StatusCode::BAD_REQUEST, pages::problem(why));
    if let Some(error) = query.error {
        return refused(&format!("Discord did not sign you in ({error}). Start again from the sign-in link."));
    }
    let (Some(code), Some(state)) = (query.code, query.state) else {
        return refused("This sign-in answer is incomplete. Start again from the sign-in link.");
    };
    let now = tally_domain::days::now_ms();
    let state_hash = cookies::hash(&state);
    let login = match store(&dashboard, move |db| db.take_login(&state_hash, now)).await {
        Ok(login) => login,
        Err(response) => return response,
    };
    let browser = dashboard.jar.get(&headers, LOGIN).map(|b| cookies::hash(&b));
    let Some(login) = login.filter(|l| Some(&l.browser_hash) == browser.as_ref()) else {
        return refused(
            "This sign-in is unknown, used already, expired, or was started in another browser. Start again.",
        );
    };
    let tokens = match oauth.exchange(&code, &dashboard.redirect_uri(), &login.verifier).await {
        Ok(tokens) => tokens,
        Err(error) => {
            tracing::info!(%error, "a dashboard sign-in was refused by Discord");
            return refused("Discord refused this sign-in. Start again.");
        }
    };
    let (me, guilds) = match tokio::try_join!(oauth.me(&tokens.access_token), oauth.guilds(&tokens.access_token)) {
        Ok(both) => both,
        Err(error) => {
            tracing::warn!(%error, "Discord did not say who signed in to the dashboard");
            return page(StatusCode::BAD_GATEWAY, pages::problem("Discord did not answer; try again in a moment."));
        }
    };
    let Ok(user_id) = me.id.parse::<u64>() else {
        return page(StatusCode::BAD_GATEWAY, pages::problem("Discord's answer made no sense; try again."));
    };
    let id = cookies::random_id();
    let session = WebSession {
        id_hash: cookies::hash(&id),
        user_id,
        user_name: me.global_name.unwrap_or(me.username),
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token,
        token_expires_at_ms: now + tokens.expires_in.saturating_mul(1000),
        guilds_json: guilds,
        guilds_read_at_ms: now,
        created_at_ms: now,
        expires_at_ms: now + SESSION_MS,
    };
    tracing::info!(user_id, "signed in to the dashboard");
    if let Err(response) = store(&dashboard, move |db| db.save_web_session(&session)).await {
        return response;
    }
    redirect(&login.return_to, &[dashboard.jar.set(SESSION, &id, SESSION_MS / 1000), dashboard.jar.set(LOGIN, "", 0)])
}

/// The signed-in user's session, or the way to sign in.
async fn signed_in(dashboard: &Dashboard, headers: &HeaderMap, here: &str) -> Result<WebSession, Response> {
    let to_login = || redirect(&format!("/login?return_to={}", cookies::percent_encode(here)), &[]);
    let Some(id) = dashboard.jar.get(headers, SESSION) else { return Err(to_login()) };
    let id_hash = cookies::hash(&id);
    let now = tally_domain::days::now_ms();
    store(dashboard, move |db| db.web_session(&id_hash, now)).await?.ok_or_else(to_login)
}

async fn servers(State(dashboard): State<Arc<Dashboard>>, headers: HeaderMap) -> Response {
    let Some(oauth) = &dashboard.oauth else {
        return page(StatusCode::SERVICE_UNAVAILABLE, pages::off(&dashboard.redirect_uri()));
    };
    let mut session = match signed_in(&dashboard, &headers, "/dashboard").await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let now = tally_domain::days::now_ms();
    if now - session.guilds_read_at_ms > GUILDS_MAX_AGE_MS {
        if let Some(oauth) = &dashboard.oauth {
            match oauth.guilds(&session.access_token).await {
                Ok(guilds) => {
                    session.guilds_json = guilds;
                    session.guilds_read_at_ms = now;
                    let saved = session.clone();
                    if let Err(response) = store(&dashboard, move |db| db.save_web_session(&saved)).await {
                        return response;
                    }
                }
                Err(error) => {
                    tracing::info!(%error, "could not read a dashboard user's servers again");
                    return page(
                        StatusCode::BAD_GATEWAY,
                        pages::problem("Discord did not list your servers; try again in a moment."),
                    );
                }
            }
        }
    }
    let listed: Vec<ListedGuild> = serde_json::from_str(&session.guilds_json).unwrap_or_default();
    let managed: Vec<ListedGuild> = listed.into_iter().filter(ListedGuild::may_manage).collect();
    let ids: Vec<u64> = managed.iter().filter_map(ListedGuild::guild_id).collect();
    let reader = Arc::clone(&dashboard.context.reader);
    let present = tokio::task::spawn_blocking(move || -> Result<Vec<bool>, tally_store::StoreError> {
        ids.iter().map(|id| reader.guild(*id).map(|g| g.is_some())).collect()
    })
    .await;
    let Ok(Ok(present)) = present else {
        return page(
            StatusCode::SERVICE_UNAVAILABLE,
            pages::problem("The database did not answer; try again in a moment."),
        );
    };
    let (mut with_tally, mut without) = (Vec::new(), Vec::new());
    for (guild, here) in managed.into_iter().zip(present) {
        if here {
            with_tally.push(guild);
        } else {
            without.push(guild);
        }
    }
    let invite = |guild: &ListedGuild| {
        format!(
            "{}/oauth2/authorize?client_id={}&scope=bot%20applications.commands&permissions={INVITE_PERMISSIONS}&guild_id={}",
            oauth.api_base(),
            dashboard.context.application_id.get(),
            guild.id
        )
    };
    let invites: Vec<(ListedGuild, String)> = without.into_iter().map(|g| (g.clone(), invite(&g))).collect();
    page(StatusCode::OK, pages::servers(&session.user_name, &with_tally, &invites))
}

async fn logout(State(dashboard): State<Arc<Dashboard>>, headers: HeaderMap) -> Response {
    if !cookies::same_origin(&headers, &dashboard.public_url) {
        return page(StatusCode::FORBIDDEN, pages::problem("Signing out works from the dashboard's own pages only."));
    }
    let ended = match dashboard.jar.get(&headers, SESSION) {
        Some(id) => {
            let id_hash = cookies::hash(&id);
            match store(&dashboard, move |db| db.end_web_session(&id_hash)).await {
                Ok(ended) => ended,
                Err(response) => return response,
            }
        }
        None => None,
    };
    if let (Some(session), Some(oauth)) = (ended, &dashboard.oauth) {
        if let Err(error) = oauth.revoke(&session.access_token).await {
            tracing::warn!(%error, user_id = session.user_id, "Discord did not revoke a signed-out user's token");
        }
    }
    let mut response = redirect("/", &[dashboard.jar.set(SESSION, "", 0)]);
    *response.status_mut() = StatusCode::SEE_OTHER;
    response
}
