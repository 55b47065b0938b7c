//! The standard library. In: the `.pol` files of `stdlib/`, embedded in the binary, and
//! the Rust functions their `builtin fn` declarations name. Out: `SOURCES`, compiled with
//! every policy set as the `std.FILE` namespaces, and `NATIVES`, called by the backends.
//!
//! Most of the library is written in the policy language itself (regexes, string methods,
//! list quantifiers). Natives exist only for what the language cannot say: checksums
//! (Luhn, IBAN mod 97), scanners that must try several readings of the same digits, and IP
//! address parsing, the one-address reading of email text, and the shell command-line
//! reader of `std.shell`. Natives never fail on well-typed arguments, except that the
//! `std.shell` functions reading a command line fail on one that cannot be split (so that
//! it is a rule error, never a harmless-looking answer); they are linear in their input.

mod email;
mod net;
mod pii;
mod shell;

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
    ("shell", include_str!("../../stdlib/shell.pol")),
];

/// The `builtin fn`s of the standard library, by name: the Rust that implements each (a
/// test checks every `builtin fn` declared in `stdlib/*.pol` has one, and every entry a
/// declaration).
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
    Native { name: "shell.parses", f: |a| str_to_bool(a, shell::parses) },
    Native { name: "shell.words", f: |a| parsed(a, |p| strings(&p.words)) },
    Native { name: "shell.commands", f: |a| parsed(a, |p| Value::List(p.commands.iter().map(|c| strings(c)).collect())) },
    Native { name: "shell.pipes_into", f: shell_pipes_into },
    Native { name: "shell.flags", f: |a| list_to_list(a, shell::flags) },
    Native { name: "shell.operands", f: |a| list_to_list(a, shell::operands) },
    Native { name: "shell.normalize_path", f: |a| str_to_str(a, shell::normalize_path) },
];

/// The index in `NATIVES` of `FILE.NAME`.
pub fn native_index(name: &str) -> Option<u32> {
    NATIVES.iter().position(|n| n.name == name).map(|i| i as u32)
}

/// The single string argument of a `(s: string)` native. The checker guarantees it; a
/// mismatch is reported as a rule error rather than a panic.
fn single_str(args: &[Value]) -> Result<&str, String> {
    match args {
        [Value::Str(s)] => Ok(s),
        _ => Err(format!("internal error: expected one string argument, got {args:?}")),
    }
}

fn str_to_bool(args: &[Value], f: fn(&str) -> bool) -> Result<Value, String> {
    single_str(args).map(|s| Value::Bool(f(s)))
}

fn str_to_str(args: &[Value], f: fn(&str) -> String) -> Result<Value, String> {
    single_str(args).map(|s| Value::Str(f(s).into()))
}

fn strings(items: &[String]) -> Value {
    Value::List(items.iter().map(|s| Value::str(s)).collect())
}

/// The elements of a `list<string>` argument.
fn str_items(v: &Value) -> Result<Vec<&str>, String> {
    match v {
        Value::List(items) => items
            .iter()
            .map(|i| match i {
                Value::Str(s) => Ok(s.as_str()),
                other => Err(format!("internal error: expected a string, got {other:?}")),
            })
            .collect(),
        other => Err(format!("internal error: expected a list of strings, got {other:?}")),
    }
}

/// A `(cmd: string)` native over the parsed command line; a line that cannot be split is
/// an error (a rule error: deny rules fire), never a harmless-looking result.
fn parsed(args: &[Value], f: fn(&shell::Parsed) -> Value) -> Result<Value, String> {
    let p = shell::parse(single_str(args)?).map_err(|e| e.to_string())?;
    Ok(f(&p))
}

fn shell_pipes_into(args: &[Value]) -> Result<Value, String> {
    let [Value::Str(cmd), from, to] = args else {
        return Err(format!("internal error: expected a string and two lists, got {args:?}"));
    };
    let p = shell::parse(cmd).map_err(|e| e.to_string())?;
    Ok(Value::Bool(p.pipes_into(&str_items(from)?, &str_items(to)?)))
}

fn list_to_list(args: &[Value], f: fn(&[&str]) -> Vec<String>) -> Result<Value, String> {
    match args {
        [v] => Ok(strings(&f(&str_items(v)?))),
        _ => Err(format!("internal error: expected one list argument, got {args:?}")),
    }
}

fn str_to_list(args: &[Value], f: fn(&str) -> Vec<String>) -> Result<Value, String> {
    let items = f(single_str(args)?);
    Ok(Value::List(items.into_iter().map(|s| Value::Str(s.into())).collect()))
}

#[cfg(test)]
mod tests;
