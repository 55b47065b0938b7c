//! The interpreter loop. In: a `Module`'s code range, a decoded `Frame`, a `Scratch` and
//! the work `Meter` to charge. Out: the chunk's value, or a `RuntimeError` at the span of
//! the failing instruction (running out of work included).
//! Every operand access is checked: malformed code gives an `internal:` error, never a panic.

use super::builtins;
use super::op::{Code, Op};
use super::{Meter, Module, RuntimeError, Scratch, TraceEntry};
use crate::input::Frame;
use crate::ir::{ArithOp, CmpOp, RegexOp};
use crate::value::Value;
use std::borrow::Cow;
use std::cmp::Ordering;

/// Why an instruction failed; the loop adds the span.
pub(crate) type Fault = Cow<'static, str>;

pub(crate) fn internal(what: impl std::fmt::Display) -> Fault {
    Cow::Owned(format!("internal: {what}"))
}

/// `values[i]`, or an internal error naming what was missing.
fn fetch<'v>(values: &'v [Value], i: u32, what: &str) -> Result<&'v Value, Fault> {
    values.get(i as usize).ok_or_else(|| internal(format_args!("no {what} {i}")))
}

/// A value's kind, for internal error messages.
pub(crate) fn shape(v: &Value) -> &'static str {
    match v {
        Value::Absent => "absent",
        Value::Bool(_) => "bool",
        Value::Num(_) => "number",
        Value::Str(_) => "string",
        Value::List(_) => "list",
        Value::Record(_) => "record",
        Value::Map(_) => "map",
    }
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
                None => Err(internal("jump outside the code")),
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
            Ok(_) => Err(self.error(end.saturating_sub(1), internal("values left on the stack"))),
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
        self.scratch.stack.pop().ok_or_else(|| internal("stack underflow"))
    }

    fn pop_bool(&mut self) -> Result<bool, Fault> {
        match self.pop()? {
            Value::Bool(b) => Ok(b),
            other => Err(internal(format_args!("expected a bool, found {}", shape(&other)))),
        }
    }

    fn top(&self) -> Result<&Value, Fault> {
        self.scratch.stack.last().ok_or_else(|| internal("stack underflow"))
    }

    fn top_bool(&self) -> Result<bool, Fault> {
        match self.top()? {
            Value::Bool(b) => Ok(*b),
            other => Err(internal(format_args!("expected a bool, found {}", shape(other)))),
        }
    }

    /// Where the top `n` values start on the stack.
    fn args_start(&self, n: u32) -> Result<usize, Fault> {
        self.scratch.stack.len().checked_sub(n as usize).ok_or_else(|| internal("stack underflow"))
    }

    fn set_local(&mut self, i: u32, v: Value) -> Result<(), Fault> {
        let slot = self.scratch.locals.get_mut(i as usize).ok_or_else(|| internal(format_args!("no local {i}")))?;
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
                _ => return Err(internal(format_args!("no code for block let {index}"))),
            },
            Op::LetReturn(index) => {
                let v = self.top()?.clone();
                let slot = self.scratch.memo.get_mut(index as usize).ok_or_else(|| internal(format_args!("no block let {index}")))?;
                *slot = Some(v);
                let back = self.scratch.calls.pop().ok_or_else(|| internal("return without a call"))?;
                return Ok(Some(back));
            }
            Op::Not => {
                let b = self.pop_bool()?;
                self.push(Value::Bool(!b));
            }
            Op::Neg => match self.pop()? {
                Value::Num(n) => self.push(Value::Num(-n)),
                other => return Err(internal(format_args!("cannot negate a {}", shape(&other)))),
            },
            Op::Has => {
                let v = self.pop()?;
                self.push(Value::Bool(!v.is_absent()));
            }
            Op::Cmp(cmp) => {
                let b = self.pop()?;
                let a = self.pop()?;
                self.push(Value::Bool(compare(cmp, &a, &b)?));
            }
            Op::Arith(op) => {
                let b = self.pop()?;
                let a = self.pop()?;
                self.push(arith(op, &a, &b, self.meter)?);
            }
            Op::Field(i) => {
                let v = self.pop()?;
                self.push(field(&v, i)?);
            }
            Op::Index => {
                let key = self.pop()?;
                let container = self.pop()?;
                self.push(index(&container, &key)?);
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
                let re = self.module.regexes.get(regex as usize).ok_or_else(|| internal(format_args!("no regex {regex}")))?;
                let Value::Str(s) = subject else {
                    return Err(internal(format_args!("cannot match a {}", shape(&subject))));
                };
                self.meter.charge(s.len() as u64)?;
                self.push(match op {
                    RegexOp::Matches => Value::Bool(re.is_match(&s)),
                    RegexOp::FindAll => Value::List(re.find_iter(&s).map(|m| Value::str(m.as_str())).collect()),
                });
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
                other => return Err(internal(format_args!("cannot iterate a {}", shape(&other)))),
            },
            Op::IterNext { local, exit, cost } => return self.iter_next(local, exit, cost),
            Op::IterEnd => {
                self.scratch.iters.pop().ok_or_else(|| internal("no iterator to end"))?;
            }
            Op::CountIf => {
                let hit = self.pop_bool()?;
                match self.scratch.stack.last_mut() {
                    Some(Value::Num(n)) => *n += f64::from(u8::from(hit)),
                    _ => return Err(internal("count without a counter")),
                }
            }
            Op::Trace => self.record(at)?,
            Op::Unlowered => return Err(internal("expression not lowered by the IR passes")),
        }
        Ok(None)
    }

    /// Binds the innermost iterator's next element (charging the iteration's `cost`), or
    /// drops the iterator and exits.
    fn iter_next(&mut self, local: u32, exit: u32, cost: u32) -> Result<Option<u32>, Fault> {
        let meter = self.meter;
        let Some((list, next)) = self.scratch.iters.last_mut() else {
            return Err(internal("no iterator"));
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
        let value = self.scratch.stack.last().cloned().ok_or_else(|| internal("stack underflow"))?;
        trace.push(TraceEntry { span, value });
        Ok(())
    }
}

pub(crate) fn compare(op: CmpOp, a: &Value, b: &Value) -> Result<bool, Fault> {
    let ordering = match op {
        CmpOp::Eq => return Ok(a == b),
        CmpOp::Ne => return Ok(a != b),
        CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge => match (a, b) {
            (Value::Num(x), Value::Num(y)) => x.partial_cmp(y),
            // `str`'s order is the bytes' order.
            (Value::Str(x), Value::Str(y)) => Some(x.cmp(y)),
            _ => return Err(internal(format_args!("cannot order a {} and a {}", shape(a), shape(b)))),
        },
    };
    // An unordered pair (NaN) compares false, as in IEEE.
    Ok(match op {
        CmpOp::Lt => ordering == Some(Ordering::Less),
        CmpOp::Le => matches!(ordering, Some(Ordering::Less | Ordering::Equal)),
        CmpOp::Gt => ordering == Some(Ordering::Greater),
        CmpOp::Ge => matches!(ordering, Some(Ordering::Greater | Ordering::Equal)),
        CmpOp::Eq | CmpOp::Ne => false,
    })
}

/// `a op b`; concatenating strings charges the bytes of the result to `meter`.
pub(crate) fn arith(op: ArithOp, a: &Value, b: &Value, meter: &Meter) -> Result<Value, Fault> {
    let (x, y) = match (op, a, b) {
        (ArithOp::Add, Value::Str(x), Value::Str(y)) => {
            meter.charge((x.len() + y.len()) as u64)?;
            let mut s = String::with_capacity(x.len() + y.len());
            s.push_str(x);
            s.push_str(y);
            return Ok(Value::Str(s.into()));
        }
        (_, Value::Num(x), Value::Num(y)) => (*x, *y),
        _ => return Err(internal(format_args!("cannot compute {op:?} of a {} and a {}", shape(a), shape(b)))),
    };
    let result = match op {
        ArithOp::Add => x + y,
        ArithOp::Sub => x - y,
        ArithOp::Mul => x * y,
        ArithOp::Div | ArithOp::Rem if y == 0.0 => return Err(Cow::Borrowed("division by zero")),
        ArithOp::Div => x / y,
        // Truncated remainder: the sign follows the dividend (`-7 % 3 == -1`).
        ArithOp::Rem => x % y,
    };
    finite(result)
}

/// Numbers leaving an operation must be finite: infinities and NaN are rule errors.
pub(crate) fn finite(n: f64) -> Result<Value, Fault> {
    if n.is_finite() {
        Ok(Value::Num(n))
    } else {
        Err(Cow::Borrowed("result is not a finite number"))
    }
}

pub(crate) fn field(v: &Value, i: u32) -> Result<Value, Fault> {
    match v {
        Value::Record(fields) => fields.get(i as usize).cloned().ok_or_else(|| internal(format_args!("record has no field {i}"))),
        Value::Absent => Ok(Value::Absent),
        other => Err(internal(format_args!("cannot take field {i} of a {}", shape(other)))),
    }
}

/// `list[number]` and `map[string]`; anything missing (or an absent operand) is absent.
pub(crate) fn index(container: &Value, key: &Value) -> Result<Value, Fault> {
    match (container, key) {
        (Value::List(items), Value::Num(n)) => {
            let whole = *n >= 0.0 && n.fract() == 0.0;
            // `as usize` saturates, so a huge index is simply out of range.
            Ok(if whole { items.get(*n as usize).cloned().unwrap_or_default() } else { Value::Absent })
        }
        (Value::Map(map), Value::Str(k)) => Ok(map.get(&**k).cloned().unwrap_or_default()),
        (Value::Absent, _) | (_, Value::Absent) => Ok(Value::Absent),
        _ => Err(internal(format_args!("cannot index a {} with a {}", shape(container), shape(key)))),
    }
}
