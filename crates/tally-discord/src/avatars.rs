//! Members' avatars from Discord's CDN, kept in memory so a busy `/stats`
//! fetches each picture once: the least recently used go first once the
//! pictures kept reach [`CACHE_BYTES`]. A picture that cannot be had in
//! time is remembered as missing for a while, and the card shows initials.

use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;

/// Where avatars come from when nothing else is said.
pub const DEFAULT_CDN_BASE: &str = "https://cdn.discordapp.com";

/// Where the CDN at `base` serves `user_id`'s avatar `hash` at `size` pixels.
pub fn url(base: &str, user_id: impl std::fmt::Display, hash: &str, size: u32) -> String {
    format!("{}/avatars/{user_id}/{hash}.png?size={size}", base.trim_end_matches('/'))
}
/// Longest wait for one picture: the card must still make Discord's deadline.
const FETCH_TIMEOUT: Duration = Duration::from_millis(800);
/// Longest wait for a file `/import` downloads.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(60);
/// Largest picture accepted.
const MAX_BYTES: usize = 2 * 1024 * 1024;
/// Bytes of pictures kept (each a few tens of kilobytes, at most
/// [`MAX_BYTES`]): about a thousand avatars.
pub const CACHE_BYTES: u64 = 32 * 1024 * 1024;
/// What a remembered miss weighs in the cache.
const MISS_BYTES: u32 = 64;
/// How long a failed fetch is remembered before trying again.
const RETRY_AFTER: Duration = Duration::from_secs(300);

type Key = (u64, String);

#[derive(Debug, Clone)]
enum Cached {
    Found(Arc<Vec<u8>>),
    Missing(Instant),
}

/// The avatar fetcher and its cache.
pub struct Avatars {
    base: String,
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<Bytes>>,
    cache: moka::sync::Cache<Key, Cached>,
}

impl std::fmt::Debug for Avatars {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Avatars").field("base", &self.base).finish_non_exhaustive()
    }
}

impl Avatars {
    /// A fetcher for the CDN at `base` (`https://cdn.discordapp.com`, or a
    /// simulator's address).
    pub fn new(base: &str) -> Self {
        crate::tls::install_crypto_provider();
        let connector =
            hyper_rustls::HttpsConnectorBuilder::new().with_webpki_roots().https_or_http().enable_http1().build();
        let client = Client::builder(TokioExecutor::new()).build(connector);
        let cache = moka::sync::Cache::builder()
            .eviction_policy(moka::policy::EvictionPolicy::lru())
            .weigher(|_key: &Key, cached: &Cached| match cached {
                Cached::Found(png) => u32::try_from(png.len()).unwrap_or(u32::MAX),
                Cached::Missing(_) => MISS_BYTES,
            })
            .max_capacity(CACHE_BYTES)
            .build();
        Self { base: base.trim_end_matches('/').to_owned(), client, cache }
    }

    /// The CDN's base address.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The PNG of `user_id`'s avatar `hash`, or None (no avatar, or it could
    /// not be fetched in time).
    pub async fn png(&self, user_id: u64, hash: Option<&str>) -> Option<Arc<Vec<u8>>> {
        let hash = hash.filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))?;
        let key = (user_id, hash.to_owned());
        match self.cache.get(&key) {
            Some(Cached::Found(png)) => return Some(png),
            Some(Cached::Missing(at)) if at.elapsed() < RETRY_AFTER => return None,
            _ => {}
        }
        let url = url(&self.base, user_id, hash, 256);
        let fetched = match tokio::time::timeout(FETCH_TIMEOUT, self.fetch(&url)).await {
            Ok(Ok(png)) => Cached::Found(Arc::new(png)),
            Ok(Err(why)) => {
                tracing::debug!(url, why, "avatar not fetched; the card shows initials");
                Cached::Missing(Instant::now())
            }
            Err(_) => {
                tracing::debug!(url, "avatar fetch timed out; the card shows initials");
                Cached::Missing(Instant::now())
            }
        };
        self.cache.insert(key, fetched.clone());
        match fetched {
            Cached::Found(png) => Some(png),
            Cached::Missing(_) => None,
        }
    }

    async fn fetch(&self, url: &str) -> Result<Vec<u8>, String> {
        let uri: hyper::Uri = url.parse().map_err(|e| format!("bad URL: {e}"))?;
        let response = self.client.get(uri).await.map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("status {}", response.status()));
        }
        let body = Limited::new(response.into_body(), MAX_BYTES).collect().await.map_err(|e| e.to_string())?;
        let bytes = body.to_bytes();
        if !bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            return Err("not a PNG".into());
        }
        Ok(bytes.to_vec())
    }

    /// A file on the same CDN (an attachment `/import` reads), at most
    /// `limit` bytes; the caller checks that `url` is on the CDN.
    pub async fn download(&self, url: &str, limit: usize) -> Result<Vec<u8>, String> {
        let uri: hyper::Uri = url.parse().map_err(|e| format!("bad URL: {e}"))?;
        let fetch = async {
            let response = self.client.get(uri).await.map_err(|e| e.to_string())?;
            if !response.status().is_success() {
                return Err(format!("status {}", response.status()));
            }
            let body = Limited::new(response.into_body(), limit).collect().await.map_err(|e| e.to_string())?;
            Ok(body.to_bytes().to_vec())
        };
        tokio::time::timeout(DOWNLOAD_TIMEOUT, fetch).await.map_err(|_| "timed out".to_owned())?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Forty pictures of the largest size (80 MiB) into a 32 MiB cache:
    /// it stays within its bytes, and the one picture in use all along
    /// stays while the least recently used go.
    #[test]
    fn the_cache_keeps_to_its_bytes_and_drops_the_least_recently_used() {
        let avatars = Avatars::new("http://127.0.0.1:9");
        let picture = Arc::new(vec![0_u8; MAX_BYTES]);
        let in_use: Key = (1, "in-use".into());
        avatars.cache.insert(in_use.clone(), Cached::Found(Arc::clone(&picture)));
        for n in 0..40 {
            avatars.cache.insert((100 + n, "other".into()), Cached::Found(Arc::clone(&picture)));
            assert!(avatars.cache.get(&in_use).is_some(), "picture {n}: the one in use is kept");
            avatars.cache.run_pending_tasks();
        }
        assert!(avatars.cache.weighted_size() <= CACHE_BYTES, "{} bytes kept", avatars.cache.weighted_size());
        assert!(!avatars.cache.contains_key(&(100, "other".into())), "the least recently used went first");
        assert!(avatars.cache.contains_key(&(139, "other".into())), "the newest is kept");
    }
}
