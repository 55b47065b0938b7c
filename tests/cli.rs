//! The command line as a user runs it: exit codes, output streams, batch mode.

use std::process::{Command, Output};

fn gavel(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gavel")).args(args).current_dir(env!("CARGO_MANIFEST_DIR")).output().expect("gavel runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn check_accepts_the_examples_and_rejects_invalid_policies() {
    assert_eq!(gavel(&["check", "examples/payments"]).status.code(), Some(0));
    let out = gavel(&["check", "tests/invalid/enum_typo.pol"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("did you mean \"high\"?"), "{}", text(&out.stderr));
    let json = gavel(&["check", "tests/invalid/enum_typo.pol", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json diagnostics on stdout");
    assert_eq!(v["diagnostics"][0]["code"], "E0204");
}

#[test]
fn unreadable_paths_are_usage_errors() {
    let out = gavel(&["check", "no/such/dir"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read `no/such/dir`"));
    let out = gavel(&["eval", "examples/payments", "--input", "no/such/request.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read the request"));
}

#[test]
fn eval_prints_one_decision_and_explains_it_as_text() {
    let out = gavel(&["eval", "examples/payments", "--input", "examples/payments/requests/large_transfer.json"]);
    assert_eq!(out.status.code(), Some(0));
    let d: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON decision");
    assert_eq!(d["decision"], "deny");
    assert!(d["policy"]["digest"].as_str().is_some_and(|s| s.starts_with("sha256:")));
    let out = gavel(&["eval", "examples/payments", "--input", "examples/payments/requests/large_transfer.json", "--format", "text"]);
    let t = text(&out.stdout);
    assert!(t.starts_with("DENY: payments.transfer"), "{t}");
    assert!(t.contains("= 25000"), "{t}");
}

#[test]
fn jsonl_input_gives_one_decision_per_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("requests.jsonl");
    let one = std::fs::read_to_string("examples/payments/requests/large_transfer.json").expect("request");
    let one: serde_json::Value = serde_json::from_str(&one).expect("json");
    let line = serde_json::to_string(&one).expect("json");
    std::fs::write(&path, format!("{line}\n\n{{not json\n{line}\n")).expect("write");
    let out = gavel(&["eval", "examples/payments", "--input", path.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(0));
    let lines: Vec<serde_json::Value> = text(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("a decision per line")).collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["decision"], "deny");
    assert_eq!(lines[1]["errors"][0]["kind"], "input");
}

#[test]
fn each_batch_line_is_the_single_request_decision_compacted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("requests.jsonl");
    // Requests with a `time` (the clock does not decide), of each kind: denied, approved,
    // allowed, redacted (arguments modified), plus one that is not valid.
    let mut requests: Vec<std::path::PathBuf> = std::fs::read_dir("examples/payments/requests").expect("requests").flatten().map(|e| e.path()).collect();
    requests.sort();
    let mut singles: Vec<String> = Vec::new();
    let mut lines = String::new();
    for request in &requests {
        let single = gavel(&["eval", "examples/payments", "--input", request.to_str().expect("utf-8")]);
        assert_eq!(single.status.code(), Some(0));
        let d: serde_json::Value = serde_json::from_slice(&single.stdout).expect("one JSON decision");
        singles.push(serde_json::to_string(&d).expect("json"));
        let one: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(request).expect("request")).expect("json");
        lines.push_str(&serde_json::to_string(&one).expect("json"));
        lines.push('\n');
    }
    let invalid = r#"{"tool": "payments.transfer", "args": {"amount": "lots"}}"#;
    std::fs::write(dir.path().join("invalid.json"), invalid).expect("write");
    let single = gavel(&["eval", "examples/payments", "--input", dir.path().join("invalid.json").to_str().expect("utf-8")]);
    singles.push(serde_json::to_string(&serde_json::from_slice::<serde_json::Value>(&single.stdout).expect("one JSON decision")).expect("json"));
    lines.push_str(invalid);
    std::fs::write(&path, lines).expect("write");
    let batch = gavel(&["eval", "examples/payments", "--input", path.to_str().expect("utf-8")]);
    assert_eq!(batch.status.code(), Some(0));
    let out = text(&batch.stdout);
    let got: Vec<&str> = out.lines().collect();
    assert_eq!(got, singles);
    let kinds: Vec<&str> = got.iter().map(|l| l.split('"').nth(3).unwrap_or_default()).collect();
    for kind in ["allow", "deny", "require_approval"] {
        assert!(kinds.contains(&kind), "no {kind} among {kinds:?}");
    }
    assert!(got.iter().any(|l| l.contains(r#""op":"redact""#)), "no redaction among the decisions");
}

#[test]
fn test_command_exit_code_follows_the_results() {
    assert_eq!(gavel(&["test", "examples/payments"]).status.code(), Some(0));
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("t.pol");
    std::fs::write(&path, "policy t\nversion \"1\"\ndefault allow\nrule r: deny\nfixture f = { tool: \"x\" }\ntest \"allowed\" {\n  request f\n  expect allow\n}\n").expect("write");
    let out = gavel(&["test", path.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("FAIL  allowed"), "{}", text(&out.stdout));
}
