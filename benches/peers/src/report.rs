//! The ratio table. In: criterion's estimates (`<criterion dir>/<group>/<bench>/new/estimates.json`)
//! written by `benches/peers.rs`. Out: two Markdown tables — medians, and ratios (each peer
//! against Gavel, Gavel against each floor) — printed at the end of the bench run and by the
//! `ratios` binary (which only reads, so it can reprint the last run's table).

use crate::scenario::SCENARIOS;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// The benchmark functions, in table order, with their column titles.
pub const ENGINES: [(&str, &str); 5] = [
    ("gavel_interp", "Gavel interp"),
    ("gavel_jit", "Gavel JIT"),
    ("cedar", "Cedar"),
    ("regorus_rvm", "regorus RVM"),
    ("cel", "CEL"),
];
pub const PEERS: [&str; 3] = ["cedar", "regorus_rvm", "cel"];
/// Eval-only floor: the hand-written function over an already-deserialized struct.
pub const FLOOR_EVAL: &str = "rust_floor";
/// End-to-end floor: `serde_json::from_slice` into the derived struct, then the function.
pub const FLOOR_JSON: &str = "serde_struct_floor";
/// `serde_json::from_slice` into `serde_json::Value`, nothing decided.
pub const SERDE_VALUE: &str = "serde_json_value";

/// The measures, as criterion group prefixes with their titles.
pub const MEASURES: [(&str, &str); 3] = [("eval", "eval only"), ("json", "from JSON bytes"), ("compile", "compile")];

/// Where criterion writes: `$CRITERION_HOME`, else `$CARGO_TARGET_DIR/criterion`, else this
/// crate's `target/criterion`.
pub fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("criterion")
}

/// The median of one benchmark in nanoseconds, if it was run.
pub fn median_ns(dir: &Path, group: &str, bench: &str) -> Option<f64> {
    let text = std::fs::read_to_string(dir.join(group).join(bench).join("new").join("estimates.json")).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json.pointer("/median/point_estimate")?.as_f64()
}

pub fn format_time(ns: f64) -> String {
    if ns < 1_000.0 {
        format!("{ns:.1} ns")
    } else if ns < 1_000_000.0 {
        format!("{:.2} µs", ns / 1_000.0)
    } else {
        format!("{:.2} ms", ns / 1_000_000.0)
    }
}

pub fn format_ratio(r: f64) -> String {
    if r >= 100.0 {
        format!("{r:.0}×")
    } else if r >= 10.0 {
        format!("{r:.1}×")
    } else {
        format!("{r:.2}×")
    }
}

fn cell(v: Option<f64>, f: fn(f64) -> String) -> String {
    v.map_or_else(|| "—".to_string(), f)
}

/// Both tables as Markdown.
pub fn tables(dir: &Path) -> String {
    let mut out = String::new();
    out.push_str("Medians (criterion, one run):\n\n");
    out.push_str("| measure | scenario | Gavel interp | Gavel JIT | Cedar | regorus RVM | CEL | Rust floor | serde struct + Rust | serde_json::Value |\n");
    out.push_str("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (prefix, title) in MEASURES {
        for s in SCENARIOS {
            let group = format!("{prefix}_{}", s.name);
            let m = |b: &str| median_ns(dir, &group, b);
            let _ = write!(out, "| {title} | {} |", s.name.replace('_', " "));
            for (bench, _) in ENGINES {
                let _ = write!(out, " {} |", cell(m(bench), format_time));
            }
            for b in [FLOOR_EVAL, FLOOR_JSON, SERDE_VALUE] {
                let _ = write!(out, " {} |", cell(m(b), format_time));
            }
            out.push('\n');
        }
    }
    out.push_str("\nRatios. Against peers: the peer's median ÷ Gavel's (how many times faster Gavel is; below 1×, slower). ");
    out.push_str("Against floors: Gavel's median ÷ the floor's (Gavel's cost in floors; 1× is at the floor, below 1× beats it). ");
    out.push_str("The floor is the hand-written Rust function over a struct for eval only, and serde into the struct plus that function from JSON bytes.\n\n");
    out.push_str("| measure | scenario | Gavel | Cedar ÷ Gavel | regorus ÷ Gavel | CEL ÷ Gavel | fastest peer ÷ Gavel | Gavel ÷ floor | Gavel ÷ serde_json::Value |\n");
    out.push_str("|---|---|---|---:|---:|---:|---:|---:|---:|\n");
    for (prefix, title) in MEASURES {
        for s in SCENARIOS {
            let group = format!("{prefix}_{}", s.name);
            let m = |b: &str| median_ns(dir, &group, b);
            for (gavel, gavel_title) in &ENGINES[..2] {
                let Some(g) = m(gavel) else { continue };
                let speedup = |other: Option<f64>| cell(other.map(|o| o / g), format_ratio);
                let cost = |floor: Option<f64>| cell(floor.map(|f| g / f), format_ratio);
                let peers: Vec<Option<f64>> = PEERS.iter().map(|p| m(p)).collect();
                let fastest = peers.iter().flatten().copied().reduce(f64::min);
                let floor = match prefix {
                    "eval" => m(FLOOR_EVAL),
                    "json" => m(FLOOR_JSON),
                    _ => None,
                };
                let serde_value = if prefix == "json" { m(SERDE_VALUE) } else { None };
                let _ = writeln!(
                    out,
                    "| {title} | {} | {gavel_title} | {} | {} | {} | {} | {} | {} |",
                    s.name.replace('_', " "),
                    speedup(peers[0]),
                    speedup(peers[1]),
                    speedup(peers[2]),
                    speedup(fastest),
                    cost(floor),
                    cost(serde_value),
                );
            }
        }
    }
    out
}
