//! The output paths. In: from the entry (`Core::decide`), a decoded request, or why it did
//! not decode, or the message of an internal fault. Out: the full `Decision` (`Full`), the
//! fast path's `Verdict` (`Fast`, allocating nothing for a simple request), the full decision
//! as the caller settles it before it is recorded (`Settled`), or a decision's
//! JSON appended to a buffer (`Json`: written from the policy's template for a simple
//! decision, else the full decision serialized: the same bytes either way).

use super::backend::with_scratch;
use super::{rules, Core, DecideContext, Request};
use crate::decision::{self, Decision, DecisionTemplate, Fired, Outcome, Reasoned, Verdict};
use crate::input::{Frame, InputFailure};

/// What one output path makes of a request; `Core::decide` calls exactly one of `invalid`,
/// `decided` or (after a fault in either) `fault`.
pub(crate) trait Output<'e> {
    type Out;

    /// The request could not be decoded: the policy's `on error` outcome, with the errors.
    fn invalid(&mut self, core: &'e Core, failure: InputFailure) -> Self::Out;

    /// The decoded request: run its rules and combine.
    fn decided(&mut self, core: &'e Core, request: Request<'_>, ctx: &DecideContext) -> Self::Out;

    /// An internal fault stopped the decision: always a deny, whatever `on error` says, as
    /// nothing about the request is known to be valid.
    fn fault(self, core: &'e Core, message: &str) -> Self::Out;

    /// The outcome of what was made, for the step after the decision.
    fn outcome(out: &Self::Out) -> Outcome;

    /// The decision was made but the window store could not record it: a deny instead,
    /// as the windows would under-count from now on (`Core::after_decision`).
    fn unrecorded(&mut self, core: &'e Core, made: Self::Out, message: &str) -> Self::Out;
}

/// The internal error of a decision its window store could not record.
fn unrecorded_message(message: &str) -> String {
    format!("the window store could not record the decision ({message})")
}

/// The full decision (`Engine::decide_with`).
pub(crate) struct Full;

impl<'e> Output<'e> for Full {
    type Out = Decision;

    fn invalid(&mut self, core: &'e Core, failure: InputFailure) -> Decision {
        let c = core.compiled();
        decision::input_failure(&c.program, &c.policy_ref, &failure)
    }

    fn decided(&mut self, core: &'e Core, request: Request<'_>, ctx: &DecideContext) -> Decision {
        decision(core, request, ctx.explain)
    }

    fn fault(self, core: &'e Core, message: &str) -> Decision {
        internal_fault(core, message)
    }

    fn outcome(d: &Decision) -> Outcome {
        d.decision
    }

    fn unrecorded(&mut self, core: &'e Core, _: Decision, message: &str) -> Decision {
        internal_fault(core, &unrecorded_message(message))
    }
}

/// The full decision, which `.0` may change once it is made and before the step after the
/// decision records it (`Engine::decide_settled`: an approval consumed turns
/// `require_approval` into `allow`, and the windows must count the `allow`).
pub(crate) struct Settled<F>(pub(crate) F);

impl<'e, F: FnMut(&mut Decision)> Output<'e> for Settled<F> {
    type Out = Decision;

    fn invalid(&mut self, core: &'e Core, failure: InputFailure) -> Decision {
        Full.invalid(core, failure)
    }

    fn decided(&mut self, core: &'e Core, request: Request<'_>, ctx: &DecideContext) -> Decision {
        let mut d = Full.decided(core, request, ctx);
        (self.0)(&mut d);
        d
    }

    fn fault(self, core: &'e Core, message: &str) -> Decision {
        Full.fault(core, message)
    }

    fn outcome(d: &Decision) -> Outcome {
        d.decision
    }

    fn unrecorded(&mut self, core: &'e Core, made: Decision, message: &str) -> Decision {
        Full.unrecorded(core, made, message)
    }
}

/// The fast path's verdict (`Engine::verdict`).
pub(crate) struct Fast;

impl<'e> Output<'e> for Fast {
    type Out = Verdict<'e>;

    fn invalid(&mut self, core: &'e Core, _: InputFailure) -> Verdict<'e> {
        let program = &core.compiled().program;
        Verdict::failed(program, decision::on_error_outcome(program))
    }

    #[inline]
    fn decided(&mut self, core: &'e Core, request: Request<'_>, _: &DecideContext) -> Verdict<'e> {
        verdict(core, request.frame)
    }

    fn fault(self, core: &'e Core, _: &str) -> Verdict<'e> {
        Verdict::failed(&core.compiled().program, Outcome::Deny)
    }

    fn outcome(v: &Verdict<'e>) -> Outcome {
        v.outcome()
    }

    fn unrecorded(&mut self, core: &'e Core, _: Verdict<'e>, _: &str) -> Verdict<'e> {
        Verdict::failed(&core.compiled().program, Outcome::Deny)
    }
}

/// A decision's JSON appended to `out` (`Engine::write_decision`).
pub(crate) struct Json<'o> {
    out: &'o mut Vec<u8>,
    /// Where this decision starts in `out`: a fault replaces what was written from there.
    start: usize,
}

impl<'o> Json<'o> {
    pub(crate) fn new(out: &'o mut Vec<u8>) -> Json<'o> {
        let start = out.len();
        Json { out, start }
    }
}

/// What `Json` wrote.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Written {
    /// Written from the template (else the full decision, serialized); read by the tests
    /// that each kind of request takes the path meant for it.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) from_template: bool,
    outcome: Outcome,
    /// The decision lists errors (input, rule or internal).
    errors: bool,
}

impl Written {
    /// What a caller of `Engine::write_decision` learns about the decision it wrote.
    pub(crate) fn summary(self) -> crate::decision::WrittenDecision {
        crate::decision::WrittenDecision { outcome: self.outcome, has_errors: self.errors }
    }
}

impl<'e> Output<'e> for Json<'_> {
    type Out = Written;

    fn invalid(&mut self, core: &'e Core, failure: InputFailure) -> Written {
        full_written(self.out, Full.invalid(core, failure))
    }

    fn decided(&mut self, core: &'e Core, request: Request<'_>, ctx: &DecideContext) -> Written {
        match (&core.compiled().template, ctx.explain) {
            (Some(template), false) => write_simple(core, template, request, self.out),
            _ => full_written(self.out, decision(core, request, ctx.explain)),
        }
    }

    fn fault(self, core: &'e Core, message: &str) -> Written {
        self.out.truncate(self.start);
        full_written(self.out, internal_fault(core, message))
    }

    fn outcome(w: &Written) -> Outcome {
        w.outcome
    }

    fn unrecorded(&mut self, core: &'e Core, _: Written, message: &str) -> Written {
        self.out.truncate(self.start);
        full_written(self.out, internal_fault(core, &unrecorded_message(message)))
    }
}

/// The full decision of a decoded request: every rule of its group that fired or failed,
/// combined.
pub(crate) fn decision(core: &Core, request: Request<'_>, explain: bool) -> Decision {
    let c = core.compiled();
    let outcomes = rules::outcomes(core, request.frame, explain);
    decision::combine(&c.program, &c.sources, &c.rule_spans, &c.policy_ref, &request.frame.tool_name, &outcomes, request.args())
}

/// The verdict of a decoded request: the rules that held or failed, combined.
#[inline]
pub(crate) fn verdict<'e>(core: &'e Core, frame: &Frame) -> Verdict<'e> {
    let c = core.compiled();
    let mut fired = Fired::default();
    if frame.window_faults.is_empty() {
        rules::note_fired(c, &core.evaluator, frame, &mut fired);
    } else {
        // A window the store could not answer: the rules reading it fail (rare, so the full
        // path's outcomes are reused rather than a second way of failing them).
        for o in rules::outcomes(core, frame, false) {
            fired.note(&c.program, o.rule, if o.error.is_some() { Err(()) } else { Ok(o.fired) });
        }
    }
    Verdict::new(&c.program, &mut fired)
}

/// Writes the decision of a decoded request from the template when it is simple (no rule
/// error, no modified arguments, no `set` value to compute); otherwise the full decision.
fn write_simple(core: &Core, template: &DecisionTemplate, request: Request<'_>, out: &mut Vec<u8>) -> Written {
    let c = core.compiled();
    let frame = request.frame;
    let verdict = verdict(core, frame);
    let fired = verdict.fired_indices();
    // A `set` value is computed for every `set` rule that fired, even a shadow one or
    // under a deny, and may fail (an error).
    // A call of an undeclared tool under `default allow` carries the engine's warning, which
    // the template has no piece for.
    if verdict.has_errors()
        || verdict.modifies_args()
        || fired.iter().any(|&i| c.module.rule(i as usize).set_value.is_some())
        || decision::marks_undeclared(&c.program, &frame.tool_name)
        // A fired `redact` (even a shadow one, or under a deny) masks what the decision
        // shows, which the template cannot.
        || fired.iter().any(|&i| c.program.rules.get(i as usize).is_some_and(|r| matches!(r.effect, crate::ir::Effect::Redact(..))))
    {
        return full_written(out, decision(core, request, false));
    }
    let fired: smallvec::SmallVec<[Reasoned; 8]> = with_scratch(|scratch| {
        fired
            .iter()
            .filter(|&&i| c.program.rules.get(i as usize).is_some())
            .map(|&i| Reasoned { rule: i, reason: rules::reason(c, i, frame, scratch, &rules::meter(c)) })
            .collect()
    });
    let start = out.len();
    if template.write(&c.program, verdict.combined(), &frame.tool_name, &fired, out) {
        Written { from_template: true, outcome: verdict.outcome(), errors: false }
    } else {
        out.truncate(start);
        full_written(out, decision(core, request, false))
    }
}

/// Appends serde's JSON of a full decision.
fn full_written(out: &mut Vec<u8>, d: Decision) -> Written {
    // A decision always serializes (see `Decision::to_json`), and a `Vec` write cannot fail.
    let _ = serde_json::to_writer(out, &d);
    Written { from_template: false, outcome: d.decision, errors: !d.errors.is_empty() }
}

/// The decision for a request whose evaluation failed inside the engine: always `deny`;
/// the fault is an `internal` error (not an input error: the request may be fine).
pub(crate) fn internal_fault(core: &Core, message: &str) -> Decision {
    let c = core.compiled();
    let mut d = decision::input_failure(&c.program, &c.policy_ref, &InputFailure { tool_name: None, errors: Vec::new() });
    d.decision = Outcome::Deny;
    d.errors = vec![decision::DecisionError::Internal { message: format!("internal error: {message}; the request is denied") }];
    d
}
