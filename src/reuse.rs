//! Per-thread working memory, lent in place. In: a thread-local `RefCell<T>`. Out: `&mut T`
//! for the duration of a closure, so decisions reuse their buffers (no allocation once warm)
//! without moving them in and out of the thread-local on every request.

use std::cell::RefCell;
use std::thread::LocalKey;

/// Runs `f` with this thread's `T` from `key`; with a fresh `T` when it is already lent
/// (a decision made from inside `f` on the same thread) or the thread is shutting down.
#[inline(always)] // keeps `f`'s captures in registers on the decision path
pub fn with_reused<T: Default, R>(key: &'static LocalKey<RefCell<T>>, f: impl FnOnce(&mut T) -> R) -> R {
    let mut f = Some(f);
    let lent = key.try_with(|cell| cell.try_borrow_mut().ok().map(|mut t| f.take().map(|f| f(&mut t))));
    match (lent, f) {
        (Ok(Some(Some(out))), _) => out,
        (_, Some(f)) => f(&mut T::default()),
        // INVARIANT: `f` is taken only to run it, and then its result is `Ok(Some(Some(_)))`.
        (_, None) => unreachable!("`f` ran but its result was lost"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        static COUNTER: RefCell<Vec<u32>> = const { RefCell::new(Vec::new()) };
    }

    #[test]
    fn the_same_value_is_lent_again_and_a_nested_use_gets_a_fresh_one() {
        with_reused(&COUNTER, |v| v.push(1));
        let nested = with_reused(&COUNTER, |outer| {
            outer.push(2);
            with_reused(&COUNTER, |inner| inner.len())
        });
        assert_eq!(nested, 0);
        assert_eq!(with_reused(&COUNTER, |v| v.clone()), vec![1, 2]);
    }
}
