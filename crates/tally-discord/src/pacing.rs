//! What the background senders (announcements, log posts, reward roles)
//! share: waiting for the next round, and pacing from the `X-RateLimit-*`
//! headers of every answer.
//!
//! twilight 0.18's rate limiter reads those headers only when an answer
//! carries `X-RateLimit-Scope`, which Discord sends only on a 429; so
//! through twilight alone a burst runs into one 429 per exhausted bucket,
//! and Discord counts each against the bot's invalid requests. The senders
//! are sequential, so a bucket that an answer says is spent is simply
//! waited out before its next request.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

/// When each bucket (a channel's messages, a server's role changes) may be
/// used again.
#[derive(Debug, Default)]
pub struct Pacer {
    ready_at: HashMap<String, Instant>,
}

impl Pacer {
    /// Waits until `bucket` may be used.
    pub async fn wait(&mut self, bucket: &str) {
        if let Some(at) = self.ready_at.remove(bucket) {
            tokio::time::sleep_until(at).await;
        }
    }

    /// Learns from an answer's headers: a spent bucket is ready again after
    /// `X-RateLimit-Reset-After`.
    pub fn learn<'a>(&mut self, bucket: &str, headers: impl Iterator<Item = (&'a str, &'a [u8])>) {
        if let Some(wait) = spent_for(headers) {
            self.ready_at.insert(bucket.to_owned(), Instant::now() + wait);
        }
    }
}

/// Between rounds of a background sender: waits for the next commit (new
/// work may have been queued), or `idle` at most, and says whether to go
/// on (false once `stop` turns true).
pub async fn next_round<T>(
    commits: &mut tokio::sync::watch::Receiver<T>,
    stop: &mut tokio::sync::watch::Receiver<bool>,
    idle: Duration,
) -> bool {
    tokio::select! {
        _ = stop.changed() => return false,
        _ = commits.changed() => {}
        _ = tokio::time::sleep(idle) => {}
    }
    !*stop.borrow()
}

/// How long a bucket stays spent, if the headers say it is.
pub fn spent_for<'a>(headers: impl Iterator<Item = (&'a str, &'a [u8])>) -> Option<Duration> {
    let (mut remaining, mut reset_after) = (None, None);
    for (name, value) in headers {
        let value = std::str::from_utf8(value).ok();
        match name.to_ascii_lowercase().as_str() {
            "x-ratelimit-remaining" => remaining = value.and_then(|v| v.parse::<u64>().ok()),
            "x-ratelimit-reset-after" => reset_after = value.and_then(|v| v.parse::<f64>().ok()),
            _ => {}
        }
    }
    match (remaining, reset_after) {
        (Some(0), Some(after)) if after.is_finite() && after >= 0.0 => {
            Some(Duration::from_secs_f64(after.min(3_600.0)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spent_bucket_waits_for_its_reset() {
        let headers = [("x-ratelimit-remaining", &b"0"[..]), ("X-RateLimit-Reset-After", &b"1.250"[..])];
        assert_eq!(spent_for(headers.into_iter()), Some(Duration::from_millis(1250)));
        let headers = [("x-ratelimit-remaining", &b"3"[..]), ("x-ratelimit-reset-after", &b"1.250"[..])];
        assert_eq!(spent_for(headers.into_iter()), None);
        assert_eq!(spent_for([("x-ratelimit-remaining", &b"0"[..])].into_iter()), None);
    }
}
