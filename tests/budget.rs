//! Decision-time resources (docs/security.md, "Work, stack and memory"): the JIT's stack
//! on a 2 MiB thread, block `let`s evaluated once, the per-decision work budget
//! (`max_work`) counted alike on both engines, and the JIT's memory bounded per iteration.

use gavel::{Backend, DecideOptions, Limits, Policy};

/// Runs `f` on a thread with a 2 MiB stack, the size every spawned Rust thread gets.
fn on_small_stack<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| std::thread::Builder::new().stack_size(2 << 20).spawn_scoped(s, f).expect("spawn").join().expect("no panic"))
}

/// The issue's shape: `lets` block `let`s, each doubling the one before, and two rules.
fn doubling_lets(lets: usize) -> String {
    let mut text = String::from("policy p\nversion \"1\"\ndefault allow\ntool t(n: number)\non t {\n  let a0 = n + 1\n");
    for i in 1..=lets {
        text.push_str(&format!("  let a{i} = a{} + a{}\n", i - 1, i - 1));
    }
    text.push_str(&format!("  rule big: deny when a{lets} > 1000000\n  rule small: deny when a{lets} < 0 - 1000000\n}}\n"));
    text
}

fn decide(policy: &Policy, backend: Backend, request: &[u8]) -> serde_json::Value {
    let engine = policy.engine(backend).expect("engine");
    engine.decide_with(request, DecideOptions { explain: false, now: Some(0.0) }).to_json()
}

#[test]
fn doubling_block_lets_run_on_the_jit_on_a_small_stack() {
    let text = doubling_lets(15);
    let policy = Policy::from_sources(&[("p.pol", &text)]).expect("compiles");
    let request = br#"{"tool": "t", "args": {"n": 1}}"#;
    let (jit, interp) = on_small_stack(|| (decide(&policy, Backend::Jit, request), decide(&policy, Backend::Interpreter, request)));
    // (1 + 1) * 2^15 = 65536: neither rule fires.
    assert_eq!(jit["decision"], "allow", "{jit}");
    assert_eq!(jit, interp);
    let big = on_small_stack(|| decide(&policy, Backend::Jit, br#"{"tool": "t", "args": {"n": 100}}"#));
    assert_eq!(big["decision"], "deny", "{big}");
    assert_eq!(big["decided_by"], serde_json::json!(["big"]));
}
