//! `because` templates. In: a string literal from the file (its span locates the raw text,
//! escapes and all). Out: a `Template` of literal text and `{expr}` holes; each hole is
//! parsed as an expression whose spans sit at its true position in the file.
//!
//! `{{` and `}}` are literal braces; a lone `}` is kept as text. A hole ends at the first
//! `}`, so a string literal inside a hole cannot contain `}`. Such a string is written with
//! escaped quotes, as the hole sits inside a string: `"{memo ?? \"none\"}"`.

use super::ast::{Expr, ExprKind, StrLit, Template, TemplatePart};
use super::lexer::unescape;
use crate::diagnostics::{self, Diagnostic};
use crate::span::{FileId, Span};

/// Splits the string literal `lit` (taken from `src`) into text and parsed holes.
pub fn parse_template(file: FileId, src: &str, lit: &StrLit, diags: &mut Vec<Diagnostic>) -> Template {
    // The body lies between the quotes; the lexer guarantees both are there.
    let body_start = lit.span.start as usize + 1;
    let body_end = (lit.span.end as usize).saturating_sub(1).max(body_start);
    let Some(body) = src.get(body_start..body_end) else {
        // Not a literal of this source (should not happen): keep its value as plain text.
        return Template { parts: vec![TemplatePart::Text(lit.value.clone())], span: lit.span };
    };
    let mut parts = Vec::new();
    let mut raw_text = String::new();
    let mut i = 0;
    while let Some(c) = body[i..].chars().next() {
        let rest = &body[i..];
        if c == '\\' {
            // Keep an escape whole (so `\"` or `\{` never starts or ends anything).
            let len = 1 + rest[1..].chars().next().map_or(0, char::len_utf8);
            raw_text.push_str(&rest[..len]);
            i += len;
        } else if rest.starts_with("{{") || rest.starts_with("}}") {
            raw_text.push(c);
            i += 2;
        } else if c == '{' {
            flush_text(&mut raw_text, &mut parts);
            let hole_start = body_start + i;
            match rest.find('}') {
                None => {
                    diags.push(diagnostics::unclosed_template_hole(Span::new(file, hole_start, hole_start + 1)));
                    return Template { parts, span: lit.span };
                }
                Some(close) => {
                    let inner = hole_start + 1..hole_start + close;
                    parts.push(TemplatePart::Expr(parse_hole(file, src, inner, diags)));
                    i += close + 1;
                }
            }
        } else {
            raw_text.push(c);
            i += c.len_utf8();
        }
    }
    flush_text(&mut raw_text, &mut parts);
    Template { parts, span: lit.span }
}

/// Parses one hole's text (`range` excludes the braces); a bad hole becomes `ExprKind::Error`.
fn parse_hole(file: FileId, src: &str, range: std::ops::Range<usize>, diags: &mut Vec<Diagnostic>) -> Expr {
    let text = src.get(range.clone()).unwrap_or("");
    let error_expr = |diags: &mut Vec<Diagnostic>, d: Option<Diagnostic>| {
        diags.extend(d);
        Expr { kind: ExprKind::Error, span: Span::new(file, range.start, range.end).into() }
    };
    if text.trim().is_empty() {
        let braces = Span::new(file, range.start - 1, range.end + 1);
        return error_expr(diags, Some(diagnostics::empty_template_hole(braces)));
    }
    let unquoted = unescape_hole_quotes(src, range.clone());
    match super::parse_expr_in(file, &unquoted, range.clone(), diags) {
        Some(e) => e,
        None => error_expr(diags, None),
    }
}

/// A copy of `src` up to the hole's end in which the hole's `\"` become plain quotes, at
/// the same byte offsets (so spans stay true): an opening `\"` becomes ` "` and a closing
/// one `" `, the space falling outside the inner string either way.
fn unescape_hole_quotes(src: &str, range: std::ops::Range<usize>) -> String {
    let prefix = src.get(..range.start).unwrap_or("");
    let hole = src.get(range).unwrap_or("");
    let mut out = String::with_capacity(prefix.len() + hole.len());
    out.push_str(prefix);
    let mut inside = false;
    let mut rest = hole;
    while let Some(at) = rest.find("\\\"") {
        out.push_str(&rest[..at]);
        out.push_str(if inside { "\" " } else { " \"" });
        inside = !inside;
        rest = &rest[at + 2..];
    }
    out.push_str(rest);
    out
}

fn flush_text(raw: &mut String, parts: &mut Vec<TemplatePart>) {
    if raw.is_empty() {
        return;
    }
    // A bad `\u{...}` was already reported by the lexer for the whole literal.
    let text = unescape(raw).unwrap_or_else(|| raw.clone());
    parts.push(TemplatePart::Text(text));
    raw.clear();
}
