//! The abstract syntax tree. Every node carries an [`AstSpan`]: a byte span plus file id
//! whose equality always holds, so two trees are equal when they differ only in positions.

use crate::span::Span;
use std::ops::Deref;

/// A span inside the AST. Compares equal to every other `AstSpan`, so AST equality ignores
/// positions; dereferences to the real [`Span`].
#[derive(Clone, Copy, Debug, Default)]
pub struct AstSpan(pub Span);

impl PartialEq for AstSpan {
    fn eq(&self, _: &AstSpan) -> bool {
        true
    }
}

impl Deref for AstSpan {
    type Target = Span;
    fn deref(&self) -> &Span {
        &self.0
    }
}

impl From<Span> for AstSpan {
    fn from(s: Span) -> AstSpan {
        AstSpan(s)
    }
}

/// One parsed `.pol` file.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct File {
    pub items: Vec<Item>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: AstSpan,
}

/// A string literal: `value` is unescaped; `span` includes the quotes.
#[derive(Clone, Debug, PartialEq)]
pub struct StrLit {
    pub value: String,
    pub span: AstSpan,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// `policy NAME`
    Policy(Ident),
    /// `version "..."`
    Version(StrLit),
    /// `default allow|deny`
    Default(DefaultEffect, AstSpan),
    /// `on error allow|deny`
    OnError(DefaultEffect, AstSpan),
    Type(TypeDecl),
    Tool(ToolDecl),
    Request(RequestDecl),
    Let(LetDecl),
    /// `data NAME: TYPE`
    Data(DataDecl),
    /// `window NAME = AGG(...) ...`
    Window(WindowDecl),
    Fn(FnDecl),
    Rule(Rule),
    /// `on TOOLS { rules and lets }`
    Block(OnBlock),
    Fixture(Fixture),
    Test(TestDecl),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultEffect {
    Allow,
    Deny,
}

/// `type Name = TYPE`
#[derive(Clone, Debug, PartialEq)]
pub struct TypeDecl {
    pub name: Ident,
    pub ty: TypeExpr,
    pub span: AstSpan,
}

/// `tool payments.transfer(amount: number, memo?: string)`
#[derive(Clone, Debug, PartialEq)]
pub struct ToolDecl {
    /// The dotted name as written, e.g. `payments.transfer`; its span covers the name.
    pub name: Ident,
    pub params: Vec<FieldDecl>,
    /// Written with a last `...`: undeclared arguments are let through unread. A closed
    /// tool (the default) makes each one an input error.
    pub open: bool,
    pub span: AstSpan,
}

/// `request { agent: {...}, ... }`
#[derive(Clone, Debug, PartialEq)]
pub struct RequestDecl {
    pub fields: Vec<FieldDecl>,
    pub span: AstSpan,
}

/// `name: TYPE` or `name?: TYPE`, in records, tool parameters and the request block.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldDecl {
    pub name: Ident,
    pub optional: bool,
    pub ty: TypeExpr,
    pub span: AstSpan,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TypeExpr {
    pub kind: TypeExprKind,
    pub span: AstSpan,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TypeExprKind {
    /// `bool`, `number`, `string`, `duration`, `timestamp` or a declared type's name.
    Named(Ident),
    List(Box<TypeExpr>),
    Map(Box<TypeExpr>),
    Record(Vec<FieldDecl>),
    /// `"a" | "b" | "c"`
    Enum(Vec<StrLit>),
    /// `lenient number`: a number that may also arrive as a numeric string (our extension;
    /// only the whole type of a tool argument, request or record field).
    Lenient(Box<TypeExpr>),
}

/// `let name = expr`
#[derive(Clone, Debug, PartialEq)]
pub struct LetDecl {
    pub name: Ident,
    pub value: Expr,
    pub span: AstSpan,
}

/// `data NAME: TYPE`: reference data of a declared type, supplied when the policy is
/// loaded (`data/NAME.json` beside the policy, `--data NAME=FILE`), read like a constant.
#[derive(Clone, Debug, PartialEq)]
pub struct DataDecl {
    pub name: Ident,
    pub ty: TypeExpr,
    pub span: AstSpan,
}

/// `window NAME = AGG(value?) [on TOOLS] over DURATION by KEY, ... [when CONDITION]`: a
/// rolling aggregate over the engine's own past decisions (LANGUAGE.md §8).
#[derive(Clone, Debug, PartialEq)]
pub struct WindowDecl {
    pub name: Ident,
    /// `count`, `sum`, `max`, `distinct` or `values`, as written.
    pub aggregate: Ident,
    pub value: Option<Expr>,
    /// The aggregate's call, `sum(amount)`.
    pub aggregate_span: AstSpan,
    pub tools: Option<Vec<ToolPattern>>,
    pub duration: Expr,
    pub keys: Vec<Expr>,
    pub condition: Option<Expr>,
    pub span: AstSpan,
}

/// `fn name(p: T, ...) -> T = expr`, or `builtin fn name(p: T, ...) -> T` (body `None`):
/// a function implemented in Rust, allowed only in the standard library.
#[derive(Clone, Debug, PartialEq)]
pub struct FnDecl {
    pub name: Ident,
    pub params: Vec<FieldDecl>,
    pub ret: TypeExpr,
    pub body: Option<Expr>,
    pub span: AstSpan,
}

/// `[annotations] [rule NAME:] [on TOOLS] EFFECT [when COND] [because "TEMPLATE"]`
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    pub annotations: Vec<Annotation>,
    pub name: Option<Ident>,
    pub tools: Option<Vec<ToolPattern>>,
    pub effect: Effect,
    pub condition: Option<Expr>,
    pub because: Option<Template>,
    pub span: AstSpan,
}

/// `@name("value")`
#[derive(Clone, Debug, PartialEq)]
pub struct Annotation {
    pub name: Ident,
    pub value: StrLit,
    pub span: AstSpan,
}

/// `payments.transfer`, `payments.*` or `*`, as written.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolPattern {
    pub text: String,
    pub span: AstSpan,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Effect {
    pub kind: EffectKind,
    pub span: AstSpan,
}

#[derive(Clone, Debug, PartialEq)]
pub enum EffectKind {
    Deny,
    Allow,
    Warn,
    /// `require approval [from "role", ...]`
    RequireApproval(Vec<StrLit>),
    /// `redact PATH`
    Redact(PathRef, Option<Expr>),
    /// `set PATH = EXPR`
    Set(PathRef, Expr),
}

/// A dotted path such as `memo`, `args.memo` or `recipient.email`.
#[derive(Clone, Debug, PartialEq)]
pub struct PathRef {
    pub segments: Vec<Ident>,
    pub span: AstSpan,
}

/// `on TOOLS { ... }`
#[derive(Clone, Debug, PartialEq)]
pub struct OnBlock {
    pub tools: Vec<ToolPattern>,
    pub items: Vec<BlockItem>,
    pub span: AstSpan,
}

#[derive(Clone, Debug, PartialEq)]
pub enum BlockItem {
    Rule(Box<Rule>),
    Let(LetDecl),
}

/// A `because` string: literal text and `{expr}` holes.
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    pub parts: Vec<TemplatePart>,
    pub span: AstSpan,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TemplatePart {
    Text(String),
    Expr(Expr),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: AstSpan,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Bool(bool),
    Number(f64),
    Str(String),
    /// A duration literal, in seconds (`24h` is 86400).
    Duration(f64),
    List(Vec<Expr>),
    /// A bare name: a local, an argument, a `let`, an envelope field, `std`, ...
    Name(Ident),
    /// `expr.field`
    Field(Box<Expr>, Ident),
    /// `expr[index]`
    Index(Box<Expr>, Box<Expr>),
    /// `receiver.method(args)`; also `std.pii.contains_ssn(x)` (receiver `std.pii`).
    MethodCall {
        receiver: Box<Expr>,
        method: Ident,
        args: Vec<Expr>,
    },
    /// `name(args)`: a function or a builtin such as `min`.
    Call {
        name: Ident,
        args: Vec<Expr>,
    },
    Unary(UnaryOp, Box<Expr>),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// `has path`
    Has(Box<Expr>),
    /// `if c then a else b`
    If(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `x => body`; only valid as an argument of `any`, `all`, `count`.
    Lambda {
        param: Ident,
        body: Box<Expr>,
    },
    /// Stands in for an expression the parser could not read (after a reported error).
    Error,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    Not,
    Neg,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
    Coalesce,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

impl BinaryOp {
    pub fn symbol(self) -> &'static str {
        use BinaryOp::*;
        match self {
            Or => "or",
            And => "and",
            Eq => "==",
            Ne => "!=",
            Lt => "<",
            Le => "<=",
            Gt => ">",
            Ge => ">=",
            In => "in",
            NotIn => "not in",
            Coalesce => "??",
            Add => "+",
            Sub => "-",
            Mul => "*",
            Div => "/",
            Rem => "%",
        }
    }
}

// ---- tests beside the rules ----------------------------------------------------------

/// `fixture base = { ... }` or `fixture refund = base with { args.amount: 6000 }`
#[derive(Clone, Debug, PartialEq)]
pub struct Fixture {
    pub name: Ident,
    pub value: FixtureValue,
    pub span: AstSpan,
}

#[derive(Clone, Debug, PartialEq)]
pub enum FixtureValue {
    /// `= { ... }`: the request written out.
    Literal(Json),
    /// `= base with { a.b: v, ... }`: another fixture's request with these paths set, as
    /// `request base with { ... }` in a test.
    Extends { base: Ident, with: Vec<(PathRef, Json)> },
}

/// A JSON-like literal in fixtures and tests: numbers may use `_`, keys may be bare names.
#[derive(Clone, Debug, PartialEq)]
pub struct Json {
    pub kind: JsonKind,
    pub span: AstSpan,
}

#[derive(Clone, Debug, PartialEq)]
pub enum JsonKind {
    Null,
    Bool(bool),
    Number(f64),
    Str(String),
    List(Vec<Json>),
    Object(Vec<(Ident, Json)>),
}

/// `test "name" { statements }`
#[derive(Clone, Debug, PartialEq)]
pub struct TestDecl {
    pub name: StrLit,
    pub stmts: Vec<TestStmt>,
    pub span: AstSpan,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TestStmt {
    /// `request base`, `request base with { a.b: v, ... }`, `request file("x.json")`,
    /// `request { ... }`
    Request(RequestSource, AstSpan),
    /// `expect deny|allow|require approval [by rule, ...]`
    ExpectEffect { effect: ExpectedEffect, by: Vec<Ident>, span: AstSpan },
    /// `expect args.memo == "[REDACTED]"`
    ExpectValue { path: PathRef, value: Json, span: AstSpan },
    /// `windows { NAME: VALUE, ... }` after a `request`: window values set for it directly.
    Windows { values: Vec<(Ident, Json)>, span: AstSpan },
}

#[derive(Clone, Debug, PartialEq)]
pub enum RequestSource {
    Fixture { name: Ident, with: Vec<(PathRef, Json)> },
    File(StrLit),
    Literal(Json),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpectedEffect {
    Allow,
    Deny,
    RequireApproval,
}
