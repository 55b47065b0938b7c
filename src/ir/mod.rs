//! The typed intermediate representation: one `Program` per policy set. In: built by
//! `check` from the AST (names resolved, types known). Out: consumed by the passes in
//! `passes` and then by both backends (`vm` and `jit`). Every node keeps the span
//! of the source text it came from, so traces and run-time errors point at the source.

pub mod passes;

use crate::input::{InputPath, RequestSchema};
use crate::span::Span;
use crate::syntax::ast::DefaultEffect;
use crate::types::Type;
use crate::value::Value;
use indexmap::IndexMap;

/// The operators and builtins are defined with their semantics, in `ops`.
pub use crate::ops::{ArithOp, Builtin, CmpOp};

/// The whole policy set, ready for a backend.
#[derive(Debug, Clone)]
pub struct Program {
    /// The policy's name, version, defaults.
    pub info: PolicyInfo,
    /// The declared request: envelope fields and tools.
    pub schema: RequestSchema,
    /// In source order (files in the order given, items in file order).
    pub rules: Vec<Rule>,
    /// In source order (LANGUAGE.md §8).
    pub windows: Vec<Window>,
    /// Input slots: `slots[i]` is the request path that slot `i` holds (see `passes::assign_slots`).
    pub slots: Vec<InputPath>,
    /// Regexes from literal patterns, compiled once; `ExprKind::Regex` indexes this.
    pub regexes: Vec<regex::Regex>,
    /// Constant lists of strings hashed for `in` (reference data); `ExprKind::InSet`
    /// indexes this. Shared, not copied, by both backends.
    pub sets: Vec<std::sync::Arc<crate::ops::set::StringSet>>,
    /// The rules grouped by tool, for the backends' per-tool code.
    pub groups: ToolGroups,
}

/// `window NAME = AGG(value) [on TOOLS] over DURATION by KEYS [when CONDITION]`. Its value
/// for a request is read into the frame (the input path `["@window", NAME]`) before the
/// rules run; after the decision the request is recorded in it when `scope` and
/// `condition` match.
#[derive(Debug, Clone)]
pub struct Window {
    pub name: String,
    /// A stable hash of the definition: stores keep events under it.
    pub id: u64,
    pub aggregate: Aggregate,
    pub duration_secs: u64,
    pub scope: ToolScope,
    /// Plain values of the request, or `Input(["args"])` (type `Any`): the whole argument
    /// object, hashed in canonical form.
    pub keys: Vec<Expr>,
    /// What `sum`, `max`, `distinct` and `values` aggregate (`None` for `count`).
    pub value: Option<Expr>,
    /// May read `decision` (the input path `["@decision"]`).
    pub condition: Option<Expr>,
    /// Lambda locals the window's expressions use.
    pub locals: u32,
    pub span: Span,
}

/// What a window computes: one definition for the language and the stores.
pub use crate::store::Aggregate;

#[derive(Debug, Clone)]
pub struct PolicyInfo {
    pub name: String,
    pub version: String,
    pub default: DefaultEffect,
    pub on_error: DefaultEffect,
}

#[derive(Debug, Clone)]
pub struct Rule {
    /// The rule's name, or `FILE:LINE` for an unnamed rule.
    pub id: String,
    pub effect: Effect,
    /// `None`: the rule always fires (`deny` alone).
    pub condition: Option<Expr>,
    pub reason: Vec<ReasonPart>,
    pub annotations: IndexMap<String, String>,
    /// False for `@mode("shadow")` rules: reported, never deciding.
    pub enforced: bool,
    pub scope: ToolScope,
    /// The rule reads `args`, so it cannot apply to a tool without a declaration.
    pub reads_args: bool,
    /// Number of local variables (`let` bindings of inlined calls, lambda parameters).
    pub locals: u32,
    /// The values of the block `let`s this rule uses, each checked once; `BlockLet(i)`
    /// reads `lets[i]`. A let's value reads only lets before it (`BlockLet(j)`, `j < i`).
    pub lets: Vec<Expr>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum Effect {
    Deny,
    Allow,
    Warn,
    RequireApproval(Vec<String>),
    /// Replace the string at this path of `args` with `"[REDACTED]"`; with `matching`, only
    /// the substrings the expression (a `list<string>`) gives.
    Redact(ArgPath, Option<Expr>),
    /// Replace the value at this path of `args` with the expression's value.
    Set(ArgPath, Expr),
}

impl Effect {
    pub fn name(&self) -> &'static str {
        match self {
            Effect::Deny => "deny",
            Effect::Allow => "allow",
            Effect::Warn => "warn",
            Effect::RequireApproval(_) => "require_approval",
            Effect::Redact(..) => "redact",
            Effect::Set(..) => "set",
        }
    }

    /// What a fired rule of this effect does (LANGUAGE.md §4). Every stage asks this, or
    /// the accessors below, instead of matching effects with a catch-all arm: each match on
    /// `Effect` is exhaustive, so a new effect does not compile until it is classified here.
    pub fn class(&self) -> EffectClass {
        match self {
            Effect::Deny => EffectClass::Deny,
            Effect::RequireApproval(_) => EffectClass::RequireApproval,
            Effect::Allow => EffectClass::Allow,
            Effect::Warn => EffectClass::Warn,
            Effect::Redact(..) | Effect::Set(..) => EffectClass::Modify,
        }
    }

    /// The roles a `require approval` rule names (none for other effects).
    pub fn approvers(&self) -> &[String] {
        match self {
            Effect::RequireApproval(roles) => roles,
            Effect::Deny | Effect::Allow | Effect::Warn | Effect::Redact(..) | Effect::Set(..) => &[],
        }
    }

    /// The path of `args` a `redact` or `set` changes.
    pub fn modified_path(&self) -> Option<&ArgPath> {
        match self {
            Effect::Redact(p, _) | Effect::Set(p, _) => Some(p),
            Effect::Deny | Effect::Allow | Effect::Warn | Effect::RequireApproval(_) => None,
        }
    }

    /// The value a fired rule of this effect computes: a `set`'s value, or the substrings
    /// (a `list<string>`) a `redact ... matching` replaces. Computed, like a `set` value, by
    /// the interpreter for every fired rule (`RuleOutcome::set_value`).
    pub fn set_value(&self) -> Option<&Expr> {
        match self {
            Effect::Set(_, e) | Effect::Redact(_, Some(e)) => Some(e),
            Effect::Deny | Effect::Allow | Effect::Warn | Effect::RequireApproval(_) | Effect::Redact(_, None) => None,
        }
    }

    /// `set_value`, to rewrite it (the IR passes fold it).
    pub fn set_value_mut(&mut self) -> Option<&mut Expr> {
        match self {
            Effect::Set(_, e) | Effect::Redact(_, Some(e)) => Some(e),
            Effect::Deny | Effect::Allow | Effect::Warn | Effect::RequireApproval(_) | Effect::Redact(_, None) => None,
        }
    }
}

/// The kinds of thing a fired rule does: decide (deny, require approval, allow), warn, or
/// modify the arguments (`redact`, `set`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EffectClass {
    Deny,
    RequireApproval,
    Allow,
    Warn,
    Modify,
}

/// A path inside `args`, e.g. `["recipient", "email"]`, with the declared type there.
#[derive(Debug, Clone)]
pub struct ArgPath {
    pub segments: Vec<String>,
    pub ty: Type,
    pub span: Span,
}

impl ArgPath {
    /// `args.recipient.email`
    pub fn display(&self) -> String {
        format!("args.{}", self.segments.join("."))
    }
}

#[derive(Debug, Clone)]
pub enum ReasonPart {
    Text(String),
    Expr(Expr),
}

/// The work units one iteration of a quantifier with this body costs (`Limits::max_work`,
/// `vm::Meter`): 1 plus the body's nodes, not counting those inside nested quantifiers'
/// bodies (their own iterations pay for them). Both backends charge exactly this.
pub fn iteration_cost(body: &Expr) -> u32 {
    let mut nodes: u32 = 0;
    let mut stack = vec![body];
    while let Some(e) = stack.pop() {
        nodes = nodes.saturating_add(1);
        match &e.kind {
            ExprKind::Quant { list, .. } => stack.push(list),
            _ => stack.extend(passes::children(e)),
        }
    }
    nodes.saturating_add(1)
}

/// Which tools a rule applies to.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolScope {
    /// No `on`: every request.
    All,
    /// `on a, b.*`: patterns as written (`*` matches everything, `x.*` a prefix).
    Tools(Vec<String>),
}

/// Whether a tool pattern (`payments.transfer`, `payments.*`, `*`) matches a tool name.
pub fn pattern_matches(pattern: &str, tool: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => tool.starts_with(prefix),
        None => pattern == tool,
    }
}

/// Rules grouped by tool at compile time (`passes::group_rules`): a request touches only
/// its tool's rules.
#[derive(Debug, Clone, Default)]
pub struct ToolGroups {
    /// For each declared tool, the ids of every rule that applies to it, in source order.
    pub declared: IndexMap<String, Vec<u32>>,
    /// For a tool without a declaration: the rules whose patterns may match it and that do
    /// not read `args` (checked against the name at decision time), in source order.
    pub undeclared: Vec<u32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub ty: Type,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Const(Value),
    /// A request path, before slot assignment.
    Input(InputPath),
    /// A request slot, after slot assignment.
    Slot(u32),
    Local(u32),
    /// The value of the rule's block `let` `i` (`Rule::lets[i]`): evaluated where it is
    /// first needed, at most once per evaluation of a rule expression, and reused after.
    /// A let that is never reached is never evaluated, so its errors do not count.
    BlockLet(u32),
    /// Binds `local` to `value` while evaluating `body`.
    Let {
        local: u32,
        value: Box<Expr>,
        body: Box<Expr>,
    },
    Not(Box<Expr>),
    Neg(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    /// `==` and `!=` compare any two values of the same type deeply; ordering compares
    /// numbers (durations, timestamps) and strings.
    Compare(CmpOp, Box<Expr>, Box<Expr>),
    /// Numbers (and durations/timestamps); `Add` on strings concatenates. Division by zero
    /// and non-finite results are rule errors.
    Arith(ArithOp, Box<Expr>, Box<Expr>),
    /// `a ?? b`: `a` unless it is absent.
    Coalesce(Box<Expr>, Box<Expr>),
    /// `has a`: `a` is not absent.
    Has(Box<Expr>),
    If(Box<Expr>, Box<Expr>, Box<Expr>),
    /// A record's field, by declaration index. Absent records give absent fields.
    Field(Box<Expr>, u32),
    /// `list[number]` or `map[string]`: absent when out of range or missing.
    Index(Box<Expr>, Box<Expr>),
    List(Vec<Expr>),
    Call(Builtin, Vec<Expr>),
    /// `subject.matches(re)` / `subject.find_all(re)`; `regex` indexes `Program::regexes`.
    Regex {
        op: RegexOp,
        subject: Box<Expr>,
        regex: u32,
    },
    /// `item in LIST` (or `LIST.contains(item)`) for a constant list of strings long enough
    /// to hash, as reference data gives (`passes::hash_sets`); `set` indexes
    /// `Program::sets`. Answers what the scan (`list_contains`) answers.
    InSet {
        set: u32,
        item: Box<Expr>,
    },
    /// `list.any(x => body)` and friends (`map`, `filter` give lists); `local` is `x`.
    Quant {
        kind: QuantKind,
        local: u32,
        list: Box<Expr>,
        body: Box<Expr>,
    },
    /// A call of a user function, before inlining (`passes::inline_calls`): `body` is the
    /// function's body with its parameters as locals `0..params`.
    FnCall {
        name: String,
        body: std::sync::Arc<Expr>,
        params: u32,
        locals: u32,
        args: Vec<Expr>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegexOp {
    Matches,
    FindAll,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuantKind {
    Any,
    All,
    Count,
    /// `list.map(x => e)`: the list of each element's `e`.
    Map,
    /// `list.filter(x => p)`: the elements for which `p` holds, in order.
    Filter,
}
