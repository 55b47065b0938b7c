//! Decisions. In: which rules fired (or errored) for a request, from a backend. Out: the
//! `Decision` of PRODUCT.md §1, combined exactly as LANGUAGE.md §4, serializable to JSON,
//! and its text rendering (`explain`).

mod combine;
mod explain;
mod json;
mod verdict;
mod write;

pub use combine::{combine, decides, fails_closed, input_failure, modifies, on_error_outcome, outcome_of, RuleOutcome};
pub use explain::explain;
pub use json::value_to_json;
pub(crate) use verdict::Fired;
pub use verdict::Verdict;
pub(crate) use write::{DecisionTemplate, Reasoned};

use crate::input::InputError;
use crate::span::{SourceMap, Span};
use indexmap::IndexMap;
use serde::Serialize;

/// The outcome of a decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Allow,
    Deny,
    RequireApproval,
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

/// A decision, as PRODUCT.md §1 specifies its JSON.
#[derive(Clone, Debug, PartialEq, Serialize)]
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

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Warning {
    pub rule: String,
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
