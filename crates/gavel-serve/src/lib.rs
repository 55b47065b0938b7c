//! `gavel serve` (PRODUCT.md §4.1): decisions over HTTP, human approvals bound to the exact
//! call, the decision log, hot reload, metrics. In: [`Options`] (policy paths, listen address,
//! config, log, store). Out: an HTTP service on tokio + axum until SIGTERM ([`run`]), or a
//! [`Server`] started in-process (tests).
//!
//! Modules: `config` (the TOML file, tokens), `auth` (who calls, 401/403), `app` (the served
//! policy and its swap on reload), `decide` (`POST /v1/decide`), `commit` (its group commit
//! of log lines and window syncs), `approvals` (the review
//! routes), `metrics` (`/metrics`), `watch` (file changes and SIGHUP). Every route's caller
//! check happens in its handler, after routing, so an unknown route is 404 and a wrong
//! method 405 whatever the token.
//!
//! *Invariant*: no decision leaves the service unless its line is in the decision log.

// Handlers return `Result<_, Response>` to answer early; a refused request builds one answer,
// so boxing it would buy nothing.
#![allow(clippy::result_large_err)]

mod app;
mod approvals;
mod auth;
mod commit;
pub mod config;
mod decide;
mod listen;
mod metrics;
mod watch;

use app::{App, StoreChoice};
use auth::Need;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
pub use gavel_log::LogSync;
use gavel_log::{DecisionLog, LogOptions};
use gavel_store::approvals::ApprovalStore;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// An HTTP answer.
pub type Answer = Response;

/// How `gavel serve` runs.
#[derive(Clone, Debug)]
pub struct Options {
    /// The policy files and folders.
    pub paths: Vec<PathBuf>,
    /// `--listen ADDR:PORT`; loopback by default.
    pub listen: String,
    /// `--config FILE.toml`: tokens and approval TTL.
    pub config: Option<PathBuf>,
    /// `--log FILE`: the decision log.
    pub log: PathBuf,
    /// `--log-sync`: group commit (the default) or before every answer.
    pub log_sync: LogSync,
    /// `--state DIR`: the embedded store of windows and approvals.
    pub state: PathBuf,
    /// `--redis URL`: windows and approvals in Redis instead, shared by instances.
    pub redis: Option<String>,
    /// Reload when a policy file changes.
    pub watch: bool,
    /// How long a client may take to send its request's headers before the connection is
    /// closed (a slow or stalled client holds no connection for long).
    pub header_timeout: Duration,
}

impl Options {
    /// The defaults of §4.1 for these policy paths.
    pub fn new(paths: Vec<PathBuf>) -> Options {
        Options {
            paths,
            listen: "127.0.0.1:8181".into(),
            config: None,
            log: "gavel-decisions.jsonl".into(),
            log_sync: LogSync::Group,
            state: "gavel-state".into(),
            redis: None,
            watch: true,
            header_timeout: REQUEST_TIMEOUT,
        }
    }
}

/// How long a request may take, reading its body included (slow clients are cut off).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A running service.
pub struct Server {
    /// The address it listens on (the port chosen when `:0` was asked).
    pub addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), String>>,
}

impl Server {
    /// Opens everything, binds, and serves in the background on the current tokio runtime
    /// (multi-threaded). `--listen 127.0.0.1:0` picks a free port (`Server::addr`).
    pub async fn start(options: Options) -> Result<Server, String> {
        let app = Arc::new(open(&options)?);
        let listener = tokio::net::TcpListener::bind(&options.listen).await.map_err(|e| format!("cannot listen on `{}`: {e}", options.listen))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        if app.config.tokens.is_empty() && !addr.ip().is_loopback() {
            return Err(format!(
                "no tokens are configured, so the service would be open to anyone: it listens only on loopback then (not `{addr}`); configure `[[tokens]]` in `--config`"
            ));
        }
        let watcher = if options.watch { Some(watch::start(app.clone())?) } else { None };
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let router = router(app.clone());
        let header_timeout = options.header_timeout;
        let task = tokio::spawn(async move {
            let _watcher = watcher;
            listen::serve(listener, router, header_timeout, async move {
                let _ = rx.await;
            })
            .await;
            // Drained: every answered line is already written; make them durable now.
            let flushed = app.log.flush().map_err(|e| e.to_string());
            let synced = app.current().engine.sync_windows().map_err(|e| e.message);
            flushed.and(synced)
        });
        Ok(Server { addr, shutdown: Some(tx), task })
    }

    /// Stops accepting, lets requests in flight finish, flushes the log.
    pub async fn stop(mut self) -> Result<(), String> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.task.await.map_err(|e| format!("the server task failed: {e}"))?
    }
}

/// Runs the service until SIGTERM (or Ctrl-C); SIGHUP reloads. Blocks.
pub fn run(options: Options) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async move {
        let server = Server::start(options.clone()).await?;
        eprintln!("gavel serve: listening on http://{} (log `{}`)", server.addr, options.log.display());
        watch::until_terminated().await?;
        eprintln!("gavel serve: stopping: finishing requests in flight");
        server.stop().await
    })
}

/// The config, the log, the stores and the policy.
fn open(options: &Options) -> Result<App, String> {
    let config = match &options.config {
        Some(path) => config::Config::load(path)?,
        None => config::Config::default(),
    };
    let log = DecisionLog::open(&options.log, LogOptions { sync: options.log_sync, ..LogOptions::default() }).map_err(|e| e.message)?;
    let (store, approvals): (StoreChoice, Box<dyn ApprovalStore>) = match &options.redis {
        Some(url) => (StoreChoice::Redis(url.clone()), Box::new(gavel_store::approvals::RedisApprovals::connect(url).map_err(|e| e.to_string())?)),
        None => {
            std::fs::create_dir_all(&options.state).map_err(|e| format!("cannot create the state directory `{}`: {e}", options.state.display()))?;
            let file = options.state.join("approvals.redb");
            (StoreChoice::Redb(options.state.clone()), Box::new(gavel_store::approvals::RedbApprovals::open(&file).map_err(|e| e.to_string())?))
        }
    };
    App::new(options.paths.clone(), config, log, approvals, store)
}

fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/v1/decide", post(decide))
        .route("/v1/approvals", get(approvals::list))
        .route("/v1/approvals/{id}", get(approvals::one))
        .route("/v1/approvals/{id}/approve", post(approvals::approve))
        .route("/v1/approvals/{id}/reject", post(approvals::reject))
        .route("/v1/reload", post(reload))
        .route("/v1/status", get(status))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .fallback(|| async { json_error(StatusCode::NOT_FOUND, "no such route") })
        // `decide` reads its body itself, against the policy's own limit.
        .layer(DefaultBodyLimit::disable())
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, REQUEST_TIMEOUT))
        .with_state(app)
}

/// `application/json` with `value`.
pub(crate) fn json(status: StatusCode, value: &serde_json::Value) -> Answer {
    // INVARIANT: a `serde_json::Value` always serializes.
    let body = serde_json::to_vec(value).expect("a JSON value serializes");
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response()
}

/// `{"error": message}` with `status`.
pub(crate) fn json_error(status: StatusCode, message: &str) -> Answer {
    json(status, &serde_json::json!({ "error": message }))
}

/// Runs blocking work (the log, the stores) off the async workers.
pub(crate) async fn blocking(f: impl FnOnce() -> Answer + Send + 'static) -> Answer {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|_| json_error(StatusCode::INTERNAL_SERVER_ERROR, "the request failed inside the service"))
}

async fn decide(State(app): State<Arc<App>>, request: Request) -> Answer {
    let caller = match auth::caller(&app.config, request.headers(), Need::Agent) {
        Ok(c) => c,
        Err(answer) => return answer,
    };
    let limit = app.current().policy.limits().max_request_bytes;
    let body = match read_body(request.into_body(), limit).await {
        Ok(body) => body,
        Err(answer) => return answer,
    };
    let loaded = app.current();
    // The engine decides in about a microsecond: on the async worker, unless its windows are
    // a network away (Redis), so no request pays a blocking-pool hop it does not need.
    let decided = if loaded.blocks {
        let app = app.clone();
        match tokio::task::spawn_blocking(move || decide::decide(&app, &loaded, &caller, body)).await {
            Ok(decided) => decided,
            Err(_) => Err(json_error(StatusCode::INTERNAL_SERVER_ERROR, "the request failed inside the service")),
        }
    } else {
        decide::decide(&app, &loaded, &caller, body)
    };
    match decided {
        Ok(decided) => decide::answer(&app, decided).await,
        Err(answer) => answer,
    }
}

/// The body, read up to `limit` bytes; a longer one is `TooLarge` (a deny, not an error).
async fn read_body(body: axum::body::Body, limit: usize) -> Result<decide::Body, Answer> {
    use http_body_util::{BodyExt, LengthLimitError, Limited};
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(decide::Body::Bytes(collected.to_bytes().to_vec())),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Ok(decide::Body::TooLarge { limit }),
        Err(e) => Err(json_error(StatusCode::BAD_REQUEST, &format!("the body could not be read: {e}"))),
    }
}

async fn reload(State(app): State<Arc<App>>, headers: HeaderMap) -> Answer {
    if let Err(answer) = auth::caller(&app.config, &headers, Need::Reviewer) {
        return answer;
    }
    blocking(move || match app.reload(false) {
        Ok(digest) => json(StatusCode::OK, &serde_json::json!({"ok": true, "digest": digest})),
        Err(error) => json(StatusCode::UNPROCESSABLE_ENTITY, &serde_json::json!({"ok": false, "error": error})),
    })
    .await
}

async fn status(State(app): State<Arc<App>>, headers: HeaderMap) -> Answer {
    if let Err(answer) = auth::caller(&app.config, &headers, Need::Any) {
        return answer;
    }
    let loaded = app.current();
    let last = app.last_reload.lock().map(|l| l.clone()).unwrap_or_else(|p| p.into_inner().clone());
    json(
        StatusCode::OK,
        &serde_json::json!({
            "policy": loaded.policy_ref,
            "loaded_at": loaded.loaded_at,
            "last_reload": last,
            "log": {"path": app.log.path().display().to_string(), "entries": app.log.entries(), "errors": app.metrics.log_errors()},
            "store": app.store.describe(),
        }),
    )
}

async fn healthz() -> Answer {
    // The policy is loaded before the service listens: reaching here means it is.
    json(StatusCode::OK, &serde_json::json!({"ok": true}))
}

async fn metrics(State(app): State<Arc<App>>, headers: HeaderMap) -> Answer {
    if let Err(answer) = auth::caller(&app.config, &headers, Need::Any) {
        return answer;
    }
    (StatusCode::OK, [(header::CONTENT_TYPE, HeaderValue::from_static(metrics::CONTENT_TYPE))], app.metrics.encode()).into_response()
}
