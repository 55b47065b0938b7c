use super::output::{Full, Json, Output};
use super::*;
use crate::policy::{Backend, DecideOptions, Policy};
use std::time::Duration;

const POLICY: &str = "policy p\nversion \"1\"\ndefault allow\non error allow\ntool t(x: number)\n";

/// An output path whose rules panic: what the entry's guard makes of a fault.
struct PanicsWhileDeciding<O>(O);

impl<'e, O: Output<'e>> Output<'e> for PanicsWhileDeciding<O> {
    type Out = O::Out;

    fn invalid(&mut self, core: &'e Core, failure: InputFailure) -> O::Out {
        self.0.invalid(core, failure)
    }

    fn decided(&mut self, _: &'e Core, _: Request<'_>, _: &DecideContext) -> O::Out {
        panic!("injected fault")
    }

    fn fault(self, core: &'e Core, message: &str) -> O::Out {
        self.0.fault(core, message)
    }

    fn outcome(out: &O::Out) -> Outcome {
        O::outcome(out)
    }

    fn unrecorded(&mut self, core: &'e Core, made: O::Out, message: &str) -> O::Out {
        self.0.unrecorded(core, made, message)
    }
}

fn core(policy: &Policy) -> Core {
    Core::new(policy.compiled(), Backend::Interpreter).expect("interpreter")
}

#[test]
fn a_panic_while_deciding_is_a_deny_even_when_errors_allow() {
    let policy = Policy::from_sources(&[("p.pol", POLICY)]).expect("compiles");
    let core = core(&policy);
    let request = br#"{"tool": "t", "args": {"x": 1}}"#;
    let ctx = DecideContext::new(false, None, None);
    let d = core.decide(request, &ctx, PanicsWhileDeciding(Full));
    assert!(d.is_denied());
    assert!(d.decided_by.is_empty() && d.rules.is_empty());
    assert_eq!(d.to_json()["errors"], serde_json::json!([{ "kind": "internal", "message": "internal error: injected fault; the request is denied" }]));
    assert!(d.explain(&policy).contains("an internal error stopped the decision"), "{}", d.explain(&policy));
    // The fast path's fault is a deny too.
    assert!(core.decide(request, &ctx, PanicsWhileDeciding(super::Fast)).is_denied());
    // The writer replaces what it wrote of this decision, and only that, by the deny.
    let mut out = b"before".to_vec();
    let written = core.decide(request, &ctx, PanicsWhileDeciding(Json::new(&mut out)));
    assert!(!written.from_template);
    assert_eq!(out, [b"before".as_slice(), &serde_json::to_vec(&d).expect("serializes")].concat());
    // Without a fault, the same engine decides normally.
    assert!(policy.engine(Backend::Interpreter).expect("interpreter").decide_with(request, DecideOptions::default()).is_allowed());
}

#[test]
fn the_evaluation_time_is_seconds_from_the_epoch_either_side_of_it() {
    let at = |t: SystemTime| DecideContext::new(false, Some(t), None).now;
    assert_eq!(at(UNIX_EPOCH), 0.0);
    assert_eq!(at(UNIX_EPOCH + Duration::from_millis(1_764_064_800_250)), 1_764_064_800.25);
    assert_eq!(at(UNIX_EPOCH - Duration::from_millis(1_500)), -1.5);
    // `time` in a rule reads it when the request has none.
    let src = "policy p\nversion \"1\"\ndefault allow\ntool t(at: timestamp)\nrule early: on t deny when at - time > 1s because \"{time}\"\n";
    let policy = Policy::from_sources(&[("p.pol", src)]).unwrap_or_else(|d| panic!("{}", d.render()));
    let engine = policy.engine(Backend::Interpreter).expect("interpreter");
    let request = br#"{"tool": "t", "args": {"at": "1970-01-01T00:00:00Z"}}"#;
    let before = engine.decide_with(request, DecideOptions { explain: false, now: Some(UNIX_EPOCH - Duration::from_millis(1_500)) });
    assert_eq!(before.rules[0].reason.as_deref(), Some("1969-12-31T23:59:58.5Z"));
    assert!(engine.decide_with(request, DecideOptions { explain: false, now: Some(UNIX_EPOCH + Duration::from_secs(2)) }).is_allowed());
}

/// Modified arguments are read from the request's `args` alone (`Frame::args_span`), on
/// both decoder paths. The whole request used to be parsed again, and a number beyond the
/// largest double outside `args` (which decoding skips) made that parse fail: the redaction
/// was silently dropped (`modifications: []`, `args: null`), and the call ran unredacted.
#[test]
fn modified_args_are_read_from_the_args_alone() {
    let src =
        "policy p\nversion \"1\"\ndefault allow\ntool t.send(body: string, to?: string)\nrule hide: on t.send redact body when body.contains(\"secret\")\n";
    let policy = Policy::from_sources(&[("p.pol", src)]).unwrap_or_else(|d| panic!("{}", d.render()));
    let requests = [
        // The fast path (plain), then the full decoder (an escape; `args` before `tool`; an escaped key).
        r#"{"tool": "t.send", "args": {"body": "a secret", "to": "x"}, "trace": 1e400}"#,
        r#"{"tool": "t.send", "args": {"body": "a secret", "to": "\u0078"}, "trace": 1e400}"#,
        r#"{"args": {"body": "a secret", "to": "x"}, "tool": "t.send", "trace": 1e400}"#,
        r#"{"tool": "t.send", "\u0061rgs": {"body": "a secret", "to": "x"}, "trace": 1e400}"#,
    ];
    for backend in [
        Backend::Interpreter,
        #[cfg(feature = "jit")]
        Backend::Jit,
    ] {
        let engine = policy.engine(backend).expect("backend available");
        for request in requests {
            let d = engine.decide_with(request.as_bytes(), DecideOptions::default());
            assert!(d.is_allowed() && d.errors.is_empty(), "{request}: {:?}", d.to_json());
            assert_eq!(d.to_json()["modifications"], serde_json::json!([{ "rule": "hide", "path": "args.body", "op": "redact" }]), "{backend:?} {request}");
            assert_eq!(d.args, Some(serde_json::json!({ "body": "[REDACTED]", "to": "x" })), "{backend:?} {request}");
        }
    }
}
