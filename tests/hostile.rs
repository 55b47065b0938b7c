//! Hostile requests (docs/security.md, "Hostile requests"): each is decided, never a panic,
//! and whatever cannot be read or evaluated fails closed. The behaviours pinned here are
//! the documented ones.

use gavel::{Backend, DecideOptions, Decision, Engine, Limits, Policy};

const POLICY: &str = r#"policy hostile
version "1"
default allow
on error deny
tool payments.transfer(amount: number, memo?: string, to?: string)
tool mail.send(to: list<string>, body: string)
tool notes.add(text: string, ...)

rule big: on payments.transfer deny when amount > 1000 because "too big: {amount}"
rule ratio: on payments.transfer deny when 100 / amount < 0.5
rule overflow: on payments.transfer deny when amount * amount > 1e300 * 10
rule nan_allow: on payments.transfer allow when amount / amount == 1
rule pattern: on payments.transfer deny when (memo ?? "").matches("(a+)+$")
rule ssn: on payments.transfer deny when std.pii.contains_ssn(memo ?? "")
rule card: on payments.transfer deny when std.pii.contains_card_number(memo ?? "")
rule external: on mail.send require approval from "security" when std.email.any_external(to, ["acme.com"])
"#;

fn engine_with(limits: &Limits) -> Engine {
    let policy = Policy::from_sources_with(&[("hostile.pol", POLICY)], limits).expect("the test policy compiles");
    policy.engine(Backend::Interpreter).expect("interpreter")
}

fn decide(request: &[u8]) -> Decision {
    engine_with(&Limits::default())
        .decide_with(request, DecideOptions { explain: false, now: Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_773_000_000)) })
}

fn errors_text(d: &Decision) -> String {
    serde_json::to_string(&d.errors).expect("serializes")
}

fn fired(d: &Decision) -> Vec<&str> {
    d.rules.iter().map(|r| r.id.as_str()).collect()
}

// ---- malformed and ambiguous JSON ----------------------------------------------------------

#[test]
fn duplicate_declared_keys_are_refused() {
    // Which of two `amount`s would win is exactly what an attacker would like to choose.
    let d = decide(br#"{"tool": "payments.transfer", "args": {"amount": 5, "amount": 5000}}"#);
    assert!(d.is_denied());
    assert!(errors_text(&d).contains("duplicate key `amount`"), "{}", errors_text(&d));
}

#[test]
fn duplicate_envelope_keys_are_refused() {
    for request in [
        &br#"{"tool": "payments.transfer", "tool": "mail.send", "args": {"amount": 5}}"#[..],
        &br#"{"tool": "payments.transfer", "args": {"amount": 5}, "args": {"amount": 5000}}"#[..],
    ] {
        let d = decide(request);
        assert!(d.is_denied(), "{}", String::from_utf8_lossy(request));
        assert!(errors_text(&d).contains("duplicate"), "{}", errors_text(&d));
    }
}

#[test]
fn duplicate_undeclared_keys_are_ignored_where_undeclared_keys_are() {
    // Nothing reads an undeclared envelope key or an open tool's undeclared argument, so
    // their duplicates cannot change a decision.
    for request in [
        &br#"{"tool": "payments.transfer", "trace": 1, "trace": 2, "args": {"amount": 5}}"#[..],
        &br#"{"tool": "notes.add", "args": {"text": "t", "note": 1, "note": 2}}"#[..],
    ] {
        let d = decide(request);
        assert!(d.is_allowed(), "{}: {:?}", String::from_utf8_lossy(request), d.errors);
    }
}

#[test]
fn undeclared_arguments_of_a_closed_tool_are_refused() {
    // Issue 11: an argument no rule can see may still be acted on by the tool.
    for request in [
        &br#"{"tool": "payments.transfer", "args": {"amount": 5, "recovery_email": "x@evil.io"}}"#[..],
        &br#"{"args": {"amount": 5, "recovery_email": "x@evil.io"}, "tool": "payments.transfer"}"#[..],
    ] {
        for backend in [Backend::Interpreter, Backend::Jit] {
            let policy = Policy::from_sources(&[("hostile.pol", POLICY)]).expect("the test policy compiles");
            let Ok(engine) = policy.engine(backend) else { continue };
            let d =
                engine.decide_with(request, DecideOptions { explain: false, now: Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_773_000_000)) });
            assert!(d.is_denied(), "{}", String::from_utf8_lossy(request));
            let text = errors_text(&d);
            assert!(text.contains(r#""path":"args.recovery_email""#) && text.contains("tool `payments.transfer`"), "{text}");
            assert!(engine.verdict(request, Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_773_000_000))).is_denied());
        }
    }
}

#[test]
fn non_utf8_bytes_fail_closed() {
    for request in [
        &b"{\"tool\": \"payments.transfer\xff\", \"args\": {\"amount\": 5}}"[..],
        &b"\xfe\xff\x00{"[..],
        &b"{\"tool\": \"payments.transfer\", \"args\": {\"amount\": 5, \"memo\": \"\xc0\xaf\"}}"[..],
    ] {
        let d = decide(request);
        assert!(d.is_denied());
        assert!(errors_text(&d).contains("not valid JSON"), "{}", errors_text(&d));
    }
}

#[test]
fn truncated_and_empty_requests_fail_closed() {
    for request in [&b""[..], b"{", b"{\"tool\": \"payments.transfer\", \"args\": {\"amount\": 5}", b"null", b"[]", b"\"x\"", b"{} {}"] {
        let d = decide(request);
        assert!(d.is_denied(), "{}", String::from_utf8_lossy(request));
        assert!(!d.errors.is_empty());
    }
}

// ---- numbers -----------------------------------------------------------------------------------

#[test]
fn numbers_out_of_range_fail_closed() {
    let d = decide(br#"{"tool": "payments.transfer", "args": {"amount": 1e400}}"#);
    assert!(d.is_denied());
    // A declared number: the error names it, and where the number ends.
    let text = errors_text(&d);
    assert!(text.contains("\"path\":\"args.amount\"") && text.contains("at line 1 column 54"), "{text}");
    // Anywhere else (an undeclared key of this closed tool) it is malformed JSON, as before.
    let d = decide(br#"{"tool": "payments.transfer", "args": {"amount": 1, "extra": 1e400}}"#);
    assert!(d.is_denied());
    assert!(errors_text(&d).contains("not valid JSON"), "{}", errors_text(&d));
}

#[test]
fn negative_zero_is_zero() {
    // -0 divides to -inf: a rule error, so the deny rule `ratio` fires (fails closed).
    let d = decide(br#"{"tool": "payments.transfer", "args": {"amount": -0}}"#);
    assert!(d.is_denied());
    assert!(fired(&d).contains(&"ratio"), "{:?}", fired(&d));
}

#[test]
fn huge_integers_are_rounded_doubles() {
    let d = decide(br#"{"tool": "payments.transfer", "args": {"amount": 123456789012345678901234567890}}"#);
    assert!(d.is_denied());
    assert!(fired(&d).contains(&"big"));
    let d = decide(br#"{"tool": "payments.transfer", "args": {"amount": 9007199254740993}}"#);
    assert!(d.is_denied() && fired(&d).contains(&"big"));
}

#[test]
fn nan_and_infinity_are_rule_errors_that_fail_closed() {
    // amount 0: 100 / 0 and 0 / 0 are rule errors. The deny rule fires; the allow rule does not.
    let d = decide(br#"{"tool": "payments.transfer", "args": {"amount": 0}}"#);
    assert!(d.is_denied());
    assert!(fired(&d).contains(&"ratio"));
    assert!(!d.rules.iter().any(|r| r.id == "nan_allow"), "an erroring allow rule never allows");
    // 1e300 squared overflows to infinity: a rule error, so `overflow` fires.
    let d = decide(br#"{"tool": "payments.transfer", "args": {"amount": 1e300}}"#);
    assert!(d.is_denied());
    assert!(fired(&d).contains(&"overflow"), "{:?}", fired(&d));
}

// ---- long strings --------------------------------------------------------------------------------

#[test]
fn a_megabyte_string_is_decided_by_regex_and_pii_helpers() {
    let limits = Limits { max_request_bytes: 4 << 20, max_string_bytes: 2 << 20, ..Limits::default() };
    let engine = engine_with(&limits);
    // Catastrophic backtracking input for `(a+)+$`; the regex engine is linear.
    let memo = format!("{}!", "a".repeat(1 << 20));
    let request = serde_json::json!({"tool": "payments.transfer", "args": {"amount": 5, "memo": memo}}).to_string();
    let d = engine.decide_with(request.as_bytes(), DecideOptions::default());
    assert!(d.is_allowed(), "{:?}", d.errors);
    // The same length of digits: the PII scanners read it all and find what is there.
    let memo = format!("{} 078-05-1120", "1 ".repeat(1 << 19));
    let request = serde_json::json!({"tool": "payments.transfer", "args": {"amount": 5, "memo": memo}}).to_string();
    let d = engine.decide_with(request.as_bytes(), DecideOptions::default());
    assert!(d.is_denied() && fired(&d).contains(&"ssn"), "{:?}", fired(&d));
}

#[test]
fn a_megabyte_string_is_refused_by_default() {
    let memo = "a".repeat(1 << 20);
    let request = serde_json::json!({"tool": "payments.transfer", "args": {"amount": 5, "memo": memo}}).to_string();
    let d = decide(request.as_bytes());
    assert!(d.is_denied());
    assert!(errors_text(&d).contains("max_request_bytes") || errors_text(&d).contains("max_string_bytes"));
}

// ---- look-alikes and case tricks -------------------------------------------------------------

#[test]
fn tool_names_match_exactly() {
    // Case, Cyrillic `р` (U+0440) and a trailing space are other, undeclared tools: no rule of
    // `payments.transfer` applies, and the decision names the tool exactly as sent.
    for tool in ["Payments.Transfer", "payments.transfer ", "\u{440}ayments.transfer", "payments\u{200b}.transfer"] {
        let request = serde_json::json!({"tool": tool, "args": {"amount": 5000}}).to_string();
        let d = decide(request.as_bytes());
        assert_eq!(d.tool, tool);
        assert!(!fired(&d).contains(&"big"), "{tool}");
    }
}

#[test]
fn look_alike_tools_are_denied_under_default_deny() {
    let policy = Policy::from_sources(&[("p.pol", &POLICY.replace("default allow", "default deny"))]).expect("compiles");
    let engine = policy.engine(Backend::Interpreter).expect("interpreter");
    for tool in ["Payments.Transfer", "\u{440}ayments.transfer"] {
        let request = serde_json::json!({"tool": tool, "args": {"amount": 5}}).to_string();
        assert!(engine.decide_with(request.as_bytes(), DecideOptions::default()).is_denied(), "{tool}");
    }
}

#[test]
fn look_alike_email_domains_are_external() {
    let mail = |to: &str| {
        let request = serde_json::json!({"tool": "mail.send", "args": {"to": [to], "body": "hi"}}).to_string();
        decide(request.as_bytes())
    };
    // Case differences in the domain are the same domain (DNS ignores case).
    assert!(mail("bob@ACME.com").is_allowed());
    assert!(mail("Bob <bob@Eng.Acme.COM>").is_allowed());
    // Look-alikes and tricks are external: Cyrillic `а`/`с`, a suffix, a second `@`.
    for to in ["bob@\u{430}\u{441}me.com", "bob@acme.com.evil.io", "bob@notacme.com", "bob@evil.io@acme.com ", "bob@acme.com\u{200b}"] {
        assert!(mail(to).needs_approval(), "{to} must be external");
    }
}
