//! The decoder's fast path. In: the request text (already valid UTF-8), the decode trees and
//! a frame reset for this request. Out: `Some(envelope)` with the frame's slots filled, when
//! the request is well-formed, valid and plain; `None` as soon as anything needs a word
//! from the full decoder: an input error (an undeclared argument of a closed tool among
//! them), malformed JSON, a string with escapes, `args` before `tool` or missing, nesting
//! deeper than `MAX_DEPTH`, a number beyond the largest double. The full decoder then decodes
//! the request from the start, so every error message, path and rule for odd requests stays
//! its own; this path only has to agree with it on the requests it accepts.
//!
//! Why a second path: driving serde's `Deserializer` through visitors costs about as much as
//! serde-deriving a struct, and the decision also has to be cheaper than that. Scanning the
//! bytes directly against the decode tree reads each declared value once, validates the
//! skipped ones with a plain loop, and builds nothing that no slot reads.

use super::decode::{numeric_string, parse_timestamp, Seen};
use super::tree::{summary, Key, Kind, Node, RecordNode, Trees};
use crate::value::Value;
use indexmap::IndexMap;
use smol_str::SmolStr;
use std::sync::Arc;

/// Deeper nesting goes to the full decoder, which enforces serde_json's own limit (128).
const MAX_DEPTH: usize = 100;

/// The envelope's own keys, by summary (whole, as they are shorter than eight bytes).
const TOOL: u64 = summary(b"tool");
const ARGS: u64 = summary(b"args");
const TIME: u64 = summary(b"time");

/// What the envelope said besides the slots.
pub(super) struct FastEnvelope<'t> {
    pub tool_name: &'t str,
    /// Index of the declared tool, `None` for an undeclared one.
    pub tool: Option<usize>,
    pub time: Option<f64>,
    /// Where the `args` value is in the text.
    pub args_span: Option<std::ops::Range<usize>>,
}

/// Decodes `text` into `slots` (all `Value::Absent` on entry), or gives up with `None`.
pub(super) fn decode<'t>(dec: &Trees, text: &'t str, slots: &mut [Value]) -> Option<FastEnvelope<'t>> {
    let mut cur = Cursor { text, bytes: text.as_bytes(), at: 0 };
    let mut out = Out { slots };
    let envelope = envelope(dec, &mut cur, &mut out)?;
    cur.skip_ws();
    (cur.at == cur.bytes.len()).then_some(envelope)
}

/// The top-level object: `tool` first, then `args`; `time` and the declared envelope
/// fields anywhere; anything else skipped.
fn envelope<'t>(dec: &Trees, cur: &mut Cursor<'t>, out: &mut Out) -> Option<FastEnvelope<'t>> {
    let mut env = FastEnvelope { tool_name: "", tool: None, time: None, args_span: None };
    let (mut tool_seen, mut args_seen, mut time_seen) = (false, false, false);
    let mut seen = Seen::new(dec.envelope().fields.len());
    cur.object(|cur, key| {
        // The length check keeps a long key that merely starts like these from matching.
        let own = if key.bytes.len() == 4 { key.summary } else { 0 };
        match own {
            TOOL => {
                if std::mem::replace(&mut tool_seen, true) {
                    return None;
                }
                env.tool_name = cur.string()?;
                env.tool = dec.tool_index(env.tool_name);
            }
            ARGS => {
                // `args` before `tool`, or twice: the full decoder handles it.
                if !tool_seen || std::mem::replace(&mut args_seen, true) {
                    return None;
                }
                cur.skip_ws();
                let start = cur.at;
                match env.tool.and_then(|i| dec.tool_node(i)) {
                    // `null` args mean missing ones: left to the full decoder.
                    Some(node) if cur.peek() == Some(b'{') => {
                        value(node, cur, out, 1)?;
                    }
                    Some(_) => return None,
                    // An undeclared tool's args are not read.
                    None => cur.skip_value(1)?,
                }
                env.args_span = Some(start..cur.at);
            }
            TIME => {
                if std::mem::replace(&mut time_seen, true) {
                    return None;
                }
                if cur.peek() == Some(b'n') {
                    cur.literal(b"null")?;
                } else {
                    env.time = Some(parse_timestamp(cur.string()?)?);
                }
            }
            _ => match dec.envelope().find_key(key) {
                Some((i, field)) => {
                    if !seen.insert(i) {
                        return None;
                    }
                    value(&field.node, cur, out, 1)?;
                }
                None => cur.skip_value(1)?,
            },
        }
        Some(())
    })?;
    // A missing `tool` or `args`, or a missing declared field, is for the full decoder.
    let complete = tool_seen && (args_seen || env.tool.is_none()) && seen.has_required(dec.envelope());
    complete.then_some(env)
}

/// Where decoded values go.
struct Out<'s> {
    slots: &'s mut [Value],
}

impl Out<'_> {
    /// Stores `value` in the node's slots; the last slot takes the value itself.
    fn put(&mut self, node: &Node, value: Value) {
        let Some((&last, others)) = node.slots.split_last() else { return };
        for &i in others {
            if let Some(slot) = self.slots.get_mut(i) {
                *slot = value.clone();
            }
        }
        if let Some(slot) = self.slots.get_mut(last) {
            *slot = value;
        }
    }

    /// Stores a copy of `value` in the node's slots.
    fn copy(&mut self, node: &Node, value: &Value) {
        for &i in &node.slots {
            if let Some(slot) = self.slots.get_mut(i) {
                *slot = value.clone();
            }
        }
    }
}

/// The value at `node`, which no enclosing value keeps: validated and written straight into
/// its slots (each slot belongs to one node and starts absent, so `null` writes nothing).
/// Scalars never travel through a returned `Value`: moving the enum through several frames
/// cost more than decoding it.
fn value(node: &Node, cur: &mut Cursor, out: &mut Out, depth: usize) -> Option<()> {
    if depth > MAX_DEPTH {
        return None;
    }
    let first = cur.peek()?;
    if first == b'n' && node.optional {
        return cur.literal(b"null");
    }
    match &node.kind {
        Kind::Bool => {
            let b = boolean(first, cur)?;
            out.put(node, Value::Bool(b));
        }
        Kind::Number | Kind::Duration => {
            let n = cur.number()?;
            out.put(node, Value::Num(n));
        }
        Kind::String if node.build => {
            let s = cur.string()?;
            out.put(node, Value::Str(SmolStr::new(s)));
        }
        Kind::String => {
            cur.string_span()?;
        }
        _ => {
            let v = typed(node, cur, out, depth)?;
            out.put(node, v);
        }
    }
    Some(())
}

/// The same for a value an enclosing list, record or map keeps: returned, and copied into
/// its slots.
fn kept(node: &Node, cur: &mut Cursor, out: &mut Out, depth: usize) -> Option<Value> {
    if depth > MAX_DEPTH {
        return None;
    }
    let value = match cur.peek()? {
        b'n' if node.optional => {
            cur.literal(b"null")?;
            Value::Absent
        }
        _ => typed(node, cur, out, depth)?,
    };
    if !node.slots.is_empty() {
        out.copy(node, &value);
    }
    Some(value)
}

fn boolean(first: u8, cur: &mut Cursor) -> Option<bool> {
    match first {
        b't' => cur.literal(b"true").map(|()| true),
        _ => cur.literal(b"false").map(|()| false),
    }
}

/// A present, non-null value of the node's kind; `None` for any other kind.
fn typed(node: &Node, cur: &mut Cursor, out: &mut Out, depth: usize) -> Option<Value> {
    Some(match &node.kind {
        Kind::Bool => Value::Bool(boolean(cur.peek()?, cur)?),
        Kind::Number | Kind::Duration => Value::Num(cur.number()?),
        Kind::String if node.build => Value::Str(SmolStr::new(cur.string()?)),
        Kind::String => {
            cur.string_span()?;
            Value::Absent
        }
        Kind::Enum(values) => {
            let s = cur.string_bytes()?;
            Value::Str(values.iter().find(|v| v.as_bytes() == s)?.clone())
        }
        Kind::Timestamp => Value::Num(parse_timestamp(cur.string()?)?),
        Kind::LenientNumber if cur.peek()? == b'"' => Value::Num(numeric_string(cur.string()?)?),
        Kind::LenientNumber => Value::Num(cur.number()?),
        Kind::List(elem) => list(elem, node.build, cur, out, depth)?,
        Kind::Map(elem) => map(elem, node.build, cur, out, depth)?,
        Kind::Record(rec) => record(rec, node.build, cur, out, depth)?,
        Kind::Any => {
            cur.skip_value(depth)?;
            Value::Absent
        }
    })
}

fn list(elem: &Node, build: bool, cur: &mut Cursor, out: &mut Out, depth: usize) -> Option<Value> {
    let mut items = Vec::new();
    cur.array(|cur| {
        if build {
            items.push(kept(elem, cur, out, depth + 1)?);
        } else {
            value(elem, cur, out, depth + 1)?;
        }
        Some(())
    })?;
    Some(if build { Value::List(items.into()) } else { Value::Absent })
}

/// A record: declared fields decoded, others skipped; a duplicate or a missing required
/// field gives up (the full decoder reports it).
fn record(rec: &RecordNode, build: bool, cur: &mut Cursor, out: &mut Out, depth: usize) -> Option<Value> {
    let mut seen = Seen::new(rec.fields.len());
    let mut values = if build { vec![Value::Absent; rec.fields.len()] } else { Vec::new() };
    cur.object(|cur, key| {
        let Some((i, field)) = rec.find_key(key) else {
            // A closed tool's undeclared argument is an input error: the full decoder's.
            return if rec.closed_by.is_some() { None } else { cur.skip_value(depth + 1) };
        };
        if !seen.insert(i) {
            return None;
        }
        if build {
            let v = kept(&field.node, cur, out, depth + 1)?;
            if let Some(slot) = values.get_mut(i) {
                *slot = v;
            }
        } else {
            value(&field.node, cur, out, depth + 1)?;
        }
        Some(())
    })?;
    if !seen.has_required(rec) {
        return None;
    }
    Some(if build { Value::Record(values.into()) } else { Value::Absent })
}

/// A map: every value decoded; a repeated key gives up.
fn map(elem: &Node, build: bool, cur: &mut Cursor, out: &mut Out, depth: usize) -> Option<Value> {
    let mut built: IndexMap<Arc<str>, Value> = IndexMap::new();
    let mut keys: Vec<&[u8]> = Vec::new();
    cur.object(|cur, key| {
        let key = key.bytes;
        if build {
            let key = std::str::from_utf8(key).ok().filter(|k| !built.contains_key(*k))?;
            let v = kept(elem, cur, out, depth + 1)?;
            built.insert(Arc::from(key), v);
        } else {
            value(elem, cur, out, depth + 1)?;
            keys.push(key);
        }
        Some(())
    })?;
    keys.sort_unstable();
    if keys.windows(2).any(|w| w.first() == w.get(1)) {
        return None;
    }
    Some(if build { Value::Map(Arc::new(built)) } else { Value::Absent })
}

/// A position in the request's bytes, with strict JSON (RFC 8259) readers that give up
/// (`None`) on anything malformed, and also on escapes, which they leave to serde_json.
struct Cursor<'t> {
    text: &'t str,
    /// The same, as bytes.
    bytes: &'t [u8],
    at: usize,
}

const ONES: u64 = u64::from_ne_bytes([1; 8]);
const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);

/// A mask with the high bit set in the bytes of `word` that are `"`, `\` or below 0x20
/// (exact up to the first such byte, which is all that is used): the classic "has zero
/// byte" and "has byte below n" tricks, so a string is scanned eight bytes at a time.
fn string_stops(word: u64) -> u64 {
    let quote = word ^ (ONES * u64::from(b'"'));
    let backslash = word ^ (ONES * u64::from(b'\\'));
    let zero_in = |v: u64| v.wrapping_sub(ONES) & !v;
    (zero_in(quote) | zero_in(backslash) | (word.wrapping_sub(ONES * 0x20) & !word)) & HIGHS
}

impl<'t> Cursor<'t> {
    #[inline(always)]
    fn skip_ws(&mut self) {
        // Most tokens follow one another directly: one compare rules out all whitespace.
        while let Some(&b) = self.bytes.get(self.at) {
            if b > b' ' || !matches!(b, b' ' | b'\n' | b'\t' | b'\r') {
                return;
            }
            self.at += 1;
        }
    }

    /// The next non-whitespace byte, not consumed.
    #[inline(always)]
    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.bytes.get(self.at).copied()
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.at += 1)
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        self.skip_ws();
        let end = self.at + word.len();
        (self.bytes.get(self.at..end)? == word).then(|| self.at = end)
    }

    /// A string without escapes, borrowed from the request.
    fn string(&mut self) -> Option<&'t str> {
        let (start, end) = self.string_span()?;
        // `"` is never inside a multi-byte character, so this is on character boundaries.
        self.text.get(start..end)
    }

    /// The same as bytes: no character boundary checks.
    fn string_bytes(&mut self) -> Option<&'t [u8]> {
        let (start, end) = self.string_span()?;
        self.bytes.get(start..end)
    }

    /// An object's key, summarized from one load of the request's bytes when there are
    /// eight from its start (there are, but for a key at the very end of a malformed request).
    fn key(&mut self) -> Option<Key<'t>> {
        let (start, end) = self.string_span()?;
        let bytes = self.bytes.get(start..end)?;
        Some(match self.word_at(start) {
            Some(word) => Key::from_word(bytes, word),
            None => Key::new(bytes),
        })
    }

    fn word_at(&self, at: usize) -> Option<u64> {
        let mut word = [0u8; 8];
        word.copy_from_slice(self.bytes.get(at..at + 8)?);
        Some(u64::from_le_bytes(word))
    }

    /// Where the contents of the string at the cursor start and end.
    #[inline(always)]
    fn string_span(&mut self) -> Option<(usize, usize)> {
        self.eat(b'"')?;
        let start = self.at;
        let end = self.string_end(start)?;
        // Control characters must be escaped in JSON; escapes go to the full decoder.
        if self.bytes.get(end) != Some(&b'"') {
            return None;
        }
        self.at = end + 1;
        Some((start, end))
    }

    /// The index of the first `"`, `\\` or control character from `at`.
    #[inline(always)]
    fn string_end(&self, mut at: usize) -> Option<usize> {
        while let Some(word) = self.word_at(at) {
            let stops = string_stops(word);
            if stops != 0 {
                return Some(at + (stops.trailing_zeros() / 8) as usize);
            }
            at += 8;
        }
        let rest = self.bytes.get(at..)?;
        rest.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20).map(|k| at + k)
    }

    /// A number, correctly rounded (as the full decoder reads it, with serde_json's
    /// `float_roundtrip`): short unsigned integers directly (exact), any other number by
    /// std's parser on the bytes `skip_number` has checked are JSON's number syntax (std
    /// also takes `inf`, `+1` or `1.`, which never get here). A number beyond the largest
    /// double gives up: the full decoder words that error.
    fn number(&mut self) -> Option<f64> {
        self.skip_ws();
        let start = self.at;
        self.skip_number()?;
        let token = self.text.get(start..self.at)?;
        if token.len() <= 15 && token.bytes().all(|b| b.is_ascii_digit()) {
            return Some(token.bytes().fold(0u64, |n, d| n * 10 + u64::from(d - b'0')) as f64);
        }
        token.parse::<f64>().ok().filter(|n| n.is_finite())
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    fn skip_number(&mut self) -> Option<()> {
        if self.bytes.get(self.at) == Some(&b'-') {
            self.at += 1;
        }
        match self.bytes.get(self.at)? {
            b'0' => self.at += 1,
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.bytes.get(self.at) == Some(&b'.') {
            self.at += 1;
            self.some_digits()?;
        }
        if let Some(b'e' | b'E') = self.bytes.get(self.at) {
            self.at += 1;
            if let Some(b'+' | b'-') = self.bytes.get(self.at) {
                self.at += 1;
            }
            self.some_digits()?;
        }
        Some(())
    }

    fn digits(&mut self) {
        while self.bytes.get(self.at).is_some_and(u8::is_ascii_digit) {
            self.at += 1;
        }
    }

    fn some_digits(&mut self) -> Option<()> {
        let start = self.at;
        self.digits();
        (self.at > start).then_some(())
    }

    /// `open close` or `open item (, item)* close`: `item` is called with the cursor on
    /// each item and must consume it.
    fn delimited(&mut self, open: u8, close: u8, mut item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.eat(open)?;
        if self.peek()? == close {
            self.at += 1;
            return Some(());
        }
        loop {
            item(self)?;
            match self.peek()? {
                b',' => self.at += 1,
                b if b == close => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// An object: `member` is called with each key, the cursor on its value, and must
    /// consume the value.
    fn object(&mut self, mut member: impl FnMut(&mut Self, Key<'t>) -> Option<()>) -> Option<()> {
        self.delimited(b'{', b'}', |cur| {
            let key = cur.key()?;
            cur.eat(b':')?;
            member(cur, key)
        })
    }

    /// An object nobody reads, validated and skipped: its keys need no summaries.
    fn skip_object(&mut self, depth: usize) -> Option<()> {
        self.delimited(b'{', b'}', |cur| {
            cur.string_span()?;
            cur.eat(b':')?;
            cur.skip_value(depth + 1)
        })
    }

    /// An array: `element` is called with the cursor on each element and must consume it.
    fn array(&mut self, element: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.delimited(b'[', b']', element)
    }

    /// Any value, validated and skipped.
    fn skip_value(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.peek()? {
            b'"' => self.string_span().map(drop),
            b'{' => self.skip_object(depth),
            b'[' => self.array(|cur| cur.skip_value(depth + 1)),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            // Parsed, not only checked: a number beyond the largest double goes to the full
            // decoder, which refuses it inside `args` (`decode::SkipFinite`).
            _ => self.number().map(drop),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_ends_are_found_eight_bytes_at_a_time_as_one_at_a_time() {
        let stops = |b: u8| b == b'"' || b == b'\\' || b < 0x20;
        // Every byte value at every position of a word, after every kind of byte before it.
        for before in [b'a', 0x1f, 0x20, 0x7f, 0x80, 0xff, b'!', b'#', b'[', b']'] {
            for at in 0..12 {
                for b in 0..=255u8 {
                    let mut bytes = vec![before; 12];
                    bytes[at] = b;
                    bytes.push(b'"');
                    let text = String::from_utf8_lossy(&bytes).into_owned();
                    let cur = Cursor { text: &text, bytes: text.as_bytes(), at: 0 };
                    let expected = text.bytes().position(stops);
                    assert_eq!(cur.string_end(0), expected, "{:?}", text.as_bytes());
                }
            }
        }
    }
}
