//! The library API (PRODUCT.md §3), a facade. In: `.pol` paths or sources. Out: a compiled
//! `Policy` (or the diagnostics), `Engine`s that decide requests from JSON bytes on any
//! thread. Loading and compiling are `driver`'s; deciding is `engine`'s, whose one entry
//! every method of `Engine` goes through.
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
use crate::decision::{self, Decision, PolicyRef, Verdict, WrittenDecision};
use crate::diagnostics::Diagnostics;
use crate::driver::Compiled;
use crate::engine::{self, DecideContext};
use crate::input::Frame;
use crate::ir::Program;
use crate::limits::Limits;
use crate::span::{FileId, SourceMap};
use crate::store::{Bounds, MemoryStore, StoreError, WindowSpec, WindowStore};
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

/// A compiled policy set. `Send + Sync`; cheap to share behind an `Arc`.
pub struct Policy {
    inner: Arc<Compiled>,
}

/// Which backend decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// The bytecode interpreter: always available.
    Interpreter,
    /// The Cranelift JIT (the `jit` cargo feature, on by default).
    Jit,
}

/// Why an engine could not be created.
#[derive(Debug, Clone, PartialEq)]
pub enum EngineError {
    /// This build has no JIT (the `jit` cargo feature is off).
    JitUnavailable,
    /// The JIT cannot generate code for this machine: Cranelift has no backend for the host
    /// (its architecture or CPU features), found by `Policy::engine(Backend::Jit)`; the
    /// interpreter still works. Nothing is compiled then: each tool group is compiled on its
    /// first request, and a group that fails to compile (or whose code memory is refused)
    /// makes each of its rules a rule error, which fails closed, not this error.
    JitFailed(String),
    /// The policy's windows could not be given an in-memory store (their definitions are
    /// out of the store's range, e.g. a duration beyond `store::MAX_TIME`).
    Store(String),
}

impl std::fmt::Display for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EngineError::JitUnavailable => {
                write!(f, "the JIT engine is not available in this build (built without the `jit` feature); use `--engine interp` (Backend::Interpreter)")
            }
            EngineError::JitFailed(m) => write!(f, "the JIT cannot run on this machine: {m}; use `--engine interp` (Backend::Interpreter)"),
            EngineError::Store(m) => write!(f, "the policy's windows cannot be kept: {m}"),
        }
    }
}

impl std::error::Error for EngineError {}

/// Options for one decision.
#[derive(Clone, Copy, Debug, Default)]
pub struct DecideOptions {
    /// Attach a trace of each fired rule's sub-expressions.
    pub explain: bool,
    /// The evaluation time, used when the request has no `time`; `None` means the clock.
    pub now: Option<SystemTime>,
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

    /// An engine deciding with `backend`. Cheap, also for the JIT: each tool group's code is
    /// compiled on the group's first request.
    pub fn engine(&self, backend: Backend) -> Result<Engine, EngineError> {
        let core = engine::Core::new(self.compiled(), backend)?;
        let store = memory_store(&core)?;
        Ok(Engine { core, store })
    }

    /// The policy's name (its `policy NAME` line).
    pub fn name(&self) -> &str {
        &self.inner.policy_ref.name
    }

    /// The policy's version (its `version "…"` line).
    pub fn version(&self) -> &str {
        &self.inner.policy_ref.version
    }

    /// Name, version and digest together: what every decision names in its `policy` field.
    pub fn policy_ref(&self) -> &PolicyRef {
        &self.inner.policy_ref
    }

    /// How many rules the policy set has (the standard library's included).
    pub fn rule_count(&self) -> usize {
        self.inner.program.rules.len()
    }

    /// How many tools the policy set declares.
    pub fn tool_count(&self) -> usize {
        self.inner.program.schema.tools.len()
    }

    /// `sha256:…` of the policy set's sources (names and contents, sorted by name).
    pub fn digest(&self) -> &str {
        &self.inner.policy_ref.digest
    }

    /// Warnings from compilation (the policy compiled, but something deserves a look).
    pub fn warnings(&self) -> Diagnostics {
        Diagnostics { items: self.inner.warnings.clone(), sources: self.inner.sources.clone() }
    }

    /// The policy's source files, for rendering diagnostics and spans.
    pub fn sources(&self) -> &SourceMap {
        &self.inner.sources
    }

    /// The typed IR. Hidden: it is for the benches and the tests that compare IR (its type is
    /// in `internals`, which has no stability); an embedder reads the policy through the
    /// other methods and `inspect`.
    #[doc(hidden)]
    pub fn program(&self) -> &Program {
        &self.inner.program
    }

    /// The `test` blocks of the policy set, for `testing::run_tests`.
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

    /// The compiled policy set, shared.
    pub(crate) fn compiled(&self) -> Arc<Compiled> {
        self.inner.clone()
    }
}

/// A new in-memory store for the policy's windows (`None` when it has none).
fn memory_store(core: &engine::Core) -> Result<Option<Arc<dyn WindowStore>>, EngineError> {
    let specs = core.window_specs();
    if specs.is_empty() {
        return Ok(None);
    }
    let store = MemoryStore::new(&specs, Bounds::default()).map_err(|e| EngineError::Store(e.message))?;
    Ok(Some(Arc::new(store)))
}

impl Decision {
    /// The text rendering of this decision against the policy that made it.
    pub fn explain(&self, policy: &Policy) -> String {
        decision::explain(self, &policy.inner.sources)
    }
}

/// Decides requests. `Send + Sync`: share one engine between threads; deciding takes `&self`.
pub struct Engine {
    core: engine::Core,
    /// Where the policy's windows live (`None`: it has none). In memory unless replaced by
    /// `with_store`.
    store: Option<Arc<dyn WindowStore>>,
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
    /// fault is caught and becomes a `deny` with an `internal error` in `errors`.
    pub fn decide_with(&self, request: &[u8], options: DecideOptions) -> Decision {
        self.core.decide(request, &self.context(options.explain, options.now), engine::Full)
    }

    /// `decide_with`, and `settle` may change the decision once it is made, before the
    /// windows record it: a service that consumes an approval turns `require_approval` into
    /// `allow` here, so windows counting allowed calls count it. Invalid requests and faults
    /// are not passed to `settle`.
    pub fn decide_settled(&self, request: &[u8], options: DecideOptions, settle: impl FnMut(&mut Decision)) -> Decision {
        self.core.decide(request, &self.context(options.explain, options.now), engine::Settled(settle))
    }

    /// This engine deciding with `store` for the policy's windows (opened with
    /// `window_specs`): an embedded or shared store instead of the one in memory. Each
    /// decision reads the windows its rules read before they run, and records the request
    /// after it (LANGUAGE.md §8). Without windows, the store is not used.
    pub fn with_store(mut self, store: Arc<dyn WindowStore>) -> Engine {
        if self.store.is_some() {
            self.store = Some(store);
        }
        self
    }

    /// The policy's windows as a store is opened with them.
    pub fn window_specs(&self) -> Vec<WindowSpec> {
        self.core.window_specs()
    }

    /// Makes every decision recorded so far durable in the window store (`WindowStore::sync`);
    /// call it before a decision leaves the process when the store is persistent.
    pub fn sync_windows(&self) -> Result<(), StoreError> {
        self.store.as_ref().map_or(Ok(()), |s| s.sync())
    }

    /// The same engine with a new, empty in-memory window store: each `gavel test` starts
    /// with no history.
    pub(crate) fn with_fresh_windows(&self) -> Result<Engine, EngineError> {
        Ok(Engine { core: self.core.clone(), store: memory_store(&self.core)? })
    }

    fn context(&self, explain: bool, now: Option<SystemTime>) -> DecideContext<'_> {
        DecideContext::new(explain, now, self.store.as_deref())
    }

    /// `decide_with`, with the values of some windows (index in `Program::windows`, value)
    /// set instead of read from the store (a test's `windows { ... }`); the request is
    /// recorded as usual.
    pub(crate) fn decide_setting_windows(&self, request: &[u8], options: DecideOptions, set: &[(u32, crate::value::Value)]) -> Decision {
        let ctx = DecideContext { set_windows: set, ..self.context(options.explain, options.now) };
        self.core.decide(request, &ctx, engine::Full)
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
    pub fn verdict(&self, request: &[u8], now: Option<SystemTime>) -> Verdict<'_> {
        self.core.decide(request, &self.context(false, now), engine::Fast)
    }

    /// Appends the JSON of the decision for one request to `out`, without a newline: the
    /// same bytes as `serde_json::to_writer(out, &self.decide_with(request, options))`, made
    /// faster for the usual request (valid, no rule error, no modified arguments, no
    /// `explain`) by writing it from JSON pieces serialized once per policy instead of
    /// building a `Decision`; any other request gets the full decision, serialized. Fails
    /// closed like `decide_with`: on an internal fault, what this call wrote so far is
    /// replaced by the `deny` with an internal error. Returns the outcome, and whether the
    /// decision lists errors, so a caller can count without parsing what was written.
    ///
    /// ```
    /// let src = "policy p\nversion \"1\"\ndefault allow\ntool t(x: number)\nrule big: on t deny when x > 10\n";
    /// let policy = gavel::Policy::from_sources(&[("p.pol", src)]).expect("the policy compiles");
    /// let engine = policy.engine(gavel::Backend::Interpreter).expect("the interpreter is always available");
    /// let request = br#"{"tool": "t", "args": {"x": 50}}"#;
    /// let options = gavel::DecideOptions { explain: false, now: Some(std::time::SystemTime::UNIX_EPOCH) };
    /// let mut line = Vec::new();
    /// let written = engine.write_decision(request, options, &mut line);
    /// assert_eq!(written.outcome, gavel::Outcome::Deny);
    /// assert_eq!(line, serde_json::to_vec(&engine.decide_with(request, options)).unwrap());
    /// ```
    pub fn write_decision(&self, request: &[u8], options: DecideOptions, out: &mut Vec<u8>) -> WrittenDecision {
        self.core.decide(request, &self.context(options.explain, options.now), engine::Json::new(out)).summary()
    }

    /// `write_decision`, saying whether the JSON came from the template (for tests that
    /// each kind of request takes the path meant for it).
    #[cfg(test)]
    pub(crate) fn write_decision_from_template(&self, request: &[u8], options: DecideOptions, out: &mut Vec<u8>) -> bool {
        self.core.decide(request, &self.context(options.explain, options.now), engine::Json::new(out)).from_template
    }

    // The three `#[doc(hidden)]` methods below are for the benches (`benches/`), which time
    // decoding and evaluation apart; they are not part of the API.

    /// Decodes a request into a frame (for benchmarks of evaluation alone).
    #[doc(hidden)]
    pub fn decode(&self, request: &[u8], now: SystemTime) -> Option<Frame> {
        self.core.decode(request, now)
    }

    /// Decides an already decoded request (for benchmarks of evaluation alone).
    #[doc(hidden)]
    pub fn decide_frame(&self, frame: &Frame, explain: bool, request: &[u8]) -> Decision {
        self.core.decide_frame(frame, explain, request)
    }

    /// The verdict for an already decoded request (for benchmarks of evaluation alone).
    #[doc(hidden)]
    pub fn verdict_frame(&self, frame: &Frame) -> Verdict<'_> {
        self.core.verdict_frame(frame)
    }
}
