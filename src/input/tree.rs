//! The decode tree. In: the declared types of a request (`RequestSchema`) and the input
//! paths rules read (slots). Out: one `Node` per declared position, each knowing its JSON
//! kind, how to word errors about it, which slots it fills, whether a `Value` must be
//! built there and, for records, whether undeclared keys are refused (closed tools); and
//! `Trees`, a policy's whole set, which both decoder paths walk. Built once per compiled
//! policy; decoding only walks it.

use crate::types::{FieldType, Type};
use smol_str::SmolStr;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Records with more fields than this get a hash index; smaller ones are scanned, which is
/// faster for the handful of fields most records have.
const LINEAR_LOOKUP_MAX: usize = 12;

/// One declared position in the request.
#[derive(Debug)]
pub(super) struct Node {
    pub kind: Kind,
    /// The declared type as shown in `InputError::expected` (`string`, `list<string>`).
    pub expected: Box<str>,
    /// The same for messages: "`x` must be {must_be}, found ...".
    pub must_be: Box<str>,
    /// May be missing, and `null` counts as missing.
    pub optional: bool,
    /// Slots whose value is this node's value.
    pub slots: Vec<usize>,
    /// Whether a `Value` is built here: a slot here or on an ancestor needs it.
    pub build: bool,
}

#[derive(Debug)]
pub(super) enum Kind {
    Bool,
    Number,
    /// A `lenient number`: a JSON number, or a string holding one (`numeric_string`).
    LenientNumber,
    Duration,
    String,
    Timestamp,
    /// The declared values, shared so a decoded enum costs no allocation.
    Enum(Vec<SmolStr>),
    List(Box<Node>),
    Map(Box<Node>),
    Record(RecordNode),
    /// Accepts anything (only for `Type::Any`, which declarations should not contain).
    Any,
}

#[derive(Debug)]
pub(super) struct RecordNode {
    pub fields: Vec<FieldNode>,
    index: NameIndex,
    /// Bit `i` set for each required field `i < 64`, and whether any later one is required:
    /// lets a complete record skip the search for missing fields.
    pub required_low: u64,
    pub required_high: bool,
    /// The closed tool whose `args` this record is (or is inside): an undeclared key here is
    /// an input error naming that tool. `None`: undeclared keys are skipped unread.
    pub closed_by: Option<SmolStr>,
}

#[derive(Debug)]
pub(super) struct FieldNode {
    pub name: Box<str>,
    pub node: Node,
}

impl RecordNode {
    pub fn new(fields: &[FieldType]) -> RecordNode {
        let fields: Vec<FieldNode> = fields.iter().map(|f| FieldNode { name: f.name.as_str().into(), node: Node::field(f) }).collect();
        let index = NameIndex::new(fields.iter().map(|f| &*f.name));
        let required = |f: &&FieldNode| !f.node.optional;
        let required_low = fields.iter().take(64).enumerate().filter(|(_, f)| required(f)).fold(0u64, |m, (i, _)| m | 1 << i);
        let required_high = fields.iter().skip(64).any(|f| required(&f));
        RecordNode { fields, index, required_low, required_high, closed_by: None }
    }

    /// The declared field called `name`, with its index.
    pub fn find(&self, name: &[u8]) -> Option<(usize, &FieldNode)> {
        self.find_key(Key::new(name))
    }

    pub fn find_key(&self, key: Key) -> Option<(usize, &FieldNode)> {
        let i = self.index.get_key(key)?;
        self.fields.get(i).map(|f| (i, f))
    }

    fn find_mut(&mut self, name: &str) -> Option<&mut FieldNode> {
        self.fields.iter_mut().find(|f| &*f.name == name)
    }

    /// Attaches `slot` to the node at `path` (field names through records). Returns false
    /// when the path does not lead to a declared node.
    pub fn attach_slot(&mut self, path: &[String], slot: usize) -> bool {
        let Some((first, rest)) = path.split_first() else { return false };
        let Some(field) = self.find_mut(first) else { return false };
        field.node.attach_slot(rest, slot)
    }

    pub fn mark_build(&mut self, parent_builds: bool) {
        for f in &mut self.fields {
            f.node.mark_build(parent_builds);
        }
    }
}

impl Node {
    pub fn new(ty: &Type, optional: bool) -> Node {
        // `Type::Optional` inside a declaration means the same as a `?` field.
        let (ty, optional) = match ty {
            Type::Optional(inner) => (&**inner, true),
            other => (other, optional),
        };
        let kind = match ty {
            Type::Bool => Kind::Bool,
            Type::Number => Kind::Number,
            Type::String => Kind::String,
            Type::Duration => Kind::Duration,
            Type::Timestamp => Kind::Timestamp,
            Type::Enum(values) => Kind::Enum(values.iter().map(SmolStr::new).collect()),
            Type::List(elem) => Kind::List(Box::new(Node::new(elem, false))),
            Type::Map(elem) => Kind::Map(Box::new(Node::new(elem, false))),
            Type::Record(rec) => Kind::Record(RecordNode::new(&rec.fields)),
            Type::Optional(_) | Type::Any => Kind::Any,
        };
        Node { kind, expected: ty.to_string().into(), must_be: must_be(ty).into(), optional, slots: Vec::new(), build: false }
    }

    /// The node of a declared field: its type's, or a lenient number's.
    pub fn field(f: &FieldType) -> Node {
        let mut node = Node::new(&f.ty, f.optional);
        if f.lenient && matches!(node.kind, Kind::Number) {
            node.kind = Kind::LenientNumber;
            node.expected = "lenient number".into();
            node.must_be = "a number or a numeric string (a lenient number)".into();
        }
        node
    }

    /// The node for a tool's `args`: a record of its parameters.
    pub fn args(params: &[FieldType]) -> Node {
        Node {
            kind: Kind::Record(RecordNode::new(params)),
            expected: "object".into(),
            must_be: "an object".into(),
            optional: false,
            slots: Vec::new(),
            build: false,
        }
    }

    pub fn attach_slot(&mut self, path: &[String], slot: usize) -> bool {
        if path.is_empty() {
            self.slots.push(slot);
            return true;
        }
        match &mut self.kind {
            Kind::Record(rec) => rec.attach_slot(path, slot),
            // Slots never go through lists or maps.
            _ => false,
        }
    }

    /// Closes every record at or below this node (through lists and map values too) on
    /// behalf of `tool`.
    pub fn close(&mut self, tool: &SmolStr) {
        match &mut self.kind {
            Kind::Record(rec) => {
                rec.closed_by = Some(tool.clone());
                for f in &mut rec.fields {
                    f.node.close(tool);
                }
            }
            Kind::List(elem) | Kind::Map(elem) => elem.close(tool),
            _ => {}
        }
    }

    pub fn mark_build(&mut self, parent_builds: bool) {
        self.build = parent_builds || !self.slots.is_empty();
        let build = self.build;
        match &mut self.kind {
            Kind::Record(rec) => rec.mark_build(build),
            Kind::List(elem) | Kind::Map(elem) => elem.mark_build(build),
            _ => {}
        }
    }
}

/// How a type reads after "must be": `a number`, `one of "low", "high"`.
fn must_be(ty: &Type) -> String {
    match ty {
        Type::Bool => "a bool".into(),
        Type::Number => "a number".into(),
        Type::String => "a string".into(),
        Type::Duration => "a duration (a number of seconds)".into(),
        Type::Timestamp => "an RFC 3339 timestamp".into(),
        Type::Enum(values) => {
            let quoted: Vec<String> = values.iter().map(|v| format!("\"{v}\"")).collect();
            format!("one of {}", quoted.join(", "))
        }
        Type::List(_) | Type::Map(_) => format!("a {ty}"),
        Type::Record(rec) => match &rec.name {
            Some(name) => format!("a `{name}` object"),
            None => "an object".into(),
        },
        Type::Optional(inner) => must_be(inner),
        Type::Any => "any value".into(),
    }
}

/// The decode trees of one policy: the envelope's, and the `args` of each declared tool
/// with the tools' names indexed. Built by `Decoder::new`; walked by both decoder paths
/// (`decoder`'s full decoder and `fast`), so neither has to know the other.
#[derive(Debug)]
pub(super) struct Trees {
    /// The `request { ... }` fields.
    pub envelope: RecordNode,
    /// The `args` of each declared tool, in `RequestSchema::tools` order.
    pub tools: Vec<Node>,
    pub tool_index: NameIndex,
}

impl Trees {
    /// The declared `request { ... }` fields.
    pub fn envelope(&self) -> &RecordNode {
        &self.envelope
    }

    /// The index of the declared tool called `name`.
    pub fn tool_index(&self, name: &str) -> Option<usize> {
        self.tool_index.get(name.as_bytes())
    }

    /// The `args` node of declared tool `i`.
    pub fn tool_node(&self, i: usize) -> Option<&Node> {
        self.tools.get(i)
    }
}

/// Names to their positions, looked up once per key of every request. A few names are
/// scanned by a one-word summary (length and first seven bytes), so a mismatch costs one
/// compare and a match of a short name needs no other; more names get a hash table with a
/// cheap word-at-a-time hash instead of SipHash: the table holds only the policy's names,
/// so a request's key can at worst probe its own bucket, not flood the table.
#[derive(Debug)]
pub(super) struct NameIndex {
    names: Vec<Box<[u8]>>,
    summaries: Vec<u64>,
    table: Option<HashMap<Box<[u8]>, usize, BuildHasherDefault<WordHasher>>>,
}

impl NameIndex {
    pub fn new<'a>(names: impl Iterator<Item = &'a str>) -> NameIndex {
        let names: Vec<Box<[u8]>> = names.map(|n| Box::from(n.as_bytes())).collect();
        let summaries = names.iter().map(|n| summary(n)).collect();
        let table = (names.len() > LINEAR_LOOKUP_MAX).then(|| names.iter().enumerate().map(|(i, n)| (n.clone(), i)).collect());
        NameIndex { names, summaries, table }
    }

    /// The position of `name` (names are unique: declared fields and tools).
    pub fn get(&self, name: &[u8]) -> Option<usize> {
        self.get_key(Key::new(name))
    }

    /// The same for a name whose summary is known.
    pub fn get_key(&self, key: Key) -> Option<usize> {
        let Key { bytes: name, summary: wanted } = key;
        if let Some(table) = &self.table {
            return table.get(name).copied();
        }
        // Names of up to seven bytes are whole in their summary; longer ones may share it.
        // An inline loop: the tails are short, and a `memcmp` call costs more than they do.
        let rest_matches = |n: &[u8]| n.len() == name.len() && n.iter().zip(name).skip(7).all(|(a, b)| a == b);
        self.summaries.iter().zip(&self.names).position(|(&s, n)| s == wanted && rest_matches(n))
    }
}

/// A name's length (low byte) and first seven bytes, in one word; names of up to seven
/// bytes are whole in it.
pub(super) const fn summary(name: &[u8]) -> u64 {
    let mut s = name.len() as u64 & 0xff;
    let mut i = 0;
    while i < name.len() && i < 7 {
        s |= (name[i] as u64) << (8 * (i + 1));
        i += 1;
    }
    s
}

/// A key to look up, with its summary (which the fast path reads from the request in one
/// load instead of byte by byte).
#[derive(Clone, Copy, Debug)]
pub(super) struct Key<'a> {
    pub bytes: &'a [u8],
    pub summary: u64,
}

impl<'a> Key<'a> {
    pub fn new(bytes: &'a [u8]) -> Key<'a> {
        Key { bytes, summary: summary(bytes) }
    }

    /// The key whose bytes start the eight-byte little-endian `word`.
    pub fn from_word(bytes: &'a [u8], word: u64) -> Key<'a> {
        let mask = if bytes.len() >= 7 { (1u64 << 56) - 1 } else { (1u64 << (8 * bytes.len())) - 1 };
        Key { bytes, summary: (word & mask) << 8 | (bytes.len() as u64 & 0xff) }
    }
}

/// FxHash's word step with splitmix64's finalizer, so both the bucket bits (low) and the
/// tag bits (high) of the hash depend on every byte.
#[derive(Default)]
pub(super) struct WordHasher(u64);

impl WordHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for WordHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut buf = [0u8; 8];
            buf.copy_from_slice(word);
            self.add(u64::from_le_bytes(buf));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut buf = [0u8; 8];
            if let Some(head) = buf.get_mut(..rest.len()) {
                head.copy_from_slice(rest);
            }
            self.add(u64::from_le_bytes(buf));
        }
    }

    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }

    fn finish(&self) -> u64 {
        let mut h = self.0;
        h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        h ^ (h >> 31)
    }
}
