//! The side-by-side benchmarks. In: the scenarios of `gavel_peers::scenario`. Out: criterion
//! groups `eval_<scenario>`, `json_<scenario>` and `compile_<scenario>`, one function per
//! engine, then the ratio tables printed from criterion's estimates.
//!
//! Before anything is timed, every engine must give the same answers on the scenario's check
//! requests (`Setup::check_agreement`); the run stops if one does not.
//!
//! Gavel is timed on its fast path (`Engine::verdict`: the outcome and the rules that made
//! it, as the peers return), and its full `Decision` is checked for agreement too.
//!
//! - eval only: the input is already in the engine's own value type (Gavel: a decoded frame;
//!   Cedar: a `Request`; regorus: a `Value` set as the VM's input; CEL: a `Context` binding the
//!   request; floor: the serde-derived struct), and the engine produces its decision.
//! - from JSON bytes: the same, starting from the request's bytes.
//! - compile: from policy text to an engine ready to decide.

#[path = "../../common/mod.rs"]
mod common;

use common::interleaved;
use criterion::Criterion;
use gavel_peers::engines::{self, Cel};
use gavel_peers::floor::FloorRequest;
use gavel_peers::scenario::{timed_request, SCENARIOS};
use gavel_peers::{report, Setup};
use std::hint::black_box;
use std::time::Duration;

fn main() {
    // Short settings so the whole run (54 benchmarks) takes a few minutes; `-- --measurement-time N`
    // on the command line overrides them.
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
        .configure_from_args();
    for scenario in SCENARIOS {
        let mut setup = Setup::new(scenario).unwrap_or_else(|e| panic!("{}: an engine did not compile: {e}", scenario.name));
        if let Err(e) = setup.check_agreement() {
            eprintln!("error: the engines disagree, nothing timed: {e}");
            std::process::exit(1);
        }
        if let Some(why) = &setup.jit_missing {
            eprintln!("note: Gavel JIT columns skipped: {why}");
        }
        alternating(&mut setup);
        eval_only(&mut c, &mut setup);
        from_json(&mut c, &mut setup);
        compile(&mut c, &setup);
    }
    c.final_summary();
    println!("\n{}", report::tables(&report::criterion_dir()));
}

/// Gavel's JIT against the floor and against each peer, eval only and from JSON bytes,
/// timed in alternating batches (`common::interleaved`): ratios that hold while the shared
/// machine's speed drifts, which the separately timed medians of the tables do not.
fn alternating(s: &mut Setup) {
    let Some(jit) = &s.jit else { return };
    let request = timed_request();
    let frame = s.interp.decode(&request, engines::now()).expect("the timed request decodes");
    let parsed: FloorRequest = serde_json::from_slice(&request).expect("the timed request deserializes");
    let cedar_request = s.cedar.request_from_json(&request).expect("the timed request converts for Cedar");
    let input = engines::rego_input(&request).expect("the timed request converts for regorus");
    let ctx = s.cel.context_from_json(&request).expect("the timed request converts for CEL");
    let (cedar, cel, rego, floor) = (&s.cedar, &s.cel, &mut s.rego, s.floor);
    let mut fired = Vec::with_capacity(4);

    let name = format!("eval_{}", s.scenario.name);
    let mut gavel = || jit.verdict_frame(black_box(&frame)).decided_by().count() > 0;
    interleaved(&name, ("gavel_jit", &mut gavel), ("cedar", || black_box(cedar.decide(black_box(&cedar_request))).diagnostics().errors().next().is_none()));
    interleaved(&name, ("gavel_jit", &mut gavel), ("regorus_rvm", || engines::rego_decide(rego, black_box(input.clone())).is_ok()));
    interleaved(&name, ("gavel_jit", &mut gavel), ("cel", || !cel.decide(black_box(&ctx)).is_empty()));
    interleaved(&name, (report::FLOOR_EVAL, || floor(black_box(&parsed), &mut fired)), ("gavel_jit", &mut gavel));

    let name = format!("json_{}", s.scenario.name);
    let at = Some(engines::now());
    let mut gavel = || jit.verdict(black_box(&request), at).decided_by().count() > 0;
    let mut floor_json = || floor(&serde_json::from_slice(black_box(&request)).expect("deserializes"), &mut fired);
    interleaved(&name, ("gavel_jit", &mut gavel), ("cedar", || cedar.decide(&cedar.request_from_json(black_box(&request)).expect("converts for Cedar")).diagnostics().errors().next().is_none()));
    interleaved(&name, ("gavel_jit", &mut gavel), ("regorus_rvm", || engines::rego_decide(rego, engines::rego_input(black_box(&request)).expect("converts for regorus")).is_ok()));
    interleaved(&name, ("gavel_jit", &mut gavel), ("cel", || !cel.decide(&cel.context_from_json(black_box(&request)).expect("converts for CEL")).is_empty()));
    interleaved(&name, (report::FLOOR_JSON, &mut floor_json), ("gavel_jit", &mut gavel));
}

fn eval_only(c: &mut Criterion, s: &mut Setup) {
    let request = timed_request();
    let mut g = c.benchmark_group(format!("eval_{}", s.scenario.name));

    let frame = s.interp.decode(&request, engines::now()).expect("the timed request decodes");
    g.bench_function("gavel_interp", |b| b.iter(|| s.interp.verdict_frame(black_box(&frame)).decided_by().count()));
    if let Some(jit) = &s.jit {
        g.bench_function("gavel_jit", |b| b.iter(|| jit.verdict_frame(black_box(&frame)).decided_by().count()));
    }

    let cedar_request = s.cedar.request_from_json(&request).expect("the timed request converts for Cedar");
    g.bench_function("cedar", |b| b.iter(|| s.cedar.decide(black_box(&cedar_request))));

    let input = engines::rego_input(&request).expect("the timed request converts for regorus");
    let rego = &mut s.rego;
    g.bench_function("regorus_rvm", |b| b.iter(|| engines::rego_decide(rego, black_box(input.clone()))));

    let ctx = s.cel.context_from_json(&request).expect("the timed request converts for CEL");
    g.bench_function("cel", |b| b.iter(|| s.cel.decide(black_box(&ctx)).len()));

    let parsed: FloorRequest = serde_json::from_slice(&request).expect("the timed request deserializes");
    let mut fired = Vec::with_capacity(4);
    g.bench_function(report::FLOOR_EVAL, |b| b.iter(|| (s.floor)(black_box(&parsed), &mut fired)));
    g.finish();
}

fn from_json(c: &mut Criterion, s: &mut Setup) {
    let request = timed_request();
    let mut g = c.benchmark_group(format!("json_{}", s.scenario.name));

    let now = Some(engines::now());
    g.bench_function("gavel_interp", |b| b.iter(|| s.interp.verdict(black_box(&request), now).decided_by().count()));
    if let Some(jit) = &s.jit {
        g.bench_function("gavel_jit", |b| b.iter(|| jit.verdict(black_box(&request), now).decided_by().count()));
    }
    g.bench_function("cedar", |b| {
        b.iter(|| {
            let r = s.cedar.request_from_json(black_box(&request)).expect("converts for Cedar");
            s.cedar.decide(&r)
        })
    });
    let rego = &mut s.rego;
    g.bench_function("regorus_rvm", |b| {
        b.iter(|| engines::rego_decide(rego, engines::rego_input(black_box(&request)).expect("converts for regorus")))
    });
    g.bench_function("cel", |b| {
        b.iter(|| {
            let ctx = s.cel.context_from_json(black_box(&request)).expect("converts for CEL");
            s.cel.decide(&ctx).len()
        })
    });
    let mut fired = Vec::with_capacity(4);
    g.bench_function(report::FLOOR_JSON, |b| {
        b.iter(|| {
            let parsed: FloorRequest = serde_json::from_slice(black_box(&request)).expect("deserializes");
            (s.floor)(&parsed, &mut fired)
        })
    });
    g.bench_function(report::SERDE_VALUE, |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(&request)).expect("parses"))
    });
    g.finish();
}

fn compile(c: &mut Criterion, s: &Setup) {
    let mut g = c.benchmark_group(format!("compile_{}", s.scenario.name));
    g.sample_size(10);
    g.bench_function("gavel_interp", |b| {
        b.iter(|| engines::gavel_compile(black_box(&s.gavel_source)).map(|p| p.engine(gavel::Backend::Interpreter).is_ok()))
    });
    if s.jit.is_some() {
        g.bench_function("gavel_jit", |b| {
            b.iter(|| engines::gavel_compile(black_box(&s.gavel_source)).map(|p| p.engine(gavel::Backend::Jit).is_ok()))
        });
    }
    g.bench_function("cedar", |b| b.iter(|| engines::Cedar::compile(black_box(&s.cedar_source)).is_ok()));
    g.bench_function("regorus_rvm", |b| b.iter(|| engines::rego_compile(black_box(&s.rego_source)).is_ok()));
    g.bench_function("cel", |b| b.iter(|| Cel::compile(black_box(&s.cel_sources)).is_ok()));
    g.finish();
}
