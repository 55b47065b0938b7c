//! Data-driven decision cases: every `cases/*.json` beside a policy set under `examples/`
//! and `tests/cases/` is decided and compared with its `expect`, through one `check()`.
//! A case is `{"request": {...}, "expect": {"decision": ..., "decided_by": [...], ...}}`
//! (the keys are those of the conformance yardstick: fired, approvers, args_subset,
//! args_null, reason_contains, not_enforced, warnings, rule_errors, error_paths; and
//! `approvals`, the ids of the rules listed there, checked whole).

use gavel::{Backend, DecideOptions, Policy};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The policy sets with cases: each directory holding a `cases/` folder.
fn case_dirs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut dirs = Vec::new();
    for parent in ["examples", "tests/cases"] {
        let Ok(entries) = std::fs::read_dir(root.join(parent)) else { continue };
        for e in entries.flatten() {
            if e.path().join("cases").is_dir() {
                dirs.push(e.path());
            }
        }
    }
    dirs.sort();
    dirs
}

/// The `.pol` files of a set: `policy/` when present, else the folder itself.
fn policy_path(dir: &Path) -> PathBuf {
    let p = dir.join("policy");
    if p.is_dir() {
        p
    } else {
        dir.to_path_buf()
    }
}

/// The case's `request` exactly as the file writes it, so a number is decided from its
/// digits (not from what a re-serialized `Value` would print).
fn request_bytes(text: &str) -> Vec<u8> {
    #[derive(serde::Deserialize)]
    struct Raw<'a> {
        #[serde(borrow)]
        request: &'a serde_json::value::RawValue,
    }
    let raw: Raw = serde_json::from_str(text).expect("a case with a request");
    raw.request.get().as_bytes().to_vec()
}

/// A case's fields, but for `request`, which `request_bytes` reads raw: a request may hold
/// what a `Value` cannot (`1e400`), and the engine must see it as sent.
fn case_fields(text: &str) -> serde_json::Result<Value> {
    let raw: std::collections::BTreeMap<String, Box<serde_json::value::RawValue>> = serde_json::from_str(text)?;
    let fields = raw.iter().filter(|(key, _)| *key != "request").map(|(key, value)| Ok((key.clone(), serde_json::from_str(value.get())?)));
    fields.collect::<serde_json::Result<serde_json::Map<_, _>>>().map(Value::Object)
}

/// Decides `case` (its request as `request`) against `policy` on `backend`; returns the
/// mismatches.
fn check(policy: &Policy, backend: Backend, case: &Value, request: &[u8]) -> Vec<String> {
    Lockstep::new(policy, backend).step(&case["expect"], request).0
}

/// A fixed clock, so cases without `time` are repeatable.
fn clock() -> std::time::SystemTime {
    std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_764_064_800)
}

/// One engine per output path, deciding the same requests in the same order: with windows,
/// each records what it decides, so each path sees the history the others see.
struct Lockstep {
    full: gavel::Engine,
    fast: gavel::Engine,
    written: gavel::Engine,
    serde: gavel::Engine,
}

impl Lockstep {
    fn new(policy: &Policy, backend: Backend) -> Lockstep {
        let engine = || policy.engine(backend).expect("backend available");
        Lockstep { full: engine(), fast: engine(), written: engine(), serde: engine() }
    }

    /// Decides `request` on every path; the mismatches with `expect` and between the paths,
    /// and the full decision.
    fn step(&self, expect: &Value, request: &[u8]) -> (Vec<String>, Value) {
        let d = self.full.decide_with(request, DecideOptions { explain: true, now: Some(clock()) }).to_json();
        let mut bad = verdict_disagrees(&self.fast.verdict(request, Some(clock())), &d);
        bad.extend(written_disagrees(&self.written, &self.serde, request));
        bad.extend(expectations(expect, &d));
        (bad, d)
    }
}

/// How the decision `d` differs from what `exp` expects.
fn expectations(exp: &Value, d: &Value) -> Vec<String> {
    let mut bad = Vec::new();
    let ids = |key: &str| -> Vec<String> {
        d[key].as_array().into_iter().flatten().filter_map(|r| r.get("id").or(r.get("rule")).and_then(Value::as_str).map(str::to_string)).collect()
    };
    let strings = |v: &Value| -> Vec<String> { v.as_array().into_iter().flatten().filter_map(|s| s.as_str().map(str::to_string)).collect() };
    if d["decision"] != exp["decision"] {
        bad.push(format!("decision {}, expected {}", d["decision"], exp["decision"]));
    }
    if exp.get("decided_by").is_some() && d["decided_by"] != exp["decided_by"] {
        bad.push(format!("decided_by {}, expected {}", d["decided_by"], exp["decided_by"]));
    }
    if let Some(want) = exp.get("fired") {
        let (mut got, mut want) = (ids("rules"), strings(want));
        got.sort();
        want.sort();
        if got != want {
            bad.push(format!("fired {got:?}, expected {want:?}"));
        }
    }
    if let Some(want) = exp.get("approvers") {
        let mut got: Vec<String> = d["approvals"].as_array().into_iter().flatten().flat_map(|a| strings(&a["approvers"])).collect();
        let mut want = strings(want);
        got.sort();
        got.dedup();
        want.sort();
        if got != want {
            bad.push(format!("approvers {got:?}, expected {want:?}"));
        }
    }
    // `approvals` (the ids of the rules listed there) is checked as a whole: `[]` means none.
    if let Some(want) = exp.get("approvals") {
        let (got, want) = (ids("approvals"), strings(want));
        if got != want {
            bad.push(format!("approvals from {got:?}, expected {want:?}"));
        }
    }
    if let Some(Value::Object(subset)) = exp.get("args_subset") {
        for (k, v) in subset {
            if d["args"].get(k) != Some(v) {
                bad.push(format!("args.{k} = {:?}, expected {v}", d["args"].get(k)));
            }
        }
    }
    if exp.get("args_null") == Some(&Value::Bool(true)) && !d["args"].is_null() {
        bad.push(format!("args = {}, expected null", d["args"]));
    }
    if let Some(Value::Object(reasons)) = exp.get("reason_contains") {
        for (rule, text) in reasons {
            let reason = d["rules"].as_array().into_iter().flatten().find(|r| r["id"] == rule.as_str()).and_then(|r| r["reason"].as_str());
            if !reason.is_some_and(|r| r.contains(text.as_str().unwrap_or_default())) {
                bad.push(format!("reason of {rule} = {reason:?}, expected it to contain {text}"));
            }
        }
    }
    for rule in exp.get("not_enforced").map(strings).unwrap_or_default() {
        if !d["rules"].as_array().into_iter().flatten().any(|r| r["id"] == rule.as_str() && r["enforced"] == false) {
            bad.push(format!("rule {rule} should be reported with enforced=false"));
        }
    }
    if let Some(want) = exp.get("warnings") {
        let (mut got, mut want) = (ids("warnings"), strings(want));
        got.sort();
        want.sort();
        if got != want {
            bad.push(format!("warnings from {got:?}, expected {want:?}"));
        }
    }
    for rule in exp.get("rule_errors").map(strings).unwrap_or_default() {
        if !d["errors"].as_array().into_iter().flatten().any(|e| e["kind"] == "rule" && e["rule"] == rule.as_str()) {
            bad.push(format!("no rule error for {rule}: {}", d["errors"]));
        }
    }
    for path in exp.get("error_paths").map(strings).unwrap_or_default() {
        if !d["errors"].as_array().into_iter().flatten().any(|e| e["path"] == path.as_str()) {
            bad.push(format!("no input error at {path}: {}", d["errors"]));
        }
    }
    bad
}

/// A `{"sequence": [{"request", "expect"}, ...]}` case: the steps decided in order by one
/// engine (per output path) on each backend, so windows see the earlier steps; the backends
/// must agree at every step.
fn check_sequence(policy: &Policy, steps: &[Value]) -> Vec<String> {
    let mut bad = Vec::new();
    let mut decisions: Vec<Vec<Value>> = Vec::new();
    for backend in BACKENDS {
        let engines = Lockstep::new(policy, backend);
        let mut made = Vec::new();
        for (n, step) in steps.iter().enumerate() {
            let request = serde_json::to_vec(&step["request"]).expect("serializable");
            let (b, d) = engines.step(&step["expect"], &request);
            bad.extend(b.into_iter().map(|b| format!("step {} [{backend:?}]: {b}", n + 1)));
            made.push(d);
        }
        decisions.push(made);
    }
    if decisions.windows(2).any(|w| w[0] != w[1]) {
        bad.push("backends disagree on the sequence".to_string());
    }
    bad
}

/// The fast path's verdict must say what the full decision says.
fn verdict_disagrees(v: &gavel::Verdict<'_>, d: &Value) -> Vec<String> {
    let mut bad = Vec::new();
    let ids =
        |key: &str, field: &str| -> Vec<String> { d[key].as_array().into_iter().flatten().filter_map(|r| r[field].as_str().map(str::to_string)).collect() };
    if d["decision"] != v.outcome().as_str() {
        bad.push(format!("verdict {:?}, decision {}", v.outcome(), d["decision"]));
    }
    let decided: Vec<String> = d["decided_by"].as_array().into_iter().flatten().filter_map(|r| r.as_str().map(str::to_string)).collect();
    if v.decided_by().collect::<Vec<_>>() != decided {
        bad.push(format!("verdict decided_by {:?}, decision {decided:?}", v.decided_by().collect::<Vec<_>>()));
    }
    if v.fired().collect::<Vec<_>>() != ids("rules", "id") {
        bad.push(format!("verdict fired {:?}, decision {:?}", v.fired().collect::<Vec<_>>(), ids("rules", "id")));
    }
    // A `set` whose value fails is found only by the full decision, which the verdict
    // announces with `modifies_args`.
    let errors = !d["errors"].as_array().is_none_or(Vec::is_empty);
    if v.has_errors() != errors && !(errors && v.modifies_args()) {
        bad.push(format!("verdict has_errors {}, decision errors {}", v.has_errors(), d["errors"]));
    }
    if !d["args"].is_null() && !v.modifies_args() {
        bad.push("the decision modifies args, the verdict does not say so".to_string());
    }
    bad
}

/// The decision JSON `write_decision` writes must be byte for byte serde's JSON of the
/// full decision (both without explanation, as batch mode runs it), each made by its own
/// engine in step with the others.
fn written_disagrees(engine: &gavel::Engine, serde: &gavel::Engine, request: &[u8]) -> Option<String> {
    let options = DecideOptions { explain: false, now: Some(clock()) };
    let mut written = b"[previous line]".to_vec();
    engine.write_decision(request, options, &mut written);
    let want = [&b"[previous line]"[..], &serde_json::to_vec(&serde.decide_with(request, options)).expect("serializable")].concat();
    (written != want).then(|| format!("write_decision wrote\n  {}\nserde writes\n  {}", String::from_utf8_lossy(&written), String::from_utf8_lossy(&want)))
}

/// Every backend this build has.
#[cfg(feature = "jit")]
const BACKENDS: [Backend; 2] = [Backend::Interpreter, Backend::Jit];
#[cfg(not(feature = "jit"))]
const BACKENDS: [Backend; 1] = [Backend::Interpreter];

/// The whole decision JSON of each backend must be the same (with and without explanation).
fn backends_disagree(policy: &Policy, request: &[u8]) -> Option<String> {
    for explain in [false, true] {
        let options = DecideOptions { explain, now: Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_764_064_800)) };
        let decisions: Vec<Value> = BACKENDS.iter().map(|&b| policy.engine(b).expect("backend available").decide_with(request, options).to_json()).collect();
        if decisions.windows(2).any(|w| w[0] != w[1]) {
            return Some(format!("backends disagree (explain {explain}): {decisions:?}"));
        }
    }
    None
}

#[test]
fn every_case_gets_its_expected_decision() {
    let dirs = case_dirs();
    assert!(!dirs.is_empty(), "no policy sets with cases found");
    let mut failures = Vec::new();
    let mut count = 0;
    for dir in dirs {
        let policy = match Policy::from_paths(&[policy_path(&dir)]) {
            Ok(p) => p,
            Err(d) => {
                failures.push(format!("{}: does not compile:\n{}", dir.display(), d.render()));
                continue;
            }
        };
        let mut cases: Vec<PathBuf> = std::fs::read_dir(dir.join("cases")).expect("readable").flatten().map(|e| e.path()).collect();
        cases.sort();
        for case_path in cases.iter().filter(|p| p.extension().is_some_and(|e| e == "json")) {
            let text = std::fs::read_to_string(case_path).expect("readable case");
            let case = case_fields(&text).unwrap_or_else(|e| panic!("{}: {e}", case_path.display()));
            if let Some(steps) = case.get("sequence").and_then(Value::as_array) {
                count += BACKENDS.len();
                failures.extend(check_sequence(&policy, steps).into_iter().map(|b| format!("{}: {b}", case_path.display())));
                continue;
            }
            let request = request_bytes(&text);
            for backend in BACKENDS {
                count += 1;
                for b in check(&policy, backend, &case, &request) {
                    failures.push(format!("{} [{backend:?}]: {b}", case_path.display()));
                }
            }
            if let Some(b) = backends_disagree(&policy, &request) {
                failures.push(format!("{}: {b}", case_path.display()));
            }
        }
    }
    assert!(failures.is_empty(), "{} of {count} case runs failed:\n{}", failures.len(), failures.join("\n"));
}
