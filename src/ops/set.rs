//! Membership in a constant list of strings, hashed once when the policy is compiled (`x in
//! DATA` over a reference-data list: `ir::ExprKind::InSet`, made by `ir::passes::hash_sets`).
//! In: the set, the item, and the decision's work `Meter`. Out: whether the item is one of
//! the strings, exactly as the scan of `list_contains` answers it (`Value` equality: a
//! string equals a string of the same bytes, anything else equals no string), charging the
//! item's bytes (hashing reads them once) instead of the list's length.

use super::fault::Fault;
use super::Meter;
use crate::value::Value;
use std::collections::HashSet;

/// A list is hashed from this many elements on; a shorter one is scanned (as fast, and its
/// cost stays the list's length).
pub const HASHED_FROM: usize = 8;

/// The strings of a constant list.
#[derive(Debug, Clone, Default)]
pub struct StringSet {
    items: HashSet<Box<str>>,
}

impl StringSet {
    /// The set of `items` when every one is a string and there are enough to hash; `None`
    /// otherwise (the list stays a scanned constant).
    pub fn of(items: &[Value]) -> Option<StringSet> {
        if items.len() < HASHED_FROM {
            return None;
        }
        let items = items.iter().map(|v| if let Value::Str(s) = v { Some(Box::from(s.as_str())) } else { None }).collect::<Option<_>>()?;
        Some(StringSet { items })
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Whether `item` is in the set: a string of the same bytes; an absent value, or any
    /// other, is in no list of strings.
    pub fn contains(&self, item: &Value, meter: &Meter) -> Result<bool, Fault> {
        match item {
            Value::Str(s) => {
                meter.charge(s.len() as u64)?;
                Ok(self.items.contains(s.as_str()))
            }
            _ => Ok(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn the_set_answers_what_the_scan_answers(
            items in proptest::collection::vec("[a-c]{0,3}", HASHED_FROM..40),
            probe in prop_oneof!["[a-c]{0,3}".prop_map(|s| Value::str(&s)), (-2.0f64..2.0).prop_map(Value::Num), Just(Value::Absent)],
        ) {
            let list: Vec<Value> = items.iter().map(|s| Value::str(s)).collect();
            let set = StringSet::of(&list).expect("all strings, long enough");
            let scan = crate::ops::builtins::find(crate::ops::builtins::Recv::List, "contains").map(|(b, _)| b).expect("list contains");
            let meter = Meter::new(u64::MAX);
            let want = crate::ops::builtins::call(scan, &[Value::List(list.into()), probe.clone()], &meter);
            prop_assert_eq!(want.ok(), Some(Value::Bool(set.contains(&probe, &meter).expect("budget"))));
        }
    }

    #[test]
    fn short_lists_and_lists_with_other_values_are_not_hashed() {
        let strings = |n: usize| (0..n).map(|i| Value::str(&i.to_string())).collect::<Vec<_>>();
        assert!(StringSet::of(&strings(HASHED_FROM - 1)).is_none());
        let mut mixed = strings(HASHED_FROM);
        mixed.push(Value::Num(1.0));
        assert!(StringSet::of(&mixed).is_none());
        assert_eq!(StringSet::of(&strings(HASHED_FROM)).map(|s| s.len()), Some(HASHED_FROM));
    }
}
