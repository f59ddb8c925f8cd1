//! Signing in to the dashboard with Discord, as a browser does it, over
//! HTTP against the simulator's OAuth2: the state bound to the browser,
//! PKCE, cookies that scripts cannot read, a session kept in the database
//! across a restart, and signing out from the dashboard's own pages only.

mod harness;

use std::net::SocketAddr;

use harness::{http, Harness};

fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// Starts the bot again with the dashboard's sign-in on, and registers its
/// redirect URI with the simulated Discord.
async fn with_dashboard(h: &mut Harness) -> SocketAddr {
    h.stop_bot().await;
    let secret = h.sim.client_secret().to_owned();
    h.start_bot_with(|config| config.dashboard.client_secret = Some(secret)).await;
    let addr = h.bot.as_ref().and_then(|b| b.web_addr()).expect("the web server is on");
    h.sim.oauth_add_redirect_uri(&format!("http://{addr}/auth/callback"));
    addr
}

/// The `name=value` part of a `Set-Cookie` header named `name`, with the whole header.
fn set_cookie(response: &reqwest::Response, name: &str) -> (String, String) {
    let header = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie"));
    (header.split(';').next().unwrap().to_owned(), header)
}

fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_owned()
}

/// A browser's sign-in up to Discord sending it back: the login cookie and
/// the callback address Discord redirected to.
async fn start_sign_in(addr: SocketAddr) -> (String, String) {
    let login = client().get(format!("http://{addr}/login")).send().await.unwrap();
    assert_eq!(login.status().as_u16(), 302);
    let (cookie, header) = set_cookie(&login, "tally_login");
    assert!(header.contains("HttpOnly") && header.contains("SameSite=Lax") && header.contains("Path=/"), "{header}");
    let to_discord = location(&login);
    assert!(to_discord.contains("code_challenge_method=S256") && to_discord.contains("state="), "{to_discord}");
    let at_discord = client().get(&to_discord).send().await.unwrap();
    assert_eq!(at_discord.status().as_u16(), 302, "the simulated Discord signs the chosen user in");
    (cookie, location(&at_discord))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_client_secret_the_dashboard_is_off_and_says_how_to_turn_it_on() {
    let h = Harness::start(1).await;
    let addr = h.bot.as_ref().and_then(|b| b.web_addr()).unwrap();
    let answer = client().get(format!("http://{addr}/login")).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 503);
    let text = answer.text().await.unwrap();
    assert!(text.contains("DISCORD_CLIENT_SECRET") && text.contains(&format!("http://{addr}/auth/callback")), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_signs_in_with_discord_keeps_the_session_across_a_restart_and_signs_out() {
    let mut h = Harness::start(2).await;
    let addr = with_dashboard(&mut h).await;
    let owner = h.sim.owner_id();
    h.sim.oauth_login_as(Some(owner));

    let (login_cookie, callback) = start_sign_in(addr).await;
    let back = client().get(&callback).header("cookie", &login_cookie).send().await.unwrap();
    assert_eq!(back.status().as_u16(), 302);
    assert_eq!(location(&back), "/dashboard");
    let (session, header) = set_cookie(&back, "tally_session");
    assert!(header.contains("HttpOnly") && header.contains("SameSite=Lax") && header.contains("Path=/"), "{header}");
    assert!(!header.contains("Secure"), "plain http here: a Secure cookie would never come back");

    let page = client().get(format!("http://{addr}/dashboard")).header("cookie", &session).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let text = page.text().await.unwrap();
    assert!(text.contains("Test Server"), "the owner's server, where Tally is: {text}");

    // The same answer again (a replayed state and code) creates nothing.
    let replay = client().get(&callback).header("cookie", &login_cookie).send().await.unwrap();
    assert_eq!(replay.status().as_u16(), 400);
    assert!(replay.headers().get("set-cookie").is_none());

    // Sessions live in the database: a restarted bot knows this one.
    let addr = with_dashboard(&mut h).await;
    let page = client().get(format!("http://{addr}/dashboard")).header("cookie", &session).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200, "the session survives a restart");

    // Signing out works from the dashboard's own pages only, and ends the session and Discord's token.
    let forged = client()
        .post(format!("http://{addr}/logout"))
        .header("cookie", &session)
        .header("origin", "http://evil.invalid")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 403);
    assert_eq!(h.sim.oauth_live_tokens(owner), 1);
    let out = client()
        .post(format!("http://{addr}/logout"))
        .header("cookie", &session)
        .header("origin", format!("http://{addr}"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status().as_u16(), 303);
    assert_eq!(h.sim.oauth_live_tokens(owner), 0, "the token is revoked");
    let after = client().get(format!("http://{addr}/dashboard")).header("cookie", &session).send().await.unwrap();
    assert_eq!(after.status().as_u16(), 302, "signed out: back to the sign-in");
    assert!(location(&after).starts_with("/login"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_answer_counts_only_once_in_the_browser_that_started_it() {
    let mut h = Harness::start(2).await;
    let addr = with_dashboard(&mut h).await;
    h.sim.oauth_login_as(Some(h.members[0]));

    // Another browser (no login cookie, or another one) cannot finish it.
    let (_mine, callback) = start_sign_in(addr).await;
    let (other_cookie, _) = start_sign_in(addr).await;
    let stolen = client().get(&callback).header("cookie", &other_cookie).send().await.unwrap();
    assert_eq!(stolen.status().as_u16(), 400);
    let without = client().get(&callback).send().await.unwrap();
    assert_eq!(without.status().as_u16(), 400, "the state was spent by the first try");

    // A made-up state, and a missing one.
    let (cookie, callback) = start_sign_in(addr).await;
    let code = callback.split("code=").nth(1).unwrap().split('&').next().unwrap().to_owned();
    let made_up = client()
        .get(format!("http://{addr}/auth/callback?code={code}&state=guess"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(made_up.status().as_u16(), 400);
    let missing = client()
        .get(format!("http://{addr}/auth/callback?code={code}"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 400);

    // A member who manages nothing signs in and is offered nothing to manage.
    let (cookie, callback) = start_sign_in(addr).await;
    let back = client().get(&callback).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(back.status().as_u16(), 302);
    let (session, _) = set_cookie(&back, "tally_session");
    let page = client().get(format!("http://{addr}/dashboard")).header("cookie", &session).send().await.unwrap();
    let text = page.text().await.unwrap();
    assert!(text.contains("Tally is in none of the servers you manage"), "{text}");
    assert!(!text.contains("Test Server"), "{text}");
}

/// A real browser follows the sign-in from `/login` through the simulated
/// Discord and back, keeping the cookies as it goes, and lands on the list
/// of servers; its screenshot is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_signs_in_through_discord_and_lands_on_the_dashboard() {
    let mut h = Harness::start(2).await;
    let addr = with_dashboard(&mut h).await;
    h.sim.oauth_login_as(Some(h.sim.owner_id()));
    let login = format!("http://{addr}/login");
    let dom = {
        let login = login.clone();
        tokio::task::spawn_blocking(move || http::dump_dom(&login)).await.unwrap()
    };
    assert!(dom.contains("Your servers") && dom.contains("Test Server"), "{dom}");
    assert!(dom.contains("action=\"/logout\""), "a sign-out form: {dom}");
    let shot = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/web-screenshots/dashboard.png");
    tokio::task::spawn_blocking(move || http::screenshot(&login, &shot, 1100, 700)).await.unwrap();
}
