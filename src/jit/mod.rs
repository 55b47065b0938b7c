//! The Cranelift backend. In: an `ir::Program` after the passes (`Slot`s, no `FnCall`),
//! and at decision time a decoded request `Frame`. Out: a `JitProgram` (machine code, one
//! function per tool group, compiled on the group's first request) and, per request, which of
//! the tool's rules' conditions hold: true, false, or a `RuntimeError` with the same span and
//! message as the interpreter's; for the fast path, the rules that held or failed, noted
//! straight into the verdict's `Fired` list.
//!
//! Only conditions run here; reasons, `set` values and traces of fired rules stay on the
//! interpreter's path, so both backends produce the same decision JSON. A construct the
//! JIT cannot compile is a `JitError`, never a silent fallback to the interpreter.

mod abi;
mod codegen;
// The one module allowed `unsafe` (Cargo.toml denies it everywhere else).
#[allow(unsafe_code)]
mod runtime;

pub use runtime::JitScratch;

use crate::decision::Fired;
use crate::input::Frame;
use crate::ir::{self, Program};
use crate::ops::fault;
use crate::span::Span;
use crate::value::Value;
use crate::vm::RuntimeError;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_jit::{JITBuilder, JITModule};
use std::sync::{Arc, OnceLock};

/// Why a program could not be compiled to machine code.
#[derive(Debug, Clone, PartialEq)]
pub enum JitError {
    /// An IR construct this backend does not compile (a bug to fix: there is no fallback).
    Unsupported {
        span: Span,
        what: String,
    },
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

/// A policy set's conditions, compiled to machine code lazily: each tool group's function
/// is compiled on the group's first request (thread-safely, once), so creating a
/// `JitProgram` is cheap and a request pays only for its own group. `Send + Sync`; frees its
/// code when dropped.
pub struct JitProgram {
    /// The host ISA, built once and shared by every group's module.
    isa: cranelift_codegen::isa::OwnedTargetIsa,
    /// One per declared tool (in `ToolGroups::declared` order), then the undeclared group.
    groups: Vec<Group>,
    /// Tool patterns of each undeclared-group rule, for the per-request mask.
    undeclared_scopes: Vec<ir::ToolScope>,
    regexes: Vec<regex::Regex>,
    slot_count: usize,
    rule_count: usize,
}

/// One tool group: its rule ids (in the program's order, so a rule's position here is its
/// position in `ToolGroups`) and its machine code once compiled.
struct Group {
    rules: Vec<u32>,
    /// The undeclared-tool group: its rules apply by tool pattern, so its code reads a mask.
    masked: bool,
    code: OnceLock<Result<GroupCode, String>>,
}

/// A compiled group function with the tables it points into.
struct GroupCode {
    code: runtime::Code,
    shared: runtime::Shared,
    /// Constants the code points into; kept alive (and unmoved) as long as the code.
    _pool: Vec<Arc<Value>>,
}

/// The condition results of one request's group, lent by `JitProgram::with_conditions`.
#[derive(Default)]
pub struct Conditions {
    scratch: JitScratch,
    /// The group ran with a mask (the undeclared-tool group): unmasked rules did not run.
    masked: bool,
}

thread_local! {
    /// The results and working memory of this thread's decisions, reused in place (not
    /// moved in and out), so deciding neither allocates nor copies them.
    static CONDITIONS: std::cell::RefCell<Conditions> = std::cell::RefCell::new(Conditions::default());
}

impl Conditions {
    /// Whether the condition of the rule at position `pos` of the request's group held;
    /// `None` when there is no such position or it was masked out (the rule does not apply
    /// to the request's tool).
    pub fn held_at(&self, pos: usize) -> Option<Result<bool, RuntimeError>> {
        if self.masked && self.scratch.mask.get(pos) != Some(&1) {
            return None;
        }
        Some(self.result(pos, *self.scratch.results.get(pos)?))
    }

    fn result(&self, pos: usize, byte: u8) -> Result<bool, RuntimeError> {
        match byte {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(self
                .scratch
                .error_at(pos)
                .unwrap_or_else(|| RuntimeError { span: Span::default(), message: fault::machine("rule failed without an error").into_owned() })),
        }
    }
}

impl JitProgram {
    /// Prepares `program` for lazy compilation: nothing is compiled until a group's first
    /// request. `conditions` must be given the same program.
    pub fn new(program: &Program) -> Result<JitProgram, JitError> {
        let mut groups: Vec<Group> = program.groups.declared.values().map(|r| Group { rules: r.clone(), masked: false, code: OnceLock::new() }).collect();
        groups.push(Group { rules: program.groups.undeclared.clone(), masked: true, code: OnceLock::new() });
        let undeclared_scopes = program.groups.undeclared.iter().filter_map(|&i| program.rules.get(i as usize)).map(|r| r.scope.clone()).collect();
        Ok(JitProgram {
            isa: host_isa()?,
            groups,
            undeclared_scopes,
            regexes: program.regexes.clone(),
            slot_count: program.slots.len(),
            rule_count: program.rules.len(),
        })
    }

    /// Compiles every group now (what `new` defers); for measuring the full compile time.
    pub fn compile(program: &Program) -> Result<JitProgram, JitError> {
        let jit = JitProgram::new(program)?;
        for g in 0..jit.groups.len() {
            jit.group_code(program, g).map_err(JitError::Internal)?;
        }
        Ok(jit)
    }

    /// Group `g`'s machine code, compiled on first use.
    #[inline]
    fn group_code(&self, program: &Program, g: usize) -> Result<&GroupCode, String> {
        let group = self.groups.get(g).ok_or_else(|| fault::no_such("tool group", g as u32).into_owned())?;
        let code = group.code.get_or_init(|| self.compile_group(program, &group.rules, group.masked).map_err(|e| e.to_string()));
        code.as_ref().map_err(|e| fault::internal(e).into_owned())
    }

    fn compile_group(&self, program: &Program, rules: &[u32], masked: bool) -> Result<GroupCode, JitError> {
        // The generated code indexes the frame's slots by the program's slot numbers.
        if program.slots.len() != self.slot_count || program.rules.len() != self.rule_count {
            return Err(JitError::Internal("the JIT was prepared for another program".into()));
        }
        let mut module = JITModule::new(JITBuilder::with_isa(self.isa.clone(), cranelift_module::default_libcall_names()));
        let mut tables = codegen::Tables::default();
        let (id, memo_words) = codegen::compile_group(&mut module, program, rules, masked, &mut tables)?;
        module.finalize_definitions().map_err(|e| JitError::Backend(e.to_string()))?;
        let ptr = module.get_finalized_function(id);
        let (shared, pool) = tables.into_shared();
        Ok(GroupCode { code: runtime::Code::new(module, ptr, rules.len(), masked, memo_words), shared, _pool: pool })
    }

    /// Evaluates the conditions of the rules that apply to the request's tool, compiling
    /// the tool's group first if this is its first request, and gives the results to `f`.
    /// `program` must be the one this `JitProgram` was made from.
    /// The conditions share a work budget of `max_work` units (`Limits::max_work`).
    pub fn with_conditions<T>(&self, program: &Program, frame: &Frame, max_work: u64, f: impl FnOnce(Result<&Conditions, RuntimeError>) -> T) -> T {
        crate::reuse::with_reused(&CONDITIONS, |conditions| {
            let done = self.run(program, frame, max_work, conditions);
            f(done.map(|_| &*conditions))
        })
    }

    /// The fast path's use of the JIT: notes into `fired` the rules of the request's group
    /// whose condition held or failed, without walking the rest. False when the group could
    /// not run (then nothing was noted).
    pub(crate) fn note_fired(&self, program: &Program, frame: &Frame, max_work: u64, fired: &mut Fired) -> bool {
        crate::reuse::with_reused(&CONDITIONS, |conditions| {
            let Ok(ids) = self.run(program, frame, max_work, conditions) else { return false };
            let scratch = &conditions.scratch;
            if scratch.any != 0 {
                // The results are sized to the group, so each has its id.
                for (&byte, &id) in scratch.results.iter().zip(ids).filter(|(&b, _)| b != 0) {
                    fired.note(program, id, if byte == 1 { Ok(true) } else { Err(()) });
                }
            }
            true
        })
    }

    /// Runs the request's group into `conditions`; gives the group's rule ids.
    #[inline]
    fn run(&self, program: &Program, frame: &Frame, max_work: u64, conditions: &mut Conditions) -> Result<&[u32], RuntimeError> {
        let undeclared = self.groups.len().saturating_sub(1);
        let g = frame.tool.filter(|&t| t < undeclared).unwrap_or(undeclared);
        let internal = |message| RuntimeError { span: Span::default(), message };
        let code = self.group_code(program, g).map_err(internal)?;
        conditions.masked = g == undeclared;
        let scratch = &mut conditions.scratch;
        if conditions.masked {
            let tool = frame.tool_name.as_str();
            scratch.mask.clear();
            scratch.mask.extend(self.undeclared_scopes.iter().map(|s| {
                u8::from(match s {
                    ir::ToolScope::All => true,
                    ir::ToolScope::Tools(ps) => ps.iter().any(|p| ir::pattern_matches(p, tool)),
                })
            }));
        }
        code.code.run(&code.shared, &self.regexes, &frame.slots, self.slot_count, max_work, scratch).map_err(internal)?;
        Ok(self.groups.get(g).map_or(&[], |group| &group.rules))
    }
}

/// The host ISA with the flags TOOLCHAIN.md asks for, tuned for compile speed, with inline
/// stack probes.
fn host_isa() -> Result<cranelift_codegen::isa::OwnedTargetIsa, JitError> {
    let err = |e: &dyn std::fmt::Display| JitError::Backend(e.to_string());
    let mut flags = settings::builder();
    flags.set("use_colocated_libcalls", "false").map_err(|e| err(&e))?;
    flags.set("is_pic", "false").map_err(|e| err(&e))?;
    flags.set("opt_level", "none").map_err(|e| err(&e))?;
    flags.set("enable_verifier", "false").map_err(|e| err(&e))?;
    flags.set("regalloc_algorithm", "single_pass").map_err(|e| err(&e))?;
    // A frame larger than the guard page must touch each page on the way down, so that a
    // deep frame hits the guard (a clean stack-overflow abort) instead of skipping past it
    // into other memory.
    flags.set("enable_probestack", "true").map_err(|e| err(&e))?;
    flags.set("probestack_strategy", "inline").map_err(|e| err(&e))?;
    cranelift_native::builder().map_err(|e| err(&e))?.finish(settings::Flags::new(flags)).map_err(|e| err(&e))
}
