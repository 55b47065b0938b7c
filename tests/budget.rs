//! Decision-time resources (docs/security.md, "Work, stack and memory"): the JIT's stack
//! on a 2 MiB thread, block `let`s evaluated once, the per-decision work budget
//! (`max_work`) counted alike on both engines, and the JIT's memory bounded per iteration.

use gavel::{Backend, DecideOptions, Limits, Policy};

/// Runs `f` on a thread with a 2 MiB stack, the size every spawned Rust thread gets.
fn on_small_stack<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| std::thread::Builder::new().stack_size(2 << 20).spawn_scoped(s, f).expect("spawn").join().expect("no panic"))
}

/// The issue's shape: `lets` block `let`s, each doubling the one before, and two rules.
fn doubling_lets(lets: usize) -> String {
    let mut text = String::from("policy p\nversion \"1\"\ndefault allow\ntool t(n: number)\non t {\n  let a0 = n + 1\n");
    for i in 1..=lets {
        text.push_str(&format!("  let a{i} = a{} + a{}\n", i - 1, i - 1));
    }
    text.push_str(&format!("  rule big: deny when a{lets} > 1000000\n  rule small: deny when a{lets} < 0 - 1000000\n}}\n"));
    text
}

fn decide(policy: &Policy, backend: Backend, request: &[u8]) -> serde_json::Value {
    let engine = policy.engine(backend).expect("engine");
    engine.decide_with(request, DecideOptions { explain: false, now: Some(std::time::UNIX_EPOCH) }).to_json()
}

/// The decision on both engines, which must be byte for byte the same (verdicts too).
fn decide_both(policy: &Policy, request: &[u8]) -> serde_json::Value {
    let interp = decide(policy, Backend::Interpreter, request);
    #[cfg(feature = "jit")]
    {
        let jit = decide(policy, Backend::Jit, request);
        assert_eq!(interp.to_string(), jit.to_string(), "the engines disagree");
        for backend in [Backend::Interpreter, Backend::Jit] {
            let engine = policy.engine(backend).expect("engine");
            let verdict = engine.verdict(request, Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(0)));
            assert_eq!(serde_json::to_value(verdict.outcome()).expect("outcome"), interp["decision"], "{backend:?} verdict");
        }
    }
    interp
}

const HEADER: &str = "policy p\nversion \"1\"\ndefault allow\ntool t(s: string, l: list<number>, ls: list<string>)\n";

fn policy_with(body: &str, max_work: usize) -> Policy {
    let limits = Limits { max_work, ..Limits::default() };
    Policy::from_sources_with(&[("p.pol", &format!("{HEADER}{body}"))], &limits).unwrap_or_else(|d| panic!("{}", d.render()))
}

fn t_request(s: &str, l: &[f64], ls: &[&str]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({"tool": "t", "args": {"s": s, "l": l, "ls": ls}})).expect("json")
}

/// The rule errors of a decision, as `(rule, message)`.
fn rule_errors(d: &serde_json::Value) -> Vec<(String, String)> {
    d["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["kind"] == "rule")
        .map(|e| (e["rule"].as_str().unwrap_or_default().to_string(), e["message"].as_str().unwrap_or_default().to_string()))
        .collect()
}

fn is_budget_error(message: &str, max_work: usize) -> bool {
    message.contains("`max_work`") && message.contains(&format!("({max_work} units)")) && message.contains("--max-work")
}

#[test]
fn doubling_block_lets_run_on_the_jit_on_a_small_stack() {
    let text = doubling_lets(15);
    let policy = Policy::from_sources(&[("p.pol", &text)]).expect("compiles");
    let request = br#"{"tool": "t", "args": {"n": 1}}"#;
    let (jit, interp) = on_small_stack(|| (decide(&policy, Backend::Jit, request), decide(&policy, Backend::Interpreter, request)));
    // (1 + 1) * 2^15 = 65536: neither rule fires.
    assert_eq!(jit["decision"], "allow", "{jit}");
    assert_eq!(jit, interp);
    let big = on_small_stack(|| decide(&policy, Backend::Jit, br#"{"tool": "t", "args": {"n": 100}}"#));
    assert_eq!(big["decision"], "deny", "{big}");
    assert_eq!(big["decided_by"], serde_json::json!(["big"]));
}

#[test]
fn a_loop_costs_its_iterations_times_its_body() {
    // Each iteration of `x > 100` costs 1 + 3 nodes: 10 elements cost 40 units.
    let body = "rule big: on t deny when l.any(x => x > 100)\n";
    let request = t_request("", &[1.0; 10], &[]);
    let exact = decide_both(&policy_with(body, 40), &request);
    assert_eq!(exact["decision"], "allow", "{exact}");
    assert!(rule_errors(&exact).is_empty(), "{exact}");
    let short = decide_both(&policy_with(body, 39), &request);
    assert_eq!(short["decision"], "deny", "a deny rule that runs out of work fires: {short}");
    let errors = rule_errors(&short);
    assert_eq!(errors.len(), 1, "{short}");
    assert_eq!(errors[0].0, "big");
    assert!(is_budget_error(&errors[0].1, 39), "{}", errors[0].1);
}

#[test]
fn string_scans_cost_their_bytes() {
    let body = "rule shout: on t deny when s.lower() == \"x\"\n";
    let request = t_request("0123456789", &[], &[]);
    assert!(rule_errors(&decide_both(&policy_with(body, 10), &request)).is_empty());
    let short = decide_both(&policy_with(body, 9), &request);
    assert!(is_budget_error(&rule_errors(&short)[0].1, 9), "{short}");
    // Comparisons and prefix tests are free: no budget at all is enough.
    let free = "rule p: on t deny when s == \"x\" or s.starts_with(\"01\")\n";
    assert_eq!(decide_both(&policy_with(free, 0), &request)["decision"], "deny");
}

#[test]
fn an_allow_rule_that_runs_out_of_work_does_not_allow() {
    let body = "rule ok: on t allow when l.all(x => x < 100)\n";
    let text = format!("{}{body}", HEADER.replace("default allow", "default deny"));
    let limits = Limits { max_work: 5, ..Limits::default() };
    let policy = Policy::from_sources_with(&[("p.pol", &text)], &limits).expect("compiles");
    let d = decide_both(&policy, &t_request("", &[1.0; 10], &[]));
    assert_eq!(d["decision"], "deny", "{d}");
    assert!(is_budget_error(&rule_errors(&d)[0].1, 5), "{d}");
}

#[test]
fn the_conditions_of_a_decision_share_one_budget() {
    // Each rule alone fits (40 units), both do not.
    let body = "rule a: on t warn when l.any(x => x > 100)\nrule b: on t deny when l.any(x => x > 200)\n";
    let request = t_request("", &[1.0; 10], &[]);
    assert!(rule_errors(&decide_both(&policy_with(body, 80), &request)).is_empty());
    let d = decide_both(&policy_with(body, 60), &request);
    let errors = rule_errors(&d);
    assert_eq!(errors.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(), ["b"], "{d}");
    assert_eq!(d["decision"], "deny");
}

#[test]
fn a_block_let_is_evaluated_once_however_often_it_is_used() {
    // The count costs 40 units; used three times (and by another let), it is paid once.
    let body = "on t {\n  let n = l.count(x => x > 0)\n  let twice = n + n\n  rule many: deny when n > 5 and n < 100 and twice > n\n}\n";
    let request = t_request("", &[1.0; 10], &[]);
    let d = decide_both(&policy_with(body, 40), &request);
    assert!(rule_errors(&d).is_empty(), "{d}");
    assert_eq!(d["decision"], "deny");
}

#[test]
fn a_block_let_that_is_not_reached_is_not_evaluated() {
    // `ratio` would divide by zero, and `scan` run out of work, but neither is reached.
    let body = "on t {\n  let ratio = 10 / l.len()\n  let scan = ls.any(x => x.lower() == \"x\")\n  rule r: deny when l.len() > 0 and ratio > 1 and scan\n}\n";
    let d = decide_both(&policy_with(body, 1), &t_request("", &[], &["X"]));
    assert!(rule_errors(&d).is_empty(), "{d}");
    assert_eq!(d["decision"], "allow");
    // Reached, its error is the rule's.
    let d = decide_both(&policy_with(body.replace("l.len() > 0 and ", "").as_str(), 1), &t_request("", &[], &["X"]));
    assert_eq!(rule_errors(&d)[0].1, "division by zero", "{d}");
}

#[test]
fn a_reason_has_a_budget_of_its_own() {
    // The condition spends the whole budget; the reason still has its own.
    let body = "rule r: on t deny when l.count(x => x > 0) == 10 because \"{l.count(x => x > 0)} big\"\n";
    let d = decide_both(&policy_with(body, 40), &t_request("", &[1.0; 10], &[]));
    assert_eq!(d["rules"][0]["reason"], "10 big", "{d}");
}

/// The issue's rule over a request of 10,000 recipients (about 900 KB): 10^8 iterations,
/// 23 s before the budget; now a rule error within the default budget, on both engines.
#[test]
fn the_quadratic_recipient_rule_is_stopped_by_the_default_budget() {
    let text = "policy p\nversion \"1\"\ndefault allow\ntool mail.send(to: list<string>)\nrule dup: on mail.send deny when to.any(a => to.count(b => b.lower() == a.lower()) > 1)\n";
    let policy = Policy::from_sources(&[("p.pol", text)]).expect("compiles");
    let to: Vec<String> = (0..10_000).map(|i| format!("Recipient.Number.{i:05}.With.A.Long.Name@Some-Partner-Company.Example.com")).collect();
    let request = serde_json::to_vec(&serde_json::json!({"tool": "mail.send", "args": {"to": to}})).expect("json");
    assert!(request.len() > 700_000, "{} bytes", request.len());
    let d = on_small_stack(|| decide_both(&policy, &request));
    assert_eq!(d["decision"], "deny", "{}", d["errors"]);
    assert!(is_budget_error(&rule_errors(&d)[0].1, Limits::default().max_work), "{}", d["errors"]);
}

/// Runs `f` on a thread with a 256 KiB stack (the `jit_small_stack` fuzz target's).
#[cfg(feature = "jit")]
fn on_tiny_stack<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| std::thread::Builder::new().stack_size(256 << 10).spawn_scoped(s, f).expect("spawn").join().expect("no panic"))
}

/// The deepest expression a policy may have once its lets are expanded, compiled by the
/// JIT on the request's thread (lazily) and run there, on a small stack.
#[cfg(feature = "jit")]
#[test]
fn the_deepest_allowed_expression_compiles_and_runs_on_the_jit_on_a_small_stack() {
    // A chain of functions, each calling the one before: about 500 levels expanded (near
    // `max_compiled_depth`),
    // none of which folds (the argument is the loop's element).
    let mut text =
        String::from("policy p\nversion \"1\"\ndefault allow\ntool t(s: string, l: list<number>, ls: list<string>)\nfn f0(x: number) -> number = x + 1\n");
    for i in 1..=250 {
        text.push_str(&format!("fn f{i}(x: number) -> number = f{}(x) * 1\n", i - 1));
    }
    text.push_str("rule deep: on t deny when l.any(x => f250(x) > 1000)\n");
    let policy = Policy::from_sources(&[("p.pol", &text)]).unwrap_or_else(|d| panic!("{}", d.render()));
    let request = t_request("", &[1.0, 2000.0], &[]);
    let d = on_tiny_stack(|| decide(&policy, Backend::Jit, &request));
    assert_eq!(d["decision"], "deny", "{d}");
}

/// Each use of a block `let` shows its value in the explanation, the memo's uses too.
#[test]
fn explanations_label_every_use_of_a_block_let() {
    let body = "on t {\n  let big = l.count(x => x > 10)\n  rule r: deny when big > 1 and big < 5\n}\n";
    let policy = policy_with(body, 1_000);
    for backend in [Backend::Interpreter, Backend::Jit] {
        let engine = policy.engine(backend).expect("engine");
        let d = engine.decide_with(&t_request("", &[20.0, 30.0, 1.0], &[]), DecideOptions { explain: true, now: Some(std::time::UNIX_EPOCH) }).to_json();
        let uses: Vec<&serde_json::Value> = d["rules"][0]["trace"].as_array().expect("a trace").iter().filter(|t| t["expr"] == "big").collect();
        assert_eq!(uses.len(), 2, "{d}");
        assert!(uses.iter().all(|t| t["value"] == 2), "{d}");
    }
}

#[test]
fn map_and_filter_cost_their_iterations_like_the_quantifiers() {
    // `x + 1` and `x > 100` are 3 nodes: each iteration costs 4 units, 10 cost 40.
    for body in ["rule m: on t deny when l.map(x => x + 1).len() > 100\n", "rule f: on t deny when l.filter(x => x > 100).len() > 0\n"] {
        let request = t_request("", &[1.0; 10], &[]);
        let exact = decide_both(&policy_with(body, 40), &request);
        assert_eq!(exact["decision"], "allow", "{body}: {exact}");
        assert!(rule_errors(&exact).is_empty(), "{body}: {exact}");
        let short = decide_both(&policy_with(body, 39), &request);
        assert!(is_budget_error(&rule_errors(&short)[0].1, 39), "{body}: {short}");
    }
}

#[test]
fn replace_and_join_cost_what_they_write() {
    // `"aaaa".replace("a", "xyz")`: 4 bytes read, 4 × 3 written.
    let body = "rule r: on t deny when s.replace(\"a\", \"xyz\") == \"x\"\n";
    let request = t_request("aaaa", &[], &[]);
    assert!(rule_errors(&decide_both(&policy_with(body, 16), &request)).is_empty());
    assert!(is_budget_error(&rule_errors(&decide_both(&policy_with(body, 15), &request))[0].1, 15));
    // `["ab", "c"].join("--")`: 3 bytes of elements, 2 × 2 of separators, 2 elements.
    let body = "rule j: on t deny when ls.join(\"--\") == \"x\"\n";
    let request = t_request("", &[], &["ab", "c"]);
    assert!(rule_errors(&decide_both(&policy_with(body, 9), &request)).is_empty());
    assert!(is_budget_error(&rule_errors(&decide_both(&policy_with(body, 8), &request))[0].1, 8));
}
