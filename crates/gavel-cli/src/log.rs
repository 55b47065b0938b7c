//! `gavel log FILE...` (PRODUCT.md §4.2). In: decision logs (`gavel_log` records) and
//! filters (`--decision`, `--rule`, `--tool`, `--agent`, `--since`). Out: a summary of the
//! matching decisions by outcome, by rule, by tool and by agent, the approvals and their
//! turnaround, the reloads, and with `--list` each matching decision (text or JSON). Exit 0,
//! or 2 when a log cannot be read.

use crate::replay::tool_of;
use crate::{emit, Format};
use gavel::diagnostics::terminal::escape;
use gavel_log::{DecisionRecord, Record};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

#[derive(clap::Args)]
pub(crate) struct LogArgs {
    /// Decision log files, oldest first (`gavel-decisions*.jsonl` lists rotated files in order)
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Only decisions with this outcome
    #[arg(long, value_parser = ["allow", "deny", "require_approval"])]
    decision: Option<String>,
    /// Only decisions where this rule fired
    #[arg(long, value_name = "ID")]
    rule: Option<String>,
    /// Only calls of this tool
    #[arg(long)]
    tool: Option<String>,
    /// Only calls by this agent (`agent.id`)
    #[arg(long, value_name = "ID")]
    agent: Option<String>,
    /// Only records since a time: back from now (`90s`, `30m`, `24h`, `7d`) or RFC 3339
    #[arg(long, value_name = "WHEN", value_parser = parse_since)]
    since: Option<SystemTime>,
    /// Also list every matching decision
    #[arg(long)]
    list: bool,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

fn parse_since(text: &str) -> Result<SystemTime, String> {
    if let Some(t) = gavel_log::parse_time(text) {
        return Ok(t);
    }
    let unit = |s: &str| match s {
        "s" => Some(1),
        "m" => Some(60),
        "h" => Some(3600),
        "d" => Some(86_400),
        _ => None,
    };
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (n, u) = text.split_at(split);
    match (n.parse::<u64>(), unit(u)) {
        (Ok(n), Some(u)) => SystemTime::now().checked_sub(Duration::from_secs(n.saturating_mul(u))).ok_or_else(|| format!("`{text}` reaches before 1970")),
        _ => Err(format!("`{text}` is not a duration or a time: write `24h`, `30m`, `7d` or `2026-11-02T00:00:00Z`")),
    }
}

impl LogArgs {
    fn since_ok(&self, time: &str) -> bool {
        match self.since {
            None => true,
            Some(since) => gavel_log::parse_time(time).is_some_and(|t| t >= since),
        }
    }

    fn filters_decisions(&self) -> bool {
        self.decision.is_some() || self.rule.is_some() || self.tool.is_some() || self.agent.is_some()
    }

    fn matches(&self, d: &DecisionRecord) -> bool {
        self.since_ok(&d.time)
            && self.decision.as_ref().is_none_or(|want| &d.decision == want)
            && self.rule.as_ref().is_none_or(|r| d.fired.contains(r) || d.decided_by.contains(r))
            && self.tool.as_ref().is_none_or(|t| tool_of(&d.request).as_ref() == Some(t))
            && self.agent.as_ref().is_none_or(|a| agent_of(d).as_deref() == Some(a.as_str()))
    }
}

fn agent_of(d: &DecisionRecord) -> Option<String> {
    d.request.get("agent")?.get("id")?.as_str().map(str::to_string)
}

/// What happened to one approval, from its records.
#[derive(Default)]
struct ApprovalLife {
    created: Option<SystemTime>,
    /// approved or rejected, when.
    decided: Option<SystemTime>,
    consumed: Option<SystemTime>,
    ended: bool,
}

pub(crate) fn run(args: &LogArgs) -> u8 {
    let entries = match gavel_log::read_files(&args.files) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let decisions: Vec<&DecisionRecord> = entries
        .iter()
        .filter_map(|e| match &e.record {
            Record::Decision(d) if args.matches(d) => Some(d),
            _ => None,
        })
        .collect();
    let mut by_decision: BTreeMap<&str, u64> = ["allow", "deny", "require_approval"].into_iter().map(|o| (o, 0)).collect();
    let mut by_rule: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    let mut by_tool: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_agent: BTreeMap<String, u64> = BTreeMap::new();
    for d in &decisions {
        *by_decision.entry(&d.decision).or_insert(0) += 1;
        for r in &d.fired {
            by_rule.entry(r).or_default().0 += 1;
        }
        for r in &d.decided_by {
            by_rule.entry(r).or_default().1 += 1;
        }
        *by_tool.entry(tool_of(&d.request).unwrap_or_else(|| "?".into())).or_insert(0) += 1;
        *by_agent.entry(agent_of(d).unwrap_or_else(|| "?".into())).or_insert(0) += 1;
    }
    // With decision filters, the approvals of the matching decisions; else every approval.
    let linked: BTreeSet<&str> = decisions.iter().filter_map(|d| d.approval_id.as_deref()).collect();
    let mut by_action: BTreeMap<&str, u64> = BTreeMap::new();
    let mut lives: BTreeMap<&str, ApprovalLife> = BTreeMap::new();
    let (mut reloads_ok, mut reloads_failed) = (0u64, 0u64);
    for e in &entries {
        match &e.record {
            Record::Approval(a) if args.since_ok(&a.time) && (!args.filters_decisions() || linked.contains(a.approval_id.as_str())) => {
                *by_action.entry(&a.action).or_insert(0) += 1;
                let life = lives.entry(&a.approval_id).or_default();
                let at = gavel_log::parse_time(&a.time);
                match a.action.as_str() {
                    "created" => life.created = at,
                    "approved" | "rejected" => {
                        life.decided = at;
                        life.ended |= a.action == "rejected";
                    }
                    "consumed" => {
                        life.consumed = at;
                        life.ended = true;
                    }
                    _ => life.ended = true, // expired
                }
            }
            Record::Reload(r) if args.since_ok(&r.time) => {
                if r.ok {
                    reloads_ok += 1
                } else {
                    reloads_failed += 1
                }
            }
            _ => {}
        }
    }
    let pending = lives.values().filter(|l| l.created.is_some() && l.decided.is_none() && !l.ended).count();
    let to_decide = stats(lives.values().filter_map(|l| l.decided?.duration_since(l.created?).ok()).collect());
    let to_consume = stats(lives.values().filter_map(|l| l.consumed?.duration_since(l.created?).ok()).collect());
    let rules = ranked_rules(&by_rule);
    match args.format {
        Format::Json => {
            let mut out = json!({
                "decisions": decisions.len(),
                "by_decision": by_decision,
                "by_rule": rules.iter().map(|(r, (f, d))| json!({"rule": r, "fired": f, "decided": d})).collect::<Vec<_>>(),
                "by_tool": ranked(&by_tool).iter().map(|(t, n)| json!({"tool": t, "count": n})).collect::<Vec<_>>(),
                "by_agent": ranked(&by_agent).iter().map(|(a, n)| json!({"agent": a, "count": n})).collect::<Vec<_>>(),
                "approvals": {
                    "count": lives.len(), "by_action": by_action, "pending": pending,
                    "time_to_decide_s": to_decide.as_ref().map(Stats::json), "time_to_consume_s": to_consume.as_ref().map(Stats::json),
                },
                "reloads": {"ok": reloads_ok, "failed": reloads_failed},
            });
            if args.list {
                out["list"] = decisions.iter().map(|d| serde_json::to_value(d).unwrap_or(Value::Null)).collect();
            }
            emit(&(serde_json::to_string_pretty(&out).unwrap_or_default() + "\n"));
        }
        Format::Text => {
            let mut t = format!("{} decision{}", decisions.len(), if decisions.len() == 1 { "" } else { "s" });
            let files = args.files.len();
            t.push_str(&format!(" in {files} file{}\n", if files == 1 { "" } else { "s" }));
            let outcomes: Vec<String> = by_decision.iter().map(|(o, n)| format!("{} {n}", escape(o))).collect();
            t.push_str(&format!("by decision: {}\n", outcomes.join(", ")));
            if !rules.is_empty() {
                let width = rules.iter().map(|(r, _)| r.chars().count()).max().unwrap_or(0).max(4);
                t.push_str(&format!("by rule:\n  {:<width$} {:>8} {:>8}\n", "rule", "fired", "decided"));
                for (r, (f, d)) in &rules {
                    t.push_str(&format!("  {:<width$} {f:>8} {d:>8}\n", escape(r)));
                }
            }
            for (title, counts) in [("by tool", &by_tool), ("by agent", &by_agent)] {
                if !counts.is_empty() {
                    t.push_str(&format!("{title}:\n"));
                    for (name, n) in ranked(counts) {
                        t.push_str(&format!("  {:<40} {n:>8}\n", escape(name)));
                    }
                }
            }
            let actions: Vec<String> = by_action.iter().map(|(a, n)| format!("{n} {}", escape(a))).collect();
            if actions.is_empty() {
                t.push_str("approvals: none\n");
            } else {
                t.push_str(&format!("approvals: {}; {pending} pending\n", actions.join(", ")));
            }
            for (what, s) in [("time to approve or reject", &to_decide), ("time to consume", &to_consume)] {
                if let Some(s) = s {
                    t.push_str(&format!("  {what}: median {}, max {} ({} approvals)\n", human(s.median), human(s.max), s.count));
                }
            }
            if reloads_ok + reloads_failed > 0 {
                t.push_str(&format!("reloads: {reloads_ok} ok, {reloads_failed} failed\n"));
            }
            if args.list {
                for d in &decisions {
                    t.push_str(&format!(
                        "{}  {}  {}  {}  {}  [{}]\n",
                        escape(&d.decision_id),
                        escape(&d.time),
                        escape(&d.decision),
                        escape(&tool_of(&d.request).unwrap_or_else(|| "?".into())),
                        escape(&agent_of(d).unwrap_or_else(|| "?".into())),
                        escape(&d.decided_by.join(", "))
                    ));
                }
            }
            emit(&t);
        }
    }
    0
}

/// Most frequent first, then by name.
fn ranked(counts: &BTreeMap<String, u64>) -> Vec<(&str, u64)> {
    let mut v: Vec<(&str, u64)> = counts.iter().map(|(k, n)| (k.as_str(), *n)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    v
}

fn ranked_rules<'a>(counts: &BTreeMap<&'a str, (u64, u64)>) -> Vec<(&'a str, (u64, u64))> {
    let mut v: Vec<(&str, (u64, u64))> = counts.iter().map(|(k, n)| (*k, *n)).collect();
    v.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then(a.0.cmp(b.0)));
    v
}

struct Stats {
    count: usize,
    median: Duration,
    max: Duration,
}

impl Stats {
    fn json(&self) -> Value {
        json!({"count": self.count, "median": self.median.as_secs_f64(), "max": self.max.as_secs_f64()})
    }
}

fn stats(mut v: Vec<Duration>) -> Option<Stats> {
    v.sort();
    let max = *v.last()?;
    Some(Stats { count: v.len(), median: v[(v.len() - 1) / 2], max })
}

/// `2h 5m`, `3m 20s`, `12s`, `0.4s`.
fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => format!("{:.1}s", d.as_secs_f64()),
        1..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {}s", s / 60, s % 60),
        _ => format!("{}h {}m", s / 3600, s % 3600 / 60),
    }
}
