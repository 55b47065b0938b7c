//! What reloads the policy besides `POST /v1/reload`, and what stops the service. In: file
//! events under the policy paths (notify) and signals. Out: `App::reload` calls — debounced,
//! so an editor's burst of writes is one reload — and the end of [`until_terminated`] on
//! SIGTERM or Ctrl-C.

use crate::app::App;
use notify::{RecursiveMode, Watcher};
use std::sync::Arc;
use std::time::Duration;

/// Quiet time after the last file event before reloading.
const DEBOUNCE: Duration = Duration::from_millis(200);

/// Keeps watching (and listening for SIGHUP) while it lives.
pub struct Watching {
    _watcher: notify::RecommendedWatcher,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Watching {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub fn start(app: Arc<App>) -> Result<Watching, String> {
    // `true`: a file event, quiet when nothing changed; `false`: SIGHUP, always recorded.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<bool>();
    let files = tx.clone();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        // Reads (access events) change nothing; everything else might.
        if event.is_ok_and(|e| !e.kind.is_access()) {
            let _ = files.send(true);
        }
    })
    .map_err(|e| format!("cannot watch the policy files: {e}"))?;
    for path in &app.paths {
        watcher.watch(path, RecursiveMode::Recursive).map_err(|e| format!("cannot watch `{}`: {e}", path.display()))?;
    }
    let hup = tx;
    let task = tokio::spawn(async move {
        #[cfg(unix)]
        {
            if let Ok(mut signal) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
                tokio::spawn(async move {
                    while signal.recv().await.is_some() {
                        let _ = hup.send(false);
                    }
                });
            }
        }
        while let Some(mut quiet) = rx.recv().await {
            // Debounce: wait until the events stop for a moment.
            while let Ok(Some(q)) = tokio::time::timeout(DEBOUNCE, rx.recv()).await {
                quiet &= q;
            }
            let app = app.clone();
            let _ = tokio::task::spawn_blocking(move || {
                if let Err(e) = app.reload(quiet) {
                    eprintln!("gavel serve: reload failed, still serving the last good policy:\n{e}");
                }
            })
            .await;
        }
    });
    Ok(Watching { _watcher: watcher, task })
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn until_terminated() -> Result<(), String> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).map_err(|e| format!("cannot handle SIGTERM: {e}"))?;
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.map_err(|e| e.to_string())
    }
}
