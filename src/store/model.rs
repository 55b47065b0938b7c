//! The reference model of a window store: the semantics of `store/mod.rs` written as plainly
//! as possible, for the conformance property test (`conformance.rs`) to compare every store
//! against. In: specs, bounds, events and reads, like a store. Out: the answers a store must
//! give. Slow on purpose: every record and read rescans the kept events.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::{fold, Aggregate, Answer, Bounds, Event, EventValue, Key, Read, StoreError, WindowSpec};

/// Per (window, key): the newest second recorded, the latest dropped for a bound, and the
/// kept events in recording order.
#[derive(Default)]
struct History {
    newest: Option<i64>,
    overflow: Option<i64>,
    kept: Vec<(i64, EventValue)>,
}

/// The naive reference: every event kept as recorded, each read folded from scratch in time order.
pub struct Model {
    specs: Vec<WindowSpec>,
    bounds: Bounds,
    histories: HashMap<(u64, Key), History>,
}

impl Model {
    /// An empty model of these windows and bounds.
    pub fn new(specs: &[WindowSpec], bounds: Bounds) -> Self {
        Model { specs: specs.to_vec(), bounds, histories: HashMap::new() }
    }

    fn spec(&self, window: u64) -> WindowSpec {
        // INVARIANT: the property test only uses the windows it opened the model with.
        *self.specs.iter().find(|s| s.id == window).expect("a known window")
    }

    /// Records events as a store must.
    pub fn record(&mut self, events: &[Event]) {
        let longest = self.specs.iter().map(|s| s.duration_secs as i64).max().unwrap_or(0);
        for e in events {
            let bounds = self.bounds;
            let h = self.histories.entry((e.window, e.key)).or_default();
            let newest = h.newest.map_or(e.at, |n| n.max(e.at));
            h.newest = Some(newest);
            let horizon = newest - longest;
            if e.at <= horizon {
                continue;
            }
            h.kept.retain(|(t, _)| *t > horizon);
            let seconds: BTreeSet<i64> = h.kept.iter().map(|(t, _)| *t).collect();
            let new_second = !seconds.contains(&e.at);
            let fits = match &e.value {
                EventValue::Hash(_) | EventValue::Text(_) => {
                    let entries: BTreeSet<(i64, String)> = h.kept.iter().map(|(t, v)| (*t, format!("{v:?}"))).collect();
                    let entry = (e.at, format!("{:?}", e.value));
                    entries.contains(&entry) || !((new_second && seconds.len() >= bounds.max_buckets_per_key) || entries.len() >= bounds.max_values_per_key)
                }
                _ => !new_second || seconds.len() < bounds.max_buckets_per_key,
            };
            if fits {
                h.kept.push((e.at, e.value.clone()));
            } else {
                h.overflow = Some(h.overflow.map_or(e.at, |o| o.max(e.at)));
            }
        }
    }

    /// The answer a store must give.
    pub fn read(&self, r: &Read) -> Result<Answer, StoreError> {
        let spec = self.spec(r.window);
        let lo = r.at - spec.duration_secs as i64;
        let empty = History::default();
        let h = self.histories.get(&(r.window, r.key)).unwrap_or(&empty);
        if let Some(o) = h.overflow.filter(|&o| o > lo) {
            return Err(StoreError::bound(r.window, o));
        }
        let in_range: Vec<&(i64, EventValue)> = h.kept.iter().filter(|(t, _)| lo < *t && *t <= r.at).collect();
        // Per second, oldest first; within a second, recording order.
        let mut by_second: BTreeMap<i64, Vec<&EventValue>> = BTreeMap::new();
        for (t, v) in &in_range {
            by_second.entry(*t).or_default().push(v);
        }
        let number = |v: &EventValue| match v {
            EventValue::Number(n) => *n,
            _ => 1.0,
        };
        Ok(match spec.aggregate {
            Aggregate::Count => Answer::Number(in_range.len() as f64),
            Aggregate::Sum => {
                let mut total = 0.0;
                for values in by_second.values() {
                    let mut bucket = 0.0;
                    for v in values {
                        bucket += number(v);
                    }
                    total += bucket;
                }
                Answer::Number(total)
            }
            Aggregate::Max => {
                let mut max: Option<f64> = None;
                for values in by_second.values() {
                    let mut bucket: Option<f64> = None;
                    for v in values {
                        bucket = Some(fold::bucket(true, bucket, number(v)));
                    }
                    // INVARIANT: a second is in the map only with a value.
                    let bucket = bucket.expect("a bucket has a value");
                    max = Some(max.map_or(bucket, |m| fold::greater(m, bucket)));
                }
                Answer::Max(max)
            }
            Aggregate::Distinct => {
                let hashes: BTreeSet<u128> = in_range.iter().filter_map(|(_, v)| if let EventValue::Hash(h) = v { Some(*h) } else { None }).collect();
                Answer::Number(hashes.len() as f64)
            }
            Aggregate::Values => {
                let texts: BTreeSet<String> = in_range.iter().filter_map(|(_, v)| if let EventValue::Text(t) = v { Some(t.clone()) } else { None }).collect();
                Answer::Values(texts.into_iter().collect())
            }
        })
    }
}
