//! Discord's OAuth2, as a web site logging in with Discord meets it: the
//! authorization code grant with PKCE, the token endpoint's rules (form
//! bodies, a code used once, bound to its redirect URI and verifier),
//! refresh, revocation, and what a bearer token may read.

mod spec;

use discord_sim::{encode_base64url, world::permissions, SimConfig, SimError, Simulator};
use serde_json::Value;

const REDIRECT: &str = "http://127.0.0.1:9/auth/callback";
const VERIFIER: &str = "a-verifier-of-at-least-forty-three-characters-0123456789";

fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

fn challenge(verifier: &str) -> String {
    use sha2::Digest;
    encode_base64url(&sha2::Sha256::digest(verifier.as_bytes()))
}

/// The authorization URL a site sends the browser to.
fn authorize_url(sim: &Simulator, redirect: &str, state: &str, verifier: &str) -> String {
    format!(
        "{}/oauth2/authorize?response_type=code&client_id={}&redirect_uri={}&scope=identify%20guilds&state={state}&code_challenge={}&code_challenge_method=S256",
        sim.api_base(),
        sim.bot_user_id(),
        redirect.replace(':', "%3A").replace('/', "%2F"),
        challenge(verifier),
    )
}

/// Follows an authorization to its redirect and returns the query it carries.
async fn authorize(sim: &Simulator, state: &str, verifier: &str) -> Vec<(String, String)> {
    let response = client().get(authorize_url(sim, REDIRECT, state, verifier)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 302);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let query = location.strip_prefix(&format!("{REDIRECT}?")).expect("back to the registered redirect URI");
    url_pairs(query)
}

fn url_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap();
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

fn get<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

async fn token(sim: &Simulator, form: &[(&str, &str)]) -> (u16, Value) {
    let response = client()
        .post(format!("{}/api/v10/oauth2/token", sim.api_base()))
        .basic_auth(sim.bot_user_id(), Some(sim.client_secret()))
        .form(form)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn exchange(sim: &Simulator, code: &str, verifier: &str) -> (u16, Value) {
    token(
        sim,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ],
    )
    .await
}

async fn bearer_get(sim: &Simulator, access: &str, path: &str) -> (u16, Value) {
    let response = client().get(format!("{}/api/v10/{path}", sim.api_base())).bearer_auth(access).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn a_site_logs_a_member_in_with_the_code_grant_and_pkce() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let guild = sim.add_guild("Study group");
    let admin = sim.add_user("ada", Some("Ada"), false);
    sim.add_member(guild, admin, sim.now_ms()).unwrap();
    let managers = sim.add_role(guild, "Managers", permissions::MANAGE_GUILD).unwrap();
    // No bot is connected here, so the change reaches no gateway session.
    let given = sim.set_roles(guild, admin, &[managers]);
    assert!(matches!(given, Ok(_) | Err(SimError::NoSession)), "{given:?}");
    sim.oauth_add_redirect_uri(REDIRECT);

    // With nobody chosen, Discord shows a page to authorize; its buttons post back.
    let page = client().get(authorize_url(&sim, REDIRECT, "s1", VERIFIER)).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Authorize as Ada"), "{html}");
    let consent = client()
        .post(authorize_url(&sim, REDIRECT, "s1", VERIFIER))
        .form(&[("user_id", admin.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(consent.status().as_u16(), 302);
    let back = url_pairs(consent.headers()["location"].to_str().unwrap().split_once('?').unwrap().1);
    assert_eq!(get(&back, "state"), Some("s1"), "the state comes back as sent");

    // The code is worth one exchange, with its verifier.
    let code = get(&back, "code").unwrap().to_owned();
    let (status, tokens) = exchange(&sim, &code, VERIFIER).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["scope"], "identify guilds");
    assert_eq!(tokens["expires_in"], 604_800);
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let (status, again) = exchange(&sim, &code, VERIFIER).await;
    assert_eq!((status, again["error"].as_str()), (400, Some("invalid_grant")), "a code is used once");

    let (status, me) = bearer_get(&sim, &access, "users/@me").await;
    assert_eq!(status, 200);
    assert_eq!(me["id"], admin.to_string());
    spec::assert_fits("UserPIIResponse", &me);
    let (status, guilds) = bearer_get(&sim, &access, "users/@me/guilds").await;
    assert_eq!(status, 200);
    spec::assert_fits_array("MyGuildResponse", &guilds);
    let listed = guilds
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"].as_str().and_then(|id| id.parse::<u64>().ok()) == Some(guild))
        .expect("their server");
    assert_eq!(listed["owner"], false);
    let bits: u64 = listed["permissions"].as_str().expect("permissions as a string").parse().unwrap();
    assert_ne!(bits & permissions::MANAGE_GUILD, 0, "Manage Server comes from their role");
    let (status, authorization) = bearer_get(&sim, &access, "oauth2/@me").await;
    assert_eq!(status, 200);
    spec::assert_fits("OAuth2GetAuthorizationResponse", &authorization);

    // A bearer token reads only what a user may: no bot routes.
    let (status, _) = bearer_get(&sim, &access, "gateway/bot").await;
    assert_eq!(status, 401);

    // Refreshing replaces both tokens; revoking ends the authorization.
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let (status, renewed) = token(&sim, &[("grant_type", "refresh_token"), ("refresh_token", refresh)]).await;
    assert_eq!(status, 200, "{renewed}");
    assert_eq!(bearer_get(&sim, &access, "users/@me").await.0, 401, "the old access token is replaced");
    let (status, _) = token(&sim, &[("grant_type", "refresh_token"), ("refresh_token", refresh)]).await;
    assert_eq!(status, 400, "a refresh token is used once");
    let renewed_access = renewed["access_token"].as_str().unwrap();
    assert_eq!(sim.oauth_live_tokens(admin), 1);
    let revoked = client()
        .post(format!("{}/api/v10/oauth2/token/revoke", sim.api_base()))
        .basic_auth(sim.bot_user_id(), Some(sim.client_secret()))
        .form(&[("token", renewed_access), ("token_type_hint", "access_token")])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status().as_u16(), 200);
    assert_eq!(bearer_get(&sim, renewed_access, "users/@me").await.0, 401);
    assert_eq!(sim.oauth_live_tokens(admin), 0);
}

#[tokio::test]
async fn the_token_endpoint_refuses_what_discord_refuses() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let guild = sim.add_guild("Rules");
    let member = sim.add_user("bo", None, false);
    sim.add_member(guild, member, sim.now_ms()).unwrap();
    sim.oauth_add_redirect_uri(REDIRECT);
    sim.oauth_login_as(Some(member));

    // An unregistered redirect URI is refused on Discord's own page, never followed.
    let wrong = client().get(authorize_url(&sim, "http://evil.invalid/cb", "s", VERIFIER)).send().await.unwrap();
    assert_eq!(wrong.status().as_u16(), 400);

    // A wrong verifier spends the code.
    let pairs = authorize(&sim, "s2", VERIFIER).await;
    let code = get(&pairs, "code").unwrap().to_owned();
    let (status, body) = exchange(&sim, &code, "another-verifier-of-at-least-forty-three-chars-000").await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    assert_eq!(exchange(&sim, &code, VERIFIER).await.0, 400);

    // The redirect URI must be the one the code was given for.
    let code = get(&authorize(&sim, "s3", VERIFIER).await, "code").unwrap().to_owned();
    let (status, _) = token(
        &sim,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:9/other"),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(status, 400);

    // JSON bodies and wrong secrets are refused.
    let code = get(&authorize(&sim, "s4", VERIFIER).await, "code").unwrap().to_owned();
    let json = client()
        .post(format!("{}/api/v10/oauth2/token", sim.api_base()))
        .basic_auth(sim.bot_user_id(), Some(sim.client_secret()))
        .json(&serde_json::json!({ "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": VERIFIER }))
        .send()
        .await
        .unwrap();
    assert_eq!(json.status().as_u16(), 400);
    let wrong_secret = client()
        .post(format!("{}/api/v10/oauth2/token", sim.api_base()))
        .basic_auth(sim.bot_user_id(), Some("not-the-secret"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_secret.status().as_u16(), 401);
    // Client credentials in the body work as well as HTTP Basic.
    let id = sim.bot_user_id().to_string();
    let in_body = client()
        .post(format!("{}/api/v10/oauth2/token", sim.api_base()))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("client_id", &id),
            ("client_secret", sim.client_secret()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(in_body.status().as_u16(), 200);
    assert!(sim.oauth_refused_exchanges() >= 3);
}
