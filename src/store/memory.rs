//! The in-memory window store: one process, every thread.
//!
//! In: [`WindowSpec`]s and [`Bounds`] at [`MemoryStore::new`]; reads and events through
//! [`WindowStore`]. Out: answers by the semantics of `store/mod.rs`. The (window, key) states
//! live in 16 shards, each a `Mutex` over a hash map, chosen by the key alone so that the
//! windows of one request's key usually share a lock taken once per call. A `count`, `sum`
//! or `max` state is a deque of (second, number) sorted by second, with running totals that
//! sum most ranges in O(log n) to the bits of the in-order fold (`numbers.rs`); a `distinct` or `values`
//! state a deque of (second, value) entries sorted and unique. Reading a numeric aggregate
//! allocates nothing (`distinct` counts into a set kept per shard); `values` allocates its
//! answer. [`MemoryStore::snapshot`] and [`MemoryStore::restore`] move whole states out and
//! in, for stores that persist them (`crates/gavel-store`'s redb store).

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{BuildHasher, Hasher};
use std::sync::{Mutex, MutexGuard};

use super::numbers::{first_after, Buckets};
use super::{check_events, check_time, Aggregate, Answer, Bounds, Event, EventValue, Key, Read, Specs, StoreError, WindowSpec, WindowStore};

const SHARD_BITS: u32 = 4;

/// The in-memory [`WindowStore`]; [`WindowStore::sync`] is a no-op.
pub struct MemoryStore {
    specs: Specs,
    bounds: Bounds,
    hasher: Seeded,
    shards: Box<[Mutex<Shard>]>,
}

struct Shard {
    states: HashMap<(u64, Key), KeyState, Seeded>,
    /// Reused by `distinct` reads, so they allocate nothing once warm.
    scratch: HashSet<u128, Seeded>,
}

#[derive(Debug, Clone)]
struct KeyState {
    newest: i64,
    overflow: Option<i64>,
    data: Data,
}

#[derive(Debug, Clone)]
enum Data {
    Numbers(Buckets),
    Hashes(Entries<u128>),
    Texts(Entries<String>),
}

/// (second, value) entries, sorted and unique, and how many different seconds they hold.
#[derive(Debug, Clone)]
struct Entries<V> {
    items: VecDeque<(i64, V)>,
    seconds: usize,
}

/// One (window, key)'s whole state, to persist it elsewhere and restore it.
#[derive(Debug, Clone, PartialEq)]
pub struct KeySnapshot {
    /// The window's id.
    pub window: u64,
    /// The key's hash.
    pub key: Key,
    /// The newest second recorded for this key.
    pub newest: i64,
    /// The newest second whose event was dropped for a bound, if any: a read whose range holds it fails closed.
    pub overflow: Option<i64>,
    /// The buckets.
    pub data: SnapshotData,
}

/// The buckets of a [`KeySnapshot`], sorted by second (then value).
#[derive(Debug, Clone, PartialEq)]
pub enum SnapshotData {
    /// `count`, `sum` and `max`: each second's number.
    Numbers(Vec<(i64, f64)>),
    /// `distinct`: each second's value hashes.
    Hashes(Vec<(i64, u128)>),
    /// `values`: each second's strings.
    Texts(Vec<(i64, String)>),
}

impl MemoryStore {
    /// An empty store for `windows`, with these bounds.
    pub fn new(windows: &[WindowSpec], bounds: Bounds) -> Result<Self, StoreError> {
        let specs = Specs::new(windows)?;
        let hasher = Seeded::random();
        let shards =
            (0..1usize << SHARD_BITS).map(|_| Mutex::new(Shard { states: HashMap::with_hasher(hasher), scratch: HashSet::with_hasher(hasher) })).collect();
        Ok(MemoryStore { specs, bounds, hasher, shards })
    }

    /// The windows it was opened with.
    pub fn specs(&self) -> &Specs {
        &self.specs
    }

    /// Its bounds.
    pub fn bounds(&self) -> Bounds {
        self.bounds
    }

    fn shard_of(&self, key: Key) -> usize {
        (self.hasher.mix(key as u64 ^ (key >> 64) as u64) >> (64 - SHARD_BITS)) as usize
    }

    fn lock(&self, shard: usize) -> Result<MutexGuard<'_, Shard>, StoreError> {
        self.shards[shard].lock().map_err(|_| StoreError::unavailable("the in-memory window store was left inconsistent by a panic; restart the process"))
    }

    /// Every (window, key) state, in no particular order.
    pub fn snapshot(&self) -> Result<Vec<KeySnapshot>, StoreError> {
        let mut all = Vec::new();
        for shard in 0..self.shards.len() {
            let guard = self.lock(shard)?;
            all.extend(guard.states.iter().map(|(&(window, key), state)| state.snapshot(window, key)));
        }
        Ok(all)
    }

    /// Replaces the states of the snapshots' (window, key)s. A snapshot of a window this store
    /// was not opened with is skipped (its definition changed: its events must not be read);
    /// one whose buckets do not fit its window is a `Corrupt` error and nothing is restored.
    pub fn restore(&self, snapshots: Vec<KeySnapshot>) -> Result<(), StoreError> {
        let mut states = Vec::with_capacity(snapshots.len());
        for snap in snapshots {
            let Ok(spec) = self.specs.get(snap.window) else { continue };
            states.push((snap.window, snap.key, KeyState::restore(spec.aggregate, snap)?));
        }
        for (window, key, state) in states {
            self.lock(self.shard_of(key))?.states.insert((window, key), state);
        }
        Ok(())
    }
}

impl WindowStore for MemoryStore {
    fn read(&self, reads: &[Read], out: &mut Vec<Result<Answer, StoreError>>) -> Result<(), StoreError> {
        out.clear();
        let all = self.read_all(reads, out);
        if all.is_err() {
            out.clear(); // an error of the call answers nothing
        }
        all
    }

    fn record(&self, events: &[Event]) -> Result<(), StoreError> {
        check_events(&self.specs, events)?;
        let longest = self.specs.longest();
        let mut held: Option<(usize, MutexGuard<'_, Shard>)> = None;
        for e in events {
            let shard = self.shard_of(e.key);
            if held.as_ref().map(|h| h.0) != Some(shard) {
                drop(held.take());
                held = Some((shard, self.lock(shard)?));
            }
            // INVARIANT: `held` was set just above.
            let guard = &mut held.as_mut().expect("a shard is held").1;
            // INVARIANT: check_events found every window.
            let aggregate = self.specs.get(e.window).expect("a checked window").aggregate;
            let state = guard.states.entry((e.window, e.key)).or_insert_with(|| KeyState::new(aggregate));
            state.record(aggregate, longest, self.bounds, e.at, &e.value);
        }
        Ok(())
    }

    fn sync(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

impl MemoryStore {
    /// The reads in order; the checks of `check_reads` are made read by read, so each
    /// window is looked up once.
    fn read_all(&self, reads: &[Read], out: &mut Vec<Result<Answer, StoreError>>) -> Result<(), StoreError> {
        let mut held: Option<(usize, MutexGuard<'_, Shard>)> = None;
        for r in reads {
            let spec = self.specs.get(r.window)?;
            check_time(r.at)?;
            let shard = self.shard_of(r.key);
            if held.as_ref().map(|h| h.0) != Some(shard) {
                drop(held.take()); // one lock at a time: no lock order to get wrong
                held = Some((shard, self.lock(shard)?));
            }
            // INVARIANT: `held` was set just above.
            let guard = &mut held.as_mut().expect("a shard is held").1;
            let Shard { states, scratch } = &mut **guard;
            out.push(read_one(states.get(&(r.window, r.key)), spec, r.at, scratch));
        }
        Ok(())
    }
}

/// The answer over nothing.
pub(crate) fn empty_answer(aggregate: Aggregate) -> Answer {
    match aggregate {
        Aggregate::Count | Aggregate::Sum | Aggregate::Distinct => Answer::Number(0.0),
        Aggregate::Max => Answer::Max(None),
        Aggregate::Values => Answer::Values(Vec::new()),
    }
}

fn read_one(state: Option<&KeyState>, spec: &WindowSpec, at: i64, scratch: &mut HashSet<u128, Seeded>) -> Result<Answer, StoreError> {
    let Some(state) = state else { return Ok(empty_answer(spec.aggregate)) };
    let lo = at - spec.duration_secs as i64; // exact: both within ±2^52
    if let Some(dropped) = state.overflow.filter(|&o| o > lo) {
        return Err(StoreError::bound(spec.id, dropped));
    }
    Ok(match &state.data {
        Data::Numbers(buckets) => {
            if spec.aggregate == Aggregate::Max {
                Answer::Max(buckets.max(lo, at))
            } else {
                Answer::Number(buckets.sum(lo, at))
            }
        }
        Data::Hashes(entries) => {
            scratch.clear();
            scratch.extend(entries.range(lo, at).map(|e| e.1));
            Answer::Number(scratch.len() as f64)
        }
        Data::Texts(entries) => {
            let mut values: Vec<String> = entries.range(lo, at).map(|e| e.1.clone()).collect();
            values.sort_unstable();
            values.dedup();
            Answer::Values(values)
        }
    })
}

impl KeyState {
    fn new(aggregate: Aggregate) -> Self {
        let data = match aggregate {
            Aggregate::Count | Aggregate::Sum | Aggregate::Max => Data::Numbers(Buckets::default()),
            Aggregate::Distinct => Data::Hashes(Entries::default()),
            Aggregate::Values => Data::Texts(Entries::default()),
        };
        KeyState { newest: i64::MIN, overflow: None, data }
    }

    fn record(&mut self, aggregate: Aggregate, longest: i64, bounds: Bounds, at: i64, value: &EventValue) {
        self.newest = self.newest.max(at);
        let horizon = self.newest - longest; // exact: both within ±2^52
        if at <= horizon {
            return;
        }
        let kept = match (&mut self.data, value) {
            (Data::Numbers(buckets), value) => {
                buckets.prune(horizon);
                let number = match value {
                    EventValue::Number(n) => *n,
                    _ => 1.0, // a count
                };
                buckets.add(aggregate == Aggregate::Max, at, number, bounds.max_buckets_per_key)
            }
            (Data::Hashes(entries), EventValue::Hash(h)) => {
                entries.prune(horizon);
                entries.insert(at, h, bounds, |h| *h)
            }
            (Data::Texts(entries), EventValue::Text(t)) => {
                entries.prune(horizon);
                entries.insert(at, t, bounds, String::clone)
            }
            // check_events matched every value to its window's aggregate.
            _ => true,
        };
        if !kept {
            self.overflow = Some(self.overflow.map_or(at, |o| o.max(at)));
        }
    }

    fn snapshot(&self, window: u64, key: Key) -> KeySnapshot {
        let data = match &self.data {
            Data::Numbers(b) => SnapshotData::Numbers(b.iter().collect()),
            Data::Hashes(e) => SnapshotData::Hashes(e.items.iter().copied().collect()),
            Data::Texts(e) => SnapshotData::Texts(e.items.iter().cloned().collect()),
        };
        KeySnapshot { window, key, newest: self.newest, overflow: self.overflow, data }
    }

    fn restore(aggregate: Aggregate, snap: KeySnapshot) -> Result<Self, StoreError> {
        let bad = |what: &str| {
            StoreError::corrupt(format!(
                "the saved state of window {:#018x} cannot be read back: {what}; remove the state directory to start afresh",
                snap.window
            ))
        };
        if snap.newest != i64::MIN {
            check_time(snap.newest).map_err(|_| bad("its newest time is out of range"))?;
        }
        if let Some(o) = snap.overflow {
            check_time(o).map_err(|_| bad("its overflow time is out of range"))?;
        }
        fn sorted<V: Ord>(items: &[(i64, V)]) -> bool {
            items.windows(2).all(|w| (w[0].0, &w[0].1) < (w[1].0, &w[1].1)) && items.iter().all(|i| check_time(i.0).is_ok())
        }
        let data = match (aggregate, &snap.data) {
            (Aggregate::Count | Aggregate::Sum | Aggregate::Max, SnapshotData::Numbers(b)) => {
                if !b.windows(2).all(|w| w[0].0 < w[1].0) || !b.iter().all(|i| check_time(i.0).is_ok()) {
                    return Err(bad("its seconds are not in order"));
                }
                Data::Numbers(Buckets::from_sorted(b))
            }
            (Aggregate::Distinct, SnapshotData::Hashes(e)) if sorted(e) => Data::Hashes(Entries::from_sorted(e.clone())),
            (Aggregate::Values, SnapshotData::Texts(e)) if sorted(e) => Data::Texts(Entries::from_sorted(e.clone())),
            _ => return Err(bad("its buckets do not fit the window's aggregate or are not in order")),
        };
        Ok(KeyState { newest: snap.newest, overflow: snap.overflow, data })
    }
}

impl<V> Default for Entries<V> {
    fn default() -> Self {
        Entries { items: VecDeque::new(), seconds: 0 }
    }
}

impl<V: Ord> Entries<V> {
    fn from_sorted(items: Vec<(i64, V)>) -> Self {
        let seconds = items.iter().enumerate().filter(|(i, e)| *i == 0 || items[i - 1].0 != e.0).count();
        Entries { items: items.into(), seconds }
    }

    fn prune(&mut self, horizon: i64) {
        while let Some(front) = self.items.front().filter(|e| e.0 <= horizon) {
            let second = front.0;
            self.items.pop_front();
            if self.items.front().is_none_or(|next| next.0 != second) {
                self.seconds -= 1;
            }
        }
    }

    /// Inserts (at, value) unless present; `false` when a bound forbids it.
    fn insert<Q: Ord + ?Sized>(&mut self, at: i64, value: &Q, bounds: Bounds, own: impl FnOnce(&Q) -> V) -> bool
    where
        V: std::borrow::Borrow<Q>,
    {
        let i = self.items.partition_point(|e| (e.0, e.1.borrow()) < (at, value));
        if self.items.get(i).is_some_and(|e| e.0 == at && e.1.borrow() == value) {
            return true;
        }
        let before = i.checked_sub(1).and_then(|j| self.items.get(j));
        let new_second = before.is_none_or(|e| e.0 != at) && self.items.get(i).is_none_or(|e| e.0 != at);
        if (new_second && self.seconds >= bounds.max_buckets_per_key) || self.items.len() >= bounds.max_values_per_key {
            return false;
        }
        self.items.insert(i, (at, own(value)));
        self.seconds += usize::from(new_second);
        true
    }

    /// The entries with time in `(lo, hi]`.
    fn range(&self, lo: i64, hi: i64) -> impl Iterator<Item = &(i64, V)> {
        let end = first_after(&self.items, hi, |e| e.0);
        let start = first_after(&self.items, lo, |e| e.0).min(end);
        self.items.range(start..end)
    }
}

/// A fast hasher for keys that are already hashes, seeded per store so that which keys share
/// a map slot cannot be known from outside.
#[derive(Clone, Copy)]
struct Seeded {
    seed: u64,
}

impl Seeded {
    fn random() -> Self {
        Seeded { seed: std::collections::hash_map::RandomState::new().build_hasher().finish() | 1 }
    }

    /// The murmur3 finalizer over the seeded input.
    fn mix(&self, x: u64) -> u64 {
        let mut h = x ^ self.seed;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

impl BuildHasher for Seeded {
    type Hasher = SeededHasher;
    fn build_hasher(&self) -> SeededHasher {
        SeededHasher { seeded: *self, state: 0 }
    }
}

struct SeededHasher {
    seeded: Seeded,
    state: u64,
}

impl Hasher for SeededHasher {
    fn finish(&self) -> u64 {
        self.seeded.mix(self.state)
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.state = (self.state.rotate_left(23) ^ n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn write_u128(&mut self, n: u128) {
        self.write_u64(n as u64);
        self.write_u64((n >> 64) as u64);
    }
}
