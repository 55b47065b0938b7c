//! Structured policies → decide on the JIT on a thread with a small stack (256 KiB), and on
//! the interpreter. In: an `arbitrary` policy (see `structured.rs`). Out: nothing; a stack
//! overflow (the JIT's frames, its lazy compilation of the request's group, block `let`
//! calls), a panic, or two backends whose decisions differ is a finding.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "structured.rs"]
mod structured;
use structured::{policy_text, request_json, Policy};

const SMALL_STACK: usize = 256 << 10;

fuzz_target!(|p: Policy| {
    let text = policy_text(&p);
    let Ok(policy) = gavel::Policy::from_sources(&[("fuzz.pol", &text)]) else { return };
    let request = request_json(&p);
    let options = gavel::DecideOptions { explain: false, now: Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_773_000_000)) };
    let on_jit = std::thread::scope(|s| {
        let worker = std::thread::Builder::new().stack_size(SMALL_STACK).spawn_scoped(s, || {
            let jit = policy.engine(gavel::Backend::Jit).expect("the fuzz build has the `jit` feature");
            jit.decide_with(request.as_bytes(), options).to_json()
        });
        worker.expect("a thread").join().expect("no panic")
    });
    let interpreter = policy.engine(gavel::Backend::Interpreter).expect("the interpreter is always available");
    assert_eq!(interpreter.decide_with(request.as_bytes(), options).to_json(), on_jit, "the backends disagree:\n{text}");
});
