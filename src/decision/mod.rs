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
pub(crate) use combine::{combine, fails_closed, input_failure, marks_undeclared, modifies, on_error_outcome, RuleOutcome};
pub use explain::explain;
pub(crate) use json::value_to_json;
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
    /// `allow`: the action may run (possibly with modified arguments).
    Allow,
    /// `deny`: the action must not run.
    Deny,
    /// `require_approval`: the action waits for a person with one of the listed roles.
    RequireApproval,
}

/// What `Engine::write_decision` tells its caller about the decision it appended, so a
/// batch can count outcomes and mark error decisions without parsing its own output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WrittenDecision {
    /// The decision's outcome.
    pub outcome: Outcome,
    /// The decision lists errors (`errors` is not empty): an input error, a rule error or a
    /// fault inside the engine.
    pub has_errors: bool,
}

impl Outcome {
    /// The outcome as the JSON writes it: `allow`, `deny` or `require_approval`.
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
    /// The outcome.
    pub decision: Outcome,
    /// The tool the request called, as sent.
    pub tool: String,
    /// The policy that decided: name, version and digest.
    pub policy: PolicyRef,
    /// The ids of the rules that made the outcome (empty when the default did).
    pub decided_by: Vec<String>,
    /// Every rule that fired (shadow rules with `enforced: false`), in source order.
    pub rules: Vec<FiredRule>,
    /// With `require_approval`: each approval rule that fired, its approvers and reason (empty otherwise).
    pub approvals: Vec<Approval>,
    /// The `redact` and `set` rules applied to the arguments, in source order.
    pub modifications: Vec<Modification>,
    /// The complete modified arguments when there is any modification, else `null`.
    pub args: Option<serde_json::Value>,
    /// Fired `warn` rules, and the engine's own marks (an undeclared tool under `default allow`).
    pub warnings: Vec<Warning>,
    /// Input, rule and internal errors; any of them means the request did not go through the rules as written.
    pub errors: Vec<DecisionError>,
    /// What fired `redact` rules covered (not serialized): the decision is already masked
    /// with it; whatever is shown beside it (the request in a decision log) goes through
    /// `mask.json`/`mask.text` too.
    pub mask: Mask,
}

impl Decision {
    /// The outcome is `allow`.
    pub fn is_allowed(&self) -> bool {
        self.decision == Outcome::Allow
    }

    /// The outcome is `deny`.
    pub fn is_denied(&self) -> bool {
        self.decision == Outcome::Deny
    }

    /// The outcome is `require_approval`.
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
    /// `decision`
    Decision,
    /// `tool`
    Tool,
    /// `policy`
    Policy,
    /// `decided_by`
    DecidedBy,
    /// `rules`
    Rules,
    /// `approvals`
    Approvals,
    /// `modifications`
    Modifications,
    /// `args`
    Args,
    /// `warnings`
    Warnings,
    /// `errors`
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
    /// As [`Decision::decision`].
    pub decision: Outcome,
    /// As [`Decision::tool`].
    pub tool: &'a str,
    /// As [`Decision::policy`].
    pub policy: &'a PolicyRef,
    /// As [`Decision::decided_by`].
    pub decided_by: &'a [String],
    /// As [`Decision::rules`].
    pub rules: &'a [FiredRule],
    /// As [`Decision::approvals`].
    pub approvals: &'a [Approval],
    /// As [`Decision::modifications`].
    pub modifications: &'a [Modification],
    /// As [`Decision::args`].
    pub args: Option<&'a serde_json::Value>,
    /// As [`Decision::warnings`].
    pub warnings: &'a [Warning],
    /// As [`Decision::errors`].
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

/// Which policy made a decision: its `policy` field.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PolicyRef {
    /// The `policy NAME` line.
    pub name: String,
    /// The `version "…"` line.
    pub version: String,
    /// `sha256:…` over the policy's sources and data (fixtures and tests left out).
    pub digest: String,
}

/// A rule that fired for a request.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FiredRule {
    /// The rule's id: its name, or one made from its position.
    pub id: String,
    /// Its effect as JSON names it: `deny`, `allow`, `warn`, `require_approval`, `redact`, `set`.
    pub effect: String,
    /// `false` for a shadow rule (`@mode("shadow")`): it fired but did not count.
    pub enforced: bool,
    /// The rendered `because` text, redacted values masked.
    pub reason: Option<String>,
    /// The rule's `@name("value")` annotations.
    pub annotations: IndexMap<String, String>,
    /// Where the rule is written.
    pub span: SpanJson,
    /// With `--explain`: the sub-expressions of the condition with their values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<Vec<TraceJson>>,
}

/// One sub-expression of a fired rule's condition and its value (`--explain`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TraceJson {
    /// The sub-expression's source text.
    pub expr: String,
    /// Its value for this request, redacted values masked.
    pub value: serde_json::Value,
    /// Where it is written.
    pub span: SpanJson,
    /// Worth a label in the text rendering: a value read or computed, not a literal, a
    /// comparison or a connective (whose values follow from the labelled ones).
    #[serde(skip)]
    pub label: bool,
}

/// A span in a decision: byte offsets and 1-based lines and columns.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SpanJson {
    /// The file's name, as the policy set names it.
    pub file: String,
    /// Byte offset of the start.
    pub start: u32,
    /// Byte offset of the end (exclusive).
    pub end: u32,
    /// 1-based line of the start.
    pub line: usize,
    /// 1-based column of the start, in characters.
    pub column: usize,
    /// 1-based line of the end.
    pub end_line: usize,
    /// 1-based column of the end, in characters.
    pub end_column: usize,
}

impl SpanJson {
    /// The JSON form of `span` in `sources`.
    pub fn new(span: Span, sources: &SourceMap) -> SpanJson {
        let f = sources.get(span.file);
        let (a, b) = (f.line_col(span.start as usize), f.line_col(span.end as usize));
        SpanJson { file: f.name.clone(), start: span.start, end: span.end, line: a.line, column: a.column, end_line: b.line, end_column: b.column }
    }
}

/// An approval a decision asks for: which rule, who may give it, and why.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Approval {
    /// The approval rule's id.
    pub rule: String,
    /// The roles that may approve (`require approval from "role", ...`); empty means any reviewer.
    pub approvers: Vec<String>,
    /// The rule's rendered `because` text.
    pub reason: Option<String>,
}

/// A change a `redact` or `set` rule made to the arguments.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Modification {
    /// The rule's id.
    pub rule: String,
    /// The argument path changed, e.g. `memo` or `recipient.email`.
    pub path: String,
    /// `redact` or `set`.
    pub op: &'static str,
}

/// A fired enforced `warn` rule, or (`rule: None`) a mark the engine itself puts on the
/// decision: a call, under `default allow`, of a tool no declaration covers.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Warning {
    /// The `warn` rule's id; `None` for a mark of the engine's own.
    pub rule: Option<String>,
    /// Why: the rule's `because` text, or the engine's note.
    pub reason: Option<String>,
}

/// An input error (the request does not fit the declarations), a rule error, or an
/// internal error (a fault inside the engine, caught at its boundary; the decision is then
/// `deny` whatever `on error` says).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DecisionError {
    /// The request does not fit the declarations (a missing argument, a wrong type, bad JSON).
    Input {
        /// Where in the request, e.g. `$.args.amount`.
        path: String,
        /// What the declarations expect there.
        expected: String,
        /// What the request holds there.
        found: String,
        /// The whole message.
        message: String,
    },
    /// A rule could not be evaluated (a missing optional read without `??`, a store that
    /// cannot be read); it fails closed.
    Rule {
        /// The rule's id.
        rule: String,
        /// The expression that failed.
        span: SpanJson,
        /// What went wrong.
        message: String,
    },
    /// A fault inside the engine, caught at its boundary: the decision is `deny`.
    Internal {
        /// What went wrong.
        message: String,
    },
}

impl From<&InputError> for DecisionError {
    fn from(e: &InputError) -> DecisionError {
        DecisionError::Input { path: e.path.clone(), expected: e.expected.clone(), found: e.found.clone(), message: e.message.clone() }
    }
}
