//! Arithmetic. In: an operator and two numbers (durations, timestamps), or two strings for
//! `+`. Out: the result, or a fault: division by zero and non-finite results are rule
//! errors; concatenation charges the result's bytes to the work budget.

use super::fault::{self, Fault};
use super::Meter;
use crate::value::Value;

/// An arithmetic operator. `#[repr(u32)]`: the JIT passes `op as u32` to its `arith`
/// helper, which reads it back with `from_u32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum ArithOp {
    Add = 0,
    Sub = 1,
    Mul = 2,
    Div = 3,
    Rem = 4,
}

impl ArithOp {
    const ALL: [ArithOp; 5] = [ArithOp::Add, ArithOp::Sub, ArithOp::Mul, ArithOp::Div, ArithOp::Rem];

    /// The operator whose code is `code`, if any.
    pub fn from_u32(code: u32) -> Option<ArithOp> {
        ArithOp::ALL.into_iter().find(|op| *op as u32 == code)
    }
}

/// `a op b`; concatenating strings charges the bytes of the result to `meter`.
pub(crate) fn arith(op: ArithOp, a: &Value, b: &Value, meter: &Meter) -> Result<Value, Fault> {
    match (op, a, b) {
        (ArithOp::Add, Value::Str(x), Value::Str(y)) => {
            meter.charge((x.len() + y.len()) as u64)?;
            let mut s = String::with_capacity(x.len() + y.len());
            s.push_str(x);
            s.push_str(y);
            Ok(Value::Str(s.into()))
        }
        (_, Value::Num(x), Value::Num(y)) => numbers(op, *x, *y).map(Value::Num),
        _ => Err(fault::cannot_compute(op, a, b)),
    }
}

/// `-a`.
pub(crate) fn negate(a: &Value) -> Result<Value, Fault> {
    match a {
        Value::Num(n) => Ok(Value::Num(-n)),
        other => Err(fault::cannot_negate(other)),
    }
}

/// `x op y` on numbers: what the interpreter, the JIT's helper and constant folding compute.
pub(crate) fn numbers(op: ArithOp, x: f64, y: f64) -> Result<f64, Fault> {
    let result = match op {
        ArithOp::Add => x + y,
        ArithOp::Sub => x - y,
        ArithOp::Mul => x * y,
        ArithOp::Div | ArithOp::Rem if y == 0.0 => return Err(fault::division_by_zero()),
        ArithOp::Div => x / y,
        // Truncated remainder: the sign follows the dividend (`-7 % 3 == -1`).
        ArithOp::Rem => x % y,
    };
    finite(result)
}

/// Numbers leaving an operation must be finite: infinities and NaN are rule errors.
pub(crate) fn finite(n: f64) -> Result<f64, Fault> {
    if n.is_finite() {
        Ok(n)
    } else {
        Err(fault::not_finite())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_round_trip_through_their_codes() {
        for op in ArithOp::ALL {
            assert_eq!(ArithOp::from_u32(op as u32), Some(op));
        }
        assert_eq!(ArithOp::from_u32(5), None);
    }

    #[test]
    fn failures_are_faults_not_values() {
        assert_eq!(numbers(ArithOp::Div, 1.0, 0.0), Err(fault::division_by_zero()));
        assert_eq!(numbers(ArithOp::Rem, 1.0, 0.0), Err(fault::division_by_zero()));
        assert_eq!(numbers(ArithOp::Mul, f64::MAX, 2.0), Err(fault::not_finite()));
        assert_eq!(numbers(ArithOp::Rem, -7.0, 3.0), Ok(-1.0));
    }
}
