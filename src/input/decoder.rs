//! The request decoder. In: the policy's `RequestSchema` and slot paths (once, at
//! `Decoder::new`), then each request's JSON bytes. Out: a `Frame` (tool, time, where `args`
//! is, one value per slot) or an `InputFailure` listing every input error. A plain valid request is
//! read by the fast path (`fast`); any other is decoded from the start by the full decoder:
//! the envelope is scanned in one pass; `args` is decoded in place when `tool` came first,
//! else kept as a borrowed raw slice and decoded once the tool is known.

use super::decode::{self, absent_record, drain_seq, report_missing, Seen, Sink, StrSeed};
use super::errors::{self, Found, Path};
use super::fast;
use super::tree::{FieldNode, NameIndex, Node, RecordNode, Trees};
use super::{Frame, InputError, InputFailure, InputPath, RequestSchema};
use crate::value::{format_number, Value};
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use smol_str::SmolStr;
use std::borrow::Cow;
use std::fmt;

/// Decodes requests for one compiled policy. Immutable once built, so shared by threads.
#[derive(Debug)]
pub struct Decoder {
    /// The envelope's and each tool's decode trees, which both paths walk.
    trees: Trees,
    /// Declared tool names, shared so the `tool` slot costs no allocation for them.
    tool_names: Vec<SmolStr>,
    tool_slots: Vec<usize>,
    time_slots: Vec<usize>,
    slot_count: usize,
}

impl Decoder {
    /// Builds the decode trees. A slot path that names no declared node stays
    /// `Value::Absent` in every frame (the checker only asks for declared paths).
    pub fn new(schema: &RequestSchema, slots: &[InputPath]) -> Decoder {
        let mut envelope = RecordNode::new(&schema.envelope);
        let mut tools: Vec<Node> = schema
            .tools
            .iter()
            .map(|(name, params)| {
                let mut node = Node::args(params);
                if !schema.open_tools.contains(name) {
                    node.close(&SmolStr::new(name));
                }
                node
            })
            .collect();
        let mut tool_slots = Vec::new();
        let mut time_slots = Vec::new();
        for (slot, path) in slots.iter().enumerate() {
            let Some((first, rest)) = path.split_first() else { continue };
            match (first.as_str(), rest.is_empty()) {
                ("tool", true) => tool_slots.push(slot),
                ("time", true) => time_slots.push(slot),
                ("args", _) => {
                    // The same path is filled from whichever tool the request names.
                    for tool in &mut tools {
                        tool.attach_slot(rest, slot);
                    }
                }
                _ => {
                    envelope.attach_slot(path, slot);
                }
            }
        }
        envelope.mark_build(false);
        for tool in &mut tools {
            tool.mark_build(false);
        }
        Decoder {
            trees: Trees { envelope, tools, tool_index: NameIndex::new(schema.tools.keys().map(String::as_str)) },
            tool_names: schema.tools.keys().map(SmolStr::new).collect(),
            tool_slots,
            time_slots,
            slot_count: slots.len(),
        }
    }

    /// Decodes one request. `now` (seconds since epoch) is used when the request has no `time`.
    pub fn decode(&self, bytes: &[u8], now: f64) -> Result<Frame, InputFailure> {
        let mut frame = Frame::default();
        self.decode_into(bytes, now, &mut frame).map(|()| frame)
    }

    /// Same, reusing `frame`'s allocations (slots vector, tool_name string). On failure the
    /// frame's contents are unspecified.
    pub fn decode_into(&self, bytes: &[u8], now: f64, frame: &mut Frame) -> Result<(), InputFailure> {
        self.reset(frame, now);

        // Checked once up front so strings need no further UTF-8 checks, including the
        // skipped ones serde_json would not look at.
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => return Err(single_failure(None, errors::malformed(&utf8_message(bytes, &e)))),
        };

        // Plain valid requests take the fast path; anything else is decoded again from the
        // start by the full decoder below, which words every error.
        if self.decode_fast(text, frame) {
            return Ok(());
        }
        self.reset(frame, now);
        self.decode_full(text, frame)
    }

    /// The fast path into a frame just `reset`: true when it accepted the request, with the
    /// frame complete; false leaves the frame to reset again.
    fn decode_fast(&self, text: &str, frame: &mut Frame) -> bool {
        let Some(envelope) = fast::decode(&self.trees, text, &mut frame.slots) else { return false };
        frame.tool_name.push_str(envelope.tool_name);
        frame.tool = envelope.tool;
        frame.args_span = envelope.args_span;
        if let Some(time) = envelope.time {
            frame.time = time;
        }
        self.fill_special_slots(frame, true);
        true
    }

    fn reset(&self, frame: &mut Frame, now: f64) {
        // A reused frame already has its slots: overwrite them rather than drop and rebuild.
        if frame.slots.len() == self.slot_count {
            frame.slots.fill(Value::Absent);
        } else {
            frame.slots.clear();
            frame.slots.resize(self.slot_count, Value::Absent);
        }
        frame.tool_name.clear();
        frame.tool = None;
        frame.time = now;
        frame.args_span = None;
        frame.window_faults.clear();
    }

    /// The full decoder: serde_json drives the decode tree and every input error is found.
    fn decode_full(&self, text: &str, frame: &mut Frame) -> Result<(), InputFailure> {
        let mut errors = Vec::new();
        let mut tool_read = false;
        let outcome = {
            let mut sink = Sink { slots: &mut frame.slots, errors: &mut errors };
            self.scan(text, &mut sink, &mut frame.tool_name, &mut tool_read)
        };
        let tool_name = |frame: &Frame| tool_read.then(|| frame.tool_name.clone());
        let envelope = match outcome {
            Err(message) => {
                // A declared number out of range ended the parse: the error at its path, with
                // serde_json's position, is the last one found (`decode::NodeSeed`).
                let at = message.strip_prefix(errors::OUT_OF_RANGE).filter(|_| errors.last().is_some_and(errors::is_number_out_of_range));
                return match (at, errors.last_mut()) {
                    (Some(at), Some(last)) => {
                        last.message.push_str(&format!(" ({})", at.trim_start()));
                        Err(InputFailure { tool_name: tool_name(frame), errors })
                    }
                    _ => Err(single_failure(tool_name(frame), errors::malformed(&message))),
                };
            }
            // Not an object: `errors` holds that one error.
            Ok(None) => return Err(InputFailure { tool_name: None, errors }),
            Ok(Some(envelope)) => envelope,
        };

        match envelope.tool {
            ToolSeen::Missing => errors.push(errors::missing(&Path::Key(&Path::Root, "tool"), "string")),
            ToolSeen::Declared(i) => frame.tool = Some(i),
            ToolSeen::Invalid | ToolSeen::Undeclared => {}
        }
        if let Some(time) = envelope.time {
            frame.time = time;
        }
        self.fill_special_slots(frame, tool_read);

        if errors.is_empty() {
            frame.args_span = self.args_span(text);
            Ok(())
        } else {
            Err(InputFailure { tool_name: tool_name(frame), errors })
        }
    }

    /// Parses the request, filling slots and collecting input errors. `Err` is a malformed
    /// JSON message; `Ok(None)` a request that is not an object.
    fn scan<'de>(&self, text: &'de str, sink: &mut Sink, tool_name: &mut String, tool_read: &mut bool) -> Result<Option<Envelope<'de>>, String> {
        let mut de = serde_json::Deserializer::from_str(text);
        let top = Top { dec: self, sink: &mut *sink, tool_name, tool_read };
        let envelope = top.deserialize(&mut de).and_then(|env| de.end().map(|()| env));
        let envelope = match envelope {
            Ok(Some(envelope)) => envelope,
            Ok(None) => return Ok(None),
            Err(e) => return Err(e.to_string()),
        };
        let ToolSeen::Declared(tool) = envelope.tool else { return Ok(Some(envelope)) };
        let Some(node) = self.trees.tools.get(tool) else { return Ok(Some(envelope)) };
        match envelope.args {
            ArgsSeen::Raw(raw) => {
                let mut de = serde_json::Deserializer::from_str(raw.get());
                let decoded = ArgsSeed { node, sink }.deserialize(&mut de).and_then(|()| de.end());
                if let Err(e) = decoded {
                    return Err(relocated_message(text, e));
                }
            }
            ArgsSeen::Missing => absent_record(node, sink, &Path::Key(&Path::Root, "args")),
            ArgsSeen::Handled => {}
        }
        Ok(Some(envelope))
    }

    /// Where the `args` value of a request the full decoder accepted is (`None`: it has none).
    /// serde gives no positions, so this is a second scan of the request, skipping every value
    /// but `args`, which it borrows. Only requests the fast path handed over pay for it; it
    /// allocates nothing (it reads to the end: stopping early would take an error, which
    /// allocates).
    fn args_span(&self, text: &str) -> Option<std::ops::Range<usize>> {
        let mut found = None;
        // A decoded request is an object, read without error a second time.
        let _ = serde_json::Deserializer::from_str(text).deserialize_map(ArgsAt(&self.trees.envelope, &mut found));
        let raw = found?.get();
        let start = (raw.as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
        // `raw` is borrowed from `text` (serde_json gives no other `&RawValue` from a `&str`);
        // checked anyway rather than trusted.
        let span = start..start + raw.len();
        text.get(span.clone()).is_some_and(|s| s.as_ptr() == raw.as_ptr()).then_some(span)
    }

    fn fill_special_slots(&self, frame: &mut Frame, tool_read: bool) {
        if !self.tool_slots.is_empty() && tool_read {
            let name = match frame.tool.and_then(|i| self.tool_names.get(i)) {
                Some(name) => name.clone(),
                None => SmolStr::new(&frame.tool_name),
            };
            for &i in &self.tool_slots {
                if let Some(slot) = frame.slots.get_mut(i) {
                    *slot = Value::Str(name.clone());
                }
            }
        }
        for &i in &self.time_slots {
            if let Some(slot) = frame.slots.get_mut(i) {
                *slot = Value::Num(frame.time);
            }
        }
    }
}

/// The request's top level, read for its `args` alone (see `Decoder::args_span`).
struct ArgsAt<'a, 'de>(&'a RecordNode, &'a mut Option<&'de RawValue>);

impl<'de> Visitor<'de> for ArgsAt<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a request object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key_seed(EnvKeySeed(self.0))? {
            match key {
                EnvKey::Args => *self.1 = Some(map.next_value()?),
                EnvKey::Tool | EnvKey::Time | EnvKey::Field(..) | EnvKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

fn single_failure(tool_name: Option<String>, error: InputError) -> InputFailure {
    InputFailure { tool_name, errors: vec![error] }
}

/// serde_json's message for bytes that are not UTF-8, with its line and column.
fn utf8_message(bytes: &[u8], e: &std::str::Utf8Error) -> String {
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Err(json_error) => json_error.to_string(),
        Ok(_) => format!("invalid UTF-8 at byte {}", e.valid_up_to()),
    }
}

/// A syntax error found while decoding the raw `args` has a position inside `args`;
/// re-parsing the whole request finds it again with its position in the request.
fn relocated_message(text: &str, inner: serde_json::Error) -> String {
    match serde_json::from_str::<serde_json::Value>(text) {
        Err(e) => e.to_string(),
        Ok(_) => inner.to_string(),
    }
}

enum ToolSeen {
    Missing,
    /// Not a string (reported).
    Invalid,
    Declared(usize),
    Undeclared,
}

enum ArgsSeen<'de> {
    Missing,
    /// Decoded in place, or skipped (undeclared or unreadable tool).
    Handled,
    /// Seen before `tool`: decoded after the scan.
    Raw(&'de RawValue),
}

struct Envelope<'de> {
    tool: ToolSeen,
    args: ArgsSeen<'de>,
    time: Option<f64>,
}

/// The request's top level: must be an object.
struct Top<'a, 'f> {
    dec: &'a Decoder,
    sink: &'a mut Sink<'f>,
    tool_name: &'a mut String,
    tool_read: &'a mut bool,
}

enum EnvKey<'a> {
    Tool,
    Args,
    Time,
    Field(usize, &'a FieldNode),
    Other,
}

impl<'de> DeserializeSeed<'de> for Top<'_, '_> {
    type Value = Option<Envelope<'de>>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl Top<'_, '_> {
    fn not_object<T>(self, found: Found) -> Option<T> {
        self.sink.error(errors::not_object(found));
        None
    }

    fn read_tool(&mut self, read: Result<Cow<str>, Found>) -> ToolSeen {
        match read {
            Ok(name) => {
                self.tool_name.push_str(&name);
                *self.tool_read = true;
                match self.dec.trees.tool_index.get(name.as_bytes()) {
                    Some(i) => ToolSeen::Declared(i),
                    None => ToolSeen::Undeclared,
                }
            }
            Err(found) => {
                self.sink.error(errors::envelope_mismatch("tool", "string", "a string", found));
                ToolSeen::Invalid
            }
        }
    }

    fn read_time(&mut self, read: Result<Cow<str>, Found>) -> Option<f64> {
        let found = match read {
            Ok(text) => match decode::parse_timestamp(&text) {
                Some(t) => return Some(t),
                None => Found::string(&text),
            },
            // `time` is optional: `null` means not given.
            Err(Found::Null) => return None,
            Err(found) => found,
        };
        let error = errors::envelope_mismatch("time", "timestamp", "an RFC 3339 timestamp", found);
        self.sink.error(error);
        None
    }

    fn key_error(&mut self, key: &str, expected: &str) {
        self.sink.error(errors::duplicate(&Path::Root, key, expected));
    }
}

impl<'de> Visitor<'de> for Top<'_, '_> {
    type Value = Option<Envelope<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a request object")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Self::Value, E> {
        Ok(self.not_object(Found::Bool(b)))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Self::Value, E> {
        Ok(self.not_object(Found::Num(n.to_string())))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Self::Value, E> {
        Ok(self.not_object(Found::Num(n.to_string())))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Self::Value, E> {
        Ok(self.not_object(Found::Num(format_number(n))))
    }

    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        Ok(self.not_object(Found::string(s)))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(self.not_object(Found::Null))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        drain_seq(seq)?;
        Ok(self.not_object(Found::List))
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Self::Value, A::Error> {
        let dec = self.dec;
        let mut env = Envelope { tool: ToolSeen::Missing, args: ArgsSeen::Missing, time: None };
        let mut seen = Seen::new(dec.trees.envelope.fields.len());
        let (mut tool_seen, mut args_seen, mut time_seen) = (false, false, false);
        while let Some(key) = map.next_key_seed(EnvKeySeed(&dec.trees.envelope))? {
            match key {
                EnvKey::Tool if std::mem::replace(&mut tool_seen, true) => {
                    self.key_error("tool", "string");
                    map.next_value::<IgnoredAny>()?;
                }
                EnvKey::Tool => env.tool = self.read_tool(map.next_value_seed(StrSeed)?),
                EnvKey::Args if std::mem::replace(&mut args_seen, true) => {
                    self.key_error("args", "object");
                    map.next_value::<IgnoredAny>()?;
                }
                EnvKey::Args => env.args = self.read_args(&env.tool, &mut map)?,
                EnvKey::Time if std::mem::replace(&mut time_seen, true) => {
                    self.key_error("time", "timestamp");
                    map.next_value::<IgnoredAny>()?;
                }
                EnvKey::Time => env.time = self.read_time(map.next_value_seed(StrSeed)?),
                EnvKey::Field(i, field) if !seen.insert(i) => {
                    self.key_error(&field.name, &field.node.expected);
                    map.next_value::<IgnoredAny>()?;
                }
                EnvKey::Field(_, field) => {
                    let seed = decode::NodeSeed { node: &field.node, sink: &mut *self.sink, path: Path::Key(&Path::Root, &field.name) };
                    map.next_value_seed(seed)?;
                }
                EnvKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        report_missing(&dec.trees.envelope, &seen, self.sink, &Path::Root);
        Ok(Some(env))
    }
}

impl Top<'_, '_> {
    /// `args` is decoded in place when the tool is already known, else kept raw.
    fn read_args<'de, A: MapAccess<'de>>(&mut self, tool: &ToolSeen, map: &mut A) -> Result<ArgsSeen<'de>, A::Error> {
        match tool {
            ToolSeen::Declared(i) => {
                if let Some(node) = self.dec.trees.tools.get(*i) {
                    map.next_value_seed(ArgsSeed { node, sink: &mut *self.sink })?;
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
                Ok(ArgsSeen::Handled)
            }
            ToolSeen::Missing => Ok(ArgsSeen::Raw(map.next_value::<&'de RawValue>()?)),
            // An undeclared tool's args cannot be read; an unreadable tool's cannot be checked.
            ToolSeen::Undeclared | ToolSeen::Invalid => {
                map.next_value::<IgnoredAny>()?;
                Ok(ArgsSeen::Handled)
            }
        }
    }
}

/// A top-level key: the envelope's own fields, then the declared `request` fields.
struct EnvKeySeed<'a>(&'a RecordNode);

impl<'de, 'a> DeserializeSeed<'de> for EnvKeySeed<'a> {
    type Value = EnvKey<'a>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de, 'a> Visitor<'de> for EnvKeySeed<'a> {
    type Value = EnvKey<'a>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        Ok(match s {
            "tool" => EnvKey::Tool,
            "args" => EnvKey::Args,
            "time" => EnvKey::Time,
            _ => match self.0.find(s.as_bytes()) {
                Some((i, field)) => EnvKey::Field(i, field),
                None => EnvKey::Other,
            },
        })
    }
}

/// A declared tool's `args`: missing or `null` counts as `{}`.
struct ArgsSeed<'a, 'f> {
    node: &'a Node,
    sink: &'a mut Sink<'f>,
}

impl<'de> DeserializeSeed<'de> for ArgsSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for ArgsSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_none<E>(self) -> Result<(), E> {
        absent_record(self.node, self.sink, &Path::Key(&Path::Root, "args"));
        Ok(())
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        self.visit_none()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        let seed = decode::NodeSeed { node: self.node, sink: self.sink, path: Path::Key(&Path::Root, "args") };
        seed.deserialize(d).map(drop)
    }
}

#[cfg(test)]
impl Decoder {
    /// The fast path alone: the frame when it accepted the request.
    pub(super) fn decode_fast_only(&self, bytes: &[u8], now: f64) -> Option<Frame> {
        let mut frame = Frame::default();
        self.reset(&mut frame, now);
        let text = std::str::from_utf8(bytes).ok()?;
        self.decode_fast(text, &mut frame).then_some(frame)
    }

    /// The full decoder alone.
    pub(super) fn decode_full_only(&self, bytes: &[u8], now: f64) -> Result<Frame, InputFailure> {
        let mut frame = Frame::default();
        self.reset(&mut frame, now);
        match std::str::from_utf8(bytes) {
            Ok(text) => self.decode_full(text, &mut frame).map(|()| frame),
            Err(e) => Err(single_failure(None, errors::malformed(&utf8_message(bytes, &e)))),
        }
    }
}
