//! The web leaderboard: public boards for servers that opted in, a JSON API
//! with the same data, `/healthz` and `/metrics`. Served by axum from the
//! bot's own process, reading the same store the commands read.

pub mod pages;
pub mod views;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::bot::Context;
use crate::metrics::ShardState;
use views::ViewError;

/// A running web server.
pub struct WebServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl WebServer {
    /// Serves the pages on `listener` until `stop` turns true.
    pub fn start(
        listener: tokio::net::TcpListener,
        context: Arc<Context>,
        mut stop: watch::Receiver<bool>,
    ) -> std::io::Result<Self> {
        let addr = listener.local_addr()?;
        let app = router(context);
        let task = tokio::spawn(async move {
            let stopped = async move {
                let _ = stop.wait_for(|stop| *stop).await;
            };
            if let Err(error) = axum::serve(listener, app).with_graceful_shutdown(stopped).await {
                tracing::error!(%error, "the web server stopped");
            }
        });
        tracing::info!("web leaderboard at http://{addr}/");
        Ok(Self { addr, task })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Waits for it to finish after `stop`, closing whatever connections are
    /// still open after `grace`.
    pub async fn finished(mut self, grace: std::time::Duration) {
        if tokio::time::timeout(grace, &mut self.task).await.is_err() {
            self.task.abort();
            let _ = self.task.await;
        }
    }
}

/// Every route.
pub fn router(context: Arc<Context>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/servers/{guild}", get(board_page))
        .route("/servers/{guild}/members/{user}", get(profile_page))
        .route("/api/servers", get(servers_api))
        .route("/api/servers/{guild}/leaderboard", get(board_api))
        .route("/api/servers/{guild}/members/{user}", get(profile_api))
        .route("/api/servers/{guild}/activity", get(activity_api))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .fallback(|| async { (StatusCode::NOT_FOUND, Html(pages::not_found())) })
        .with_state(context)
}

/// `?page=N` (from 1), `&period=all|week|month`, `&by=xp|messages|reactions|reactions_given|voice`.
/// Anything else is refused with 400 before a handler runs.
#[derive(Debug, Deserialize)]
struct PageQuery {
    page: Option<u64>,
    #[serde(default)]
    period: views::Period,
    #[serde(default)]
    by: views::By,
}

impl PageQuery {
    fn choice(&self) -> views::Choice {
        views::Choice { period: self.period, by: self.by }
    }
}

/// `?days=N` (1 to 366; default 30).
#[derive(Debug, Deserialize)]
struct DaysQuery {
    days: Option<i64>,
}

/// Runs a store read off the async threads.
async fn read<T: Send + 'static>(
    context: &Arc<Context>,
    query: impl FnOnce(&dyn crate::store::Reader) -> Result<T, ViewError> + Send + 'static,
) -> Result<T, ViewError> {
    let reader = Arc::clone(&context.reader);
    match tokio::task::spawn_blocking(move || query(reader.as_ref())).await {
        Ok(result) => result,
        Err(error) => {
            tracing::error!(%error, "a web read panicked");
            Err(ViewError::NotFound)
        }
    }
}

fn html(result: Result<String, ViewError>) -> Response {
    match result {
        Ok(page) => Html(page).into_response(),
        Err(ViewError::NotFound) => (StatusCode::NOT_FOUND, Html(pages::not_found())).into_response(),
        Err(ViewError::BadRequest(why)) => (StatusCode::BAD_REQUEST, Html(pages::bad_request(&why))).into_response(),
        Err(ViewError::Store(error)) => {
            tracing::warn!(%error, "web page could not read the database");
            (StatusCode::SERVICE_UNAVAILABLE, Html(pages::unavailable())).into_response()
        }
    }
}

fn json<T: serde::Serialize>(result: Result<T, ViewError>) -> Response {
    match result {
        Ok(value) => Json(value).into_response(),
        Err(ViewError::NotFound) => {
            (StatusCode::NOT_FOUND, Json(serde_json::json!({ "error": "not found" }))).into_response()
        }
        Err(ViewError::BadRequest(why)) => {
            (StatusCode::BAD_REQUEST, Json(serde_json::json!({ "error": why }))).into_response()
        }
        Err(ViewError::Store(error)) => {
            tracing::warn!(%error, "web API could not read the database");
            (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({ "error": "database unavailable" })))
                .into_response()
        }
    }
}

async fn index(State(context): State<Arc<Context>>) -> Response {
    html(read(&context, |r| Ok(pages::index(&views::servers(r)?))).await)
}

/// What an address asked for, or why it cannot be: the path and the query
/// read, with their mistakes turned into a plain 400.
fn asked<P, Q>(
    path: Result<Path<P>, PathRejection>,
    query: Result<Query<Q>, QueryRejection>,
) -> Result<(P, Q), ViewError> {
    let Path(path) = path.map_err(|r| ViewError::BadRequest(r.body_text()))?;
    let Query(query) = query.map_err(|r| ViewError::BadRequest(r.body_text()))?;
    Ok((path, query))
}

async fn board_page(
    State(context): State<Arc<Context>>,
    path: Result<Path<u64>, PathRejection>,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Response {
    let (guild, query) = match asked(path, query) {
        Ok(asked) => asked,
        Err(error) => return html(Err(error)),
    };
    let (page, choice) = (query.page.unwrap_or(1), query.choice());
    let cdn = context.avatars.base().to_owned();
    html(
        read(&context, move |r| {
            let board = views::board(r, guild, page, choice, crate::domain::days::today())?;
            let activity = views::activity(r, guild, crate::domain::days::today(), views::ACTIVITY_DAYS)?;
            Ok(pages::board(&board, &activity, &cdn))
        })
        .await,
    )
}

async fn profile_page(State(context): State<Arc<Context>>, path: Result<Path<(u64, u64)>, PathRejection>) -> Response {
    let (guild, user) = match path {
        Ok(Path(ids)) => ids,
        Err(rejection) => return html(Err(ViewError::BadRequest(rejection.body_text()))),
    };
    let cdn = context.avatars.base().to_owned();
    html(
        read(&context, move |r| {
            let view = views::profile(r, guild, user, crate::domain::days::today())?;
            Ok(pages::profile(&view, &cdn))
        })
        .await,
    )
}

async fn servers_api(State(context): State<Arc<Context>>) -> Response {
    json(read(&context, |r| Ok(views::servers(r)?)).await)
}

async fn board_api(
    State(context): State<Arc<Context>>,
    path: Result<Path<u64>, PathRejection>,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Response {
    let (guild, query) = match asked(path, query) {
        Ok(asked) => asked,
        Err(error) => return json::<()>(Err(error)),
    };
    let (page, choice) = (query.page.unwrap_or(1), query.choice());
    json(read(&context, move |r| views::board(r, guild, page, choice, crate::domain::days::today())).await)
}

async fn activity_api(
    State(context): State<Arc<Context>>,
    path: Result<Path<u64>, PathRejection>,
    query: Result<Query<DaysQuery>, QueryRejection>,
) -> Response {
    let (guild, query) = match asked(path, query) {
        Ok(asked) => asked,
        Err(error) => return json::<()>(Err(error)),
    };
    let days = query.days.unwrap_or(views::ACTIVITY_DAYS);
    json(read(&context, move |r| views::activity(r, guild, crate::domain::days::today(), days)).await)
}

async fn profile_api(State(context): State<Arc<Context>>, path: Result<Path<(u64, u64)>, PathRejection>) -> Response {
    let (guild, user) = match path {
        Ok(Path(ids)) => ids,
        Err(rejection) => return json::<()>(Err(ViewError::BadRequest(rejection.body_text()))),
    };
    json(read(&context, move |r| views::profile(r, guild, user, crate::domain::days::today())).await)
}

/// 200 while the ledger stores events and every shard is connected; 503
/// with the reason otherwise, so a supervisor can tell.
async fn healthz(State(context): State<Arc<Context>>) -> Response {
    let shards = context.metrics.shards();
    let ledger_running = !context.ledger.is_stopped();
    let all_connected = !shards.is_empty() && shards.values().all(|s| *s == ShardState::Connected);
    let status = if ledger_running && all_connected { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let shards: serde_json::Map<String, serde_json::Value> =
        shards.iter().map(|(id, state)| (id.to_string(), state.as_str().into())).collect();
    let body = serde_json::json!({
        "status": if status == StatusCode::OK { "ok" } else { "degraded" },
        "ledger": if ledger_running { "running" } else { "stopped" },
        "shards": shards,
    });
    (status, Json(body)).into_response()
}

async fn metrics(State(context): State<Arc<Context>>) -> Response {
    let text = context.metrics.render(context.ledger.stats());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
}
