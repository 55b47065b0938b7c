//! The command line as a user runs it: exit codes, output streams, batch mode.

use std::process::{Command, Output};

/// The repository's root, where `examples/` and `tests/` are: the paths users type.
const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

fn at(path: &str) -> std::path::PathBuf {
    std::path::Path::new(ROOT).join(path)
}

fn gavel(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gavel")).args(args).current_dir(ROOT).output().expect("gavel runs")
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
    let one = std::fs::read_to_string(at("examples/payments/requests/large_transfer.json")).expect("request");
    let one: serde_json::Value = serde_json::from_str(&one).expect("json");
    let line = serde_json::to_string(&one).expect("json");
    std::fs::write(&path, format!("{line}\n\n{{not json\n{line}\n")).expect("write");
    let out = gavel(&["eval", "examples/payments", "--input", path.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(0));
    let lines: Vec<serde_json::Value> = text(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("a decision per line")).collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["decision"], "deny");
    assert_eq!(lines[1]["errors"][0]["message"], "the request is empty: send one JSON object");
    assert_eq!(lines[2]["errors"][0]["kind"], "input");
}

/// Writes `lines` (each ending in `\n`) as a `.jsonl` file and decides it against payments.
fn batch(lines: &[&str]) -> (Option<i32>, Vec<serde_json::Value>, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("requests.jsonl");
    std::fs::write(&path, lines.iter().map(|l| format!("{l}\n")).collect::<String>()).expect("write");
    let out = gavel(&["eval", "examples/payments", "--input", path.to_str().expect("utf-8")]);
    let decisions = text(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("a decision per line")).collect();
    (out.status.code(), decisions, text(&out.stderr))
}

fn request_line(name: &str) -> String {
    let one: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(at(&format!("examples/payments/requests/{name}.json"))).expect("request")).expect("json");
    serde_json::to_string(&one).expect("json")
}

#[test]
fn batch_answers_every_line_in_place_blank_lines_included() {
    let (denied, allowed) = (request_line("large_transfer"), request_line("small_internal_transfer"));
    let (code, got, _) = batch(&["", &denied, &allowed, "   ", &denied]);
    assert_eq!(code, Some(0));
    let outcomes: Vec<&str> = got.iter().map(|d| d["decision"].as_str().unwrap_or_default()).collect();
    assert_eq!(outcomes, ["deny", "deny", "allow", "deny", "deny"]);
    assert_eq!(got[0]["errors"][0]["found"], "nothing");
    assert!(got[1]["errors"].as_array().is_some_and(Vec::is_empty) && got[1]["decided_by"][0].is_string(), "{}", got[1]);
    assert_eq!(got[3]["errors"][0]["found"], "nothing");
}

#[test]
fn a_batch_names_the_line_of_each_error_decision_and_sums_up_on_stderr() {
    let (denied, allowed) = (request_line("large_transfer"), request_line("small_internal_transfer"));
    let (code, got, stderr) = batch(&[&allowed, "{not json", &denied, r#"{"tool": "payments.transfer", "args": {"amount": "lots"}}"#]);
    assert_eq!(code, Some(0));
    let lines: Vec<Option<u64>> = got.iter().map(|d| d["input_line"].as_u64()).collect();
    assert_eq!(lines, [None, Some(2), None, Some(4)]);
    assert!(stderr.contains("4 decisions: 1 allow, 3 deny, 0 require_approval (2 with errors)"), "{stderr}");
}

#[test]
fn json_lines_come_from_stdin_with_jsonl_and_from_ndjson_files() {
    let (denied, allowed) = (request_line("large_transfer"), request_line("small_internal_transfer"));
    let input = format!("{allowed}\n{denied}\n");
    let mut child = Command::new(env!("CARGO_BIN_EXE_gavel"))
        .args(["eval", "examples/payments", "--input", "-", "--jsonl"])
        .current_dir(ROOT)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("gavel runs");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), input.as_bytes()).expect("write stdin");
    let out = child.wait_with_output().expect("gavel ends");
    let outcomes: Vec<String> =
        text(&out.stdout).lines().map(|l| serde_json::from_str::<serde_json::Value>(l).expect("a decision")["decision"].to_string()).collect();
    assert_eq!(outcomes, [r#""allow""#, r#""deny""#]);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("requests.ndjson");
    std::fs::write(&path, &input).expect("write");
    let out = gavel(&["eval", "examples/payments", "--input", path.to_str().expect("utf-8")]);
    assert_eq!(text(&out.stdout).lines().count(), 2, "{}", text(&out.stdout));
}

#[test]
fn fail_on_makes_a_script_fail_on_the_outcomes_it_names() {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = |lines: &[&str], fail_on: &str| {
        let path = dir.path().join("requests.jsonl");
        std::fs::write(&path, lines.iter().map(|l| format!("{l}\n")).collect::<String>()).expect("write");
        gavel(&["eval", "examples/payments", "--input", path.to_str().expect("utf-8"), "--fail-on", fail_on]).status.code()
    };
    let (denied, allowed, approval) = (request_line("large_transfer"), request_line("small_internal_transfer"), request_line("payee_self_verified"));
    assert_eq!(run(&[&allowed], "approval"), Some(0));
    assert_eq!(run(&[&allowed, &denied], "deny"), Some(1));
    assert_eq!(run(&[&allowed, &approval], "deny"), Some(0));
    assert_eq!(run(&[&approval], "approval"), Some(1));
    let single = gavel(&["eval", "examples/payments", "--input", "examples/payments/requests/large_transfer.json", "--fail-on", "deny"]);
    assert_eq!(single.status.code(), Some(1));
    assert!(text(&single.stdout).contains(r#""decision": "deny""#), "the decision is printed first");
}

#[test]
fn batch_lines_are_decided_without_their_line_ending() {
    let (_, got, _) = batch(&[r#"{"tool":"a"#, &format!("{}\r", request_line("small_internal_transfer"))]);
    let message = got[0]["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(!message.contains("control character") && message.contains("line 1"), "{message}");
    assert_eq!(got[1]["decision"], "allow", "a CRLF line is one request: {}", got[1]);
}

#[test]
fn endless_input_is_read_only_one_byte_past_the_limit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let limited = |d: &serde_json::Value| d["decision"] == "deny" && d["errors"][0]["expected"].as_str().is_some_and(|e| e.contains("max_request_bytes"));
    // A file that never ends: a request, and a batch of requests.
    for name in ["zero.json", "zero.jsonl"] {
        let link = dir.path().join(name);
        std::os::unix::fs::symlink("/dev/zero", &link).expect("symlink");
        let out = gavel(&["eval", "examples/payments", "--input", link.to_str().expect("utf-8"), "--max-request-bytes", "1000"]);
        let first = if name.ends_with(".jsonl") { out.stdout.split(|b| *b == b'\n').next().unwrap_or_default() } else { &out.stdout[..] };
        let d: serde_json::Value = serde_json::from_slice(first).expect("a decision");
        assert!(limited(&d), "{name}: {d}");
        if name.ends_with(".jsonl") {
            assert_eq!(out.status.code(), Some(2), "a batch stops at a line over the limit");
            assert!(text(&out.stderr).contains("line 1 is longer than `max_request_bytes` (1000 bytes)"), "{}", text(&out.stderr));
        }
    }
    // Standard input that never ends.
    let zero = std::fs::File::open("/dev/zero").expect("/dev/zero");
    let out = Command::new(env!("CARGO_BIN_EXE_gavel"))
        .args(["eval", "examples/payments", "--input", "-"])
        .current_dir(ROOT)
        .stdin(zero)
        .output()
        .expect("gavel runs");
    assert!(limited(&serde_json::from_slice(&out.stdout).expect("a decision")), "{}", text(&out.stdout));
    // A test whose request file never ends.
    let policy = dir.path().join("t.pol");
    std::fs::write(&policy, "policy t\nversion \"1\"\ndefault allow\ntest \"endless\" {\n  request file(\"zero.json\")\n  expect allow\n}\n").expect("write");
    let out = gavel(&["test", policy.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("is longer than `max_request_bytes` (1048576 bytes)"), "{}", text(&out.stdout));
}

#[test]
fn text_output_escapes_what_would_rewrite_the_terminal() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("r.json");
    std::fs::write(&path, r#"{"tool": "export.dataset\r\u001b[2KALLOW: export.dataset\u202e", "args": {}}"#).expect("write");
    let out = gavel(&["eval", "examples/payments", "--input", path.to_str().expect("utf-8"), "--format", "text"]);
    let t = text(&out.stdout);
    assert!(!t.contains('\u{1b}') && !t.contains('\r') && !t.contains('\u{202e}'), "{t:?}");
    assert!(t.starts_with("DENY: export.dataset\\u{d}\\u{1b}[2KALLOW: export.dataset\\u{202e} (policy"), "{t}");
    // Diagnostics: a policy whose source holds terminal controls shows them masked.
    let policy = dir.path().join("p.pol");
    std::fs::write(&policy, "policy p\nversion \"1\"\ndefault allow\nrule r: deny when nope // \u{1b}[2J\u{202e}\n").expect("write");
    let out = gavel(&["check", policy.to_str().expect("utf-8")]);
    let t = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(t.contains("nope // ?[2J???"), "the line is shown, masked: {t}");
    assert!(!t.contains('\u{1b}') && !t.contains('\u{202e}'), "{t:?}");
}

#[test]
fn a_folder_that_links_back_into_itself_is_one_error_at_the_link() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sub = dir.path().join("policies/team");
    std::fs::create_dir_all(&sub).expect("mkdir");
    std::fs::write(dir.path().join("policies/p.pol"), "policy p\nversion \"1\"\ndefault allow\n").expect("write");
    std::os::unix::fs::symlink("..", sub.join("loop")).expect("symlink");
    let out = gavel(&["check", dir.path().join("policies").to_str().expect("utf-8")]);
    let t = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert_eq!(t.matches("E0403").count(), 1, "{t}");
    assert!(t.contains("team/loop` leads back to") && !t.contains("more than once"), "{t}");
}

#[test]
fn an_unreadable_file_deep_in_a_folder_is_reported_at_that_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sub = dir.path().join("policies/a/b");
    std::fs::create_dir_all(&sub).expect("mkdir");
    std::os::unix::fs::symlink("/no/such/file.pol", sub.join("gone.pol")).expect("symlink");
    let out = gavel(&["check", dir.path().join("policies").to_str().expect("utf-8")]);
    let t = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(t.contains("cannot read `") && t.contains("policies/a/b/gone.pol`: "), "{t}");
}

#[test]
fn each_batch_line_is_the_single_request_decision_compacted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("requests.jsonl");
    // Requests with a `time` (the clock does not decide), of each kind: denied, approved,
    // allowed, redacted (arguments modified), plus one that is not valid.
    let mut requests: Vec<std::path::PathBuf> = std::fs::read_dir(at("examples/payments/requests")).expect("requests").flatten().map(|e| e.path()).collect();
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
    // In a batch, a decision with errors also names the line it answers (the last one).
    let mut invalid_decision: serde_json::Value = serde_json::from_slice(&single.stdout).expect("one JSON decision");
    invalid_decision["input_line"] = serde_json::json!(requests.len() + 1);
    singles.push(serde_json::to_string(&invalid_decision).expect("json"));
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
    std::fs::write(
        &path,
        "policy t\nversion \"1\"\ndefault allow\nrule r: deny\nfixture f = { tool: \"x\" }\ntest \"allowed\" {\n  request f\n  expect allow\n}\n",
    )
    .expect("write");
    let out = gavel(&["test", path.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("FAIL  allowed"), "{}", text(&out.stdout));
}

/// A policy with one passing and one failing test whose name holds `<&>` and a control
/// character (JUnit XML must stay well-formed).
fn two_tests() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("t.pol"),
        "policy t\nversion \"1\"\ndefault allow\nrule r: deny\nfixture f = { tool: \"x\" }\n\
         test \"denied\" {\n  request f\n  expect deny by r\n}\n\
         test \"allowed <&> \\u{1b}\" {\n  request f\n  expect allow\n}\n",
    )
    .expect("write");
    dir
}

#[test]
fn test_filter_runs_the_tests_it_names_and_fails_when_it_names_none() {
    let dir = two_tests();
    let path = dir.path().to_str().expect("utf-8");
    let out = gavel(&["test", path, "--filter", "denied"]);
    assert_eq!(out.status.code(), Some(0), "the failing test is filtered out: {}", text(&out.stdout));
    assert!(text(&out.stdout).contains("1 passed, 0 failed") && text(&out.stdout).contains("1 tests filtered out"), "{}", text(&out.stdout));
    let out = gavel(&["test", path, "--filter", "denyed"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no test name contains `denyed`"), "{}", text(&out.stderr));
}

#[test]
fn test_reports_come_as_json_and_as_junit_xml() {
    let dir = two_tests();
    let path = dir.path().to_str().expect("utf-8");
    let out = gavel(&["test", path, "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    assert_eq!((v["passed"].as_u64(), v["failed"].as_u64()), (Some(1), Some(1)));
    assert_eq!(v["results"][1]["passed"], false);
    assert!(v["results"][1]["failures"][0].is_string() && v["results"][1]["location"] == format!("{path}/t.pol:10"), "{v}");
    let out = gavel(&["test", path, "--format", "junit"]);
    assert_eq!(out.status.code(), Some(1));
    let xml = text(&out.stdout);
    assert!(xml.contains(r#"<testsuite name="t" tests="2" failures="1">"#), "{xml}");
    // The file as given, so a CI system links to it (issue 17, item 13).
    assert!(xml.contains(&format!(r#"<testcase name="denied" classname="t" file="{path}/t.pol" line="6"/>"#)), "{xml}");
    assert!(xml.contains("name=\"allowed &lt;&amp;&gt; \u{fffd}\""), "escaped, the control character replaced: {xml}");
    assert_eq!(xml.matches("<failure message=").count(), 1, "{xml}");
}

#[test]
fn an_unguarded_redact_of_an_absent_argument_fires_but_changes_nothing() {
    // docs/language.md §5 says so; this keeps the two in agreement.
    let dir = tempfile::tempdir().expect("temp dir");
    let policy = dir.path().join("p.pol");
    std::fs::write(&policy, "policy p\nversion \"1\"\ndefault allow\ntool t(memo?: string, n: number)\non t { rule r: redact memo }\n").expect("write");
    let request = dir.path().join("r.json");
    std::fs::write(&request, r#"{"tool": "t", "args": {"n": 1}}"#).expect("write");
    let out = gavel(&["eval", policy.to_str().expect("utf-8"), "--input", request.to_str().expect("utf-8")]);
    let d: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a decision");
    assert_eq!(
        (&d["decision"], &d["rules"][0]["id"], &d["modifications"], &d["args"]),
        (&"allow".into(), &"r".into(), &serde_json::json!([]), &serde_json::Value::Null),
        "{d}"
    );
}

#[test]
fn declaring_a_built_in_request_field_is_an_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let policy = dir.path().join("p.pol");
    std::fs::write(&policy, "policy p\nversion \"1\"\ndefault allow\nrequest { time: string }\n").expect("write");
    let out = gavel(&["check", policy.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("E0119"), "{}", text(&out.stderr));
}

#[test]
fn the_cli_takes_max_work() {
    // A rule over ten numbers costs 40 units of work (tests/budget.rs counts them exactly).
    let dir = tempfile::tempdir().expect("temp dir");
    let pol = dir.path().join("p.pol");
    std::fs::write(&pol, "policy p\nversion \"1\"\ndefault allow\ntool t(l: list<number>)\nrule big: on t deny when l.any(x => x > 100)\n").expect("write");
    let req = dir.path().join("r.json");
    std::fs::write(&req, r#"{"tool": "t", "args": {"l": [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]}}"#).expect("write");
    for (max, errors) in [("40", 0), ("39", 1)] {
        let out = gavel(&["eval", pol.to_str().expect("utf-8"), "--input", req.to_str().expect("utf-8"), "--max-work", max]);
        let d: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out.stderr)));
        let rule_errors = d["errors"].as_array().into_iter().flatten().filter(|e| e["kind"] == "rule").count();
        assert_eq!(rule_errors, errors, "--max-work {max}: {d}");
    }
}

/// The decision of one `gavel eval` of the finance example's request, with `extra` flags.
fn finance_decision(extra: &[&str]) -> String {
    let mut args = vec!["eval", "examples/finance", "--input", "examples/finance/requests/vetted_payee.json"];
    args.extend_from_slice(extra);
    let out = gavel(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let d: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a decision");
    d["decision"].as_str().expect("an outcome").to_string()
}

#[test]
fn windows_are_kept_across_runs_with_state_and_forgotten_without() {
    // Four 2500 USD payments fit the 10000 daily cap; the fifth is over it, if the store
    // remembers the four.
    let dir = tempfile::tempdir().expect("temp dir");
    let state = dir.path().join("state");
    let state = state.to_str().expect("utf-8");
    let with_state: Vec<String> = (0..5).map(|_| finance_decision(&["--state", state])).collect();
    assert_eq!(with_state, ["allow", "allow", "allow", "allow", "deny"]);
    let in_memory: Vec<String> = (0..5).map(|_| finance_decision(&[])).collect();
    assert_eq!(in_memory, ["allow"; 5]);
}

#[test]
fn a_batch_is_one_history_and_an_unreachable_redis_is_an_error() {
    let one = std::fs::read_to_string(at("examples/finance/requests/vetted_payee.json")).expect("request");
    let line = serde_json::to_string(&serde_json::from_str::<serde_json::Value>(&one).expect("json")).expect("json");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("five.jsonl");
    std::fs::write(&path, format!("{line}\n").repeat(5)).expect("written");
    let out = gavel(&["eval", "examples/finance", "--input", path.to_str().expect("utf-8")]);
    let outcomes: Vec<String> =
        text(&out.stdout).lines().map(|l| serde_json::from_str::<serde_json::Value>(l).expect("json")["decision"].to_string()).collect();
    assert_eq!(outcomes, ["\"allow\"", "\"allow\"", "\"allow\"", "\"allow\"", "\"deny\""]);
    let out = gavel(&["eval", "examples/finance", "--input", "examples/finance/requests/vetted_payee.json", "--redis", "redis://127.0.0.1:1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot be reached"), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty(), "no decision is printed: {}", text(&out.stdout));
}

#[test]
fn check_deny_warnings_fails_on_a_warning_and_eval_prints_none() {
    // `tests/cases/jit` has a glob that matches no declared tool (W0101).
    let plain = gavel(&["check", "tests/cases/jit"]);
    assert_eq!(plain.status.code(), Some(0), "{}", text(&plain.stderr));
    assert!(text(&plain.stderr).contains("W0101"), "{}", text(&plain.stderr));
    let strict = gavel(&["check", "--deny-warnings", "tests/cases/jit"]);
    assert_eq!(strict.status.code(), Some(1), "{}", text(&strict.stderr));
    assert!(text(&strict.stderr).contains("W0101"), "{}", text(&strict.stderr));
    assert!(text(&strict.stderr).contains("--deny-warnings"), "{}", text(&strict.stderr));
    let json = gavel(&["check", "--deny-warnings", "--format", "json", "tests/cases/jit"]);
    assert_eq!(json.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json diagnostics");
    assert_eq!(v["diagnostics"][0]["code"], "W0101");
    assert_eq!(gavel(&["check", "--deny-warnings", "examples/payments"]).status.code(), Some(0));
    // `eval` decides; the warnings are `check`'s and `test`'s to show.
    let dir = tempfile::tempdir().expect("temp dir");
    let request = dir.path().join("r.json");
    std::fs::write(&request, r#"{"tool": "ext.thing", "args": {}}"#).expect("write");
    let out = gavel(&["eval", "tests/cases/jit", "--input", request.to_str().expect("utf-8")]);
    assert_eq!(text(&out.stderr), "", "eval printed on stderr");
    assert!(text(&out.stdout).contains("\"decision\""), "{}", text(&out.stdout));
}

#[test]
fn jsonl_a_number_out_of_range_names_its_line_and_its_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("requests.jsonl");
    let one = std::fs::read_to_string(at("examples/payments/requests/small_internal_transfer.json")).expect("request");
    let mut v: serde_json::Value = serde_json::from_str(&one).expect("json");
    let ok = serde_json::to_string(&v).expect("json");
    v["args"]["amount"] = serde_json::json!(0);
    let huge = serde_json::to_string(&v).expect("json").replacen("\"amount\":0", "\"amount\":1e400", 1);
    assert!(huge.contains("1e400"), "{huge}");
    std::fs::write(&path, format!("{ok}\n{huge}\n")).expect("write");
    let out = gavel(&["eval", "examples/payments", "--input", &path.display().to_string()]);
    let lines: Vec<serde_json::Value> = text(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("one JSON decision a line")).collect();
    assert_eq!(lines.len(), 2);
    let d = &lines[1];
    assert_eq!((&d["decision"], &d["input_line"]), (&"deny".into(), &2.into()), "{d}");
    assert_eq!(d["errors"][0]["path"], "args.amount", "{d}");
}
