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

use crate::check::TestSuite;
use crate::decision::{self, fails_closed, Decision, Fired, Outcome, RuleOutcome, TraceJson, Verdict};
use crate::diagnostics::Diagnostics;
use crate::driver::Compiled;
use crate::input::{Frame, InputFailure};
use crate::ir::{self, Program};
use crate::limits::Limits;
use crate::span::{FileId, SourceMap, Span};
use crate::value::Value;
use crate::vm::{self, Meter, Scratch};
use std::path::Path;
use std::sync::Arc;

/// A compiled policy set. `Send + Sync`; cheap to share behind an `Arc`.
pub struct Policy {
    inner: Arc<Compiled>,
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
    /// This build has no JIT (the `jit` cargo feature is off).
    JitUnavailable,
    /// The JIT could not start: no code generator for this machine, or its code memory was
    /// refused. Tool groups are compiled later, on their first request; a group that fails
    /// to compile makes each of its rules a rule error, which fails closed.
    JitFailed(String),
}

impl std::fmt::Display for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EngineError::JitUnavailable => {
                write!(f, "the JIT engine is not available in this build (built without the `jit` feature); use `--engine interp` (Backend::Interpreter)")
            }
            EngineError::JitFailed(m) => write!(f, "the JIT could not compile the policy: {m}; use `--engine interp` (Backend::Interpreter)"),
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
        Policy::from_paths_with(paths, &Limits::default())
    }

    /// `from_paths` with the given limits, both at compile time and for every decision.
    pub fn from_paths_with<P: AsRef<Path>>(paths: &[P], limits: &Limits) -> Result<Policy, Diagnostics> {
        paths.iter().fold(Policy::builder(), |b, p| b.path(p.as_ref())).limits(*limits).build()
    }

    /// Compiles in-memory sources: `(file name, text)`.
    pub fn from_sources(files: &[(&str, &str)]) -> Result<Policy, Diagnostics> {
        Policy::from_sources_with(files, &Limits::default())
    }

    /// `from_sources` with the given limits, both at compile time and for every decision.
    pub fn from_sources_with(files: &[(&str, &str)], limits: &Limits) -> Result<Policy, Diagnostics> {
        files.iter().fold(Policy::builder(), |b, (n, t)| b.source(*n, *t)).limits(*limits).build()
    }

    /// A builder for policies with reference data or several kinds of sources.
    pub fn builder() -> crate::builder::PolicyBuilder {
        crate::builder::PolicyBuilder::default()
    }

    pub(crate) fn from_compiled(compiled: Compiled) -> Policy {
        Policy { inner: Arc::new(compiled) }
    }

    /// The limits this policy was compiled with and decides with.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    pub fn engine(&self, backend: Backend) -> Result<Engine, EngineError> {
        match backend {
            Backend::Interpreter => Ok(Engine {
                inner: self.inner.clone(),
                #[cfg(feature = "jit")]
                jit: None,
            }),
            #[cfg(feature = "jit")]
            Backend::Jit => {
                // Cheap: each tool group's code is compiled on the group's first request.
                let jit = self.inner.jit.get_or_init(|| crate::jit::JitProgram::new(&self.inner.program).map(Arc::new).map_err(|e| e.to_string()));
                let jit = jit.clone().map_err(EngineError::JitFailed)?;
                Ok(Engine { inner: self.inner.clone(), jit: Some(jit) })
            }
            #[cfg(not(feature = "jit"))]
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
    /// Set for `Backend::Jit`: conditions run as machine code.
    #[cfg(feature = "jit")]
    jit: Option<Arc<crate::jit::JitProgram>>,
}

impl Engine {
    /// Decides one request given as JSON bytes. Invalid requests are decisions too (the
    /// policy's `on error` outcome, deny by default, with the input errors), so this never
    /// fails today; the `Result` leaves room for engine faults that cannot be decided.
    pub fn decide_json(&self, request: &[u8]) -> Result<Decision, EngineError> {
        Ok(self.decide_with(request, DecideOptions::default()))
    }

    /// Decides one request. Never panics and never allows by accident: a request beyond
    /// the limits is an input error (the policy's `on error` outcome), and any internal
    /// fault is caught here and becomes a `deny` with an `internal error` in `errors`.
    pub fn decide_with(&self, request: &[u8], options: DecideOptions) -> Decision {
        fail_closed(|| self.decide_unguarded(request, options), |message| self.internal_fault(message))
    }

    fn decide_unguarded(&self, request: &[u8], options: DecideOptions) -> Decision {
        let c = &*self.inner;
        self.decode_then(
            request,
            options.now,
            |frame| self.decide_in(frame, options.explain, request),
            |failure| decision::input_failure(&c.program, &c.policy_ref, &failure),
        )
    }

    /// Checks the request against the limits and decodes it into this thread's frame,
    /// then gives the frame to `decoded`, or the input errors to `invalid`: the one way both
    /// the full decision and the fast path read a request.
    fn decode_then<T>(&self, request: &[u8], now: Option<f64>, decoded: impl FnOnce(&Frame) -> T, invalid: impl FnOnce(InputFailure) -> T) -> T {
        let c = &*self.inner;
        if request.iter().all(u8::is_ascii_whitespace) {
            return invalid(InputFailure { tool_name: None, errors: vec![crate::input::empty_request()] });
        }
        if let Err(e) = crate::limits::check_request(request, &c.limits) {
            return invalid(InputFailure { tool_name: None, errors: vec![e] });
        }
        let now = now.unwrap_or_else(now_seconds);
        crate::reuse::with_reused(&FRAME, |frame| match c.decoder.decode_into(request, now, frame) {
            Ok(()) => decoded(frame),
            Err(failure) => invalid(failure),
        })
    }

    /// Decides an already decoded request (for benchmarks of evaluation alone).
    #[doc(hidden)]
    pub fn decide_frame(&self, frame: &Frame, explain: bool, request: &[u8]) -> Decision {
        self.decide_in(frame, explain, request)
    }

    fn decide_in(&self, frame: &Frame, explain: bool, request: &[u8]) -> Decision {
        let c = &*self.inner;
        // The conditions of the request's rules share one work budget.
        let meter = self.meter();
        let outcomes: Vec<RuleOutcome> = with_scratch(|scratch| {
            self.with_jit(frame, |jit| {
                self.rules_for(frame).filter_map(|(pos, i)| self.evaluate(pos, i, frame, scratch, explain, Conditions { jit, meter: &meter })).collect()
            })
        });
        decision::combine(&c.program, &c.sources, &c.rule_spans, &c.policy_ref, &frame.tool_name, &outcomes, request)
    }

    /// The fast path (PRODUCT.md §3): the outcome of one request and the rules that made
    /// it, without reasons, explanations or modified arguments, allocating nothing when the
    /// request is valid, its rules run without error and at most 8 fire (strings the rules
    /// read are stored inline up to 23 bytes). The outcome is always the one `decide_with`
    /// gives for the same request and time; ask `decide_with` for the rest. `now` is the
    /// evaluation time when the request has no `time` (`None`: the clock). Fails closed
    /// like `decide_with`.
    ///
    /// ```
    /// let src = "policy p\nversion \"1\"\ndefault allow\ntool t(x: number)\nrule big: on t deny when x > 10\n";
    /// let policy = gavel::Policy::from_sources(&[("p.pol", src)]).expect("the policy compiles");
    /// let engine = policy.engine(gavel::Backend::Interpreter).expect("the interpreter is always available");
    /// let verdict = engine.verdict(br#"{"tool": "t", "args": {"x": 50}}"#, None);
    /// assert!(verdict.is_denied());
    /// assert_eq!(verdict.decided_by().collect::<Vec<_>>(), ["big"]);
    /// ```
    pub fn verdict(&self, request: &[u8], now: Option<f64>) -> Verdict<'_> {
        let program = &self.inner.program;
        fail_closed(|| self.verdict_unguarded(request, now), |_| Verdict::failed(program, Outcome::Deny))
    }

    fn verdict_unguarded(&self, request: &[u8], now: Option<f64>) -> Verdict<'_> {
        let program = &self.inner.program;
        self.decode_then(request, now, |frame| self.verdict_in(frame), |_| Verdict::failed(program, decision::on_error_outcome(program)))
    }

    /// The verdict for an already decoded request (for benchmarks of evaluation alone).
    #[doc(hidden)]
    pub fn verdict_frame(&self, frame: &Frame) -> Verdict<'_> {
        self.verdict_in(frame)
    }

    fn verdict_in(&self, frame: &Frame) -> Verdict<'_> {
        let program = &self.inner.program;
        let mut fired = Fired::default();
        #[cfg(feature = "jit")]
        if let Some(jit) = &self.jit {
            // The JIT notes only the rules that held or failed: no walk of the rest.
            if !jit.note_fired(program, frame, self.max_work(), &mut fired) {
                self.rules_for(frame).for_each(|(_, i)| fired.note(program, i, Err(())));
            }
            return Verdict::new(program, &mut fired);
        }
        let meter = self.meter();
        with_scratch(|scratch| {
            self.rules_for(frame).for_each(|(pos, i)| fired.note(program, i, self.held(pos, i, frame, scratch, Conditions { jit: None, meter: &meter })))
        });
        Verdict::new(program, &mut fired)
    }

    /// Appends the JSON of the decision for one request to `out`, without a newline: the
    /// same bytes as `serde_json::to_writer(out, &self.decide_with(request, options))`, made
    /// faster for the usual request (valid, no rule error, no modified arguments, no
    /// `explain`) by writing it from JSON pieces serialized once per policy instead of
    /// building a `Decision`; any other request gets the full decision, serialized. Fails
    /// closed like `decide_with`: on an internal fault, what this call wrote so far is
    /// replaced by the `deny` with an internal error.
    ///
    /// ```
    /// let src = "policy p\nversion \"1\"\ndefault allow\ntool t(x: number)\nrule big: on t deny when x > 10\n";
    /// let policy = gavel::Policy::from_sources(&[("p.pol", src)]).expect("the policy compiles");
    /// let engine = policy.engine(gavel::Backend::Interpreter).expect("the interpreter is always available");
    /// let request = br#"{"tool": "t", "args": {"x": 50}}"#;
    /// let options = gavel::DecideOptions { explain: false, now: Some(0.0) };
    /// let mut line = Vec::new();
    /// engine.write_decision(request, options, &mut line);
    /// assert_eq!(line, serde_json::to_vec(&engine.decide_with(request, options)).unwrap());
    /// ```
    pub fn write_decision(&self, request: &[u8], options: DecideOptions, out: &mut Vec<u8>) {
        self.write_decision_from_template(request, options, out);
    }

    /// `write_decision`, saying whether the JSON came from the template (for tests that
    /// each kind of request takes the path meant for it).
    pub(crate) fn write_decision_from_template(&self, request: &[u8], options: DecideOptions, out: &mut Vec<u8>) -> bool {
        let start = out.len();
        match fail_closed(|| Ok(self.write_unguarded(request, options, out)), |message| Err(message.to_string())) {
            Ok(from_template) => from_template,
            Err(message) => {
                out.truncate(start);
                write_json(out, &self.internal_fault(&message));
                false
            }
        }
    }

    fn write_unguarded(&self, request: &[u8], options: DecideOptions, out: &mut Vec<u8>) -> bool {
        let c = &*self.inner;
        let full = match (&c.template, options.explain) {
            (Some(template), false) => self.decode_then(
                request,
                options.now,
                |frame| self.write_frame(template, frame, request, out),
                |failure| Some(decision::input_failure(&c.program, &c.policy_ref, &failure)),
            ),
            _ => Some(self.decide_unguarded(request, options)),
        };
        match full {
            Some(d) => {
                write_json(out, &d);
                false
            }
            None => true,
        }
    }

    /// Writes the decision of a decoded request from the template when it is simple (no
    /// rule error, no modified arguments); otherwise returns the full decision to write.
    fn write_frame(&self, template: &decision::DecisionTemplate, frame: &Frame, request: &[u8], out: &mut Vec<u8>) -> Option<Decision> {
        let c = &*self.inner;
        let full = || Some(self.decide_in(frame, false, request));
        let verdict = self.verdict_in(frame);
        if verdict.has_errors() {
            return full();
        }
        let fired = verdict.fired_indices();
        // A `set` value is computed for every `set` rule that fired, even a shadow one or
        // under a deny, and may fail (an error).
        if verdict.modifies_args() || fired.iter().any(|&i| c.module.rule(i as usize).set_value.is_some()) {
            return full();
        }
        let fired: smallvec::SmallVec<[decision::Reasoned; 8]> = with_scratch(|scratch| {
            fired
                .iter()
                .filter_map(|&i| {
                    c.program
                        .rules
                        .get(i as usize)
                        .map(|rule| decision::Reasoned { rule: i, reason: self.reason(rule, c.module.rule(i as usize), frame, scratch, &self.meter()) })
                })
                .collect()
        });
        let start = out.len();
        if template.write(&c.program, verdict.outcome(), &frame.tool_name, &fired, out) {
            None
        } else {
            out.truncate(start);
            full()
        }
    }

    /// Decodes a request into a frame (for benchmarks of evaluation alone).
    #[doc(hidden)]
    pub fn decode(&self, request: &[u8], now: f64) -> Option<Frame> {
        self.inner.decoder.decode(request, now).ok()
    }

    /// Runs `f` with the JIT's condition results for the request's rules (`None` on the
    /// interpreter).
    fn with_jit<T>(&self, frame: &Frame, f: impl FnOnce(Option<&JitHeld<'_>>) -> T) -> T {
        #[cfg(feature = "jit")]
        if let Some(jit) = &self.jit {
            return jit.with_conditions(&self.inner.program, frame, self.max_work(), |held| f(Some(&held)));
        }
        let _ = frame;
        f(None)
    }

    /// The decision's work budget (`Limits::max_work`).
    fn max_work(&self) -> u64 {
        self.inner.limits.max_work as u64
    }

    /// A full work budget: one for the conditions of a decision, one for each fired rule's
    /// reason and `set` value, one for each trace.
    fn meter(&self) -> Meter {
        Meter::new(self.max_work())
    }

    /// The decision for a request whose evaluation failed inside the engine: always `deny`,
    /// whatever `on error` says, as nothing about the request is known to be valid; the
    /// fault is an `internal` error (not an input error: the request may be fine).
    fn internal_fault(&self, message: &str) -> Decision {
        let c = &*self.inner;
        let mut d = decision::input_failure(&c.program, &c.policy_ref, &InputFailure { tool_name: None, errors: Vec::new() });
        d.decision = decision::Outcome::Deny;
        d.errors = vec![decision::DecisionError::Internal { message: format!("internal error: {message}; the request is denied") }];
        d
    }

    /// The rule ids of the request's tool group in source order (a rule's position here is
    /// where the JIT puts its result), and whether it is the undeclared-tool group, whose
    /// rules apply by their tool patterns.
    fn group_of(&self, frame: &Frame) -> (&[u32], bool) {
        let groups = &self.inner.program.groups;
        match frame.tool.and_then(|t| groups.declared.get_index(t)) {
            Some((_, ids)) => (ids, false),
            None => (&groups.undeclared, true),
        }
    }

    /// The rules that apply to the request's tool, in source order, each with its position
    /// in the tool's group (where the JIT put its result).
    fn rules_for<'f>(&'f self, frame: &'f Frame) -> RulesFor<'f> {
        let c = &*self.inner;
        match self.group_of(frame) {
            (ids, false) => RulesFor::Declared(ids.iter().enumerate()),
            (ids, true) => RulesFor::Undeclared { ids: ids.iter().enumerate(), rules: &c.program.rules, tool: &frame.tool_name },
        }
    }

    /// Runs one rule (at position `pos` of the request's group); `None` when it neither
    /// fired nor errored.
    fn evaluate(&self, pos: usize, index: u32, frame: &Frame, scratch: &mut Scratch, explain: bool, conditions: Conditions<'_, '_>) -> Option<RuleOutcome> {
        let c = &*self.inner;
        let rule = &c.program.rules[index as usize];
        let code = c.module.rule(index as usize);
        let mut outcome = match self.held(pos, index, frame, scratch, conditions) {
            Ok(false) => return None,
            Ok(true) => RuleOutcome { rule: index, fired: true, error: None, reason: None, set_value: None, trace: None },
            Err(e) => RuleOutcome { rule: index, fired: fails_closed(rule), error: Some((e.span, e.message)), reason: None, set_value: None, trace: None },
        };
        // What a fired rule computes besides its condition has a budget of its own, so the
        // conditions' budget is spent the same way on both engines.
        let effects = self.meter();
        if let (Some(chunk), true) = (code.set_value, outcome.fired) {
            match c.module.run(chunk, frame, scratch, &effects, None) {
                Ok(v) => outcome.set_value = Some(v),
                Err(e) => {
                    outcome.fired = false;
                    outcome.error = Some((e.span, e.message));
                }
            }
        }
        if outcome.fired {
            outcome.reason = self.reason(rule, code, frame, scratch, &effects);
            if explain {
                outcome.trace = code.condition.map(|chunk| self.trace(chunk, rule, frame, scratch));
            }
        }
        Some(outcome)
    }

    /// Whether the condition of rule `index` (at position `pos` of the request's group) holds.
    fn held(&self, pos: usize, index: u32, frame: &Frame, scratch: &mut Scratch, conditions: Conditions<'_, '_>) -> Result<bool, vm::RuntimeError> {
        let c = &*self.inner;
        match (c.module.rule(index as usize).condition, conditions.jit) {
            (None, _) => Ok(true),
            (Some(_), Some(jit)) => jit_held(jit, pos, index),
            (Some(chunk), None) => c.module.run_condition(chunk, frame, scratch, conditions.meter),
        }
    }

    /// The rule's `because` text with its holes filled (timestamps as RFC 3339).
    fn reason(&self, rule: &ir::Rule, code: &vm::RuleCode, frame: &Frame, scratch: &mut Scratch, meter: &Meter) -> Option<String> {
        if code.reason.is_empty() {
            return None;
        }
        let mut text = String::new();
        for (part, ir_part) in code.reason.iter().zip(&rule.reason) {
            match (part, ir_part) {
                (vm::ReasonCode::Expr(chunk), ir::ReasonPart::Expr(e)) => match self.inner.module.run(*chunk, frame, scratch, meter, None) {
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
        let _ = c.module.run(chunk, frame, scratch, &self.meter(), Some(&mut entries));
        let nodes = condition_nodes(rule, &c.sources);
        let node_at = |span: Span| nodes.iter().find(|n| n.0 == span);
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
                value: decision::value_to_json(&value, node_at(span).map(|n| &n.1)),
                span: decision::SpanJson::new(span, &c.sources),
                label: nodes.iter().any(|n| n.0 == span && n.2),
            })
            .collect()
    }
}

/// Each node of the condition: its span, its type (to print values, e.g. timestamps) and
/// whether it is worth a label in explanations: a value read or computed (inputs, locals,
/// calls, named constants, ...), not a literal, a comparison or a connective.
fn condition_nodes(rule: &ir::Rule, sources: &SourceMap) -> Vec<(Span, crate::types::Type, bool)> {
    use ir::ExprKind as K;
    let mut out = Vec::new();
    if let Some(c) = &rule.condition {
        ir::passes::visit(c, &mut |e| {
            let connective = matches!(e.kind, K::And(..) | K::Or(..) | K::Not(_) | K::Has(_) | K::Compare(..) | K::List(_));
            let literal = matches!(e.kind, K::Const(_)) && is_literal(sources.slice(e.span));
            out.push((e.span, e.ty.clone(), !connective && !literal));
        });
    }
    out
}

/// Whether source text is a literal (`1_000`, `"x"`, `[..]`, `true`), whose value is plain.
fn is_literal(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '"' | '[' | '-')) || matches!(text, "true" | "false")
}

/// The rule ids of a request's tool group with their positions; see `Engine::rules_for`.
enum RulesFor<'f> {
    Declared(std::iter::Enumerate<std::slice::Iter<'f, u32>>),
    /// The undeclared-tool group, filtered by the rules' tool patterns.
    Undeclared {
        ids: std::iter::Enumerate<std::slice::Iter<'f, u32>>,
        rules: &'f [ir::Rule],
        tool: &'f str,
    },
}

impl Iterator for RulesFor<'_> {
    type Item = (usize, u32);

    fn next(&mut self) -> Option<(usize, u32)> {
        match self {
            RulesFor::Declared(ids) => ids.next().map(|(pos, &i)| (pos, i)),
            RulesFor::Undeclared { ids, rules, tool } => ids.map(|(pos, &i)| (pos, i)).find(|&(_, i)| match rules.get(i as usize).map(|r| &r.scope) {
                Some(ir::ToolScope::All) => true,
                Some(ir::ToolScope::Tools(ps)) => ps.iter().any(|p| ir::pattern_matches(p, tool)),
                None => false,
            }),
        }
    }
}

thread_local! {
    /// The decoded request of this thread's decision, reused so decoding need not allocate.
    static FRAME: std::cell::RefCell<Frame> = std::cell::RefCell::new(Frame::default());
    /// The interpreter's stacks, kept apart from the frame so that a JIT decision, which
    /// needs none, does not borrow them.
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

fn with_scratch<T>(f: impl FnOnce(&mut Scratch) -> T) -> T {
    crate::reuse::with_reused(&SCRATCH, f)
}

/// How one decision's conditions are decided: by the JIT's results (`None`: by the
/// interpreter), within the work budget they share.
#[derive(Clone, Copy)]
struct Conditions<'a, 'c> {
    jit: Option<&'a JitHeld<'c>>,
    meter: &'a Meter,
}

/// The JIT's results for one request, or the reason it could not run.
#[cfg(feature = "jit")]
type JitHeld<'c> = Result<&'c crate::jit::Conditions, vm::RuntimeError>;
#[cfg(not(feature = "jit"))]
type JitHeld<'c> = std::marker::PhantomData<&'c ()>;

#[cfg(feature = "jit")]
fn jit_held(jit: &JitHeld<'_>, pos: usize, index: u32) -> Result<bool, vm::RuntimeError> {
    match jit {
        Ok(c) => c
            .held_at(pos)
            .unwrap_or_else(|| Err(vm::RuntimeError { span: Span::default(), message: format!("internal: the JIT did not evaluate rule {index}") })),
        Err(e) => Err(e.clone()),
    }
}

#[cfg(not(feature = "jit"))]
fn jit_held(_: &JitHeld<'_>, _pos: usize, index: u32) -> Result<bool, vm::RuntimeError> {
    Err(vm::RuntimeError { span: Span::default(), message: format!("internal: no JIT for rule {index}") })
}

/// Appends serde's JSON of a full decision (`Engine::write_decision`'s slow path).
fn write_json(out: &mut Vec<u8>, d: &Decision) {
    // A decision always serializes (see `Decision::to_json`), and a `Vec` write cannot fail.
    let _ = serde_json::to_writer(out, d);
}

/// Runs `decide`; a panic inside it becomes `on_fault(message)`. The last line of defence:
/// the engine has no known panic, but a decision must come out whatever happens.
fn fail_closed<T>(decide: impl FnOnce() -> T, on_fault: impl FnOnce(&str) -> T) -> T {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(decide)) {
        Ok(d) => d,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "the engine failed".to_string());
            on_fault(&message)
        }
    }
}

fn now_seconds() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_while_deciding_is_a_deny_even_when_errors_allow() {
        let src = "policy p\nversion \"1\"\ndefault allow\non error allow\ntool t(x: number)\n";
        let policy = Policy::from_sources(&[("p.pol", src)]).expect("compiles");
        let engine = policy.engine(Backend::Interpreter).expect("interpreter");
        let d = fail_closed(|| panic!("injected fault"), |m| engine.internal_fault(m));
        assert!(d.is_denied());
        assert!(d.decided_by.is_empty() && d.rules.is_empty());
        assert_eq!(d.to_json()["errors"], serde_json::json!([{ "kind": "internal", "message": "internal error: injected fault; the request is denied" }]));
        assert!(d.explain(&policy).contains("an internal error stopped the decision"), "{}", d.explain(&policy));
        // Without a fault, the same engine decides normally.
        assert!(engine.decide_with(br#"{"tool": "t", "args": {"x": 1}}"#, DecideOptions::default()).is_allowed());
    }
}
