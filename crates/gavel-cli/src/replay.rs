//! `gavel replay PATH... --log FILE...` (PRODUCT.md §4.2). In: a policy and decision logs
//! (`gavel_log` records). Out: each logged decision request decided again, in log order, with
//! fresh in-memory windows and the logged times as the clock; the decisions by outcome before
//! and after, and every decision whose outcome changes (text or JSON). Exit 0 when it ran
//! (changes are the answer, not a failure), 1 when the policy does not compile, 2 when a log
//! cannot be read.

use crate::{emit, EngineArg, Format, LoadArgs};
use gavel::diagnostics::terminal::escape;
use gavel::policy::{DecideOptions, Engine};
use gavel_log::{DecisionRecord, LogEntry, Record};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(clap::Args)]
pub(crate) struct ReplayArgs {
    /// The policy to replay with: `.pol` files or directories
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Decision log files, oldest first (`gavel-decisions*.jsonl` lists rotated files in order)
    #[arg(long, required = true, num_args = 1..)]
    log: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = EngineArg::Interp)]
    engine: EngineArg,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    #[command(flatten)]
    load: LoadArgs,
}

pub(crate) fn run(args: &ReplayArgs) -> u8 {
    let policy = match crate::load(&args.paths, Format::Text, &args.load) {
        Ok(p) => p,
        Err(code) => return code,
    };
    // A fresh engine: its windows are in memory and empty, filled by the replayed requests.
    let Some(engine) = crate::engine(&policy, args.engine.into()) else { return 2 };
    replay(&engine, &policy, &args.log, args.format)
}

/// A decide body (as logged) → the envelope the engine decides, or why it is not one: the
/// service's own request forms (`gavel_adapters`), so every form replays as it was decided.
fn normalize(body: &Value) -> Result<Vec<u8>, String> {
    let bytes = serde_json::to_vec(body).map_err(|e| e.to_string())?;
    gavel_adapters::normalize(&bytes).map(|n| n.envelope).map_err(|e| e.to_string())
}

/// The tool a logged request calls, through the same normalization as the service.
pub(crate) fn tool_of(request: &Value) -> Option<String> {
    let envelope: Value = serde_json::from_slice(&normalize(request).ok()?).ok()?;
    envelope.get("tool")?.as_str().map(str::to_string)
}

/// One logged decision and its replay.
struct Replayed<'a> {
    logged: &'a DecisionRecord,
    outcome: String,
    decided_by: Vec<String>,
}

fn replay(engine: &Engine, policy: &gavel::policy::Policy, logs: &[PathBuf], format: Format) -> u8 {
    let entries = match gavel_log::read_files(logs) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let replayed: Vec<Replayed> = entries.iter().filter_map(|e| decision_of(e)).map(|d| decide(engine, d)).collect();
    let mut before = BTreeMap::new();
    let mut after = BTreeMap::new();
    for r in &replayed {
        *before.entry(r.logged.decision.as_str()).or_insert(0u64) += 1;
        *after.entry(r.outcome.as_str()).or_insert(0u64) += 1;
    }
    let changed: Vec<&Replayed> = replayed.iter().filter(|r| r.outcome != r.logged.decision).collect();
    let info = policy.policy_ref();
    match format {
        Format::Json => {
            let changes: Vec<Value> = changed
                .iter()
                .map(|r| {
                    json!({
                        "decision_id": r.logged.decision_id, "time": r.logged.time, "tool": tool_of(&r.logged.request),
                        "before": r.logged.decision, "after": r.outcome,
                        "decided_by_before": r.logged.decided_by, "decided_by_after": r.decided_by,
                    })
                })
                .collect();
            let out = json!({
                "policy": info,
                "replayed": replayed.len(), "before": before, "after": after, "changed": changes,
            });
            emit(&(serde_json::to_string_pretty(&out).unwrap_or_default() + "\n"));
        }
        Format::Text => {
            let mut t = format!("replayed {} decisions with policy `{}` version \"{}\" ({})\n", replayed.len(), info.name, info.version, info.digest);
            t.push_str(&format!("{:<18} {:>8} {:>8}\n", "decision", "before", "after"));
            for outcome in ["allow", "deny", "require_approval"] {
                t.push_str(&format!("{outcome:<18} {:>8} {:>8}\n", before.get(outcome).unwrap_or(&0), after.get(outcome).unwrap_or(&0)));
            }
            t.push_str(&format!(
                "{} decision{} change{}\n",
                changed.len(),
                if changed.len() == 1 { "" } else { "s" },
                if changed.is_empty() { "" } else { ":" }
            ));
            for r in &changed {
                t.push_str(&format!(
                    "  {}  {}  {}  {} -> {}  (decided by [{}] -> [{}])\n",
                    escape(&r.logged.decision_id),
                    escape(&r.logged.time),
                    escape(&tool_of(&r.logged.request).unwrap_or_else(|| "?".into())),
                    escape(&r.logged.decision),
                    r.outcome,
                    escape(&r.logged.decided_by.join(", ")),
                    r.decided_by.join(", ")
                ));
            }
            emit(&t);
        }
    }
    0
}

fn decision_of(e: &LogEntry) -> Option<&DecisionRecord> {
    match &e.record {
        Record::Decision(d) => Some(d),
        _ => None,
    }
}

/// Decides a logged request again at its logged time.
fn decide<'a>(engine: &Engine, logged: &'a DecisionRecord) -> Replayed<'a> {
    let envelope = match normalize(&logged.request) {
        Ok(e) => e,
        // The service answers an input error `deny`; so does the replay.
        Err(_) => return Replayed { logged, outcome: "deny".into(), decided_by: vec![] },
    };
    let options = DecideOptions { explain: false, now: gavel_log::parse_time(&logged.time) };
    let d = engine.decide_with(&envelope, options);
    let mut outcome = d.decision.as_str().to_string();
    // A retry the service allowed by consuming a granted approval: the approval is taken to
    // stand as long as the policy still asks for one (the replay has no approval store).
    let consumed = logged.approval_id.is_some() && logged.request.get("approval_id").is_some() && logged.decision == "allow";
    if consumed && outcome == "require_approval" {
        outcome = "allow".into();
    }
    Replayed { logged, outcome, decided_by: d.decided_by }
}
