//! The web leaderboard: public boards for servers that opted in, a JSON API
//! with the same data and `/healthz`; `/metrics` on an address of its own;
//! and the admins' [`dashboard`], signed in with Discord. Served by axum
//! from the bot's own process, reading the same store the commands read.
//!
//! - **Depends on** `tally-domain`, `tally-store` (read through `Reader`)
//!   and `tally-discord` (the running bot's shared [`Context`], the boards
//!   `/leaderboard` offers, avatar addresses, shard states); never on the
//!   binary.
//! - **Start reading** at [`router`] (every address and its handler), then
//!   [`views`] (one query per page, shared by HTML and JSON) and [`pages`]
//!   (the HTML, pure); the dashboard's sign-in starts at [`dashboard`].

pub mod dashboard;
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

use tally_discord::context::Context;
use tally_discord::metrics::ShardState;
use views::ViewError;

/// The rules' types, as `crate::domain` inside this crate.
use tally_domain as domain;
/// What the pages read, as `crate::store` inside this crate.
use tally_store as store;

/// A running web server.
pub struct WebServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl WebServer {
    /// Serves the pages, and the dashboard as `dashboard` sets it up, on
    /// `listener` until `stop` turns true.
    pub fn start(
        listener: tokio::net::TcpListener,
        context: Arc<Context>,
        dashboard: &dashboard::Settings,
        stop: watch::Receiver<bool>,
    ) -> std::io::Result<Self> {
        let addr = listener.local_addr()?;
        let dashboard = Arc::new(dashboard::Dashboard::new(Arc::clone(&context), dashboard, addr));
        if dashboard.is_on() {
            tracing::info!(redirect_uri = %dashboard.redirect_uri(), "dashboard sign-in is on");
        }
        let app = dashboard::router(dashboard).merge(router(context));
        let server = Self::serve(listener, app, stop)?;
        tracing::info!("web leaderboard at http://{}/", server.addr);
        Ok(server)
    }

    /// Serves `/metrics` and `/healthz` on `listener`, apart from the public
    /// pages, until `stop` turns true.
    pub fn start_metrics(
        listener: tokio::net::TcpListener,
        context: Arc<Context>,
        stop: watch::Receiver<bool>,
    ) -> std::io::Result<Self> {
        let server = Self::serve(listener, metrics_router(context), stop)?;
        tracing::info!("metrics at http://{}/metrics", server.addr);
        Ok(server)
    }

    fn serve(listener: tokio::net::TcpListener, app: Router, mut stop: watch::Receiver<bool>) -> std::io::Result<Self> {
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let stopped = async move {
                let _ = stop.wait_for(|stop| *stop).await;
            };
            if let Err(error) = axum::serve(listener, app).with_graceful_shutdown(stopped).await {
                tracing::error!(%error, "a web server stopped");
            }
        });
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
        .fallback(|| async { (StatusCode::NOT_FOUND, Html(pages::not_found())) })
        .with_state(context)
}

/// The operator's routes, on their own address (`TALLY_METRICS_ADDR`):
/// what the process counts is not for the public the board is shown to.
pub fn metrics_router(context: Arc<Context>) -> Router {
    Router::new().route("/metrics", get(metrics)).route("/healthz", get(healthz)).with_state(context)
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

/// The ids in an address, or a plain 400 saying what is wrong with them.
fn ids<P>(path: Result<Path<P>, PathRejection>) -> Result<P, ViewError> {
    path.map(|Path(ids)| ids).map_err(|r| ViewError::BadRequest(r.body_text()))
}

/// The query of an address, or a plain 400 saying what is wrong with it.
fn params<Q>(query: Result<Query<Q>, QueryRejection>) -> Result<Q, ViewError> {
    query.map(|Query(q)| q).map_err(|r| ViewError::BadRequest(r.body_text()))
}

async fn board_page(
    State(context): State<Arc<Context>>,
    path: Result<Path<u64>, PathRejection>,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Response {
    let cdn = context.avatars.base().to_owned();
    let page = async {
        let (guild, query) = (ids(path)?, params(query)?);
        let (page, choice) = (query.page.unwrap_or(1), query.choice());
        read(&context, move |r| {
            let today = crate::domain::days::today();
            let board = views::board(r, guild, page, choice, today)?;
            let activity = views::activity(r, guild, today, views::ACTIVITY_DAYS)?;
            Ok(pages::board(&board, &activity, &cdn))
        })
        .await
    };
    html(page.await)
}

async fn profile_page(State(context): State<Arc<Context>>, path: Result<Path<(u64, u64)>, PathRejection>) -> Response {
    let cdn = context.avatars.base().to_owned();
    let page = async {
        let (guild, user) = ids(path)?;
        read(&context, move |r| {
            let view = views::profile(r, guild, user, crate::domain::days::today())?;
            Ok(pages::profile(&view, &cdn))
        })
        .await
    };
    html(page.await)
}

async fn servers_api(State(context): State<Arc<Context>>) -> Response {
    json(read(&context, |r| Ok(views::servers(r)?)).await)
}

async fn board_api(
    State(context): State<Arc<Context>>,
    path: Result<Path<u64>, PathRejection>,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Response {
    let board = async {
        let (guild, query) = (ids(path)?, params(query)?);
        let (page, choice) = (query.page.unwrap_or(1), query.choice());
        read(&context, move |r| views::board(r, guild, page, choice, crate::domain::days::today())).await
    };
    json(board.await)
}

async fn activity_api(
    State(context): State<Arc<Context>>,
    path: Result<Path<u64>, PathRejection>,
    query: Result<Query<DaysQuery>, QueryRejection>,
) -> Response {
    let activity = async {
        let (guild, query) = (ids(path)?, params(query)?);
        let days = query.days.unwrap_or(views::ACTIVITY_DAYS);
        read(&context, move |r| views::activity(r, guild, crate::domain::days::today(), days)).await
    };
    json(activity.await)
}

async fn profile_api(State(context): State<Arc<Context>>, path: Result<Path<(u64, u64)>, PathRejection>) -> Response {
    let profile = async {
        let (guild, user) = ids(path)?;
        read(&context, move |r| views::profile(r, guild, user, crate::domain::days::today())).await
    };
    json(profile.await)
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
