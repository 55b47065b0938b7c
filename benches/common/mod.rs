//! What the benches share: timing two things in alternating batches.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// `a` and `b` timed in alternating batches, so that both see the same machine: on a shared
/// machine whose speed drifts between criterion's groups, the median of the per-round
/// ratios is steadier than the ratio of two separate medians. Each batch runs about a
/// millisecond's worth of calls. Prints `interleaved NAME: A x ns, B y ns, B/A r`; not
/// asserted. Skipped under `--profile-time`, where it would mix `a` into `b`'s profile.
pub fn interleaved(name: &str, a: (&str, impl FnMut() -> bool), b: (&str, impl FnMut() -> bool)) {
    const ROUNDS: usize = 31;
    const BATCH_TIME: Duration = Duration::from_millis(1);
    if std::env::args().any(|arg| arg == "--profile-time") {
        return;
    }
    let ((a_label, mut a), (b_label, mut b)) = (a, b);
    let time = |f: &mut dyn FnMut() -> bool, calls: u32| {
        let start = Instant::now();
        for _ in 0..calls {
            black_box(f());
        }
        start.elapsed().as_nanos() as f64 / f64::from(calls)
    };
    // Warm both up, then size each one's batch from its own time per call.
    let calls = |per_call: f64| ((BATCH_TIME.as_nanos() as f64 / per_call.max(1.0)) as u32).clamp(1, 100_000);
    let (a_calls, b_calls) = (calls(time(&mut a, 1000)), calls(time(&mut b, 1000)));
    let rounds: Vec<(f64, f64)> = (0..ROUNDS).map(|_| (time(&mut a, a_calls), time(&mut b, b_calls))).collect();
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "interleaved {name}: {a_label} {:.1} ns, {b_label} {:.1} ns, {b_label}/{a_label} {:.3} (median of {ROUNDS} rounds)",
        median(rounds.iter().map(|r| r.0).collect()),
        median(rounds.iter().map(|r| r.1).collect()),
        median(rounds.iter().map(|(a, b)| b / a).collect())
    );
}
