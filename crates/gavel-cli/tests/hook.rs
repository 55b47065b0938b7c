//! `gavel hook claude-code` as Claude Code runs it: a recorded PreToolUse event on stdin
//! (examples/claude-code/events), the answer on stdout, exit 0 — and `deny` for everything
//! it cannot decide.

use serde_json::{json, Value};
use std::io::Write;
use std::process::{Command, Stdio};

/// The repository's root, where `examples/` is.
const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// Runs the hook with `args`, `stdin` as the event; the exit code, stdout and stderr.
fn hook_with(args: &[&str], stdin: &[u8], env: &[(&str, Option<&str>)]) -> (Option<i32>, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gavel"));
    cmd.args(["hook", "claude-code"]).args(args).current_dir(ROOT).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    for (k, v) in env {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let mut child = cmd.spawn().expect("gavel runs");
    // A hook that stops reading early is fine: the answer is what counts.
    let _ = child.stdin.take().expect("stdin is piped").write_all(stdin);
    let out = child.wait_with_output().expect("gavel ends");
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The answer to a recorded event with the example policy: exit 0 and one JSON object.
fn answer_to(event: &str, extra: &[&str]) -> Value {
    let bytes = std::fs::read(format!("{ROOT}/examples/claude-code/events/{event}")).expect("the recorded event");
    let mut args = vec!["examples/claude-code"];
    args.extend_from_slice(extra);
    parse(hook_with(&args, &bytes, &[]))
}

fn parse((code, stdout, stderr): (Option<i32>, String, String)) -> Value {
    assert_eq!(code, Some(0), "exit 0 so Claude Code reads the answer; stderr: {stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("one JSON answer on stdout ({e}): {stdout:?}"));
    assert_eq!(v["hookSpecificOutput"]["hookEventName"], "PreToolUse", "{v}");
    v["hookSpecificOutput"].clone()
}

fn decision(out: &Value) -> &str {
    out["permissionDecision"].as_str().unwrap_or_else(|| panic!("a permissionDecision: {out}"))
}

fn reason(out: &Value) -> &str {
    out["permissionDecisionReason"].as_str().unwrap_or_else(|| panic!("a permissionDecisionReason: {out}"))
}

#[test]
fn rm_rf_root_is_denied_with_the_rules_reason() {
    let out = answer_to("bash_rm_rf.json", &[]);
    assert_eq!(decision(&out), "deny");
    assert_eq!(reason(&out), "denied by gavel policy `claude_code`: `cd build && rm -rf /` would delete a whole filesystem");
    assert!(out.get("updatedInput").is_none(), "{out}");
}

#[test]
fn an_ordinary_command_is_allowed_as_is() {
    let out = answer_to("bash_ok.json", &[]);
    assert_eq!(decision(&out), "allow");
    assert!(out.get("updatedInput").is_none(), "nothing was modified: {out}");
}

#[test]
fn writing_secrets_is_denied_and_outside_the_project_asks() {
    let out = answer_to("write_env.json", &[]);
    assert_eq!(decision(&out), "deny");
    assert!(reason(&out).contains("`/home/ana/repo/.env` holds secrets"), "{out}");
    let out = answer_to("write_outside.json", &[]);
    assert_eq!(decision(&out), "ask");
    assert!(reason(&out).contains("`/home/ana/.bashrc` is outside the project"), "{out}");
}

#[test]
fn an_mcp_tool_is_decided_under_its_dotted_name_and_redacted_input_is_returned() {
    let out = answer_to("mcp_transfer_memo.json", &[]);
    assert_eq!(decision(&out), "allow");
    assert_eq!(out["updatedInput"], json!({"from_account": "ops-eur", "to_account": "acme-gmbh", "amount": 740.5, "memo": "[REDACTED]"}));
    assert!(reason(&out).contains("`memo_redacted`"), "{out}");
}

#[test]
fn an_approval_asks_naming_the_approver_and_the_reason() {
    let out = answer_to("mcp_transfer_large.json", &[]);
    assert_eq!(decision(&out), "ask");
    assert!(reason(&out).starts_with("gavel policy `claude_code`: approval required from treasurer: "), "{out}");
    assert!(reason(&out).contains("a transfer of 4800 needs a treasurer"), "{out}");
}

#[test]
fn malformed_events_are_denied_never_passed() {
    let cases: &[(&[u8], &str)] = &[
        (b"not json at all", "the hook event: not a JSON object"),
        (b"", "the hook event: not a JSON object"),
        (b"[\"Bash\"]", "the hook event: not a JSON object"),
        (&std::fs::read(format!("{ROOT}/examples/claude-code/events/post_tool_use.json")).expect("event"), "`hook_event_name`: expected \"PreToolUse\""),
        (&std::fs::read(format!("{ROOT}/examples/claude-code/events/no_tool_name.json")).expect("event"), "`tool_name`: missing"),
        (br#"{"hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": "rm -rf /"}"#, "`tool_input`: expected an object"),
    ];
    for (event, want) in cases {
        let out = parse(hook_with(&["examples/claude-code"], event, &[]));
        assert_eq!(decision(&out), "deny", "{}: {out}", String::from_utf8_lossy(event));
        assert!(reason(&out).contains(want), "{}: {out}", String::from_utf8_lossy(event));
    }
}

#[test]
fn an_event_above_the_request_limit_is_denied() {
    let event = std::fs::read(format!("{ROOT}/examples/claude-code/events/bash_ok.json")).expect("event");
    let out = parse(hook_with(&["examples/claude-code", "--max-request-bytes", "64"], &event, &[]));
    assert_eq!(decision(&out), "deny");
    assert!(reason(&out).contains("max_request_bytes"), "{out}");
}

#[test]
fn a_policy_that_does_not_load_denies_every_call() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("broken.pol"), "policy broken\nversion \"1\"\ndefault allow\non Bash { rule r: deny when nope because \"x\" }\n")
        .expect("write");
    let event = std::fs::read(format!("{ROOT}/examples/claude-code/events/bash_ok.json")).expect("event");
    for path in [dir.path().to_str().expect("utf-8"), "no/such/policy"] {
        let (code, stdout, stderr) = hook_with(&[path], &event, &[]);
        let out = parse((code, stdout, stderr.clone()));
        assert_eq!(decision(&out), "deny", "{path}: {out}");
        assert!(reason(&out).contains("could not load its policy"), "{out}");
        assert!(stderr.contains("error"), "the diagnostics go to stderr: {stderr}");
    }
}

/// A policy that denies unless the envelope has the fields the flags and the event give.
const ENVELOPE_POLICY: &str = r#"policy envelope
version "1"
default allow
tool Bash(command: string, ...)
request {
  agent: { id: string },
  user: { id: string },
  workspace?: string,
  environment?: string,
  context: { session_id?: string, cwd?: string, permission_mode?: string, tool_use_id?: string },
}
on Bash {
  let ws = workspace ?? "-"
  let env = environment ?? "-"
  let session = context.session_id ?? "-"
  let cwd = context.cwd ?? "-"
  let mode = context.permission_mode ?? "-"
  let use_id = context.tool_use_id ?? "-"
  rule shows_the_envelope:
    deny when true
    because "{agent.id}|{user.id}|{ws}|{env}|{session}|{cwd}|{mode}|{use_id}"
}
"#;

#[test]
fn the_envelope_has_the_flags_and_the_events_session() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("envelope.pol"), ENVELOPE_POLICY).expect("write");
    let path = dir.path().to_str().expect("utf-8");
    let event = std::fs::read(format!("{ROOT}/examples/claude-code/events/bash_ok.json")).expect("event");
    let shown = |args: &[&str], env: &[(&str, Option<&str>)]| {
        let mut all = vec![path];
        all.extend_from_slice(args);
        let out = parse(hook_with(&all, &event, env));
        assert_eq!(decision(&out), "deny", "{out}");
        reason(&out).trim_start_matches("denied by gavel policy `envelope`: ").to_owned()
    };
    let session = "8f1c2a4e-5b7d-4e0a-9c3f-2d6b1e7a9c40|/home/ana/repo|default|toolu_01Bv2QxN8cTd4LwPe6Ym9KzR";
    assert_eq!(shown(&[], &[("USER", Some("ana"))]), format!("claude-code|ana|-|-|{session}"));
    assert_eq!(shown(&[], &[("USER", None)]), format!("claude-code|local|-|-|{session}"));
    assert_eq!(
        shown(&["--agent", "cc-ci", "--user", "u-7", "--workspace", "acme", "--environment", "staging"], &[("USER", Some("ana"))]),
        format!("cc-ci|u-7|acme|staging|{session}")
    );
    // `--envelope FILE`: its fields, under the flags.
    let file = dir.path().join("envelope.json");
    std::fs::write(&file, r#"{"workspace": "from-file", "environment": "prod"}"#).expect("write");
    let file = file.to_str().expect("utf-8");
    assert_eq!(shown(&["--envelope", file], &[("USER", Some("ana"))]), format!("claude-code|ana|from-file|prod|{session}"));
    assert_eq!(shown(&["--envelope", file, "--workspace", "acme"], &[("USER", Some("ana"))]), format!("claude-code|ana|acme|prod|{session}"));
}

#[test]
fn an_envelope_file_that_is_wrong_denies_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let event = std::fs::read(format!("{ROOT}/examples/claude-code/events/bash_ok.json")).expect("event");
    for (text, says) in [("{\"tool\": \"Bash\"}", "`tool` is not an envelope field"), ("[1]", "must hold a JSON object"), ("{", "is not JSON")] {
        let file = dir.path().join("envelope.json");
        std::fs::write(&file, text).expect("write");
        let out = parse(hook_with(&["examples/claude-code", "--envelope", file.to_str().expect("utf-8")], &event, &[]));
        assert_eq!(decision(&out), "deny", "{text}: {out}");
        assert!(reason(&out).contains(says), "{text}: {out}");
    }
    let out = parse(hook_with(&["examples/claude-code", "--envelope", "no/such.json"], &event, &[]));
    assert_eq!(decision(&out), "deny", "{out}");
    assert!(reason(&out).contains("cannot read `--envelope no/such.json`"), "{out}");
}

#[test]
fn defer_allowed_prints_nothing_for_an_allow_and_asks_for_a_modified_one() {
    let event = std::fs::read(format!("{ROOT}/examples/claude-code/events/bash_ok.json")).expect("event");
    let (code, stdout, stderr) = hook_with(&["examples/claude-code", "--defer-allowed"], &event, &[]);
    assert_eq!((code, stdout.as_str()), (Some(0), ""), "{stderr}");
    let out = answer_to("mcp_transfer_memo.json", &["--defer-allowed"]);
    assert_eq!(decision(&out), "ask");
    assert_eq!(out["updatedInput"]["memo"], "[REDACTED]");
    let out = answer_to("bash_rm_rf.json", &["--defer-allowed"]);
    assert_eq!(decision(&out), "deny", "a deny is never deferred: {out}");
}

#[test]
fn a_rule_that_fails_gives_its_error_not_its_because() {
    let event =
        br#"{"session_id": "s", "cwd": "/home/ana/repo", "hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {"command": "echo 'unbalanced"}}"#;
    let out = parse(hook_with(&["examples/claude-code"], event, &[]));
    assert_eq!(decision(&out), "deny");
    // `destructive_rm` fails on the command (and so denies); its `because` would claim the
    // command deletes a filesystem.
    assert_eq!(reason(&out), "denied by gavel policy `claude_code`: `echo 'unbalanced` cannot be split into words, so it cannot be checked");
}

#[test]
fn input_fields_a_newer_claude_code_adds_are_let_through_unread() {
    let event = br#"{"session_id": "s", "cwd": "/home/ana/repo", "hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {"command": "ls", "dangerouslyDisableSandbox": false}}"#;
    let out = parse(hook_with(&["examples/claude-code"], event, &[]));
    assert_eq!(decision(&out), "allow", "{out}");
}
