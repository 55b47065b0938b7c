//! Verdicts: the fast path's result (PRODUCT.md §3, "the fast path allocates nothing for a
//! request that is simply allowed or denied"). In: the rules of the request's tool that
//! fired, from a backend. Out: the outcome and the rules that made it, borrowed from the
//! compiled program: no reasons, traces, spans or modified arguments, so nothing is
//! allocated. `Engine::decide_with` gives the full `Decision` of the same request.

use super::combine::{fails_closed, modifies, Combined};
use super::Outcome;
use crate::ir::Program;
use smallvec::SmallVec;

/// Fired rules kept inline; a request firing more spills to the heap.
const INLINE_RULES: usize = 8;

/// The outcome of a request and the rules that made it.
#[derive(Clone, Debug)]
pub struct Verdict<'p> {
    /// The outcome and which fired rules made it, combined as in the full decision.
    combined: Combined<'p>,
    program: &'p Program,
    /// Rule indices of every rule that fired (shadow rules too), in source order.
    fired: SmallVec<[u32; INLINE_RULES]>,
    errors: bool,
}

/// The rules of a request that fired, noted in source order by a backend; `Verdict::new`
/// combines them.
#[derive(Default)]
pub(crate) struct Fired {
    rules: SmallVec<[u32; INLINE_RULES]>,
    errors: bool,
}

impl Fired {
    /// Notes what rule `rule` (an index into `program.rules`) did: held, did not, or failed
    /// (then it fired if it fails closed, as in the full decision).
    #[inline]
    pub(crate) fn note<E>(&mut self, program: &Program, rule: u32, held: Result<bool, E>) {
        match held {
            Ok(true) => self.rules.push(rule),
            Ok(false) => {}
            Err(_) => {
                self.errors = true;
                if program.rules.get(rule as usize).is_some_and(fails_closed) {
                    self.rules.push(rule);
                }
            }
        }
    }
}

impl<'p> Verdict<'p> {
    /// Combines the fired rules exactly as the full decision does, taking them out of
    /// `fired`.
    #[inline]
    pub(crate) fn new(program: &'p Program, fired: &mut Fired) -> Verdict<'p> {
        // Built in one expression, so the result is written once, where the caller wants it;
        // when nothing fired (most requests), from constants: copying a just-written
        // `SmallVec` costs a store-forwarding stall, about a third of a 1-rule verdict.
        if fired.rules.is_empty() && !fired.errors {
            return Verdict { combined: Combined::of(program, std::iter::empty()), program, fired: SmallVec::new(), errors: false };
        }
        Verdict { combined: Combined::of(program, fired.rules.iter().copied()), program, fired: std::mem::take(&mut fired.rules), errors: fired.errors }
    }

    /// The verdict when no rule could run: the given outcome (the policy's `on error`
    /// choice, or deny for an internal fault), with errors.
    pub(crate) fn failed(program: &'p Program, outcome: Outcome) -> Verdict<'p> {
        Verdict { combined: Combined::without_rules(program, outcome), program, fired: SmallVec::new(), errors: true }
    }

    /// The outcome.
    pub fn outcome(&self) -> Outcome {
        self.combined.outcome()
    }

    /// The outcome is `allow`.
    pub fn is_allowed(&self) -> bool {
        self.outcome() == Outcome::Allow
    }

    /// The outcome is `deny`.
    pub fn is_denied(&self) -> bool {
        self.outcome() == Outcome::Deny
    }

    /// The outcome is `require_approval`.
    pub fn needs_approval(&self) -> bool {
        self.outcome() == Outcome::RequireApproval
    }

    /// The ids of the rules that made the outcome (`decided_by` of the full decision).
    pub fn decided_by(&self) -> impl Iterator<Item = &'p str> + '_ {
        let (combined, program) = (self.combined, self.program);
        self.fired.iter().filter(move |&&i| combined.decided_by(i)).filter_map(move |&i| program.rules.get(i as usize)).map(|r| r.id.as_str())
    }

    /// The ids of every rule that fired, shadow rules included, in source order.
    pub fn fired(&self) -> impl Iterator<Item = &'p str> + '_ {
        self.rules().map(|r| r.id.as_str())
    }

    /// A rule failed (it is in `fired` when it fails closed) or the request was invalid:
    /// the full decision lists the errors.
    pub fn has_errors(&self) -> bool {
        self.errors
    }

    /// The call is allowed or approved with a `redact` or `set` rule fired: the full
    /// decision carries the modified arguments to run the call with.
    pub fn modifies_args(&self) -> bool {
        self.outcome() != Outcome::Deny && self.rules().any(modifies)
    }

    /// The indices (into the program's rules) of every rule that fired, in source order.
    pub(crate) fn fired_indices(&self) -> &[u32] {
        &self.fired
    }

    /// The combined outcome, for writing the decision from the template.
    pub(crate) fn combined(&self) -> Combined<'p> {
        self.combined
    }

    fn rules(&self) -> impl Iterator<Item = &'p crate::ir::Rule> + '_ {
        let program = self.program;
        self.fired.iter().filter_map(move |&i| program.rules.get(i as usize))
    }
}
