//! Gavel: a policy language, its compiler and its runtime, deciding whether an AI agent's
//! action may run.
//!
//! The pipeline, one module a stage: `syntax` (lexer, parser, AST) → `check` (names and
//! types, producing the typed IR) → `ir` (IR and passes) → `vm` (bytecode interpreter) →
//! `decision` (combining, JSON, explanations). `input` decodes requests into frames;
//! `ops` is what each operation computes, for both backends and the folder (below `ir`);
//! `diagnostics` reports errors; `limits` bounds what policies and requests may contain
//! (docs/security.md); `driver` reads and compiles policy sets; `engine` decides requests
//! (one entry for every output path, both backends behind one type); `inspect` lists what a policy declares, as JSON; `policy` is the
//! public API, a facade over the two; `store` keeps the events behind windows (the
//! in-memory store; redb and Redis are `crates/gavel-store`).
//! The command line is the `gavel-cli` crate (`crates/gavel-cli`).

pub mod builder;
pub mod check;
pub mod decision;
pub mod diagnostics;
mod driver;
mod engine;
mod input;
pub mod inspect;
mod ir;
#[cfg(feature = "jit")]
mod jit;
pub mod limits;
mod ops;
pub mod policy;
pub mod reuse;
pub mod span;
pub mod stdlib;
pub mod store;
pub mod syntax;
pub mod testing;
pub mod types;
pub mod value;
mod vm;

/// The compiler's stages, reachable for the benches (`benches/`) and fuzz targets (`fuzz/`),
/// which time and fuzz one stage alone (decoding without evaluating, the JIT's compile, the
/// IR passes). Not part of the API: nothing here is stable, and an embedder never needs it.
#[doc(hidden)]
pub mod internals {
    pub use crate::input::{Decoder, Frame, RequestSchema};
    pub use crate::ir::{passes, Program};
    #[cfg(feature = "jit")]
    pub use crate::jit::JitProgram;
    pub use crate::vm::compile as compile_bytecode;
}

pub use builder::PolicyBuilder;
pub use decision::{Decision, Outcome, Verdict, WrittenDecision};
pub use diagnostics::Diagnostics;
pub use limits::Limits;
pub use policy::{Backend, DecideOptions, Engine, EngineError, Policy};
