//! The conformance property test of window stores, written once for any [`WindowStore`]:
//! random event streams (a few keys, times out of order, sums of integers (the stores' fast
//! path) and of fractions, windows of 1 to 300 seconds (many seconds in the long ones), reads exactly at `at - duration` and
//! `at`, records and reads interleaved, time running past the longest window so events are
//! pruned, small bounds so keys overflow, restarts for stores that persist) must get from the
//! store exactly what the reference model (`model.rs`) answers.
//!
//! In: a [`Harness`] that opens (and restarts) the store under test, and a [`Case`] from
//! [`cases`]. Out: a proptest failure naming the first read whose answer differs. Used by
//! `store/tests.rs` for [`super::MemoryStore`] and by `crates/gavel-store` for redb and Redis.

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use super::model::Model;
use super::{Aggregate, Answer, Bounds, Event, EventValue, Read, StoreError, WindowSpec, WindowStore};

/// Opens the store under test.
pub trait Harness {
    /// The store type.
    type Store: WindowStore;

    /// A store with nothing recorded.
    fn open(&mut self, specs: &[WindowSpec], bounds: Bounds) -> Self::Store;

    /// The same store after a restart (sync, close, open again); for stores that do not
    /// persist, the store itself.
    fn restart(&mut self, store: Self::Store, _specs: &[WindowSpec], _bounds: Bounds) -> Self::Store {
        store
    }
}

/// One step of a case.
#[derive(Debug, Clone)]
pub enum Op {
    /// Record these events (one `record` call).
    Record(Vec<Event>),
    /// Read these (one `read` call); the answers must be the model's.
    Read(Vec<Read>),
    /// Sync and reopen the store (what a persistent store must survive).
    Restart,
}

/// A generated run: the windows, the bounds, and the steps.
#[derive(Debug, Clone)]
pub struct Case {
    /// The windows the store is opened with.
    pub specs: Vec<WindowSpec>,
    /// Its bounds.
    pub bounds: Bounds,
    /// The steps, in order.
    pub ops: Vec<Op>,
}

/// Numbers that stress the order of additions: fractions, magnitudes that lose bits,
/// infinities whose sum is NaN, signed zeros, the smallest subnormal.
const NUMBERS: [f64; 16] = [1.0, 2.0, 0.1, 0.2, 0.3, -2.5, 1e16, 1.0 / 3.0, -0.0, 0.0, 1e308, f64::INFINITY, f64::NEG_INFINITY, 5e-324, 123_456_789.125, -7.0];
/// Integers, mostly within the 2^36 of the stores' fast sums (`numbers.rs`), some at and just
/// past that edge, so that ranges of integer buckets are common and some fall back to the fold.
const INTEGERS: [f64; 10] = [1.0, 2.0, -7.0, 100.0, 0.0, -0.0, 68_719_476_736.0, -68_719_476_736.0, 68_719_476_737.0, 9_007_199_254_740_992.0];
const HASHES: [u128; 4] = [1, 2, 0xdead_beef, u128::MAX];
const TEXTS: [&str; 6] = ["a", "b", "", "a:b", "é", "payee 7"];
const DURATIONS: [u64; 7] = [1, 2, 3, 5, 10, 60, 300];
const AGGREGATES: [Aggregate; 5] = [Aggregate::Count, Aggregate::Sum, Aggregate::Max, Aggregate::Distinct, Aggregate::Values];

fn value(aggregate: Aggregate, pick: usize) -> EventValue {
    match aggregate {
        Aggregate::Count => EventValue::None,
        Aggregate::Sum | Aggregate::Max if pick.is_multiple_of(3) => EventValue::Number(NUMBERS[pick / 3 % NUMBERS.len()]),
        Aggregate::Sum | Aggregate::Max => EventValue::Number(INTEGERS[pick / 3 % INTEGERS.len()]),
        Aggregate::Distinct => EventValue::Hash(HASHES[pick % HASHES.len()]),
        Aggregate::Values => EventValue::Text(TEXTS[pick % TEXTS.len()].to_string()),
    }
}

/// Random cases; `restarts` allows [`Op::Restart`].
pub fn cases(restarts: bool) -> impl Strategy<Value = Case> {
    let specs = (any::<u64>(), prop::collection::vec((0..AGGREGATES.len(), 0..DURATIONS.len()), 1..5)).prop_map(|(base, windows)| {
        windows
            .into_iter()
            .enumerate()
            .map(|(i, (a, d))| WindowSpec { id: base.wrapping_add(i as u64), aggregate: AGGREGATES[a], duration_secs: DURATIONS[d] })
            .collect::<Vec<_>>()
    });
    let bounds = prop_oneof![Just(Bounds::default()), (1usize..6, 1usize..7).prop_map(|(b, v)| Bounds { max_buckets_per_key: b, max_values_per_key: v }),];
    // Times: a base (negative, zero or a Unix time) plus small offsets, with an occasional
    // jump past every short window and a rarer one past the longest (300 s), so that long
    // windows hold many seconds and are pruned too.
    let base = prop_oneof![Just(0i64), Just(-1_000i64), Just(1_700_000_000i64)];
    let offset = prop_oneof![16 => 0i64..30, 2 => 30i64..120, 1 => 300i64..700];
    // (window, key, offset, value pick); reads add how `at` sits against the offset: at it,
    // `duration` after (the offset on the open lower bound), or `duration - 1` after.
    let event = (any::<prop::sample::Index>(), 0u128..3, offset.clone(), any::<usize>());
    let read = (any::<prop::sample::Index>(), 0u128..3, offset, 0u8..3);
    let op = prop_oneof![
        5 => prop::collection::vec(event, 1..5).prop_map(RawOp::Record),
        4 => prop::collection::vec(read, 1..5).prop_map(RawOp::Read),
        1 => Just(RawOp::Restart),
    ];
    (specs, bounds, base, prop::collection::vec(op, 1..40)).prop_map(move |(specs, bounds, base, raw)| {
        // Keys far apart, so that every bit of a key matters.
        let key = |k: u128| k.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c834) ^ k;
        let ops = raw
            .into_iter()
            .filter(|op| restarts || !matches!(op, RawOp::Restart))
            .map(|op| match op {
                RawOp::Record(events) => Op::Record(
                    events
                        .into_iter()
                        .map(|(w, k, t, pick)| {
                            let spec = w.get(&specs);
                            Event { window: spec.id, key: key(k), at: base + t, value: value(spec.aggregate, pick) }
                        })
                        .collect(),
                ),
                RawOp::Read(reads) => Op::Read(
                    reads
                        .into_iter()
                        .map(|(w, k, t, shift)| {
                            let spec = w.get(&specs);
                            let d = spec.duration_secs as i64;
                            let at = base + t + [0, d, d - 1][usize::from(shift)];
                            Read { window: spec.id, key: key(k), at }
                        })
                        .collect(),
                ),
                RawOp::Restart => Op::Restart,
            })
            .collect();
        Case { specs, bounds, ops }
    })
}

#[derive(Debug, Clone)]
enum RawOp {
    Record(Vec<(prop::sample::Index, u128, i64, usize)>),
    Read(Vec<(prop::sample::Index, u128, i64, u8)>),
    Restart,
}

/// Runs the case on a fresh store and on the model; every answer must be the same.
pub fn check_case<H: Harness>(harness: &mut H, case: &Case) -> Result<(), TestCaseError> {
    let mut store = harness.open(&case.specs, case.bounds);
    let mut model = Model::new(&case.specs, case.bounds);
    let mut out = Vec::new();
    for (step, op) in case.ops.iter().enumerate() {
        match op {
            Op::Record(events) => {
                store.record(events).map_err(|e| TestCaseError::fail(format!("step {step}: record failed: {e}")))?;
                model.record(events);
            }
            Op::Read(reads) => {
                store.read(reads, &mut out).map_err(|e| TestCaseError::fail(format!("step {step}: read failed: {e}")))?;
                prop_assert_eq!(out.len(), reads.len(), "step {}: one answer per read", step);
                for (r, got) in reads.iter().zip(&out) {
                    let want = model.read(r);
                    prop_assert!(same(got, &want), "step {}: {:?}: the store answered {:?}, the model {:?}", step, r, got, want);
                }
            }
            Op::Restart => store = harness.restart(store, &case.specs, case.bounds),
        }
    }
    Ok(())
}

/// Equal answers: numbers to the bit (any NaN equals any NaN), errors of the same kind.
pub fn same(a: &Result<Answer, StoreError>, b: &Result<Answer, StoreError>) -> bool {
    let number = |x: f64, y: f64| (x.is_nan() && y.is_nan()) || x.to_bits() == y.to_bits();
    match (a, b) {
        (Ok(Answer::Number(x)), Ok(Answer::Number(y))) => number(*x, *y),
        (Ok(Answer::Max(x)), Ok(Answer::Max(y))) => match (x, y) {
            (Some(x), Some(y)) => number(*x, *y),
            _ => x.is_none() && y.is_none(),
        },
        (Ok(Answer::Values(x)), Ok(Answer::Values(y))) => x == y,
        (Err(x), Err(y)) => x.kind == y.kind,
        _ => false,
    }
}
