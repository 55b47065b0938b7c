//! `gavel fmt` as a user runs it: the bundled policies stay formatted; `--check` writes
//! nothing and exits 1; a file that does not parse is never rewritten.

use std::process::Command;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

fn gavel(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gavel")).args(args).current_dir(ROOT).output().expect("gavel runs")
}

#[test]
fn the_bundled_examples_and_stdlib_are_formatted() {
    let out = gavel(&["fmt", "--check", "examples", "stdlib"]);
    assert_eq!(out.status.code(), Some(0), "not formatted:\n{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn check_lists_and_fmt_rewrites_and_broken_files_stay() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let messy = dir.path().join("messy.pol");
    let broken = dir.path().join("broken.pol");
    std::fs::write(&messy, "policy   p // the name\nversion \"1\"\ndefault allow\nrule r:   deny when  tool == \"x\"\n").expect("write");
    std::fs::write(&broken, "policy p\nrule r: deny when (\n").expect("write");
    let d = dir.path().to_str().expect("utf-8");
    let out = gavel(&["fmt", "--check", d]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("messy.pol"));
    assert!(std::fs::read_to_string(&messy).expect("read").contains("policy   p"), "--check wrote the file");
    let out = gavel(&["fmt", d]);
    assert_eq!(out.status.code(), Some(1), "a broken file is an error");
    assert_eq!(std::fs::read_to_string(&messy).expect("read"), "policy p // the name\nversion \"1\"\ndefault allow\nrule r:\n  deny when tool == \"x\"\n");
    assert_eq!(std::fs::read_to_string(&broken).expect("read"), "policy p\nrule r: deny when (\n");
}
