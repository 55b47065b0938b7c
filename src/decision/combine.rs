//! Combining (LANGUAGE.md §4): enforced denies win, then approvals, then allows or the
//! default; fired `redact`/`set` shape allowed and approval outcomes; shadow rules are
//! reported and never decide; errored denies and approvals count as fired (fail closed).

use super::mask::{Mask, Redacted};
use super::{json::value_to_json, Approval, Decision, DecisionError, FiredRule, Modification, Outcome, PolicyRef, SpanJson, TraceJson, Warning};
use crate::input::InputFailure;
use crate::ir::{ArgPath, Effect, EffectClass, Program, Rule};
use crate::span::{SourceMap, Span};
use crate::syntax::ast::DefaultEffect;
use crate::value::Value;

/// What a backend found for one rule that fired or errored.
#[derive(Clone, Debug)]
pub struct RuleOutcome {
    pub rule: u32,
    /// The condition held, or the rule errored and fails closed.
    pub fired: bool,
    pub error: Option<(Span, String)>,
    pub reason: Option<String>,
    /// The value of a fired `set`.
    pub set_value: Option<Value>,
    pub trace: Option<Vec<TraceJson>>,
    /// The byte ranges of `reason` that its holes wrote, in order (to mask them).
    pub reason_holes: Vec<(usize, usize)>,
}

/// The rules of a request that fired, combined (LANGUAGE.md §4): the outcome, and which of
/// the fired rules made it (`decided_by`). The one combining step: the full decision
/// (`combine`), the verdict and the batch template all take both from here.
#[derive(Clone, Copy, Debug)]
pub struct Combined<'p> {
    program: &'p Program,
    outcome: Outcome,
}

impl<'p> Combined<'p> {
    /// Combines the rules that fired (indices into `program.rules`).
    #[inline]
    pub fn of(program: &'p Program, fired: impl Iterator<Item = u32>) -> Combined<'p> {
        Combined { program, outcome: outcome_of(program, fired) }
    }

    /// A request whose rules did not run: `outcome` (the policy's `on error` choice, or deny
    /// for an internal fault), made by no rule.
    pub fn without_rules(program: &'p Program, outcome: Outcome) -> Combined<'p> {
        Combined { program, outcome }
    }

    pub fn outcome(self) -> Outcome {
        self.outcome
    }

    /// Whether fired rule `rule` made the outcome (is listed in `decided_by`).
    #[inline]
    pub fn decided_by(self, rule: u32) -> bool {
        self.program.rules.get(rule as usize).is_some_and(|r| decides(r, self.outcome))
    }
}

/// The outcome the fired rules give: an enforced deny wins, then an enforced approval, then
/// an enforced allow or the default. The one place this order is written.
#[inline]
fn outcome_of(program: &Program, fired: impl Iterator<Item = u32>) -> Outcome {
    // One pass, noting which enforced effects fired: the verdict's hot path calls this.
    let (mut deny, mut approval, mut allow) = (false, false, false);
    for made in fired.filter_map(|i| program.rules.get(i as usize).and_then(outcome_made_by)) {
        match made {
            Outcome::Deny => deny = true,
            Outcome::RequireApproval => approval = true,
            Outcome::Allow => allow = true,
        }
    }
    if deny {
        Outcome::Deny
    } else if approval {
        Outcome::RequireApproval
    } else if allow || program.info.default == DefaultEffect::Allow {
        Outcome::Allow
    } else {
        Outcome::Deny
    }
}

/// Whether `rule`, having fired, is one of the rules that made `outcome`.
pub fn decides(rule: &Rule, outcome: Outcome) -> bool {
    outcome_made_by(rule) == Some(outcome)
}

/// The outcome `rule` stands for when it fires: none for shadow rules and for effects that
/// do not decide (`warn`, `redact`, `set`).
#[inline]
fn outcome_made_by(rule: &Rule) -> Option<Outcome> {
    if !rule.enforced {
        return None;
    }
    match rule.effect.class() {
        EffectClass::Deny => Some(Outcome::Deny),
        EffectClass::RequireApproval => Some(Outcome::RequireApproval),
        EffectClass::Allow => Some(Outcome::Allow),
        EffectClass::Warn | EffectClass::Modify => None,
    }
}

/// Whether `rule` counts as fired when its condition fails: denies and approvals do (fail
/// closed), so an error never lets a call through that the rule would have stopped.
pub fn fails_closed(rule: &Rule) -> bool {
    match rule.effect.class() {
        EffectClass::Deny | EffectClass::RequireApproval => true,
        EffectClass::Allow | EffectClass::Warn | EffectClass::Modify => false,
    }
}

/// Whether `rule`, having fired, changes the arguments of an allowed or approved call.
pub fn modifies(rule: &Rule) -> bool {
    rule.enforced && rule.effect.class() == EffectClass::Modify
}

/// Whether `rule`, having fired, is listed in the decision's `warnings`.
pub fn warns(rule: &Rule) -> bool {
    rule.enforced && rule.effect.class() == EffectClass::Warn
}

/// The roles a `require_approval` rule names (none for other effects).
pub fn approvers_of(rule: &Rule) -> &[String] {
    rule.effect.approvers()
}

/// The full decision. `rule_spans` holds each rule's span, resolved once per policy; `args`
/// is the raw JSON of the request's `args` (`None`: it has none), read only when a `redact`
/// or `set` applies.
pub fn combine(
    program: &Program,
    sources: &SourceMap,
    rule_spans: &[SpanJson],
    policy: &PolicyRef,
    tool: &str,
    outcomes: &[RuleOutcome],
    args: Option<&[u8]>,
) -> Decision {
    let rule = |o: &RuleOutcome| &program.rules[o.rule as usize];
    let fired: Vec<&RuleOutcome> = outcomes.iter().filter(|o| o.fired).collect();
    // What fired `redact`s cover is masked in everything the decision shows.
    let redacted = Redacted::of(program, &fired, args);
    let combined = Combined::of(program, fired.iter().map(|o| o.rule));
    let decision = combined.outcome();
    let deciders: Vec<&RuleOutcome> = fired.iter().copied().filter(|o| combined.decided_by(o.rule)).collect();
    // Approvals are listed only when they are what the call waits for (PRODUCT.md §1): a
    // denied call needs no approver, and a host opening a review for any listed approval
    // must not send it one.
    let approvals: Vec<&RuleOutcome> =
        if decision == Outcome::RequireApproval { fired.iter().copied().filter(|o| decides(rule(o), Outcome::RequireApproval)).collect() } else { Vec::new() };
    let modifiers: Vec<&RuleOutcome> = if decision == Outcome::Deny { Vec::new() } else { fired.iter().copied().filter(|o| modifies(rule(o))).collect() };
    let (args, modifications) = if modifiers.is_empty() { (None, Vec::new()) } else { modified_args(program, args, &modifiers) };
    let args = (!modifications.is_empty()).then_some(args).flatten();
    let span_of = |o: &RuleOutcome| rule_spans.get(o.rule as usize).cloned().unwrap_or_else(|| SpanJson::new(rule(o).span, sources));
    let reason_of = |o: &RuleOutcome| match &o.reason {
        Some(r) if !redacted.is_empty() => Some(redacted.reason(program, rule(o), r, &o.reason_holes)),
        r => r.clone(),
    };
    let trace_of = |o: &RuleOutcome| {
        let mut trace = o.trace.clone()?;
        if !redacted.is_empty() {
            mask_trace(program, rule(o), &redacted, &mut trace);
        }
        Some(trace)
    };
    let message_of = |m: &String| redacted.mask.text(m).into_owned();
    Decision {
        decision,
        tool: tool.to_string(),
        policy: policy.clone(),
        decided_by: deciders.iter().map(|o| rule(o).id.clone()).collect(),
        rules: fired
            .iter()
            .map(|o| FiredRule {
                id: rule(o).id.clone(),
                effect: rule(o).effect.name().to_string(),
                enforced: rule(o).enforced,
                reason: reason_of(o),
                annotations: rule(o).annotations.clone(),
                span: span_of(o),
                trace: trace_of(o),
            })
            .collect(),
        approvals: approvals.iter().map(|o| Approval { rule: rule(o).id.clone(), approvers: approvers_of(rule(o)).to_vec(), reason: reason_of(o) }).collect(),
        modifications,
        args,
        warnings: fired
            .iter()
            .filter(|o| warns(rule(o)))
            .map(|o| Warning { rule: Some(rule(o).id.clone()), reason: reason_of(o) })
            .chain(undeclared_warning(program, tool))
            .collect(),
        errors: outcomes
            .iter()
            .filter_map(|o| {
                o.error.as_ref().map(|(span, message)| DecisionError::Rule {
                    rule: rule(o).id.clone(),
                    span: SpanJson::new(*span, sources),
                    message: message_of(message),
                })
            })
            .collect(),
        mask: redacted.mask.clone(),
    }
}

/// Masks a fired rule's trace: an entry whose expression reads an argument redacted whole
/// shows `[REDACTED]` (when its value holds text), and every string has the redacted texts
/// replaced.
fn mask_trace(program: &Program, rule: &Rule, redacted: &Redacted, trace: &mut [TraceJson]) {
    let mut tainted: Vec<Span> = Vec::new();
    if let Some(c) = &rule.condition {
        crate::ir::passes::visit(c, &mut |e| {
            if redacted.taints(program, rule, e) {
                tainted.push(e.span);
            }
        });
    }
    for t in trace.iter_mut() {
        let tainted = tainted.iter().any(|s| s.start == t.span.start && s.end == t.span.end);
        if tainted && !t.value.is_null() {
            t.value = serde_json::Value::String(REDACTED.to_string());
        } else {
            redacted.mask.json(&mut t.value);
        }
    }
}

/// Whether a decided call of `tool` is marked as covered by no declaration: under `default
/// allow`, such a call is allowed by the default like a declared one, and its decision
/// (and so the logs) must say that nothing described it. (Under `default deny` it is denied
/// unless a rule allowed it, which `decided_by` names.)
pub fn marks_undeclared(program: &Program, tool: &str) -> bool {
    program.info.default == DefaultEffect::Allow && !program.schema.tools.contains_key(tool)
}

/// The warning of `marks_undeclared`.
fn undeclared_warning(program: &Program, tool: &str) -> Option<Warning> {
    marks_undeclared(program, tool).then(|| Warning { rule: None, reason: Some(format!("no tool declaration covers `{tool}`")) })
}

/// The policy's `on error` choice, for a request that could not be decoded.
pub fn on_error_outcome(program: &Program) -> Outcome {
    match program.info.on_error {
        DefaultEffect::Allow => Outcome::Allow,
        DefaultEffect::Deny => Outcome::Deny,
    }
}

/// The decision for a request that could not be decoded: the policy's `on error` choice.
pub fn input_failure(program: &Program, policy: &PolicyRef, failure: &InputFailure) -> Decision {
    let errors = failure.errors.iter().map(DecisionError::from).collect();
    Decision::by_no_rule(on_error_outcome(program), failure.tool_name.clone().unwrap_or_default(), policy.clone(), errors)
}

impl Decision {
    /// A decision no rule made: `decision` for a request that could not be decided, with
    /// why (`errors`). Input failures here, and bodies that are not a call in `gavel serve`.
    pub fn by_no_rule(decision: Outcome, tool: String, policy: PolicyRef, errors: Vec<DecisionError>) -> Decision {
        Decision {
            decision,
            tool,
            policy,
            decided_by: Vec::new(),
            rules: Vec::new(),
            approvals: Vec::new(),
            modifications: Vec::new(),
            args: None,
            warnings: Vec::new(),
            errors,
            mask: Mask::default(),
        }
    }
}

/// The request's `args` (its raw JSON, as the decoder found it: `Frame::args_span`) with
/// every modification applied in source order, and the modifications that changed
/// something (redacting a missing argument changes nothing).
fn modified_args(program: &Program, args: Option<&[u8]>, modifiers: &[&RuleOutcome]) -> (Option<serde_json::Value>, Vec<Modification>) {
    let mut args = args.and_then(|raw| serde_json::from_slice::<serde_json::Value>(raw).ok()).unwrap_or_else(|| serde_json::json!({}));
    let mut applied = Vec::new();
    for o in modifiers {
        let rule = &program.rules[o.rule as usize];
        let (path, op, done) = match &rule.effect {
            Effect::Redact(p, None) => (p, "redact", lookup(&mut args, p).map(redact).is_some()),
            Effect::Redact(p, Some(_)) => (p, "redact", lookup(&mut args, p).is_some_and(|v| redact_parts(v, &parts_of(o.set_value.as_ref())))),
            Effect::Set(p, _) => (p, "set", o.set_value.as_ref().is_some_and(|v| set(&mut args, p, value_to_json(v, Some(&p.ty))))),
            Effect::Deny | Effect::Allow | Effect::Warn | Effect::RequireApproval(_) => continue,
        };
        if done {
            applied.push(Modification { rule: rule.id.clone(), path: path.display(), op });
        }
    }
    (Some(args), applied)
}

fn lookup<'v>(args: &'v mut serde_json::Value, path: &ArgPath) -> Option<&'v mut serde_json::Value> {
    path.segments.iter().try_fold(args, |v, seg| v.get_mut(seg.as_str()))
}

/// What a redacted string, or a redacted part of one, becomes.
pub const REDACTED: &str = "[REDACTED]";

fn redact(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::String(s) => *s = REDACTED.to_string(),
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

/// The substrings a `redact ... matching` replaces (its computed `list<string>`).
fn parts_of(value: Option<&Value>) -> Vec<&str> {
    match value {
        Some(Value::List(items)) => items.iter().filter_map(|v| if let Value::Str(s) = v { Some(s.as_ref()) } else { None }).collect(),
        _ => Vec::new(),
    }
}

/// Replaces every occurrence in the string `v` of each of `parts` with `"[REDACTED]"`;
/// whether anything was replaced.
fn redact_parts(v: &mut serde_json::Value, parts: &[&str]) -> bool {
    let serde_json::Value::String(s) = v else { return false };
    match super::mask::replace_parts(s, parts.iter().copied()) {
        Some(masked) => {
            *s = masked;
            true
        }
        None => false,
    }
}

/// Sets the value at `path`; false when a parent object is missing.
fn set(args: &mut serde_json::Value, path: &ArgPath, value: serde_json::Value) -> bool {
    let Some((last, parents)) = path.segments.split_last() else { return false };
    let parent = parents.iter().try_fold(args, |v, seg| v.get_mut(seg.as_str()));
    match parent {
        Some(serde_json::Value::Object(m)) => {
            m.insert(last.clone(), value);
            true
        }
        _ => false,
    }
}
