//! The Cranelift backend. In: an `ir::Program` after the passes (`Slot`s, no `FnCall`),
//! and at decision time a decoded request `Frame`. Out: a `JitProgram` (machine code, one
//! function per tool group) and, per request, which of the tool's rules' conditions hold:
//! true, false, or a `RuntimeError` with the same span and message as the interpreter's.
//!
//! Only conditions run here; reasons, `set` values and traces of fired rules stay on the
//! interpreter's path, so both backends produce the same decision JSON. A construct the
//! JIT cannot compile is a `JitError`, never a silent fallback to the interpreter.

mod codegen;
mod runtime;

pub use runtime::JitScratch;

use crate::input::Frame;
use crate::ir::{self, Program};
use crate::span::Span;
use crate::value::Value;
use crate::vm::RuntimeError;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_jit::{JITBuilder, JITModule};
use std::sync::Arc;

/// Why a program could not be compiled to machine code.
#[derive(Debug, Clone, PartialEq)]
pub enum JitError {
    /// An IR construct this backend does not compile (a bug to fix: there is no fallback).
    Unsupported { span: Span, what: String },
    /// Cranelift refused the generated code or the host.
    Backend(String),
    Internal(String),
}

impl std::fmt::Display for JitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JitError::Unsupported { span, what } => write!(f, "the JIT cannot compile {what} (at {span:?})"),
            JitError::Backend(m) => write!(f, "the JIT backend failed: {m}"),
            JitError::Internal(m) => write!(f, "internal JIT error: {m}"),
        }
    }
}

impl std::error::Error for JitError {}

/// A policy set's conditions in machine code. `Send + Sync`; frees its code when dropped.
pub struct JitProgram {
    code: runtime::Code,
    shared: runtime::Shared,
    /// Constants the code points into; kept alive (and unmoved) as long as the code.
    _pool: Vec<Arc<Value>>,
    /// Rule ids of each group: one per declared tool (in `ToolGroups::declared` order), then
    /// the undeclared-tool group.
    groups: Vec<Vec<u32>>,
    /// Tool patterns of each undeclared-group rule, for the per-request mask.
    undeclared_scopes: Vec<ir::ToolScope>,
    slot_count: usize,
}

/// The condition results of one request's group, as returned by `JitProgram::conditions`.
/// Its working memory goes back to a per-thread cache when dropped.
pub struct Conditions<'p> {
    rules: &'p [u32],
    scratch: JitScratch,
}

thread_local! {
    /// Working memory of the last decision on this thread, so deciding need not allocate.
    static SCRATCH: std::cell::Cell<Option<JitScratch>> = const { std::cell::Cell::new(None) };
}

impl Drop for Conditions<'_> {
    fn drop(&mut self) {
        let scratch = std::mem::take(&mut self.scratch);
        SCRATCH.with(|s| s.set(Some(scratch)));
    }
}

impl Conditions<'_> {
    /// Whether rule `index`'s condition held; `None` when the rule is not in the group or
    /// was masked out (it does not apply to the request's tool).
    pub fn held(&self, index: u32) -> Option<Result<bool, RuntimeError>> {
        let pos = self.rules.binary_search(&index).ok()?;
        if self.scratch.mask.get(pos) != Some(&1) {
            return None;
        }
        match self.scratch.results.get(pos)? {
            0 => Some(Ok(false)),
            1 => Some(Ok(true)),
            _ => Some(Err(self
                .scratch
                .errors
                .iter()
                .find(|(p, _)| *p as usize == pos)
                .map(|(_, e)| e.clone())
                .unwrap_or_else(|| RuntimeError { span: Span::default(), message: "internal: rule failed without an error".into() }))),
        }
    }
}

impl JitProgram {
    /// Compiles every rule condition of `program`, one function per tool group.
    pub fn compile(program: &Program) -> Result<JitProgram, JitError> {
        let mut module = new_module()?;
        let mut groups: Vec<Vec<u32>> = program.groups.declared.values().cloned().collect();
        groups.push(program.groups.undeclared.clone());
        for g in &mut groups {
            // `Conditions::held` looks rules up by binary search.
            g.sort_unstable();
            g.dedup();
        }
        let mut tables = codegen::Tables::default();
        let ids = codegen::compile_groups(&mut module, program, &groups, &mut tables)?;
        module.finalize_definitions().map_err(|e| JitError::Backend(e.to_string()))?;
        let ptrs = ids.iter().map(|&id| module.get_finalized_function(id)).collect();
        let (shared, pool) = tables.into_shared(program.regexes.clone());
        let undeclared_scopes = groups.last().into_iter().flatten().filter_map(|&i| program.rules.get(i as usize)).map(|r| r.scope.clone()).collect();
        Ok(JitProgram { code: runtime::Code::new(module, ptrs), shared, _pool: pool, groups, undeclared_scopes, slot_count: program.slots.len() })
    }

    /// Evaluates the conditions of the rules that apply to the request's tool.
    pub fn conditions(&self, frame: &Frame) -> Result<Conditions<'_>, RuntimeError> {
        let mut scratch = SCRATCH.with(|s| s.take()).unwrap_or_default();
        let undeclared = self.groups.len().saturating_sub(1);
        let g = frame.tool.filter(|&t| t < undeclared).unwrap_or(undeclared);
        let rules = self.groups.get(g).map_or(&[][..], Vec::as_slice);
        scratch.mask.clear();
        if g == undeclared {
            let tool = frame.tool_name.as_str();
            scratch.mask.extend(self.undeclared_scopes.iter().map(|s| {
                u8::from(match s {
                    ir::ToolScope::All => true,
                    ir::ToolScope::Tools(ps) => ps.iter().any(|p| ir::pattern_matches(p, tool)),
                })
            }));
        } else {
            scratch.mask.resize(rules.len(), 1);
        }
        self.code
            .run(g, &self.shared, &frame.slots, self.slot_count, &mut scratch)
            .map_err(|message| RuntimeError { span: Span::default(), message })?;
        Ok(Conditions { rules, scratch })
    }
}

/// A JIT module for the host, with the flags TOOLCHAIN.md asks for.
fn new_module() -> Result<JITModule, JitError> {
    let err = |e: &dyn std::fmt::Display| JitError::Backend(e.to_string());
    let mut flags = settings::builder();
    flags.set("use_colocated_libcalls", "false").map_err(|e| err(&e))?;
    flags.set("is_pic", "false").map_err(|e| err(&e))?;
    flags.set("opt_level", "none").map_err(|e| err(&e))?;
    flags.set("enable_verifier", "false").map_err(|e| err(&e))?;
    flags.set("regalloc_algorithm", "single_pass").map_err(|e| err(&e))?;
    let isa = cranelift_native::builder()
        .map_err(|e| err(&e))?
        .finish(settings::Flags::new(flags))
        .map_err(|e| err(&e))?;
    Ok(JITModule::new(JITBuilder::with_isa(isa, cranelift_module::default_libcall_names())))
}
