//! `std.email.is_internal` against a real mail parser: `tests/data/email_getaddresses.json`
//! holds tricky address strings and what Python's `email.utils.getaddresses` extracts from
//! each (made by `scripts/email-getaddresses`). A string is internal only when the parser
//! finds exactly one address and that address's domain is internal; otherwise a mailer would
//! send the message to a recipient the policy never checked. Run on both engines.

use gavel::{Backend, DecideOptions, Policy};
use serde_json::Value;

const POLICY: &str = r#"policy email_table
version "1"
default allow
tool check(addr: string)
rule internal: on check deny when std.email.is_internal(addr, ["acme.com"])
"#;

/// Strings that are one plain internal address: the property must not hold by refusing all.
const INTERNAL: &[&str] = &[
    "bob@acme.com",
    " bob@acme.com ",
    "BOB@ACME.COM",
    "bob@eng.acme.com",
    "bob@acme.com.",
    "Bob <bob@acme.com>",
    "<bob@acme.com>",
    "\"Bob Smith\" <bob@acme.com>",
    "José <jose@acme.com>",
    "\tBob\t<bob@acme.com>\t",
];

/// The domain of an address as a mailer routes it: after the last `@`, lowercase, without
/// a trailing dot.
fn routed_domain(addr: &str) -> String {
    let domain = addr.rsplit('@').next().unwrap_or_default().to_lowercase();
    domain.strip_suffix('.').unwrap_or(&domain).to_string()
}

fn parser_says_internal(found: &[Value]) -> bool {
    match found {
        [Value::String(addr)] if addr.contains('@') => {
            let d = routed_domain(addr);
            d == "acme.com" || d.ends_with(".acme.com")
        }
        _ => false,
    }
}

#[test]
fn internal_only_when_a_mail_parser_finds_one_internal_address() {
    let table: Value = serde_json::from_str(include_str!("data/email_getaddresses.json")).expect("the table is JSON");
    let cases = table["cases"].as_array().expect("cases");
    assert!(cases.len() > 80, "the table lost its cases");
    let policy = Policy::from_sources(&[("email_table.pol", POLICY)]).expect("the test policy compiles");
    let mut backends = vec![Backend::Interpreter];
    if cfg!(feature = "jit") {
        backends.push(Backend::Jit);
    }
    for backend in backends {
        let engine = policy.engine(backend).expect("engine");
        let mut internal_seen = Vec::new();
        for case in cases {
            let input = case["input"].as_str().expect("input");
            let found = case["getaddresses"].as_array().expect("getaddresses");
            let request = serde_json::json!({ "tool": "check", "args": { "addr": input } }).to_string();
            let d = engine.decide_with(
                request.as_bytes(),
                DecideOptions { explain: false, now: Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_773_000_000)) },
            );
            assert!(d.errors.is_empty(), "{input:?}: {:?}", d.errors);
            if d.is_denied() {
                assert!(parser_says_internal(found), "{backend:?}: {input:?} is internal, but a mail parser reads {found:?}");
                internal_seen.push(input);
            }
        }
        for want in INTERNAL {
            assert!(internal_seen.contains(want), "{backend:?}: {want:?} should be internal");
        }
    }
}

/// The fuzz target's invariant (`fuzz/fuzz_targets/email.rs`), on strings built from the
/// characters that matter: whatever is internal holds exactly one `@`, no `,` or `;`, and
/// `<`/`>` only as one pair enclosing the address at the end.
mod invariant {
    use super::*;
    use proptest::prelude::*;

    static ENGINE: std::sync::OnceLock<gavel::Engine> = std::sync::OnceLock::new();

    fn one_internal_address(s: &str) -> bool {
        let t = s.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'));
        if s.matches('@').count() != 1 || s.contains(',') || s.contains(';') {
            return false;
        }
        let addr = match (t.matches('<').count(), t.matches('>').count()) {
            (0, 0) => t,
            (1, 1) if t.ends_with('>') => &t[t.find('<').map_or(0, |i| i + 1)..t.len() - 1],
            _ => return false,
        };
        let d = routed_domain(addr.trim());
        d == "acme.com" || d.ends_with(".acme.com")
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]
        #[test]
        fn whatever_is_internal_is_one_internal_address(
            parts in proptest::collection::vec(prop_oneof![
                Just("bob"), Just("@"), Just("acme.com"), Just("evil.io"), Just("."), Just(" "),
                Just(","), Just(";"), Just(":"), Just("<"), Just(">"), Just("\""), Just("("),
                Just(")"), Just("\\"), Just("\t"), Just("\u{a0}"), Just("é"), Just("eng."),
            ], 0..12)
        ) {
            let addr: String = parts.concat();
            let engine = ENGINE.get_or_init(|| {
                let policy = Policy::from_sources(&[("email_table.pol", POLICY)]).expect("compiles");
                policy.engine(Backend::Interpreter).expect("engine")
            });
            let request = serde_json::json!({ "tool": "check", "args": { "addr": addr } }).to_string();
            let d = engine.decide_with(request.as_bytes(), DecideOptions { explain: false, now: Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_773_000_000)) });
            if d.is_denied() {
                prop_assert!(one_internal_address(&addr), "{:?} is internal", addr);
            }
        }
    }
}
