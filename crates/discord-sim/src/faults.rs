//! REST faults a test can inject: rate limits (429 with Discord's headers and
//! body) and server errors, answered instead of the real route.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// One faulty answer to a REST request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestFault {
    /// 429 Too Many Requests, as Discord sends it: `Retry-After` and the
    /// `X-RateLimit-*` headers, and a JSON body with `retry_after`.
    RateLimited {
        /// How long the client must wait.
        retry_after: Duration,
        /// A global limit (every route) rather than this route's bucket.
        global: bool,
    },
    /// A 5xx status with Discord's plain error body (500, 502, 503, 504).
    ServerError(u16),
    /// The request is carried out at once, as usual, but its answer comes
    /// only after this long: what a client sees when its connection stalls
    /// after Discord acted, or when it dies before the answer arrives.
    LateAnswer(Duration),
}

impl RestFault {
    /// The HTTP response for this fault.
    pub(crate) fn response(&self) -> Response {
        match self {
            Self::LateAnswer(_) => unreachable!("a late answer is the route's own, delayed"),
            Self::RateLimited { retry_after, global } => rate_limited(*retry_after, *global),
            Self::ServerError(status) => {
                let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                (status, Json(json!({ "message": "500: Internal Server Error", "code": 0 }))).into_response()
            }
        }
    }
}

fn rate_limited(retry_after: Duration, global: bool) -> Response {
    let seconds = retry_after.as_secs_f64();
    let reset = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64() + seconds;
    let body = json!({ "message": "You are being rate limited.", "retry_after": seconds, "global": global, "code": 0 });
    let mut response = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
    // Discord's Retry-After header is whole seconds, rounded up; the body
    // (and X-RateLimit-Reset-After for a route's bucket) carry the precise
    // figure. A global limit names no bucket.
    let mut headers = vec![("retry-after", format!("{}", seconds.ceil() as u64))];
    if global {
        headers.push(("x-ratelimit-global", "true".to_owned()));
        headers.push(("x-ratelimit-scope", "global".to_owned()));
    } else {
        headers.extend([
            ("x-ratelimit-limit", "5".to_owned()),
            ("x-ratelimit-remaining", "0".to_owned()),
            ("x-ratelimit-reset", format!("{reset:.3}")),
            ("x-ratelimit-reset-after", format!("{seconds:.3}")),
            ("x-ratelimit-bucket", "a06de0de4d3b4b5c3bd4bbe4e3a9a4b1".to_owned()),
            ("x-ratelimit-scope", "user".to_owned()),
        ]);
    }
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(HeaderName::from_static(name), value);
        }
    }
    response
}
