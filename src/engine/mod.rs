//! Evaluation. In: a compiled policy set (`driver::Compiled`), a backend, and per request its
//! JSON bytes with a `DecideContext` (the evaluation time, `explain`). Out: what the caller
//! asked for, by an `Output`: the full `Decision`, the fast path's `Verdict`, or the
//! decision's JSON appended to a buffer (`output.rs`).
//!
//! Every output path goes through one entry, `Core::decide`, in the same steps: the
//! request checked against the limits and decoded into this thread's frame; the step before
//! the rules (`before_rules`); the rules of the request's tool group run and combined
//! (`rules.rs`, on the backend of `backend.rs`, explanations in `trace.rs`); the step after
//! the decision (`after_decision`); the output returned. One guard around it all turns an
//! internal fault into a deny. The two steps are where windows read and record
//! (`windows.rs`, LANGUAGE.md §8; what is recorded after a `redact`/`set`: `recorded.rs`)
//! and where the decision log (issue 14) hooks in.

mod backend;
mod output;
mod recorded;
mod rules;
mod trace;
mod windows;

pub(crate) use backend::JitSlot;
pub(crate) use output::{Fast, Full, Json, Output, Settled};

use crate::decision::{Decision, Outcome, Verdict};
use crate::driver::Compiled;
use crate::input::{Frame, InputFailure};
use crate::policy::{Backend, EngineError};
use crate::store::WindowStore;
use backend::Evaluator;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// What one decision is made with besides the request: read once at the entry and carried
/// to every step.
#[derive(Clone, Copy)]
pub(crate) struct DecideContext<'s> {
    /// The evaluation time in seconds since the epoch (negative before it), for a request
    /// without `time`.
    pub(crate) now: f64,
    /// Attach a trace of each fired rule's sub-expressions (full decisions only).
    pub(crate) explain: bool,
    /// Where the policy's windows are read from and recorded into (`None`: the policy has
    /// no windows).
    pub(crate) store: Option<&'s dyn WindowStore>,
    /// Window values set rather than read (a test's `windows { ... }`): index in
    /// `Program::windows`, value.
    pub(crate) set_windows: &'s [(u32, crate::value::Value)],
}

impl<'s> DecideContext<'s> {
    /// `now`: the evaluation time (`None`: the clock), converted here, once per decision.
    pub(crate) fn new(explain: bool, now: Option<SystemTime>, store: Option<&'s dyn WindowStore>) -> DecideContext<'s> {
        DecideContext { now: seconds(now.unwrap_or_else(SystemTime::now)), explain, store, set_windows: &[] }
    }
}

/// Seconds since the epoch, negative before it (as a request's `time` before 1970 reads),
/// with the sub-second part.
pub(crate) fn seconds(t: SystemTime) -> f64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(after) => after.as_secs_f64(),
        Err(before) => -before.duration().as_secs_f64(),
    }
}

/// A decoded request: its bytes and the frame decoded from them.
#[derive(Clone, Copy)]
pub(crate) struct Request<'r> {
    pub(crate) bytes: &'r [u8],
    pub(crate) frame: &'r Frame,
}

impl<'r> Request<'r> {
    /// The raw JSON of the request's `args` (`None`: it has none).
    pub(crate) fn args(&self) -> Option<&'r [u8]> {
        self.frame.args_span.clone().and_then(|span| self.bytes.get(span))
    }
}

/// A policy set with its backend: what an `Engine` decides with. `Send + Sync`.
#[derive(Clone)]
pub(crate) struct Core {
    compiled: Arc<Compiled>,
    evaluator: Evaluator,
    /// Which windows each tool's rules read.
    windows: windows::Plan,
}

impl Core {
    pub(crate) fn new(compiled: Arc<Compiled>, backend: Backend) -> Result<Core, EngineError> {
        let evaluator = Evaluator::new(&compiled, backend)?;
        let windows = windows::Plan::new(&compiled.program);
        Ok(Core { compiled, evaluator, windows })
    }

    pub(crate) fn compiled(&self) -> &Compiled {
        &self.compiled
    }

    /// The one entry of every output path. Never panics and never allows by accident: a
    /// request beyond the limits or not fitting the declarations is an input error (the
    /// policy's `on error` outcome), and a fault inside is caught here, once, and becomes
    /// `output`'s deny with an internal error.
    pub(crate) fn decide<'e, O: Output<'e>>(&'e self, request: &[u8], ctx: &DecideContext, mut output: O) -> O::Out {
        match guard(|| self.decide_unguarded(request, ctx, &mut output)) {
            Ok(out) => out,
            Err(message) => output.fault(self, &message),
        }
    }

    fn decide_unguarded<'e, O: Output<'e>>(&'e self, bytes: &[u8], ctx: &DecideContext, output: &mut O) -> O::Out {
        let c = &*self.compiled;
        let refused =
            if bytes.iter().all(u8::is_ascii_whitespace) { Some(crate::input::empty_request()) } else { crate::limits::check_request(bytes, &c.limits).err() };
        if let Some(error) = refused {
            return self.undecodable(ctx, output, InputFailure { tool_name: None, errors: vec![error] }, None);
        }
        crate::reuse::with_reused(&FRAME, |frame| match c.decoder.decode_into(bytes, ctx.now, frame) {
            Ok(()) => {
                self.before_rules(ctx, frame);
                let out = output.decided(self, Request { bytes, frame }, ctx);
                match self.after_decision(ctx, bytes, frame, O::outcome(&out)) {
                    Ok(()) => out,
                    Err(message) => output.unrecorded(self, out, &message),
                }
            }
            Err(failure) => self.undecodable(ctx, output, failure, Some(frame)),
        })
    }

    /// A request that could not be decoded: its output, then the step after the decision,
    /// which records it (as `deny`) in the windows that read only fields it had valid
    /// (`frame` holds what the full decoder could read; `None` when nothing was read).
    fn undecodable<'e, O: Output<'e>>(&'e self, ctx: &DecideContext, output: &mut O, failure: InputFailure, frame: Option<&mut Frame>) -> O::Out {
        let recorded = match (ctx.store, frame) {
            (Some(store), Some(frame)) if self.windows.records_invalid() => {
                let invalid: Vec<String> = failure.errors.iter().map(|e| e.path.clone()).collect();
                Some((store, frame, invalid))
            }
            _ => None,
        };
        let out = output.invalid(self, failure);
        let result = match recorded {
            Some((store, frame, invalid)) => self.windows.record_invalid(&self.compiled, store, frame, &invalid),
            None => Ok(()),
        };
        match result {
            Ok(()) => out,
            Err(message) => output.unrecorded(self, out, &message),
        }
    }

    /// The step before the rules run, with the decoded request: the values of the windows
    /// the request's rules read are read from the store into the frame, for the request's
    /// keys and `time`; a window the store cannot answer makes the rules reading it fail
    /// (rule errors with the store's reason: fail closed).
    #[inline(always)]
    fn before_rules(&self, ctx: &DecideContext, frame: &mut Frame) {
        if let Some(store) = ctx.store {
            self.windows.read(&self.compiled, store, frame, ctx.set_windows);
        }
    }

    /// The step after the decision: its outcome is known and it is not yet returned; every
    /// output path passes here, for valid requests and (`frame` is `None`) invalid ones.
    /// The request is recorded at its `time` in every window whose `on` and `when` match
    /// (an invalid request is recorded by `undecodable`), with the arguments the call runs
    /// with: when the windows read arguments and the call is not denied, the fired
    /// `redact`s and `set`s are found again (the output paths do not all keep them) and
    /// applied to a copy of the frame (`recorded.rs`). A store that cannot record makes
    /// the decision a deny (`Output::unrecorded`): later windows would under-count. A fault
    /// caught by the guard does not pass here.
    #[inline(always)]
    fn after_decision(&self, ctx: &DecideContext, bytes: &[u8], frame: &mut Frame, outcome: Outcome) -> Result<(), String> {
        let Some(store) = ctx.store else { return Ok(()) };
        if self.windows.records_modified() && outcome != Outcome::Deny {
            let c = &*self.compiled;
            let outcomes = rules::outcomes(self, frame, false);
            let modifiers: Vec<&crate::decision::RuleOutcome> =
                outcomes.iter().filter(|o| o.fired && c.program.rules.get(o.rule as usize).is_some_and(crate::decision::modifies)).collect();
            if !modifiers.is_empty() {
                let mut modified = recorded::modified_frame(c, bytes, frame, &modifiers)?;
                return self.windows.record(c, store, &mut modified, outcome);
            }
        }
        self.windows.record(&self.compiled, store, frame, outcome)
    }

    /// The windows the rules read, for `rules.rs` to fail a rule whose window failed.
    pub(crate) fn windows(&self) -> &windows::Plan {
        &self.windows
    }

    /// The windows of the policy as a store opens them.
    pub(crate) fn window_specs(&self) -> Vec<crate::store::WindowSpec> {
        windows::Plan::specs(&self.compiled.program)
    }

    /// Decodes a request into a new frame (for benchmarks of evaluation alone).
    pub(crate) fn decode(&self, request: &[u8], now: SystemTime) -> Option<Frame> {
        self.compiled.decoder.decode(request, seconds(now)).ok()
    }

    /// The full decision of an already decoded request, without the entry's steps (for
    /// benchmarks of evaluation alone).
    pub(crate) fn decide_frame(&self, frame: &Frame, explain: bool, request: &[u8]) -> Decision {
        output::decision(self, Request { bytes: request, frame }, explain)
    }

    /// The verdict of an already decoded request, without the entry's steps (for
    /// benchmarks of evaluation alone).
    pub(crate) fn verdict_frame(&self, frame: &Frame) -> Verdict<'_> {
        output::verdict(self, frame)
    }
}

thread_local! {
    /// The decoded request of this thread's decision, reused so decoding need not allocate.
    static FRAME: std::cell::RefCell<Frame> = std::cell::RefCell::new(Frame::default());
}

/// Runs `decide`; a panic inside it becomes `Err(message)`. The last line of defence: the
/// engine has no known panic, but a decision must come out whatever happens.
fn guard<T>(decide: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(decide)).map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "the engine failed".to_string())
    })
}

#[cfg(test)]
mod tests;
