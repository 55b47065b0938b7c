//! Gavel's decision from JSON bytes against the floor of issue 4: `serde_json::from_slice`
//! into a serde-derived struct plus a hand-written function of the same rules. In: the peer
//! benchmark's timed request (~330 bytes: `payments.transfer` with a record argument, plus
//! an envelope no rule reads) and two policy sets, one rule and five rules over two tools
//! (three on the called tool). Out: criterion timings of the floor, `Engine::verdict` on
//! both backends, the decoder alone (into a reused frame, as `verdict` does, and through
//! `Engine::decode`, which allocates a frame) and `limits::check_request` alone.
//!
//! Run: `cargo bench --bench decode` then `scripts/criterion-medians '^decode_'`.

mod common;

use common::interleaved;
use criterion::{criterion_group, criterion_main, Criterion};
use gavel::internals::{Decoder, Frame};
use gavel::{Backend, Limits, Policy};
use serde::Deserialize;
use std::hint::black_box;

const NOW: f64 = 1_764_064_800.0;

/// `NOW` as the engine takes it.
fn now() -> Option<std::time::SystemTime> {
    Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs_f64(NOW))
}

/// The peer benchmark's timed request (benches/peers/src/scenario.rs).
const REQUEST: &str = r#"{"tool":"payments.transfer","args":{"amount":25000,"currency":"EUR","recipient":{"id":"acct-9912","external":true,"country":"DE"},"memo":"invoice 2026-118 for consulting"},"agent":{"id":"pay-agent-7","trust":"medium"},"user":{"id":"u-ana","role":"finance"},"workspace":"acme-finance","environment":"prod","context":{}}"#;

/// A rule of the sets, in Gavel and as the hand-written function evaluates it.
#[derive(Clone, Copy)]
enum Cond {
    ExternalAbove(f64),
    CountryAbove(&'static str, f64),
    MemoContains(&'static str),
}

impl Cond {
    fn pol(self) -> String {
        match self {
            Cond::ExternalAbove(n) => format!("amount > {n} and recipient.external"),
            Cond::CountryAbove(c, n) => format!("recipient.country == {c:?} and amount > {n}"),
            Cond::MemoContains(t) => format!("memo.contains({t:?})"),
        }
    }

    fn holds(self, a: &Args) -> bool {
        match self {
            Cond::ExternalAbove(n) => a.amount > n && a.recipient.external,
            Cond::CountryAbove(c, n) => a.recipient.country == c && a.amount > n,
            Cond::MemoContains(t) => a.memo.contains(t),
        }
    }
}

const TOOLS: [&str; 2] = ["payments.transfer", "svc001.call"];

/// Rules by tool (index into `TOOLS`).
type Set = Vec<(usize, Cond)>;

fn one_rule() -> Set {
    vec![(0, Cond::ExternalAbove(10_000.0))]
}

/// Five rules over two tools, the peer benchmark's shape: three on the called tool (the
/// headline rule fires, the others are near misses), two on the other tool.
fn five_rules() -> Set {
    vec![
        (0, Cond::ExternalAbove(10_000.0)),
        (1, Cond::ExternalAbove(10_000.0)),
        (0, Cond::CountryAbove("X1", 1000.0)),
        (1, Cond::CountryAbove("X1", 1000.0)),
        (0, Cond::MemoContains("sanctioned-2")),
    ]
}

fn source(set: &Set) -> String {
    let mut s = String::from("policy decode\nversion \"1\"\ndefault allow\n\n");
    s.push_str("type Recipient = { id: string, external: bool, country: string }\n\n");
    let tools = set.iter().map(|&(t, _)| t).max().map_or(1, |t| t + 1);
    for t in TOOLS.iter().take(tools) {
        s.push_str(&format!("tool {t}(amount: number, currency: string, recipient: Recipient, memo: string)\n"));
    }
    for (i, (t, cond)) in set.iter().enumerate() {
        s.push_str(&format!("rule r{i}: on {} deny when {}\n", TOOLS[*t], cond.pol()));
    }
    s
}

/// The floor's types: the envelope's `tool` and `args`; serde skips `agent`, `user`, ...
#[derive(Deserialize)]
struct Request {
    tool: String,
    args: Args,
}

#[derive(Deserialize)]
struct Args {
    amount: f64,
    #[allow(dead_code)]
    currency: String,
    recipient: Recipient,
    memo: String,
}

#[derive(Deserialize)]
struct Recipient {
    #[allow(dead_code)]
    id: String,
    external: bool,
    country: String,
}

/// The floor: serde into the struct, then every rule of the called tool; true when denied.
fn floor(set: &Set, request: &[u8]) -> bool {
    let Ok(r) = serde_json::from_slice::<Request>(request) else { return true };
    let Some(tool) = TOOLS.iter().position(|t| *t == r.tool) else { return false };
    set.iter().filter(|(t, _)| *t == tool).fold(false, |denied, (_, c)| denied | c.holds(&r.args))
}

fn decode(c: &mut Criterion) {
    let req = REQUEST.as_bytes();
    let limits = Limits::default();
    for (name, set) in [("1_rule", one_rule()), ("5_rules", five_rules())] {
        let policy = Policy::from_sources(&[("decode.pol", &source(&set))]).expect("bench policy compiles");
        let interp = policy.engine(Backend::Interpreter).expect("interpreter");
        let jit = policy.engine(Backend::Jit).expect("jit");
        let program = policy.program();
        let decoder = Decoder::new(&program.schema, &program.slots);
        let mut frame = Frame::default();
        let at = now();
        assert!(floor(&set, req));
        assert!(interp.verdict(req, at).is_denied());
        assert!(jit.verdict(req, at).is_denied());
        assert!(decoder.decode_into(req, NOW, &mut frame).is_ok());

        interleaved(name, ("floor", || floor(&set, black_box(req))), ("verdict_interp", || interp.verdict(black_box(req), at).is_denied()));
        interleaved(name, ("floor", || floor(&set, black_box(req))), ("verdict_jit", || jit.verdict(black_box(req), at).is_denied()));

        let mut g = c.benchmark_group(format!("decode_{name}"));
        g.bench_function("floor_serde_struct", |b| b.iter(|| floor(&set, black_box(req))));
        g.bench_function("verdict_interp", |b| b.iter(|| interp.verdict(black_box(req), at).is_denied()));
        g.bench_function("verdict_jit", |b| b.iter(|| jit.verdict(black_box(req), at).is_denied()));
        g.bench_function("decode_into", |b| b.iter(|| decoder.decode_into(black_box(req), NOW, &mut frame).is_ok()));
        g.bench_function("engine_decode", |b| {
            b.iter(|| interp.decode(black_box(req), std::time::UNIX_EPOCH + std::time::Duration::from_secs_f64(NOW)).is_some())
        });
        g.bench_function("check_request", |b| b.iter(|| gavel::limits::check_request(black_box(req), &limits).is_ok()));
        g.finish();
    }
}

fn config() -> Criterion {
    Criterion::default().warm_up_time(std::time::Duration::from_secs(1)).measurement_time(std::time::Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = decode
}
criterion_main!(benches);
