//! Property tests: mutated policy text never panics the compiler (parse, check, passes,
//! bytecode), and arbitrary request bytes never panic a decision.

use gavel::{Backend, Policy};
use proptest::prelude::*;

const POLICY: &str = include_str!("../examples/payments/policy.pol");
const SEMANTICS: &str = include_str!("cases/semantics/policy.pol");

/// Deletes, duplicates or moves a slice of `src`, at char boundaries.
fn mutate(src: &str, op: u8, at: usize, len: usize, to: usize) -> String {
    let chars: Vec<char> = src.chars().collect();
    let n = chars.len();
    let (a, b) = (at % n, (at % n + len % 40).min(n));
    let slice: String = chars[a..b].iter().collect();
    let mut out: Vec<char> = chars.clone();
    match op % 3 {
        0 => {
            out.drain(a..b);
        }
        1 => {
            let t = to % n;
            out.splice(t..t, slice.chars());
        }
        _ => {
            out.drain(a..b);
            let t = to % out.len().max(1);
            out.splice(t.min(out.len())..t.min(out.len()), slice.chars());
        }
    }
    out.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn mutated_policies_compile_or_report_errors(ops in proptest::collection::vec((any::<u8>(), any::<usize>(), any::<usize>(), any::<usize>()), 1..4), which in any::<bool>()) {
        let mut src = if which { POLICY.to_string() } else { SEMANTICS.to_string() };
        for (op, at, len, to) in ops {
            src = mutate(&src, op, at, len, to);
        }
        match Policy::from_sources(&[("p.pol", &src)]) {
            Ok(p) => {
                // A policy that compiles decides any request without panicking.
                let engine = p.engine(Backend::Interpreter).unwrap();
                let _ = engine.decide_json(br#"{"tool":"payments.transfer","args":{"amount":1}}"#);
            }
            Err(d) => prop_assert!(d.has_errors()),
        }
    }

    #[test]
    fn arbitrary_request_bytes_get_a_decision(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let p = Policy::from_sources(&[("p.pol", SEMANTICS)]).unwrap();
        let d = p.engine(Backend::Interpreter).unwrap().decide_json(&bytes).unwrap();
        // Anything that is not a valid request is denied (fail closed).
        if !d.errors.is_empty() {
            prop_assert!(d.is_denied());
        }
    }

    #[test]
    fn requests_with_random_values_get_a_decision(a in any::<f64>(), b in any::<f64>(), s in "\\PC{0,50}", n in 0usize..5) {
        let p = Policy::from_sources(&[("p.pol", SEMANTICS)]).unwrap();
        let engine = p.engine(Backend::Interpreter).unwrap();
        let env = r#""agent":{"id":"a","trust":"low"},"user":{"id":"u"},"workspace":"w","environment":"prod","context":{}"#;
        let items: Vec<String> = (0..n).map(|i| format!(r#"{{"sku":{},"qty":{}}}"#, serde_json::json!(s), i as f64 * a)).collect();
        let reqs = [
            format!(r#"{{"tool":"math.divide",{env},"args":{{"a":{},"b":{}}}}}"#, serde_json::json!(a), serde_json::json!(b)),
            format!(r#"{{"tool":"shop.order",{env},"args":{{"currency":{},"note":{},"items":[{}]}}}}"#, serde_json::json!(s), serde_json::json!(s), items.join(",")),
        ];
        for r in reqs {
            let d = engine.decide_json(r.as_bytes()).unwrap();
            prop_assert!(serde_json::to_string(&d).is_ok());
        }
    }
}
