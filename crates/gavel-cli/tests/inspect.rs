//! `gavel inspect`: what a policy declares, as JSON and as text, and a policy that does not
//! compile.

use std::process::{Command, Output};

/// The repository's root, where `examples/` and `tests/` are: the paths users type.
const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

fn gavel(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gavel")).args(args).current_dir(ROOT).output().expect("gavel runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The report with the digest replaced: it changes with every edit of the example, which
/// the snapshot would otherwise have to follow.
fn without_digest(s: &str) -> String {
    let (before, rest) = s.split_once("sha256:").expect("a digest");
    let hex = rest.find(|c: char| !c.is_ascii_hexdigit()).expect("the digest ends");
    format!("{before}sha256:[digest]{}", &rest[hex..])
}

#[test]
fn inspect_lists_the_payments_example_as_json() {
    let out = gavel(&["inspect", "examples/payments", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["policy"]["name"], "payments");
    assert_eq!(v["rules"].as_array().map(Vec::len), Some(12));
    insta::assert_snapshot!(without_digest(&text(&out.stdout)));
}

#[test]
fn inspect_lists_the_payments_example_as_text() {
    let out = gavel(&["inspect", "examples/payments"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    insta::assert_snapshot!(without_digest(&text(&out.stdout)));
}

#[test]
fn inspect_shows_data_windows_and_open_tools() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pol = dir.path().join("p.pol");
    std::fs::write(
        &pol,
        "policy w\nversion \"1\"\ndefault allow\ntool t(n: number, ...)\ndata limits: map<number>\n\
         window big = sum(n) on t over 1h by agent.id when decision == allow\n\
         request { agent: { id: string } }\n\
         rule r: on t deny when n > (limits[\"x\"] ?? 0) + big\n",
    )
    .expect("write");
    let data = dir.path().join("limits.json");
    std::fs::write(&data, r#"{"x": 1}"#).expect("write");
    let (pol, data) = (pol.display().to_string(), format!("limits={}", data.display()));
    let out = gavel(&["inspect", &pol, "--data", &data, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["tools"][0]["open"], true);
    assert_eq!(v["data"][0]["type"], "map<number>");
    let w = &v["windows"][0];
    assert_eq!((&w["name"], &w["aggregate"], &w["over"], &w["on"][0]), (&"big".into(), &"sum(n)".into(), &"1h".into(), &"t".into()));
    assert_eq!(w["when"], "decision == allow");
    assert!(v["rules"][0]["location"].as_str().is_some_and(|l| l.ends_with("p.pol:8:1")), "{}", v["rules"][0]);
    let out = gavel(&["inspect", &pol, "--data", &data]);
    assert!(text(&out.stdout).contains("window big = sum(n) on t over 1h by agent.id when decision == allow"), "{}", text(&out.stdout));
    // The data flag is honoured: without it the data is missing and the policy does not load.
    assert_eq!(gavel(&["inspect", &pol]).status.code(), Some(1));
}

#[test]
fn inspect_of_a_broken_policy_prints_its_diagnostics_and_fails() {
    let out = gavel(&["inspect", "tests/invalid/enum_typo.pol"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("did you mean \"high\"?"), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    let out = gavel(&["inspect", "tests/invalid/enum_typo.pol", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json diagnostics on stdout");
    assert_eq!(v["diagnostics"][0]["code"], "E0204");
}
