//! The library API (PRODUCT.md §3). In: `.pol` paths or sources. Out: a compiled `Policy`
//! (or the diagnostics), `Engine`s that decide requests from JSON bytes on any thread.
//!
//! ```
//! let policy = gavel::Policy::from_sources(&[("p.pol", r#"
//!     policy demo
//!     version "1"
//!     default allow
//!     tool payments.transfer(amount: number)
//!     rule big: on payments.transfer deny when amount > 1000 because "too big: {amount}"
//! "#)]).expect("the policy compiles");
//! let engine = policy.engine(gavel::Backend::Interpreter).expect("the interpreter is always available");
//! let decision = engine.decide_json(br#"{"tool": "payments.transfer", "args": {"amount": 5000}}"#).unwrap();
//! assert!(decision.is_denied());
//! assert_eq!(decision.rules[0].reason.as_deref(), Some("too big: 5000"));
//! ```

use crate::check::{self, ParsedFile, TestSuite};
use crate::decision::{self, Decision, PolicyRef, RuleOutcome, TraceJson};
use crate::diagnostics::{self as diag, Diagnostic, Diagnostics};
use crate::input::{Decoder, Frame};
use crate::ir::{self, Effect, Program};
use crate::span::{FileId, SourceMap, Span};
use crate::value::Value;
use crate::vm::{self, Module, Scratch};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A compiled policy set. `Send + Sync`; cheap to share behind an `Arc`.
pub struct Policy {
    inner: Arc<Compiled>,
}

struct Compiled {
    program: Program,
    module: Module,
    decoder: Decoder,
    sources: SourceMap,
    /// The path each source file was read from (`None` for in-memory and stdlib sources).
    paths: Vec<Option<PathBuf>>,
    policy_ref: PolicyRef,
    tests: TestSuite,
    warnings: Vec<Diagnostic>,
}

/// Which backend decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Interpreter,
    Jit,
}

/// Why an engine could not be created.
#[derive(Debug, Clone, PartialEq)]
pub enum EngineError {
    /// The JIT backend is not built yet.
    JitUnavailable,
}

impl std::fmt::Display for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EngineError::JitUnavailable => write!(f, "the JIT engine is not available in this build yet; use `--engine interp` (Backend::Interpreter)"),
        }
    }
}

impl std::error::Error for EngineError {}

/// Options for one decision.
#[derive(Clone, Copy, Debug, Default)]
pub struct DecideOptions {
    /// Attach a trace of each fired rule's sub-expressions.
    pub explain: bool,
    /// The evaluation time (seconds since the epoch) used when the request has no `time`;
    /// `None` means the clock.
    pub now: Option<f64>,
}

impl Policy {
    /// Reads `.pol` files and directories (recursively), compiles them with the standard library.
    pub fn from_paths<P: AsRef<Path>>(paths: &[P]) -> Result<Policy, Diagnostics> {
        let mut files: Vec<(String, String, Option<PathBuf>)> = Vec::new();
        let mut errors = SourceMap::new();
        let mut diags = Vec::new();
        for p in paths {
            let p = p.as_ref();
            if let Err(msg) = read_path(p, &mut files) {
                let id = errors.add(p.display().to_string(), "");
                diags.push(diag::unreadable_path(Span::new(id, 0, 0), &p.display().to_string(), &msg));
            }
        }
        if files.is_empty() && diags.is_empty() {
            let id = errors.add(paths.first().map_or(String::from("."), |p| p.as_ref().display().to_string()), "");
            diags.push(diag::no_policy_files(Span::new(id, 0, 0)));
        }
        if !diags.is_empty() {
            return Err(Diagnostics { items: diags, sources: errors });
        }
        compile(files)
    }

    /// Compiles in-memory sources: `(file name, text)`.
    pub fn from_sources(files: &[(&str, &str)]) -> Result<Policy, Diagnostics> {
        compile(files.iter().map(|(n, t)| (n.to_string(), t.to_string(), None)).collect())
    }

    pub fn engine(&self, backend: Backend) -> Result<Engine, EngineError> {
        match backend {
            Backend::Interpreter => Ok(Engine { inner: self.inner.clone() }),
            Backend::Jit => Err(EngineError::JitUnavailable),
        }
    }

    pub fn name(&self) -> &str {
        &self.inner.program.info.name
    }

    /// `sha256:…` of the policy set's sources (names and contents, sorted by name).
    pub fn digest(&self) -> &str {
        &self.inner.policy_ref.digest
    }

    /// Warnings from compilation (the policy compiled, but something deserves a look).
    pub fn warnings(&self) -> Diagnostics {
        Diagnostics { items: self.inner.warnings.clone(), sources: self.inner.sources.clone() }
    }

    pub fn sources(&self) -> &SourceMap {
        &self.inner.sources
    }

    pub fn program(&self) -> &Program {
        &self.inner.program
    }

    pub fn tests(&self) -> &TestSuite {
        &self.inner.tests
    }

    /// The path a source file was read from, for resolving `file("x.json")` in tests.
    pub fn path_of(&self, file: FileId) -> Option<&Path> {
        self.inner.paths.get(file.0 as usize).and_then(|p| p.as_deref())
    }

    /// The bytecode listing of the compiled policy (for `--disassemble` and golden tests).
    pub fn disassemble(&self) -> String {
        self.inner.module.disassemble()
    }
}

impl Decision {
    /// The text rendering of this decision against the policy that made it.
    pub fn explain(&self, policy: &Policy) -> String {
        decision::explain(self, &policy.inner.sources)
    }
}

/// Decides requests. `Send + Sync`: share one engine between threads; deciding takes `&self`.
pub struct Engine {
    inner: Arc<Compiled>,
}

impl Engine {
    /// Decides one request given as JSON bytes. Invalid requests are decisions too (the
    /// policy's `on error` outcome, deny by default, with the input errors), so this never
    /// fails today; the `Result` leaves room for engine faults that cannot be decided.
    pub fn decide_json(&self, request: &[u8]) -> Result<Decision, EngineError> {
        Ok(self.decide_with(request, DecideOptions::default()))
    }

    pub fn decide_with(&self, request: &[u8], options: DecideOptions) -> Decision {
        let c = &*self.inner;
        let now = options.now.unwrap_or_else(now_seconds);
        let frame = match c.decoder.decode(request, now) {
            Ok(f) => f,
            Err(failure) => return decision::input_failure(&c.program, &c.policy_ref, &failure),
        };
        self.decide_frame(&frame, options.explain, request)
    }

    /// Decides an already decoded request (for benchmarks of evaluation alone).
    #[doc(hidden)]
    pub fn decide_frame(&self, frame: &Frame, explain: bool, request: &[u8]) -> Decision {
        let c = &*self.inner;
        let mut scratch = Scratch::default();
        let outcomes: Vec<RuleOutcome> = self
            .rules_for(frame)
            .filter_map(|i| self.evaluate(i, frame, &mut scratch, explain))
            .collect();
        decision::combine(&c.program, &c.sources, &c.policy_ref, &frame.tool_name, &outcomes, request)
    }

    /// Decodes a request into a frame (for benchmarks of evaluation alone).
    #[doc(hidden)]
    pub fn decode(&self, request: &[u8], now: f64) -> Option<Frame> {
        self.inner.decoder.decode(request, now).ok()
    }

    /// The rules that apply to the request's tool, in source order.
    fn rules_for<'f>(&'f self, frame: &'f Frame) -> Box<dyn Iterator<Item = u32> + 'f> {
        let c = &*self.inner;
        match frame.tool.and_then(|t| c.program.groups.declared.get_index(t)) {
            Some((_, ids)) => Box::new(ids.iter().copied()),
            None => Box::new(c.program.groups.undeclared.iter().copied().filter(move |&i| match &c.program.rules[i as usize].scope {
                ir::ToolScope::All => true,
                ir::ToolScope::Tools(ps) => ps.iter().any(|p| ir::pattern_matches(p, &frame.tool_name)),
            })),
        }
    }

    /// Runs one rule; `None` when it neither fired nor errored.
    fn evaluate(&self, index: u32, frame: &Frame, scratch: &mut Scratch, explain: bool) -> Option<RuleOutcome> {
        let c = &*self.inner;
        let rule = &c.program.rules[index as usize];
        let code = c.module.rule(index as usize);
        let held = match code.condition {
            None => Ok(true),
            Some(chunk) => c.module.run_condition(chunk, frame, scratch),
        };
        let fails_closed = matches!(rule.effect, Effect::Deny | Effect::RequireApproval(_));
        let mut outcome = match held {
            Ok(false) => return None,
            Ok(true) => RuleOutcome { rule: index, fired: true, error: None, reason: None, set_value: None, trace: None },
            Err(e) => RuleOutcome { rule: index, fired: fails_closed, error: Some((e.span, e.message)), reason: None, set_value: None, trace: None },
        };
        if let (Some(chunk), true) = (code.set_value, outcome.fired) {
            match c.module.run(chunk, frame, scratch, None) {
                Ok(v) => outcome.set_value = Some(v),
                Err(e) => {
                    outcome.fired = false;
                    outcome.error = Some((e.span, e.message));
                }
            }
        }
        if outcome.fired {
            outcome.reason = self.reason(rule, code, frame, scratch);
            if explain {
                outcome.trace = code.condition.map(|chunk| self.trace(chunk, rule, frame, scratch));
            }
        }
        Some(outcome)
    }

    /// The rule's `because` text with its holes filled (timestamps as RFC 3339).
    fn reason(&self, rule: &ir::Rule, code: &vm::RuleCode, frame: &Frame, scratch: &mut Scratch) -> Option<String> {
        if code.reason.is_empty() {
            return None;
        }
        let mut text = String::new();
        for (part, ir_part) in code.reason.iter().zip(&rule.reason) {
            match (part, ir_part) {
                (vm::ReasonCode::Expr(chunk), ir::ReasonPart::Expr(e)) => match self.inner.module.run(*chunk, frame, scratch, None) {
                    Ok(v) if matches!(e.ty.unwrap_optional(), crate::types::Type::Timestamp) => {
                        text.push_str(decision::value_to_json(&v, Some(&e.ty)).as_str().unwrap_or_default())
                    }
                    Ok(v) => text.push_str(&v.to_string()),
                    Err(e) => text.push_str(&format!("<error: {}>", e.message)),
                },
                (vm::ReasonCode::Text(t), _) => text.push_str(t),
                (vm::ReasonCode::Expr(_), ir::ReasonPart::Text(_)) => {}
            }
        }
        Some(text)
    }

    /// The condition's sub-expressions with their values, outermost first, one per span.
    fn trace(&self, chunk: vm::ChunkId, rule: &ir::Rule, frame: &Frame, scratch: &mut Scratch) -> Vec<TraceJson> {
        let c = &*self.inner;
        let mut entries = Vec::new();
        let _ = c.module.run(chunk, frame, scratch, Some(&mut entries));
        let labelled = labelled_spans(rule, &c.sources);
        let mut types: Vec<(Span, crate::types::Type)> = Vec::new();
        if let Some(cond) = &rule.condition {
            ir::passes::visit(cond, &mut |e| types.push((e.span, e.ty.clone())));
        }
        let type_at = |span: Span| types.iter().find(|(s, _)| *s == span).map(|(_, t)| t.clone());
        let mut seen: Vec<(Span, Value)> = Vec::new();
        for e in entries.into_iter().filter(|e| rule.span.contains(e.span)) {
            match seen.iter_mut().find(|(s, _)| *s == e.span) {
                Some(slot) => slot.1 = e.value,
                None => seen.push((e.span, e.value)),
            }
        }
        seen.sort_by_key(|(s, _)| (s.start, std::cmp::Reverse(s.end)));
        seen.into_iter()
            .map(|(span, value)| TraceJson {
                expr: c.sources.slice(span).to_string(),
                value: decision::value_to_json(&value, type_at(span).as_ref()),
                span: decision::SpanJson::new(span, &c.sources),
                label: labelled.contains(&span),
            })
            .collect()
    }
}

/// Spans of the condition's nodes worth a label in explanations: values read or computed
/// (inputs, locals, calls, named constants, ...), not literals, comparisons or connectives.
fn labelled_spans(rule: &ir::Rule, sources: &SourceMap) -> Vec<Span> {
    use ir::ExprKind as K;
    let mut out = Vec::new();
    if let Some(c) = &rule.condition {
        ir::passes::visit(c, &mut |e| {
            let connective = matches!(e.kind, K::And(..) | K::Or(..) | K::Not(_) | K::Has(_) | K::Compare(..) | K::List(_));
            let literal = matches!(e.kind, K::Const(_)) && is_literal(sources.slice(e.span));
            if !connective && !literal {
                out.push(e.span);
            }
        });
    }
    out
}

/// Whether source text is a literal (`1_000`, `"x"`, `[..]`, `true`), whose value is plain.
fn is_literal(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '"' | '[' | '-')) || matches!(text, "true" | "false")
}

fn now_seconds() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

/// Adds `path` (a `.pol` file, or a directory read recursively) to `files`.
fn read_path(path: &Path, files: &mut Vec<(String, String, Option<PathBuf>)>) -> Result<(), String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if meta.is_dir() {
        let mut found = Vec::new();
        collect_dir(path, &mut found).map_err(|e| e.to_string())?;
        found.sort();
        for f in found {
            let text = std::fs::read_to_string(&f).map_err(|e| format!("{}: {e}", f.display()))?;
            let name = f.strip_prefix(path).unwrap_or(&f).display().to_string();
            files.push((name, text, Some(f)));
        }
    } else {
        let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
        let name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
        files.push((name, text, Some(path.to_path_buf())));
    }
    Ok(())
}

fn collect_dir(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let p = entry?.path();
        if p.is_dir() {
            collect_dir(&p, out)?;
        } else if p.extension().is_some_and(|e| e == "pol") {
            out.push(p);
        }
    }
    Ok(())
}

/// SHA-256 over the files' names and contents, sorted by name.
fn digest(files: &[(String, String, Option<PathBuf>)]) -> String {
    let mut sorted: Vec<&(String, String, Option<PathBuf>)> = files.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut h = Sha256::new();
    for (name, text, _) in sorted {
        h.update(name.as_bytes());
        h.update([0]);
        h.update(text.as_bytes());
        h.update([0]);
    }
    format!("sha256:{:x}", h.finalize())
}

fn compile(files: Vec<(String, String, Option<PathBuf>)>) -> Result<Policy, Diagnostics> {
    let digest = digest(&files);
    let mut sources = SourceMap::new();
    let mut paths = Vec::new();
    let mut parsed = Vec::new();
    let mut diags = Vec::new();
    for (name, text, path) in files {
        let id = sources.add(name, text);
        paths.push(path);
        parsed.push((id, None));
    }
    for (module, text) in crate::stdlib::SOURCES {
        let id = sources.add(format!("std/{module}.pol"), *text);
        paths.push(None);
        parsed.push((id, Some(module.to_string())));
    }
    let asts: Vec<_> = parsed
        .iter()
        .map(|(id, _)| {
            let (ast, mut d) = crate::syntax::parse(*id, &sources.get(*id).text);
            diags.append(&mut d);
            ast
        })
        .collect();
    let files: Vec<ParsedFile<'_>> = parsed.iter().zip(&asts).map(|((id, module), ast)| ParsedFile { id: *id, ast, stdlib: module.clone() }).collect();
    let (checked, mut check_diags) = check::check(&files, &sources);
    diags.append(&mut check_diags);
    let checked = match checked {
        Some(c) if !diags.iter().any(Diagnostic::is_error) => c,
        _ => return Err(Diagnostics { items: diags, sources }),
    };
    let mut program = checked.program;
    ir::passes::run_all(&mut program);
    let module = vm::compile(&program);
    let decoder = Decoder::new(&program.schema, &program.slots);
    let policy_ref = PolicyRef { name: program.info.name.clone(), version: program.info.version.clone(), digest };
    Ok(Policy { inner: Arc::new(Compiled { program, module, decoder, sources, paths, policy_ref, tests: checked.tests, warnings: diags }) })
}
