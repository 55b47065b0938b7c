//! Text that is safe to print on a terminal. In: strings that may hold bytes from a request
//! or a policy (tool names, values, reasons, error messages, source lines). Out: the same
//! text with every control, bidirectional and invisible formatting character written as a
//! visible escape (`\u{1b}`), so nothing a request carries can move the cursor, recolour,
//! erase or reorder what Gavel prints (`"\r\u{1b}[2KALLOW"` cannot paint over a `DENY`).
//!
//! Every text rendering (decision explanations, test reports, diagnostics) passes the text
//! it did not write itself through `escape` (one-line fields), `escape_text` (messages that
//! may span lines) or, for source shown in snippets, `mask_source`, which keeps byte offsets.

use std::borrow::Cow;

/// A character a terminal would act on or hide rather than show: C0 and C1 controls, DEL,
/// the bidirectional embeddings, overrides, isolates and marks, line and paragraph
/// separators, and the zero-width and invisible formatting characters.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}'
        )
}

/// One line of text with every unsafe character (newlines and tabs included) escaped.
pub fn escape(s: &str) -> Cow<'_, str> {
    escape_where(s, is_unsafe)
}

/// Text that may span lines: like `escape`, but `\n` and `\t` stay as they are.
pub fn escape_text(s: &str) -> Cow<'_, str> {
    escape_where(s, |c| c != '\n' && c != '\t' && is_unsafe(c))
}

fn escape_where(s: &str, unsafe_char: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !s.chars().any(&unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if unsafe_char(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Source text for a snippet: each unsafe character but `\n`, `\t` and the `\r` of a `\r\n`
/// becomes `?` once per byte, so every byte offset (and so every span) still points at the
/// same place.
pub fn mask_source(s: &str) -> Cow<'_, str> {
    let bytes = s.as_bytes();
    let keep = |i: usize, c: char| c == '\n' || c == '\t' || (c == '\r' && bytes.get(i + 1) == Some(&b'\n'));
    if !s.char_indices().any(|(i, c)| is_unsafe(c) && !keep(i, c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    for (i, c) in s.char_indices() {
        if is_unsafe(c) && !keep(i, c) {
            out.extend(std::iter::repeat_n('?', c.len_utf8()));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_controls_are_escaped() {
        assert_eq!(escape("export.dataset\r\u{1b}[2KALLOW: x"), "export.dataset\\u{d}\\u{1b}[2KALLOW: x");
        assert_eq!(escape("a\u{202e}b\u{200b}c\u{85}d\ne"), "a\\u{202e}b\\u{200b}c\\u{85}d\\u{a}e");
        assert_eq!(escape_text("one\ntwo\u{7}"), "one\ntwo\\u{7}");
        assert!(matches!(escape("plain ünïcode ✓"), Cow::Borrowed(_)));
    }

    #[test]
    fn masked_source_keeps_every_byte_offset() {
        let s = "a\u{1b}b\u{202e}c\r\nd\re\u{85}";
        let m = mask_source(s);
        assert_eq!(m, "a?b???c\r\nd?e??");
        assert_eq!(m.len(), s.len());
        assert!(s.char_indices().all(|(i, _)| m.is_char_boundary(i)));
    }
}
