//! The fast path allocates nothing for a request that is simply allowed or denied
//! (PRODUCT.md §3): `Engine::verdict` from JSON bytes, on both backends, counted by a
//! global allocator that counts every allocation of this test binary.
// Counting allocations takes a global allocator, which only `unsafe` can implement.
#![allow(unsafe_code)]

use gavel::{Backend, Policy};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    /// Allocations made by this thread (each test thread counts only its own).
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

const POLICY: &str = r#"
policy payments
version "1"
default allow

request { agent: string, environment: "prod" | "staging" }
tool payments.transfer(amount: number, currency: "EUR" | "USD" | "XAU", recipient: { external: bool, email: string, country: string }, memo?: string)
tool payments.refund(amount: number, order: string)

rule big_external: on payments.transfer deny when amount > 10000 and recipient.external
rule sanctioned: on payments.transfer deny when recipient.country in ["KP", "IR"]
rule gold: on payments.transfer deny when currency == "XAU" and environment == "prod"
rule lottery: on payments.transfer deny when (memo ?? "").contains("lottery")
rule evil: on payments.transfer deny when recipient.email.ends_with("@evil.example")
rule refunds: on payments.refund deny when amount > 500 and order.starts_with("GIFT-")
@mode("shadow")
rule shadow_limit: on payments.transfer deny when amount > 20000
"#;

const DENIED: &[u8] = br#"{"tool": "payments.transfer", "agent": "billing-bot", "environment": "prod",
  "args": {"amount": 25000, "currency": "EUR", "memo": "invoice 2026-114",
           "recipient": {"external": true, "email": "ap@supplier.example", "country": "DE"}}}"#;
const ALLOWED: &[u8] = br#"{"tool": "payments.transfer", "agent": "billing-bot", "environment": "prod",
  "args": {"amount": 250, "currency": "USD", "recipient": {"external": false, "email": "ops@acme.example", "country": "FR"}}}"#;
const REFUND: &[u8] = br#"{"args": {"order": "A-1009", "amount": 20}, "tool": "payments.refund", "agent": "a", "environment": "staging"}"#;

fn backends() -> Vec<Backend> {
    if cfg!(feature = "jit") {
        vec![Backend::Interpreter, Backend::Jit]
    } else {
        vec![Backend::Interpreter]
    }
}

#[test]
fn the_fast_path_allocates_nothing_once_warm() {
    let policy = Policy::from_sources(&[("payments.pol", POLICY)]).expect("the policy compiles");
    for backend in backends() {
        let engine = policy.engine(backend).expect("backend available");
        for (request, denied, fired) in [(DENIED, true, vec!["big_external", "shadow_limit"]), (ALLOWED, false, vec![]), (REFUND, false, vec![])] {
            // The first decision of a thread sets up its reusable working memory (and the
            // JIT compiles the tool's group); every later one must allocate nothing.
            let warm = engine.verdict(request, Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_764_064_800)));
            assert_eq!(warm.is_denied(), denied, "{backend:?}");
            assert_eq!(warm.fired().collect::<Vec<_>>(), fired, "{backend:?}");
            assert!(!warm.has_errors() && !warm.modifies_args());
            let mut outcome = None;
            let n = allocations_during(|| {
                for _ in 0..100 {
                    let v = engine.verdict(request, Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_764_064_800)));
                    outcome = Some((v.outcome(), v.decided_by().count()));
                }
            });
            assert_eq!(n, 0, "{backend:?}: {n} allocations in 100 verdicts of {}", String::from_utf8_lossy(request));
            assert_eq!(outcome.map(|o| o.1), Some(usize::from(denied)));
        }
    }
}

#[test]
fn the_counter_sees_allocations() {
    // Guards the test above against a counter that counts nothing.
    let n = allocations_during(|| drop(std::hint::black_box(vec![1u8; 64])));
    assert_eq!(n, 1);
}
