//! The decode tree. In: the declared types of a request (`RequestSchema`) and the input
//! paths rules read (slots). Out: one `Node` per declared position, each knowing its JSON
//! kind, how to word errors about it, which slots it fills and whether a `Value` must be
//! built there. Built once per compiled policy; decoding only walks it.

use smol_str::SmolStr;
use crate::types::{FieldType, Type};
use std::collections::HashMap;

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
    /// Name -> field index, only for large records.
    index: Option<HashMap<Box<str>, usize>>,
}

#[derive(Debug)]
pub(super) struct FieldNode {
    pub name: Box<str>,
    pub node: Node,
}

impl RecordNode {
    pub fn new(fields: &[FieldType]) -> RecordNode {
        let fields: Vec<FieldNode> = fields
            .iter()
            .map(|f| FieldNode { name: f.name.as_str().into(), node: Node::new(&f.ty, f.optional) })
            .collect();
        let index = (fields.len() > LINEAR_LOOKUP_MAX)
            .then(|| fields.iter().enumerate().map(|(i, f)| (f.name.clone(), i)).collect());
        RecordNode { fields, index }
    }

    /// The declared field called `name`, with its index.
    pub fn find(&self, name: &str) -> Option<(usize, &FieldNode)> {
        match &self.index {
            Some(index) => index.get(name).and_then(|&i| self.fields.get(i).map(|f| (i, f))),
            None => self.fields.iter().enumerate().find(|(_, f)| &*f.name == name),
        }
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
        Node {
            kind,
            expected: ty.to_string().into(),
            must_be: must_be(ty).into(),
            optional,
            slots: Vec::new(),
            build: false,
        }
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
