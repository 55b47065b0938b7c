//! The one description every engine's policy is generated from. In: a scenario (rule count,
//! tool count). Out: the rules as data (`RuleSpec`) and the requests as JSON bytes. `lib.rs`
//! writes these rules in Gavel, Cedar, Rego and CEL; `build.rs` writes them as the
//! hand-written Rust floor, so every engine evaluates the same rules.
//!
//! Shape: rule `i` is on tool `i % tools` and is that tool's `k = i / tools`-th rule. Each
//! tool's first rule is the headline rule (deny when `amount > 10000 and recipient.external`);
//! its later rules are near misses for the benchmark request (a country it does not have, a
//! memo text it does not contain, a limit it does not reach), so exactly one rule fires.

/// The tool the timed request calls.
pub const TOOL: &str = "payments.transfer";

/// A rule's condition. Every tool takes the same arguments:
/// `amount: number, currency: string, recipient: { id, external: bool, country }, memo: string`.
#[derive(Clone, Debug, PartialEq)]
pub enum Cond {
    /// `amount > limit and recipient.external`
    ExternalAbove(i64),
    /// `amount > limit and recipient.country == country`
    CountryAbove(i64, String),
    /// `memo` contains `text`
    MemoContains(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct RuleSpec {
    pub id: String,
    pub tool: String,
    pub cond: Cond,
}

#[derive(Clone, Copy, Debug)]
pub struct Scenario {
    /// Used in benchmark ids: `eval_<name>/cedar`.
    pub name: &'static str,
    pub rules: usize,
    pub tools: usize,
}

/// The scenarios of issue 4: one rule; 100 rules over 20 tools; 1,000 rules over 100 tools.
pub const SCENARIOS: [Scenario; 3] = [
    Scenario { name: "1_rule", rules: 1, tools: 1 },
    Scenario { name: "100_rules", rules: 100, tools: 20 },
    Scenario { name: "1000_rules", rules: 1000, tools: 100 },
];

/// Tool `t`'s name: tool 0 is `payments.transfer`, the others `svc001.call`, ...
pub fn tool_name(t: usize) -> String {
    if t == 0 {
        TOOL.to_string()
    } else {
        format!("svc{t:03}.call")
    }
}

impl Scenario {
    pub fn tool_names(&self) -> Vec<String> {
        (0..self.tools).map(tool_name).collect()
    }

    pub fn rules(&self) -> Vec<RuleSpec> {
        (0..self.rules)
            .map(|i| RuleSpec { id: format!("r{i}"), tool: tool_name(i % self.tools), cond: cond_for(i / self.tools) })
            .collect()
    }

    /// Requests whose answers every engine must agree on before anything is timed, with the
    /// rule ids that must fire (the timed request first).
    pub fn checks(&self) -> Vec<(Vec<u8>, Vec<String>)> {
        let last = self.tools - 1;
        vec![
            (request_json(TOOL, 25_000), vec!["r0".to_string()]),
            (request_json(TOOL, 5_000), vec![]),
            (request_json(&tool_name(last), 25_000), vec![format!("r{last}")]),
            (request_json("unknown.tool", 25_000), vec![]),
        ]
    }
}

/// Tool `k`-th rule's condition: the headline rule first, then near misses.
fn cond_for(k: usize) -> Cond {
    let k64 = k as i64;
    match k % 3 {
        _ if k == 0 => Cond::ExternalAbove(10_000),
        1 => Cond::CountryAbove(1_000 * k64, format!("X{k}")),
        2 => Cond::MemoContains(format!("sanctioned-{k}")),
        _ => Cond::ExternalAbove(100_000 * k64),
    }
}

/// An agent's tool call as Gavel's request envelope (PRODUCT.md): the arguments plus who
/// asks, for whom and where, which no rule here reads but every engine must get past.
pub fn request_json(tool: &str, amount: i64) -> Vec<u8> {
    format!(
        r#"{{"tool":"{tool}","args":{{"amount":{amount},"currency":"EUR","recipient":{{"id":"acct-9912","external":true,"country":"DE"}},"memo":"invoice 2026-118 for consulting"}},"agent":{{"id":"pay-agent-7","trust":"medium"}},"user":{{"id":"u-ana","role":"finance"}},"workspace":"acme-finance","environment":"prod","context":{{}}}}"#
    )
    .into_bytes()
}

/// The timed request: `payments.transfer` of 25,000 to an external recipient (denied by `r0`).
pub fn timed_request() -> Vec<u8> {
    request_json(TOOL, 25_000)
}
