//! Constructor functions, one per kind of diagnostic, each with a stable code.
//! Codes: E00xx syntax, E01xx names and declarations, E02xx types, E03xx rules and tests,
//! E04xx files and policy sets. W0xxx are warnings.

use super::Diagnostic;
use crate::span::Span;

/// `a`, `b` and `c` -> "`a`, `b` or `c`".
pub fn one_of(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.len() {
        0 => String::new(),
        1 => quoted[0].clone(),
        n => format!("{} or {}", quoted[..n - 1].join(", "), quoted[n - 1]),
    }
}

/// The closest candidate to `name` by edit distance, if it is close enough to be a typo.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(name, c), c))
        .filter(|(d, c)| *d > 0 && *d <= (name.len().max(c.len()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

// ---- E00xx syntax -------------------------------------------------------------------

pub fn invalid_token(span: Span, text: &str) -> Diagnostic {
    Diagnostic::error("E0001", format!("unexpected character `{text}`"), span, "not part of the language")
        .with_help("remove it, or put text inside double quotes")
}

pub fn unexpected_token(span: Span, found: &str, expected: &[String]) -> Diagnostic {
    let d = Diagnostic::error("E0002", format!("unexpected {found}"), span, "unexpected here");
    if expected.is_empty() {
        d
    } else {
        d.with_help(format!("expected {}", one_of(expected)))
    }
}

pub fn unexpected_eof(span: Span, expected: &[String]) -> Diagnostic {
    Diagnostic::error("E0003", "unexpected end of file", span, "the file ends here")
        .with_help(format!("expected {}", one_of(expected)))
}
