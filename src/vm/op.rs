//! The instruction set of the stack machine. In: nothing (pure definitions). Out: `Op`,
//! the compact instruction emitted by `compile` and executed by `exec`, and `Code`, a run of
//! instructions with the source span of each (the side table for errors and traces).

use crate::ir::{ArithOp, Builtin, CmpOp, RegexOp};
use crate::span::Span;

/// One instruction. Operands are `u32` indexes (constant pool, slot, local, regex) or
/// absolute jump targets in the same `Code`. `Copy` and 16 bytes, so dispatch reads it by value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Op {
    /// Push `pool[i]`.
    Const(u32),
    /// Push the request's slot `i`.
    Slot(u32),
    /// Push local `i`.
    Local(u32),
    /// Pop into local `i` (`let`).
    StoreLocal(u32),
    /// Push block `let` `index`'s value: its memo when it was computed, else call its code
    /// at `start`, which ends with `LetReturn(index)`.
    LetCall {
        index: u32,
        start: u32,
    },
    /// End of a block `let`'s code: keep the top of the stack (which stays) as the let's
    /// memo and return after the `LetCall` that called it.
    LetReturn(u32),
    /// Bool -> Bool.
    Not,
    /// Num -> Num.
    Neg,
    /// Any -> Bool: not absent.
    Has,
    /// Pop b, pop a, push `a op b`.
    Cmp(CmpOp),
    /// Pop b, pop a, push `a op b`; division by zero and non-finite results are errors.
    Arith(ArithOp),
    /// Record -> its field `i`; absent stays absent.
    Field(u32),
    /// Pop key, pop container, push the element or absent.
    Index,
    /// Pop `n` values, push them as a list (first pushed is first).
    MakeList(u32),
    /// Pop `argc` arguments (receiver first), push the builtin's result.
    Call {
        builtin: Builtin,
        argc: u32,
    },
    /// Pop a string, push `is_match` or the list of matches of regex `regex`.
    Regex {
        op: RegexOp,
        regex: u32,
    },
    /// Pop a value, push whether it is in hashed string set `set` (`ExprKind::InSet`).
    InSet(u32),
    Jump(u32),
    /// Pop a Bool; jump when it is false.
    JumpIfFalse(u32),
    /// Pop a Bool; jump when it is true.
    JumpIfTrue(u32),
    /// `and`: a false top stays and jumps; a true top is popped.
    JumpIfFalseOrPop(u32),
    /// `or`: a true top stays and jumps; a false top is popped.
    JumpIfTrueOrPop(u32),
    /// `??`: a present top stays and jumps; an absent top is popped.
    JumpIfPresentOrPop(u32),
    /// Pop a list (absent = empty) and start iterating it.
    IterBegin,
    /// Store the innermost iterator's next element in `local`, charging `cost` units of
    /// work; when it has none, drop the iterator and jump to `exit`.
    IterNext {
        local: u32,
        exit: u32,
        cost: u32,
    },
    /// Drop the innermost iterator (a quantifier decided early).
    IterEnd,
    /// `count`: pop a Bool; when true, add one to the counter now on top.
    CountIf,
    /// `map`/`filter`: start an empty list of results (innermost last).
    CollectBegin,
    /// Pop a value onto the innermost list of results.
    CollectPush,
    /// Push the innermost list of results as a list, and drop it.
    CollectEnd,
    /// Trace mode only: record (this instruction's span, top of stack).
    Trace,
    /// An IR node the passes should have removed (`Input`, `FnCall`): an internal error.
    Unlowered,
}

impl Op {
    /// The jump target, for instructions that have one.
    pub(crate) fn target_mut(&mut self) -> Option<&mut u32> {
        match self {
            Op::Jump(t)
            | Op::JumpIfFalse(t)
            | Op::JumpIfTrue(t)
            | Op::JumpIfFalseOrPop(t)
            | Op::JumpIfTrueOrPop(t)
            | Op::JumpIfPresentOrPop(t)
            | Op::IterNext { exit: t, .. } => Some(t),
            _ => None,
        }
    }
}

/// Instructions and, at the same index, the span of the IR node each came from.
#[derive(Debug, Clone, Default)]
pub(crate) struct Code {
    pub ops: Vec<Op>,
    pub spans: Vec<Span>,
}

impl Code {
    pub fn len(&self) -> u32 {
        // A policy set cannot produce 4G instructions; saturate rather than wrap if one did.
        u32::try_from(self.ops.len()).unwrap_or(u32::MAX)
    }

    pub fn push(&mut self, op: Op, span: Span) -> u32 {
        let at = self.len();
        self.ops.push(op);
        self.spans.push(span);
        at
    }
}
