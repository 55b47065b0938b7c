//! What the benches share: timing Gavel and a floor in alternating batches.

use std::hint::black_box;

/// The floor and Gavel (`label`) timed in alternating batches, so that both see the same
/// machine: on a shared machine whose speed drifts between criterion's groups, the median
/// of the per-round ratios is steadier than two separate medians. Printed, not asserted;
/// skipped under `--profile-time`, where it would mix the floor into Gavel's profile.
pub fn interleaved(name: &str, label: &str, mut floor: impl FnMut() -> bool, mut gavel: impl FnMut() -> bool) {
    const ROUNDS: usize = 31;
    const BATCH: u32 = 20_000;
    if std::env::args().any(|a| a == "--profile-time") {
        return;
    }
    let time = |f: &mut dyn FnMut() -> bool| {
        let start = std::time::Instant::now();
        for _ in 0..BATCH {
            black_box(f());
        }
        start.elapsed().as_nanos() as f64 / f64::from(BATCH)
    };
    let rounds: Vec<(f64, f64)> = (0..ROUNDS).map(|_| (time(&mut floor), time(&mut gavel))).collect();
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let mut ratios: Vec<f64> = rounds.iter().map(|(f, v)| v / f).collect();
    let mut floors: Vec<f64> = rounds.iter().map(|r| r.0).collect();
    let mut gavels: Vec<f64> = rounds.iter().map(|r| r.1).collect();
    println!(
        "interleaved {name}: floor {:.1} ns, {label} {:.1} ns, {label}/floor {:.2} (median of {ROUNDS} rounds)",
        median(&mut floors),
        median(&mut gavels),
        median(&mut ratios)
    );
}
