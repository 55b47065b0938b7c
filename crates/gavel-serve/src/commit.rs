//! The group commit of answers. In: each decided request's log lines and the window store its
//! decision recorded events in. Out: for each request, once its lines are in the log (with
//! `--log-sync always`, fdatasync'd) and every event it recorded is durable in the store,
//! `Ok`; else the fault, and the request answers 503.
//!
//! One thread (`gavel-commit`) takes every request waiting, syncs each window store once,
//! writes all their lines with one `write` (and one fdatasync), and then wakes them: one store
//! sync and one log write per batch instead of per request, and no blocking-pool hop per
//! request. A store sync covers every event recorded before it, and each request recorded
//! its events before it was queued, so the order of §4.1 holds: events durable, then the
//! line, then the answer. A store that cannot sync fails only the requests that used it, and
//! their lines are not written (no line for an answer that did not leave).

use gavel::store::WindowStore;
use gavel_log::DecisionLog;
use std::sync::mpsc;
use std::sync::Arc;
use tokio::sync::oneshot;

/// Most requests committed together (bounds one batch's buffer and its latency).
const MAX_BATCH: usize = 1024;

/// Why a request's commit failed.
pub enum Fault {
    /// The window store could not make the decision's events durable.
    Store(String),
    /// The log could not take the lines.
    Log(String),
}

struct Job {
    lines: Vec<u8>,
    count: u64,
    store: Option<Arc<dyn WindowStore>>,
    done: oneshot::Sender<Result<(), Fault>>,
}

/// The commit thread and its queue; dropping it lets the thread finish the queue and joins it.
pub struct Committer {
    queue: Option<mpsc::Sender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Committer {
    pub fn start(log: Arc<DecisionLog>) -> Result<Committer, String> {
        let (queue, jobs) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("gavel-commit".into())
            .spawn(move || run(&log, &jobs))
            .map_err(|e| format!("cannot start the decision log's commit thread: {e}"))?;
        Ok(Committer { queue: Some(queue), thread: Some(thread) })
    }

    /// Waits until `count` lines are in the log and `store` is synced, or says why not.
    pub async fn commit(&self, lines: Vec<u8>, count: u64, store: Option<Arc<dyn WindowStore>>) -> Result<(), Fault> {
        let (done, wait) = oneshot::channel();
        let queued = self.queue.as_ref().is_some_and(|q| q.send(Job { lines, count, store, done }).is_ok());
        if !queued {
            return Err(Fault::Log("the decision log is closed".into()));
        }
        wait.await.unwrap_or_else(|_| Err(Fault::Log("the decision log's commit thread stopped".into())))
    }
}

impl Drop for Committer {
    fn drop(&mut self) {
        drop(self.queue.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(log: &DecisionLog, jobs: &mpsc::Receiver<Job>) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    let mut lines = Vec::new();
    while let Ok(first) = jobs.recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        // Each store once (a reload that kept the windows shares the store).
        let mut synced: Vec<(Arc<dyn WindowStore>, Result<(), String>)> = Vec::new();
        for job in &batch {
            if let Some(store) = &job.store {
                if !synced.iter().any(|(s, _)| same(s, store)) {
                    synced.push((store.clone(), store.sync().map_err(|e| e.message)));
                }
            }
        }
        let store_fault = |job: &Job| -> Option<String> {
            let store = job.store.as_ref()?;
            synced.iter().find(|(s, _)| same(s, store)).and_then(|(_, r)| r.as_ref().err().cloned())
        };
        lines.clear();
        let mut count = 0;
        for job in batch.iter().filter(|j| store_fault(j).is_none()) {
            lines.extend_from_slice(&job.lines);
            count += job.count;
        }
        let written = log.append_lines(&lines, count).map_err(|e| e.message);
        for job in batch.drain(..) {
            let result = match (store_fault(&job), &written) {
                (Some(e), _) => Err(Fault::Store(e)),
                (None, Err(e)) => Err(Fault::Log(e.clone())),
                (None, Ok(())) => Ok(()),
            };
            // A request whose client went away no longer waits: nothing to tell it.
            let _ = job.done.send(result);
        }
        if lines.capacity() > 1 << 20 {
            lines = Vec::new();
        }
    }
}

fn same(a: &Arc<dyn WindowStore>, b: &Arc<dyn WindowStore>) -> bool {
    std::ptr::addr_eq(Arc::as_ptr(a), Arc::as_ptr(b))
}
