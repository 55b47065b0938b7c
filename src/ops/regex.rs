//! Regex operations. In: the subject value, the compiled regex (from `Program::regexes`)
//! and the work `Meter`. Out: the subject's text with its bytes charged (what both
//! backends charge for a regex), and the matches.

use super::fault::{self, Fault};
use super::Meter;
use crate::value::Value;

/// The text a regex runs on, its bytes charged to `meter`.
pub(crate) fn subject<'v>(v: &'v Value, meter: &Meter) -> Result<&'v str, Fault> {
    match v {
        Value::Str(s) => {
            meter.charge(s.len() as u64)?;
            Ok(s)
        }
        other => Err(fault::cannot_match(other)),
    }
}

/// `s.find_all(re)`: every match, in order.
pub(crate) fn find_all(re: &regex::Regex, s: &str) -> Value {
    Value::List(re.find_iter(s).map(|m| Value::str(m.as_str())).collect())
}
