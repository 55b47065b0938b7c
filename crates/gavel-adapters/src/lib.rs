//! Placeholder: filled in by the branch that builds this crate.
