//! Expected-token lists in user words. In: LALRPOP's expected terminals (quoted grammar
//! names such as `"\"when\""` or `"\"IDENT\""`). Out: short phrases for a diagnostic's
//! `help`, already formatted ("`)`", "an expression", ...); long lists are summarised.

/// Every keyword: where all of them are expected, a name (keywords allowed) is.
const KEYWORDS: &[&str] = &[
    "policy", "version", "default", "on", "error", "type", "tool", "request", "let", "fn", "builtin", "rule", "when", "because", "deny", "allow", "warn",
    "require", "approval", "from", "redact", "set", "if", "then", "else", "and", "or", "not", "in", "has", "true", "false", "fixture", "test", "expect", "by",
    "with", "null", "data", "window", "over", "windows", "matching",
];
/// Tokens that can start an expression.
/// (`deny` and `allow` are outcomes a window's `when` compares with.)
const EXPR_START: &[&str] = &["IDENT", "NUM", "DUR", "STR", "true", "false", "(", "[", "-", "not", "has", "if", "tool", "deny", "allow"];
/// Tokens that can start a top-level item.
const ITEM_START: &[&str] = &[
    "policy", "version", "default", "type", "tool", "request", "let", "fn", "builtin", "rule", "@", "on", "deny", "allow", "warn", "require", "redact", "set",
    "fixture", "test",
];
/// Tokens that can start an item inside `on X { }`.
const BLOCK_START: &[&str] = &["let", "rule", "@", "on", "deny", "allow", "warn", "require", "redact", "set"];
const EFFECT_START: &[&str] = &["deny", "allow", "warn", "require", "redact", "set"];
/// Tokens that can continue a complete expression.
const OPERATORS: &[&str] = &["==", "!=", "<", "<=", ">", ">=", "in", "not", "??", "+", "-", "*", "/", "%", ".", "[", "and", "or"];

/// Summarises LALRPOP's expected list into at most a handful of phrases.
pub fn describe_expected(expected: &[String]) -> Vec<String> {
    let mut left: Vec<String> = expected.iter().map(|e| e.trim_matches('"').to_string()).collect();
    let has = |left: &[String], t: &str| left.iter().any(|e| e == t);
    // Groups that replace the tokens they stand for; `item` is kept for last because "the
    // next item" reads best at the end of the list.
    let mut groups = Vec::new();
    let mut item = None;

    if has(&left, "IDENT") && has(&left, "null") && has(&left, "by") {
        take_group(&mut left, KEYWORDS);
        take_group(&mut left, &["IDENT"]);
        groups.push("a name");
    }
    if has(&left, "fixture") && has(&left, "policy") {
        take_group(&mut left, ITEM_START);
        item = Some(("a rule, a declaration or a test", "the next item"));
    } else if has(&left, "rule") && has(&left, "let") && has(&left, "deny") {
        take_group(&mut left, BLOCK_START);
        item = Some(("a rule or a `let`", "the next rule"));
    } else if EFFECT_START.iter().all(|t| has(&left, t)) {
        take_group(&mut left, EFFECT_START);
        groups.push("an effect (`deny`, `allow`, `warn`, `require approval`, `redact` or `set`)");
    }
    if has(&left, "NUM") && has(&left, "(") && has(&left, "IDENT") {
        take_group(&mut left, EXPR_START);
        groups.push("an expression");
    }
    if OPERATORS.iter().filter(|t| has(&left, t)).count() >= 5 {
        take_group(&mut left, OPERATORS);
        groups.push("an operator");
    }
    let mut out: Vec<String> = left.iter().map(|t| phrase(t)).collect();
    out.extend(groups.iter().map(|g| g.to_string()));
    if let Some((alone, among_others)) = item {
        out.push(if out.is_empty() { alone } else { among_others }.to_string());
    }
    out
}

fn take_group(left: &mut Vec<String>, group: &[&str]) {
    left.retain(|t| !group.contains(&t.as_str()));
}

/// One terminal in user words.
fn phrase(terminal: &str) -> String {
    match terminal {
        "IDENT" => "a name".to_string(),
        "NUM" => "a number".to_string(),
        "DUR" => "a duration".to_string(),
        "STR" => "a string".to_string(),
        other => format!("`{other}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quoted(ts: &[&str]) -> Vec<String> {
        ts.iter().map(|t| format!("\"{t}\"")).collect()
    }

    #[test]
    fn expression_starts_are_summarised() {
        let mut ts = EXPR_START.to_vec();
        ts.push(")");
        assert_eq!(describe_expected(&quoted(&ts)), vec!["`)`", "an expression"]);
    }

    #[test]
    fn short_lists_are_kept() {
        assert_eq!(describe_expected(&quoted(&["IDENT", ":"])), vec!["a name", "`:`"]);
    }
}
