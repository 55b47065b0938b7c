//! The service's state: the policy being served (swapped whole on reload), the config, the
//! decision log (and its group-commit thread, `commit`), the approval store and the metrics. In: [`crate::Options`]. Out: an [`App`]
//! the handlers share, and [`App::reload`], which compiles the files aside and swaps the new
//! policy in atomically (arc-swap) or keeps the old one and says why.
//!
//! A request takes one `Arc<Loaded>` at its start (`App::current`) and decides, logs and
//! answers with it, so a reload in the middle never mixes two policies in one answer; the
//! retired policy (and its JIT code) is dropped when the last request holding it ends.

use crate::commit::Committer;
use crate::config::Config;
use crate::metrics::Metrics;
use arc_swap::ArcSwap;
use gavel::policy::{Backend, Engine, Policy};
use gavel::store::{Bounds, WindowSpec, WindowStore};
use gavel_log::{DecisionLog, Record, ReloadRecord};
use gavel_store::approvals::ApprovalStore;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// One compiled policy and the engine deciding with it.
pub struct Loaded {
    pub policy: Policy,
    pub engine: Engine,
    /// The policy's `{name, version, digest}`.
    pub policy_ref: serde_json::Value,
    pub loaded_at: String,
    specs: Vec<WindowSpec>,
    /// The window store, when the policy has windows: `commit` syncs it with the log.
    pub store: Option<Arc<dyn WindowStore>>,
    /// Reading or recording a window is a network round trip (Redis): decide off the async
    /// workers.
    pub blocks: bool,
}

/// Where windows and approvals are kept.
#[derive(Clone, Debug)]
pub enum StoreChoice {
    Redb(PathBuf),
    Redis(String),
}

impl StoreChoice {
    /// For `/v1/status`: the kind and where (a Redis URL without its password).
    pub fn describe(&self) -> serde_json::Value {
        match self {
            StoreChoice::Redb(dir) => serde_json::json!({"kind": "redb", "path": dir.display().to_string()}),
            StoreChoice::Redis(url) => serde_json::json!({"kind": "redis", "url": without_password(url)}),
        }
    }
}

fn without_password(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://…@{}", &url[..s], &url[at + 1..]),
        _ => url.to_string(),
    }
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct LastReload {
    pub ok: bool,
    pub at: String,
    pub error: Option<String>,
}

pub struct App {
    pub paths: Vec<PathBuf>,
    current: ArcSwap<Loaded>,
    pub config: Config,
    pub log: Arc<DecisionLog>,
    /// Writes decisions' lines and syncs their window stores in groups (`commit`).
    pub committer: Committer,
    pub approvals: Box<dyn ApprovalStore>,
    pub metrics: Metrics,
    pub store: StoreChoice,
    pub last_reload: Mutex<LastReload>,
    /// One reload at a time (HTTP, SIGHUP and the file watcher may ask together).
    reloading: Mutex<()>,
}

/// Why a reload did not happen.
pub type ReloadError = String;

impl App {
    pub fn new(paths: Vec<PathBuf>, config: Config, log: DecisionLog, approvals: Box<dyn ApprovalStore>, store: StoreChoice) -> Result<App, String> {
        let loaded = load(&paths, &store, None)?;
        let at = loaded.loaded_at.clone();
        let log = Arc::new(log);
        let committer = Committer::start(log.clone())?;
        Ok(App {
            committer,
            paths,
            current: ArcSwap::from_pointee(loaded),
            config,
            log,
            approvals,
            metrics: Metrics::default(),
            store,
            last_reload: Mutex::new(LastReload { ok: true, at, error: None }),
            reloading: Mutex::new(()),
        })
    }

    /// The policy serving now; hold it for the whole request.
    pub fn current(&self) -> Arc<Loaded> {
        self.current.load_full()
    }

    /// Compiles the files again and swaps the result in; on failure the old policy keeps
    /// serving. Either way `last_reload`, the log (a reload record) and the metrics say so.
    /// `quiet`: a file-watcher reload that found nothing changed leaves no record.
    /// Blocking (compiles, may open a store).
    pub fn reload(&self, quiet: bool) -> Result<String, ReloadError> {
        let _one = self.reloading.lock().unwrap_or_else(|p| p.into_inner());
        let old = self.current();
        let result = load(&self.paths, &self.store, Some(&old));
        let now = gavel_log::timestamp(SystemTime::now());
        let (ok, digest, error) = match &result {
            Ok(new) => (true, Some(new.policy.digest().to_string()), None),
            Err(e) => (false, None, Some(e.clone())),
        };
        let unchanged = result.as_ref().is_ok_and(|new| new.policy.digest() == old.policy.digest());
        let was_ok = self.last_reload.lock().map(|l| l.ok).unwrap_or(true);
        *self.last_reload.lock().unwrap_or_else(|p| p.into_inner()) = LastReload { ok, at: now.clone(), error: error.clone() };
        if quiet && unchanged && was_ok {
            return Ok(old.policy.digest().to_string());
        }
        if let Ok(new) = result {
            if !unchanged {
                self.current.store(Arc::new(new));
            }
        }
        self.metrics.reloaded(ok);
        if self.log.append(&Record::Reload(ReloadRecord { ok, digest: digest.clone(), error: error.clone(), time: now })).is_err() {
            self.metrics.log_error();
        }
        match (digest, error) {
            (Some(d), _) => Ok(d),
            (None, e) => Err(e.unwrap_or_default()),
        }
    }
}

/// Compiles the policy and makes its engine, with the window store: the one `old` has when
/// the windows are the same, else a new one.
fn load(paths: &[PathBuf], choice: &StoreChoice, old: Option<&Loaded>) -> Result<Loaded, String> {
    let policy = paths.iter().fold(Policy::builder(), |b, p| b.path(p)).build().map_err(|d| render(&d))?;
    let engine = match policy.engine(Backend::Jit) {
        Ok(e) => e,
        // The JIT is a speed-up; the interpreter decides the same.
        Err(_) => policy.engine(Backend::Interpreter).map_err(|e| e.to_string())?,
    };
    let specs = engine.window_specs();
    let (engine, store) = if specs.is_empty() {
        (engine, None)
    } else {
        let store: Arc<dyn WindowStore> = match old {
            Some(old) if old.specs == specs && old.store.is_some() => old.store.clone().expect("checked just above"),
            _ => open_windows(choice, &specs, old.is_some())?,
        };
        (engine.with_store(store.clone()), Some(store))
    };
    let p = policy.policy_ref();
    let policy_ref = serde_json::json!({"name": p.name, "version": p.version, "digest": p.digest});
    let blocks = store.is_some() && matches!(choice, StoreChoice::Redis(_));
    Ok(Loaded { policy, engine, policy_ref, loaded_at: gavel_log::timestamp(SystemTime::now()), specs, store, blocks })
}

fn open_windows(store: &StoreChoice, specs: &[WindowSpec], reloading: bool) -> Result<Arc<dyn WindowStore>, String> {
    let bounds = Bounds::default();
    match store {
        StoreChoice::Redb(dir) => {
            if reloading {
                // The embedded store's file is open (and locked) by the serving policy, which
                // requests in flight still use: new windows need a restart.
                return Err(format!(
                    "the policy's windows changed, and the embedded store in `{}` cannot be reopened while it serves: restart `gavel serve` to apply it (or use `--redis`)",
                    dir.display()
                ));
            }
            gavel_store::RedbStore::open(dir, specs, bounds).map(|s| Arc::new(s) as _).map_err(|e| e.message)
        }
        StoreChoice::Redis(url) => gavel_store::RedisStore::connect(url, specs, bounds).map(|s| Arc::new(s) as _).map_err(|e| e.message),
    }
}

/// Diagnostics as text, for `/v1/status`, the reload answer and the log.
fn render(d: &gavel::Diagnostics) -> String {
    let mut out = String::new();
    for item in d.items.iter().filter(|i| i.is_error()) {
        out.push_str(&gavel::diagnostics::render(item, &d.sources, false));
    }
    if out.is_empty() {
        out = "the policy does not compile".into();
    }
    out
}
