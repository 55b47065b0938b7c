//! Arbitrary strings → `std.email.is_internal(addr, ["acme.com"])`, through a tiny policy
//! compiled once (interpreter and JIT). In: bytes, lossily made UTF-8, as the address. Out:
//! nothing; a finding is a panic, the two engines disagreeing, or a string said to be
//! internal that is not exactly one address of the internal domain: it must hold exactly
//! one `@`, no `,` or `;`, `<`/`>` only as one pair enclosing the address at the end, and
//! the domain after the `@` must be `acme.com` or below it.
#![no_main]

use gavel::{Backend, DecideOptions, Engine, Policy};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

const POLICY: &str = r#"policy fuzz_email
version "1"
default allow
tool check(addr: string)
rule internal: on check deny when std.email.is_internal(addr, ["acme.com"])
"#;

fn engines() -> &'static Vec<Engine> {
    static ENGINES: OnceLock<Vec<Engine>> = OnceLock::new();
    ENGINES.get_or_init(|| {
        let policy = Policy::from_sources(&[("fuzz_email.pol", POLICY)]).expect("the fuzz policy compiles");
        let mut engines = vec![policy.engine(Backend::Interpreter).expect("the interpreter is always available")];
        if let Ok(jit) = policy.engine(Backend::Jit) {
            engines.push(jit);
        }
        engines
    })
}

/// The invariant of an internal address, checked on the raw string.
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
    let domain = addr.rsplit('@').next().unwrap_or_default().trim().to_ascii_lowercase();
    let domain = domain.strip_suffix('.').unwrap_or(&domain);
    domain == "acme.com" || domain.ends_with(".acme.com")
}

fuzz_target!(|data: &[u8]| {
    let addr = String::from_utf8_lossy(data);
    let request = serde_json::json!({ "tool": "check", "args": { "addr": addr } }).to_string();
    let mut verdicts = engines().iter().map(|e| {
        let d = e.decide_with(request.as_bytes(), DecideOptions { explain: false, now: Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_773_000_000)) });
        assert!(d.errors.is_empty() || d.is_denied(), "{:?}", d.errors);
        d.is_denied() && d.errors.is_empty()
    });
    let internal = verdicts.next().unwrap_or(false);
    for other in verdicts {
        assert_eq!(internal, other, "the engines disagree on {addr:?}");
    }
    if internal {
        assert!(one_internal_address(&addr), "{addr:?} is internal but not exactly one address of acme.com");
    }
});
