//! Snapshot tests of explanations: the text rendering (`--format text`) and the JSON trace
//! (`--explain`) of decisions on the bundled examples.

use gavel::{Backend, DecideOptions, Policy};
use std::path::Path;

fn decide(set: &str, request: &str) -> (Policy, gavel::Decision) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples").join(set);
    let policy = Policy::from_paths(&[&root]).expect("example compiles");
    let bytes = std::fs::read(root.join("requests").join(request)).expect("request exists");
    let engine = policy.engine(Backend::Interpreter).expect("interpreter");
    let d = engine.decide_with(&bytes, DecideOptions { explain: true, now: Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_764_064_800)) });
    (policy, d)
}

#[test]
fn text_explanations() {
    let cases = [
        ("payments", "large_transfer.json"),
        ("payments", "memo_with_ssn.json"),
        ("data-export", "export_sensitive_columns.json"),
        ("messaging", "chat_with_secret.json"),
        ("devops", "deploy_prod_friday_evening.json"),
        ("support", "reply_with_card_number.json"),
    ];
    for (set, request) in cases {
        let (policy, d) = decide(set, request);
        // Snippets show the path as given (absolute here): the snapshots keep it relative.
        let root = format!("{}/", Path::new(env!("CARGO_MANIFEST_DIR")).join("examples").join(set).display());
        insta::assert_snapshot!(format!("{set}_{}", request.trim_end_matches(".json")), d.explain(&policy).replace(&root, ""));
    }
}

#[test]
fn json_trace_lists_sub_expressions_outermost_first() {
    let (_, d) = decide("payments", "large_transfer.json");
    let mut json = d.to_json();
    json["policy"]["digest"] = "sha256:(redacted)".into();
    insta::assert_snapshot!("payments_large_transfer_json", serde_json::to_string_pretty(&json).expect("json"));
    let trace = d.rules[0].trace.as_ref().expect("explain adds a trace");
    assert!(trace.windows(2).all(|w| w[0].span.start <= w[1].span.start));
}
