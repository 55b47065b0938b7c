//! Claude Code's `PreToolUse` hook event (the JSON Claude Code writes on a hook's stdin). In:
//! the event's bytes `{session_id, transcript_path, cwd, permission_mode?, hook_event_name:
//! "PreToolUse", tool_name, tool_input, tool_use_id?}` and the envelope fields the caller
//! sets (`agent`, `user`, `workspace`, `environment`, … from its flags). Out: the envelope the
//! engine decides (`Normalized`, form `"claude_code"`), or an `AdapterError` naming the key
//! that is wrong — the hook then answers `deny`.
//!
//! `tool` is `tool_name` with `__` read as `.`, as in every form: built-in tools stay as they
//! are (`Bash`, `Write`, `WebFetch`), an MCP tool `mcp__bank__transfer` is
//! `mcp.bank.transfer` (the `mcp.` prefix keeps a server's tools apart from Claude Code's
//! own). `args` is `tool_input` as written (absent: `{}`). `context` gets the event's
//! `session_id`, `cwd`, `permission_mode` and `tool_use_id` (strings), added to the caller's
//! `context` if it gave one; a policy reads the ones its `request` block declares. `time` is
//! not set: the engine decides at the evaluation time.

use super::{error, object_args, preview, tool_name, AdapterError, Fields, Normalized};
use serde_json::{Map, Value};

/// `Normalized::form` of a hook event.
pub const FORM: &str = "claude_code";

/// The event's keys copied into `context`.
const CONTEXT_KEYS: [&str; 4] = ["session_id", "cwd", "permission_mode", "tool_use_id"];

/// Turns a `PreToolUse` event into the envelope, with the caller's `envelope` fields beside
/// the call. Errors are input errors: the hook answers deny.
pub fn pre_tool_use(event: &[u8], envelope: &Map<String, Value>) -> Result<Normalized, AdapterError> {
    let fields: Fields<'_> = serde_json::from_slice(event).map_err(|e| error("", format!("not a JSON object: {e}")))?;
    let fields = fields.checked("")?;
    match fields.get("hook_event_name") {
        None => return Err(error("hook_event_name", "missing: expected \"PreToolUse\"")),
        Some(raw) if serde_json::from_str::<String>(raw.get()).is_ok_and(|n| n == "PreToolUse") => {}
        Some(raw) => {
            return Err(error(
                "hook_event_name",
                format!("expected \"PreToolUse\", found `{}`: install `gavel hook claude-code` under `PreToolUse` only", preview(raw.get())),
            ))
        }
    }
    let tool = tool_name(&fields, "tool_name", "")?;
    // INVARIANT: `object_args` gives `{}` for absent arguments, never `None`.
    let args = object_args(&fields, "tool_input", "")?.expect("arguments are always given");

    let mut context = match envelope.get("context") {
        None => Map::new(),
        Some(Value::Object(given)) => given.clone(),
        Some(_) => return Err(error("context", "the envelope's `context` must be an object")),
    };
    for key in CONTEXT_KEYS {
        if let Some(raw) = fields.get(key) {
            let text: String = serde_json::from_str(raw.get()).map_err(|_| error(key, format!("expected a string, found `{}`", preview(raw.get()))))?;
            context.insert(key.to_owned(), Value::String(text));
        }
    }

    let mut out = Vec::with_capacity(event.len() + 128);
    out.extend_from_slice(b"{\"tool\":");
    // INVARIANT: strings and JSON values always serialize.
    serde_json::to_writer(&mut out, &tool).expect("a string serializes");
    out.extend_from_slice(b",\"args\":");
    out.extend_from_slice(args.get().as_bytes());
    for (key, value) in envelope {
        if matches!(key.as_str(), "tool" | "args" | "context") {
            continue;
        }
        out.push(b',');
        serde_json::to_writer(&mut out, key).expect("a string serializes");
        out.push(b':');
        serde_json::to_writer(&mut out, value).expect("a JSON value serializes");
    }
    out.extend_from_slice(b",\"context\":");
    serde_json::to_writer(&mut out, &context).expect("a JSON value serializes");
    out.push(b'}');
    Ok(Normalized { envelope: out, form: FORM, approval_id: None })
}

#[cfg(test)]
mod tests;
