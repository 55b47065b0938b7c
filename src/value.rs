//! Run-time values, shared by the request decoder, both backends and decisions.
//! Durations and timestamps are numbers (seconds); enums are strings; records are their
//! fields' values in declaration order.

use indexmap::IndexMap;
use smol_str::SmolStr;
use std::fmt;
use std::sync::Arc;

/// `repr(u8)` gives the layout the JIT reads directly: the tag in the first byte and the
/// payload at its alignment (`Num` at byte 8, `Bool` at byte 1); see `jit::codegen`.
/// Strings are `SmolStr`: up to 23 bytes inline (no allocation, no shared reference count
/// between threads), longer ones behind a shared `Arc`.
#[derive(Clone, Debug, PartialEq, Default)]
#[repr(u8)]
pub enum Value {
    /// An optional field that is not there, a map key or list index that is not there.
    #[default]
    Absent,
    /// A `bool`.
    Bool(bool),
    /// A number (also durations and timestamps, in seconds).
    Num(f64),
    /// A string (also enums).
    Str(SmolStr),
    /// A list.
    List(Arc<[Value]>),
    /// Field values in the order of the record type's declaration.
    Record(Arc<[Value]>),
    /// A map: string keys, in insertion order.
    Map(Arc<IndexMap<Arc<str>, Value>>),
}

impl Value {
    /// A string value.
    pub fn str(s: &str) -> Value {
        Value::Str(SmolStr::new(s))
    }

    /// The boolean, if it is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The number, if it is one.
    pub fn as_num(&self) -> Option<f64> {
        match self {
            Value::Num(n) => Some(*n),
            _ => None,
        }
    }

    /// The string, if it is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The elements, if it is a list.
    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    /// It is `Absent`.
    pub fn is_absent(&self) -> bool {
        matches!(self, Value::Absent)
    }
}

/// A number as the decision JSON writes it: whole numbers below 2^53 as integers (`10`,
/// not `10.0`), others as serde_json's shortest round-trip form (`2.5`, `1e300`).
pub fn json_number(n: f64) -> serde_json::Value {
    if n.is_finite() && n == n.trunc() && n.abs() < 9.007_199_254_740_992e15 {
        serde_json::Value::from(n as i64)
    } else {
        serde_json::Number::from_f64(n).map_or(serde_json::Value::Null, serde_json::Value::Number)
    }
}

/// Formats a number as JSON does: whole numbers without `.0` (`25000`, `2.5`).
pub fn format_number(n: f64) -> String {
    if n.is_finite() && n == n.trunc() && n.abs() < 1e17 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// The text form used in `because` templates: numbers as in JSON, strings without quotes,
/// lists as `[a, b]`.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Absent => write!(f, "(none)"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Num(n) => write!(f, "{}", format_number(*n)),
            Value::Str(s) => write!(f, "{s}"),
            Value::List(items) | Value::Record(items) => {
                write!(f, "[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{v}")?;
                }
                write!(f, "]")
            }
            Value::Map(m) => {
                write!(f, "{{")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                write!(f, "}}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_print_without_fraction() {
        assert_eq!(format_number(25000.0), "25000");
        assert_eq!(format_number(2.5), "2.5");
        assert_eq!(format_number(-3.0), "-3");
        assert_eq!(Value::List(Arc::from(vec![Value::str("a"), Value::Num(1.0)])).to_string(), "[a, 1]");
    }
}
