//! File paths in what the command line prints are the paths as the user gave them, so a
//! terminal opens them from where the command ran (issue 17, item 13): diagnostics (text and
//! JSON), `gavel test` locations, `gavel inspect` locations and `gavel fmt --check`. The
//! policy's digest still hashes the names relative to the policy's root, so it is the same
//! whatever path the policy is given by.

use std::path::Path;
use std::process::{Command, Output};

fn gavel_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gavel")).args(args).current_dir(cwd).output().expect("gavel runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const POLICY: &str = "policy t\nversion \"1\"\ndefault allow\n\ntool a.b(x: number)\n\nrule big:\n  on a.b\n  deny when args.x > 5\n";
const TESTS: &str = "fixture base = { tool: \"a.b\", args: { x: 1 } }\n\ntest \"small is denied\" {\n  request base\n  expect deny\n}\n";

/// A folder `pols/` holding a policy (and its tests) inside a fresh temporary folder.
fn policy_dir(bad: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("pols")).expect("pols");
    std::fs::write(dir.path().join("pols/policy.pol"), POLICY).expect("policy");
    std::fs::write(dir.path().join("pols/tests.pol"), TESTS).expect("tests");
    if let Some(bad) = bad {
        std::fs::write(dir.path().join("pols/bad.pol"), bad).expect("bad");
    }
    dir
}

#[test]
fn diagnostics_name_a_folders_files_by_the_path_given() {
    let dir = policy_dir(Some("let q = 1\n\nlet z = nope\n"));
    let out = gavel_in(dir.path(), &["check", "pols"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("[ pols/bad.pol:3:9 ]"), "{}", text(&out.stderr));
    let out = gavel_in(dir.path(), &["check", "pols", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json diagnostics");
    assert_eq!(v["diagnostics"][0]["file"], "pols/bad.pol");
    assert_eq!(v["diagnostics"][0]["labels"][0]["file"], "pols/bad.pol");
}

#[test]
fn diagnostics_name_a_file_given_by_absolute_path_absolutely() {
    let dir = policy_dir(None);
    std::fs::write(dir.path().join("one.pol"), "policy t\nversion \"1\"\ndefault allow\nlet z = nope\n").expect("one");
    let abs = dir.path().join("one.pol").display().to_string();
    let elsewhere = tempfile::tempdir().expect("cwd");
    let out = gavel_in(elsewhere.path(), &["check", &abs]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains(&format!("[ {abs}:4:9 ]")), "{}", text(&out.stderr));
    // A file given by a relative path with folders keeps them.
    let out = gavel_in(dir.path().parent().expect("parent"), &["check", &format!("{}/one.pol", dir.path().file_name().expect("name").to_string_lossy())]);
    assert!(text(&out.stderr).contains("/one.pol:4:9 ]"), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("[ one.pol:"), "{}", text(&out.stderr));
}

#[test]
fn test_and_inspect_locations_are_the_paths_given_and_the_digest_does_not_change() {
    let dir = policy_dir(None);
    let out = gavel_in(dir.path(), &["test", "pols"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("(pols/tests.pol:3)"), "{}", text(&out.stdout));
    let relative = gavel_in(dir.path(), &["inspect", "pols", "--format", "json"]);
    let relative: serde_json::Value = serde_json::from_slice(&relative.stdout).expect("inspect json");
    assert_eq!(relative["tools"][0]["location"], "pols/policy.pol:5:1");
    let abs = dir.path().join("pols").display().to_string();
    let absolute = gavel_in(Path::new("/"), &["inspect", &abs, "--format", "json"]);
    let absolute: serde_json::Value = serde_json::from_slice(&absolute.stdout).expect("inspect json");
    assert_eq!(absolute["tools"][0]["location"], format!("{abs}/policy.pol:5:1"));
    assert_eq!(relative["policy"]["digest"], absolute["policy"]["digest"], "the digest hashes names relative to the policy's root");
    assert!(relative["policy"]["digest"].as_str().is_some_and(|d| d.starts_with("sha256:")), "{relative}");
}

#[test]
fn fmt_check_names_the_paths_given() {
    let dir = policy_dir(None);
    std::fs::write(dir.path().join("pols/policy.pol"), POLICY.replace("rule big:\n  on a.b", "rule big:\n    on a.b")).expect("unformatted");
    let out = gavel_in(dir.path(), &["fmt", "--check", "pols"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).lines().any(|l| l == "pols/policy.pol"), "{}", text(&out.stdout));
}
