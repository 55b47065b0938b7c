//! The words of a refusal, one wording wherever an agent meets Gavel (the MCP proxy, the
//! Claude Code hook). In: a decision as its JSON (PRODUCT.md §1: the caller's own decision,
//! or the one `gavel serve` answered). Out: the reason text the model (or its user) reads.

use serde_json::Value;

fn strings(v: &Value) -> impl Iterator<Item = &str> {
    v.as_array().into_iter().flatten().filter_map(Value::as_str)
}

fn list<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default()
}

/// REASON of a denial: the deciding rules' reasons joined by `; ` (a rule without `because`
/// gives its id). A rule that failed (and so denies by `on error`) did not find what its
/// `because` says: its error is given instead, and only when no rule gave a reason of its
/// own. With no deciding rule: the decision's errors, or the policy's default.
pub fn deny_reason(decision: &Value) -> String {
    let errors = list(decision, "errors");
    let failed = |id: &str| errors.iter().any(|e| e.get("kind").and_then(Value::as_str) == Some("rule") && e.get("rule").and_then(Value::as_str) == Some(id));
    let reason_of = |id: &str| {
        let rule = list(decision, "rules").iter().find(|r| r.get("id").and_then(Value::as_str) == Some(id));
        rule.and_then(|r| r.get("reason")).and_then(Value::as_str).unwrap_or(id).to_string()
    };
    let reasons: Vec<String> = strings(&decision["decided_by"]).filter(|id| !failed(id)).map(reason_of).collect();
    if !reasons.is_empty() {
        return reasons.join("; ");
    }
    let messages: Vec<String> = errors
        .iter()
        .map(|e| match (e.get("kind").and_then(Value::as_str), e.get("rule").and_then(Value::as_str)) {
            (Some("rule"), Some(rule)) => format!("rule `{rule}` failed: {}", e["message"].as_str().unwrap_or_default()),
            _ => e["message"].as_str().unwrap_or_default().to_string(),
        })
        .collect();
    if !messages.is_empty() {
        return messages.join("; ");
    }
    format!("no rule allows `{}` (the policy denies by default)", decision["tool"].as_str().unwrap_or_default())
}

/// The text of a `require_approval`: that approval is needed, from whom, why, and what to do.
/// `approval_id`: the pending approval in `gavel serve`, or `None` when the proxy has none
/// (`unavailable` then says why).
pub fn approval_text(decision: &Value, approval_id: Option<&str>, unavailable: &str) -> String {
    let approvals = list(decision, "approvals");
    let mut roles: Vec<&str> = Vec::new();
    for role in approvals.iter().flat_map(|a| strings(&a["approvers"])) {
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    let reasons: Vec<&str> = approvals.iter().map(|a| a["reason"].as_str().or(a["rule"].as_str()).unwrap_or_default()).collect();
    let from = if roles.is_empty() { "a reviewer".to_string() } else { roles.join(" or ") };
    let mut text = format!("approval required from {from}: {}", reasons.join("; "));
    match approval_id {
        Some(id) => text.push_str(&format!(". Approval id: {id}. Once it is approved, send the same call again")),
        None => text.push_str(&format!(". {unavailable}")),
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reasons_are_joined_and_an_unexplained_rule_gives_its_id() {
        let d = json!({"tool": "t", "decided_by": ["a", "b"], "rules": [{"id": "a", "reason": "too much"}, {"id": "b"}], "errors": []});
        assert_eq!(deny_reason(&d), "too much; b");
    }

    #[test]
    fn a_failed_rule_gives_its_error_and_no_rule_the_default() {
        let d = json!({"tool": "t", "decided_by": ["a"], "rules": [{"id": "a", "reason": "r"}], "errors": [{"kind": "rule", "rule": "a", "message": "boom"}]});
        assert_eq!(deny_reason(&d), "rule `a` failed: boom");
        assert_eq!(deny_reason(&json!({"tool": "t", "decided_by": []})), "no rule allows `t` (the policy denies by default)");
    }

    #[test]
    fn approval_text_names_the_roles_and_the_id() {
        let d =
            json!({"approvals": [{"rule": "big", "approvers": ["finance-lead"], "reason": "over 1000"}, {"rule": "x", "approvers": ["finance-lead", "cfo"]}]});
        assert_eq!(
            approval_text(&d, Some("01ab"), ""),
            "approval required from finance-lead or cfo: over 1000; x. Approval id: 01ab. Once it is approved, send the same call again"
        );
        assert_eq!(approval_text(&json!({"approvals": []}), None, "No service."), "approval required from a reviewer: . No service.");
    }
}
