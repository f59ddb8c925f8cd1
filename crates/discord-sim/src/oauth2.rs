//! Discord's OAuth2 for logging in to a web site with Discord: the
//! authorization code grant, with PKCE, as Discord's docs describe it.
//!
//! - `GET /oauth2/authorize` checks the application, the redirect URI (it
//!   must be registered, as in the Developer Portal) and the scopes, then
//!   either logs in the user a test chose ([`crate::Simulator::oauth_login_as`])
//!   and redirects at once, or shows a page to pick who signs in; the
//!   page posts back to the same address.
//! - `POST /api/v10/oauth2/token` takes form-encoded bodies only and the
//!   client's credentials (HTTP Basic or in the body); a code is used once,
//!   within ten minutes, with the redirect URI it was given for and the
//!   PKCE verifier of its challenge. Refresh tokens are single-use too.
//! - `POST /api/v10/oauth2/token/revoke` ends the authorization a token
//!   belongs to: its access and refresh tokens both stop working.
//! - Bearer tokens read `/users/@me` (scope `identify`),
//!   `/users/@me/guilds` (scope `guilds`: each server with `owner` and
//!   `permissions` as a string, computed from the member's roles) and
//!   `/oauth2/@me`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::grants::{random_token, Code, Grant, CODE_LIFETIME};
use crate::payloads;
use crate::state::{Shared, State as SimState};

/// The scopes this simulator grants.
const KNOWN_SCOPES: [&str; 4] = ["identify", "guilds", "email", "guilds.members.read"];

/// The query of an authorization request.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
pub(crate) struct AuthorizeQuery {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    prompt: Option<String>,
}

/// What the sign-in page posts back.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct Consent {
    user_id: u64,
}

/// An authorization request checked: where to send the answer, and what to grant.
struct Checked {
    redirect_uri: String,
    scopes: Vec<String>,
    state: Option<String>,
    challenge: Option<(String, String)>,
}

/// An error shown on Discord's own page, when the redirect URI cannot be trusted.
fn error_page(message: &str) -> Response {
    let body = format!(
        "<!doctype html><html><head><title>Discord</title></head><body><h1>Authorization failed</h1><p id=\"error\">{}</p></body></html>",
        escape(message)
    );
    (StatusCode::BAD_REQUEST, Html(body)).into_response()
}

/// An error sent back to the site, as OAuth2 says (RFC 6749 §4.1.2.1).
fn error_redirect(redirect_uri: &str, error: &str, state: Option<&str>) -> Response {
    let mut url = format!("{redirect_uri}{}error={error}", separator(redirect_uri));
    if let Some(state) = state {
        url.push_str(&format!("&state={}", encode(state)));
    }
    found(&url)
}

/// A 302 to `url`, as Discord answers an authorization.
fn found(url: &str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, url.to_owned())]).into_response()
}

fn separator(uri: &str) -> char {
    if uri.contains('?') {
        '&'
    } else {
        '?'
    }
}

/// Why an authorization request was refused: on Discord's own page while
/// the redirect URI is not known to be the application's, else back at it.
enum Refused {
    Page(&'static str),
    Redirect(&'static str),
}

/// A refusal, with where to send it.
struct Refusal {
    why: Refused,
    redirect_uri: String,
    state: Option<String>,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self.why {
            Refused::Page(message) => error_page(message),
            Refused::Redirect(error) => error_redirect(&self.redirect_uri, error, self.state.as_deref()),
        }
    }
}

fn check(shared: &Shared, query: &AuthorizeQuery) -> Result<Checked, Refusal> {
    check_parts(shared, query).map_err(|why| Refusal {
        why,
        redirect_uri: query.redirect_uri.clone().unwrap_or_default(),
        state: query.state.clone(),
    })
}

fn check_parts(shared: &Shared, query: &AuthorizeQuery) -> Result<Checked, Refused> {
    if query.client_id.as_deref() != Some(shared.application_id.to_string().as_str()) {
        return Err(Refused::Page("Unknown application (client_id)."));
    }
    let Some(redirect_uri) = query.redirect_uri.clone() else {
        return Err(Refused::Page("Invalid OAuth2 redirect_uri: none given."));
    };
    if !shared.lock().oauth.redirect_uris.contains(&redirect_uri) {
        return Err(Refused::Page("Invalid OAuth2 redirect_uri: not registered for this application."));
    }
    if query.response_type.as_deref() != Some("code") {
        return Err(Refused::Redirect("unsupported_response_type"));
    }
    let scopes: Vec<String> =
        query.scope.as_deref().unwrap_or_default().split_whitespace().map(str::to_owned).collect();
    if scopes.is_empty() || scopes.iter().any(|s| !KNOWN_SCOPES.contains(&s.as_str())) {
        return Err(Refused::Redirect("invalid_scope"));
    }
    let challenge = match (&query.code_challenge, query.code_challenge_method.as_deref()) {
        (None, _) => None,
        (Some(c), None | Some("plain")) => Some((c.clone(), "plain".to_owned())),
        (Some(c), Some("S256")) => Some((c.clone(), "S256".to_owned())),
        (Some(_), Some(_)) => return Err(Refused::Redirect("invalid_request")),
    };
    Ok(Checked { redirect_uri, scopes, state: query.state.clone(), challenge })
}

/// Gives `user_id` a code for the checked request and sends the browser back.
fn grant(shared: &Shared, checked: Checked, user_id: u64) -> Response {
    let code = random_token();
    {
        let mut state = shared.lock();
        if state.world.users.get(&user_id).is_none_or(|u| u.bot) {
            return error_page("Unknown user.");
        }
        state.oauth.next_authorization += 1;
        let authorization = state.oauth.next_authorization;
        let grant = Grant { user_id, scopes: checked.scopes, authorization, expires_ms: 0 };
        state.oauth.codes.insert(
            code.clone(),
            Code {
                grant,
                redirect_uri: checked.redirect_uri.clone(),
                challenge: checked.challenge,
                issued: Instant::now(),
            },
        );
    }
    let mut url = format!("{}{}code={code}", checked.redirect_uri, separator(&checked.redirect_uri));
    if let Some(state) = checked.state {
        url.push_str(&format!("&state={}", encode(&state)));
    }
    found(&url)
}

/// `GET /oauth2/authorize`.
pub(crate) async fn authorize(State(shared): State<Arc<Shared>>, Query(query): Query<AuthorizeQuery>) -> Response {
    let checked = match check(&shared, &query) {
        Ok(checked) => checked,
        Err(refusal) => return refusal.into_response(),
    };
    let chosen = shared.lock().oauth.login_as;
    if let Some(user_id) = chosen {
        return grant(&shared, checked, user_id);
    }
    let action = format!("/oauth2/authorize?{}", serde_urlencoded::to_string(&query).unwrap_or_default());
    let mut users: Vec<(u64, String)> = shared
        .lock()
        .world
        .users
        .values()
        .filter(|u| !u.bot)
        .map(|u| (u.id, u.global_name.clone().unwrap_or_else(|| u.username.clone())))
        .collect();
    users.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
    let mut buttons = String::new();
    for (id, name) in users {
        buttons.push_str(&format!(
            "<li><form method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"user_id\" value=\"{id}\"><button type=\"submit\">Authorize as {}</button></form></li>",
            escape(&action),
            escape(&name)
        ));
    }
    let body = format!(
        "<!doctype html><html><head><title>Discord | Authorize access to your account</title></head><body><h1>{} wants to access your account</h1><p>Scopes: {}</p><ul>{buttons}</ul></body></html>",
        escape(&shared.config.bot_name),
        escape(&checked.scopes.join(", "))
    );
    Html(body).into_response()
}

/// `POST /oauth2/authorize`: the sign-in page's answer.
pub(crate) async fn consent(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<AuthorizeQuery>,
    body: Bytes,
) -> Response {
    let checked = match check(&shared, &query) {
        Ok(checked) => checked,
        Err(refusal) => return refusal.into_response(),
    };
    match serde_urlencoded::from_bytes::<Consent>(&body) {
        Ok(consent) => grant(&shared, checked, consent.user_id),
        Err(_) => error_page("Pick who signs in."),
    }
}

/// An OAuth2 error answer (RFC 6749 §5.2).
fn token_error(status: StatusCode, error: &str, description: &str) -> Response {
    (status, Json(json!({ "error": error, "error_description": description }))).into_response()
}

/// Reads a form-encoded body, refusing anything else as Discord does.
/// The `error_description` of a body that cannot be read.
fn form(headers: &HeaderMap, body: &Bytes) -> Result<HashMap<String, String>, &'static str> {
    let form_encoded = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form_encoded {
        return Err("The body must be application/x-www-form-urlencoded.");
    }
    serde_urlencoded::from_bytes(body).map_err(|_| "The body could not be read.")
}

/// Checks the client's credentials: HTTP Basic, or `client_id` and
/// `client_secret` in the body.
fn client_ok(shared: &Shared, headers: &HeaderMap, form: &HashMap<String, String>) -> bool {
    let expected = (shared.application_id.to_string(), shared.config.client_secret.clone());
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| decode_base64(b.trim()))
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|pair| pair.split_once(':').map(|(id, secret)| (id.to_owned(), secret.to_owned())));
    let in_body = form.get("client_id").cloned().zip(form.get("client_secret").cloned());
    basic.or(in_body).is_some_and(|given| given == expected)
}

/// `POST /api/v10/oauth2/token`.
pub(crate) async fn token(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match form(&headers, &body) {
        Ok(form) => form,
        Err(description) => return token_error(StatusCode::BAD_REQUEST, "invalid_request", description),
    };
    if !client_ok(&shared, &headers, &form) {
        return token_error(StatusCode::UNAUTHORIZED, "invalid_client", "Unknown client or wrong secret.");
    }
    let mut state = shared.lock();
    let answer = match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => exchange_code(&mut state, &form),
        Some("refresh_token") => refresh(&mut state, &form),
        _ => Err(("unsupported_grant_type", "Only authorization_code and refresh_token are supported.")),
    };
    match answer {
        Ok(tokens) => Json(tokens).into_response(),
        Err((error, description)) => {
            state.oauth.refused_exchanges += 1;
            token_error(StatusCode::BAD_REQUEST, error, description)
        }
    }
}

type Denial = (&'static str, &'static str);

fn exchange_code(state: &mut SimState, form: &HashMap<String, String>) -> Result<Value, Denial> {
    // A code is spent by its first exchange, whatever the outcome.
    let code = form.get("code").and_then(|c| state.oauth.codes.remove(c));
    let Some(code) = code else { return Err(("invalid_grant", "Invalid \"code\" in request.")) };
    if code.issued.elapsed() > CODE_LIFETIME {
        return Err(("invalid_grant", "Invalid \"code\" in request."));
    }
    if form.get("redirect_uri") != Some(&code.redirect_uri) {
        return Err(("invalid_grant", "Invalid \"redirect_uri\" in request."));
    }
    if let Some((challenge, method)) = &code.challenge {
        let Some(verifier) = form.get("code_verifier") else {
            return Err(("invalid_request", "Missing \"code_verifier\"."));
        };
        let derived =
            if method == "S256" { encode_base64url(&Sha256::digest(verifier.as_bytes())) } else { verifier.clone() };
        if &derived != challenge {
            return Err(("invalid_grant", "Invalid \"code_verifier\"."));
        }
    }
    Ok(state.oauth.issue_tokens(code.grant))
}

fn refresh(state: &mut SimState, form: &HashMap<String, String>) -> Result<Value, Denial> {
    let grant = form.get("refresh_token").and_then(|t| state.oauth.refresh.remove(t));
    let Some(grant) = grant else { return Err(("invalid_grant", "Invalid \"refresh_token\" in request.")) };
    state.oauth.access.retain(|_, a| a.grant.authorization != grant.authorization);
    Ok(state.oauth.issue_tokens(grant))
}

/// `POST /api/v10/oauth2/token/revoke`.
pub(crate) async fn revoke(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match form(&headers, &body) {
        Ok(form) => form,
        Err(description) => return token_error(StatusCode::BAD_REQUEST, "invalid_request", description),
    };
    if !client_ok(&shared, &headers, &form) {
        return token_error(StatusCode::UNAUTHORIZED, "invalid_client", "Unknown client or wrong secret.");
    }
    let Some(token) = form.get("token") else {
        return token_error(StatusCode::BAD_REQUEST, "invalid_request", "Missing \"token\".");
    };
    let mut state = shared.lock();
    let authorization = state
        .oauth
        .access
        .get(token)
        .map(|a| a.grant.authorization)
        .or_else(|| state.oauth.refresh.get(token).map(|g| g.authorization));
    // An unknown token is not an error (RFC 7009 §2.2).
    if let Some(authorization) = authorization {
        state.oauth.revoke_authorization(authorization);
    }
    Json(json!({})).into_response()
}

/// What a bearer token may read: `GET users/@me`, `users/@me/guilds`, `oauth2/@me`.
pub(crate) fn bearer_route(shared: &Shared, grant: &Grant, method: &str, segments: &[&str]) -> Option<Response> {
    let has = |scope: &str| grant.scopes.iter().any(|s| s == scope);
    let state = shared.lock();
    let user = state.world.users.get(&grant.user_id)?;
    let response = match (method, segments) {
        ("GET", ["users", "@me"]) if has("identify") => {
            let mut body = payloads::user(user);
            body["mfa_enabled"] = json!(false);
            body["locale"] = json!("en-US");
            body["premium_type"] = json!(0);
            if has("email") {
                body["email"] = json!(format!("{}@example.invalid", user.username));
                body["verified"] = json!(true);
            }
            Json(body).into_response()
        }
        ("GET", ["users", "@me", "guilds"]) if has("guilds") => Json(my_guilds(&state, user.id)).into_response(),
        ("GET", ["oauth2", "@me"]) => Json(json!({
            "application": payloads::application(shared.application_id, &shared.config.bot_name, &shared.bot, &shared.owner),
            "scopes": grant.scopes,
            "expires": crate::clock::iso8601(grant.expires_ms),
            "user": payloads::user(user),
        }))
        .into_response(),
        _ => return None,
    };
    Some(response)
}

impl crate::Simulator {
    /// Registers a redirect URI for the application, as the Developer
    /// Portal's OAuth2 page does; authorizations to any other are refused.
    pub fn oauth_add_redirect_uri(&self, uri: &str) {
        let mut state = self.shared.lock();
        if !state.oauth.redirect_uris.iter().any(|u| u == uri) {
            state.oauth.redirect_uris.push(uri.to_owned());
        }
    }

    /// Who the next authorizations log in, without showing the page to
    /// pick (as a browser already logged in to Discord would); `None`
    /// shows the page again.
    pub fn oauth_login_as(&self, user_id: Option<u64>) {
        self.shared.lock().oauth.login_as = user_id;
    }

    /// The application's client secret.
    pub fn client_secret(&self) -> &str {
        &self.shared.config.client_secret
    }

    /// How many access tokens of `user_id` still work.
    pub fn oauth_live_tokens(&self, user_id: u64) -> usize {
        self.shared.lock().oauth.live_tokens_of(user_id)
    }

    /// How many token requests were refused for a bad code, verifier,
    /// redirect URI or refresh token.
    pub fn oauth_refused_exchanges(&self) -> u64 {
        self.shared.lock().oauth.refused_exchanges
    }
}

/// The servers `user_id` is in, as List Current User Guilds answers:
/// `owner`, and `permissions` as a string of the 64-bit integer.
pub(crate) fn my_guilds(state: &SimState, user_id: u64) -> Vec<Value> {
    state
        .world
        .guilds
        .values()
        .filter(|g| g.owner_id == user_id || g.members.contains_key(&user_id))
        .map(|g| {
            json!({
                "id": g.id.to_string(),
                "name": g.name,
                "icon": null,
                "banner": null,
                "owner": g.owner_id == user_id,
                "permissions": g.permissions_of(user_id).to_string(),
                "features": [],
            })
        })
        .collect()
}

/// Percent-encodes a query value.
fn encode(raw: &str) -> String {
    serde_urlencoded::to_string([("v", raw)]).map(|s| s[2..].to_owned()).unwrap_or_default()
}

/// Escapes text for HTML.
fn escape(raw: &str) -> String {
    raw.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Base64url without padding, as PKCE's S256 uses (RFC 7636 §4.2).
pub fn encode_base64url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Standard base64 (HTTP Basic credentials), padding allowed.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_matches_rfc_7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(
            encode_base64url(&Sha256::digest(verifier.as_bytes())),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn basic_credentials_decode() {
        assert_eq!(decode_base64("QWxhZGRpbjpvcGVuIHNlc2FtZQ==").unwrap(), b"Aladdin:open sesame");
        assert_eq!(decode_base64("bad*"), None);
    }
}
