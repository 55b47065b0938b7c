//! Policy text → parse + check + compile. In: arbitrary bytes (UTF-8 or not). Out: nothing;
//! a panic, a stack overflow, a hang or unbounded memory is a finding. Small limits keep
//! each execution fast while still exercising every limit check.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let limits = gavel::Limits { max_compiled_nodes: 20_000, ..gavel::Limits::default() };
    if let Ok(policy) = gavel::Policy::from_sources_with(&[("fuzz.pol", &text)], &limits) {
        // A policy that compiles must also decide: a request with its first tool.
        let engine = policy.engine(gavel::Backend::Interpreter).expect("the interpreter is always available");
        let tool = policy.program().schema.tools.keys().next().cloned().unwrap_or_default();
        let request = serde_json::json!({ "tool": tool, "args": {} }).to_string();
        let d = engine.decide_with(request.as_bytes(), gavel::DecideOptions { explain: true, now: Some(0.0) });
        let _ = d.to_json();
    }
});
