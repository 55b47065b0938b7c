//! Natives of `stdlib/email.pol`. In: one string as an agent wrote an address (any bytes,
//! any length). Out: the one address it holds, or `""` when it is not exactly one address.
//! Linear in its input, never panics.
//!
//! A mailer reads `"bob@evil.io, <ana@acme.com>"` as two recipients, so whatever text
//! surrounds an address must be checked, not skipped: the accepted shapes are deliberately
//! narrower than RFC 5322 (no comments, groups, quoted names holding specials, lists), so
//! that every string read as one address here is one address to a real parser too
//! (`tests/email_addresses.rs` checks this against Python's `email.utils.getaddresses`).

/// Whitespace a mail parser skips around an address (RFC 5322 folding white space). Other
/// Unicode spaces are not trimmed: a parser keeps them as part of the address.
fn is_fws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Characters that end, join or comment addresses in a header (`,` and `;` separate list
/// members and groups, `:` opens a group, `(` a comment, `<>` bracket an address, `[]` a
/// domain literal, `\` quotes the next character).
fn is_special(c: char) -> bool {
    matches!(c, '@' | ',' | ';' | ':' | '<' | '>' | '(' | ')' | '[' | ']' | '\\' | '"')
}

/// The single address of `s`: `addr`, `Name <addr>`, `"Name" <addr>` or `<addr>`, with
/// surrounding white space trimmed; `""` when `s` is anything else: several addresses
/// (`a@x.io, b@y.io`, `A <a@x.io> <b@y.io>`), a display name holding `@ , ; : < > ( ) [ ] \`
/// or an unbalanced quote, text after the `>`, or an address part with white space,
/// control characters or more than one `@` outside a leading quoted local part. Text
/// without `@` that is otherwise plain (`nobody`) is returned as is.
pub fn address(s: &str) -> String {
    single_address(s).unwrap_or_default().to_string()
}

fn single_address(s: &str) -> Option<&str> {
    let t = s.trim_matches(is_fws);
    let (name, addr) = match t.find('<') {
        Some(open) => {
            let inner = t[open + 1..].strip_suffix('>')?;
            (&t[..open], inner.trim_matches(is_fws))
        }
        None => ("", t),
    };
    (display_name_ok(name) && addr_spec_ok(addr)).then_some(addr)
}

/// A display name: empty, plain words without specials, or one quoted string without
/// quotes, backslashes or address separators inside.
fn display_name_ok(name: &str) -> bool {
    let name = name.trim_matches(is_fws);
    let plain = |s: &str| !s.chars().any(|c| is_special(c) || c.is_control());
    match name.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
        Some(quoted) => plain(quoted),
        None => plain(name),
    }
}

/// An address part: no white space or control characters, no specials other than `@`,
/// and at most one `@`, except that a leading quoted local part (`"a@b"@acme.com`) may
/// hold any of them but a quote or a backslash.
fn addr_spec_ok(addr: &str) -> bool {
    let rest = match addr.strip_prefix('"') {
        Some(quoted) => match quoted.find('"') {
            Some(close) => {
                let (local, rest) = quoted.split_at(close);
                if local.contains('\\') || local.chars().any(char::is_control) {
                    return false;
                }
                match rest[1..].strip_prefix('@') {
                    Some(domain) => domain,
                    None => return false,
                }
            }
            None => return false,
        },
        None => addr,
    };
    let bad = |c: char| c.is_whitespace() || c.is_control() || (is_special(c) && c != '@');
    !rest.chars().any(bad) && rest.matches('@').count() <= 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_address_in_its_usual_shapes() {
        assert_eq!(address("bob@acme.com"), "bob@acme.com");
        assert_eq!(address("  bob@acme.com \t"), "bob@acme.com");
        assert_eq!(address("Bob <bob@acme.com>"), "bob@acme.com");
        assert_eq!(address("Bob<bob@acme.com>"), "bob@acme.com");
        assert_eq!(address("<bob@acme.com>"), "bob@acme.com");
        assert_eq!(address("< bob@acme.com >"), "bob@acme.com");
        assert_eq!(address("\"Bob Smith\" <bob@acme.com>"), "bob@acme.com");
        assert_eq!(address("José <jose@acme.com>"), "jose@acme.com");
        assert_eq!(address("\"a@b\"@acme.com"), "\"a@b\"@acme.com");
        assert_eq!(address("nobody"), "nobody");
        // One address to a mail parser too, with the character in its domain; `is_valid`
        // refuses it.
        assert_eq!(address("b@acme.com\u{200b}"), "b@acme.com\u{200b}");
    }

    #[test]
    fn anything_but_one_address_is_empty() {
        for s in [
            "bob@evil.io, <ana@acme.com>",
            "Bob <bob@evil.io> <ana@acme.com>",
            "a@evil.io, Bob <b@acme.com>",
            "a@evil.io; b@acme.com",
            "a@evil.io <b@acme.com>",
            "x@evil.io <y@acme.com",
            "x@acme.com>",
            "<b@acme.com> x",
            "<<b@acme.com>>",
            "\"Bob <b@acme.com>",
            "\"x@evil.io\" <b@acme.com>",
            "\"Smith, Bob\" <b@acme.com>",
            "evil: <b@acme.com>",
            "(a@evil.io) <b@acme.com>",
            "b@acme.com (Bob)",
            "bob@acme.com@evil.io",
            "bob smith@acme.com",
            "b@acme.com\u{a0}",
            "b@[1.2.3.4]",
            "\"a\\\"@evil.io\"@acme.com",
            "\"unterminated@acme.com",
            "\"a\"b@acme.com",
            "",
        ] {
            assert_eq!(address(s), "", "{s:?}");
        }
    }
}
