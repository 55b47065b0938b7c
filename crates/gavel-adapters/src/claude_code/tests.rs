//! `PreToolUse` events shaped as Claude Code writes them (its hooks reference), and every
//! way one can be wrong.

use super::*;
use serde_json::json;

fn who() -> Map<String, Value> {
    let Value::Object(m) = json!({"agent": {"id": "claude-code"}, "user": {"id": "ana"}, "environment": "dev"}) else { unreachable!() };
    m
}

fn event(tool: &str, input: Value) -> String {
    json!({"session_id": "abc123", "transcript_path": "/home/ana/.claude/projects/x/abc123.jsonl", "cwd": "/home/ana/repo",
        "permission_mode": "default", "hook_event_name": "PreToolUse", "tool_name": tool, "tool_input": input, "tool_use_id": "toolu_01ABC"})
    .to_string()
}

fn envelope(event: &str) -> Value {
    let n = pre_tool_use(event.as_bytes(), &who()).unwrap_or_else(|e| panic!("{event} should be read: {e}"));
    assert_eq!(n.form, "claude_code");
    assert_eq!(n.approval_id, None);
    serde_json::from_slice(&n.envelope).expect("the envelope is JSON")
}

fn refused(event: &str) -> AdapterError {
    match pre_tool_use(event.as_bytes(), &who()) {
        Ok(n) => panic!("{event} should be refused, gave {}", String::from_utf8_lossy(&n.envelope)),
        Err(e) => e,
    }
}

const CONTEXT: &str = r#"{"session_id": "abc123", "cwd": "/home/ana/repo", "permission_mode": "default", "tool_use_id": "toolu_01ABC"}"#;

#[test]
fn a_bash_call_becomes_the_envelope() {
    let env = envelope(&event("Bash", json!({"command": "rm -rf /", "description": "clean up", "timeout": 120000})));
    let context: Value = serde_json::from_str(CONTEXT).expect("json");
    assert_eq!(
        env,
        json!({"tool": "Bash", "args": {"command": "rm -rf /", "description": "clean up", "timeout": 120000},
            "agent": {"id": "claude-code"}, "user": {"id": "ana"}, "environment": "dev", "context": context})
    );
}

#[test]
fn tool_and_args_come_first_and_args_are_copied_as_written() {
    let ev = r#"{"hook_event_name": "PreToolUse", "tool_name": "Write", "tool_input": {"file_path": "/a", "n": 1e400}}"#;
    let n = pre_tool_use(ev.as_bytes(), &who()).expect("reads");
    let text = String::from_utf8_lossy(&n.envelope);
    assert!(text.starts_with(r#"{"tool":"Write","args":{"file_path": "/a", "n": 1e400}"#), "{text}");
}

#[test]
fn an_mcp_tool_reads_double_underscore_as_a_dot() {
    let env = envelope(&event("mcp__bank__transfer", json!({"amount": 250})));
    assert_eq!(env["tool"], "mcp.bank.transfer");
    assert_eq!(env["args"], json!({"amount": 250}));
}

#[test]
fn no_tool_input_is_an_empty_object_and_no_session_fields_leave_context_empty() {
    let env = envelope(r#"{"hook_event_name": "PreToolUse", "tool_name": "Read"}"#);
    assert_eq!(env, json!({"tool": "Read", "args": {}, "agent": {"id": "claude-code"}, "user": {"id": "ana"}, "environment": "dev", "context": {}}));
}

#[test]
fn the_callers_context_is_kept_and_the_event_adds_to_it() {
    let mut who = who();
    who.insert("context".into(), json!({"ticket": "T-1", "cwd": "/overridden"}));
    who.insert("tool".into(), json!("not-this"));
    let n = pre_tool_use(event("Bash", json!({"command": "ls"})).as_bytes(), &who).expect("reads");
    let env: Value = serde_json::from_slice(&n.envelope).expect("json");
    assert_eq!(env["tool"], "Bash");
    assert_eq!(env["context"]["ticket"], "T-1");
    assert_eq!(env["context"]["cwd"], "/home/ana/repo", "the event's cwd is where the call runs");
}

#[test]
fn malformed_events_are_refused_with_the_key() {
    let cases: &[(&str, &str, &str)] = &[
        ("not json", "", "not a JSON object"),
        ("[1, 2]", "", "not a JSON object"),
        (r#"{"tool_name": "Bash", "tool_input": {}}"#, "hook_event_name", "missing"),
        (r#"{"hook_event_name": "PostToolUse", "tool_name": "Bash", "tool_input": {}}"#, "hook_event_name", "expected \"PreToolUse\""),
        (r#"{"hook_event_name": 7, "tool_name": "Bash"}"#, "hook_event_name", "expected \"PreToolUse\""),
        (r#"{"hook_event_name": "PreToolUse", "tool_input": {}}"#, "tool_name", "missing"),
        (r#"{"hook_event_name": "PreToolUse", "tool_name": ""}"#, "tool_name", "empty"),
        (r#"{"hook_event_name": "PreToolUse", "tool_name": ["Bash"]}"#, "tool_name", "expected a string"),
        (r#"{"hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": "rm -rf /"}"#, "tool_input", "expected an object"),
        (r#"{"hook_event_name": "PreToolUse", "tool_name": "Bash", "session_id": 3}"#, "session_id", "expected a string"),
        (r#"{"hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_name": "Read"}"#, "tool_name", "given twice"),
    ];
    for (ev, path, message) in cases {
        let e = refused(ev);
        assert_eq!(e.path, *path, "{ev}: {e}");
        assert!(e.message.contains(message), "{ev}: {e}");
    }
}

#[test]
fn a_context_that_is_not_an_object_is_refused() {
    let mut who = who();
    who.insert("context".into(), json!("x"));
    let e = pre_tool_use(event("Bash", json!({})).as_bytes(), &who).expect_err("refused");
    assert_eq!(e.path, "context");
}

#[test]
fn no_panic_on_odd_events() {
    for ev in ["", "{", "null", "\"PreToolUse\"", "{\"hook_event_name\": \"PreToolUse\", \"tool_name\": \"\\ud800\"}", "{\"a\":1}"] {
        let _ = pre_tool_use(ev.as_bytes(), &who());
    }
}
