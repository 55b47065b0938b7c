//! Compile time of a policy set on the interpreter backend. In: generated policy sets of
//! 1 rule, 100 rules over 20 tools and 1,000 rules over 100 tools (the shape of the peer
//! benchmark: one `tool` declaration per tool, one rule per line, a mix of conditions).
//! Out: criterion timings of `Policy::from_sources` + `Policy::engine(Backend::Interpreter)`,
//! from policy text to an engine ready to decide, the standard library included.
//!
//! Run: `cargo bench --bench compile`. Profile: `cargo bench --bench compile --no-run`, then
//! `perf record -g <bench binary> --bench --profile-time 10 compile/100_rules`.
//! On a loaded machine, `GAVEL_COMPILE_LOOP=200 <bench binary>` compiles each set 200 times
//! and prints the fastest and the median compilation instead (less sensitive to other load).

use criterion::{criterion_group, Criterion};
use gavel::{Backend, Policy};
use std::hint::black_box;

/// Rule `j`'s condition (the `k = j / tools`-th rule of its tool): comparisons, a record
/// field, a method call, a membership test and a negation, as agents' policies mix them.
fn condition(j: usize, k: usize) -> String {
    match k % 5 {
        0 => format!("amount > {} and recipient.external", 10_000 * (k + 1)),
        1 => format!("amount > {} and recipient.country == \"X{j}\"", 1_000 * k),
        2 => format!("memo.contains(\"sanctioned-{j}\")"),
        3 => "currency in [\"XAU\", \"BTC\"] or amount < 0".to_string(),
        _ => format!("not recipient.external and memo.starts_with(\"test-{j}\")"),
    }
}

/// A policy set of `rules` rules spread evenly over `tools` tools.
fn source(rules: usize, tools: usize) -> String {
    let mut s = String::from("policy bench\nversion \"1\"\ndefault allow\n\n");
    s.push_str("type Recipient = { id: string, external: bool, country: string }\n\n");
    for t in 0..tools {
        s.push_str(&format!("tool svc{t:03}.call(amount: number, currency: string, recipient: Recipient, memo: string)\n"));
    }
    s.push('\n');
    for j in 0..rules {
        let t = j % tools;
        s.push_str(&format!("rule r{j}: on svc{t:03}.call deny when {}\n", condition(j, j / tools)));
    }
    s
}

const SETS: [(&str, usize, usize); 3] = [("1_rule", 1, 1), ("100_rules", 100, 20), ("1000_rules", 1000, 100)];

/// From policy text to an engine ready to decide: what is timed.
fn compile_set(files: &[(&str, &str)]) -> gavel::Engine {
    let policy = Policy::from_sources(black_box(files)).expect("compiles");
    policy.engine(Backend::Interpreter).expect("interpreter")
}

/// The set must compile, with no warnings, and decide, before anything is timed.
fn check_set(files: &[(&str, &str)]) {
    let policy = Policy::from_sources(files).expect("bench policy compiles");
    assert!(policy.warnings().items.is_empty(), "{:?}", policy.warnings().items);
    let engine = policy.engine(Backend::Interpreter).expect("interpreter");
    let denied = engine
        .decide_json(br#"{"tool": "svc000.call", "args": {"amount": 20000, "currency": "EUR", "recipient": {"id": "a", "external": true, "country": "DE"}, "memo": ""}}"#)
        .expect("decides");
    assert!(denied.is_denied());
}

fn compile(c: &mut Criterion) {
    let mut g = c.benchmark_group("compile");
    for (name, rules, tools) in SETS {
        let text = source(rules, tools);
        let files = [("bench.pol", text.as_str())];
        check_set(&files);
        // The engine is dropped outside the timing: compile time ends when it can decide.
        g.bench_function(name, |b| b.iter_with_large_drop(|| compile_set(&files)));
    }
    g.finish();
}

/// `GAVEL_COMPILE_LOOP=N`: each set compiled N times; prints the fastest and the median.
fn compile_loop(n: usize) {
    for (name, rules, tools) in SETS {
        let text = source(rules, tools);
        let files = [("bench.pol", text.as_str())];
        check_set(&files);
        let mut times: Vec<std::time::Duration> = (0..n.max(1))
            .map(|_| {
                let start = std::time::Instant::now();
                let engine = black_box(compile_set(&files));
                let elapsed = start.elapsed();
                drop(engine);
                elapsed
            })
            .collect();
        times.sort();
        let us = |d: std::time::Duration| d.as_secs_f64() * 1e6;
        println!("compile/{name:<12} fastest {:>9.1} µs  median {:>9.1} µs  ({n} runs)", us(times[0]), us(times[times.len() / 2]));
    }
}

fn config() -> Criterion {
    Criterion::default().warm_up_time(std::time::Duration::from_secs(1)).measurement_time(std::time::Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = compile
}
fn main() {
    match std::env::var("GAVEL_COMPILE_LOOP").ok().and_then(|n| n.parse().ok()) {
        Some(n) => compile_loop(n),
        None => {
            benches();
            Criterion::default().configure_from_args().final_summary();
        }
    }
}
