//! The engine's builtin functions. In: a `Builtin` and its argument values (receiver
//! first), taken straight from the machine's stack, and the decision's work `Meter`. Out:
//! the result value, or a fault (a native's error message, a time out of range, the work
//! budget exhausted, or `internal:` for arguments of the wrong shape, which a well-typed
//! program never passes). `cost` is what a call charges, for every path that calls one.

use super::exec::{finite, internal, shape, Fault};
use super::Meter;
use crate::ir::Builtin;
use crate::stdlib::NATIVES;
use crate::value::Value;
use std::borrow::Cow;
use std::sync::Arc;
use time::OffsetDateTime;

/// Calls `builtin` on `args`, first charging its `cost` to `meter`.
pub(crate) fn call(builtin: Builtin, args: &[Value], meter: &Meter) -> Result<Value, Fault> {
    use Value::{List, Map, Num, Str};
    meter.charge(cost(builtin, args.first(), args.get(1)))?;
    Ok(match (builtin, args) {
        // strings
        (Builtin::StrLen, [Str(s)]) => count(s.chars().count()),
        (Builtin::Lower, [Str(s)]) => Value::str(&s.to_lowercase()),
        (Builtin::Upper, [Str(s)]) => Value::str(&s.to_uppercase()),
        (Builtin::Trim, [Str(s)]) => Value::str(s.trim()),
        (Builtin::StartsWith, [Str(s), Str(prefix)]) => Value::Bool(s.starts_with(&**prefix)),
        (Builtin::EndsWith, [Str(s), Str(suffix)]) => Value::Bool(s.ends_with(&**suffix)),
        (Builtin::StrContains, [Str(haystack), Str(needle)]) => Value::Bool(haystack.contains(&**needle)),
        (Builtin::Split, [Str(s), Str(sep)]) => split(s, sep),
        (Builtin::Before, [Str(s), Str(sep)]) => match s.split_once(&**sep) {
            Some((before, _)) => Value::str(before),
            None => Str(s.clone()),
        },
        (Builtin::After, [Str(s), Str(sep)]) => Value::str(s.split_once(&**sep).map_or("", |(_, after)| after)),
        // lists
        (Builtin::ListLen, [List(items)]) => count(items.len()),
        (Builtin::IsEmpty, [List(items)]) => Value::Bool(items.is_empty()),
        (Builtin::ListContains, [List(items), x]) => Value::Bool(items.contains(x)),
        (Builtin::Intersects, [List(a), List(b)]) => Value::Bool(a.iter().any(|x| b.contains(x))),
        (Builtin::SubsetOf, [List(a), List(b)]) => Value::Bool(a.iter().all(|x| b.contains(x))),
        // maps
        (Builtin::MapHasKey, [Map(map), Str(key)]) => Value::Bool(map.contains_key(&**key)),
        (Builtin::MapLen, [Map(map)]) => count(map.len()),
        // numbers
        (Builtin::Abs, [Num(n)]) => Num(n.abs()),
        (Builtin::Floor, [Num(n)]) => Num(n.floor()),
        (Builtin::Ceil, [Num(n)]) => Num(n.ceil()),
        // `f64::round` rounds half away from zero, as the language says.
        (Builtin::Round, [Num(n)]) => Num(n.round()),
        (Builtin::Min, [Num(a), Num(b)]) => Num(a.min(*b)),
        (Builtin::Max, [Num(a), Num(b)]) => Num(a.max(*b)),
        // time
        (Builtin::Hour, [Num(t)]) => Num(f64::from(utc(*t)?.hour())),
        (Builtin::Minute, [Num(t)]) => Num(f64::from(utc(*t)?.minute())),
        (Builtin::Weekday, [Num(t)]) => Num(f64::from(utc(*t)?.weekday().number_from_monday())),
        (Builtin::Day, [Num(t)]) => Num(f64::from(utc(*t)?.day())),
        (Builtin::Month, [Num(t)]) => Num(f64::from(u8::from(utc(*t)?.month()))),
        (Builtin::Year, [Num(t)]) => Num(f64::from(utc(*t)?.year())),
        (Builtin::Native(i), args) => return native(i, args),
        _ => return Err(wrong_arguments(builtin, args)),
    })
}

/// The work units a call of `builtin` with these first two arguments costs (see
/// `vm::meter`): the bytes of the string it scans, the elements it compares; 0 for what
/// takes constant time or time bounded by a literal-sized operand.
pub(crate) fn cost(builtin: Builtin, first: Option<&Value>, second: Option<&Value>) -> u64 {
    let len = |v: Option<&Value>| match v {
        Some(Value::Str(s)) => s.len() as u64,
        Some(Value::List(items)) => items.len() as u64,
        _ => 0,
    };
    match builtin {
        Builtin::StrLen
        | Builtin::Lower
        | Builtin::Upper
        | Builtin::Trim
        | Builtin::StrContains
        | Builtin::Split
        | Builtin::Before
        | Builtin::After
        | Builtin::Native(_)
        | Builtin::ListContains => len(first),
        Builtin::Intersects | Builtin::SubsetOf => len(first).saturating_mul(len(second)),
        _ => 0,
    }
}

fn count(n: usize) -> Value {
    // Lengths are far below 2^53, so the conversion is exact.
    Value::Num(n as f64)
}

/// An empty separator splits into characters (as JavaScript does), rather than giving
/// Rust's leading and trailing empty strings.
fn split(s: &str, sep: &str) -> Value {
    let parts: Arc<[Value]> =
        if sep.is_empty() { s.chars().map(|c| Value::str(c.encode_utf8(&mut [0; 4]))).collect() } else { s.split(sep).map(Value::str).collect() };
    Value::List(parts)
}

/// The UTC date and time of a timestamp (seconds since the epoch; fractions are dropped).
fn utc(t: f64) -> Result<OffsetDateTime, Fault> {
    finite(t)?;
    // `as i64` saturates; `from_unix_timestamp` then rejects what is out of its range.
    OffsetDateTime::from_unix_timestamp(t.floor() as i64).map_err(|_| Cow::Borrowed("timestamp out of range"))
}

fn native(i: u32, args: &[Value]) -> Result<Value, Fault> {
    let native = NATIVES.get(i as usize).ok_or_else(|| internal(format_args!("no native function {i}")))?;
    (native.f)(args).map_err(Cow::Owned)
}

fn wrong_arguments(builtin: Builtin, args: &[Value]) -> Fault {
    let shapes: Vec<&str> = args.iter().map(shape).collect();
    internal(format_args!("{builtin:?} cannot take ({})", shapes.join(", ")))
}
