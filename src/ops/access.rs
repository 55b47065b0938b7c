//! Reading inside values. In: a record and a field index, a list or map and a key, a list
//! to iterate. Out: the element (absent where nothing is, absent operands included), or an
//! internal fault for shapes no well-typed program reads.

use super::fault::{self, Fault};
use crate::value::Value;

/// A record's field `i`; an absent record gives an absent field.
pub(crate) fn field(v: &Value, i: u32) -> Result<Value, Fault> {
    match v {
        Value::Record(fields) => fields.get(i as usize).cloned().ok_or_else(|| fault::no_field(i)),
        Value::Absent => Ok(Value::Absent),
        other => Err(fault::cannot_take_field(i, other)),
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
        _ => Err(fault::cannot_index(container, key)),
    }
}

/// The elements a quantifier iterates: a list's, or none for an absent list.
pub(crate) fn items(v: &Value) -> Result<&[Value], Fault> {
    match v {
        Value::List(items) => Ok(items),
        Value::Absent => Ok(&[]),
        other => Err(fault::cannot_iterate(other)),
    }
}
