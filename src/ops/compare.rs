//! Comparison. In: an operator and two values of one type (the checker's guarantee). Out:
//! the boolean, or an internal fault for operands no well-typed program compares.

use super::fault::{self, Fault};
use crate::value::Value;
use std::cmp::Ordering;

/// A comparison operator. `#[repr(u32)]`: the JIT passes `op as u32` to its `compare`
/// helper, which reads it back with `from_u32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum CmpOp {
    Eq = 0,
    Ne = 1,
    Lt = 2,
    Le = 3,
    Gt = 4,
    Ge = 5,
}

impl CmpOp {
    const ALL: [CmpOp; 6] = [CmpOp::Eq, CmpOp::Ne, CmpOp::Lt, CmpOp::Le, CmpOp::Gt, CmpOp::Ge];

    /// The operator whose code is `code`, if any.
    pub fn from_u32(code: u32) -> Option<CmpOp> {
        CmpOp::ALL.into_iter().find(|op| *op as u32 == code)
    }
}

/// `a op b`: `==` and `!=` compare any two values deeply; ordering compares numbers
/// (durations, timestamps) and strings (by bytes). An unordered pair (NaN) compares false,
/// as in IEEE.
pub(crate) fn compare(op: CmpOp, a: &Value, b: &Value) -> Result<bool, Fault> {
    let ordering = match op {
        CmpOp::Eq => return Ok(a == b),
        CmpOp::Ne => return Ok(a != b),
        CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge => match (a, b) {
            (Value::Num(x), Value::Num(y)) => x.partial_cmp(y),
            // `str`'s order is the bytes' order.
            (Value::Str(x), Value::Str(y)) => Some(x.cmp(y)),
            _ => return Err(fault::cannot_order(a, b)),
        },
    };
    Ok(match op {
        CmpOp::Lt => ordering == Some(Ordering::Less),
        CmpOp::Le => matches!(ordering, Some(Ordering::Less | Ordering::Equal)),
        CmpOp::Gt => ordering == Some(Ordering::Greater),
        CmpOp::Ge => matches!(ordering, Some(Ordering::Greater | Ordering::Equal)),
        CmpOp::Eq | CmpOp::Ne => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_round_trip_through_their_codes() {
        for op in CmpOp::ALL {
            assert_eq!(CmpOp::from_u32(op as u32), Some(op));
        }
        assert_eq!(CmpOp::from_u32(6), None);
    }
}
