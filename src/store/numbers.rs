//! The buckets of a `count`, `sum` or `max` state, and how a range of them is read fast with
//! the bits of the in-order fold.
//!
//! In: events as (second, number) through [`Buckets::add`], pruning through
//! [`Buckets::prune`]; reads of a range `(lo, hi]` of seconds. Out: the range's sum (`count`
//! and `sum`: `0.0 + b1 + b2 + ...`, oldest first) or its max (`fold::greater`, oldest first),
//! exactly what folding the buckets in order gives (`store/mod.rs`, "Sums").
//!
//! Why it is fast and still exact: beside each bucket we keep running totals (from the first
//! bucket ever kept, wrapping) of the *small integer* buckets (an integer of magnitude at most
//! [`SMALL`] = 2^36) and a running count of the other buckets (fractions, large or infinite
//! numbers, NaN). A range of at most [`FAST_RANGE`] = 2^17 buckets that are all small integers
//! has every partial sum of the in-order fold within 2^17 · 2^36 = 2^53, so every addition of
//! the fold is exact and its result is the integer sum, which the difference of two running
//! totals gives (wrapping arithmetic is exact on a difference that fits). Every other range
//! folds bucket by bucket, as before. `+0.0` starts the fold and no exact sum of integers is
//! `-0.0`, so signed zeros agree too. `max` keeps the fold (over the short windows it is
//! used for that is a few buckets). Finding a range's ends looks at the front and the back
//! first, then gallops from the back, so a read near the newest second touches the tail only.

use std::collections::VecDeque;

use super::fold;

/// The largest magnitude of a bucket the running totals take.
pub(crate) const SMALL: f64 = (1u64 << 36) as f64;
/// The most buckets a range may span to be summed from the running totals.
pub(crate) const FAST_RANGE: usize = 1 << 17;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    at: i64,
    value: f64,
    /// Wrapping total of the small integer buckets up to and including this one.
    ints: i64,
    /// Wrapping count of the other buckets up to and including this one.
    others: u64,
}

/// (second, number) buckets sorted by second, with their running totals.
#[derive(Debug, Clone, Default)]
pub(crate) struct Buckets {
    items: VecDeque<Bucket>,
    /// The running totals before the front bucket (those of the last pruned one).
    base: (i64, u64),
}

/// The bucket's contribution to the running totals: (integer, 0) or (0, 1).
fn split(value: f64) -> (i64, u64) {
    // The magnitude first: NaN fails it, and the cast below is then exact for integers.
    if value.abs() <= SMALL && (value as i64) as f64 == value {
        (value as i64, 0)
    } else {
        (0, 1)
    }
}

impl Buckets {
    pub(crate) fn from_sorted(items: &[(i64, f64)]) -> Self {
        let mut buckets = Buckets { items: items.iter().map(|&(at, value)| Bucket { at, value, ints: 0, others: 0 }).collect(), base: (0, 0) };
        buckets.refresh(0);
        buckets
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (i64, f64)> + '_ {
        self.items.iter().map(|b| (b.at, b.value))
    }

    /// The running totals before bucket `i`.
    fn before(&self, i: usize) -> (i64, u64) {
        match i.checked_sub(1) {
            Some(j) => (self.items[j].ints, self.items[j].others),
            None => self.base,
        }
    }

    /// Recomputes the running totals from bucket `from` on (after it changed or was inserted).
    fn refresh(&mut self, from: usize) {
        let (mut ints, mut others) = self.before(from);
        for b in self.items.range_mut(from..) {
            let (i, o) = split(b.value);
            ints = ints.wrapping_add(i);
            others = others.wrapping_add(o);
            b.ints = ints;
            b.others = others;
        }
    }

    /// Forgets every bucket at or before `horizon`.
    pub(crate) fn prune(&mut self, horizon: i64) {
        while let Some(front) = self.items.front().filter(|b| b.at <= horizon) {
            self.base = (front.ints, front.others);
            self.items.pop_front();
        }
    }

    /// Adds one event's number to its second's bucket (`max`: keeps the greater); `false` when
    /// that needs a new bucket and the state already holds `max_buckets`.
    pub(crate) fn add(&mut self, max: bool, at: i64, number: f64, max_buckets: usize) -> bool {
        let i = first_after(&self.items, at - 1, |b| b.at); // exact: `at` is within ±2^52
        if let Some(b) = self.items.get_mut(i).filter(|b| b.at == at) {
            b.value = fold::bucket(max, Some(b.value), number);
        } else if self.items.len() >= max_buckets {
            return false;
        } else {
            self.items.insert(i, Bucket { at, value: fold::bucket(max, None, number), ints: 0, others: 0 });
        }
        self.refresh(i);
        true
    }

    /// The indices of the buckets with second in `(lo, hi]`.
    fn range(&self, lo: i64, hi: i64) -> (usize, usize) {
        let end = first_after(&self.items, hi, |b| b.at);
        let start = first_after(&self.items, lo, |b| b.at).min(end);
        (start, end)
    }

    /// `0.0 + b1 + b2 + ...` over the buckets with second in `(lo, hi]`, oldest first.
    pub(crate) fn sum(&self, lo: i64, hi: i64) -> f64 {
        let (start, end) = self.range(lo, hi);
        if start == end {
            return 0.0;
        }
        let (ints_before, others_before) = self.before(start);
        let last = &self.items[end - 1];
        if last.others.wrapping_sub(others_before) == 0 && end - start <= FAST_RANGE {
            // Exact: see the module header.
            return last.ints.wrapping_sub(ints_before) as f64;
        }
        self.fold_sum(start, end)
    }

    /// The in-order fold itself, which [`Buckets::sum`] must equal.
    fn fold_sum(&self, start: usize, end: usize) -> f64 {
        self.items.range(start..end).fold(0.0, |total, b| total + b.value)
    }

    /// The max over the buckets with second in `(lo, hi]` (`None` over nothing).
    pub(crate) fn max(&self, lo: i64, hi: i64) -> Option<f64> {
        let (start, end) = self.range(lo, hi);
        self.items.range(start..end).map(|b| b.value).reduce(fold::greater)
    }

    #[cfg(test)]
    pub(crate) fn folded_sum(&self, lo: i64, hi: i64) -> f64 {
        let (start, end) = self.range(lo, hi);
        self.fold_sum(start, end)
    }
}

/// The first index whose second (`at` of the item) is after `t`, in items sorted by second:
/// the front and the back first, then galloping from the back (reads and records are mostly
/// near the newest second), then a binary search in the last gallop step.
pub(crate) fn first_after<T>(items: &VecDeque<T>, t: i64, at: impl Fn(&T) -> i64) -> usize {
    let len = items.len();
    match (items.front(), items.back()) {
        (Some(front), Some(back)) if at(front) <= t && at(back) > t => {}
        (Some(front), _) if at(front) > t => return 0,
        _ => return len,
    }
    // Now at(items[0]) <= t < at(items[len - 1]): find the bracket (low, high] by galloping.
    let (mut high, mut step) = (len - 1, 1);
    let mut low = loop {
        let probe = high.saturating_sub(step);
        if at(&items[probe]) <= t {
            break probe;
        }
        high = probe;
        step *= 2;
    };
    // at(items[low]) <= t < at(items[high]).
    while high - low > 1 {
        let mid = low + (high - low) / 2;
        if at(&items[mid]) <= t {
            low = mid;
        } else {
            high = mid;
        }
    }
    high
}
