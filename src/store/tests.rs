use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;

use super::conformance::{cases, check_case, Harness, Op};
use super::model::Model;
use super::*;

struct Memory;

impl Harness for Memory {
    type Store = MemoryStore;
    fn open(&mut self, specs: &[WindowSpec], bounds: Bounds) -> MemoryStore {
        MemoryStore::new(specs, bounds).expect("the generated specs are valid")
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn the_memory_store_answers_what_the_model_answers(case in cases(false)) {
        check_case(&mut Memory, &case)?;
    }

    #[test]
    fn a_restored_snapshot_answers_what_the_model_answers(case in cases(true)) {
        check_case(&mut Restoring, &case)?;
    }
}

/// Restarts by snapshot and restore into a new store: what the redb store does on open.
struct Restoring;

impl Harness for Restoring {
    type Store = MemoryStore;
    fn open(&mut self, specs: &[WindowSpec], bounds: Bounds) -> MemoryStore {
        MemoryStore::new(specs, bounds).expect("the generated specs are valid")
    }
    fn restart(&mut self, store: MemoryStore, specs: &[WindowSpec], bounds: Bounds) -> MemoryStore {
        let fresh = MemoryStore::new(specs, bounds).expect("the generated specs are valid");
        fresh.restore(store.snapshot().expect("a snapshot")).expect("a snapshot restores");
        fresh
    }
}

/// The generator reaches what the test is about: non-empty answers, reads failing on a bound,
/// pruning (an event too old to keep), restarts, boundary reads, and the sums the stores answer
/// from running totals (integers over many seconds of a long window) or by folding (fractions).
#[test]
fn generated_cases_reach_bounds_pruning_and_boundaries() {
    let mut runner = TestRunner::deterministic();
    let (mut answered, mut bounded, mut restarts, mut at_lower_bound) = (0, 0, 0, 0);
    let (mut long_integer_sums, mut fraction_sums) = (0, 0);
    for _ in 0..300 {
        let case = cases(true).new_tree(&mut runner).expect("a case").current();
        let mut model = Model::new(&case.specs, case.bounds);
        let mut recorded = Vec::new();
        for op in &case.ops {
            match op {
                Op::Record(events) => {
                    model.record(events);
                    recorded.extend(events.iter().map(|e| (e.window, e.key, e.at)));
                }
                Op::Read(reads) => {
                    for r in reads {
                        match model.read(r) {
                            Ok(Answer::Number(n)) if n != 0.0 => answered += 1,
                            Ok(Answer::Max(Some(_))) => answered += 1,
                            Ok(Answer::Values(v)) if !v.is_empty() => answered += 1,
                            Err(_) => bounded += 1,
                            Ok(_) => {}
                        }
                        // INVARIANT: reads are generated from the case's windows.
                        let spec = case.specs.iter().find(|s| s.id == r.window).expect("a window of the case");
                        let d = spec.duration_secs as i64;
                        if spec.aggregate == Aggregate::Sum {
                            let seconds: std::collections::BTreeSet<i64> =
                                recorded.iter().filter(|e| (e.0, e.1) == (r.window, r.key) && r.at - d < e.2 && e.2 <= r.at).map(|e| e.2).collect();
                            match model.read(r) {
                                Ok(Answer::Number(n)) if n.fract() != 0.0 => fraction_sums += 1,
                                Ok(Answer::Number(n)) if n != 0.0 && d >= 60 && seconds.len() >= 3 => long_integer_sums += 1,
                                _ => {}
                            }
                        }
                        at_lower_bound += recorded.iter().filter(|e| (e.0, e.1, e.2) == (r.window, r.key, r.at - d)).count();
                    }
                }
                Op::Restart => restarts += 1,
            }
        }
    }
    assert!(answered > 300 && bounded > 20 && restarts > 20 && at_lower_bound > 50, "{answered} {bounded} {restarts} {at_lower_bound}");
    assert!(long_integer_sums >= 5 && fraction_sums > 10, "{long_integer_sums} {fraction_sums}");
}

const COUNT: WindowSpec = WindowSpec { id: 1, aggregate: Aggregate::Count, duration_secs: 10 };
const SUM: WindowSpec = WindowSpec { id: 2, aggregate: Aggregate::Sum, duration_secs: 60 };
const VALUES: WindowSpec = WindowSpec { id: 3, aggregate: Aggregate::Values, duration_secs: 10 };

fn event(window: &WindowSpec, key: Key, at: i64, value: EventValue) -> Event {
    Event { window: window.id, key, at, value }
}

fn read_one(store: &dyn WindowStore, window: &WindowSpec, key: Key, at: i64) -> Result<Answer, StoreError> {
    let mut out = Vec::new();
    store.read(&[Read { window: window.id, key, at }], &mut out).expect("the read is valid");
    out.pop().expect("one answer")
}

#[test]
fn a_window_counts_events_in_the_half_open_range() {
    // With SUM the longest window is 60 s, so 100 is kept when 110 is recorded.
    let store = MemoryStore::new(&[COUNT, SUM], Bounds::default()).unwrap();
    store.record(&[event(&COUNT, 7, 100, EventValue::None), event(&COUNT, 7, 110, EventValue::None)]).unwrap();
    // (at - 10, at]: 100 is out at 110, in at 109.
    assert_eq!(read_one(&store, &COUNT, 7, 110), Ok(Answer::Number(1.0)));
    assert_eq!(read_one(&store, &COUNT, 7, 109), Ok(Answer::Number(1.0)));
    assert_eq!(read_one(&store, &COUNT, 7, 99), Ok(Answer::Number(0.0)));
    assert_eq!(read_one(&store, &COUNT, 8, 110), Ok(Answer::Number(0.0)));
}

#[test]
fn a_bad_batch_records_nothing() {
    let store = MemoryStore::new(&[COUNT, SUM], Bounds::default()).unwrap();
    let batch = [event(&COUNT, 1, 5, EventValue::None), event(&SUM, 1, 5, EventValue::None)];
    let err = store.record(&batch).unwrap_err();
    assert_eq!(err.kind, StoreErrorKind::Invalid);
    assert_eq!(read_one(&store, &COUNT, 1, 5), Ok(Answer::Number(0.0)));
    let unknown = Event { window: 99, key: 1, at: 5, value: EventValue::None };
    assert_eq!(store.record(&[unknown]).unwrap_err().kind, StoreErrorKind::Invalid);
    assert_eq!(store.record(&[event(&COUNT, 1, MAX_TIME + 1, EventValue::None)]).unwrap_err().kind, StoreErrorKind::Invalid);
    let mut out = Vec::new();
    assert!(store.read(&[Read { window: 99, key: 1, at: 5 }], &mut out).unwrap_err().message.contains("not opened with window"));
}

#[test]
fn a_key_beyond_its_bound_fails_closed_until_the_dropped_event_ages_out() {
    let bounds = Bounds { max_buckets_per_key: 2, max_values_per_key: 2 };
    let store = MemoryStore::new(&[COUNT, VALUES], bounds).unwrap();
    for at in [1, 2, 3] {
        store.record(&[event(&COUNT, 1, at, EventValue::None)]).unwrap();
    }
    // The event at 3 was dropped: every read whose range may hold it fails.
    let err = read_one(&store, &COUNT, 1, 3).unwrap_err();
    assert_eq!(err.kind, StoreErrorKind::Bound);
    assert!(err.message.contains("`max_buckets_per_key`"), "{err}");
    assert_eq!(read_one(&store, &COUNT, 1, 12).unwrap_err().kind, StoreErrorKind::Bound);
    // Once the range starts at 3, the dropped event is out of it: exact again.
    assert_eq!(read_one(&store, &COUNT, 1, 13), Ok(Answer::Number(0.0)));
    // Other keys are untouched.
    assert_eq!(read_one(&store, &COUNT, 2, 3), Ok(Answer::Number(0.0)));
    // Values: two entries fit, a third different one does not, a repeated one does.
    for t in ["x", "y", "x"] {
        store.record(&[event(&VALUES, 1, 1, EventValue::Text(t.into()))]).unwrap();
    }
    assert_eq!(read_one(&store, &VALUES, 1, 1), Ok(Answer::Values(vec!["x".into(), "y".into()])));
    store.record(&[event(&VALUES, 1, 1, EventValue::Text("z".into()))]).unwrap();
    assert_eq!(read_one(&store, &VALUES, 1, 1).unwrap_err().kind, StoreErrorKind::Bound);
}

#[test]
fn events_older_than_the_longest_window_are_dropped() {
    let store = MemoryStore::new(&[COUNT, SUM], Bounds::default()).unwrap();
    store.record(&[event(&COUNT, 1, 1000, EventValue::None)]).unwrap();
    // The longest window is 60 s: at newest 1000, 940 and older are past the horizon.
    store.record(&[event(&COUNT, 1, 940, EventValue::None), event(&COUNT, 1, 941, EventValue::None)]).unwrap();
    assert_eq!(read_one(&store, &COUNT, 1, 945), Ok(Answer::Number(1.0)));
    let snap = store.snapshot().unwrap();
    assert_eq!(snap[0].data, SnapshotData::Numbers(vec![(941, 1.0), (1000, 1.0)]));
}

#[test]
fn sums_add_in_the_order_of_time() {
    let store = MemoryStore::new(&[SUM], Bounds::default()).unwrap();
    // Recorded out of order; added as (0 + 1e16) + (0 + 1 + 1): the bucket of second 6 first
    // holds 2, which 1e16 keeps (1e16 + 1 would round back to 1e16 twice).
    store
        .record(&[event(&SUM, 1, 6, EventValue::Number(1.0)), event(&SUM, 1, 5, EventValue::Number(1e16)), event(&SUM, 1, 6, EventValue::Number(1.0))])
        .unwrap();
    assert_eq!(read_one(&store, &SUM, 1, 6), Ok(Answer::Number(1e16 + 2.0)));
}

#[test]
fn a_restore_of_a_damaged_snapshot_is_an_error() {
    let store = MemoryStore::new(&[COUNT, VALUES], Bounds::default()).unwrap();
    let bad = KeySnapshot { window: COUNT.id, key: 1, newest: 5, overflow: None, data: SnapshotData::Numbers(vec![(5, 1.0), (4, 1.0)]) };
    assert_eq!(store.restore(vec![bad]).unwrap_err().kind, StoreErrorKind::Corrupt);
    let wrong = KeySnapshot { window: VALUES.id, key: 1, newest: 5, overflow: None, data: SnapshotData::Numbers(vec![]) };
    assert_eq!(store.restore(vec![wrong]).unwrap_err().kind, StoreErrorKind::Corrupt);
    // A window the store does not have (its definition changed) is skipped.
    let gone = KeySnapshot { window: 77, key: 1, newest: 5, overflow: None, data: SnapshotData::Numbers(vec![(5, 1.0)]) };
    store.restore(vec![gone]).unwrap();
    assert!(store.snapshot().unwrap().is_empty());
}

#[test]
fn bad_specs_are_errors() {
    let zero = WindowSpec { duration_secs: 0, ..COUNT };
    assert!(MemoryStore::new(&[zero], Bounds::default()).err().unwrap().message.contains("lasts 0 seconds"));
    assert!(MemoryStore::new(&[COUNT, COUNT], Bounds::default()).err().unwrap().message.contains("share the id"));
}

#[test]
fn threads_share_one_store() {
    fn shared<T: Send + Sync>(_: &T) {}
    let store = MemoryStore::new(&[COUNT], Bounds::default()).unwrap();
    shared(&store);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..1000 {
                    store.record(&[event(&COUNT, 1, 5, EventValue::None)]).unwrap();
                }
            });
        }
    });
    assert_eq!(read_one(&store, &COUNT, 1, 5), Ok(Answer::Number(4000.0)));
}

/// The fast sums of `numbers.rs` against the in-order fold, to the bit, and `max` against a
/// plain fold: random buckets (mostly small integers, some at and past the 2^36 edge of the
/// fast path, fractions, infinities, NaN, signed zeros), added at times out of order, pruned
/// from the front, read over every kind of range.
mod fast_paths {
    use proptest::prelude::*;

    use super::super::fold;
    use super::super::numbers::{Buckets, FAST_RANGE, SMALL};

    fn number() -> impl Strategy<Value = f64> {
        prop_oneof![
            6 => (-1000i64..1000).prop_map(|n| n as f64),
            1 => prop::sample::select(vec![SMALL, -SMALL, SMALL + 1.0, -SMALL - 1.0, SMALL - 1.0, 2f64.powi(53), 1e16, -0.0, 0.0]),
            1 => prop::sample::select(vec![0.1, 0.2, -2.5, 1.0 / 3.0, f64::INFINITY, f64::NEG_INFINITY, f64::NAN, 5e-324, 1e308]),
        ]
    }

    #[derive(Debug, Clone)]
    enum Op {
        Add(i64, f64),
        Prune(i64),
        Read(i64, i64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (0i64..400, number()).prop_map(|(t, v)| Op::Add(t, v)),
            1 => (0i64..400).prop_map(Op::Prune),
            4 => (-5i64..405, 0i64..410).prop_map(|(lo, d)| Op::Read(lo, lo + d)),
        ]
    }

    fn same(a: f64, b: f64) -> bool {
        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1_000, ..ProptestConfig::default() })]

        #[test]
        fn fast_sums_are_the_bits_of_the_in_order_fold(max in any::<bool>(), ops in prop::collection::vec(op(), 1..300)) {
            let mut buckets = Buckets::default();
            // The naive state: (second, bucket) in order.
            let mut naive: Vec<(i64, f64)> = Vec::new();
            for op in ops {
                match op {
                    Op::Add(t, v) => {
                        prop_assert!(buckets.add(max, t, v, usize::MAX));
                        match naive.binary_search_by_key(&t, |b| b.0) {
                            Ok(i) => naive[i].1 = fold::bucket(max, Some(naive[i].1), v),
                            Err(i) => naive.insert(i, (t, fold::bucket(max, None, v))),
                        }
                    }
                    Op::Prune(h) => {
                        buckets.prune(h);
                        naive.retain(|b| b.0 > h);
                    }
                    Op::Read(lo, hi) => {
                        let range = naive.iter().filter(|b| lo < b.0 && b.0 <= hi).map(|b| b.1);
                        if max {
                            let want = range.reduce(fold::greater);
                            let got = buckets.max(lo, hi);
                            prop_assert!(want.is_none() == got.is_none() && want.zip(got).is_none_or(|(w, g)| same(w, g)), "max ({lo}, {hi}]: {got:?} vs {want:?}");
                        } else {
                            let want = range.fold(0.0, |total, b| total + b);
                            let got = buckets.sum(lo, hi);
                            prop_assert!(same(got, want), "sum ({lo}, {hi}]: {got} vs {want}");
                            prop_assert!(same(buckets.folded_sum(lo, hi), want));
                        }
                    }
                }
            }
            prop_assert_eq!(buckets.iter().collect::<Vec<_>>().len(), naive.len());
        }
    }

    /// A range longer than the fast path's 2^17 buckets folds: here its partial sums pass 2^53,
    /// where adding 1 rounds away, so the running totals (2^53 + 2) would be wrong.
    #[test]
    fn a_range_longer_than_the_fast_path_folds() {
        let mut items: Vec<(i64, f64)> = (0..FAST_RANGE as i64).map(|t| (t, SMALL)).collect();
        items.push((FAST_RANGE as i64, 1.0));
        items.push((FAST_RANGE as i64 + 1, 1.0));
        let buckets = Buckets::from_sorted(&items);
        let fold = items.iter().fold(0.0, |total, b| total + b.1);
        assert_eq!(fold, 2f64.powi(53));
        assert_eq!(buckets.sum(-1, i64::MAX).to_bits(), fold.to_bits());
        // Without the first bucket the range fits: exact, and the fold agrees.
        assert_eq!(buckets.sum(0, i64::MAX), 2f64.powi(53) - SMALL + 2.0);
        assert_eq!(buckets.sum(0, i64::MAX).to_bits(), buckets.folded_sum(0, i64::MAX).to_bits());
    }
}
