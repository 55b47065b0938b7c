//! Schema-directed decoding of one declared value. In: a serde_json deserializer positioned
//! on a value and the decode-tree `Node` declared there. Out: the value's slots filled in
//! the `Sink`, every input error found pushed there, and the `Value` itself when an
//! enclosing slot needs it. Type mismatches (and undeclared keys in a closed tool's
//! records) are recorded and the value skipped, so decoding goes on; only malformed JSON
//! stops it (the `Err` of the serde calls).

use super::errors::{self, Found, Path};
use super::tree::{FieldNode, Kind, Node, RecordNode};
use super::InputError;
use crate::value::{format_number, Value};
use indexmap::IndexMap;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use smol_str::SmolStr;
use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Where decoding writes: the frame's slots and the errors found so far.
pub(super) struct Sink<'f> {
    pub slots: &'f mut [Value],
    pub errors: &'f mut Vec<InputError>,
}

impl Sink<'_> {
    pub fn fill(&mut self, slots: &[usize], value: &Value) {
        for &i in slots {
            if let Some(slot) = self.slots.get_mut(i) {
                *slot = value.clone();
            }
        }
    }

    pub fn error(&mut self, error: InputError) {
        self.errors.push(error);
    }
}

/// Seconds since the Unix epoch of an RFC 3339 timestamp, fractional seconds kept.
pub(super) fn parse_timestamp(text: &str) -> Option<f64> {
    let t = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    Some(t.unix_timestamp() as f64 + f64::from(t.nanosecond()) / 1e9)
}

/// Which declared fields an object has had, to find duplicates and missing fields without
/// allocating for records of up to 64 fields.
pub(super) struct Seen {
    low: u64,
    high: Vec<bool>,
}

impl Seen {
    pub fn new(fields: usize) -> Seen {
        Seen { low: 0, high: vec![false; fields.saturating_sub(64)] }
    }

    /// Marks field `i`; false if it was already there.
    pub fn insert(&mut self, i: usize) -> bool {
        if i < 64 {
            let bit = 1u64 << i;
            let fresh = self.low & bit == 0;
            self.low |= bit;
            fresh
        } else {
            match self.high.get_mut(i - 64) {
                Some(flag) => !std::mem::replace(flag, true),
                None => true,
            }
        }
    }

    /// Whether every required field of `rec` has been seen, without looking at each field
    /// when the record has at most 64 fields.
    pub fn has_required(&self, rec: &RecordNode) -> bool {
        self.low & rec.required_low == rec.required_low && !rec.required_high
    }

    pub fn contains(&self, i: usize) -> bool {
        if i < 64 {
            self.low & (1u64 << i) != 0
        } else {
            self.high.get(i - 64).copied().unwrap_or(false)
        }
    }
}

/// The number a `lenient number`'s string holds: after trimming, a plain decimal (an
/// optional sign, digits, an optional `.` and digits, an optional exponent) that is finite.
/// No `inf`, `nan`, hex, `_`, `,` or empty text: a string that is not plainly a number is
/// an input error, not a guess.
pub(super) fn numeric_string(s: &str) -> Option<f64> {
    let t = s.trim();
    let b = t.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i > start
    };
    if !digits(&mut i) {
        return None;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if !digits(&mut i) {
            return None;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !digits(&mut i) {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    // `str::parse` rounds correctly, as the JSON reader does, so `"10.1"` and `10.1` agree.
    t.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// Decodes the value at a node: validates it, fills its slots, returns it when built
/// (`Value::Absent` otherwise, and for a `null` optional).
pub(super) struct NodeSeed<'a, 'f> {
    pub node: &'a Node,
    pub sink: &'a mut Sink<'f>,
    pub path: Path<'a>,
}

impl<'de> DeserializeSeed<'de> for NodeSeed<'_, '_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        let NodeSeed { node, sink, path } = self;
        let value = match node.kind {
            Kind::Any if path.in_args() => {
                d.deserialize_any(SkipFinite)?;
                Value::Absent
            }
            Kind::Any => {
                IgnoredAny::deserialize(d)?;
                Value::Absent
            }
            _ => match d.deserialize_any(NodeVisitor { node, sink: &mut *sink, path }) {
                Ok(value) => value,
                Err(e) => {
                    // serde_json refuses a number beyond the largest double (`1e400`) before a
                    // visitor sees it, and the parse cannot go on. Where a number is declared,
                    // say so at its path; `Decoder::decode_full` ends the decoding with it.
                    if matches!(node.kind, Kind::Number) && e.to_string().starts_with(errors::OUT_OF_RANGE) {
                        sink.error(errors::number_out_of_range(&path));
                    }
                    return Err(e);
                }
            },
        };
        if !node.slots.is_empty() {
            sink.fill(&node.slots, &value);
        }
        Ok(value)
    }
}

struct NodeVisitor<'a, 'f> {
    node: &'a Node,
    sink: &'a mut Sink<'f>,
    path: Path<'a>,
}

impl NodeVisitor<'_, '_> {
    fn mismatch(self, found: Found) -> Value {
        self.sink.error(errors::mismatch(&self.path, self.node, found));
        Value::Absent
    }

    fn number(self, n: f64, text: impl FnOnce() -> String) -> Value {
        match self.node.kind {
            Kind::Number | Kind::LenientNumber | Kind::Duration => Value::Num(n),
            _ => self.mismatch(Found::Num(text())),
        }
    }
}

impl<'de> Visitor<'de> for NodeVisitor<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.node.expected)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(match self.node.kind {
            Kind::Bool => Value::Bool(b),
            _ => self.mismatch(Found::Bool(b)),
        })
    }

    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(self.number(n as f64, || n.to_string()))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        // Integers beyond 2^53 are accepted and rounded, as JSON numbers are doubles.
        Ok(self.number(n as f64, || n.to_string()))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Value, E> {
        Ok(self.number(n, || format_number(n)))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        let node = self.node;
        Ok(match &node.kind {
            Kind::String if node.build => Value::Str(SmolStr::new(s)),
            Kind::String => Value::Absent,
            Kind::Enum(values) => match values.iter().find(|v| &***v == s) {
                Some(v) => Value::Str(v.clone()),
                None => self.mismatch(Found::string(s)),
            },
            Kind::Timestamp => match parse_timestamp(s) {
                Some(t) => Value::Num(t),
                None => self.mismatch(Found::string(s)),
            },
            Kind::LenientNumber => match numeric_string(s) {
                Some(n) => Value::Num(n),
                None => self.mismatch(Found::string(s)),
            },
            _ => self.mismatch(Found::string(s)),
        })
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        // `null` on an optional field means the field is not there.
        Ok(if self.node.optional { Value::Absent } else { self.mismatch(Found::Null) })
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Value, E> {
        self.visit_unit()
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Value, A::Error> {
        let NodeVisitor { node, sink, path } = self;
        match &node.kind {
            Kind::List(elem) => decode_list(elem, node.build, sink, path, seq),
            _ => {
                sink.error(errors::mismatch(&path, node, Found::List));
                drain_seq(seq)?;
                Ok(Value::Absent)
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Value, A::Error> {
        let NodeVisitor { node, sink, path } = self;
        match &node.kind {
            Kind::Record(rec) => decode_record(rec, node.build, sink, path, map),
            Kind::Map(elem) => decode_map(elem, node.build, sink, path, map),
            _ => {
                sink.error(errors::mismatch(&path, node, Found::Object));
                drain_map(map)?;
                Ok(Value::Absent)
            }
        }
    }
}

fn decode_list<'de, A: SeqAccess<'de>>(elem: &Node, build: bool, sink: &mut Sink, path: Path, mut seq: A) -> Result<Value, A::Error> {
    let mut items = Vec::new();
    let mut index = 0usize;
    loop {
        let seed = NodeSeed { node: elem, sink: &mut *sink, path: Path::Index(&path, index) };
        let Some(item) = seq.next_element_seed(seed)? else { break };
        if build {
            items.push(item);
        }
        index += 1;
    }
    Ok(if build { Value::List(items.into()) } else { Value::Absent })
}

/// A record: declared fields decoded (their slots written), undeclared ones skipped,
/// duplicates and missing required fields reported.
pub(super) fn decode_record<'de, A: MapAccess<'de>>(rec: &RecordNode, build: bool, sink: &mut Sink, path: Path, mut map: A) -> Result<Value, A::Error> {
    let mut seen = Seen::new(rec.fields.len());
    let mut values = if build { vec![Value::Absent; rec.fields.len()] } else { Vec::new() };
    while let Some(key) = map.next_key_seed(FieldKey(rec))? {
        let (i, field) = match key {
            FieldKeyOf::Declared(i, field) => (i, field),
            FieldKeyOf::Undeclared(name) => {
                if let (Some(name), Some(tool)) = (name, &rec.closed_by) {
                    sink.error(errors::undeclared(&path, &name, tool));
                }
                skip(&mut map, &path)?;
                continue;
            }
        };
        if !seen.insert(i) {
            sink.error(errors::duplicate(&path, &field.name, &field.node.expected));
            map.next_value::<IgnoredAny>()?;
            continue;
        }
        let seed = NodeSeed { node: &field.node, sink: &mut *sink, path: Path::Key(&path, &field.name) };
        let value = map.next_value_seed(seed)?;
        if let Some(slot) = values.get_mut(i) {
            *slot = value;
        }
    }
    report_missing(rec, &seen, sink, &path);
    Ok(if build { Value::Record(values.into()) } else { Value::Absent })
}

pub(super) fn report_missing(rec: &RecordNode, seen: &Seen, sink: &mut Sink, path: &Path) {
    if seen.has_required(rec) {
        return;
    }
    for (i, field) in rec.fields.iter().enumerate() {
        if !field.node.optional && !seen.contains(i) {
            sink.error(errors::missing(&Path::Key(path, &field.name), &field.node.expected));
        }
    }
}

/// A record that is not there at all (`args` missing or `null`): its required fields are
/// missing, and a slot on it gets a record of absent fields.
pub(super) fn absent_record(node: &Node, sink: &mut Sink, path: &Path) {
    let Kind::Record(rec) = &node.kind else { return };
    report_missing(rec, &Seen::new(rec.fields.len()), sink, path);
    if !node.slots.is_empty() {
        let value = Value::Record(vec![Value::Absent; rec.fields.len()].into());
        sink.fill(&node.slots, &value);
    }
}

fn decode_map<'de, A: MapAccess<'de>>(elem: &Node, build: bool, sink: &mut Sink, path: Path, mut map: A) -> Result<Value, A::Error> {
    let mut built: IndexMap<Arc<str>, Value> = IndexMap::new();
    // Keys seen when no value is built; still needed to refuse duplicates.
    let mut keys: HashSet<Cow<'de, str>> = HashSet::new();
    while let Some(key) = map.next_key_seed(KeySeed)? {
        let duplicate = if build { built.contains_key(&*key) } else { keys.contains(&*key) };
        if duplicate {
            sink.error(errors::duplicate(&path, &key, &elem.expected));
            map.next_value::<IgnoredAny>()?;
            continue;
        }
        let seed = NodeSeed { node: elem, sink: &mut *sink, path: Path::Key(&path, &key) };
        let value = map.next_value_seed(seed)?;
        if build {
            built.insert(Arc::from(&*key), value);
        } else {
            keys.insert(key);
        }
    }
    Ok(if build { Value::Map(Arc::new(built)) } else { Value::Absent })
}

/// Skips the value of an undeclared key at `path`.
fn skip<'de, A: MapAccess<'de>>(map: &mut A, path: &Path) -> Result<(), A::Error> {
    if path.in_args() {
        map.next_value_seed(SkipFinite)
    } else {
        map.next_value::<IgnoredAny>().map(drop)
    }
}

/// Skips a value, but fails, as malformed JSON, on a number beyond the largest double
/// (`1e400`). Inside `args` a value the rules do not read may still be rewritten by `redact`
/// or `set`, which parse the arguments: were that to fail, the call would run as sent. So a
/// request whose arguments cannot be parsed is an input error on both decoding paths (the
/// fast path hands such a number over), never a rewrite silently dropped.
struct SkipFinite;

impl<'de> DeserializeSeed<'de> for SkipFinite {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        // `deserialize_any` parses numbers (`IgnoredAny` only checks their syntax), and
        // serde_json refuses one out of range.
        d.deserialize_any(SkipFinite)
    }
}

impl<'de> Visitor<'de> for SkipFinite {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<(), E> {
        if n.is_finite() {
            Ok(())
        } else {
            Err(E::custom("number out of range"))
        }
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(SkipFinite)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_key::<IgnoredAny>()?.is_some() {
            map.next_value_seed(SkipFinite)?;
        }
        Ok(())
    }
}

pub(super) fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

pub(super) fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

/// A record's key, looked up among its declared fields without allocating (but for an
/// undeclared key of a closed record, whose name the error needs).
struct FieldKey<'a>(&'a RecordNode);

enum FieldKeyOf<'a> {
    Declared(usize, &'a FieldNode),
    /// The key, when the record is closed.
    Undeclared(Option<String>),
}

impl<'de, 'a> DeserializeSeed<'de> for FieldKey<'a> {
    type Value = FieldKeyOf<'a>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de, 'a> Visitor<'de> for FieldKey<'a> {
    type Value = FieldKeyOf<'a>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        Ok(match self.0.find(s.as_bytes()) {
            Some((i, field)) => FieldKeyOf::Declared(i, field),
            None => FieldKeyOf::Undeclared(self.0.closed_by.is_some().then(|| s.to_owned())),
        })
    }
}

/// A map key, borrowed from the input unless it had escapes.
pub(super) struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(s))
    }

    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(s.to_owned()))
    }
}

/// A string, or what was found instead (the value skipped). For `tool` and `time`.
pub(super) struct StrSeed;

impl<'de> DeserializeSeed<'de> for StrSeed {
    type Value = Result<Cow<'de, str>, Found>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrSeed {
    type Value = Result<Cow<'de, str>, Found>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(Ok(Cow::Borrowed(s)))
    }

    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Ok(Cow::Owned(s.to_owned())))
    }

    fn visit_bool<E>(self, b: bool) -> Result<Self::Value, E> {
        Ok(Err(Found::Bool(b)))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Self::Value, E> {
        Ok(Err(Found::Num(n.to_string())))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Self::Value, E> {
        Ok(Err(Found::Num(n.to_string())))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Self::Value, E> {
        Ok(Err(Found::Num(format_number(n))))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Err(Found::Null))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        drain_seq(seq)?;
        Ok(Err(Found::List))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        drain_map(map)?;
        Ok(Err(Found::Object))
    }
}
