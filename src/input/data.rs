//! Reference data (LANGUAGE.md §9). In: a data file's JSON text and the type its `data`
//! declaration gives. Out: the value, or every place that does not match the type, each
//! with its JSON path (`$.EUR`, `$["u-100"][1]`), worded like a request's input errors. The
//! same decode trees as requests read it, so a data file and a request agree on what a
//! `number`, a timestamp or an enum value is.

use super::decode::{NodeSeed, Sink};
use super::errors::Path;
use super::tree::Node;
use super::InputError;
use crate::types::Type;
use crate::value::Value;
use serde::de::DeserializeSeed;

/// Why a data file does not give a value of its type.
#[derive(Debug, Clone, PartialEq)]
pub enum DataError {
    /// Not well-formed JSON: serde_json's message and the byte offset it points at.
    Malformed { message: String, at: usize },
    /// Well-formed, but these places do not match the type.
    Mismatch(Vec<InputError>),
}

/// Decodes a data file as a value of `ty`. Records take their declared fields and ignore
/// others (a data file may carry more than the policy reads).
pub fn decode_data(ty: &Type, text: &str) -> Result<Value, DataError> {
    let mut node = Node::new(ty, false);
    node.mark_build(true);
    let mut errors = Vec::new();
    let mut sink = Sink { slots: &mut [], errors: &mut errors };
    let mut de = serde_json::Deserializer::from_str(text);
    let decoded = NodeSeed { node: &node, sink: &mut sink, path: Path::Data }.deserialize(&mut de).and_then(|v| de.end().map(|()| v));
    match decoded {
        Err(e) => Err(DataError::Malformed { message: e.to_string(), at: offset_of(text, e.line(), e.column()) }),
        Ok(value) if errors.is_empty() => Ok(value),
        Ok(_) => Err(DataError::Mismatch(errors)),
    }
}

/// The byte offset of serde_json's 1-based line and column (the column counts bytes; 0
/// means the end of the previous line), clamped to the text.
fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let line_start: usize = text.split_inclusive('\n').take(line.saturating_sub(1)).map(str::len).sum();
    (line_start + column.saturating_sub(1)).min(text.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Type;

    fn map_of(t: Type) -> Type {
        Type::Map(Box::new(t))
    }

    #[test]
    fn a_map_of_numbers_decodes_and_a_string_among_them_is_named_by_its_json_path() {
        let ty = map_of(Type::Number);
        let v = decode_data(&ty, r#"{"USD": 20000, "EUR": 15000}"#).expect("valid");
        assert_eq!(v.to_string(), "{USD: 20000, EUR: 15000}");
        let errors = mismatches(decode_data(&ty, r#"{"USD": 20000, "EUR": "15000"}"#));
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].path, "$.EUR");
        assert_eq!(errors[0].found, r#"string "15000""#);
        assert_eq!(errors[0].expected, "number");
    }

    #[test]
    fn keys_that_are_not_plain_names_are_quoted_and_indexes_follow() {
        let ty = map_of(Type::List(Box::new(Type::String)));
        let errors = mismatches(decode_data(&ty, r#"{"u-100": ["a", 7], "ok": ["b"]}"#));
        assert_eq!(errors.iter().map(|e| e.path.as_str()).collect::<Vec<_>>(), [r#"$["u-100"][1]"#]);
        let errors = mismatches(decode_data(&Type::List(Box::new(Type::Number)), r#"[1, true]"#));
        assert_eq!(errors[0].path, "$[1]");
        let errors = mismatches(decode_data(&Type::Number, r#""x""#));
        assert_eq!(errors[0].path, "$");
    }

    fn mismatches(r: Result<Value, DataError>) -> Vec<InputError> {
        match r {
            Err(DataError::Mismatch(errors)) => errors,
            other => panic!("expected mismatches, got {other:?}"),
        }
    }

    #[test]
    fn malformed_json_and_trailing_text_point_at_the_byte_at_fault() {
        // What is at the offset: the byte serde_json stopped at, or nothing at the end.
        for (text, at) in [("{\"USD\": 1,}", "}"), ("{\"USD\": 1} {}", "{}"), ("", ""), ("[1, 2", "2"), ("{\"a\": 1,\n \"b\": }", "}")] {
            match decode_data(&map_of(Type::Number), text) {
                Err(DataError::Malformed { message, at: found }) => {
                    assert!(message.contains("line"), "{text}: {message}");
                    assert_eq!(&text[found..], at, "{text:?}: {message}");
                }
                other => panic!("{text:?}: expected malformed, got {other:?}"),
            }
        }
    }
}
