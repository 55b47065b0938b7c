//! The request forms of `POST /v1/decide` (PRODUCT.md §4.1). In: a decide body (JSON bytes)
//! holding the call in exactly one form — the envelope's own `tool` + `args`, an MCP
//! `tools/call` message (`mcp`), an OpenAI tool call (`openai`: a Chat Completions tool call
//! or a Responses `function_call` item) or an Anthropic `tool_use` block (`anthropic`) — beside
//! the envelope fields. Out: the envelope the engine decides (`Normalized`), or an
//! `AdapterError` naming the path of what is wrong (an input error: the caller answers deny).
//!
//! Every form is one entry of [`FORMS`]: adding a form is adding an entry. A form's tool
//! names cannot hold `.`, so there `__` stands for `.` (`payments__transfer` is
//! `payments.transfer`). Values are copied as the body wrote them (`RawValue`), so numbers
//! reach the engine exactly as sent; only the call is rewritten.
//!
//! [`claude_code`] reads one more way a call arrives: a Claude Code `PreToolUse` hook event.
//! [`refusal`] words a denial or an approval for whoever made the call.

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::fmt;

/// A decide body turned into the envelope the engine decides.
#[derive(Debug, Clone, PartialEq)]
pub struct Normalized {
    /// The envelope the engine decides: `{"tool", "args", "agent", "user", "workspace",
    /// "environment", "context", "time"}` as JSON bytes (only fields the body had; `tool`
    /// first, then `args`; any other top-level field of the body — a policy's declared
    /// `request` fields — follows as written).
    pub envelope: Vec<u8>,
    /// Which form the call came in (`"envelope"`, `"mcp"`, `"openai"`, `"anthropic"`).
    pub form: &'static str,
    /// The `approval_id` the body carried, if any.
    pub approval_id: Option<String>,
}

/// Why a decide body is not a call: `path` is where (`openai.function.arguments`; empty for
/// the body itself), `message` what is wrong (lowercase, no trailing period).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterError {
    /// Where in the body: `openai.function.arguments`; empty for the body itself.
    pub path: String,
    /// What is wrong, lowercase, no trailing period.
    pub message: String,
}

impl fmt::Display for AdapterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "the request body: {}", self.message)
        } else {
            write!(f, "`{}`: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for AdapterError {}

fn error(path: impl Into<String>, message: impl Into<String>) -> AdapterError {
    AdapterError { path: path.into(), message: message.into() }
}

/// One request form: the top-level key(s) that mark it, how to read the call out of the
/// body, and where its arguments sit in the body (for masking the log's copy).
pub struct Form {
    /// `Normalized::form`.
    pub name: &'static str,
    /// The top-level keys that mark this form (the envelope's are `tool` and `args`).
    pub keys: &'static [&'static str],
    /// The call, from the value of the form's key (the whole body for the envelope).
    read: for<'a> fn(&Fields<'a>) -> Result<Call<'a>, AdapterError>,
    /// Where the arguments are in a body of this form (see [`args_at`]).
    locate: fn(&serde_json::Value) -> ArgsAt,
}

/// Where a form keeps its arguments in the body: the keys from the top, and whether they are
/// a JSON text inside a string (OpenAI) rather than an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgsAt {
    /// The keys from the top of the body to the arguments.
    pub keys: &'static [&'static str],
    /// The arguments are a JSON text inside a string (OpenAI), not an object.
    pub encoded: bool,
}

/// The forms, in the order their keys are looked for.
pub static FORMS: &[Form] = &[
    Form { name: "envelope", keys: &["tool", "args"], read: read_envelope, locate: |_| ArgsAt { keys: &["args"], encoded: false } },
    Form { name: "mcp", keys: &["mcp"], read: read_mcp, locate: |_| ArgsAt { keys: &["mcp", "params", "arguments"], encoded: false } },
    Form { name: "openai", keys: &["openai"], read: read_openai, locate: locate_openai },
    Form { name: "anthropic", keys: &["anthropic"], read: read_anthropic, locate: |_| ArgsAt { keys: &["anthropic", "input"], encoded: false } },
];

/// The call a form holds: the tool's name (with `__` already `.` for the forms) and the
/// arguments as JSON text (`None`: the form had none; the envelope then has none either).
struct Call<'a> {
    tool: String,
    args: Option<ArgsText<'a>>,
}

enum ArgsText<'a> {
    Raw(&'a RawValue),
    Owned(String),
}

impl ArgsText<'_> {
    fn get(&self) -> &str {
        match self {
            ArgsText::Raw(r) => r.get(),
            ArgsText::Owned(s) => s,
        }
    }
}

/// Turns a decide body into the envelope; errors are input errors (the caller answers deny).
pub fn normalize(body: &[u8]) -> Result<Normalized, AdapterError> {
    let top: Fields<'_> = serde_json::from_slice(body).map_err(|e| error("", format!("not a JSON object: {e}")))?;
    let top = top.checked("")?;
    let mut found = FORMS.iter().filter(|f| f.keys.iter().any(|k| top.get(k).is_some()));
    let form = found.next().ok_or_else(|| error("tool", "no call in the body: give `tool` and `args`, or one of `mcp`, `openai`, `anthropic`"))?;
    if let Some(other) = found.next() {
        return Err(error(other.keys[0], format!("two forms at once (`{}` and `{}`): give the call in exactly one form", form.keys[0], other.keys[0])));
    }
    let call = if form.name == "envelope" {
        (form.read)(&top)?
    } else {
        // INVARIANT: `form` was found by one of its keys, and a form's keys are one key.
        let inner = top.get(form.keys[0]).expect("the form's key is present");
        let fields: Fields<'_> = object(inner, form.keys[0])?;
        (form.read)(&fields)?
    };
    let approval_id = match top.get("approval_id") {
        None => None,
        Some(raw) => Some(serde_json::from_str::<String>(raw.get()).map_err(|_| error("approval_id", "expected a string"))?),
    };

    let mut out = Vec::with_capacity(body.len() + 16);
    out.extend_from_slice(b"{\"tool\":");
    // INVARIANT: a `String` always serializes.
    serde_json::to_writer(&mut out, &call.tool).expect("a string serializes");
    if let Some(args) = &call.args {
        out.extend_from_slice(b",\"args\":");
        out.extend_from_slice(args.get().as_bytes());
    }
    for (key, raw) in &top.0 {
        if *key == "approval_id" || FORMS.iter().any(|f| f.keys.contains(&key.as_ref())) {
            continue;
        }
        out.push(b',');
        serde_json::to_writer(&mut out, key.as_ref()).expect("a string serializes");
        out.push(b':');
        out.extend_from_slice(raw.get().as_bytes());
    }
    out.push(b'}');
    Ok(Normalized { envelope: out, form: form.name, approval_id })
}

/// Where the arguments of `body` (a decide body, parsed) are, by its form; `None` when it
/// holds no single form.
pub fn args_at(body: &serde_json::Value) -> Option<ArgsAt> {
    let obj = body.as_object()?;
    let mut found = FORMS.iter().filter(|f| f.keys.iter().any(|k| obj.contains_key(*k)));
    let form = found.next()?;
    found.next().is_none().then(|| (form.locate)(body))
}

/// Calls `f` on the arguments of `body` (a decide body, parsed) as a JSON value — for
/// OpenAI's string arguments, parsed, and written back as a string after `f` — and says
/// whether there were arguments to give it. The log masks redacted values this way.
pub fn with_args_mut(body: &mut serde_json::Value, f: impl FnOnce(&mut serde_json::Value)) -> bool {
    let Some(at) = args_at(body) else { return false };
    let mut slot = &mut *body;
    for key in at.keys {
        match slot.get_mut(*key) {
            Some(next) => slot = next,
            None => return false,
        }
    }
    if !at.encoded {
        f(slot);
        return true;
    }
    let Some(mut args) = slot.as_str().and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok()) else { return false };
    f(&mut args);
    *slot = serde_json::Value::String(args.to_string());
    true
}

/// A form's tool name: a string, not empty, `__` for `.`.
fn tool_name(fields: &Fields<'_>, key: &str, path: &str) -> Result<String, AdapterError> {
    let path = join(path, key);
    let raw = fields.get(key).ok_or_else(|| error(&path, "missing: the tool's name"))?;
    let name: String = serde_json::from_str(raw.get()).map_err(|_| error(&path, "expected a string, the tool's name"))?;
    if name.is_empty() {
        return Err(error(&path, "the tool's name is empty"));
    }
    Ok(name.replace("__", "."))
}

/// The path of `key` inside `path` (`path` empty: the body itself).
fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// Arguments given as an object (absent: `{}`, as the forms' SDKs allow).
fn object_args<'a>(fields: &Fields<'a>, key: &str, path: &str) -> Result<Option<ArgsText<'a>>, AdapterError> {
    let Some(raw) = fields.get(key) else { return Ok(Some(ArgsText::Owned("{}".into()))) };
    if !raw.get().starts_with('{') {
        return Err(error(join(path, key), format!("expected an object, found `{}`", preview(raw.get()))));
    }
    Ok(Some(ArgsText::Raw(raw)))
}

/// Arguments given as a JSON text in a string (OpenAI): it must parse, and be an object.
fn encoded_args<'a>(fields: &Fields<'a>, key: &str, path: &str) -> Result<Option<ArgsText<'a>>, AdapterError> {
    let path = format!("{path}.{key}");
    let raw = fields.get(key).ok_or_else(|| error(&path, "missing: the arguments, as a JSON string"))?;
    let text: String = serde_json::from_str(raw.get()).map_err(|_| error(&path, "expected a string holding the arguments as JSON"))?;
    let parsed: Box<RawValue> = serde_json::from_str(&text).map_err(|e| error(&path, format!("the arguments are not valid JSON: {e}")))?;
    if !parsed.get().starts_with('{') {
        return Err(error(&path, format!("the arguments must be a JSON object, found `{}`", preview(parsed.get()))));
    }
    Ok(Some(ArgsText::Owned(parsed.get().to_owned())))
}

/// `type`, when present, must be `want`.
fn check_type(fields: &Fields<'_>, path: &str, want: &str) -> Result<(), AdapterError> {
    match fields.get("type") {
        None => Ok(()),
        Some(raw) if serde_json::from_str::<String>(raw.get()).is_ok_and(|t| t == want) => Ok(()),
        Some(raw) => Err(error(format!("{path}.type"), format!("expected \"{want}\", found `{}`", preview(raw.get())))),
    }
}

fn read_envelope<'a>(top: &Fields<'a>) -> Result<Call<'a>, AdapterError> {
    let raw = top.get("tool").ok_or_else(|| error("tool", "missing: the tool's name (`args` was given)"))?;
    let tool: String = serde_json::from_str(raw.get()).map_err(|_| error("tool", "expected a string, the tool's name"))?;
    Ok(Call { tool, args: top.get("args").map(ArgsText::Raw) })
}

/// A JSON-RPC `tools/call` request: `params.name`, `params.arguments`.
fn read_mcp<'a>(msg: &Fields<'a>) -> Result<Call<'a>, AdapterError> {
    if let Some(raw) = msg.get("method") {
        if serde_json::from_str::<String>(raw.get()).ok().as_deref() != Some("tools/call") {
            return Err(error("mcp.method", format!("expected \"tools/call\", found `{}`", preview(raw.get()))));
        }
    }
    let raw = msg.get("params").ok_or_else(|| error("mcp.params", "missing: a `tools/call` has `params` with `name` and `arguments`"))?;
    let params: Fields<'a> = object(raw, "mcp.params")?;
    Ok(Call { tool: tool_name(&params, "name", "mcp.params")?, args: object_args(&params, "arguments", "mcp.params")? })
}

/// A Chat Completions tool call `{id, type: "function", function: {name, arguments}}` or a
/// Responses item `{type: "function_call", name, arguments, call_id}`; `arguments` a string.
fn read_openai<'a>(call: &Fields<'a>) -> Result<Call<'a>, AdapterError> {
    if let Some(raw) = call.get("function") {
        check_type(call, "openai", "function")?;
        let function: Fields<'a> = object(raw, "openai.function")?;
        return Ok(Call { tool: tool_name(&function, "name", "openai.function")?, args: encoded_args(&function, "arguments", "openai.function")? });
    }
    match call.get("type") {
        Some(raw) if serde_json::from_str::<String>(raw.get()).is_ok_and(|t| t == "function_call") => {}
        _ => {
            return Err(error(
                "openai",
                "expected a Chat Completions tool call (`function: {name, arguments}`) or a Responses item of `type` \"function_call\"",
            ))
        }
    }
    Ok(Call { tool: tool_name(call, "name", "openai")?, args: encoded_args(call, "arguments", "openai")? })
}

fn locate_openai(body: &serde_json::Value) -> ArgsAt {
    if body.get("openai").and_then(|o| o.get("function")).is_some() {
        ArgsAt { keys: &["openai", "function", "arguments"], encoded: true }
    } else {
        ArgsAt { keys: &["openai", "arguments"], encoded: true }
    }
}

/// A Messages API `tool_use` block `{type: "tool_use", id, name, input}`.
fn read_anthropic<'a>(block: &Fields<'a>) -> Result<Call<'a>, AdapterError> {
    check_type(block, "anthropic", "tool_use")?;
    Ok(Call { tool: tool_name(block, "name", "anthropic")?, args: object_args(block, "input", "anthropic")? })
}

/// The start of a JSON text, for messages.
fn preview(text: &str) -> String {
    let mut end = text.len().min(40);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    if end < text.len() {
        format!("{}…", &text[..end])
    } else {
        text.to_owned()
    }
}

/// `raw` as an object's fields (`path` names it in errors).
fn object<'a>(raw: &'a RawValue, path: &str) -> Result<Fields<'a>, AdapterError> {
    let fields: Fields<'a> = serde_json::from_str(raw.get()).map_err(|_| error(path, format!("expected an object, found `{}`", preview(raw.get()))))?;
    fields.checked(path)
}

/// An object's fields in order, values as written. A key given twice is refused
/// (`checked`): the service and the engine must not read different values for one key.
pub struct Fields<'a>(Vec<(std::borrow::Cow<'a, str>, &'a RawValue)>);

impl<'a> Fields<'a> {
    fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }

    fn checked(self, path: &str) -> Result<Self, AdapterError> {
        for (i, (k, _)) in self.0.iter().enumerate() {
            if self.0[..i].iter().any(|(seen, _)| seen == k) {
                let at = if path.is_empty() { k.to_string() } else { format!("{path}.{k}") };
                return Err(error(at, "given twice: each key may appear once"));
            }
        }
        Ok(self)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Fields<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Fields<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields<'de>, A::Error> {
                let mut out = Vec::new();
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    out.push((key, map.next_value::<&'de RawValue>()?));
                }
                Ok(Fields(out))
            }
        }
        d.deserialize_map(V)
    }
}

pub mod claude_code;
pub mod refusal;
pub mod schema;

#[cfg(test)]
mod tests;

/// A normalized envelope's `args` (`{}` when it has none, as the engine reads it): what a
/// caller forwards when no rule modified the arguments.
pub fn envelope_args(envelope: &[u8]) -> serde_json::Value {
    #[derive(Deserialize)]
    struct Args {
        #[serde(default)]
        args: Option<serde_json::Value>,
    }
    serde_json::from_slice::<Args>(envelope).ok().and_then(|a| a.args).filter(|a| !a.is_null()).unwrap_or_else(|| serde_json::json!({}))
}
