//! The per-decision work budget (`Limits::max_work`). In: the limit, and the charges both
//! backends make as they evaluate. Out: a fault naming the limit once a charge does not
//! fit, which ends the rule being evaluated as a rule error (fail closed).
//!
//! Units are counted from what the program does, not from how a backend does it, so the
//! interpreter and the JIT run out at the same expression with the same message:
//! - each quantifier iteration: 1 plus the nodes of its body (nested quantifiers' bodies
//!   are charged by their own iterations), see `ir::iteration_cost`;
//! - string builtins that scan a string (`len`, `lower`, `upper`, `trim`, `contains`/`in`,
//!   `split`, `before`, `after`, stdlib natives) and regexes: the bytes of that string;
//! - `+` on strings: the bytes of the result;
//! - `list.contains(x)` / `x in list`: the list's length; `intersects`, `subset_of`: the
//!   product of the two lengths.
//!
//! Everything else (arithmetic, comparisons, field and index reads, `starts_with`,
//! `ends_with`) is free: without loops or string scans, a rule's work is bounded by its
//! size, so checking the budget there would only slow the fast path.

use super::fault::{self, Fault};
use std::cell::Cell;

/// Units left of one budget. A `Cell`, so that the JIT's code can charge through a pointer
/// while its helpers charge through a shared reference.
#[derive(Debug)]
pub struct Meter {
    left: Cell<i64>,
    limit: u64,
}

impl Default for Meter {
    fn default() -> Meter {
        Meter::new(crate::limits::Limits::default().max_work as u64)
    }
}

impl Meter {
    pub fn new(limit: u64) -> Meter {
        Meter { left: Cell::new(i64::try_from(limit).unwrap_or(i64::MAX)), limit }
    }

    /// A full budget of `limit` again.
    pub fn reset(&mut self, limit: u64) {
        *self = Meter::new(limit);
    }

    /// Takes `units` from what is left; a fault once they do not fit (then nothing is left,
    /// so every later charge fails too). Charging nothing always succeeds.
    #[inline]
    pub fn charge(&self, units: u64) -> Result<(), Fault> {
        let left = self.left.get();
        match i64::try_from(units) {
            Ok(0) => Ok(()),
            Ok(u) if u <= left => {
                self.left.set(left - u);
                Ok(())
            }
            _ => Err(self.exhaust()),
        }
    }

    /// Empties the budget and gives the fault that says so.
    pub(crate) fn exhaust(&self) -> Fault {
        self.left.set(0);
        fault::out_of_work(self.limit)
    }

    /// Where the units left live, for generated code that charges inline.
    #[cfg(feature = "jit")]
    pub(crate) fn as_ptr(&self) -> *mut i64 {
        self.left.as_ptr()
    }
}
