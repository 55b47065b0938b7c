//! Masking before logging. In: a request body's arguments and the decision JSON (PRODUCT.md
//! §1) made for it. Out: the arguments with every value a `redact` rewrote replaced by the
//! rewritten value (`"[REDACTED]"`), so the log never holds what the policy hid.

use serde_json::Value;

/// Masks, in a request body's arguments, every value a `redact` modification of `decision`
/// rewrote: each `modifications[i]` with `op == "redact"` has a `path` like
/// `args.card.number`; the value at that path under `args` in `args_of_body` is replaced by
/// the modified value at that path in `decision["args"]`. A path that is not in the body
/// (an optional argument left out) changes nothing; a path into the body whose modified value
/// is missing (it should not be) masks with `"[REDACTED]"` all the same, so a value meant to
/// be hidden is never logged.
pub fn mask_redacted(args_of_body: &mut Value, decision: &Value) {
    let Some(mods) = decision.get("modifications").and_then(Value::as_array) else { return };
    for m in mods {
        if m.get("op").and_then(Value::as_str) != Some("redact") {
            continue;
        }
        let Some(path) = m.get("path").and_then(Value::as_str) else { continue };
        let steps = steps(path.strip_prefix("args.").unwrap_or(path));
        let masked = lookup(decision.get("args"), &steps).cloned().unwrap_or_else(|| Value::String("[REDACTED]".into()));
        if let Some(slot) = lookup_mut(args_of_body, &steps) {
            *slot = masked;
        }
    }
}

/// One step of a path: a member name or a list index.
#[derive(Debug, PartialEq)]
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// `card.number`, `items[2].memo` → its steps (the path syntax of PRODUCT.md §1).
fn steps(path: &str) -> Vec<Step<'_>> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (key, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            out.push(Step::Key(key));
        }
        while let Some(close) = rest.strip_prefix('[').and_then(|r| r.find(']')) {
            match rest[1..=close].parse() {
                Ok(i) => out.push(Step::Index(i)),
                // Not an index after all: a member whose name holds brackets.
                Err(_) => out.push(Step::Key(&rest[..close + 2])),
            }
            rest = &rest[close + 2..];
        }
    }
    out
}

fn lookup<'v>(mut v: Option<&'v Value>, steps: &[Step]) -> Option<&'v Value> {
    for s in steps {
        v = match s {
            Step::Key(k) => v?.get(*k),
            Step::Index(i) => v?.get(*i),
        };
    }
    v
}

fn lookup_mut<'v>(mut v: &'v mut Value, steps: &[Step]) -> Option<&'v mut Value> {
    for s in steps {
        v = match s {
            Step::Key(k) => v.get_mut(*k)?,
            Step::Index(i) => v.get_mut(*i)?,
        };
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_redacted_value_is_masked_and_the_rest_kept() {
        let mut args = json!({"card": {"number": "4111 1111", "name": "Ada"}, "memo": "ssn 123-45-6789", "amount": 5});
        let decision = json!({
            "decision": "allow",
            "modifications": [
                {"rule": "card", "path": "args.card.number", "op": "redact"},
                {"rule": "cap", "path": "args.amount", "op": "set"},
                {"rule": "pii", "path": "args.memo", "op": "redact"}
            ],
            "args": {"card": {"number": "[REDACTED]", "name": "Ada"}, "memo": "[REDACTED]", "amount": 3}
        });
        mask_redacted(&mut args, &decision);
        // `set` is not masking: the logged request keeps what the agent asked.
        assert_eq!(args, json!({"card": {"number": "[REDACTED]", "name": "Ada"}, "memo": "[REDACTED]", "amount": 5}));
    }

    #[test]
    fn no_modifications_changes_nothing() {
        let mut args = json!({"memo": "x"});
        mask_redacted(&mut args, &json!({"decision": "deny", "modifications": [], "args": null}));
        mask_redacted(&mut args, &json!({}));
        assert_eq!(args, json!({"memo": "x"}));
    }

    #[test]
    fn a_path_missing_from_the_body_changes_nothing_and_a_missing_modified_value_still_masks() {
        let mut args = json!({"a": "secret"});
        let decision = json!({"modifications": [
            {"rule": "r", "path": "args.absent", "op": "redact"},
            {"rule": "r", "path": "args.a", "op": "redact"}
        ], "args": {}});
        mask_redacted(&mut args, &decision);
        assert_eq!(args, json!({"a": "[REDACTED]"}));
    }

    #[test]
    fn indexes_are_followed() {
        let mut args = json!({"items": [{"memo": "a"}, {"memo": "b"}]});
        let decision = json!({"modifications": [{"rule": "r", "path": "args.items[1].memo", "op": "redact"}],
                              "args": {"items": [{"memo": "a"}, {"memo": "[REDACTED]"}]}});
        mask_redacted(&mut args, &decision);
        assert_eq!(args, json!({"items": [{"memo": "a"}, {"memo": "[REDACTED]"}]}));
        assert_eq!(steps("x[0][12].y"), vec![Step::Key("x"), Step::Index(0), Step::Index(12), Step::Key("y")]);
    }
}
