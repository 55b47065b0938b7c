//! The arguments a window records (LANGUAGE.md §8: "the arguments the call runs with, after
//! `redact`/`set`"). In: the decoded frame of a decided request, its bytes, and the fired
//! rules that modify its arguments (an allowed or approved call's `redact`s and `set`s, in
//! source order). Out: a copy of the frame whose `args` slots hold the modified arguments,
//! for the step after the decision to record; the frame the rules read is left as sent.
//!
//! The modifications are those the decision's `args` shows (`decision::combine`), applied
//! to the typed value of the whole argument object rather than to its JSON: a `set` writes
//! its computed value, a parent that is absent is left absent (as `set` on the JSON does
//! nothing there); a `redact` makes a string, or each string of a list, `"[REDACTED]"`; a
//! `redact ... matching` replaces the matched parts. An enum argument redacted reads
//! `"[REDACTED]"` too: the value the action runs with, even though no request could send it.

use crate::decision::{RuleOutcome, REDACTED};
use crate::driver::Compiled;
use crate::input::Frame;
use crate::ir::{ArgPath, Effect};
use crate::types::{FieldType, RecordType, Type};
use crate::value::Value;
use std::sync::Arc;

/// `frame` with its argument slots read from the arguments as `modifiers` leave them.
/// `Err` when the arguments cannot be read again (they were read once to decide, so this is
/// an internal fault: the decision becomes a deny rather than an under-count).
pub(crate) fn modified_frame(c: &Compiled, bytes: &[u8], frame: &Frame, modifiers: &[&RuleOutcome]) -> Result<Frame, String> {
    let Some((_, params)) = frame.tool.and_then(|t| c.program.schema.tools.get_index(t)) else {
        return Ok(frame.clone());
    };
    let mut args = sent_args(params, bytes, frame)?;
    for o in modifiers {
        let Some(rule) = c.program.rules.get(o.rule as usize) else { continue };
        match &rule.effect {
            Effect::Set(path, _) => {
                if let Some(v) = &o.set_value {
                    set(&mut args, params, path, v.clone());
                }
            }
            Effect::Redact(path, None) => at(&mut args, params, path, redact),
            Effect::Redact(path, Some(_)) => {
                let parts = parts_of(o.set_value.as_ref());
                at(&mut args, params, path, |v| redact_parts(v, &parts));
            }
            Effect::Deny | Effect::Allow | Effect::Warn | Effect::RequireApproval(_) => {}
        }
    }
    let mut recorded = frame.clone();
    for (slot, path) in recorded.slots.iter_mut().zip(&c.program.slots) {
        if let Some(("args", below)) = path.split_first().map(|(first, rest)| (first.as_str(), rest)) {
            *slot = read(&args, params, below);
        }
    }
    Ok(recorded)
}

/// The whole argument object as sent, typed as a record of the tool's parameters (the
/// request decoder's trees read it, so it is what the slots were read from).
fn sent_args(params: &[FieldType], bytes: &[u8], frame: &Frame) -> Result<Value, String> {
    let ty = Type::Record(Arc::new(RecordType { name: None, fields: params.to_vec() }));
    let Some(raw) = frame.args_span.clone().and_then(|span| bytes.get(span)) else {
        // No `args`: every parameter absent (as a `set` on `{}` starts from).
        return Ok(Value::Record(params.iter().map(|_| Value::Absent).collect()));
    };
    let text = std::str::from_utf8(raw).map_err(|e| e.to_string())?;
    crate::input::decode_data(&ty, text).map_err(|_| "the arguments could not be read again to record them".to_string())
}

/// The value at `path` (field names) below the record `v` of fields `fields`; absent when a
/// field on the way is absent or not a record.
fn read(v: &Value, fields: &[FieldType], path: &[String]) -> Value {
    let Some((first, rest)) = path.split_first() else { return v.clone() };
    let (Value::Record(items), Some(i)) = (v, fields.iter().position(|f| f.name == *first)) else { return Value::Absent };
    match (items.get(i), rest.is_empty()) {
        (Some(item), true) => item.clone(),
        (Some(item), false) => match fields[i].ty.unwrap_optional() {
            Type::Record(r) => read(item, &r.fields, rest),
            _ => Value::Absent,
        },
        (None, _) => Value::Absent,
    }
}

/// Applies `f` to the value at `path`, when every parent on the way is a present record.
fn at(args: &mut Value, params: &[FieldType], path: &ArgPath, mut f: impl FnMut(&mut Value)) {
    if let Some(changed) = update(args, params, &path.segments, &mut f) {
        *args = changed;
    }
}

/// The record `v` (of fields `fields`) with `f` applied at `path`; `None` when a parent on
/// the way is absent (nothing changes).
fn update(v: &Value, fields: &[FieldType], path: &[String], f: &mut dyn FnMut(&mut Value)) -> Option<Value> {
    let (first, rest) = path.split_first()?;
    let Value::Record(items) = v else { return None };
    let i = fields.iter().position(|x| x.name == *first)?;
    let mut items = items.to_vec();
    let item = items.get_mut(i)?;
    if rest.is_empty() {
        f(item);
    } else {
        let Type::Record(r) = fields[i].ty.unwrap_optional() else { return None };
        *item = update(item, &r.fields, rest, f)?;
    }
    Some(Value::Record(items.into()))
}

/// `set`: the field takes the value, when its parent is there (absent or not before).
fn set(args: &mut Value, params: &[FieldType], path: &ArgPath, value: Value) {
    at(args, params, path, |leaf| *leaf = value.clone());
}

/// `redact`: a string, or each string of a list, becomes `[REDACTED]`; absent stays absent.
fn redact(v: &mut Value) {
    match v {
        Value::Str(_) => *v = Value::str(REDACTED),
        Value::List(items) => *v = Value::List(items.iter().map(|i| if matches!(i, Value::Str(_)) { Value::str(REDACTED) } else { i.clone() }).collect()),
        _ => {}
    }
}

/// The substrings a `redact ... matching` replaces (its computed `list<string>`).
fn parts_of(value: Option<&Value>) -> Vec<&str> {
    match value {
        Some(Value::List(items)) => items.iter().filter_map(|v| if let Value::Str(s) = v { Some(s.as_str()) } else { None }).collect(),
        _ => Vec::new(),
    }
}

fn redact_parts(v: &mut Value, parts: &[&str]) {
    if let Value::Str(s) = v {
        if let Some(masked) = crate::decision::replace_parts(s, parts.iter().copied()) {
            *v = Value::str(&masked);
        }
    }
}
