//! The run-time faults: every message a rule error can carry, one constructor each (as
//! `diagnostics/codes.rs` is for compile errors). In: what failed (operand shapes, the
//! limit, a native's message). Out: a `Fault`, the message the backend puts at the failing
//! expression's span. No other module writes fault text.
//!
//! Two families: faults a well-typed policy can meet at run time (division by zero, a
//! non-finite result, a timestamp out of range, the work budget, a native's own error),
//! worded for the policy's author; and `internal:` faults, which only malformed code or a
//! backend bug could reach (wrong operand shapes, a missing operand), kept so that such a
//! bug is a rule error (fail closed) rather than a panic.

use crate::value::Value;
use std::borrow::Cow;

/// Why an operation failed; the backend adds the span.
pub(crate) type Fault = Cow<'static, str>;

/// The faults generated code raises inline (without calling the operation that would have
/// made them), by the code the JIT's `raise` helper receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum FaultKind {
    DivisionByZero = 0,
    NotFinite = 1,
    OutOfWork = 2,
}

impl FaultKind {
    /// The kind whose code is `code`, if any (codes come from generated code).
    pub(crate) fn from_u32(code: u32) -> Option<FaultKind> {
        [FaultKind::DivisionByZero, FaultKind::NotFinite, FaultKind::OutOfWork].into_iter().find(|k| *k as u32 == code)
    }
}

// ---- faults of well-typed policies --------------------------------------------------

pub(crate) fn division_by_zero() -> Fault {
    Cow::Borrowed("division by zero")
}

pub(crate) fn not_finite() -> Fault {
    Cow::Borrowed("result is not a finite number")
}

pub(crate) fn timestamp_out_of_range() -> Fault {
    Cow::Borrowed("timestamp out of range")
}

/// The work budget `limit` (`Limits::max_work`) does not cover the decision.
pub(crate) fn out_of_work(limit: u64) -> Fault {
    Cow::Owned(format!("the decision needs more work than `max_work` allows ({limit} units); raise it with `--max-work` (`Limits::max_work`)"))
}

/// A stdlib native's own error (e.g. a command line `std.shell` cannot split).
pub(crate) fn native(message: String) -> Fault {
    Cow::Owned(message)
}

// ---- internal faults: malformed code or a backend bug ---------------------------------

/// An internal fault with `what` said about it.
pub(crate) fn internal(what: impl std::fmt::Display) -> Fault {
    Cow::Owned(format!("internal: {what}"))
}

/// A value's kind, for internal fault messages.
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

pub(crate) fn expected_bool(found: &Value) -> Fault {
    internal(format_args!("expected a bool, found {}", shape(found)))
}

pub(crate) fn cannot_negate(v: &Value) -> Fault {
    internal(format_args!("cannot negate a {}", shape(v)))
}

pub(crate) fn cannot_order(a: &Value, b: &Value) -> Fault {
    internal(format_args!("cannot order a {} and a {}", shape(a), shape(b)))
}

pub(crate) fn cannot_compute(op: impl std::fmt::Debug, a: &Value, b: &Value) -> Fault {
    internal(format_args!("cannot compute {op:?} of a {} and a {}", shape(a), shape(b)))
}

pub(crate) fn no_field(i: u32) -> Fault {
    internal(format_args!("record has no field {i}"))
}

pub(crate) fn cannot_take_field(i: u32, v: &Value) -> Fault {
    internal(format_args!("cannot take field {i} of a {}", shape(v)))
}

pub(crate) fn cannot_index(container: &Value, key: &Value) -> Fault {
    internal(format_args!("cannot index a {} with a {}", shape(container), shape(key)))
}

pub(crate) fn cannot_iterate(v: &Value) -> Fault {
    internal(format_args!("cannot iterate a {}", shape(v)))
}

pub(crate) fn cannot_match(v: &Value) -> Fault {
    internal(format_args!("cannot match a {}", shape(v)))
}

/// Builtin `id` was called with arguments of these shapes, which its signature excludes.
pub(crate) fn wrong_arguments(id: &str, args: &[&Value]) -> Fault {
    let shapes: Vec<&str> = args.iter().map(|v| shape(v)).collect();
    internal(format_args!("{id} cannot take ({})", shapes.join(", ")))
}

pub(crate) fn predicate_gave(v: &Value) -> Fault {
    internal(format_args!("a predicate gave a {}", shape(v)))
}

pub(crate) fn condition_gave(v: &Value) -> Fault {
    internal(format_args!("condition gave {} instead of a bool", shape(v)))
}

/// A table entry the code names is missing: `no constant 3`, `no regex 1`, `no native function 99`.
pub(crate) fn no_such(what: &str, i: u32) -> Fault {
    internal(format_args!("no {what} {i}"))
}

/// Generated code passed a null operand (the JIT's helpers).
pub(crate) fn missing_operand(at: u32) -> Fault {
    internal(format_args!("missing operand at {at}"))
}

/// An IR node the passes should have removed (`Input`, `FnCall`).
pub(crate) fn not_lowered() -> Fault {
    internal("expression not lowered by the IR passes")
}

/// The machine's own bookkeeping went wrong: `stack underflow`, `no iterator`.
pub(crate) fn machine(what: &'static str) -> Fault {
    internal(what)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_kinds_round_trip_through_their_codes() {
        for k in [FaultKind::DivisionByZero, FaultKind::NotFinite, FaultKind::OutOfWork] {
            assert_eq!(FaultKind::from_u32(k as u32), Some(k));
        }
        assert_eq!(FaultKind::from_u32(3), None);
    }
}
