//! What each operation of the language computes, for every backend and the constant
//! folder alike. In: operand values (and the decision's work `Meter` for what costs work).
//! Out: the result, or a `Fault` whose message comes from `fault`.
//!
//! `arith` (`+ - * / %`), `compare` (`== != < <= > >=`), `access` (fields, indexes, the
//! elements a quantifier iterates), `regex` (a regex's subject and matches), `set`
//! (membership in a hashed constant list of strings), `builtins` (the one table of builtin
//! methods and functions, with their implementations), `meter` (the work budget) and
//! `fault` (every run-time fault's message). The interpreter
//! (`vm::exec`), the JIT's helpers (`jit::runtime`) and folding (`ir::passes`) call these
//! and write no semantics or fault text of their own; the integer codes the JIT passes
//! (operators, fault kinds, string tests) are these enums' `#[repr(u32)]` values, read back
//! with their checked `from_u32`. Nothing here depends on a backend or on the IR.

pub(crate) mod access;
pub(crate) mod arith;
pub mod builtins;
pub(crate) mod compare;
pub(crate) mod fault;
mod meter;
pub(crate) mod regex;
pub mod set;

pub use arith::ArithOp;
pub use builtins::Builtin;
pub use compare::CmpOp;
pub use meter::Meter;

#[cfg(test)]
mod tests;
