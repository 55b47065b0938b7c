//! The standard library. In: the `.pol` files of `stdlib/`, embedded in the binary, and
//! the Rust functions their `builtin fn` declarations name. Out: `SOURCES`, compiled with
//! every policy set as the `std.FILE` namespaces, and `NATIVES`, called by the backends.

use crate::value::Value;

/// A function of the standard library implemented in Rust, declared in a stdlib file as
/// `builtin fn NAME(params) -> T`. The checker takes the types from that declaration; the
/// arguments arrive with those types (strings as `Value::Str`, ...).
pub struct Native {
    /// `FILE.NAME`, e.g. `pii.luhn_valid` for `builtin fn luhn_valid` in `stdlib/pii.pol`.
    pub name: &'static str,
    /// An `Err` is a rule error with that message.
    pub f: fn(&[Value]) -> Result<Value, String>,
}

/// `(FILE, text)` for each `stdlib/FILE.pol`.
pub const SOURCES: &[(&str, &str)] = &[];

pub static NATIVES: &[Native] = &[];

/// The index in `NATIVES` of `FILE.NAME`.
pub fn native_index(name: &str) -> Option<u32> {
    NATIVES.iter().position(|n| n.name == name).map(|i| i as u32)
}
