//! The interpreter loop. In: a `Module`'s code range, a decoded `Frame`, a `Scratch` and
//! the work `Meter` to charge. Out: the chunk's value, or a `RuntimeError` at the span of
//! the failing instruction (running out of work included).
//! Every operand access is checked: malformed code gives an `internal:` error, never a panic.
//! What each operation computes, and every fault's message, is `ops`'s.

use super::op::{Code, Op};
use super::{Meter, Module, RuntimeError, Scratch, TraceEntry};
use crate::input::Frame;
use crate::ir::RegexOp;
use crate::ops::fault::{self, Fault};
use crate::ops::{access, arith, builtins, compare, regex};
use crate::value::Value;

/// `values[i]`, or an internal error naming what was missing.
fn fetch<'v>(values: &'v [Value], i: u32, what: &str) -> Result<&'v Value, Fault> {
    values.get(i as usize).ok_or_else(|| fault::no_such(what, i))
}

pub(super) struct Machine<'a> {
    module: &'a Module,
    code: &'a Code,
    frame: &'a Frame,
    scratch: &'a mut Scratch,
    meter: &'a Meter,
    trace: Option<&'a mut Vec<TraceEntry>>,
}

impl<'a> Machine<'a> {
    pub(super) fn new(
        module: &'a Module,
        code: &'a Code,
        frame: &'a Frame,
        scratch: &'a mut Scratch,
        meter: &'a Meter,
        trace: Option<&'a mut Vec<TraceEntry>>,
    ) -> Machine<'a> {
        Machine { module, code, frame, scratch, meter, trace }
    }

    /// Executes `start..end`; the result is the one value left on the stack.
    pub(super) fn run(mut self, (start, end): (u32, u32)) -> Result<Value, RuntimeError> {
        let mut pc = start;
        while pc < end {
            let at = pc;
            let step = match self.code.ops.get(at as usize) {
                Some(&op) => self.step(op, at),
                None => Err(fault::machine("jump outside the code")),
            };
            match step {
                Ok(Some(target)) => pc = target,
                Ok(None) => pc += 1,
                Err(fault) => return Err(self.error(at, fault)),
            }
        }
        let result = self.pop();
        match result {
            Ok(v) if self.scratch.stack.is_empty() => Ok(v),
            Ok(_) => Err(self.error(end.saturating_sub(1), fault::machine("values left on the stack"))),
            Err(fault) => Err(self.error(end.saturating_sub(1), fault)),
        }
    }

    /// The span of instruction `at` (the default span if the side table lacks it).
    fn span_at(&self, at: u32) -> crate::span::Span {
        self.code.spans.get(at as usize).copied().unwrap_or_default()
    }

    fn error(&self, at: u32, fault: Fault) -> RuntimeError {
        let span = self.span_at(at);
        RuntimeError { span, message: fault.into_owned() }
    }

    fn push(&mut self, v: Value) {
        self.scratch.stack.push(v);
    }

    fn pop(&mut self) -> Result<Value, Fault> {
        self.scratch.stack.pop().ok_or_else(|| fault::machine("stack underflow"))
    }

    fn pop_bool(&mut self) -> Result<bool, Fault> {
        match self.pop()? {
            Value::Bool(b) => Ok(b),
            other => Err(fault::expected_bool(&other)),
        }
    }

    fn top(&self) -> Result<&Value, Fault> {
        self.scratch.stack.last().ok_or_else(|| fault::machine("stack underflow"))
    }

    fn top_bool(&self) -> Result<bool, Fault> {
        match self.top()? {
            Value::Bool(b) => Ok(*b),
            other => Err(fault::expected_bool(other)),
        }
    }

    /// Where the top `n` values start on the stack.
    fn args_start(&self, n: u32) -> Result<usize, Fault> {
        self.scratch.stack.len().checked_sub(n as usize).ok_or_else(|| fault::machine("stack underflow"))
    }

    fn set_local(&mut self, i: u32, v: Value) -> Result<(), Fault> {
        let slot = self.scratch.locals.get_mut(i as usize).ok_or_else(|| fault::no_such("local", i))?;
        *slot = v;
        Ok(())
    }

    /// Executes one instruction; `Some(target)` when it jumps.
    fn step(&mut self, op: Op, at: u32) -> Result<Option<u32>, Fault> {
        match op {
            Op::Const(i) => {
                let v = fetch(&self.module.pool, i, "constant")?.clone();
                self.push(v);
            }
            Op::Slot(i) => {
                let v = fetch(&self.frame.slots, i, "slot")?.clone();
                self.push(v);
            }
            Op::Local(i) => {
                let v = fetch(&self.scratch.locals, i, "local")?.clone();
                self.push(v);
            }
            Op::StoreLocal(i) => {
                let v = self.pop()?;
                self.set_local(i, v)?;
            }
            Op::LetCall { index, start } => match self.scratch.memo.get(index as usize) {
                Some(Some(v)) => {
                    let v = v.clone();
                    self.push(v);
                }
                Some(None) if start != u32::MAX => {
                    self.scratch.calls.push(at + 1);
                    return Ok(Some(start));
                }
                _ => return Err(fault::no_such("code for block let", index)),
            },
            Op::LetReturn(index) => {
                let v = self.top()?.clone();
                let slot = self.scratch.memo.get_mut(index as usize).ok_or_else(|| fault::no_such("block let", index))?;
                *slot = Some(v);
                let back = self.scratch.calls.pop().ok_or_else(|| fault::machine("return without a call"))?;
                return Ok(Some(back));
            }
            Op::Not => {
                let b = self.pop_bool()?;
                self.push(Value::Bool(!b));
            }
            Op::Neg => {
                let v = self.pop()?;
                self.push(arith::negate(&v)?);
            }
            Op::Has => {
                let v = self.pop()?;
                self.push(Value::Bool(!v.is_absent()));
            }
            Op::Cmp(cmp) => {
                let b = self.pop()?;
                let a = self.pop()?;
                self.push(Value::Bool(compare::compare(cmp, &a, &b)?));
            }
            Op::Arith(op) => {
                let b = self.pop()?;
                let a = self.pop()?;
                self.push(arith::arith(op, &a, &b, self.meter)?);
            }
            Op::Field(i) => {
                let v = self.pop()?;
                self.push(access::field(&v, i)?);
            }
            Op::Index => {
                let key = self.pop()?;
                let container = self.pop()?;
                self.push(access::index(&container, &key)?);
            }
            Op::MakeList(n) => {
                let from = self.args_start(n)?;
                let items = self.scratch.stack.drain(from..).collect();
                self.push(Value::List(items));
            }
            Op::Call { builtin, argc } => {
                let from = self.args_start(argc)?;
                let result = builtins::call(builtin, self.scratch.stack.get(from..).unwrap_or_default(), self.meter)?;
                self.scratch.stack.truncate(from);
                self.push(result);
            }
            Op::Regex { op, regex } => {
                let subject = self.pop()?;
                let re = self.module.regexes.get(regex as usize).ok_or_else(|| fault::no_such("regex", regex))?;
                let s = regex::subject(&subject, self.meter)?;
                let result = match op {
                    RegexOp::Matches => Value::Bool(re.is_match(s)),
                    RegexOp::FindAll => regex::find_all(re, s),
                };
                self.push(result);
            }
            Op::InSet(set) => {
                let item = self.pop()?;
                let set = self.module.sets.get(set as usize).ok_or_else(|| fault::no_such("set", set))?;
                let found = set.contains(&item, self.meter)?;
                self.push(Value::Bool(found));
            }
            Op::Jump(t) => return Ok(Some(t)),
            Op::JumpIfFalse(t) => {
                if !self.pop_bool()? {
                    return Ok(Some(t));
                }
            }
            Op::JumpIfTrue(t) => {
                if self.pop_bool()? {
                    return Ok(Some(t));
                }
            }
            Op::JumpIfFalseOrPop(t) => {
                if !self.top_bool()? {
                    return Ok(Some(t));
                }
                self.pop()?;
            }
            Op::JumpIfTrueOrPop(t) => {
                if self.top_bool()? {
                    return Ok(Some(t));
                }
                self.pop()?;
            }
            Op::JumpIfPresentOrPop(t) => {
                if !self.top()?.is_absent() {
                    return Ok(Some(t));
                }
                self.pop()?;
            }
            Op::IterBegin => match self.pop()? {
                Value::List(items) => self.scratch.iters.push((Some(items), 0)),
                Value::Absent => self.scratch.iters.push((None, 0)),
                other => return Err(fault::cannot_iterate(&other)),
            },
            Op::IterNext { local, exit, cost } => return self.iter_next(local, exit, cost),
            Op::IterEnd => {
                self.scratch.iters.pop().ok_or_else(|| fault::machine("no iterator to end"))?;
            }
            Op::CountIf => {
                let hit = self.pop_bool()?;
                match self.scratch.stack.last_mut() {
                    Some(Value::Num(n)) => *n += f64::from(u8::from(hit)),
                    _ => return Err(fault::machine("count without a counter")),
                }
            }
            Op::CollectBegin => self.scratch.collects.push(Vec::new()),
            Op::CollectPush => {
                let v = self.pop()?;
                self.scratch.collects.last_mut().ok_or_else(|| fault::machine("no list of results"))?.push(v);
            }
            Op::CollectEnd => {
                let items = self.scratch.collects.pop().ok_or_else(|| fault::machine("no list of results"))?;
                self.push(Value::List(items.into()));
            }
            Op::Trace => self.record(at)?,
            Op::Unlowered => return Err(fault::not_lowered()),
        }
        Ok(None)
    }

    /// Binds the innermost iterator's next element (charging the iteration's `cost`), or
    /// drops the iterator and exits.
    fn iter_next(&mut self, local: u32, exit: u32, cost: u32) -> Result<Option<u32>, Fault> {
        let meter = self.meter;
        let Some((list, next)) = self.scratch.iters.last_mut() else {
            return Err(fault::machine("no iterator"));
        };
        let element = list.as_ref().and_then(|items| items.get(*next)).cloned();
        match element {
            Some(v) => {
                *next += 1;
                meter.charge(u64::from(cost))?;
                self.set_local(local, v)?;
                Ok(None)
            }
            None => {
                self.scratch.iters.pop();
                Ok(Some(exit))
            }
        }
    }

    fn record(&mut self, at: u32) -> Result<(), Fault> {
        let span = self.span_at(at);
        let Some(trace) = self.trace.as_deref_mut() else {
            return Ok(());
        };
        let value = self.scratch.stack.last().cloned().ok_or_else(|| fault::machine("stack underflow"))?;
        trace.push(TraceEntry { span, value });
        Ok(())
    }
}
