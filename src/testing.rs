//! `gavel test`: runs the `test` blocks of a policy set. In: a compiled `Policy` (its
//! fixtures and tests) and an `Engine`. Out: a `TestReport` — each test's result with the
//! decision's explanation for failures, and rule coverage (rules no test made fire).

use crate::decision::{value_to_json, Decision, Outcome};
use crate::diagnostics::terminal::escape;
use crate::policy::{DecideOptions, Engine, Policy};
use crate::syntax::ast::{self, ExpectedEffect, FixtureValue, Json, JsonKind, RequestSource, TestStmt};
use crate::value::Value;
use std::collections::HashSet;
use std::fmt::Write;

/// What `gavel test` found: each test's result and the rules no test made fire.
pub struct TestReport {
    /// One result per test run, in source order.
    pub results: Vec<TestResult>,
    /// Tests left out by a filter (`run_tests_matching`).
    pub filtered_out: usize,
    /// Rules that fired in no test: id and `file:line`.
    pub uncovered: Vec<(String, String)>,
    /// How many rules the policy set has (for the coverage line).
    pub rule_count: usize,
}

/// One test's result.
pub struct TestResult {
    /// The test's name.
    pub name: String,
    /// `file:line` of the test.
    pub location: String,
    /// Empty when the test passed.
    pub failures: Vec<String>,
    /// The explanation of the last decision, shown for failures.
    pub explanation: Option<String>,
}

impl TestReport {
    /// How many tests passed.
    pub fn passed(&self) -> usize {
        self.results.iter().filter(|r| r.failures.is_empty()).count()
    }

    /// How many tests failed.
    pub fn failed(&self) -> usize {
        self.results.len() - self.passed()
    }

    /// The report for machines (`gavel test --format json`): every result, the counts and
    /// the coverage (`uncovered` is only meaningful when no test was filtered out).
    pub fn to_json(&self) -> serde_json::Value {
        let uncovered: Vec<serde_json::Value> = self.uncovered.iter().map(|(rule, at)| serde_json::json!({"rule": rule, "location": at})).collect();
        serde_json::json!({
            "results": self.results.iter().map(|r| serde_json::json!({
                "name": r.name,
                "location": r.location,
                "passed": r.failures.is_empty(),
                "failures": r.failures,
                "explanation": r.explanation,
            })).collect::<Vec<_>>(),
            "passed": self.passed(),
            "failed": self.failed(),
            "filtered_out": self.filtered_out,
            "coverage": {"rules": self.rule_count, "covered": self.rule_count - self.uncovered.len(), "never_fired": uncovered},
        })
    }

    /// The report as `gavel test` prints it.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for r in &self.results {
            // Names, locations and failures quote policy and request text: escaped, so
            // none of it can rewrite the report on a terminal.
            if r.failures.is_empty() {
                let _ = writeln!(out, "ok    {}", escape(&r.name));
            } else {
                let _ = writeln!(out, "FAIL  {} ({})", escape(&r.name), escape(&r.location));
                for f in &r.failures {
                    let _ = writeln!(out, "      {}", escape(f));
                }
                if let Some(e) = &r.explanation {
                    for line in e.lines() {
                        let _ = writeln!(out, "      | {line}");
                    }
                }
            }
        }
        if self.filtered_out == 0 {
            let covered = self.rule_count - self.uncovered.len();
            let _ = writeln!(out, "\ncoverage: {covered} of {} rules fired in some test", self.rule_count);
            for (id, at) in &self.uncovered {
                let _ = writeln!(out, "  never fired: {} ({})", escape(id), escape(at));
            }
        } else {
            // Coverage over a subset of the tests would list rules the others cover.
            let _ = writeln!(out, "\ncoverage: not computed, {} tests filtered out", self.filtered_out);
        }
        let _ = writeln!(out, "\n{} passed, {} failed", self.passed(), self.failed());
        out
    }
}

/// Runs every test of `policy` on `engine`, each with a fresh window store.
pub fn run_tests(policy: &Policy, engine: &Engine) -> TestReport {
    run_tests_matching(policy, engine, "")
}

/// `run_tests`, only for the tests whose name contains `filter` (all of them for `""`).
pub fn run_tests_matching(policy: &Policy, engine: &Engine, filter: &str) -> TestReport {
    let mut fired: HashSet<String> = HashSet::new();
    let mut results = Vec::new();
    let all = &policy.tests().tests;
    for case in all.iter().filter(|c| c.decl.name.value.contains(filter)) {
        let file = policy.sources().get(case.file);
        let location = format!("{}:{}", file.shown, file.line_col(case.decl.span.start as usize).line);
        // The requests of one test share a fresh window store, decided in order. (Making it
        // cannot fail: the same windows were accepted when `engine` was made.)
        let fresh = engine.with_fresh_windows();
        let engine = match &fresh {
            Ok(e) => e,
            Err(_) => engine,
        };
        let mut run = TestRun { policy, engine, case_file: case.file, failures: Vec::new(), last: None, request: None, fired: Vec::new() };
        let mut stmts = case.decl.stmts.iter().peekable();
        let mut after_request = false;
        while let Some(stmt) = stmts.next() {
            if let TestStmt::Windows { .. } = stmt {
                if !after_request {
                    run.failures.push("`windows { ... }` sets the window values of the `request` right before it: put it after one".into());
                }
                after_request = false;
                continue;
            }
            // `windows { ... }` right after a `request` sets that request's window values.
            let windows = match stmts.peek() {
                Some(TestStmt::Windows { values, .. }) => Some(values.as_slice()),
                _ => None,
            };
            run.step(stmt, windows);
            after_request = matches!(stmt, TestStmt::Request(..));
        }
        if run.last.is_none() && run.failures.is_empty() {
            run.failures.push("the test has no `request`".into());
        }
        fired.extend(run.fired.drain(..));
        results.push(TestResult {
            name: case.decl.name.value.clone(),
            location,
            explanation: (!run.failures.is_empty()).then(|| run.last.as_ref().map(|d| d.explain(policy))).flatten(),
            failures: run.failures,
        });
    }
    let rules = &policy.program().rules;
    let uncovered = rules
        .iter()
        .filter(|r| !fired.contains(&r.id))
        .map(|r| {
            let f = policy.sources().get(r.span.file);
            (r.id.clone(), format!("{}:{}", f.shown, f.line_col(r.span.start as usize).line))
        })
        .collect();
    TestReport { filtered_out: all.len() - results.len(), results, uncovered, rule_count: rules.len() }
}

struct TestRun<'p> {
    policy: &'p Policy,
    engine: &'p Engine,
    case_file: crate::span::FileId,
    failures: Vec<String>,
    last: Option<Decision>,
    request: Option<serde_json::Value>,
    /// Rules that fired for any request of the test (for coverage).
    fired: Vec<String>,
}

impl TestRun<'_> {
    fn step(&mut self, stmt: &TestStmt, windows: Option<&[(ast::Ident, Json)]>) {
        match stmt {
            TestStmt::Request(source, _) => match self.build_request(source).and_then(|r| Ok((r, self.window_values(windows)?))) {
                Ok((request, set)) => {
                    let bytes = request.to_string();
                    let d = self.engine.decide_setting_windows(bytes.as_bytes(), DecideOptions { explain: true, now: None }, &set);
                    for e in &d.errors {
                        match e {
                            crate::decision::DecisionError::Input { message, .. } => self.failures.push(format!("the request is invalid: {message}")),
                            crate::decision::DecisionError::Internal { message } => self.failures.push(format!("the engine failed: {message}")),
                            crate::decision::DecisionError::Rule { .. } => {}
                        }
                    }
                    self.fired.extend(d.rules.iter().map(|r| r.id.clone()));
                    self.request = Some(request);
                    self.last = Some(d);
                }
                Err(e) => self.failures.push(e),
            },
            TestStmt::ExpectEffect { effect, by, .. } => self.expect_effect(*effect, by),
            TestStmt::ExpectValue { path, value, .. } => self.expect_value(path, value),
            TestStmt::Windows { .. } => self.failures.push(
                "`windows { ... }` (setting window values in a test) is not supported yet: decide earlier requests in the same test to build the history"
                    .into(),
            ),
        }
    }

    /// The window values a `windows { NAME: VALUE, ... }` sets: each a window of the policy,
    /// with a value of its type (a number; for `max`, a number or `null` for no value; for
    /// `values`, a list of strings).
    fn window_values(&self, windows: Option<&[(ast::Ident, Json)]>) -> Result<Vec<(u32, Value)>, String> {
        let declared = &self.policy.program().windows;
        let mut set = Vec::new();
        for (name, json) in windows.unwrap_or_default() {
            let Some(i) = declared.iter().position(|w| w.name == name.name) else {
                let suggestion = crate::diagnostics::did_you_mean(&name.name, declared.iter().map(|w| w.name.as_str()));
                return Err(format!(
                    "`windows`: the policy has no window `{}`{}",
                    name.name,
                    suggestion.map(|s| format!("; did you mean `{s}`?")).unwrap_or_default()
                ));
            };
            let aggregate = declared[i].aggregate;
            let value = match (aggregate, &json.kind) {
                (crate::ir::Aggregate::Max, JsonKind::Null) => Value::Absent,
                (crate::ir::Aggregate::Values, JsonKind::List(items)) => items
                    .iter()
                    .map(|j| match &j.kind {
                        JsonKind::Str(s) => Ok(Value::str(s)),
                        _ => Err(format!("`windows`: `{}` is a `values` window: give a list of strings", name.name)),
                    })
                    .collect::<Result<Vec<Value>, String>>()
                    .map(|v| Value::List(v.into()))?,
                (crate::ir::Aggregate::Values, _) => return Err(format!("`windows`: `{}` is a `values` window: give a list of strings", name.name)),
                (_, JsonKind::Number(n)) => Value::Num(*n),
                (_, _) => return Err(format!("`windows`: `{}` is a `{}` window: give a number", name.name, aggregate.name())),
            };
            set.push((i as u32, value));
        }
        Ok(set)
    }

    fn build_request(&self, source: &RequestSource) -> Result<serde_json::Value, String> {
        match source {
            RequestSource::Literal(j) => Ok(json_of(j)),
            RequestSource::Fixture { name, with } => {
                let mut request = fixture_request(&self.policy.tests().fixtures, &name.name)?;
                apply_overrides(&mut request, with);
                Ok(request)
            }
            RequestSource::File(name) => {
                let base = self.policy.path_of(self.case_file).and_then(|p| p.parent()).map(|p| p.to_path_buf()).unwrap_or_default();
                let path = base.join(&name.value);
                let limits = self.policy.limits();
                let cannot_read = |e: std::io::Error| format!("cannot read `{}`: {e}", path.display());
                let bytes = std::fs::File::open(&path).and_then(|f| crate::limits::read_request(f, limits)).map_err(cannot_read)?;
                if bytes.len() > limits.max_request_bytes {
                    return Err(format!(
                        "`{}` is longer than `max_request_bytes` ({} bytes): raise it with `--max-request-bytes N`",
                        path.display(),
                        limits.max_request_bytes
                    ));
                }
                serde_json::from_slice(&bytes).map_err(|e| format!("`{}` is not valid JSON: {e}", path.display()))
            }
        }
    }

    fn expect_effect(&mut self, effect: ExpectedEffect, by: &[ast::Ident]) {
        let Some(d) = &self.last else {
            self.failures.push("`expect` before any `request`".into());
            return;
        };
        let want = match effect {
            ExpectedEffect::Allow => Outcome::Allow,
            ExpectedEffect::Deny => Outcome::Deny,
            ExpectedEffect::RequireApproval => Outcome::RequireApproval,
        };
        if d.decision != want {
            let by_text = if d.decided_by.is_empty() { String::new() } else { format!(" by {}", d.decided_by.join(", ")) };
            self.failures.push(format!("expected {}, got {}{by_text}", want.as_str(), d.decision.as_str()));
        }
        let mut want_by: Vec<&str> = by.iter().map(|b| b.name.as_str()).collect();
        let mut got_by: Vec<&str> = d.decided_by.iter().map(String::as_str).collect();
        want_by.sort_unstable();
        got_by.sort_unstable();
        if !by.is_empty() && want_by != got_by {
            self.failures.push(format!(
                "expected decided by {}, got {}",
                want_by.join(", "),
                if got_by.is_empty() { "the default".into() } else { got_by.join(", ") }
            ));
        }
    }

    fn expect_value(&mut self, path: &ast::PathRef, value: &Json) {
        let Some(d) = &self.last else {
            self.failures.push("`expect` before any `request`".into());
            return;
        };
        let segs: Vec<&str> = path.segments.iter().map(|s| s.name.as_str()).collect();
        let Some(("args", rest)) = segs.split_first().map(|(a, r)| (*a, r)) else {
            self.failures.push(format!("`expect {}` must name a path in `args`", segs.join(".")));
            return;
        };
        if d.is_denied() {
            self.failures.push(format!("expected {} to be checked, but the request was denied: nothing runs, so there are no arguments", segs.join(".")));
            return;
        }
        // Unmodified requests are checked against the arguments as sent.
        let original = self.request.as_ref().and_then(|r| r.get("args")).cloned().unwrap_or(serde_json::Value::Null);
        let args = d.args.as_ref().unwrap_or(&original);
        let got = rest.iter().try_fold(args, |v, s| v.get(*s));
        let want = json_of(value);
        if !got.is_some_and(|g| same_json(g, &want)) {
            // The request's own arguments may hold what a shadow `redact` covered.
            let got_text = d.mask.text(&got.map_or("nothing".to_string(), |g| g.to_string())).into_owned();
            self.failures.push(format!("expected {} == {want}, found {got_text}", segs.join(".")));
        }
    }
}

/// A fixture literal as JSON (whole numbers as integers).
pub fn json_of(j: &Json) -> serde_json::Value {
    match &j.kind {
        JsonKind::Null => serde_json::Value::Null,
        JsonKind::Bool(b) => serde_json::Value::Bool(*b),
        JsonKind::Number(n) => value_to_json(&Value::Num(*n), None),
        JsonKind::Str(s) => serde_json::Value::String(s.clone()),
        JsonKind::List(items) => serde_json::Value::Array(items.iter().map(json_of).collect()),
        JsonKind::Object(fields) => serde_json::Value::Object(fields.iter().map(|(k, v)| (k.name.clone(), json_of(v))).collect()),
    }
}

/// JSON equality where numbers compare by value (`1.0` equals `1`).
fn same_json(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    match (a, b) {
        (J::Number(x), J::Number(y)) => x.as_f64() == y.as_f64(),
        (J::Array(x), J::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_json(p, q)),
        (J::Object(x), J::Object(y)) => x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w))),
        _ => a == b,
    }
}

/// The request of fixture `name`: the one it is written as, or its base's with its overrides
/// applied, down the chain of bases. The checker rejects unknown bases and cycles; they are
/// errors here too, never a loop.
fn fixture_request(fixtures: &indexmap::IndexMap<String, ast::Fixture>, name: &str) -> Result<serde_json::Value, String> {
    let mut chain: Vec<&[(ast::PathRef, Json)]> = Vec::new();
    let mut name = name;
    loop {
        let fixture = fixtures.get(name).ok_or_else(|| format!("no fixture named `{name}`"))?;
        match &fixture.value {
            FixtureValue::Literal(j) => {
                let mut request = json_of(j);
                for with in chain.iter().rev() {
                    apply_overrides(&mut request, with);
                }
                return Ok(request);
            }
            FixtureValue::Extends { base, with } => {
                if chain.len() >= fixtures.len() {
                    return Err(format!("fixture `{name}` extends itself through its bases"));
                }
                chain.push(with.as_slice());
                name = &base.name;
            }
        }
    }
}

fn apply_overrides(request: &mut serde_json::Value, with: &[(ast::PathRef, Json)]) {
    for (path, value) in with {
        let segs: Vec<&str> = path.segments.iter().map(|s| s.name.as_str()).collect();
        set_path(request, &segs, json_of(value));
    }
}

/// Sets `value` at a dotted path, creating objects along the way.
fn set_path(target: &mut serde_json::Value, path: &[&str], value: serde_json::Value) {
    let Some((first, rest)) = path.split_first() else {
        *target = value;
        return;
    };
    if !target.is_object() {
        *target = serde_json::json!({});
    }
    if let serde_json::Value::Object(m) = target {
        let child = m.entry(first.to_string()).or_insert(serde_json::Value::Null);
        set_path(child, rest, value);
    }
}
