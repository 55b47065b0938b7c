//! Decisions. In: which rules fired (or errored) for a request, from a backend. Out: the
//! `Decision` of PRODUCT.md §1, combined exactly as LANGUAGE.md §4 (`Combined`, shared with
//! the verdict), serializable to JSON through one borrowed view (`DecisionView`, whose
//! `Field::ALL` is the one place the key order is written, also for the batch template),
//! and its text rendering (`explain`).

mod combine;
mod explain;
mod json;
mod mask;
mod verdict;
mod write;

pub(crate) use combine::REDACTED;
pub use combine::{combine, decides, fails_closed, input_failure, marks_undeclared, modifies, on_error_outcome, Combined, RuleOutcome};
pub use explain::explain;
pub use json::value_to_json;
pub(crate) use mask::replace_parts;
pub use mask::Mask;
pub(crate) use verdict::Fired;
pub use verdict::Verdict;
pub(crate) use write::{DecisionTemplate, Reasoned};

use crate::input::InputError;
use crate::span::{SourceMap, Span};
use indexmap::IndexMap;
use serde::ser::SerializeStruct;
use serde::Serialize;

/// The outcome of a decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Allow,
    Deny,
    RequireApproval,
}

/// What `Engine::write_decision` tells its caller about the decision it appended, so a
/// batch can count outcomes and mark error decisions without parsing its own output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WrittenDecision {
    pub outcome: Outcome,
    /// The decision lists errors (`errors` is not empty): an input error, a rule error or a
    /// fault inside the engine.
    pub has_errors: bool,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allow => "allow",
            Outcome::Deny => "deny",
            Outcome::RequireApproval => "require_approval",
        }
    }
}

/// A decision, as PRODUCT.md §1 specifies its JSON (serialized through `DecisionView`, in
/// the order of `Field::ALL`).
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub decision: Outcome,
    pub tool: String,
    pub policy: PolicyRef,
    pub decided_by: Vec<String>,
    /// Every rule that fired (shadow rules with `enforced: false`), in source order.
    pub rules: Vec<FiredRule>,
    pub approvals: Vec<Approval>,
    pub modifications: Vec<Modification>,
    /// The complete modified arguments when there is any modification, else `null`.
    pub args: Option<serde_json::Value>,
    pub warnings: Vec<Warning>,
    pub errors: Vec<DecisionError>,
    /// What fired `redact` rules covered (not serialized): the decision is already masked
    /// with it; whatever is shown beside it (the request in a decision log) goes through
    /// `mask.json`/`mask.text` too.
    pub mask: Mask,
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        self.decision == Outcome::Allow
    }

    pub fn is_denied(&self) -> bool {
        self.decision == Outcome::Deny
    }

    pub fn needs_approval(&self) -> bool {
        self.decision == Outcome::RequireApproval
    }

    /// The JSON of PRODUCT.md §1.
    pub fn to_json(&self) -> serde_json::Value {
        // INVARIANT: every field serializes (strings, numbers, finite JSON values).
        serde_json::to_value(self).expect("a decision always serializes")
    }

    /// The decision, borrowed: what its JSON is written from.
    pub fn view(&self) -> DecisionView<'_> {
        DecisionView {
            decision: self.decision,
            tool: &self.tool,
            policy: &self.policy,
            decided_by: &self.decided_by,
            rules: &self.rules,
            approvals: &self.approvals,
            modifications: &self.modifications,
            args: self.args.as_ref(),
            warnings: &self.warnings,
            errors: &self.errors,
        }
    }
}

impl Serialize for Decision {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.view().serialize(s)
    }
}

/// The top-level fields of a decision's JSON (PRODUCT.md §1). `ALL` is their order: the one
/// place it is written. `DecisionView` serializes in this order, and the batch template
/// (`write.rs`) is cut from the same fields in the same order, so the two cannot drift.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Decision,
    Tool,
    Policy,
    DecidedBy,
    Rules,
    Approvals,
    Modifications,
    Args,
    Warnings,
    Errors,
}

impl Field {
    /// Every field, in the order of the JSON.
    pub const ALL: [Field; 10] = [
        Field::Decision,
        Field::Tool,
        Field::Policy,
        Field::DecidedBy,
        Field::Rules,
        Field::Approvals,
        Field::Modifications,
        Field::Args,
        Field::Warnings,
        Field::Errors,
    ];

    /// The field's key in the JSON.
    pub fn key(self) -> &'static str {
        match self {
            Field::Decision => "decision",
            Field::Tool => "tool",
            Field::Policy => "policy",
            Field::DecidedBy => "decided_by",
            Field::Rules => "rules",
            Field::Approvals => "approvals",
            Field::Modifications => "modifications",
            Field::Args => "args",
            Field::Warnings => "warnings",
            Field::Errors => "errors",
        }
    }
}

/// A decision, borrowed: the one shape its JSON is serialized from. `Decision` serializes
/// through it; the batch template serializes the fields that do not depend on the request
/// from a view of an empty decision (`DecisionTemplate::new`).
#[derive(Clone, Copy, Debug)]
pub struct DecisionView<'a> {
    pub decision: Outcome,
    pub tool: &'a str,
    pub policy: &'a PolicyRef,
    pub decided_by: &'a [String],
    pub rules: &'a [FiredRule],
    pub approvals: &'a [Approval],
    pub modifications: &'a [Modification],
    pub args: Option<&'a serde_json::Value>,
    pub warnings: &'a [Warning],
    pub errors: &'a [DecisionError],
}

impl DecisionView<'_> {
    /// Serializes field `field` (key and value) into `st`: the one place a field meets its value.
    pub fn serialize_field<S: SerializeStruct>(&self, field: Field, st: &mut S) -> Result<(), S::Error> {
        let key = field.key();
        match field {
            Field::Decision => st.serialize_field(key, &self.decision),
            Field::Tool => st.serialize_field(key, self.tool),
            Field::Policy => st.serialize_field(key, self.policy),
            Field::DecidedBy => st.serialize_field(key, self.decided_by),
            Field::Rules => st.serialize_field(key, self.rules),
            Field::Approvals => st.serialize_field(key, self.approvals),
            Field::Modifications => st.serialize_field(key, self.modifications),
            Field::Args => st.serialize_field(key, &self.args),
            Field::Warnings => st.serialize_field(key, self.warnings),
            Field::Errors => st.serialize_field(key, self.errors),
        }
    }
}

impl Serialize for DecisionView<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Decision", Field::ALL.len())?;
        for field in Field::ALL {
            self.serialize_field(field, &mut st)?;
        }
        st.end()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PolicyRef {
    pub name: String,
    pub version: String,
    pub digest: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FiredRule {
    pub id: String,
    pub effect: String,
    pub enforced: bool,
    pub reason: Option<String>,
    pub annotations: IndexMap<String, String>,
    pub span: SpanJson,
    /// With `--explain`: the sub-expressions of the condition with their values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<Vec<TraceJson>>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TraceJson {
    pub expr: String,
    pub value: serde_json::Value,
    pub span: SpanJson,
    /// Worth a label in the text rendering: a value read or computed, not a literal, a
    /// comparison or a connective (whose values follow from the labelled ones).
    #[serde(skip)]
    pub label: bool,
}

/// A span in a decision: byte offsets and 1-based lines and columns.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SpanJson {
    pub file: String,
    pub start: u32,
    pub end: u32,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
}

impl SpanJson {
    pub fn new(span: Span, sources: &SourceMap) -> SpanJson {
        let f = sources.get(span.file);
        let (a, b) = (f.line_col(span.start as usize), f.line_col(span.end as usize));
        SpanJson { file: f.name.clone(), start: span.start, end: span.end, line: a.line, column: a.column, end_line: b.line, end_column: b.column }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Approval {
    pub rule: String,
    pub approvers: Vec<String>,
    pub reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Modification {
    pub rule: String,
    pub path: String,
    pub op: &'static str,
}

/// A fired enforced `warn` rule, or (`rule: None`) a mark the engine itself puts on the
/// decision: a call, under `default allow`, of a tool no declaration covers.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Warning {
    pub rule: Option<String>,
    pub reason: Option<String>,
}

/// An input error (the request does not fit the declarations), a rule error, or an
/// internal error (a fault inside the engine, caught at its boundary; the decision is then
/// `deny` whatever `on error` says).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DecisionError {
    Input { path: String, expected: String, found: String, message: String },
    Rule { rule: String, span: SpanJson, message: String },
    Internal { message: String },
}

impl From<&InputError> for DecisionError {
    fn from(e: &InputError) -> DecisionError {
        DecisionError::Input { path: e.path.clone(), expected: e.expected.clone(), found: e.found.clone(), message: e.message.clone() }
    }
}
