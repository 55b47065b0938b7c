//! Wording of input errors. In: where the decoder is (`Path`, a chain on the stack that
//! costs nothing until an error is written), the declared node and what the request has
//! there (`Found`). Out: `InputError`s with path, expected, found and a one-sentence message.

use super::tree::Node;
use super::InputError;
use std::fmt::{self, Write};

/// Strings shown in `found` are cut to this many characters.
const FOUND_STRING_MAX: usize = 40;

/// Where the decoder is: a linked list through the decoder's stack frames.
#[derive(Clone, Copy, Debug)]
pub(super) enum Path<'a> {
    Root,
    /// The root of a data file: paths render in JSONPath form, `$.EUR`, `$["u-100"][1]`.
    Data,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl Path<'_> {
    /// `args.recipient.country`, `args.fields[1]`, `args.tags["a b"]`; empty for the root.
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.write_to(&mut out);
        out
    }

    fn write_to(&self, out: &mut String) {
        match self {
            Path::Root => {}
            Path::Data => out.push('$'),
            Path::Key(parent, key) => {
                parent.write_to(out);
                if parent.in_data() {
                    if is_identifier(key) {
                        let _ = write!(out, ".{key}");
                    } else {
                        let _ = write!(out, "[{}]", quote(key));
                    }
                } else if is_plain_key(key) {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(key);
                } else {
                    // Map keys can hold anything; quote them so the path stays unambiguous.
                    let _ = write!(out, "[{}]", quote(key));
                }
            }
            Path::Index(parent, i) => {
                parent.write_to(out);
                let _ = write!(out, "[{i}]");
            }
        }
    }
}

impl Path<'_> {
    /// Whether this path is inside the request's `args`.
    pub fn in_args(&self) -> bool {
        match self {
            Path::Root | Path::Data => false,
            Path::Key(Path::Root, key) => *key == "args",
            Path::Key(parent, _) | Path::Index(parent, _) => parent.in_args(),
        }
    }

    /// Whether this path is inside a data file (its root is `Path::Data`).
    fn in_data(&self) -> bool {
        match self {
            Path::Root => false,
            Path::Data => true,
            Path::Key(parent, _) | Path::Index(parent, _) => parent.in_data(),
        }
    }
}

/// A JSONPath member name (`$.name`); other keys are written `$["u-100"]`.
fn is_identifier(key: &str) -> bool {
    key.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_') && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn is_plain_key(key: &str) -> bool {
    !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn quote(s: &str) -> String {
    // INVARIANT: serializing a `&str` to JSON cannot fail.
    serde_json::to_string(s).unwrap_or_default()
}

/// What the request has at a position.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Found {
    Bool(bool),
    /// The number as written in JSON form (`7`, `2.5`).
    Num(String),
    /// Already cut to `FOUND_STRING_MAX` characters.
    Str(String),
    Null,
    List,
    Object,
    Nothing,
}

impl Found {
    pub fn string(s: &str) -> Found {
        match s.char_indices().nth(FOUND_STRING_MAX) {
            Some((cut, _)) => Found::Str(format!("{}…", s.get(..cut).unwrap_or(s))),
            None => Found::Str(s.to_owned()),
        }
    }
}

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Found::Bool(b) => write!(f, "bool {b}"),
            Found::Num(n) => write!(f, "number {n}"),
            Found::Str(s) => write!(f, "string {}", quote(s)),
            Found::Null => write!(f, "null"),
            Found::List => write!(f, "a list"),
            Found::Object => write!(f, "an object"),
            Found::Nothing => write!(f, "nothing"),
        }
    }
}

/// A value of the wrong type (or an enum value or timestamp that does not fit).
pub(super) fn mismatch(path: &Path, node: &Node, found: Found) -> InputError {
    let path = path.render();
    InputError { message: format!("`{path}` must be {}, found {found}", node.must_be), expected: node.expected.to_string(), found: found.to_string(), path }
}

/// The same for the envelope's own fields (`tool`, `time`), which have no node.
pub(super) fn envelope_mismatch(key: &str, expected: &str, must_be: &str, found: Found) -> InputError {
    InputError { path: key.to_owned(), expected: expected.to_owned(), found: found.to_string(), message: format!("`{key}` must be {must_be}, found {found}") }
}

pub(super) fn missing(path: &Path, expected: &str) -> InputError {
    let path = path.render();
    InputError { message: format!("`{path}` is required but missing"), expected: expected.to_owned(), found: Found::Nothing.to_string(), path }
}

/// A key given twice in one object. `object` is where the object is, `key` the repeated key.
pub(super) fn duplicate(object: &Path, key: &str, expected: &str) -> InputError {
    let path = Path::Key(object, key).render();
    let message = match object {
        Path::Root => format!("duplicate key `{key}` in the request"),
        _ => format!("duplicate key `{key}` in `{}`", object.render()),
    };
    InputError { path, expected: expected.to_owned(), found: "a duplicate key".into(), message }
}

/// A key that a closed tool's `args` (or a record inside them) does not declare. `object`
/// is where the object is.
pub(super) fn undeclared(object: &Path, key: &str, tool: &str) -> InputError {
    let path = Path::Key(object, key).render();
    // Directly in `args` it is an argument; deeper, a field of a record inside them.
    let (article, what) = match object {
        Path::Key(Path::Root, _) => ("an", "argument"),
        _ => ("a", "field"),
    };
    InputError {
        message: format!(
            "`{path}` is not {article} {what} that tool `{tool}` declares, and the tool is closed; declare it, or \
             end the tool's parameter list with `...` to let undeclared arguments through unread"
        ),
        expected: "nothing (not declared)".into(),
        found: format!("an undeclared {what}"),
        path,
    }
}

/// The request is not a JSON object.
pub(super) fn not_object(found: Found) -> InputError {
    InputError {
        path: String::new(),
        expected: "object".into(),
        found: found.to_string(),
        message: format!("the request must be a JSON object, found {found}"),
    }
}

/// The request has no bytes but whitespace (a blank line in a batch, an empty file).
pub fn empty_request() -> InputError {
    InputError { path: String::new(), expected: "object".into(), found: "nothing".into(), message: "the request is empty: send one JSON object".into() }
}

/// How serde_json's error for a number beyond the largest double begins.
pub(super) const OUT_OF_RANGE: &str = "number out of range";
const OUT_OF_RANGE_FOUND: &str = "a number out of range";

/// A declared number given as one beyond the largest double (`1e400`). Decoding stops
/// there (serde_json cannot go on), so the decoder adds the position to the message.
pub(super) fn number_out_of_range(path: &Path) -> InputError {
    let p = path.render();
    let message = format!("`{p}` must be a number, found one beyond the largest number, about 1.8e308");
    InputError { path: p, expected: "number".into(), found: OUT_OF_RANGE_FOUND.into(), message }
}

pub(super) fn is_number_out_of_range(e: &InputError) -> bool {
    e.found == OUT_OF_RANGE_FOUND
}

/// The request is not well-formed JSON; `detail` is serde_json's message with its position.
pub(super) fn malformed(detail: &str) -> InputError {
    InputError { path: String::new(), expected: "object".into(), found: "malformed JSON".into(), message: format!("the request is not valid JSON: {detail}") }
}
