//! The bytecode backend. In: an `ir::Program` after the passes (`Slot`s, no `FnCall`), and
//! at decision time a decoded request `Frame`. Out: a `Module` (constant pool, code with a
//! span per instruction, one chunk per rule condition / `set` value / reason expression)
//! and the values those chunks compute, or a `RuntimeError` at the failing expression's
//! span, optionally with a trace of every IR node's value in evaluation order.
//!
//! The machine is a stack machine: `and`/`or`/`if`/`??` compile to short-circuit jumps,
//! quantifiers to loops over an iterator stack, `let` to a store into a local, a block
//! `let` to a call of its code (placed after the chunk's own) on first use and a read of
//! its memo after. Each chunk is compiled twice, without and with `Trace` instructions, so
//! tracing is free when off.

mod compile;
mod disasm;
mod exec;
mod op;

/// The work budget, shared with the JIT (`ops::Meter`).
pub use crate::ops::Meter;

#[cfg(test)]
mod tests;

use crate::input::Frame;
use crate::ir;
use crate::span::Span;
use crate::value::Value;
use op::Code;
use std::sync::Arc;

/// A compiled policy set: immutable, shared by every decision (`Send + Sync`).
#[derive(Debug, Clone)]
pub struct Module {
    pool: Vec<Value>,
    fast: Code,
    traced: Code,
    chunks: Vec<Chunk>,
    rules: Vec<RuleCode>,
    /// In `Program::windows` order.
    windows: Vec<WindowCode>,
    regexes: Vec<regex::Regex>,
    /// The program's hashed string sets (`Op::InSet`).
    sets: Vec<std::sync::Arc<crate::ops::set::StringSet>>,
    /// For the disassembly: `args.amount` for each slot.
    slot_names: Vec<String>,
    /// For the disassembly: each rule's id and effect name.
    rule_names: Vec<(String, &'static str)>,
}

/// One compiled expression: its instruction ranges in both code versions.
#[derive(Debug, Clone)]
struct Chunk {
    fast: (u32, u32),
    traced: (u32, u32),
    /// The rule's local count: the size of the locals array while it runs.
    locals: u32,
    /// The rule's block `let` count: the size of the memo array while it runs.
    lets: u32,
    /// The span of the chunk's expression.
    span: Span,
    label: String,
}

/// Names a compiled expression of a `Module`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChunkId(pub u32);

/// The compiled parts of one rule (same index as in `Program::rules`).
#[derive(Debug, Clone, PartialEq)]
pub struct RuleCode {
    /// `None`: the rule always fires.
    pub condition: Option<ChunkId>,
    /// The value expression of a `set` effect.
    pub set_value: Option<ChunkId>,
    pub reason: Vec<ReasonCode>,
}

/// The compiled expressions of one window: run on the interpreter by both backends, so a
/// window's key, value and `when` mean the same whatever decides the rules.
#[derive(Debug, Clone)]
pub struct WindowCode {
    pub keys: Vec<ChunkId>,
    pub value: Option<ChunkId>,
    pub condition: Option<ChunkId>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ReasonCode {
    Text(String),
    Expr(ChunkId),
}

/// A rule error: what went wrong and the span of the expression that failed.
#[derive(Debug, Clone, PartialEq)]
pub struct RuntimeError {
    pub span: Span,
    pub message: String,
}

/// The value of one IR node, recorded in trace mode.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceEntry {
    pub span: Span,
    pub value: Value,
}

/// Working memory of the machine, reused across runs so a decision need not allocate.
#[derive(Debug, Default)]
pub struct Scratch {
    stack: Vec<Value>,
    locals: Vec<Value>,
    /// Innermost last: the list being iterated and the index of its next element
    /// (`None` is an absent list, iterated as empty).
    iters: Vec<(Option<Arc<[Value]>>, usize)>,
    /// Each block `let`'s value once computed in this run (`None`: not yet).
    memo: Vec<Option<Value>>,
    /// Return addresses of the block `let`s being computed, innermost last.
    calls: Vec<u32>,
    /// The results of the `map`s and `filter`s being computed, innermost last.
    collects: Vec<Vec<Value>>,
}

impl Scratch {
    pub fn new() -> Scratch {
        Scratch::default()
    }

    /// Empties the stacks (keeping their capacity) and gives `locals` absent locals and
    /// `lets` uncomputed block `let`s.
    fn reset(&mut self, locals: u32, lets: u32) {
        self.stack.clear();
        self.iters.clear();
        self.collects.clear();
        self.locals.clear();
        self.locals.resize(locals as usize, Value::Absent);
        self.calls.clear();
        self.memo.clear();
        self.memo.resize(lets as usize, None);
    }
}

/// Compiles every rule of a program. Never fails: an IR node the passes should have
/// removed compiles to an instruction that reports an internal error when run.
pub fn compile(program: &ir::Program) -> Module {
    compile::compile(program)
}

impl Module {
    /// The compiled parts of rule `index`. Panics when `index` is not a rule of the program
    /// this module was compiled from (a caller bug, not reachable from policy or request).
    pub fn rule(&self, index: usize) -> &RuleCode {
        &self.rules[index]
    }

    /// Every window's compiled parts, in `Program::windows` order.
    pub fn windows(&self) -> &[WindowCode] {
        &self.windows
    }

    /// Every rule's compiled parts, in `Program::rules` order.
    pub fn rules(&self) -> &[RuleCode] {
        &self.rules
    }

    /// Runs a chunk against a decoded request. With `trace`, appends (span, value) for
    /// every IR node evaluated, in evaluation (post) order; nodes skipped by short-circuit
    /// do not appear.
    /// Work is charged to `meter` (a rule error once it runs out).
    pub fn run(&self, chunk: ChunkId, frame: &Frame, scratch: &mut Scratch, meter: &Meter, trace: Option<&mut Vec<TraceEntry>>) -> Result<Value, RuntimeError> {
        let Some(c) = self.chunks.get(chunk.0 as usize) else {
            return Err(RuntimeError { span: Span::default(), message: crate::ops::fault::no_such("chunk", chunk.0).into_owned() });
        };
        scratch.reset(c.locals, c.lets);
        match trace {
            None => exec::Machine::new(self, &self.fast, frame, scratch, meter, None).run(c.fast),
            Some(t) => exec::Machine::new(self, &self.traced, frame, scratch, meter, Some(t)).run(c.traced),
        }
    }

    /// Runs a condition chunk: `Ok(true)` when the rule fires.
    pub fn run_condition(&self, chunk: ChunkId, frame: &Frame, scratch: &mut Scratch, meter: &Meter) -> Result<bool, RuntimeError> {
        let value = self.run(chunk, frame, scratch, meter, None)?;
        match value {
            Value::Bool(b) => Ok(b),
            other => Err(RuntimeError { span: self.chunk_span(chunk), message: crate::ops::fault::condition_gave(&other).into_owned() }),
        }
    }

    /// The span of a chunk's whole expression.
    fn chunk_span(&self, chunk: ChunkId) -> Span {
        self.chunks.get(chunk.0 as usize).map(|c| c.span).unwrap_or_default()
    }

    /// A human-readable listing: per rule, per chunk, each instruction with its operands,
    /// constants shown inline, and its span (`file:start..end`).
    pub fn disassemble(&self) -> String {
        disasm::disassemble(self)
    }
}
