//! Run-time values to JSON: numbers as JSON writes them (`25000`, not `25000.0`), records
//! with their field names when the type is known.

use crate::types::Type;
use crate::value::Value;
use serde_json::{json, Map};

pub fn value_to_json(v: &Value, ty: Option<&Type>) -> serde_json::Value {
    let elem = |t: Option<&Type>| match t.map(Type::unwrap_optional) {
        Some(Type::List(e)) | Some(Type::Map(e)) => Some((**e).clone()),
        _ => None,
    };
    match v {
        Value::Absent => serde_json::Value::Null,
        Value::Bool(b) => json!(b),
        Value::Num(n) if matches!(ty.map(Type::unwrap_optional), Some(Type::Timestamp)) => timestamp(*n),
        Value::Num(n) => number(*n),
        Value::Str(s) => json!(&**s),
        Value::List(items) => {
            let e = elem(ty);
            serde_json::Value::Array(items.iter().map(|x| value_to_json(x, e.as_ref())).collect())
        }
        Value::Record(fields) => match ty.map(Type::unwrap_optional) {
            Some(Type::Record(rt)) => {
                let mut m = Map::new();
                for (f, x) in rt.fields.iter().zip(fields.iter()) {
                    if !x.is_absent() {
                        m.insert(f.name.clone(), value_to_json(x, Some(&f.ty)));
                    }
                }
                serde_json::Value::Object(m)
            }
            _ => serde_json::Value::Array(fields.iter().map(|x| value_to_json(x, None)).collect()),
        },
        Value::Map(m) => {
            let e = elem(ty);
            serde_json::Value::Object(m.iter().map(|(k, x)| (k.to_string(), value_to_json(x, e.as_ref()))).collect())
        }
    }
}

/// A timestamp as RFC 3339 (UTC), or the number of seconds when out of range.
fn timestamp(seconds: f64) -> serde_json::Value {
    let nanos = (seconds * 1e9) as i128;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .map_or_else(|| number(seconds), serde_json::Value::String)
}

fn number(n: f64) -> serde_json::Value {
    crate::value::json_number(n)
}
