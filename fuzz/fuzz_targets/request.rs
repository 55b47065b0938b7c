//! Request bytes → decode + decide, on each example policy (compiled once). In: arbitrary
//! bytes. Out: nothing; a panic, a hang, or a decision that breaks the fail-closed rule
//! (an input error that does not yield the policy's `on error` outcome) is a finding.
#![no_main]

use gavel::{Backend, DecideOptions, Engine, Policy};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

#[path = "examples.rs"]
mod examples;
use examples::POLICIES;

fn engines() -> &'static Vec<(Policy, Engine)> {
    static ENGINES: OnceLock<Vec<(Policy, Engine)>> = OnceLock::new();
    ENGINES.get_or_init(|| {
        POLICIES
            .iter()
            .map(|(name, text)| {
                let policy = Policy::from_sources(&[(name, text)]).expect("the example policies compile");
                let engine = policy.engine(Backend::Interpreter).expect("the interpreter is always available");
                (policy, engine)
            })
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    for (policy, engine) in engines() {
        let d = engine.decide_with(data, DecideOptions { explain: true, now: Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_773_000_000)) });
        let input_error = d.errors.iter().any(|e| matches!(e, gavel::decision::DecisionError::Input { .. }));
        if input_error {
            let on_error_allows = policy.program().info.on_error == gavel::syntax::ast::DefaultEffect::Allow;
            assert_eq!(d.is_allowed(), on_error_allows, "an input error must give the `on error` outcome: {:?}", d.errors);
            assert!(d.decided_by.is_empty() && d.rules.is_empty());
        }
        let _ = d.to_json();
        let _ = d.explain(policy);
    }
});
