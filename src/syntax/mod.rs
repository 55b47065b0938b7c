//! Syntax: source text to AST. In: one file's text and id. Out: the `ast::File` and the
//! syntax diagnostics. Parsing never fails: it returns what it could read and the errors.

pub mod ast;
