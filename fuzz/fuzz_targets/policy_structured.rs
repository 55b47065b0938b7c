//! Structured policies → compile + decide. In: an `arbitrary` policy (see `structured.rs`),
//! rendered to text. Out: nothing; a panic, a stack overflow or a hang is a finding.
//! Reaches the checker, the IR passes and the VM far more often than raw bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "structured.rs"]
mod structured;
use structured::{policy_text, request_json, Policy};

fuzz_target!(|p: Policy| {
    let text = policy_text(&p);
    if let Ok(policy) = gavel::Policy::from_sources(&[("fuzz.pol", &text)]) {
        let engine = policy.engine(gavel::Backend::Interpreter).expect("the interpreter is always available");
        let d = engine.decide_with(request_json(&p).as_bytes(), gavel::DecideOptions { explain: true, now: Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_773_000_000)) });
        let _ = d.to_json();
        let _ = d.explain(&policy);
    }
});
