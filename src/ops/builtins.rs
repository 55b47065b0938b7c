//! The builtins: one spec table, `BUILTINS`, read by the checker (which names and types a
//! method, function or timestamp part has), the interpreter (what a call computes and
//! costs) and the JIT (which calls have a fast path). In: a `Builtin` and its argument
//! values (receiver first) and the decision's work `Meter`. Out: the result value, or a
//! fault (a native's error message, a timestamp out of range, the work budget exhausted,
//! or `internal:` for arguments of the wrong shape, which a well-typed program never
//! passes).
//!
//! Adding a builtin is one entry in `BUILTINS` (docs/ARCHITECTURE.md "Adding a builtin");
//! its `imp` names the shape of its arguments, so the adapter in `apply` does the shape
//! checks once for every builtin of that shape. The stdlib's natives (`stdlib::NATIVES`)
//! are the other kind of builtin: declared in `.pol` files, called here by index.

use super::fault::{self, Fault};
use super::Meter;
use crate::stdlib::NATIVES;
use crate::value::Value;
use indexmap::IndexMap;
use smol_str::SmolStr;
use std::sync::Arc;
use time::OffsetDateTime;

/// A function or method implemented by the engine. Argument order: receiver first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    /// `BUILTINS[i]`.
    Engine(u32),
    /// A function of the standard library written in Rust: index into `stdlib::NATIVES`.
    Native(u32),
}

impl Builtin {
    /// The table entry of an engine builtin (`None` for a native, or an index the table
    /// does not have).
    pub fn spec(self) -> Option<&'static BuiltinSpec> {
        match self {
            Builtin::Engine(i) => BUILTINS.get(i as usize),
            Builtin::Native(_) => None,
        }
    }

    /// The name of the builtin in listings and internal faults: the entry's `id`, or the
    /// native's `FILE.NAME`.
    pub fn id(self) -> &'static str {
        match self {
            Builtin::Engine(i) => BUILTINS.get(i as usize).map_or("?", |s| s.id),
            Builtin::Native(i) => NATIVES.get(i as usize).map_or("?", |n| n.name),
        }
    }
}

/// What a builtin is called on, as the checker sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Recv {
    /// `s.NAME(...)` on strings and enums.
    String,
    /// `l.NAME(...)` on `list<T>`.
    List,
    /// `l.NAME(...)` on `list<string>` (and lists of enums) only.
    Strings,
    /// `n.NAME()` on `number` (not durations or timestamps).
    Number,
    /// `m.NAME(...)` on `map<T>`.
    Map,
    /// `t.NAME`: a part of a timestamp, written as a field, in UTC.
    Timestamp,
    /// `NAME(a, b)`: a function of the language, without a receiver.
    Function,
}

/// A parameter's or result's type, relative to the receiver's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Bool,
    Number,
    String,
    /// `list<string>`.
    Strings,
    /// `number?`: a number, or absent.
    OptNumber,
    /// The receiver list's element type `T`.
    Elem,
    /// The receiver's own type (`list<T>` for a list).
    Same,
    /// A number, duration or timestamp; the arguments' types join into the result's.
    Numeric,
}

/// The work units a call charges (`ops::meter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cost {
    /// Constant time, or time bounded by a literal-sized operand.
    Free,
    /// The bytes of the string, or the elements of the list, it is called on.
    Scan,
    /// The product of the two lists' lengths.
    Pairs,
    /// `replace`: the text's bytes plus the bytes the replacements write.
    Replace,
    /// `join`: the bytes of the joined text.
    Joined,
}

type Map = IndexMap<Arc<str>, Value>;

/// How a builtin computes, by the shape of its arguments (receiver first). A language
/// form is accepted by the checker like a method but is an IR node of its own, not a call.
#[derive(Clone, Copy)]
pub enum Imp {
    Str(fn(&SmolStr) -> Value),
    StrStr(fn(&SmolStr, &str) -> Value),
    StrStrStr(fn(&SmolStr, &str, &str) -> Value),
    List(fn(&[Value]) -> Value),
    /// A list of strings and a string.
    StringsStr(fn(&[&str], &str) -> Value),
    ListValue(fn(&[Value], &Value) -> Value),
    ListList(fn(&[Value], &[Value]) -> Value),
    Map(fn(&Map) -> Value),
    MapStr(fn(&Map, &str) -> Value),
    Num(fn(f64) -> f64),
    NumNum(fn(f64, f64) -> f64),
    /// A number to a value of another type.
    NumTo(fn(f64) -> Value),
    /// A part of the UTC date and time of a timestamp (seconds since the epoch; fractions
    /// are dropped).
    Time(fn(&OffsetDateTime) -> i32),
    Form(Form),
}

/// The methods that are not calls: `matches`/`find_all` (a literal regex, `ExprKind::Regex`)
/// and the quantifiers (a lambda, `ExprKind::Quant`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    Matches,
    FindAll,
    Any,
    All,
    Count,
    Map,
    Filter,
}

/// A faster way for the JIT to make a call than its generic `call` helper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JitFast {
    /// Inline on a native number (`fabs`, `floor`, `ceil`; `round` through its helper).
    Float(FloatOp),
    /// A boolean of two arguments through `predicate2`, which computes it on the borrowed
    /// operands (no clones, nothing allocated, no call through `imp`); a string test with a
    /// constant string as the second argument is the test's byte comparison (`str_test`,
    /// `str_find`) instead.
    Predicate(Pred),
}

/// What a `JitFast::Predicate` computes: `predicate2` matches on it, so each builtin's
/// borrowed test is named here rather than guessed from its shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pred {
    /// A byte test of a string against a string.
    Str(StrTest),
    /// `x in l`: `l.contains(x)` on a list.
    ListContains,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FloatOp {
    Abs,
    Floor,
    Ceil,
    Round,
}

/// The byte tests of a string against a constant. `#[repr(u32)]`: the JIT passes
/// `test as u32` to its `str_test` helper, which reads it back with `from_u32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum StrTest {
    /// `s == "constant"` (a comparison, not a builtin).
    Eq = 0,
    Starts = 1,
    Ends = 2,
    Contains = 3,
}

impl StrTest {
    const ALL: [StrTest; 4] = [StrTest::Eq, StrTest::Starts, StrTest::Ends, StrTest::Contains];

    /// The test whose code is `code`, if any.
    pub fn from_u32(code: u32) -> Option<StrTest> {
        StrTest::ALL.into_iter().find(|t| *t as u32 == code)
    }

    /// Whether `s` passes the test against `t`: the one definition, used by the table's
    /// builtins and by the JIT's borrowed fast path alike.
    pub fn holds(self, s: &str, t: &str) -> bool {
        match self {
            StrTest::Eq => s == t,
            StrTest::Starts => s.starts_with(t),
            StrTest::Ends => s.ends_with(t),
            StrTest::Contains => s.contains(t),
        }
    }

    /// The builtin whose JIT fast path this test is (`None` for `Eq`).
    pub fn builtin(self) -> Option<Builtin> {
        BUILTINS.iter().position(|s| s.jit == Some(JitFast::Predicate(Pred::Str(self)))).map(|i| Builtin::Engine(i as u32))
    }
}

/// One builtin.
pub struct BuiltinSpec {
    /// Unique: names the builtin in disassembly and internal faults (`list_contains`).
    pub id: &'static str,
    /// As written in policies (`contains`): unique per receiver.
    pub name: &'static str,
    pub recv: Recv,
    /// The parameters after the receiver (all of them for a `Function`).
    pub params: &'static [Ty],
    pub result: Ty,
    pub cost: Cost,
    pub imp: Imp,
    pub jit: Option<JitFast>,
}

const fn spec(id: &'static str, name: &'static str, recv: Recv, params: &'static [Ty], result: Ty, cost: Cost, imp: Imp) -> BuiltinSpec {
    BuiltinSpec { id, name, recv, params, result, cost, imp, jit: None }
}

const fn fast(s: BuiltinSpec, jit: JitFast) -> BuiltinSpec {
    BuiltinSpec { jit: Some(jit), ..s }
}

const fn form(name: &'static str, recv: Recv, form: Form) -> BuiltinSpec {
    spec(name, name, recv, &[], Ty::Bool, Cost::Free, Imp::Form(form))
}

use Cost::{Free, Joined, Pairs, Replace, Scan};
use Recv::{Function, List as OnList, Map as OnMap, Number as OnNumber, String as OnString, Strings as OnStrings, Timestamp as OnTime};
use Ty::{Bool, Elem, Number, Numeric, OptNumber, Same, String, Strings};

/// Every builtin. Within a receiver, the order is the order methods are listed in
/// diagnostics (`` methods of `string`: ... ``).
#[rustfmt::skip]
pub static BUILTINS: &[BuiltinSpec] = &[
    // strings
    spec("str_len", "len", OnString, &[], Number, Scan, Imp::Str(|s| count(s.chars().count()))),
    spec("lower", "lower", OnString, &[], String, Scan, Imp::Str(|s| Value::str(&s.to_lowercase()))),
    spec("upper", "upper", OnString, &[], String, Scan, Imp::Str(|s| Value::str(&s.to_uppercase()))),
    spec("trim", "trim", OnString, &[], String, Scan, Imp::Str(|s| Value::str(s.trim()))),
    fast(spec("starts_with", "starts_with", OnString, &[String], Bool, Free, Imp::StrStr(|s, p| Value::Bool(StrTest::Starts.holds(s, p)))), JitFast::Predicate(Pred::Str(StrTest::Starts))),
    fast(spec("ends_with", "ends_with", OnString, &[String], Bool, Free, Imp::StrStr(|s, p| Value::Bool(StrTest::Ends.holds(s, p)))), JitFast::Predicate(Pred::Str(StrTest::Ends))),
    // `s.contains(t)` and `t in s`
    fast(spec("str_contains", "contains", OnString, &[String], Bool, Scan, Imp::StrStr(|s, t| Value::Bool(StrTest::Contains.holds(s, t)))), JitFast::Predicate(Pred::Str(StrTest::Contains))),
    form("matches", OnString, Form::Matches),
    form("find_all", OnString, Form::FindAll),
    spec("split", "split", OnString, &[String], Strings, Scan, Imp::StrStr(split)),
    // Text before the first `sep` (the whole text when there is none).
    spec("before", "before", OnString, &[String], String, Scan, Imp::StrStr(|s, sep| match s.split_once(sep) {
        Some((before, _)) => Value::str(before),
        None => Value::Str(s.clone()),
    })),
    // Text after the first `sep` (empty when there is none).
    spec("after", "after", OnString, &[String], String, Scan, Imp::StrStr(|s, sep| Value::str(s.split_once(sep).map_or("", |(_, after)| after)))),
    // Every non-overlapping occurrence of `from` replaced, left to right (an empty `from`
    // leaves the text as it is, rather than Rust's insertion between every character).
    spec("replace", "replace", OnString, &[String, String], String, Replace, Imp::StrStrStr(|s, from, to| {
        if from.is_empty() { Value::Str(s.clone()) } else { Value::str(&s.replace(from, to)) }
    })),
    // The number the trimmed text writes in JSON's grammar (a leading `+` allowed), or
    // absent (not a number, or out of a double's range).
    spec("to_number", "to_number", OnString, &[], OptNumber, Scan, Imp::Str(|s| parse_number(s).map_or(Value::Absent, Value::Num))),
    // lists
    spec("list_len", "len", OnList, &[], Number, Free, Imp::List(|items| count(items.len()))),
    spec("is_empty", "is_empty", OnList, &[], Bool, Free, Imp::List(|items| Value::Bool(items.is_empty()))),
    // `l.contains(x)` and `x in l`
    fast(spec("list_contains", "contains", OnList, &[Elem], Bool, Scan, Imp::ListValue(|items, x| Value::Bool(items.contains(x)))), JitFast::Predicate(Pred::ListContains)),
    form("any", OnList, Form::Any),
    form("all", OnList, Form::All),
    form("count", OnList, Form::Count),
    spec("intersects", "intersects", OnList, &[Same], Bool, Pairs, Imp::ListList(|a, b| Value::Bool(a.iter().any(|x| b.contains(x))))),
    spec("subset_of", "subset_of", OnList, &[Same], Bool, Pairs, Imp::ListList(|a, b| Value::Bool(a.iter().all(|x| b.contains(x))))),
    form("map", OnList, Form::Map),
    form("filter", OnList, Form::Filter),
    // lists of strings
    spec("join", "join", OnStrings, &[String], String, Joined, Imp::StringsStr(|items, sep| Value::str(&items.join(sep)))),
    // numbers
    fast(spec("abs", "abs", OnNumber, &[], Number, Free, Imp::Num(f64::abs)), JitFast::Float(FloatOp::Abs)),
    fast(spec("floor", "floor", OnNumber, &[], Number, Free, Imp::Num(f64::floor)), JitFast::Float(FloatOp::Floor)),
    fast(spec("ceil", "ceil", OnNumber, &[], Number, Free, Imp::Num(f64::ceil)), JitFast::Float(FloatOp::Ceil)),
    // `f64::round` rounds half away from zero, as the language says.
    fast(spec("round", "round", OnNumber, &[], Number, Free, Imp::Num(f64::round)), JitFast::Float(FloatOp::Round)),
    // The text the decision JSON writes for the number (`10`, `2.5`).
    spec("to_string", "to_string", OnNumber, &[], String, Free, Imp::NumTo(|n| Value::str(&crate::value::json_number(n).to_string()))),
    // maps
    spec("map_len", "len", OnMap, &[], Number, Free, Imp::Map(|map| count(map.len()))),
    // `m.contains(k)` and `k in m`
    spec("map_has_key", "contains", OnMap, &[String], Bool, Free, Imp::MapStr(|map, key| Value::Bool(map.contains_key(key)))),
    // functions
    spec("min", "min", Function, &[Numeric, Numeric], Numeric, Free, Imp::NumNum(f64::min)),
    spec("max", "max", Function, &[Numeric, Numeric], Numeric, Free, Imp::NumNum(f64::max)),
    // timestamp parts (UTC)
    spec("hour", "hour", OnTime, &[], Number, Free, Imp::Time(|t| i32::from(t.hour()))),
    spec("minute", "minute", OnTime, &[], Number, Free, Imp::Time(|t| i32::from(t.minute()))),
    // 1 = Monday ... 7 = Sunday
    spec("weekday", "weekday", OnTime, &[], Number, Free, Imp::Time(|t| i32::from(t.weekday().number_from_monday()))),
    spec("day", "day", OnTime, &[], Number, Free, Imp::Time(|t| i32::from(t.day()))),
    spec("month", "month", OnTime, &[], Number, Free, Imp::Time(|t| i32::from(u8::from(t.month())))),
    spec("year", "year", OnTime, &[], Number, Free, Imp::Time(|t| t.year())),
];

/// The builtin called `name` on `recv`, with its entry.
pub fn find(recv: Recv, name: &str) -> Option<(Builtin, &'static BuiltinSpec)> {
    BUILTINS.iter().position(|s| s.recv == recv && s.name == name).map(|i| (Builtin::Engine(i as u32), &BUILTINS[i]))
}

/// The builtin whose `id` is `id` (for tests, which name builtins).
#[cfg(test)]
pub fn by_id(id: &str) -> Option<Builtin> {
    BUILTINS.iter().position(|s| s.id == id).map(|i| Builtin::Engine(i as u32))
}

/// The names `recv` has, in table order (for diagnostics).
pub fn names(recv: Recv) -> impl Iterator<Item = &'static str> {
    BUILTINS.iter().filter(move |s| s.recv == recv).map(|s| s.name)
}

/// Calls `builtin` on `args`, first charging its cost to `meter`.
pub(crate) fn call(builtin: Builtin, args: &[Value], meter: &Meter) -> Result<Value, Fault> {
    match builtin {
        Builtin::Engine(i) => {
            let spec = BUILTINS.get(i as usize).ok_or_else(|| fault::no_such("builtin", i))?;
            match args {
                [a] => spec.call(a, None, None, meter),
                [a, b] => spec.call(a, Some(b), None, meter),
                [a, b, c] => spec.call(a, Some(b), Some(c), meter),
                _ => Err(fault::wrong_arguments(spec.id, &args.iter().collect::<Vec<_>>())),
            }
        }
        Builtin::Native(i) => {
            meter.charge(Cost::Scan.units(args.first(), None, None))?;
            let native = NATIVES.get(i as usize).ok_or_else(|| fault::no_such("native function", i))?;
            (native.f)(args).map_err(fault::native)
        }
    }
}

impl BuiltinSpec {
    /// Calls the builtin on `a` (and `b`, `c`), borrowed, first charging its cost to `meter`.
    pub(crate) fn call(&self, a: &Value, b: Option<&Value>, c: Option<&Value>, meter: &Meter) -> Result<Value, Fault> {
        meter.charge(self.cost.units(Some(a), b, c))?;
        apply(self.imp, a, b, c).unwrap_or_else(|| Err(fault::wrong_arguments(self.id, &[Some(a), b, c].into_iter().flatten().collect::<Vec<_>>())))
    }

    /// The number of arguments a call passes, receiver included.
    pub fn arity(&self) -> usize {
        self.params.len() + usize::from(self.recv != Recv::Function)
    }
}

impl Cost {
    /// The units a call with these arguments costs.
    pub(crate) fn units(self, first: Option<&Value>, second: Option<&Value>, third: Option<&Value>) -> u64 {
        let len = |v: Option<&Value>| match v {
            Some(Value::Str(s)) => s.len() as u64,
            Some(Value::List(items)) => items.len() as u64,
            _ => 0,
        };
        match self {
            Cost::Free => 0,
            Cost::Scan => len(first),
            Cost::Pairs => len(first).saturating_mul(len(second)),
            // What is written, not only what is read: `"a".replace("", ...)` aside, one
            // character replaced by a long text repeats it once per occurrence.
            Cost::Replace => match (first, second) {
                (Some(Value::Str(s)), Some(Value::Str(from))) if !from.is_empty() => {
                    (s.matches(from.as_str()).count() as u64).saturating_mul(len(third)).saturating_add(len(first))
                }
                _ => len(first),
            },
            // A long separator between many elements writes far more than either.
            Cost::Joined => match first {
                Some(Value::List(items)) => items
                    .iter()
                    .map(|x| len(Some(x)))
                    .fold(0u64, u64::saturating_add)
                    .saturating_add((items.len() as u64).saturating_mul(len(second)))
                    .saturating_add(len(first)),
                _ => 0,
            },
        }
    }
}

/// `imp` on the arguments, or `None` when their shapes (or number) are not the ones `imp`
/// takes.
pub(super) fn apply(imp: Imp, a: &Value, b: Option<&Value>, c: Option<&Value>) -> Option<Result<Value, Fault>> {
    use Value::{List, Map, Num, Str};
    if let (Imp::StrStrStr(f), Str(s), Some(Str(t)), Some(Str(u))) = (imp, a, b, c) {
        return Some(Ok(f(s, t, u)));
    }
    if c.is_some() {
        return None;
    }
    Some(Ok(match (imp, a, b) {
        (Imp::Str(f), Str(s), None) => f(s),
        (Imp::StrStr(f), Str(s), Some(Str(t))) => f(s, t),
        (Imp::List(f), List(items), None) => f(items),
        (Imp::StringsStr(f), List(items), Some(Str(sep))) => {
            let strs: Option<Vec<&str>> = items.iter().map(|x| if let Str(s) = x { Some(s.as_str()) } else { None }).collect();
            f(&strs?, sep)
        }
        (Imp::ListValue(f), List(items), Some(x)) => f(items, x),
        (Imp::ListList(f), List(x), Some(List(y))) => f(x, y),
        (Imp::Map(f), Map(map), None) => f(map),
        (Imp::MapStr(f), Map(map), Some(Str(key))) => f(map, key),
        (Imp::Num(f), Num(n), None) => Num(f(*n)),
        (Imp::NumNum(f), Num(x), Some(Num(y))) => Num(f(*x, *y)),
        (Imp::NumTo(f), Num(n), None) => f(*n),
        (Imp::Time(f), Num(t), None) => match utc(*t) {
            Ok(t) => Num(f64::from(f(&t))),
            Err(e) => return Some(Err(e)),
        },
        _ => return None,
    }))
}

fn count(n: usize) -> Value {
    // Lengths are far below 2^53, so the conversion is exact.
    Value::Num(n as f64)
}

/// An empty separator splits into characters (as JavaScript does), rather than giving
/// Rust's leading and trailing empty strings.
fn split(s: &SmolStr, sep: &str) -> Value {
    let parts: Arc<[Value]> =
        if sep.is_empty() { s.chars().map(|c| Value::str(c.encode_utf8(&mut [0; 4]))).collect() } else { s.split(sep).map(Value::str).collect() };
    Value::List(parts)
}

/// The number `text` writes, trimmed: JSON's grammar (`-`, digits without a leading zero,
/// an optional fraction and exponent), with a leading `+` also allowed; `None` for anything
/// else and for a number beyond a double's range (`1e400`), never infinity.
pub fn parse_number(text: &str) -> Option<f64> {
    let t = text.trim();
    let body = t.strip_prefix('+').unwrap_or(t);
    let digits = body.strip_prefix('-').unwrap_or(body);
    if body.len() != t.len() && digits.len() != body.len() {
        return None; // `+-1`
    }
    let b = digits.as_bytes();
    let int_len = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if int_len == 0 || (int_len > 1 && b[0] == b'0') {
        return None;
    }
    let mut i = int_len;
    if b.get(i) == Some(&b'.') {
        let frac = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if frac == 0 {
            return None;
        }
        i += 1 + frac;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if exp == 0 {
            return None;
        }
        i += exp;
    }
    if i != b.len() {
        return None;
    }
    // std's parser is correctly rounded, as the request decoders are.
    body.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// The UTC date and time of a timestamp (seconds since the epoch; fractions are dropped).
fn utc(t: f64) -> Result<OffsetDateTime, Fault> {
    super::arith::finite(t)?;
    // `as i64` saturates; `from_unix_timestamp` then rejects what is out of its range.
    OffsetDateTime::from_unix_timestamp(t.floor() as i64).map_err(|_| fault::timestamp_out_of_range())
}
