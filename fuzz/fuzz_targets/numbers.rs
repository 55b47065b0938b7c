//! Number bytes → a request → the decoded number. In: arbitrary bytes, each made one
//! character of a JSON number (digits most often, and `-+.eE`), put as the number argument
//! of a request twice: `tool` first (the fast path reads it) and `args` first (only the full
//! decoder does). Out: nothing; a finding is a decoded value that is not, bit for bit,
//! `str::parse::<f64>` of the text (Rust's parser is correctly rounded), or a request that is
//! an input error when the text is a JSON number that parses to a finite double, or is not
//! one when the text is no JSON number or overflows (`1e400` is an input error).
#![no_main]

use gavel::internals::{Decoder, RequestSchema};
use gavel::types::{FieldType, Type};
use gavel::value::Value;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// Digits three times as likely as each other character.
const ALPHABET: &[u8] = b"012345678901234567890123456789-+.eE";

fn decoder() -> &'static Decoder {
    static DECODER: OnceLock<Decoder> = OnceLock::new();
    DECODER.get_or_init(|| {
        let mut schema = RequestSchema::default();
        schema.tools.insert("t".into(), vec![FieldType { name: "n".into(), ty: Type::Number, optional: false, lenient: false }]);
        Decoder::new(&schema, &[vec!["args".into(), "n".into()]])
    })
}

/// RFC 8259's `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
fn is_json_number(text: &[u8]) -> bool {
    let mut at = usize::from(text.first() == Some(&b'-'));
    let digits = |at: &mut usize| {
        let start = *at;
        while text.get(*at).is_some_and(u8::is_ascii_digit) {
            *at += 1;
        }
        *at > start
    };
    match text.get(at) {
        Some(b'0') => at += 1,
        Some(b'1'..=b'9') => {
            digits(&mut at);
        }
        _ => return false,
    }
    if text.get(at) == Some(&b'.') {
        at += 1;
        if !digits(&mut at) {
            return false;
        }
    }
    if matches!(text.get(at), Some(b'e' | b'E')) {
        at += 1;
        if matches!(text.get(at), Some(b'+' | b'-')) {
            at += 1;
        }
        if !digits(&mut at) {
            return false;
        }
    }
    at == text.len()
}

fuzz_target!(|data: &[u8]| {
    let text: String = data.iter().map(|&b| char::from(ALPHABET[usize::from(b) % ALPHABET.len()])).collect();
    // `None`: the request must be an input error.
    let want = if is_json_number(text.as_bytes()) {
        text.parse::<f64>().ok().filter(|n| n.is_finite())
    } else {
        None
    };
    let requests = [format!(r#"{{"tool":"t","args":{{"n":{text}}}}}"#), format!(r#"{{"args":{{"n":{text}}},"tool":"t"}}"#)];
    for request in requests {
        let got = match decoder().decode(request.as_bytes(), 0.0) {
            Ok(frame) => match frame.slots.first() {
                Some(Value::Num(n)) => Some(*n),
                other => panic!("{request}: the number slot holds {other:?}"),
            },
            Err(_) => None,
        };
        assert_eq!(got.map(f64::to_bits), want.map(f64::to_bits), "{request}: decoded {got:?}, std parses {want:?}");
    }
});
