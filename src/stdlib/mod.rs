//! The standard library. In: the `.pol` files of `stdlib/`, embedded in the binary, and
//! the Rust functions their `builtin fn` declarations name. Out: `SOURCES`, compiled with
//! every policy set as the `std.FILE` namespaces, and `NATIVES`, called by the backends.
//!
//! Most of the library is written in the policy language itself (regexes, string methods,
//! list quantifiers). Natives exist only for what the language cannot say: checksums
//! (Luhn, IBAN mod 97), scanners that must try several readings of the same digits, and IP
//! address parsing. Natives never fail on well-typed arguments; they are linear in their
//! input.

mod email;
mod net;
mod pii;

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
pub const SOURCES: &[(&str, &str)] = &[
    ("pii", include_str!("../../stdlib/pii.pol")),
    ("email", include_str!("../../stdlib/email.pol")),
    ("net", include_str!("../../stdlib/net.pol")),
    ("secrets", include_str!("../../stdlib/secrets.pol")),
];

#[rustfmt::skip]
pub static NATIVES: &[Native] = &[
    Native { name: "pii.luhn_valid", f: |a| str_to_bool(a, pii::luhn_valid) },
    Native { name: "pii.ssn_valid", f: |a| str_to_bool(a, pii::ssn_valid) },
    Native { name: "pii.iban_valid", f: |a| str_to_bool(a, pii::iban_valid) },
    Native { name: "pii.card_numbers", f: |a| str_to_list(a, pii::card_numbers) },
    Native { name: "pii.ibans", f: |a| str_to_list(a, pii::ibans) },
    Native { name: "email.address", f: |a| str_to_str(a, email::address) },
    Native { name: "net.is_ip", f: |a| str_to_bool(a, net::is_ip) },
    Native { name: "net.is_private_ip", f: |a| str_to_bool(a, net::is_private_ip) },
];

/// The index in `NATIVES` of `FILE.NAME`.
pub fn native_index(name: &str) -> Option<u32> {
    NATIVES
        .iter()
        .position(|n| n.name == name)
        .map(|i| i as u32)
}

/// The single string argument of a `(s: string)` native. The checker guarantees it; a
/// mismatch is reported as a rule error rather than a panic.
fn single_str(args: &[Value]) -> Result<&str, String> {
    match args {
        [Value::Str(s)] => Ok(s),
        _ => Err(format!(
            "internal error: expected one string argument, got {args:?}"
        )),
    }
}

fn str_to_bool(args: &[Value], f: fn(&str) -> bool) -> Result<Value, String> {
    single_str(args).map(|s| Value::Bool(f(s)))
}

fn str_to_str(args: &[Value], f: fn(&str) -> String) -> Result<Value, String> {
    single_str(args).map(|s| Value::Str(f(s).into()))
}

fn str_to_list(args: &[Value], f: fn(&str) -> Vec<String>) -> Result<Value, String> {
    let items = f(single_str(args)?);
    Ok(Value::List(
        items
            .into_iter()
            .map(|s| Value::Str(s.into()))
            .collect(),
    ))
}

#[cfg(test)]
mod tests;
