//! Running the rules of a request's tool group. In: the compiled policy, the backend and a
//! decoded frame. Out: for the full decision, a `RuleOutcome` for each rule that fired or
//! failed (with its reason, `set` value and, when asked, trace); for the fast path, the
//! rules that held or failed noted into `Fired`; for the batch template, the reason of one
//! fired rule.

use super::backend::{self, with_scratch, Conditions, Evaluator};
use super::trace;
use super::Core;
use crate::decision::{self, fails_closed, Fired, RuleOutcome};
use crate::driver::Compiled;
use crate::input::Frame;
use crate::ir;
use crate::vm::{self, Meter, Scratch};

/// Every rule of the request's group that fired or failed, in source order. The conditions
/// of the request's rules share one work budget.
pub(crate) fn outcomes(core: &Core, frame: &Frame, explain: bool) -> Vec<RuleOutcome> {
    let c = core.compiled();
    let meter = meter(c);
    with_scratch(|scratch| {
        core.evaluator.with_conditions(c, frame, &meter, |conditions| {
            rules_for(c, frame)
                .filter_map(|(pos, i)| match core.windows().fault_of(i, frame) {
                    Some(fault) => Some(window_failed(c, i, fault)),
                    None => evaluate(c, pos, i, frame, scratch, explain, &conditions),
                })
                .collect()
        })
    })
}

/// A rule that reads a window the store could not answer: a rule error (it fires if it
/// fails closed), at its condition, with the store's reason.
fn window_failed(c: &Compiled, index: u32, fault: &crate::input::WindowFault) -> RuleOutcome {
    let rule = &c.program.rules[index as usize];
    let span = rule.condition.as_ref().map_or(rule.span, |e| e.span);
    RuleOutcome {
        rule: index,
        fired: fails_closed(rule),
        error: Some((span, fault.message.clone())),
        reason: None,
        set_value: None,
        trace: None,
        reason_holes: Vec::new(),
    }
}

/// The fast path: notes into `fired` the rules of the request's group that held or failed.
#[inline]
pub(crate) fn note_fired(c: &Compiled, evaluator: &Evaluator, frame: &Frame, fired: &mut Fired) {
    evaluator.note_fired(c, frame, || rules_for(c, frame), fired);
}

/// A full work budget: one for the conditions of a decision, one for each fired rule's
/// reason and `set` value, one for each trace.
pub(crate) fn meter(c: &Compiled) -> Meter {
    Meter::new(backend::max_work(c))
}

/// Runs one rule (at position `pos` of the request's group); `None` when it neither fired
/// nor failed.
fn evaluate(c: &Compiled, pos: usize, index: u32, frame: &Frame, scratch: &mut Scratch, explain: bool, conditions: &Conditions<'_>) -> Option<RuleOutcome> {
    let rule = &c.program.rules[index as usize];
    let code = c.module.rule(index as usize);
    let mut outcome = match conditions.held(c, pos, index, frame, scratch) {
        Ok(false) => return None,
        Ok(true) => RuleOutcome { rule: index, fired: true, error: None, reason: None, set_value: None, trace: None, reason_holes: Vec::new() },
        Err(e) => RuleOutcome {
            rule: index,
            fired: fails_closed(rule),
            error: Some((e.span, e.message)),
            reason: None,
            set_value: None,
            trace: None,
            reason_holes: Vec::new(),
        },
    };
    // What a fired rule computes besides its condition has a budget of its own, so the
    // conditions' budget is spent the same way on both engines.
    let effects = meter(c);
    if let (Some(chunk), true) = (code.set_value, outcome.fired) {
        match c.module.run(chunk, frame, scratch, &effects, None) {
            Ok(v) => outcome.set_value = Some(v),
            Err(e) => {
                outcome.fired = false;
                outcome.error = Some((e.span, e.message));
            }
        }
    }
    if outcome.fired {
        (outcome.reason, outcome.reason_holes) = reason_with_holes(c, index, frame, scratch, &effects);
        if explain {
            outcome.trace = code.condition.map(|chunk| trace::trace(c, chunk, rule, frame, scratch, &meter(c)));
        }
    }
    Some(outcome)
}

/// The `because` text of rule `index` with its holes filled (timestamps as RFC 3339).
pub(crate) fn reason(c: &Compiled, index: u32, frame: &Frame, scratch: &mut Scratch, meter: &Meter) -> Option<String> {
    reason_with_holes(c, index, frame, scratch, meter).0
}

/// `reason`, and the byte range each hole wrote, in order (so what a hole shows of a
/// redacted argument can be masked).
fn reason_with_holes(c: &Compiled, index: u32, frame: &Frame, scratch: &mut Scratch, meter: &Meter) -> (Option<String>, Vec<(usize, usize)>) {
    let mut holes = Vec::new();
    let Some(rule) = c.program.rules.get(index as usize) else { return (None, holes) };
    let code = c.module.rule(index as usize);
    if code.reason.is_empty() {
        return (None, holes);
    }
    let mut text = String::new();
    for (part, ir_part) in code.reason.iter().zip(&rule.reason) {
        let start = text.len();
        match (part, ir_part) {
            (vm::ReasonCode::Expr(chunk), ir::ReasonPart::Expr(e)) => {
                match c.module.run(*chunk, frame, scratch, meter, None) {
                    Ok(v) if matches!(e.ty.unwrap_optional(), crate::types::Type::Timestamp) => {
                        text.push_str(decision::value_to_json(&v, Some(&e.ty)).as_str().unwrap_or_default())
                    }
                    Ok(v) => text.push_str(&v.to_string()),
                    Err(e) => text.push_str(&format!("<error: {}>", e.message)),
                }
                holes.push((start, text.len()));
            }
            (vm::ReasonCode::Text(t), _) => text.push_str(t),
            (vm::ReasonCode::Expr(_), ir::ReasonPart::Text(_)) => {}
        }
    }
    (Some(text), holes)
}

/// The rules that apply to the request's tool, in source order, each with its position in
/// the tool's group (where the JIT puts its result). The undeclared-tool group's rules
/// apply by their tool patterns.
fn rules_for<'f>(c: &'f Compiled, frame: &'f Frame) -> RulesFor<'f> {
    let groups = &c.program.groups;
    match frame.tool.and_then(|t| groups.declared.get_index(t)) {
        Some((_, ids)) => RulesFor::Declared(ids.iter().enumerate()),
        None => RulesFor::Undeclared { ids: groups.undeclared.iter().enumerate(), rules: &c.program.rules, tool: &frame.tool_name },
    }
}

/// The rule ids of a request's tool group with their positions; see `rules_for`.
enum RulesFor<'f> {
    Declared(std::iter::Enumerate<std::slice::Iter<'f, u32>>),
    /// The undeclared-tool group, filtered by the rules' tool patterns.
    Undeclared {
        ids: std::iter::Enumerate<std::slice::Iter<'f, u32>>,
        rules: &'f [ir::Rule],
        tool: &'f str,
    },
}

impl Iterator for RulesFor<'_> {
    type Item = (usize, u32);

    fn next(&mut self) -> Option<(usize, u32)> {
        match self {
            RulesFor::Declared(ids) => ids.next().map(|(pos, &i)| (pos, i)),
            RulesFor::Undeclared { ids, rules, tool } => ids.map(|(pos, &i)| (pos, i)).find(|&(_, i)| match rules.get(i as usize).map(|r| &r.scope) {
                Some(ir::ToolScope::All) => true,
                Some(ir::ToolScope::Tools(ps)) => ps.iter().any(|p| ir::pattern_matches(p, tool)),
                None => false,
            }),
        }
    }
}
