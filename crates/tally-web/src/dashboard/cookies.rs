//! The browser's side of a sign-in: random ids (only their SHA-256 is
//! stored), the cookies that carry them, and whether a request came from
//! the dashboard's own pages.

use axum::http::{header, HeaderMap};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// The cookie of a login in progress.
pub const LOGIN: &str = "tally_login";
/// The cookie of a session.
pub const SESSION: &str = "tally_session";

/// 32 random bytes from the operating system, base64url: an id no one can guess.
pub fn random_id() -> String {
    let mut bytes = [0_u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system gives random bytes");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256 of `secret`, hex: what the database keeps of an id.
pub fn hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// PKCE's S256 challenge of a verifier (RFC 7636 §4.2).
pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// HTTP Basic credentials.
pub fn basic_credentials(user: &str, password: &str) -> String {
    STANDARD.encode(format!("{user}:{password}"))
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
pub fn percent_encode(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for byte in raw.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// How cookies are set for a dashboard at `public_url`: over https they are
/// `Secure` and named with the `__Host-` prefix (bound to this host, path `/`).
#[derive(Debug, Clone)]
pub struct CookieJar {
    secure: bool,
}

impl CookieJar {
    /// The jar for a dashboard served at `public_url`.
    pub fn for_url(public_url: &str) -> Self {
        Self { secure: public_url.starts_with("https://") }
    }

    /// A cookie's full name.
    pub fn name(&self, base: &str) -> String {
        if self.secure {
            format!("__Host-{base}")
        } else {
            base.to_owned()
        }
    }

    /// A `Set-Cookie` value holding `value` for `max_age` seconds (0 deletes it).
    pub fn set(&self, base: &str, value: &str, max_age: i64) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!("{}={value}; HttpOnly; SameSite=Lax; Path=/; Max-Age={max_age}{secure}", self.name(base))
    }

    /// The value of a cookie the browser sent.
    pub fn get(&self, headers: &HeaderMap, base: &str) -> Option<String> {
        let name = self.name(base);
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_owned())
    }
}

/// Whether a request that changes something came from the dashboard's own
/// pages: its `Origin` is the dashboard's, or the browser says
/// `Sec-Fetch-Site: same-origin`. Anything else (another site's form, a
/// script elsewhere, a request with neither header) is refused.
pub fn same_origin(headers: &HeaderMap, public_url: &str) -> bool {
    let origin_of = |url: &str| -> String {
        let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
        let host = rest.split('/').next().unwrap_or_default();
        format!("{}://{}", scheme.to_ascii_lowercase(), host.to_ascii_lowercase())
    };
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    match text("origin") {
        Some(origin) => origin_of(origin) == origin_of(public_url),
        None => text("sec-fetch-site") == Some("same-origin"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_matches_rfc_7636_appendix_b() {
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn cookies_over_https_are_secure_and_host_bound() {
        let jar = CookieJar::for_url("https://tally.example.org");
        assert_eq!(
            jar.set(SESSION, "abc", 60),
            "__Host-tally_session=abc; HttpOnly; SameSite=Lax; Path=/; Max-Age=60; Secure"
        );
        let plain = CookieJar::for_url("http://127.0.0.1:8080");
        assert_eq!(plain.set(LOGIN, "x", 0), "tally_login=x; HttpOnly; SameSite=Lax; Path=/; Max-Age=0");
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, "a=1; __Host-tally_session=abc; tally_session=forged".parse().unwrap());
        assert_eq!(jar.get(&headers, SESSION).as_deref(), Some("abc"));
        assert_eq!(plain.get(&headers, SESSION).as_deref(), Some("forged"));
    }

    #[test]
    fn only_the_dashboards_own_origin_may_change_things() {
        let mut headers = HeaderMap::new();
        assert!(!same_origin(&headers, "https://tally.example.org"), "no header: refused");
        headers.insert("origin", "https://tally.example.org".parse().unwrap());
        assert!(same_origin(&headers, "https://tally.example.org/"));
        headers.insert("origin", "https://evil.example".parse().unwrap());
        assert!(!same_origin(&headers, "https://tally.example.org"));
        headers.remove("origin");
        headers.insert("sec-fetch-site", "cross-site".parse().unwrap());
        assert!(!same_origin(&headers, "https://tally.example.org"));
        headers.insert("sec-fetch-site", "same-origin".parse().unwrap());
        assert!(same_origin(&headers, "https://tally.example.org"));
    }

    #[test]
    fn ids_are_random_and_stored_hashed() {
        let (a, b) = (random_id(), random_id());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(hash(&a).len(), 64);
        assert_ne!(hash(&a), a);
    }
}
