//! The policy builder. In: policy paths and in-memory sources, reference data (files or
//! JSON text, each replacing the `data/NAME.json` of a policy folder) and `Limits`. Out: a
//! compiled `Policy`, or every diagnostic.

use crate::diagnostics::Diagnostics;
use crate::driver::{self, DataOrigin, SourceFile};
use crate::limits::Limits;
use crate::policy::Policy;
use std::path::PathBuf;

/// Builds a `Policy` from paths, sources and data:
///
/// ```
/// let policy = gavel::Policy::builder()
///     .source("p.pol", "policy p\nversion \"1\"\ndefault allow\ndata limits: map<number>\ntool pay(amount: number, currency: string)\nrule over_limit: on pay deny when amount > (limits[currency] ?? 0)\n")
///     .data("limits", r#"{"USD": 100}"#)
///     .build()
///     .expect("the policy compiles");
/// let engine = policy.engine(gavel::Backend::Interpreter).expect("the interpreter is always available");
/// assert!(engine.decide_json(br#"{"tool": "pay", "args": {"amount": 500, "currency": "USD"}}"#).unwrap().is_denied());
/// ```
#[derive(Default)]
pub struct PolicyBuilder {
    paths: Vec<PathBuf>,
    sources: Vec<SourceFile>,
    data: Vec<(String, DataOrigin)>,
    limits: Limits,
}

impl PolicyBuilder {
    /// A `.pol` file, or a folder read recursively; a folder's `data/*.json` supplies data.
    pub fn path(mut self, path: impl Into<PathBuf>) -> PolicyBuilder {
        self.paths.push(path.into());
        self
    }

    /// An in-memory policy source: its name in diagnostics and its text.
    pub fn source(mut self, name: impl Into<String>, text: impl Into<String>) -> PolicyBuilder {
        self.sources.push(SourceFile { name: name.into(), text: text.into(), path: None });
        self
    }

    /// The data `name` as JSON text, replacing any `data/NAME.json` (whole, not merged).
    pub fn data(mut self, name: impl Into<String>, json: impl Into<String>) -> PolicyBuilder {
        self.data.push((name.into(), DataOrigin::Text(json.into())));
        self
    }

    /// The data `name` from a JSON file, replacing any `data/NAME.json` (`--data NAME=FILE`).
    pub fn data_file(mut self, name: impl Into<String>, path: impl Into<PathBuf>) -> PolicyBuilder {
        self.data.push((name.into(), DataOrigin::File(path.into())));
        self
    }

    /// The limits for compiling and for every decision (default: `Limits::default()`).
    pub fn limits(mut self, limits: Limits) -> PolicyBuilder {
        self.limits = limits;
        self
    }

    /// Reads, checks and compiles everything given.
    pub fn build(self) -> Result<Policy, Diagnostics> {
        let mut files = if self.paths.is_empty() { Vec::new() } else { driver::read_paths(&self.paths, &self.limits)? };
        files.extend(self.sources);
        let data = driver::read_data(&self.paths, &self.data, &self.limits)?;
        driver::compile(files, data, &self.limits).map(Policy::from_compiled)
    }
}
