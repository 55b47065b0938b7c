//! The two backends behind one type. In: the compiled policy and a decoded frame. Out: for
//! the full decision, whether each rule's condition holds (`Conditions::held`); for the fast
//! path, the rules that held or failed, noted into a `Fired` list. Only conditions differ
//! between the backends; reasons, `set` values and traces always run on the interpreter.
//!
//! This is the one place that reads the `jit` cargo feature: without it, `machine` is a
//! stand-in whose types have no values, so the JIT arms below compile and cannot run.

use crate::decision::Fired;
use crate::driver::Compiled;
use crate::input::Frame;
use crate::policy::{Backend, EngineError};
use crate::span::Span;
use crate::vm::{Meter, RuntimeError, Scratch};
use std::sync::{Arc, OnceLock};

#[cfg(feature = "jit")]
mod machine {
    use crate::policy::EngineError;

    pub(crate) use crate::jit::{Conditions as Results, JitProgram as Program};

    /// Prepares the JIT for `program` (cheap: each tool group is compiled on its first request).
    pub(crate) fn start(program: &crate::ir::Program) -> Result<Program, EngineError> {
        Program::new(program).map_err(|e| EngineError::JitFailed(e.to_string()))
    }
}

#[cfg(not(feature = "jit"))]
mod machine {
    use crate::decision::Fired;
    use crate::input::Frame;
    use crate::policy::EngineError;
    use crate::vm::RuntimeError;

    /// No JIT in this build: no program can exist.
    pub(crate) enum Program {}

    /// No JIT in this build: no results can exist.
    pub(crate) enum Results {}

    pub(crate) fn start(_: &crate::ir::Program) -> Result<Program, EngineError> {
        Err(EngineError::JitUnavailable)
    }

    impl Program {
        pub(crate) fn with_conditions<T>(&self, _: &crate::ir::Program, _: &Frame, _: u64, _: impl FnOnce(Result<&Results, RuntimeError>) -> T) -> T {
            match *self {}
        }

        pub(crate) fn note_fired(&self, _: &crate::ir::Program, _: &Frame, _: u64, _: &mut Fired) -> bool {
            match *self {}
        }
    }

    impl Results {
        pub(crate) fn held_at(&self, _: usize) -> Option<Result<bool, RuntimeError>> {
            match *self {}
        }
    }
}

/// The JIT's program of a compiled policy set: prepared on its first `Backend::Jit` engine,
/// then shared by every JIT engine of the policy (`Compiled::jit`).
pub(crate) type JitSlot = OnceLock<Result<Arc<machine::Program>, EngineError>>;

/// The backend that decides conditions.
#[derive(Clone)]
pub(crate) enum Evaluator {
    Interpreter,
    /// Conditions run as machine code.
    Jit(Arc<machine::Program>),
}

impl Evaluator {
    pub(crate) fn new(compiled: &Compiled, backend: Backend) -> Result<Evaluator, EngineError> {
        match backend {
            Backend::Interpreter => Ok(Evaluator::Interpreter),
            Backend::Jit => compiled.jit.get_or_init(|| machine::start(&compiled.program).map(Arc::new)).clone().map(Evaluator::Jit),
        }
    }

    /// Runs `f` with the conditions of the request's rules, sharing the work budget `meter`
    /// (the JIT runs the whole group first, within the same budget).
    pub(crate) fn with_conditions<T>(&self, c: &Compiled, frame: &Frame, meter: &Meter, f: impl FnOnce(Conditions<'_>) -> T) -> T {
        match self {
            Evaluator::Interpreter => f(Conditions::Interpreter(meter)),
            Evaluator::Jit(jit) => jit.with_conditions(&c.program, frame, max_work(c), |held| f(Conditions::Jit(held))),
        }
    }

    /// The fast path: notes into `fired` the rules of the request's group (`rules`: their
    /// positions in the group and indices, in source order) that held or failed. The JIT
    /// notes them itself, without walking the rest; if its group could not run, every rule
    /// of the group failed.
    #[inline]
    pub(crate) fn note_fired<I: Iterator<Item = (usize, u32)>>(&self, c: &Compiled, frame: &Frame, rules: impl FnOnce() -> I, fired: &mut Fired) {
        let program = &c.program;
        match self {
            Evaluator::Jit(jit) => {
                if !jit.note_fired(program, frame, max_work(c), fired) {
                    rules().for_each(|(_, i)| fired.note(program, i, Err(())));
                }
            }
            Evaluator::Interpreter => {
                let meter = Meter::new(max_work(c));
                let conditions = Conditions::Interpreter(&meter);
                with_scratch(|scratch| rules().for_each(|(pos, i)| fired.note(program, i, conditions.held(c, pos, i, frame, scratch))));
            }
        }
    }
}

/// One request's conditions: run by the interpreter on demand, within the budget they
/// share, or the JIT's results for the request's group (or why the group could not run).
pub(crate) enum Conditions<'a> {
    Interpreter(&'a Meter),
    Jit(Result<&'a machine::Results, RuntimeError>),
}

impl Conditions<'_> {
    /// Whether the condition of rule `index` (at position `pos` of the request's group) holds.
    pub(crate) fn held(&self, c: &Compiled, pos: usize, index: u32, frame: &Frame, scratch: &mut Scratch) -> Result<bool, RuntimeError> {
        let Some(chunk) = c.module.rule(index as usize).condition else { return Ok(true) };
        match self {
            Conditions::Interpreter(meter) => c.module.run_condition(chunk, frame, scratch, meter),
            Conditions::Jit(Ok(results)) => results
                .held_at(pos)
                .unwrap_or_else(|| Err(RuntimeError { span: Span::default(), message: format!("internal: the JIT did not evaluate rule {index}") })),
            Conditions::Jit(Err(e)) => Err(e.clone()),
        }
    }
}

/// The work budget of one decision's conditions (`Limits::max_work`).
pub(crate) fn max_work(c: &Compiled) -> u64 {
    c.limits.max_work as u64
}

thread_local! {
    /// The interpreter's stacks, kept apart from the frame so that a JIT decision, which
    /// needs none for its conditions, does not borrow them.
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// Runs `f` with this thread's interpreter stacks.
pub(crate) fn with_scratch<T>(f: impl FnOnce(&mut Scratch) -> T) -> T {
    crate::reuse::with_reused(&SCRATCH, f)
}
