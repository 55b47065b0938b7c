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

/// Already formatted phrases ("`)`", "an expression") -> "`)` or an expression".
fn phrases_or(items: &[String]) -> String {
    match items.len() {
        0 => String::new(),
        1 => items[0].clone(),
        n => format!("{} or {}", items[..n - 1].join(", "), items[n - 1]),
    }
}

pub fn invalid_token(span: Span, text: &str) -> Diagnostic {
    Diagnostic::error("E0001", format!("unexpected character `{text}`"), span, "not part of the language")
        .with_help("remove it, or put text inside double quotes")
}

/// `found` is a described token ("keyword `when`", "`}`"); `expected` are phrases from
/// `syntax::describe_expected` (already backticked where they are tokens).
pub fn unexpected_token(span: Span, found: &str, expected: &[String]) -> Diagnostic {
    let d = Diagnostic::error("E0002", format!("unexpected {found}"), span, "unexpected here");
    if expected.is_empty() {
        d
    } else {
        d.with_help(format!("expected {}", phrases_or(expected)))
    }
}

pub fn unexpected_eof(span: Span, expected: &[String]) -> Diagnostic {
    let d = Diagnostic::error("E0003", "unexpected end of file", span, "the file ends here");
    if expected.is_empty() {
        d
    } else {
        d.with_help(format!("expected {}", phrases_or(expected)))
    }
}

/// `span` covers the opening quote.
pub fn unterminated_string(span: Span) -> Diagnostic {
    Diagnostic::error("E0004", "unterminated string", span, "this string is never closed")
        .with_help("add a closing `\"` on the same line")
}

/// `span` covers the opening `/*`.
pub fn unterminated_comment(span: Span) -> Diagnostic {
    Diagnostic::error("E0005", "unterminated block comment", span, "this comment is never closed")
        .with_help("close it with `*/`")
}

pub fn bad_unicode_escape(span: Span) -> Diagnostic {
    Diagnostic::error("E0006", "invalid unicode escape in string", span, "contains a bad `\\u{...}` escape")
        .with_help("write `\\u{` followed by 1 to 6 hex digits of a valid character and `}`")
}

pub fn unknown_generic_type(span: Span, name: &str) -> Diagnostic {
    Diagnostic::error("E0007", format!("unknown generic type `{name}`"), span, "not a generic type")
        .with_help("only `list<T>` and `map<T>` take a type argument")
}

pub fn unknown_request_source(span: Span, name: &str) -> Diagnostic {
    Diagnostic::error("E0008", format!("unknown request source `{name}`"), span, "expected `file`")
        .with_help("write `request file(\"x.json\")`, `request FIXTURE` or `request { ... }`")
}

/// A `{` in a `because` template without its `}`; `span` covers the `{`.
pub fn unclosed_template_hole(span: Span) -> Diagnostic {
    Diagnostic::error("E0009", "unclosed `{` in template", span, "this hole is never closed")
        .with_help("close the hole with `}`, or write `{{` for a literal brace")
}

/// `{}` in a `because` template; `span` covers the braces.
pub fn empty_template_hole(span: Span) -> Diagnostic {
    Diagnostic::error("E0010", "empty `{}` in template", span, "no expression here")
        .with_help("put an expression inside the braces, or write `{{}}` for literal braces")
}

/// Digits run into letters, e.g. `5min` or `10k`.
pub fn bad_number(span: Span, text: &str) -> Diagnostic {
    Diagnostic::error("E0011", format!("invalid number `{text}`"), span, "not a number or a duration")
        .with_help("durations end in `s`, `m`, `h` or `d` (`30s`, `15m`, `24h`, `7d`); put a space between a number and a name")
}
