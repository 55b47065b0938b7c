//! The forms on payloads shaped exactly as each SDK writes them (the examples of the MCP
//! specification, OpenAI's Chat Completions and Responses references, Anthropic's Messages
//! reference), and every way a body can be wrong.

use super::*;
use serde_json::{json, Value};

fn envelope(body: &str) -> (Value, &'static str, Option<String>) {
    let n = normalize(body.as_bytes()).unwrap_or_else(|e| panic!("{body} should normalize: {e}"));
    (serde_json::from_slice(&n.envelope).expect("the envelope is JSON"), n.form, n.approval_id)
}

fn refused(body: &str) -> AdapterError {
    match normalize(body.as_bytes()) {
        Ok(n) => panic!("{body} should be refused, gave {}", String::from_utf8_lossy(&n.envelope)),
        Err(e) => e,
    }
}

const ENV: &str = r#""agent": {"id": "agent-7", "trust": "medium"}, "user": {"id": "u-ana"}, "environment": "prod", "time": "2026-03-10T15:20:00Z""#;

fn expected(tool: &str, args: Value) -> Value {
    json!({"tool": tool, "args": args, "agent": {"id": "agent-7", "trust": "medium"}, "user": {"id": "u-ana"}, "environment": "prod", "time": "2026-03-10T15:20:00Z"})
}

#[test]
fn envelope_form_passes_through_with_tool_first() {
    let body = format!(r#"{{{ENV}, "args": {{"amount": 740.5}}, "tool": "payments.transfer", "approval_id": "0190-x"}}"#);
    let n = normalize(body.as_bytes()).expect("normalizes");
    assert!(n.envelope.starts_with(br#"{"tool":"payments.transfer","args":{"amount": 740.5}"#), "{}", String::from_utf8_lossy(&n.envelope));
    let (env, form, approval) = envelope(&body);
    assert_eq!(env, expected("payments.transfer", json!({"amount": 740.5})));
    assert_eq!(form, "envelope");
    assert_eq!(approval.as_deref(), Some("0190-x"));
}

#[test]
fn envelope_numbers_are_copied_as_written() {
    let n = normalize(br#"{"tool": "t", "args": {"n": 1e400, "m": 12345678901234567890123}}"#).expect("normalizes");
    assert!(String::from_utf8_lossy(&n.envelope).contains("1e400"));
    assert!(String::from_utf8_lossy(&n.envelope).contains("12345678901234567890123"));
}

#[test]
fn envelope_without_args_has_none() {
    let (env, ..) = envelope(r#"{"tool": "ping"}"#);
    assert_eq!(env, json!({"tool": "ping"}));
}

#[test]
fn mcp_tools_call_as_the_specification_writes_it() {
    let body = format!(
        r#"{{{ENV}, "mcp": {{"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {{"name": "payments__transfer", "arguments": {{"amount": 740.5, "payee": {{"id": "p-2"}}}}, "_meta": {{"progressToken": "abc"}}}}}}}}"#
    );
    let (env, form, approval) = envelope(&body);
    assert_eq!(env, expected("payments.transfer", json!({"amount": 740.5, "payee": {"id": "p-2"}})));
    assert_eq!((form, approval), ("mcp", None));
}

#[test]
fn mcp_without_arguments_is_an_empty_object() {
    let (env, ..) = envelope(r#"{"mcp": {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "list_files"}}}"#);
    assert_eq!(env, json!({"tool": "list_files", "args": {}}));
}

#[test]
fn openai_chat_completions_tool_call() {
    // `choices[0].message.tool_calls[0]` of a Chat Completions response.
    let call = json!({"id": "call_abc123", "type": "function",
        "function": {"name": "payments__transfer", "arguments": "{\"amount\":740.5,\"currency\":\"EUR\"}"}});
    let body = format!(r#"{{{ENV}, "openai": {call}}}"#);
    let (env, form, _) = envelope(&body);
    assert_eq!(env, expected("payments.transfer", json!({"amount": 740.5, "currency": "EUR"})));
    assert_eq!(form, "openai");
}

#[test]
fn openai_responses_function_call_item() {
    // An `output` item of a Responses API response.
    let item = json!({"type": "function_call", "id": "fc_12345xyz", "call_id": "call_12345xyz",
        "name": "get_weather", "arguments": "{\"location\":\"Paris, France\"}", "status": "completed"});
    let (env, form, _) = envelope(&format!(r#"{{"openai": {item}}}"#));
    assert_eq!(env, json!({"tool": "get_weather", "args": {"location": "Paris, France"}}));
    assert_eq!(form, "openai");
}

#[test]
fn anthropic_tool_use_block() {
    // A `content` block of a Messages API response.
    let block = json!({"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "mcp__payments__transfer",
        "input": {"amount": 740.5, "currency": "EUR"}});
    let (env, form, _) = envelope(&format!(r#"{{{ENV}, "anthropic": {block}}}"#));
    assert_eq!(env, expected("mcp.payments.transfer", json!({"amount": 740.5, "currency": "EUR"})));
    assert_eq!(form, "anthropic");
}

#[test]
fn the_envelope_keeps_a_dot_and_its_double_underscore() {
    let (env, ..) = envelope(r#"{"tool": "a__b", "args": {}}"#);
    assert_eq!(env["tool"], "a__b");
}

#[test]
fn two_forms_at_once_are_refused() {
    let e = refused(r#"{"tool": "t", "args": {}, "anthropic": {"type": "tool_use", "id": "x", "name": "t", "input": {}}}"#);
    assert_eq!(e.path, "anthropic");
    assert!(e.message.contains("two forms"), "{e}");
    let e = refused(r#"{"mcp": {"method": "tools/call", "params": {"name": "t"}}, "openai": {"type": "function_call", "name": "t", "arguments": "{}"}}"#);
    assert_eq!(e.path, "openai");
    // `args` alone marks the envelope too: with another form, that is two.
    assert_eq!(refused(r#"{"args": {}, "mcp": {"params": {"name": "t"}}}"#).path, "mcp");
}

#[test]
fn openai_arguments_not_json_or_not_an_object_or_not_a_string() {
    let e = refused(r#"{"openai": {"id": "c", "type": "function", "function": {"name": "t", "arguments": "{\"unterminated\": "}}}"#);
    assert_eq!(e.path, "openai.function.arguments");
    assert!(e.message.contains("not valid JSON"), "{e}");
    let e = refused(r#"{"openai": {"id": "c", "type": "function", "function": {"name": "t", "arguments": "[1, 2]"}}}"#);
    assert_eq!(e.path, "openai.function.arguments");
    let e = refused(r#"{"openai": {"id": "c", "type": "function", "function": {"name": "t", "arguments": {"a": 1}}}}"#);
    assert_eq!(e.path, "openai.function.arguments");
    let e = refused(r#"{"openai": {"type": "function_call", "name": "t", "arguments": "{} trailing"}}"#);
    assert_eq!(e.path, "openai.arguments");
    let e = refused(r#"{"openai": {"type": "function_call", "name": "t"}}"#);
    assert_eq!(e.path, "openai.arguments");
}

#[test]
fn arguments_not_an_object() {
    assert_eq!(refused(r#"{"anthropic": {"type": "tool_use", "name": "t", "input": "x"}}"#).path, "anthropic.input");
    assert_eq!(refused(r#"{"mcp": {"method": "tools/call", "params": {"name": "t", "arguments": [1]}}}"#).path, "mcp.params.arguments");
}

#[test]
fn missing_or_bad_names() {
    assert_eq!(refused(r#"{"anthropic": {"type": "tool_use", "input": {}}}"#).path, "anthropic.name");
    assert_eq!(refused(r#"{"mcp": {"method": "tools/call", "params": {"arguments": {}}}}"#).path, "mcp.params.name");
    assert_eq!(refused(r#"{"mcp": {"method": "tools/call"}}"#).path, "mcp.params");
    assert_eq!(refused(r#"{"openai": {"type": "function", "function": {"name": 7, "arguments": "{}"}}}"#).path, "openai.function.name");
    assert_eq!(refused(r#"{"openai": {"type": "function_call", "name": "", "arguments": "{}"}}"#).path, "openai.name");
    assert_eq!(refused(r#"{"args": {}}"#).path, "tool");
    assert_eq!(refused(r#"{"tool": 3, "args": {}}"#).path, "tool");
    assert_eq!(refused(r#"{"agent": {"id": "a"}}"#).path, "tool");
}

#[test]
fn wrong_kinds_of_form() {
    assert_eq!(refused(r#"{"mcp": {"method": "tools/list", "params": {"name": "t"}}}"#).path, "mcp.method");
    assert_eq!(refused(r#"{"anthropic": {"type": "text", "text": "hi"}}"#).path, "anthropic.type");
    assert_eq!(refused(r#"{"openai": {"type": "message", "content": []}}"#).path, "openai");
    assert_eq!(refused(r#"{"openai": {"type": "custom", "function": {"name": "t", "arguments": "{}"}}}"#).path, "openai.type");
    assert_eq!(refused(r#"{"mcp": "tools/call"}"#).path, "mcp");
}

#[test]
fn bodies_that_are_not_an_object() {
    for body in ["", "not json", "[1]", "\"tool\"", "{\"tool\": \"t\"", "{\"tool\": \"t\"} {}", "\u{feff}{}"] {
        assert_eq!(refused(body).path, "", "{body:?}");
    }
    assert_eq!(normalize(b"{\"tool\": \"\xff\"}").map_err(|e| e.path), Err(String::new()));
}

#[test]
fn a_key_given_twice_is_refused() {
    assert_eq!(refused(r#"{"tool": "a", "tool": "b"}"#).path, "tool");
    assert_eq!(refused(r#"{"mcp": {"params": {"name": "a", "name": "b"}}}"#).path, "mcp.params.name");
}

#[test]
fn approval_id_must_be_a_string() {
    assert_eq!(refused(r#"{"tool": "t", "approval_id": 7}"#).path, "approval_id");
}

#[test]
fn display_names_the_path() {
    assert_eq!(error("openai.function.arguments", "bad").to_string(), "`openai.function.arguments`: bad");
    assert_eq!(error("", "not a JSON object").to_string(), "the request body: not a JSON object");
}

#[test]
fn args_are_found_for_masking_in_every_form() {
    let mut bodies = [
        json!({"tool": "t", "args": {"ssn": "123"}}),
        json!({"mcp": {"params": {"name": "t", "arguments": {"ssn": "123"}}}}),
        json!({"openai": {"type": "function", "function": {"name": "t", "arguments": "{\"ssn\":\"123\"}"}}}),
        json!({"openai": {"type": "function_call", "name": "t", "arguments": "{\"ssn\":\"123\"}"}}),
        json!({"anthropic": {"type": "tool_use", "name": "t", "input": {"ssn": "123"}}}),
    ];
    for body in &mut bodies {
        assert!(with_args_mut(body, |args| args["ssn"] = json!("***")), "{body}");
        assert!(!body.to_string().contains("123"), "{body}");
        assert!(body.to_string().contains("***"), "{body}");
    }
    assert!(!with_args_mut(&mut json!({"tool": "t"}), |_| {}));
    assert!(!with_args_mut(&mut json!({"tool": "t", "mcp": {}}), |_| {}));
    assert!(!with_args_mut(&mut json!([1]), |_| {}));
}

#[test]
fn no_panic_on_odd_bodies() {
    for body in [
        r#"{"openai": {"function": null}}"#,
        r#"{"openai": {"function": {"arguments": "\u0000"}}}"#,
        r#"{"anthropic": null}"#,
        r#"{"mcp": {"params": null}}"#,
        r#"{"tool": null}"#,
        r#"{"openai": {"type": "function_call", "name": "t", "arguments": "\"{}\""}}"#,
    ] {
        assert!(normalize(body.as_bytes()).is_err(), "{body}");
    }
}
