//! What one JSON-RPC message from the client is, reading only `method` and `id`; and the
//! messages the proxy answers with itself. In: a message's bytes. Out: [`Kind`], and the
//! answer bytes (`refusal`, `error`) or the forwarded message with new arguments (`with_args`).

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use std::borrow::Cow;

/// JSON-RPC's code for a message that is not JSON.
pub const PARSE_ERROR: i64 = -32700;
/// JSON-RPC's code for a message that is not a valid request.
pub const INVALID_REQUEST: i64 = -32600;
/// The code of a refused `tools/call` answered as an error (`--deny-as error`).
pub const REFUSED: i64 = -32001;

/// A client message, as far as the proxy cares.
pub enum Kind<'a> {
    /// A `tools/call` request with its `id` (`None`: sent without one, so nothing can be answered).
    ToolsCall { id: Option<&'a RawValue> },
    /// Anything else that is a JSON object: passed on untouched.
    Other,
    /// A JSON-RPC batch (an array), with its elements.
    Batch(Vec<&'a RawValue>),
    /// Not JSON, or an object whose `method` or `id` cannot be read (given twice, not a
    /// string): never forwarded, since the server might read it differently.
    Invalid { code: i64, message: String },
}

#[derive(Deserialize)]
struct Head<'a> {
    // A key given twice is an error here (serde's derive refuses duplicate fields): the proxy
    // and the server must not read two different methods out of one message.
    #[serde(borrow, default)]
    method: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
}

/// Reads what `msg` is.
pub fn kind(msg: &[u8]) -> Kind<'_> {
    let text = match std::str::from_utf8(msg) {
        Ok(t) => t.trim_start(),
        Err(_) => return Kind::Invalid { code: PARSE_ERROR, message: "the message is not UTF-8".into() },
    };
    if text.starts_with('[') {
        return match serde_json::from_str::<Vec<&RawValue>>(text) {
            Ok(items) => Kind::Batch(items),
            Err(e) => Kind::Invalid { code: PARSE_ERROR, message: format!("the message is not JSON: {e}") },
        };
    }
    match serde_json::from_str::<Head<'_>>(text) {
        Ok(head) if head.method.as_deref() == Some("tools/call") => Kind::ToolsCall { id: head.id },
        Ok(_) => Kind::Other,
        Err(e) if serde_json::from_str::<serde::de::IgnoredAny>(text).is_err() => {
            Kind::Invalid { code: PARSE_ERROR, message: format!("the message is not JSON: {e}") }
        }
        Err(e) => Kind::Invalid { code: INVALID_REQUEST, message: format!("the message is not a valid JSON-RPC message: {e}") },
    }
}

/// The `id` of one element of a batch, if it is a request that has one.
pub fn id_of(msg: &RawValue) -> Option<&RawValue> {
    serde_json::from_str::<Head<'_>>(msg.get()).ok().and_then(|h| h.method.and(h.id))
}

/// Whether one element of a batch is a `tools/call`; an element that cannot be read counts
/// as one (it is not forwarded either way).
pub fn is_tools_call(msg: &RawValue) -> bool {
    !matches!(kind(msg.get().as_bytes()), Kind::Other)
}

fn id_value(id: Option<&RawValue>) -> Value {
    id.and_then(|raw| serde_json::from_str(raw.get()).ok()).unwrap_or(Value::Null)
}

/// A refused call answered as a `tools/call` result the model can read. `resultType` is
/// required from protocol 2026-07-28 on (the Python SDK refuses a result without it) and an
/// extra member that earlier revisions' results allow, so it is always there.
pub fn refusal(id: Option<&RawValue>, text: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id_value(id), "result": {"content": [{"type": "text", "text": text}], "isError": true, "resultType": "complete"}})
}

/// A JSON-RPC error answer.
pub fn error(id: Option<&RawValue>, code: i64, message: &str, data: Option<Value>) -> Value {
    let mut error = json!({"code": code, "message": message});
    if let Some(data) = data {
        error["data"] = data;
    }
    json!({"jsonrpc": "2.0", "id": id_value(id), "error": error})
}

/// `msg` (a `tools/call`) with `params.arguments` replaced by `args`: the one message the
/// proxy encodes again.
pub fn with_args(msg: &[u8], args: &Value) -> Result<Vec<u8>, String> {
    let mut value: Value = serde_json::from_slice(msg).map_err(|e| format!("the call could not be read again: {e}"))?;
    let params = value.get_mut("params").and_then(Value::as_object_mut).ok_or("the call has no `params` object")?;
    params.insert("arguments".into(), args.clone());
    serde_json::to_vec(&value).map_err(|e| format!("the call could not be written: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tools_call_is_found_with_its_id() {
        let msg = br#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"x","arguments":{}}}"#;
        assert!(matches!(kind(msg), Kind::ToolsCall { id: Some(id) } if id.get() == "7"));
        assert!(matches!(kind(br#"{"jsonrpc":"2.0","id":"a","method":"tools\/call"}"#), Kind::ToolsCall { .. }));
        assert!(matches!(kind(br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#), Kind::Other));
        assert!(matches!(kind(br#"{"jsonrpc":"2.0","id":1,"result":{}}"#), Kind::Other));
    }

    #[test]
    fn a_method_given_twice_or_not_json_is_invalid() {
        let twice = br#"{"jsonrpc":"2.0","id":1,"method":"tools/list","method":"tools/call"}"#;
        assert!(matches!(kind(twice), Kind::Invalid { code: INVALID_REQUEST, .. }));
        assert!(matches!(kind(br#"{"method":"tools/call""#), Kind::Invalid { code: PARSE_ERROR, .. }));
        assert!(matches!(kind(br#"{"method":7}"#), Kind::Invalid { code: INVALID_REQUEST, .. }));
        assert!(matches!(kind(b"\xff"), Kind::Invalid { code: PARSE_ERROR, .. }));
    }

    #[test]
    fn a_batch_is_split_and_its_calls_found() {
        let Kind::Batch(items) = kind(br#"[{"id":1,"method":"ping"},{"id":2,"method":"tools/call"}]"#) else { panic!("not a batch") };
        assert_eq!(items.iter().map(|m| is_tools_call(m)).collect::<Vec<_>>(), [false, true]);
        assert_eq!(id_of(items[1]).map(RawValue::get), Some("2"));
    }

    #[test]
    fn new_arguments_replace_the_old_and_keep_the_rest() {
        let msg = br#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"x","arguments":{"a":1},"_meta":{"k":1}}}"#;
        let out = with_args(msg, &json!({"a": "[redacted]"})).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"x","arguments":{"a":"[redacted]"},"_meta":{"k":1}}}"#
        );
    }
}
