//! `gavel bench`: decisions per second and latency percentiles of an engine on the user's
//! own policy and requests. In: an `Engine`, request bodies, an iteration count. Out: a
//! `BenchResult`. Timing lives here, never in tests.

use gavel::{DecideOptions, Engine};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq)]
pub struct BenchResult {
    pub decisions: usize,
    pub total: Duration,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl BenchResult {
    pub fn per_second(&self) -> f64 {
        self.decisions as f64 / self.total.as_secs_f64().max(f64::MIN_POSITIVE)
    }
}

/// Decisions per second with `threads` threads sharing one engine, each deciding
/// `iterations` requests (the engine is `Sync`: deciding takes `&self`).
pub fn throughput(engine: &Engine, requests: &[Vec<u8>], iterations: usize, threads: usize) -> f64 {
    let options = DecideOptions { explain: false, now: Some(std::time::UNIX_EPOCH) };
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads.max(1) {
            s.spawn(move || {
                for r in requests.iter().cycle().skip(t).take(iterations) {
                    std::hint::black_box(engine.decide_with(r, options));
                }
            });
        }
    });
    (iterations * threads.max(1)) as f64 / start.elapsed().as_secs_f64().max(f64::MIN_POSITIVE)
}

/// How deciding scales with threads (see `scaling`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scaling {
    /// Decisions per second with all the threads (the median round).
    pub per_second: f64,
    /// The median over the rounds of (rate with the threads) ÷ (rate with one thread).
    pub ratio: f64,
}

/// `threads` threads against one, timed in alternating rounds so that both see the same
/// machine (a shared machine's speed drifts between two separate runs by more than the
/// effect measured); each round decides `iterations / 7` requests per thread.
pub fn scaling(engine: &Engine, requests: &[Vec<u8>], iterations: usize, threads: usize) -> Scaling {
    const ROUNDS: usize = 7;
    let per_round = (iterations / ROUNDS).max(1);
    let rounds: Vec<(f64, f64)> = (0..ROUNDS).map(|_| (throughput(engine, requests, per_round, 1), throughput(engine, requests, per_round, threads))).collect();
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or_default()
    };
    Scaling { per_second: median(rounds.iter().map(|r| r.1).collect()), ratio: median(rounds.iter().map(|(one, many)| many / one).collect()) }
}

/// Decides `iterations` requests (cycling through `requests`) after a short warm-up, timing
/// each one. `progress` is called with the number done so far, every 1/100th of the run.
pub fn measure(engine: &Engine, requests: &[Vec<u8>], iterations: usize, mut progress: impl FnMut(usize)) -> BenchResult {
    let options = DecideOptions { explain: false, now: Some(std::time::UNIX_EPOCH) };
    for r in requests.iter().cycle().take(iterations.min(1000)) {
        std::hint::black_box(engine.decide_with(r, options));
    }
    let step = (iterations / 100).max(1);
    let mut latencies = Vec::with_capacity(iterations);
    let start = Instant::now();
    for (i, r) in requests.iter().cycle().take(iterations).enumerate() {
        let t = Instant::now();
        std::hint::black_box(engine.decide_with(r, options));
        latencies.push(t.elapsed());
        if i % step == 0 {
            progress(i);
        }
    }
    let total = start.elapsed();
    latencies.sort_unstable();
    let at = |q: f64| latencies.get(((latencies.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or_default();
    BenchResult { decisions: latencies.len(), total, p50: at(0.50), p99: at(0.99), max: at(1.0) }
}
