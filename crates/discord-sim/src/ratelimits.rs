//! Discord's per-route rate limits: every answer carries `X-RateLimit-*`
//! headers for its bucket, and a request to an exhausted bucket gets 429
//! with `Retry-After`, until the bucket resets by itself. A well-behaved
//! client (twilight's rate limiter) reads the headers and never sees a 429.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderName, HeaderValue};
use axum::response::Response;

/// How many requests a bucket allows per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Requests per window.
    pub requests: u32,
    /// The window.
    pub per: Duration,
}

/// The limits the simulator enforces, by kind of route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Create Message, per channel.
    pub messages: Limit,
    /// Add/Remove Guild Member Role, per server.
    pub member_roles: Limit,
    /// Every other bot route, per route.
    pub other: Limit,
}

impl RateLimits {
    /// Discord's own figures for these routes (5 messages per 5 s in a
    /// channel, 10 role changes per 10 s in a server, 50 a second otherwise).
    pub const DISCORD: Self = Self {
        messages: Limit { requests: 5, per: Duration::from_secs(5) },
        member_roles: Limit { requests: 10, per: Duration::from_secs(10) },
        other: Limit { requests: 50, per: Duration::from_secs(1) },
    };

    /// Loose enough that tests streaming thousands of events are not slowed,
    /// with the same headers and 429s when a bucket does run out.
    pub const RELAXED: Self = Self {
        messages: Limit { requests: 100, per: Duration::from_secs(1) },
        member_roles: Limit { requests: 100, per: Duration::from_secs(1) },
        other: Limit { requests: 200, per: Duration::from_secs(1) },
    };
}

impl Default for RateLimits {
    fn default() -> Self {
        Self::RELAXED
    }
}

#[derive(Debug)]
struct Bucket {
    remaining: u32,
    resets_at: Instant,
}

/// Every bucket's state.
#[derive(Debug, Default)]
pub(crate) struct Buckets {
    buckets: HashMap<String, Bucket>,
    /// Buckets of the requests answered 429, in order.
    pub refused: Vec<String>,
}

/// A bucket's name and limit for a request, if the route is limited
/// (interaction answers and webhooks are not bound to the bot's limits).
pub(crate) fn bucket_of(limits: &RateLimits, method: &str, segments: &[&str]) -> Option<(String, Limit)> {
    Some(match (method, segments) {
        (_, ["interactions", ..] | ["webhooks", ..]) => return None,
        ("POST", ["channels", channel, "messages"]) => (format!("messages:{channel}"), limits.messages),
        ("PUT" | "DELETE", ["guilds", guild, "members", _, "roles", _]) => {
            (format!("roles:{guild}"), limits.member_roles)
        }
        _ => {
            // Routes by their shape: ids replaced, so /users/1 and /users/2 share one.
            let shape: Vec<&str> = segments.iter().map(|s| if s.parse::<u64>().is_ok() { "{id}" } else { s }).collect();
            (format!("{method} {}", shape.join("/")), limits.other)
        }
    })
}

/// The answer's rate-limit headers, or Err(retry after) when the bucket is spent.
pub(crate) struct Taken {
    limit: u32,
    remaining: u32,
    reset_after: Duration,
    bucket: String,
}

impl Buckets {
    /// Takes one request from `name`'s bucket.
    pub(crate) fn take(&mut self, name: &str, limit: Limit) -> Result<Taken, Taken> {
        let now = Instant::now();
        let bucket = self
            .buckets
            .entry(name.to_owned())
            .or_insert(Bucket { remaining: limit.requests, resets_at: now + limit.per });
        if now >= bucket.resets_at {
            bucket.remaining = limit.requests;
            bucket.resets_at = now + limit.per;
        }
        let taken = |remaining| Taken {
            limit: limit.requests,
            remaining,
            reset_after: bucket.resets_at.saturating_duration_since(now),
            bucket: format!("{:016x}", fnv(name)),
        };
        if bucket.remaining == 0 {
            self.refused.push(name.to_owned());
            return Err(taken(0));
        }
        bucket.remaining -= 1;
        Ok(taken(bucket.remaining))
    }
}

impl Taken {
    /// Adds Discord's headers to `response`.
    pub(crate) fn stamp(&self, response: &mut Response, refused: bool) {
        // Rounded up to the millisecond, so a client waiting exactly this long
        // never comes back a fraction early.
        let seconds = (self.reset_after.as_secs_f64() * 1000.0).ceil() / 1000.0;
        let reset = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64() + seconds;
        let mut headers = vec![
            ("x-ratelimit-limit", self.limit.to_string()),
            ("x-ratelimit-remaining", self.remaining.to_string()),
            ("x-ratelimit-reset", format!("{reset:.3}")),
            ("x-ratelimit-reset-after", format!("{seconds:.3}")),
            ("x-ratelimit-bucket", self.bucket.clone()),
        ];
        if refused {
            headers.push(("retry-after", format!("{}", seconds.ceil().max(1.0) as u64)));
            headers.push(("x-ratelimit-scope", "user".to_owned()));
        }
        for (name, value) in headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(HeaderName::from_static(name), value);
            }
        }
    }

    /// Seconds until the bucket resets.
    pub(crate) fn retry_after(&self) -> f64 {
        self.reset_after.as_secs_f64()
    }
}

/// FNV-1a: a stable bucket id from its name.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}
