//! The test suites written in the language (`examples/*/tests.pol`, `examples/agentdojo/*/tests.pol`,
//! `tests/stdlib/*.pol`)
//! must pass, and the examples must cover every rule.

mod common;

use gavel::{testing::run_tests, Backend, Policy};
use std::path::{Path, PathBuf};

fn run(path: &Path) -> gavel::testing::TestReport {
    let policy = Policy::from_paths(&[path]).unwrap_or_else(|d| panic!("{} does not compile:\n{}", path.display(), d.render()));
    run_tests(&policy, &policy.engine(Backend::Interpreter).expect("interpreter"))
}

fn children(dir: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut out: Vec<PathBuf> = std::fs::read_dir(root).expect("folder exists").flatten().map(|e| e.path()).collect();
    out.sort();
    out
}

#[test]
fn example_suites_pass_and_cover_every_rule() {
    for dir in common::examples() {
        let report = run(&dir);
        assert!(report.results.len() >= 5, "{}: too few tests", dir.display());
        assert_eq!(report.failed(), 0, "{}:\n{}", dir.display(), report.render());
        assert!(report.uncovered.is_empty(), "{}: rules never fired: {:?}", dir.display(), report.uncovered);
    }
}

#[test]
fn stdlib_suites_pass() {
    for file in children("tests/stdlib").into_iter().filter(|p| p.extension().is_some_and(|e| e == "pol")) {
        let report = run(&file);
        assert_eq!(report.failed(), 0, "{}:\n{}", file.display(), report.render());
    }
}

#[test]
fn a_failing_test_is_reported_with_its_name_and_explanation() {
    let src = r#"
        policy t
        version "1"
        default allow
        tool msg.send(text: string)
        rule no_secrets: on msg.send redact text when text.contains("secret")
        fixture base = { tool: "msg.send", args: { text: "a secret" } }
        test "the text is left alone" {
          request base
          expect args.text == "a secret"
        }
    "#;
    let policy = Policy::from_sources(&[("t.pol", src)]).expect("compiles");
    let report = run_tests(&policy, &policy.engine(Backend::Interpreter).expect("interpreter"));
    assert_eq!(report.failed(), 1);
    let text = report.render();
    assert!(text.contains("FAIL  the text is left alone (t.pol:8)"), "{text}");
    assert!(text.contains(r#"expected args.text == "a secret", found "[REDACTED]""#), "{text}");
    assert!(text.contains("rule `no_secrets` fired"), "{text}");
}

#[test]
fn fixtures_extend_fixtures_down_a_chain() {
    let src = r#"
        policy t
        version "1"
        default allow
        tool pay(amount: number, memo?: string)
        tool refund(amount: number, reason: string)
        rule big: on pay, refund deny when amount > 5000
        rule short: on refund deny when reason.len() < 5
        fixture base = { tool: "pay", args: { amount: 10 } }
        fixture large = base with { args.amount: 6000 }
        fixture large_refund = large with { tool: "refund", args.reason: "duplicate" }
        fixture short_refund = large_refund with { args.amount: 1, args.reason: "x" }
        test "the base is small" { request base expect allow }
        test "an override applies" { request large expect deny by big }
        test "overrides of every base apply, nearest last" { request large_refund expect deny by big }
        test "and a test's own overrides after them" { request short_refund with { args.reason: "long enough" } expect allow }
        test "the chain ends in the nearest fixture" { request short_refund expect deny by short }
    "#;
    let policy = Policy::from_sources(&[("t.pol", src)]).unwrap_or_else(|d| panic!("{}", d.render()));
    let report = run_tests(&policy, &policy.engine(Backend::Interpreter).expect("interpreter"));
    assert_eq!(report.failed(), 0, "{}", report.render());
    assert_eq!(report.results.len(), 5);
}
