//! Resource limits. In: a `Limits` (the defaults below, or the user's: builder options
//! `Policy::from_sources_with` / `Policy::from_paths_with`, CLI flags `--max-*`). Out: the
//! checks that enforce them on requests (`check_request`, before any JSON parsing), the
//! numbers the compiler enforces on policies (source size, expression nesting, size after
//! inlining, regex program size) and the work budget of each decision (`max_work`, counted
//! by `vm::Meter`).
//!
//! Exceeding a request limit is an input error: the decision fails closed (the policy's
//! `on error` outcome, deny by default) with the limit's name and value in the error.
//! Exceeding a policy limit is a compile error (codes E05xx) naming the limit and value,
//! with a help on how to raise it. Running out of work is a rule error naming the limit. The limits keep every stage's work and memory bounded
//! and keep every recursive stage (parser, checker, IR passes, bytecode compiler, drops)
//! well inside the stack.

use crate::input::InputError;

/// Limits on what a policy and a request may contain. `Limits::default()` documents the
/// defaults; every field can be raised or lowered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest request, in bytes (default 1 MiB). CLI: `--max-request-bytes`.
    pub max_request_bytes: usize,
    /// Deepest nesting of JSON arrays and objects in a request, counting the request
    /// object itself as 1 (default 64; at most 128 is effective, the JSON parser's own
    /// recursion limit). CLI: `--max-json-depth`.
    pub max_json_depth: usize,
    /// Longest JSON string (values and keys) in a request, in bytes as written, escapes
    /// included (default 256 KiB). CLI: `--max-string-bytes`.
    pub max_string_bytes: usize,
    /// Most elements in one JSON array, or members in one object, in a request (default
    /// 10,000). CLI: `--max-list-len`.
    pub max_list_len: usize,
    /// Largest `.pol` source file, in bytes (default 1 MiB). CLI: `--max-source-bytes`.
    pub max_source_bytes: usize,
    /// Largest reference data file (`data/NAME.json`, `--data`), in bytes (default 64 MiB).
    /// CLI: `--max-data-bytes`.
    pub max_data_bytes: usize,
    /// Deepest nesting of one expression, type or test value as written, counting operators
    /// and brackets (default 128). CLI: `--max-expr-depth`.
    pub max_expr_depth: usize,
    /// Deepest nesting of one expression once the `let`s and functions it uses are
    /// expanded, and of declared types (default 512). CLI: `--max-compiled-depth`.
    pub max_compiled_depth: usize,
    /// Most nodes of one rule's expressions once `let`s and functions are expanded
    /// (default 200,000): expansion can double a tree per `let`, so this bounds memory and
    /// compile time. CLI: `--max-compiled-nodes`.
    pub max_compiled_nodes: usize,
    /// Largest compiled program of one regular expression, in bytes (default 1 MiB; the
    /// `regex` crate's `size_limit`). CLI: `--max-regex-bytes`.
    pub max_regex_bytes: usize,
    /// Most work one decision may do, in units (default 10,000,000): each quantifier
    /// iteration costs 1 plus its body's size, a string scan the string's bytes, a list
    /// search the list's length (`vm::Meter` has the whole list). The rules' conditions
    /// share one budget per decision; each fired rule's reason and `set` value get one of
    /// their own. A rule that runs out is a rule error (deny and approval rules fire), the
    /// same on both engines. CLI: `--max-work`.
    pub max_work: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_request_bytes: 1 << 20,
            max_json_depth: 64,
            max_string_bytes: 256 << 10,
            max_list_len: 10_000,
            max_source_bytes: 1 << 20,
            max_data_bytes: 64 << 20,
            max_expr_depth: 128,
            max_compiled_depth: 512,
            max_compiled_nodes: 200_000,
            max_regex_bytes: 1 << 20,
            max_work: 10_000_000,
        }
    }
}

/// Reads a request from `reader`, stopping one byte past `max_request_bytes`: enough for
/// `check_request` to refuse it by name, without reading an endless or huge source (a
/// device, a pipe) into memory first.
pub fn read_request(reader: impl std::io::Read, limits: &Limits) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    let bound = u64::try_from(limits.max_request_bytes).unwrap_or(u64::MAX).saturating_add(1);
    reader.take(bound).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// One open JSON array or object during the scan: its element count so far.
struct Open {
    elements: usize,
}

/// Checks a request's bytes against the request limits in one linear pass, without
/// recursion or allocation beyond `max_json_depth` counters. Malformed JSON is left to the
/// decoder to report; this only measures.
pub fn check_request(bytes: &[u8], limits: &Limits) -> Result<(), InputError> {
    if bytes.len() > limits.max_request_bytes {
        // Readers stop one byte past the limit (`read_request`), so the size is a lower bound.
        return Err(exceeded(
            "max_request_bytes",
            limits.max_request_bytes,
            format!("more than {} bytes", limits.max_request_bytes),
            format!("the request is longer than `max_request_bytes` ({} bytes)", limits.max_request_bytes),
        ));
    }
    if within_limits_by_size(bytes, limits) {
        return Ok(());
    }
    scan_request(bytes, limits)
}

/// A cheap proof that no structural limit can be exceeded, for typical requests: no string
/// is longer than the whole request; a container of `n` elements takes at least `2n - 1`
/// bytes; and nesting `d` deep takes `d` opening brackets, counted anywhere (in strings too).
fn within_limits_by_size(bytes: &[u8], limits: &Limits) -> bool {
    bytes.len() <= limits.max_string_bytes
        && bytes.len() < 2 * limits.max_list_len + 1
        && (bytes.len() <= limits.max_json_depth || opening_brackets(bytes) <= limits.max_json_depth)
}

/// How many `[` and `{` the bytes hold. `[` (0x5B) and `{` (0x7B) differ only in bit 0x20,
/// so one compare finds both; counting into a byte per chunk of 255 lets the compiler
/// vectorize the loop (this runs on every request).
fn opening_brackets(bytes: &[u8]) -> usize {
    bytes.chunks(255).map(|chunk| chunk.iter().fold(0u8, |n, &b| n + u8::from(b | 0x20 == b'{')) as usize).sum()
}

/// The full pass: every string's length, every container's elements, the nesting depth.
fn scan_request(bytes: &[u8], limits: &Limits) -> Result<(), InputError> {
    // Deeper nesting than this is rare in requests and moves the counters to the heap.
    let mut open: smallvec::SmallVec<[Open; 16]> = smallvec::SmallVec::new();
    let mut at = 0;
    while let Some(&b) = bytes.get(at) {
        at += 1;
        match b {
            b' ' | b'\t' | b'\n' | b'\r' => continue,
            b']' | b'}' => {
                open.pop();
                continue;
            }
            b',' => {
                if let Some(top) = open.last_mut() {
                    top.elements += 1;
                    check_elements(top, limits)?;
                }
                continue;
            }
            _ => {}
        }
        // A value (or key) starts or continues here: the enclosing container is not empty.
        if let Some(top) = open.last_mut() {
            if top.elements == 0 {
                top.elements = 1;
            }
        }
        match b {
            b'"' => at = string_end(bytes, at, limits)?,
            b'[' | b'{' => {
                if open.len() >= limits.max_json_depth {
                    return Err(exceeded(
                        "max_json_depth",
                        limits.max_json_depth,
                        format!("nesting deeper than {}", limits.max_json_depth),
                        format!("the request nests arrays and objects deeper than `max_json_depth` ({}), at byte {}", limits.max_json_depth, at - 1),
                    ));
                }
                open.push(Open { elements: 0 });
            }
            _ => {}
        }
    }
    Ok(())
}

/// The index after the closing quote of the string whose contents start at `start` (the
/// end of the bytes when it is not closed), checking its length in bytes as written.
fn string_end(bytes: &[u8], start: usize, limits: &Limits) -> Result<usize, InputError> {
    let mut at = start;
    let end = loop {
        match bytes.get(at..).and_then(|rest| memchr::memchr2(b'"', b'\\', rest)) {
            // An escape: the next byte is part of it, whatever it is.
            Some(k) if bytes.get(at + k) == Some(&b'\\') => at += k + 2,
            Some(k) => break at + k,
            None => break bytes.len(),
        }
    };
    if end - start > limits.max_string_bytes {
        return Err(exceeded(
            "max_string_bytes",
            limits.max_string_bytes,
            format!("a string of more than {} bytes", limits.max_string_bytes),
            format!("a string in the request (at byte {start}) is longer than `max_string_bytes` ({} bytes)", limits.max_string_bytes),
        ));
    }
    Ok(end + 1)
}

fn check_elements(top: &Open, limits: &Limits) -> Result<(), InputError> {
    if top.elements > limits.max_list_len {
        return Err(exceeded(
            "max_list_len",
            limits.max_list_len,
            format!("more than {} elements", limits.max_list_len),
            format!("a list or object in the request has more than `max_list_len` ({}) elements", limits.max_list_len),
        ));
    }
    Ok(())
}

/// The input error for an exceeded request limit: `expected` names the limit and value.
fn exceeded(name: &str, value: usize, found: String, message: String) -> InputError {
    InputError { path: String::new(), expected: format!("at most `{name}` ({value})"), found, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Limits {
        Limits { max_request_bytes: 100, max_json_depth: 3, max_string_bytes: 5, max_list_len: 3, ..Limits::default() }
    }

    #[test]
    fn within_limits_passes() {
        assert!(check_request(br#"{"a": [1, 2, 3], "b": {"c": "12345"}}"#, &small()).is_ok());
    }

    #[test]
    fn each_limit_names_itself() {
        let cases: [(&[u8], &str); 4] = [
            (&[b' '; 101], "max_request_bytes"),
            (br#"{"a": [[[1]]]}"#, "max_json_depth"),
            (br#"{"a": "123456"}"#, "max_string_bytes"),
            (br#"{"a": [1, 2, 3, 4]}"#, "max_list_len"),
        ];
        for (bytes, name) in cases {
            let e = check_request(bytes, &small()).expect_err(name);
            assert!(e.message.contains(name) && e.expected.contains(name), "{name}: {e:?}");
        }
    }

    #[test]
    fn the_size_shortcut_agrees_with_the_full_scan() {
        let requests: [&[u8]; 8] = [
            br#"{"a": [1, 2, 3], "b": {"c": "12345"}}"#,
            br#"{"a": [1, 2, 3, 4]}"#,
            br#"[1,2,3,4]"#,
            br#"{"a": [[1]]}"#,
            br#"{"a": [[[1]]]}"#,
            br#"{"a": "123456"}"#,
            br#"{"k": "[[[[[[[[[["}"#,
            b"",
        ];
        for limits in [small(), Limits { max_list_len: 4, max_json_depth: 4, max_string_bytes: 40, ..Limits::default() }] {
            for r in requests {
                if within_limits_by_size(r, &limits) {
                    assert!(scan_request(r, &limits).is_ok(), "{}", String::from_utf8_lossy(r));
                }
                assert_eq!(check_request(r, &limits).is_ok(), scan_request(r, &limits).is_ok(), "{}", String::from_utf8_lossy(r));
            }
        }
    }

    #[test]
    fn opening_brackets_counts_both_kinds_and_nothing_else() {
        let long: Vec<u8> = (0..2000u32).map(|i| [b'[', b'{', b'a', b';', b'}', b']', 0x7Bu8 ^ 0x80][i as usize % 7]).collect();
        let expected = long.iter().filter(|&&b| b == b'[' || b == b'{').count();
        assert_eq!(opening_brackets(&long), expected);
        assert_eq!(opening_brackets(br#"{"a": [1, {"b": "["}]}"#), 4);
        assert_eq!(opening_brackets(b""), 0);
    }

    #[test]
    fn brackets_and_escapes_inside_strings_do_not_count() {
        assert!(check_request(br#"{"a": "[[[\""}"#, &small()).is_ok());
        assert!(check_request(br#"{"k": "\\"}"#, &small()).is_ok());
    }

    #[test]
    fn members_of_objects_count() {
        assert!(check_request(br#"{"a": 1, "b": 2, "c": 3, "d": 4}"#, &small()).is_err());
        assert!(check_request(br#"{"a": 1, "b": 2, "c": 3}"#, &small()).is_ok());
    }
}
