//! Request decoding. In: the request's JSON bytes and the policy's declarations
//! (`RequestSchema`) with the input paths its rules read (slots). Out: a `Frame` of typed
//! slots, or every input error found (path, expected type, what was found). Decoding is
//! schema-directed: declared fields are validated and the ones rules read are stored;
//! undeclared fields are skipped, except in the `args` of a closed tool, where each is an
//! input error; no JSON tree is built. Plain valid requests are read by a
//! direct scan (`fast`); the others by serde_json driving the same decode trees.

mod data;
mod decode;
mod decoder;
mod errors;
mod fast;
#[cfg(test)]
mod number_tests;
#[cfg(test)]
mod tests;
mod tree;

pub use data::{decode_data, DataError};
pub use decoder::Decoder;
pub use errors::empty_request;

use crate::types::FieldType;
use crate::value::Value;
use indexmap::IndexMap;
use std::collections::HashSet;

/// A path from the request's root, e.g. `["args", "recipient", "country"]`, `["agent",
/// "trust"]`, `["tool"]`, `["time"]`.
pub type InputPath = Vec<String>;

/// What the policy declares about requests.
#[derive(Debug, Clone, Default)]
pub struct RequestSchema {
    /// The fields of the `request { ... }` block (agent, user, workspace, ...).
    pub envelope: Vec<FieldType>,
    /// Every declared tool, by name, with its parameters (the fields of `args`).
    pub tools: IndexMap<String, Vec<FieldType>>,
    /// The tools declared open (`tool t(a: number, ...)`). Every other declared tool is
    /// closed: an undeclared key in its `args`, or in a record inside them, is an input error.
    pub open_tools: HashSet<String>,
}

/// A decoded request: one value per slot (`Value::Absent` where nothing was given).
#[derive(Debug, Clone, Default)]
pub struct Frame {
    /// The value of each slot (the envelope fields, the arguments, the windows read), by slot index.
    pub slots: Vec<Value>,
    /// The request's `tool` string.
    pub tool_name: String,
    /// Index of the tool in `RequestSchema::tools`, `None` for an undeclared tool.
    pub tool: Option<usize>,
    /// The request's `time` (seconds since the epoch), or the `now` given to `decode`.
    pub time: f64,
    /// Where the request's `args` value is in its bytes (`None`: it has none), so a decision
    /// that modifies the arguments reads them alone, not the whole request again.
    pub args_span: Option<std::ops::Range<usize>>,
    /// The windows (indexes in `Program::windows`) the store could not answer for this
    /// request, with why: the rules that read them fail with that reason.
    pub window_faults: Vec<WindowFault>,
}

/// A window the store could not answer for a request.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowFault {
    pub window: u32,
    pub message: String,
}

/// One problem with a request, as reported in a decision's `errors`.
#[derive(Debug, Clone, PartialEq)]
pub struct InputError {
    /// Written with dots and `[i]`: `args.fields[1]`; empty for the request itself.
    pub path: String,
    /// The declared type, e.g. `string`, `"low" | "medium" | "high"`.
    pub expected: String,
    /// What the request has there: `number 7`, `string "25000"`, `nothing`, ...
    pub found: String,
    pub message: String,
}

/// Why a request could not be decoded: the tool name when it could be read, and the errors.
#[derive(Debug, Clone, PartialEq)]
pub struct InputFailure {
    pub tool_name: Option<String>,
    pub errors: Vec<InputError>,
}
