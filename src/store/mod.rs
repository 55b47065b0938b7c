//! Window stores: where the events behind LANGUAGE.md §8's windows live.
//!
//! In: the windows of a policy as [`WindowSpec`]s (an id, an aggregate, a duration) and
//! [`Bounds`], given when a store is opened; then, per decision, the [`Read`]s of the
//! request's windows and, after the decision, the [`Event`]s that record it. Out: one
//! [`Answer`] per read (or a [`StoreError`] for that read), and [`StoreError`]s for faults of
//! the store itself. Stores never see key values or window definitions: the engine hashes a
//! compound key's canonical bytes into a [`Key`], and the compiler hashes a window's
//! definition into its `id`, so a changed definition never reads events recorded under the
//! old one.
//!
//! Every store implements [`WindowStore`] and answers exactly what the reference model
//! (`model.rs`) answers; `conformance.rs` is the property test that checks it, written once
//! for any store (this module's [`MemoryStore`]; `crates/gavel-store` runs it on redb and
//! Redis). The semantics, all stores identical:
//!
//! - **State.** Per (window, key): `newest`, the latest second recorded for it; `overflow`,
//!   the latest second of an event dropped because of a bound (none at first); and the kept
//!   events, bucketed per second (`Count`, `Sum`, `Max`: one number per second; `Distinct`,
//!   `Values`: the set of different values per second).
//! - **Recording** an event at second `t` (the events of one call in order): `newest` becomes
//!   `max(newest, t)` and the horizon is `newest - longest` (the longest window of the store).
//!   An event at or before the horizon is dropped (too old for any window of a request at
//!   `newest`); every second at or before the horizon is forgotten. Otherwise the event goes
//!   into its second's bucket; if that needs a new second while the key already holds
//!   `max_buckets_per_key` seconds, or a new (second, value) entry while it holds
//!   `max_values_per_key` entries, the event is dropped and `overflow` becomes `max(overflow,
//!   t)`. Storage is measured against request times, never the wall clock, so old logs
//!   replay the same.
//! - **Reading** at second `at` over a window of `d` seconds: if `overflow > at - d` (a dropped
//!   event may lie in the range), the read is a [`StoreErrorKind::Bound`] error: fail closed,
//!   never an under-count that would allow; it clears by itself once the dropped events are
//!   older than the window. Otherwise the answer is the aggregate over the kept events of
//!   (window, key) with time in `(at - d, at]`, recorded before the read: `Count` the number
//!   of events, `Sum` their sum, `Max` the largest (`None` over nothing), `Distinct` how many
//!   different value hashes, `Values` the different texts, sorted (by bytes) and deduplicated.
//!   A request older than the horizon sees what is left.
//! - **Sums** add in the order of time: each second's bucket is `0.0 + v1 + v2 + ...` over its
//!   events in recording order, and the answer is `0.0 + b1 + b2 + ...` over the seconds in
//!   the range, oldest first (IEEE doubles, rounded at each addition). So a sum is exact when
//!   every value and partial sum is an integer below 2^53 in magnitude (money in cents, counts);
//!   with fractions (`0.1 + 0.2`) it is the double the fixed order gives, the same bits on
//!   every store and every run. `Max` keeps the first value unless a later one compares
//!   greater (`v > m`), bucket by bucket, so a NaN never replaces a number. Counts are exact.
//! - **Times** (`at`) and durations lie within ±[`MAX_TIME`] seconds (2^52, about 142 million
//!   years), so that every difference is an exact integer on every store (Redis's Lua computes
//!   in doubles); others are a [`StoreErrorKind::Invalid`] error.
//!
//! [`WindowStore::sync`] makes everything recorded so far durable (a no-op in memory): the
//! command line calls it before printing a batch of decisions, the service before answering.

mod memory;
mod numbers;

#[cfg(any(test, feature = "store-testing"))]
pub mod conformance;
#[cfg(any(test, feature = "store-testing"))]
pub mod model;
#[cfg(test)]
mod tests;

pub use memory::{KeySnapshot, MemoryStore, SnapshotData};

use std::fmt;

/// What a window computes over its events (LANGUAGE.md §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Aggregate {
    /// `count()`: events carry [`EventValue::None`].
    Count,
    /// `sum(e)`: events carry [`EventValue::Number`].
    Sum,
    /// `max(e)`: events carry [`EventValue::Number`].
    Max,
    /// `distinct(e)`: events carry [`EventValue::Hash`] of the canonical value.
    Distinct,
    /// `values(e)`: events carry [`EventValue::Text`].
    Values,
}

impl Aggregate {
    /// The aggregate's name in the language, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Aggregate::Count => "count",
            Aggregate::Sum => "sum",
            Aggregate::Max => "max",
            Aggregate::Distinct => "distinct",
            Aggregate::Values => "values",
        }
    }

    /// Whether the events carry the value this aggregate needs.
    pub fn accepts(self, value: &EventValue) -> bool {
        matches!(
            (self, value),
            (Aggregate::Count, EventValue::None)
                | (Aggregate::Sum | Aggregate::Max, EventValue::Number(_))
                | (Aggregate::Distinct, EventValue::Hash(_))
                | (Aggregate::Values, EventValue::Text(_))
        )
    }
}

/// One window of a policy, as stores see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WindowSpec {
    /// A stable hash of the window's definition (name, aggregate, expression, keys, `on`,
    /// `when`, duration), computed by the compiler.
    pub id: u64,
    /// Which aggregate.
    pub aggregate: Aggregate,
    /// 1 ..= [`MAX_TIME`].
    pub duration_secs: u64,
}

/// A hash of a compound key's canonical bytes, computed by the engine.
pub type Key = u128;

/// The largest time (and duration) in seconds, either way, that stores accept: 2^52, so that
/// `at - duration` and `newest - longest` are exact in a double.
pub const MAX_TIME: i64 = 1 << 52;

/// A window's value for one request: `at` is the request's time cut to the whole second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Read {
    /// The window's id.
    pub window: u64,
    /// The key's hash.
    pub key: Key,
    /// The request's time, in whole seconds.
    pub at: i64,
}

/// The value of one read.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// `count`, `sum`, `distinct`.
    Number(f64),
    /// `max`: `None` over nothing.
    Max(Option<f64>),
    /// `values`: sorted by bytes, deduplicated.
    Values(Vec<String>),
}

/// One recorded request in one window.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The window's id.
    pub window: u64,
    /// The key's hash.
    pub key: Key,
    /// The request's time, in whole seconds.
    pub at: i64,
    /// What it adds to the aggregate.
    pub value: EventValue,
}

/// What an event carries, by the window's aggregate (see [`Aggregate::accepts`]).
#[derive(Debug, Clone, PartialEq)]
pub enum EventValue {
    /// `count`: nothing but the event.
    None,
    /// `sum` and `max`: the number.
    Number(f64),
    /// `distinct`: a hash of the value.
    Hash(u128),
    /// `values`: the string.
    Text(String),
}

/// The bounds on the memory of one (window, key). When a record would go beyond one, the
/// event is dropped and reads of that key fail (see the module header) until the dropped
/// events are older than the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// Different seconds kept per (window, key); default 65,536 (18 hours of an event every
    /// second; about 2 MiB in memory at most: 32 bytes a bucket).
    pub max_buckets_per_key: usize,
    /// (second, value) entries kept per (window, key) of a `distinct` or `values` window;
    /// default 65,536.
    pub max_values_per_key: usize,
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds { max_buckets_per_key: 65_536, max_values_per_key: 65_536 }
    }
}

/// A store of window events. `Send + Sync`: one store serves every thread of an engine.
pub trait WindowStore: Send + Sync {
    /// Clears `out`, then pushes one answer per read, in order: the value, or an error of
    /// that read alone (a key beyond a bound, [`StoreErrorKind::Bound`]). An `Err` of the
    /// whole call (the store cannot be reached, a read of a window it was not opened with)
    /// answers nothing.
    fn read(&self, reads: &[Read], out: &mut Vec<Result<Answer, StoreError>>) -> Result<(), StoreError>;

    /// Records the events, in order; all of them or (with an `Err`) none.
    fn record(&self, events: &[Event]) -> Result<(), StoreError>;

    /// Makes everything recorded so far durable.
    fn sync(&self) -> Result<(), StoreError>;
}

/// What kind of fault a [`StoreError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreErrorKind {
    /// The store cannot be reached or written (Redis down, a disk error).
    Unavailable,
    /// A key holds more than [`Bounds`] allow.
    Bound,
    /// The caller asked for something the store was not opened with (an unknown window, a
    /// value of the wrong kind, a time out of range): a bug of the engine, failed closed.
    Invalid,
    /// What the store holds cannot be read back (a damaged file).
    Corrupt,
}

/// A store fault, worded in the house style (lowercase, what failed and how to fix it); the
/// engine turns it into a rule error of the rules that read the window: fail closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError {
    /// Which kind of fault.
    pub kind: StoreErrorKind,
    /// What failed and how to fix it.
    pub message: String,
}

impl StoreError {
    /// A fault of this kind.
    pub fn new(kind: StoreErrorKind, message: impl Into<String>) -> Self {
        StoreError { kind, message: message.into() }
    }

    /// The store cannot be reached (Redis down): the rules reading it fail closed.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StoreErrorKind::Unavailable, message)
    }

    /// The call is wrong (an unknown window, a time out of range).
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StoreErrorKind::Invalid, message)
    }

    /// What the store holds does not read back.
    pub fn corrupt(message: impl Into<String>) -> Self {
        Self::new(StoreErrorKind::Corrupt, message)
    }

    /// A read of a key beyond a bound (`bound` is the [`Bounds`] field that was hit, when the
    /// store knows it).
    pub fn bound(window: u64, dropped_at: i64) -> Self {
        Self::new(
            StoreErrorKind::Bound,
            format!(
                "the window store dropped an event of this key of window {window:#018x} at time {dropped_at} because the key \
                 reached `max_buckets_per_key` or `max_values_per_key`; reads of the key fail until that event is older \
                 than the window; raise the bound or shorten the window"
            ),
        )
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StoreError {}

/// The windows a store was opened with, checked: ids unique, durations in range.
#[derive(Debug, Clone)]
pub struct Specs {
    windows: Vec<WindowSpec>,
    longest: i64,
}

impl Specs {
    /// Checks `windows`: ids unique, durations from 1 s to `MAX_TIME`.
    pub fn new(windows: &[WindowSpec]) -> Result<Self, StoreError> {
        let mut sorted = windows.to_vec();
        sorted.sort_by_key(|w| w.id);
        for pair in sorted.windows(2) {
            if pair[0].id == pair[1].id {
                return Err(StoreError::invalid(format!("two windows share the id {:#018x}; give each window its own id", pair[0].id)));
            }
        }
        for w in &sorted {
            if w.duration_secs == 0 || w.duration_secs > MAX_TIME as u64 {
                return Err(StoreError::invalid(format!(
                    "window {:#018x} lasts {} seconds; a window lasts from 1 to {MAX_TIME} seconds",
                    w.id, w.duration_secs
                )));
            }
        }
        let longest = sorted.iter().map(|w| w.duration_secs as i64).max().unwrap_or(0);
        Ok(Specs { windows: sorted, longest })
    }

    /// The window of this id, or an `Invalid` error.
    pub fn get(&self, id: u64) -> Result<&WindowSpec, StoreError> {
        match self.windows.binary_search_by_key(&id, |w| w.id) {
            Ok(i) => Ok(&self.windows[i]),
            Err(_) => Err(StoreError::invalid(format!("the window store was not opened with window {id:#018x}; open it with the policy's windows"))),
        }
    }

    /// The windows, sorted by id.
    pub fn windows(&self) -> &[WindowSpec] {
        &self.windows
    }

    /// The longest duration in seconds (0 with no window).
    pub fn longest(&self) -> i64 {
        self.longest
    }
}

/// `Ok` when `at` is within ±[`MAX_TIME`].
pub fn check_time(at: i64) -> Result<(), StoreError> {
    if (-MAX_TIME..=MAX_TIME).contains(&at) {
        Ok(())
    } else {
        Err(StoreError::invalid(format!("the time {at} is out of range for the window store (±{MAX_TIME} seconds)")))
    }
}

/// Checks a batch of events before any is recorded: known windows, values of the right
/// kind, times in range. Every store calls it first, so a bad batch records nothing.
pub fn check_events(specs: &Specs, events: &[Event]) -> Result<(), StoreError> {
    for e in events {
        let spec = specs.get(e.window)?;
        check_time(e.at)?;
        if !spec.aggregate.accepts(&e.value) {
            return Err(StoreError::invalid(format!(
                "an event of window {:#018x} (`{}`) carries the wrong kind of value: {:?}",
                e.window,
                spec.aggregate.name(),
                e.value
            )));
        }
    }
    Ok(())
}

/// Checks a batch of reads: known windows, times in range.
pub fn check_reads(specs: &Specs, reads: &[Read]) -> Result<(), StoreError> {
    for r in reads {
        specs.get(r.window)?;
        check_time(r.at)?;
    }
    Ok(())
}

/// How the numbers of a bucket and of a range are folded, shared by every store so that they
/// agree to the bit. `Count` and `Sum` buckets add (`0.0 + ...`); `Max` keeps the first
/// unless a later value compares greater.
pub mod fold {
    /// A bucket's new number after one more event (`None`: the bucket is new).
    pub fn bucket(max: bool, bucket: Option<f64>, value: f64) -> f64 {
        match (max, bucket) {
            (false, b) => b.unwrap_or(0.0) + value,
            (true, None) => value,
            (true, Some(m)) => greater(m, value),
        }
    }

    /// `m` unless `v > m`.
    pub fn greater(m: f64, v: f64) -> f64 {
        if v > m {
            v
        } else {
            m
        }
    }
}
