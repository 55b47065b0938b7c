//! `gavel log` and `gavel replay` on a decision log written by `gavel_log`'s writer, with
//! decisions made by the payments example: the summaries and filters count what is there,
//! and a replay with a raised threshold reports exactly the decisions that change.

use gavel::policy::{Backend, Policy};
use gavel_log::{ApprovalRecord, DecisionLog, DecisionRecord, LogOptions, Record, ReloadRecord};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

fn gavel(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gavel")).args(args).current_dir(ROOT).output().expect("gavel runs")
}

fn json_of(out: &Output) -> Value {
    assert_eq!(out.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

/// The payments policy, with `external_cap` set to `cap`, in `dir`.
fn policy_with_cap(dir: &Path, cap: &str) -> PathBuf {
    let source = std::fs::read_to_string(Path::new(ROOT).join("examples/payments/policy.pol")).unwrap();
    assert!(source.contains("let external_cap = 10_000"));
    let path = dir.join(format!("cap-{cap}.pol"));
    std::fs::write(&path, source.replace("let external_cap = 10_000", &format!("let external_cap = {cap}"))).unwrap();
    path
}

/// An external transfer of `amount` by `agent`.
fn transfer(amount: u64, agent: &str) -> Value {
    json!({
        "tool": "payments.transfer",
        "agent": {"id": agent, "trust": "medium"},
        "user": {"id": "u-ana", "role": "clerk", "mfa": true},
        "workspace": "acme-finance", "environment": "prod", "context": {},
        "time": "2026-03-10T15:20:00Z",
        "args": {"amount": amount, "currency": "USD", "payee": {"id": "p-311", "name": "Harbor", "external": true, "country": "US"}}
    })
}

/// The same call as an Anthropic `tool_use` block, the form the service may have logged it in.
fn anthropic_form(envelope: &Value) -> Value {
    let mut body = envelope.clone();
    let fields = body.as_object_mut().unwrap();
    let (_, args) = (fields.remove("tool"), fields.remove("args").unwrap());
    fields.insert("anthropic".into(), json!({"type": "tool_use", "id": "toolu_01", "name": "payments__transfer", "input": args}));
    body
}

const AMOUNTS: [u64; 5] = [500, 5_000, 12_000, 15_000, 25_000];

fn at(t: SystemTime) -> String {
    gavel_log::timestamp(t)
}

/// Writes the log: the five transfers (d3 in the Anthropic form) decided by the policy as shipped (cap 10000), the
/// first two an old day, the rest an hour ago; an approval created, approved and consumed,
/// one created and left pending; a reload. `max_bytes` small enough to rotate once.
fn write_log(dir: &Path) -> Vec<PathBuf> {
    let policy = Policy::from_paths(&[policy_with_cap(dir, "10_000")]).unwrap();
    let engine = policy.engine(Backend::Interpreter).unwrap();
    let path = dir.join("gavel-decisions.jsonl");
    let log = DecisionLog::open(&path, LogOptions { max_bytes: 2048, ..LogOptions::default() }).unwrap();
    let old = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let recent = SystemTime::now() - Duration::from_secs(3600);
    for (i, amount) in AMOUNTS.into_iter().enumerate() {
        let request = transfer(amount, if i == 4 { "other-agent" } else { "pay-agent-1" });
        let d = engine.decide_json(&serde_json::to_vec(&request).unwrap()).unwrap();
        let approval_id = d.needs_approval().then(|| format!("ap{i}"));
        log.append(&Record::Decision(DecisionRecord {
            decision_id: format!("d{i}"),
            time: at(if i < 2 { old } else { recent }),
            policy: json!({"name": "payments"}),
            // d3 was logged as it came: in the Anthropic form; replay decides it the same.
            request: if i == 3 { anthropic_form(&request) } else { request },
            decision: d.decision.as_str().into(),
            decided_by: d.decided_by.clone(),
            fired: d.rules.iter().map(|r| r.id.clone()).collect(),
            approval_id: approval_id.clone(),
            latency_us: 3,
        }))
        .unwrap();
    }
    let approval = |id: &str, action: &str, t: SystemTime| {
        Record::Approval(ApprovalRecord { approval_id: id.into(), action: action.into(), by: Some("lead".into()), comment: None, time: at(t) })
    };
    log.append(&approval("ap1", "created", old)).unwrap();
    log.append(&approval("ap1", "approved", old + Duration::from_secs(120))).unwrap();
    log.append(&approval("ap1", "consumed", old + Duration::from_secs(180))).unwrap();
    log.append(&approval("ap9", "created", recent)).unwrap();
    log.append(&Record::Reload(ReloadRecord { ok: true, digest: Some("sha256:1".into()), error: None, time: at(recent) })).unwrap();
    drop(log);
    let files = [gavel_log::rotated_files(&path).unwrap(), vec![path]].concat();
    assert!(files.len() >= 2, "the log rotated: {files:?}");
    files
}

fn strings(files: &[PathBuf]) -> Vec<String> {
    files.iter().map(|f| f.display().to_string()).collect()
}

#[test]
fn replay_with_a_raised_cap_shows_exactly_the_changed_decisions() {
    let dir = tempfile::tempdir().unwrap();
    let files = strings(&write_log(dir.path()));
    let replay = |cap: &str, format: &str| {
        let policy = policy_with_cap(dir.path(), cap).display().to_string();
        let mut args = vec!["replay", policy.as_str(), "--log"];
        args.extend(files.iter().map(String::as_str));
        args.extend(["--format", format]);
        gavel(&args)
    };
    // The same policy decides every logged request as it was decided.
    let same = json_of(&replay("10_000", "json"));
    assert_eq!(same["replayed"], 5);
    assert_eq!(same["changed"], json!([]));
    assert_eq!(same["before"], json!({"allow": 1, "deny": 3, "require_approval": 1}));

    let raised = json_of(&replay("20_000", "json"));
    assert_eq!(raised["before"], json!({"allow": 1, "deny": 3, "require_approval": 1}));
    assert_eq!(raised["after"], json!({"allow": 1, "deny": 1, "require_approval": 3}));
    let changed: Vec<(&str, &str, &str)> = raised["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["decision_id"].as_str().unwrap(), c["before"].as_str().unwrap(), c["after"].as_str().unwrap()))
        .collect();
    assert_eq!(changed, [("d2", "deny", "require_approval"), ("d3", "deny", "require_approval")]);
    assert_eq!(raised["changed"][0]["decided_by_before"], json!(["large_external_transfer"]));
    assert_eq!(raised["changed"][0]["decided_by_after"], json!(["treasurer_sign_off"]));
    assert_eq!(raised["changed"][0]["tool"], "payments.transfer");

    let text = replay("20_000", "text");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("2 decisions change:"), "{text}");
    assert!(text.contains("d3  ") && text.contains("deny -> require_approval  (decided by [large_external_transfer] -> [treasurer_sign_off])"), "{text}");
}

#[test]
fn replay_of_an_unreadable_log_names_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"type\":\"reload\",\"ok\":true,\"time\":\"t\"}\nnot json\n{}\n").unwrap();
    let out = gavel(&["replay", "examples/payments", "--log", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("`{}` line 2", bad.display())), "{err}");
    let out = gavel(&["log", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn log_summarises_and_filters() {
    let dir = tempfile::tempdir().unwrap();
    let files = strings(&write_log(dir.path()));
    let log = |extra: &[&str]| {
        let mut args = vec!["log"];
        args.extend(files.iter().map(String::as_str));
        args.extend(extra);
        args.extend(["--format", "json"]);
        json_of(&gavel(&args))
    };
    let all = log(&[]);
    assert_eq!(all["decisions"], 5);
    assert_eq!(all["by_decision"], json!({"allow": 1, "deny": 3, "require_approval": 1}));
    assert_eq!(all["by_tool"], json!([{"tool": "payments.transfer", "count": 5}]));
    assert_eq!(all["by_agent"], json!([{"agent": "pay-agent-1", "count": 4}, {"agent": "other-agent", "count": 1}]));
    let rule = |v: &Value, id: &str| v["by_rule"].as_array().unwrap().iter().find(|r| r["rule"] == id).cloned();
    assert_eq!(rule(&all, "large_external_transfer"), Some(json!({"rule": "large_external_transfer", "fired": 3, "decided": 3})));
    // It fires for every amount above 2500, but decides only where no deny does.
    assert_eq!(rule(&all, "treasurer_sign_off"), Some(json!({"rule": "treasurer_sign_off", "fired": 4, "decided": 1})));
    assert_eq!(all["approvals"]["count"], 2);
    assert_eq!(all["approvals"]["pending"], 1);
    assert_eq!(all["approvals"]["by_action"], json!({"approved": 1, "consumed": 1, "created": 2}));
    assert_eq!(all["approvals"]["time_to_decide_s"], json!({"count": 1, "median": 120.0, "max": 120.0}));
    assert_eq!(all["approvals"]["time_to_consume_s"], json!({"count": 1, "median": 180.0, "max": 180.0}));
    assert_eq!(all["reloads"], json!({"ok": 1, "failed": 0}));

    assert_eq!(log(&["--decision", "deny"])["decisions"], 3);
    assert_eq!(log(&["--rule", "treasurer_sign_off"])["decisions"], 4);
    assert_eq!(log(&["--tool", "payments.refund"])["decisions"], 0);
    let other = log(&["--agent", "other-agent", "--list"]);
    assert_eq!(other["decisions"], 1);
    assert_eq!(other["list"][0]["decision_id"], "d4");
    // Only the approval of a matching decision: d1's.
    let d1 = log(&["--decision", "require_approval"]);
    assert_eq!((d1["approvals"]["count"].clone(), d1["approvals"]["pending"].clone()), (json!(1), json!(0)));
    let recent = log(&["--since", "24h"]);
    assert_eq!(recent["decisions"], 3);
    assert_eq!(recent["approvals"]["by_action"], json!({"created": 1}));
    assert_eq!(log(&["--since", "2000-01-01T00:00:00Z"])["decisions"], 5);
    assert_eq!(log(&["--since", "24h", "--decision", "deny", "--agent", "pay-agent-1"])["decisions"], 2);

    let mut args = vec!["log"];
    args.extend(files.iter().map(String::as_str));
    let text = gavel(&args);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.starts_with(&format!("5 decisions in {} files\nby decision: allow 1, deny 3, require_approval 1\n", files.len())), "{text}");
    assert!(text.contains("approvals: 1 approved, 1 consumed, 2 created; 1 pending"), "{text}");
    assert!(text.contains("time to approve or reject: median 2m 0s, max 2m 0s (1 approvals)"), "{text}");

    let out = gavel(&["log", &files[0], "--since", "yesterday"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("write `24h`"));
}
