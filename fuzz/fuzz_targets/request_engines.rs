//! Request bytes → decide on the interpreter and on the JIT, for each example policy
//! (compiled once, one engine of each backend shared by every input). In: arbitrary bytes.
//! Out: nothing; a panic, a hang, or two backends whose decision JSON differs (decision,
//! rules, reasons, args, errors with spans, explanation traces) is a finding.
#![no_main]

use gavel::{Backend, DecideOptions, Engine, Policy};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

#[path = "examples.rs"]
mod examples;
use examples::POLICIES;

/// A fixed clock, so a request without `time` decides the same on both engines.
/// The evaluation time, seconds since the epoch.
const NOW: u64 = 1_773_000_000;

struct Engines {
    name: &'static str,
    interpreter: Engine,
    jit: Engine,
}

fn engines() -> &'static Vec<Engines> {
    static ENGINES: OnceLock<Vec<Engines>> = OnceLock::new();
    ENGINES.get_or_init(|| {
        POLICIES
            .iter()
            .map(|(name, text)| {
                let policy = Policy::from_sources(&[(name, text)]).expect("the example policies compile");
                let interpreter = policy.engine(Backend::Interpreter).expect("the interpreter is always available");
                let jit = policy.engine(Backend::Jit).expect("the fuzz build has the `jit` feature and the examples compile");
                Engines { name, interpreter, jit }
            })
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    for e in engines() {
        for explain in [false, true] {
            let options = DecideOptions { explain, now: Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(NOW)) };
            let on_interpreter = e.interpreter.decide_with(data, options).to_json();
            let on_jit = e.jit.decide_with(data, options).to_json();
            assert_eq!(on_interpreter, on_jit, "the backends disagree on {} (explain: {explain})", e.name);
        }
    }
});
