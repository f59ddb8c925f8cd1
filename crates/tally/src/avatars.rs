//! Members' avatars from Discord's CDN, kept in memory so a busy `/stats`
//! fetches each picture once. A picture that cannot be had in time is
//! remembered as missing for a while, and the card shows initials.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
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
/// Pictures kept (each a few tens of kilobytes).
const CAPACITY: usize = 512;
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
    cache: Mutex<(HashMap<Key, Cached>, VecDeque<Key>)>,
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
        crate::bot::install_crypto_provider();
        let connector =
            hyper_rustls::HttpsConnectorBuilder::new().with_webpki_roots().https_or_http().enable_http1().build();
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Self { base: base.trim_end_matches('/').to_owned(), client, cache: Mutex::default() }
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
        match self.cache.lock().unwrap_or_else(|p| p.into_inner()).0.get(&key) {
            Some(Cached::Found(png)) => return Some(Arc::clone(png)),
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
        self.remember(key, fetched.clone());
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

    fn remember(&self, key: Key, value: Cached) {
        let mut guard = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let (map, order) = &mut *guard;
        if map.insert(key.clone(), value).is_none() {
            order.push_back(key);
        }
        while order.len() > CAPACITY {
            if let Some(oldest) = order.pop_front() {
                map.remove(&oldest);
            }
        }
    }
}
