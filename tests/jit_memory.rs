//! A JIT engine's code memory is returned to the system when the last clone of the engine
//! is dropped (how `gavel serve` retires a reloaded policy: the old engine drops once no
//! request holds it). The code lives in anonymous mappings, not on the heap, so this reads
//! the process's virtual size from `/proc/self/status`; it is a binary of its own so no other
//! test maps or unmaps memory meanwhile.
#![cfg(all(feature = "jit", target_os = "linux"))]

use gavel::{Backend, DecideOptions, Policy};

/// `VmSize` of this process, in kB.
fn virtual_kb() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status.lines().find(|l| l.starts_with("VmSize:")).expect("a VmSize line");
    line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).expect("a number of kB")
}

const ROUNDS: usize = 200;

#[test]
fn a_dropped_jit_engine_frees_its_code() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/payments");
    let request = std::fs::read(format!("{root}/requests/small_internal_transfer.json")).expect("a request");
    let options = DecideOptions { explain: false, now: Some(std::time::UNIX_EPOCH) };
    // An engine whose tool group has been compiled (groups compile on first use).
    let compiled = || {
        let policy = Policy::from_paths(&[std::path::Path::new(root)]).expect("the example compiles");
        let engine = policy.engine(Backend::Jit).expect("the JIT");
        engine.decide_with(&request, options);
        engine
    };
    drop(compiled()); // the first one also sets up what stays (the ISA, lazy statics)

    let before = virtual_kb();
    for _ in 0..ROUNDS {
        drop(compiled());
    }
    let dropped = virtual_kb().saturating_sub(before);

    // The measure sees what engines that are kept hold.
    let kept: Vec<_> = (0..ROUNDS).map(|_| compiled()).collect();
    let held = virtual_kb().saturating_sub(before + dropped);
    assert!(held >= ROUNDS * 4, "{ROUNDS} live JIT engines hold at least a page each ({held} kB)");
    assert!(dropped * 10 < held, "{ROUNDS} dropped engines left {dropped} kB mapped; {ROUNDS} kept ones hold {held} kB");
    drop(kept);
}
