//! Interpreter vs JIT vs hand-written Rust on the same rules. In: generated policy sets of
//! 1 rule, 100 rules over 20 tools and 1,000 rules over 100 tools, and one request for one
//! tool (no rule fires, so every rule of the tool is evaluated). Out: criterion timings,
//! eval only (from a decoded frame / a deserialized struct) and end to end from JSON bytes,
//! plus the JIT compile time of 10 to 10,000 rules: all groups eagerly (`jit_compile`) and
//! what a JIT engine pays lazily up to its first decision (`jit_first_request`).
//!
//! And the scaling table: decision time against rule count (10 to 10,000) and request size
//! (1 KB to 1 MB), both backends.
//!
//! Run: `cargo bench --bench engines` (one part: `cargo bench --bench engines -- scaling_`).

mod common;

use common::interleaved;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use gavel::{Backend, DecideOptions, Policy};
use serde::Deserialize;
use std::hint::black_box;

/// One rule of the generated sets, also evaluated by the hand-written function.
#[derive(Clone)]
enum Spec {
    AmountOver(f64),
    CurrencyAndAmount(&'static str, f64),
    RecipientEndsWith(&'static str),
    CurrencyIn(&'static [&'static str]),
    Negative,
}

fn spec(j: usize) -> Spec {
    match j % 5 {
        0 => Spec::AmountOver(1000.0 * (j + 1) as f64),
        1 => Spec::CurrencyAndAmount("EUR", 500.0),
        2 => Spec::RecipientEndsWith("@evil.com"),
        3 => Spec::CurrencyIn(&["XAU", "BTC"]),
        _ => Spec::Negative,
    }
}

fn spec_pol(s: &Spec) -> String {
    match s {
        Spec::AmountOver(x) => format!("amount > {x}"),
        Spec::CurrencyAndAmount(c, x) => format!("currency == \"{c}\" and amount > {x}"),
        Spec::RecipientEndsWith(t) => format!("recipient.ends_with(\"{t}\")"),
        Spec::CurrencyIn(cs) => format!("currency in [{}]", cs.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ")),
        Spec::Negative => "amount < 0".into(),
    }
}

/// A set of `tools` tools with `rules` rules spread evenly over them.
struct Set {
    source: String,
    /// Per tool, its rules.
    specs: Vec<Vec<Spec>>,
}

fn set(rules: usize, tools: usize) -> Set {
    let mut source = String::from("policy bench\nversion \"1\"\ndefault allow\n");
    for t in 0..tools {
        source.push_str(&format!("tool t{t}(amount: number, currency: string, recipient: string)\n"));
    }
    let mut specs = vec![Vec::new(); tools];
    for j in 0..rules {
        let t = j % tools;
        let s = spec(j / tools);
        source.push_str(&format!("rule r{j}: on t{t} deny when {}\n", spec_pol(&s)));
        specs[t].push(s);
    }
    Set { source, specs }
}

#[derive(Deserialize)]
struct Request {
    tool: String,
    args: Args,
}

#[derive(Deserialize)]
struct Args {
    amount: f64,
    currency: String,
    recipient: String,
}

/// The hand-written equivalent: the tool's rules over a typed struct; true when denied.
fn hand_written(set: &[Vec<Spec>], req: &Request) -> bool {
    let Some(t) = req.tool.strip_prefix('t').and_then(|n| n.parse::<usize>().ok()) else { return false };
    let a = &req.args;
    set.get(t).is_some_and(|rules| {
        rules.iter().fold(false, |denied, s| {
            denied
                | match s {
                    Spec::AmountOver(x) => a.amount > *x,
                    Spec::CurrencyAndAmount(c, x) => a.currency == *c && a.amount > *x,
                    Spec::RecipientEndsWith(t) => a.recipient.ends_with(t),
                    Spec::CurrencyIn(cs) => cs.contains(&a.currency.as_str()),
                    Spec::Negative => a.amount < 0.0,
                }
        })
    })
}

/// The floor from JSON bytes: serde into the struct, then the hand-written function.
fn hand_written_from_json(specs: &[Vec<Spec>], request: &[u8]) -> bool {
    let r: Request = serde_json::from_slice(request).expect("valid");
    hand_written(specs, &r)
}

const REQUEST: &str = r#"{"tool": "t7", "args": {"amount": 50, "currency": "USD", "recipient": "bob@acme.com"}}"#;

fn request_for(tools: usize) -> Vec<u8> {
    let tool = if tools > 7 { "t7" } else { "t0" };
    REQUEST.replace("t7", tool).into_bytes()
}

fn engines(c: &mut Criterion) {
    for (name, rules, tools) in [("1_rule", 1, 1), ("100_rules_20_tools", 100, 20), ("1000_rules_100_tools", 1000, 100)] {
        let s = set(rules, tools);
        let policy = Policy::from_sources(&[("bench.pol", &s.source)]).expect("bench policy compiles");
        let interp = policy.engine(Backend::Interpreter).expect("interpreter");
        let jit = policy.engine(Backend::Jit).expect("jit");
        let req = request_for(tools);
        let now = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_764_064_800);
        let frame = interp.decode(&req, now).expect("valid request");
        let typed: Request = serde_json::from_slice(&req).expect("valid request");
        assert!(!hand_written(&s.specs, &typed));
        assert_eq!(interp.decide_frame(&frame, false, &req).to_json(), jit.decide_frame(&frame, false, &req).to_json());

        interleaved(
            &format!("eval/{name}"),
            ("hand_written", || hand_written(&s.specs, black_box(&typed))),
            ("jit", || jit.verdict_frame(black_box(&frame)).is_denied()),
        );
        let mut g = c.benchmark_group(format!("eval/{name}"));
        g.bench_function("interpreter", |b| b.iter(|| interp.verdict_frame(black_box(&frame)).outcome()));
        g.bench_function("jit", |b| b.iter(|| jit.verdict_frame(black_box(&frame)).outcome()));
        g.bench_function("hand_written", |b| b.iter(|| hand_written(&s.specs, black_box(&typed))));
        g.finish();

        let mut g = c.benchmark_group(format!("decide_frame/{name}"));
        g.bench_function("interpreter", |b| b.iter(|| interp.decide_frame(black_box(&frame), false, &req)));
        g.bench_function("jit", |b| b.iter(|| jit.decide_frame(black_box(&frame), false, &req)));
        g.finish();

        // The fast path from JSON bytes against serde into a struct plus the function.
        let mut g = c.benchmark_group(format!("verdict/{name}"));
        g.bench_function("interpreter", |b| b.iter(|| interp.verdict(black_box(&req), Some(now)).outcome()));
        g.bench_function("jit", |b| b.iter(|| jit.verdict(black_box(&req), Some(now)).outcome()));
        g.bench_function("hand_written", |b| b.iter(|| hand_written_from_json(&s.specs, black_box(&req))));
        g.finish();

        let options = DecideOptions { explain: false, now: Some(now) };
        let mut g = c.benchmark_group(format!("json/{name}"));
        g.bench_function("interpreter", |b| b.iter(|| interp.decide_with(black_box(&req), options)));
        g.bench_function("jit", |b| b.iter(|| jit.decide_with(black_box(&req), options)));
        g.bench_function("hand_written", |b| b.iter(|| hand_written_from_json(&s.specs, black_box(&req))));
        g.finish();
    }
}

fn compile_time(c: &mut Criterion) {
    let mut g = c.benchmark_group("jit_compile");
    g.sample_size(10);
    for rules in [10, 100, 1000, 10_000] {
        let s = set(rules, (rules / 10).max(1));
        let policy = Policy::from_sources(&[("bench.pol", &s.source)]).expect("bench policy compiles");
        g.bench_with_input(BenchmarkId::from_parameter(rules), &policy, |b, p| {
            b.iter(|| gavel::internals::JitProgram::compile(p.program()).expect("compiles"))
        });
    }
    g.finish();
    // What a JIT engine actually pays: preparing the program (lazy) plus compiling and
    // running the one tool group of the first request (N/10 tools, 10 rules each).
    let mut g = c.benchmark_group("jit_first_request");
    g.sample_size(10);
    for rules in [10, 100, 1000, 10_000] {
        let s = set(rules, (rules / 10).max(1));
        let policy = Policy::from_sources(&[("bench.pol", &s.source)]).expect("bench policy compiles");
        let interp = policy.engine(Backend::Interpreter).expect("interpreter");
        let frame =
            interp.decode(&request_for((rules / 10).max(1)), std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_764_064_800)).expect("valid request");
        g.bench_with_input(BenchmarkId::from_parameter(rules), &policy, |b, p| {
            b.iter(|| {
                let jit = gavel::internals::JitProgram::new(p.program()).expect("prepares");
                jit.with_conditions(p.program(), &frame, p.limits().max_work as u64, |c| c.map(|c| c.held_at(0).is_some()).expect("runs"))
            })
        });
    }
    g.finish();
}

/// How decision time grows: with the rule count (rules spread over tools, 10 per tool, vs all
/// on the called tool) and with the request's size (a long list argument), both backends,
/// on the fast path from JSON bytes.
fn scaling(c: &mut Criterion) {
    let now = Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_764_064_800));
    for (layout, per_tool) in [("spread_10_per_tool", true), ("all_on_one_tool", false)] {
        let mut g = c.benchmark_group(format!("scaling_rules_{layout}"));
        g.sample_size(20);
        for rules in [10, 100, 1000, 10_000] {
            let tools = if per_tool { rules / 10 } else { 1 };
            let policy = Policy::from_sources(&[("bench.pol", &set(rules, tools).source)]).expect("bench policy compiles");
            let req = request_for(tools);
            for backend in [Backend::Interpreter, Backend::Jit] {
                let engine = policy.engine(backend).expect("backend");
                assert!(engine.verdict(&req, now).is_allowed());
                g.bench_with_input(BenchmarkId::new(format!("{backend:?}"), rules), &req, |b, r| b.iter(|| engine.verdict(black_box(r), now).outcome()));
            }
        }
        g.finish();
    }
    let policy = Policy::from_sources(&[("size.pol", SIZE_POLICY)]).expect("size policy compiles");
    let mut g = c.benchmark_group("scaling_request_size");
    g.sample_size(20);
    for kib in [1, 10, 100, 1000] {
        let req = mail_request(kib * 1000);
        for backend in [Backend::Interpreter, Backend::Jit] {
            let engine = policy.engine(backend).expect("backend");
            assert!(engine.verdict(&req, now).is_allowed(), "{kib} KB: {:?}", engine.decide_json(&req).map(|d| d.to_json()));
            g.bench_with_input(BenchmarkId::new(format!("{backend:?}"), format!("{kib}KB")), &req, |b, r| {
                b.iter(|| engine.verdict(black_box(r), now).outcome())
            });
        }
        g.bench_with_input(BenchmarkId::new("serde_json_value", format!("{kib}KB")), &req, |b, r| {
            b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(r)).map(|v| v.is_object()))
        });
    }
    g.finish();
}

/// Every recipient is read: the rule looks for one external address in the whole list.
const SIZE_POLICY: &str = r#"policy size
version "1"
default allow
tool mail.send(to: list<string>, subject: string)
rule external: on mail.send deny when to.any(a => not a.ends_with("@acme.example"))
"#;

/// A `mail.send` request of about `bytes` bytes: internal addresses of ~100 bytes each.
fn mail_request(bytes: usize) -> Vec<u8> {
    let n = (bytes / 102).max(1);
    let to: Vec<String> = (0..n).map(|i| format!("{:0>85}@acme.example", i)).collect();
    serde_json::to_vec(&serde_json::json!({"tool": "mail.send", "args": {"to": to, "subject": "quarterly numbers"}})).expect("serializes")
}

fn config() -> Criterion {
    Criterion::default().warm_up_time(std::time::Duration::from_secs(1)).measurement_time(std::time::Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = engines, compile_time, scaling
}
criterion_main!(benches);
