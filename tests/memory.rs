//! The JIT's working memory is bounded by what one loop iteration makes, not by the total
//! work of a decision (docs/security.md, "Work, stack and memory"): a global allocator of
//! this test binary tracks the peak of live heap bytes while one decision runs.
// Counting allocations takes a global allocator, which only `unsafe` can implement.
#![allow(unsafe_code)]
#![cfg(feature = "jit")]

use gavel::{Backend, DecideOptions, Limits, Policy};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Peak;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let now = LIVE.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: forwards every call to the system allocator unchanged; only counts bytes.
unsafe impl GlobalAlloc for Peak {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        grew(new_size);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Peak = Peak;

/// The issue's rule: every pair of recipients compared, each side lowered every time.
const POLICY: &str = r#"
policy p
version "1"
default allow
tool mail.send(to: list<string>)
rule duplicate_recipients: on mail.send deny when to.any(a => to.count(b => b.lower() == a.lower()) > 1)
"#;

fn request(recipients: usize) -> Vec<u8> {
    let to: Vec<String> = (0..recipients).map(|i| format!("\"User{i}@Example.com\"")).collect();
    format!(r#"{{"tool": "mail.send", "args": {{"to": [{}]}}}}"#, to.join(", ")).into_bytes()
}

#[test]
fn a_quadratic_rule_on_the_jit_uses_one_iterations_memory() {
    // Enough work for 1,000 x 1,000 iterations: the loop runs to the end, no budget stops it.
    let limits = Limits { max_work: 1 << 40, ..Limits::default() };
    let policy = Policy::from_sources_with(&[("p.pol", POLICY)], &limits).expect("compiles");
    let jit = policy.engine(Backend::Jit).expect("jit");
    let req = request(1_000);
    let options = DecideOptions { explain: false, now: Some(std::time::UNIX_EPOCH) };
    // The group's code is compiled on the first request: warm up on a request with one
    // recipient, then measure a decision on the large one.
    assert!(jit.decide_with(&request(1), options).is_allowed());
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let d = jit.decide_with(&req, options);
    let peak = PEAK.load(Ordering::Relaxed) - base;
    assert!(d.is_allowed(), "{:?}", d.to_json());
    // 2,000,000 lowered strings kept until the end would be tens of megabytes.
    assert!(peak < 4 << 20, "peak of {peak} live bytes during one decision");
    assert_eq!(d.to_json(), policy.engine(Backend::Interpreter).expect("interpreter").decide_with(&req, options).to_json());
}
