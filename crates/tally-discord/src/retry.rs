//! Retrying Discord REST calls through passing failures until a deadline.
//!
//! Rate limits (429) never reach this code: twilight's rate limiter reads
//! Discord's `X-RateLimit-*` and `Retry-After` headers, waits, and sends the
//! request again. What is left to retry here are server errors (5xx) and,
//! where the caller allows it, network errors: each is tried again with a
//! growing pause, as long as the next attempt can still finish in time.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;
use twilight_http::error::ErrorType;

/// Which failures are worth another attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// 5xx answers only: Discord is up but having trouble.
    ServerErrors,
    /// 5xx answers, network errors and timeouts.
    ServerAndNetworkErrors,
}

/// Why a call gave up.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// Discord answered with an error that another attempt would not fix,
    /// or the last attempt failed too.
    #[error(transparent)]
    Discord(#[from] twilight_http::Error),
    /// The deadline passed before any attempt succeeded.
    #[error("no answer from Discord before the deadline")]
    Deadline,
}

/// First pause between attempts; doubled after each failure.
const FIRST_PAUSE: Duration = Duration::from_millis(100);
/// Longest pause between attempts.
const MAX_PAUSE: Duration = Duration::from_secs(2);

/// Runs `call` until it succeeds, fails for good, or `deadline` passes.
/// Every attempt is cut off at the deadline.
pub async fn until<T, F, Fut>(deadline: Instant, retry: Retry, what: &str, mut call: F) -> Result<T, CallError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, twilight_http::Error>>,
{
    let mut pause = FIRST_PAUSE;
    let mut attempt = 1u32;
    loop {
        let error = match tokio::time::timeout_at(deadline, call()).await {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(error)) => error,
            Err(_) => return Err(CallError::Deadline),
        };
        if !is_transient(&error, retry) || Instant::now() + pause >= deadline {
            return Err(error.into());
        }
        tracing::warn!(%error, attempt, retry_in = ?pause, "{what}: Discord failed; trying again");
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(MAX_PAUSE);
        attempt += 1;
    }
}

/// Whether `error` may pass if the same request is sent again.
pub fn is_transient(error: &twilight_http::Error, retry: Retry) -> bool {
    match error.kind() {
        ErrorType::Response { status, .. } => status.is_server_error(),
        ErrorType::RequestError | ErrorType::RequestTimedOut => retry == Retry::ServerAndNetworkErrors,
        _ => false,
    }
}

/// Discord's JSON error code in an error answer (`40060`: interaction
/// already acknowledged, `10062`: unknown interaction), if any.
pub fn discord_code(error: &twilight_http::Error) -> Option<u64> {
    match error.kind() {
        ErrorType::Response { error: twilight_http::api_error::ApiError::General(general), .. } => Some(general.code),
        _ => None,
    }
}
