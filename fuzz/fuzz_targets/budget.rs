//! Structured policies → decide under a small work budget (`max_work` of 0 to 255 units) on
//! both engines. In: a budget byte and an `arbitrary` policy (see `structured.rs`). Out:
//! nothing; a panic, a hang, or two backends whose decision JSON differs (which rule ran
//! out of work, where, with which message) is a finding. A decision under such a budget is
//! cheap whatever the policy, so every input finishes quickly: a slow input is a finding
//! too (work that the budget does not count).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "structured.rs"]
mod structured;
use structured::{policy_text, request_json, Policy};

fuzz_target!(|input: (u8, Policy)| {
    let (budget, p) = input;
    let text = policy_text(&p);
    let limits = gavel::Limits { max_work: usize::from(budget), ..gavel::Limits::default() };
    let Ok(policy) = gavel::Policy::from_sources_with(&[("fuzz.pol", &text)], &limits) else { return };
    let request = request_json(&p);
    for explain in [false, true] {
        let options = gavel::DecideOptions { explain, now: Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_773_000_000)) };
        let interpreter = policy.engine(gavel::Backend::Interpreter).expect("the interpreter is always available");
        let jit = policy.engine(gavel::Backend::Jit).expect("the fuzz build has the `jit` feature");
        let a = interpreter.decide_with(request.as_bytes(), options);
        let b = jit.decide_with(request.as_bytes(), options);
        assert_eq!(a.to_json(), b.to_json(), "the backends disagree under max_work {budget}:\n{text}");
        // The fast path agrees with the full decision under the budget too.
        assert_eq!(jit.verdict(request.as_bytes(), options.now).outcome(), b.decision, "verdict and decision differ:\n{text}");
    }
});
