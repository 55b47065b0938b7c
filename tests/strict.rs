//! Issue 17's fail-open holes and contract fixes, each as a regression test: a rule scoped
//! to a tool no declaration has is an error, a decision for an undeclared tool under
//! `default allow` says so, `approvals` only under `require_approval`, the digest leaves
//! out test-only files, and a redacted value is masked wherever a decision is shown.

use gavel::{Backend, DecideOptions, Policy};

/// Every backend this build has.
#[cfg(feature = "jit")]
const BACKENDS: [Backend; 2] = [Backend::Interpreter, Backend::Jit];
#[cfg(not(feature = "jit"))]
const BACKENDS: [Backend; 1] = [Backend::Interpreter];

const HEAD: &str = "policy p\nversion \"1\"\ndefault allow\n";

fn options() -> DecideOptions {
    DecideOptions { explain: true, now: Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_764_064_800)) }
}

fn compile(text: &str) -> Result<Policy, gavel::diagnostics::Diagnostics> {
    Policy::from_sources(&[("p.pol", text)])
}

#[test]
fn an_exact_tool_name_no_declaration_has_is_an_error_with_the_did_you_mean() {
    let text = format!("{HEAD}tool crm.update_email(id: string, email: string)\nrule r: on crm.update_mail deny\n");
    let Err(d) = compile(&text) else { panic!("a rule on an undeclared tool name compiled") };
    let e = d.items.iter().find(|i| i.is_error()).expect("an error");
    assert_eq!(e.code, "E0121", "{}", d.render());
    assert!(d.render().contains("did you mean `crm.update_email`?"), "{}", d.render());
    // Declared open, the tool can be scoped on purpose without describing its arguments.
    let open = format!("{HEAD}tool shell.exec(...)\nrule r: on shell.exec deny when agent.id == \"x\"\nrequest {{ agent: {{ id: string }} }}\n");
    let p = compile(&open).unwrap_or_else(|d| panic!("{}", d.render()));
    assert!(p.warnings().items.is_empty(), "{}", p.warnings().render());
}

#[test]
fn on_star_without_declared_tools_suggests_nothing_and_a_glob_is_still_a_warning() {
    let star = format!("{HEAD}request {{ environment: string }}\nrule r: on * deny when environment == \"prod\"\n");
    let p = compile(&star).unwrap_or_else(|d| panic!("{}", d.render()));
    assert!(p.warnings().items.is_empty(), "`on *` warned: {}", p.warnings().render());
    let glob = format!("{HEAD}rule r: on mcp.github.* deny\n");
    let p = compile(&glob).unwrap_or_else(|d| panic!("{}", d.render()));
    let w = p.warnings();
    assert_eq!(w.items.iter().map(|i| i.code).collect::<Vec<_>>(), ["W0101"], "{}", w.render());
    assert!(!w.render().contains("tool mcp.github.*("), "{}", w.render());
}

#[test]
fn an_undeclared_tool_under_default_allow_carries_a_warning() {
    let text = format!("{HEAD}tool a.b(x: number)\nrule big: on a.b deny when x > 10\n");
    let p = compile(&text).unwrap_or_else(|d| panic!("{}", d.render()));
    for backend in BACKENDS {
        let e = p.engine(backend).expect("backend");
        let d = e.decide_with(br#"{"tool": "x.y", "args": {}}"#, options()).to_json();
        assert_eq!(d["decision"], "allow");
        assert_eq!(d["warnings"], serde_json::json!([{ "rule": null, "reason": "no tool declaration covers `x.y`" }]), "{backend:?}");
        let mut written = Vec::new();
        e.write_decision(br#"{"tool": "x.y", "args": {}}"#, DecideOptions { explain: false, ..options() }, &mut written);
        let written: serde_json::Value = serde_json::from_slice(&written).expect("json");
        assert_eq!(written["warnings"], d["warnings"], "{backend:?}");
        let declared = e.decide_with(br#"{"tool": "a.b", "args": {"x": 1}}"#, options()).to_json();
        assert_eq!(declared["warnings"], serde_json::json!([]), "{backend:?}");
    }
    // Under `default deny` the call is denied anyway: nothing to mark.
    let p = compile(&text.replace("default allow", "default deny")).unwrap_or_else(|d| panic!("{}", d.render()));
    let d = p.engine(Backend::Interpreter).expect("interpreter").decide_with(br#"{"tool": "x.y", "args": {}}"#, options()).to_json();
    assert_eq!(d["warnings"], serde_json::json!([]));
}

#[test]
fn the_digest_leaves_out_files_holding_only_fixtures_and_tests() {
    let policy = format!("{HEAD}tool a.b(x: number)\nrule big: on a.b deny when x > 10\n");
    let tests = "fixture f = { tool: \"a.b\", args: { x: 1 } }\ntest \"small\" {\n  request f\n  expect allow\n}\n";
    let alone = Policy::from_sources(&[("p.pol", &policy)]).expect("compiles");
    let with_tests = Policy::from_sources(&[("p.pol", &policy), ("tests.pol", tests)]).expect("compiles");
    let more_tests = Policy::from_sources(&[("p.pol", &policy), ("tests.pol", &tests.replace("small", "tiny"))]).expect("compiles");
    assert_eq!(alone.digest(), with_tests.digest());
    assert_eq!(alone.digest(), more_tests.digest());
    let changed = Policy::from_sources(&[("p.pol", &policy.replace("10", "11")), ("tests.pol", tests)]).expect("compiles");
    assert_ne!(alone.digest(), changed.digest());
    // A test inside a file of rules is part of that file.
    let mixed = Policy::from_sources(&[("p.pol", &format!("{policy}{tests}"))]).expect("compiles");
    assert_ne!(alone.digest(), mixed.digest());
}

/// A card number redacted by one rule, which another rule's reason and every trace read.
const REDACTING: &str = r#"policy p
version "1"
default allow
tool mail.send(to: string, body: string)
on mail.send {
  rule hide_card: redact body when std.pii.contains_card_number(body)
  rule long_body: warn when body.len() > 5 because "long body: {body}"
  rule approve_big: require approval when body.contains("4111") because "body {body.upper()} to {to}"
}
fixture f = { tool: "mail.send", args: { to: "a@x.com", body: "pay 4111 1111 1111 1111 now" } }
test "wrongly expects a deny" {
  request f
  expect deny
}
"#;

const CARD: &str = "4111 1111 1111 1111";

#[test]
fn a_redacted_value_is_masked_in_traces_text_and_test_failures() {
    let p = compile(REDACTING).unwrap_or_else(|d| panic!("{}", d.render()));
    let request = br#"{"tool": "mail.send", "args": {"to": "a@x.com", "body": "pay 4111 1111 1111 1111 now"}}"#;
    for backend in BACKENDS {
        let e = p.engine(backend).expect("backend");
        let d = e.decide_with(request, options());
        let json = d.to_json().to_string();
        assert!(!json.contains(CARD), "{backend:?}: the JSON shows the card: {json}");
        assert!(json.contains("[REDACTED]"), "{json}");
        let text = d.explain(&p);
        assert!(!text.contains(CARD), "{backend:?}: the text shows the card:\n{text}");
        let mut written = Vec::new();
        e.write_decision(request, DecideOptions { explain: false, ..options() }, &mut written);
        assert!(!String::from_utf8_lossy(&written).contains(CARD), "{}", String::from_utf8_lossy(&written));
        let report = gavel::testing::run_tests(&p, &e).render();
        assert!(report.contains("FAIL"), "{report}");
        assert!(!report.contains(CARD), "{backend:?}: the test report shows the card:\n{report}");
    }
}

#[test]
fn a_redacted_value_is_masked_even_when_the_call_is_denied() {
    let text = REDACTING.replace("rule long_body: warn", "rule long_body: deny");
    let p = compile(&text).unwrap_or_else(|d| panic!("{}", d.render()));
    let request = br#"{"tool": "mail.send", "args": {"to": "a@x.com", "body": "pay 4111 1111 1111 1111 now"}}"#;
    for backend in BACKENDS {
        let e = p.engine(backend).expect("backend");
        let d = e.decide_with(request, options());
        assert!(d.is_denied());
        assert!(!d.to_json().to_string().contains(CARD), "{backend:?}: {}", d.to_json());
        let mut written = Vec::new();
        e.write_decision(request, DecideOptions { explain: false, ..options() }, &mut written);
        assert!(!String::from_utf8_lossy(&written).contains(CARD), "{}", String::from_utf8_lossy(&written));
    }
}
