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
    /// The file's top-level items, in source order.
    pub items: Vec<Item>,
}

/// A name as written (a policy, type, tool part, rule, local, field), with its span.
#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    /// The name's text.
    pub name: String,
    /// Where the name is written.
    pub span: AstSpan,
}

/// A string literal: `value` is unescaped; `span` includes the quotes.
#[derive(Clone, Debug, PartialEq)]
pub struct StrLit {
    /// The unescaped text.
    pub value: String,
    /// Where the literal is written, quotes included.
    pub span: AstSpan,
}

/// A top-level declaration of a `.pol` file.
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
    /// `type Name = TYPE`
    Type(TypeDecl),
    /// `tool name(params)`
    Tool(ToolDecl),
    /// `request { fields }`: the envelope's declared fields.
    Request(RequestDecl),
    /// `let name = expr` at the top level.
    Let(LetDecl),
    /// `data NAME: TYPE`
    Data(DataDecl),
    /// `window NAME = AGG(...) ...`
    Window(WindowDecl),
    /// `fn name(params) -> T = expr` (or a `builtin fn` in the standard library).
    Fn(FnDecl),
    /// A rule outside any `on` block.
    Rule(Rule),
    /// `on TOOLS { rules and lets }`
    Block(OnBlock),
    /// `fixture name = ...`
    Fixture(Fixture),
    /// `test "name" { ... }`
    Test(TestDecl),
}

/// The effect of `default` and `on error`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultEffect {
    /// `allow`
    Allow,
    /// `deny`
    Deny,
}

/// `type Name = TYPE`
#[derive(Clone, Debug, PartialEq)]
pub struct TypeDecl {
    /// The type's name.
    pub name: Ident,
    /// What the name stands for.
    pub ty: TypeExpr,
    /// The whole declaration.
    pub span: AstSpan,
}

/// `tool payments.transfer(amount: number, memo?: string)`
#[derive(Clone, Debug, PartialEq)]
pub struct ToolDecl {
    /// The dotted name as written, e.g. `payments.transfer`; its span covers the name.
    pub name: Ident,
    /// The declared arguments, in order.
    pub params: Vec<FieldDecl>,
    /// Written with a last `...`: undeclared arguments are let through unread. A closed
    /// tool (the default) makes each one an input error.
    pub open: bool,
    /// The whole declaration.
    pub span: AstSpan,
}

/// `request { agent: {...}, ... }`
#[derive(Clone, Debug, PartialEq)]
pub struct RequestDecl {
    /// The declared envelope fields.
    pub fields: Vec<FieldDecl>,
    /// The whole block.
    pub span: AstSpan,
}

/// `name: TYPE` or `name?: TYPE`, in records, tool parameters and the request block.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldDecl {
    /// The field's name.
    pub name: Ident,
    /// Written `name?:`: the field may be absent.
    pub optional: bool,
    /// The field's type.
    pub ty: TypeExpr,
    /// The whole field, name to type.
    pub span: AstSpan,
}

/// A type as written.
#[derive(Clone, Debug, PartialEq)]
pub struct TypeExpr {
    /// Which type.
    pub kind: TypeExprKind,
    /// Where the type is written.
    pub span: AstSpan,
}

/// The forms a type can be written in.
#[derive(Clone, Debug, PartialEq)]
pub enum TypeExprKind {
    /// `bool`, `number`, `string`, `duration`, `timestamp` or a declared type's name.
    Named(Ident),
    /// `list<T>`
    List(Box<TypeExpr>),
    /// `map<T>` (string keys)
    Map(Box<TypeExpr>),
    /// `{ name: T, other?: T }`
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
    /// The local's name.
    pub name: Ident,
    /// Its value.
    pub value: Expr,
    /// The whole declaration.
    pub span: AstSpan,
}

/// `data NAME: TYPE`: reference data of a declared type, supplied when the policy is
/// loaded (`data/NAME.json` beside the policy, `--data NAME=FILE`), read like a constant.
#[derive(Clone, Debug, PartialEq)]
pub struct DataDecl {
    /// The data's name, read like a constant in rules.
    pub name: Ident,
    /// The type its file must match.
    pub ty: TypeExpr,
    /// The whole declaration.
    pub span: AstSpan,
}

/// `window NAME = AGG(value?) [on TOOLS] over DURATION by KEY, ... [when CONDITION]`: a
/// rolling aggregate over the engine's own past decisions (LANGUAGE.md §8).
#[derive(Clone, Debug, PartialEq)]
pub struct WindowDecl {
    /// The window's name, read like a constant in rules.
    pub name: Ident,
    /// `count`, `sum`, `max`, `distinct` or `values`, as written.
    pub aggregate: Ident,
    /// The aggregated expression: `amount` in `sum(amount)`; `None` for `count()`.
    pub value: Option<Expr>,
    /// The aggregate's call, `sum(amount)`.
    pub aggregate_span: AstSpan,
    /// `on TOOLS`: only these tools' requests are recorded; `None` for every request.
    pub tools: Option<Vec<ToolPattern>>,
    /// `over DURATION`: how far back the window reaches.
    pub duration: Expr,
    /// `by KEY, ...`: the parts of the key events are grouped by.
    pub keys: Vec<Expr>,
    /// `when CONDITION`: which requests are recorded (it may read `decision`).
    pub condition: Option<Expr>,
    /// The whole declaration.
    pub span: AstSpan,
}

/// `fn name(p: T, ...) -> T = expr`, or `builtin fn name(p: T, ...) -> T` (body `None`):
/// a function implemented in Rust, allowed only in the standard library.
#[derive(Clone, Debug, PartialEq)]
pub struct FnDecl {
    /// The function's name.
    pub name: Ident,
    /// Its parameters, in order.
    pub params: Vec<FieldDecl>,
    /// Its result type.
    pub ret: TypeExpr,
    /// Its body; `None` for a `builtin fn`.
    pub body: Option<Expr>,
    /// The whole declaration.
    pub span: AstSpan,
}

/// `[annotations] [rule NAME:] [on TOOLS] EFFECT [when COND] [because "TEMPLATE"]`
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// `@name("value")` lines above the rule.
    pub annotations: Vec<Annotation>,
    /// `rule NAME:`; a rule without a name gets one from its position.
    pub name: Option<Ident>,
    /// `on TOOLS` on the rule itself (an enclosing `on` block is kept apart, in [`OnBlock`]).
    pub tools: Option<Vec<ToolPattern>>,
    /// What the rule does when it fires.
    pub effect: Effect,
    /// `when COND`; `None` fires on every request in scope.
    pub condition: Option<Expr>,
    /// The `because "..."` template.
    pub because: Option<Template>,
    /// The whole rule.
    pub span: AstSpan,
}

/// `@name("value")`
#[derive(Clone, Debug, PartialEq)]
pub struct Annotation {
    /// The annotation's name, after `@`.
    pub name: Ident,
    /// Its value.
    pub value: StrLit,
    /// The whole annotation.
    pub span: AstSpan,
}

/// `payments.transfer`, `payments.*` or `*`, as written.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolPattern {
    /// The pattern's text.
    pub text: String,
    /// Where it is written.
    pub span: AstSpan,
}

/// A rule's effect as written, e.g. `deny` or `redact memo`.
#[derive(Clone, Debug, PartialEq)]
pub struct Effect {
    /// Which effect.
    pub kind: EffectKind,
    /// Where the effect is written.
    pub span: AstSpan,
}

/// What a rule does when it fires.
#[derive(Clone, Debug, PartialEq)]
pub enum EffectKind {
    /// `deny`
    Deny,
    /// `allow`
    Allow,
    /// `warn`: fires without changing the decision; listed under `warnings`.
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
    /// The names between the dots.
    pub segments: Vec<Ident>,
    /// The whole path.
    pub span: AstSpan,
}

/// `on TOOLS { ... }`
#[derive(Clone, Debug, PartialEq)]
pub struct OnBlock {
    /// The tools the block's items are scoped to.
    pub tools: Vec<ToolPattern>,
    /// The rules and lets inside the block.
    pub items: Vec<BlockItem>,
    /// The whole block.
    pub span: AstSpan,
}

/// An item inside an `on` block.
#[derive(Clone, Debug, PartialEq)]
pub enum BlockItem {
    /// A rule scoped to the block's tools.
    Rule(Box<Rule>),
    /// A `let` visible to the block's rules.
    Let(LetDecl),
}

/// A `because` string: literal text and `{expr}` holes.
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    /// The literal text and the holes, in order.
    pub parts: Vec<TemplatePart>,
    /// The whole string, quotes included.
    pub span: AstSpan,
}

/// A piece of a `because` template.
#[derive(Clone, Debug, PartialEq)]
pub enum TemplatePart {
    /// Literal text, unescaped.
    Text(String),
    /// A `{expr}` hole.
    Expr(Expr),
}

/// An expression, with its span.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// Which expression.
    pub kind: ExprKind,
    /// Where the expression is written.
    pub span: AstSpan,
}

/// The forms an expression can take.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// `true` or `false`.
    Bool(bool),
    /// A number literal.
    Number(f64),
    /// A string literal, unescaped.
    Str(String),
    /// A duration literal, in seconds (`24h` is 86400).
    Duration(f64),
    /// `[a, b, ...]`
    List(Vec<Expr>),
    /// A bare name: a local, an argument, a `let`, an envelope field, `std`, ...
    Name(Ident),
    /// `expr.field`
    Field(Box<Expr>, Ident),
    /// `expr[index]`
    Index(Box<Expr>, Box<Expr>),
    /// `receiver.method(args)`; also `std.pii.contains_ssn(x)` (receiver `std.pii`).
    MethodCall {
        /// The value the method is called on.
        receiver: Box<Expr>,
        /// The method's name.
        method: Ident,
        /// The arguments in parentheses.
        args: Vec<Expr>,
    },
    /// `name(args)`: a function or a builtin such as `min`.
    Call {
        /// The function's name.
        name: Ident,
        /// The arguments in parentheses.
        args: Vec<Expr>,
    },
    /// `not x` or `-x`.
    Unary(UnaryOp, Box<Expr>),
    /// `a OP b`.
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// `has path`
    Has(Box<Expr>),
    /// `if c then a else b`
    If(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `x => body`; only valid as an argument of `any`, `all`, `count`.
    Lambda {
        /// The name bound to each element.
        param: Ident,
        /// What is computed for each element.
        body: Box<Expr>,
    },
    /// Stands in for an expression the parser could not read (after a reported error).
    Error,
}

/// A prefix operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    /// `not`
    Not,
    /// `-`
    Neg,
}

/// An infix operator, from the loosest binding to the tightest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    /// `or`
    Or,
    /// `and`
    And,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `in`
    In,
    /// `not in`
    NotIn,
    /// `??`: the left side, or the right side when the left has no value.
    Coalesce,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Rem,
}

impl BinaryOp {
    /// The operator as written in policy text.
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
    /// The fixture's name, used by `request NAME` in tests.
    pub name: Ident,
    /// The request it stands for.
    pub value: FixtureValue,
    /// The whole declaration.
    pub span: AstSpan,
}

/// How a fixture gives its request.
#[derive(Clone, Debug, PartialEq)]
pub enum FixtureValue {
    /// `= { ... }`: the request written out.
    Literal(Json),
    /// `= base with { a.b: v, ... }`: another fixture's request with these paths set, as
    /// `request base with { ... }` in a test.
    Extends {
        /// The fixture extended.
        base: Ident,
        /// The paths set, with their values, in source order.
        with: Vec<(PathRef, Json)>,
    },
}

/// A JSON-like literal in fixtures and tests: numbers may use `_`, keys may be bare names.
#[derive(Clone, Debug, PartialEq)]
pub struct Json {
    /// Which value.
    pub kind: JsonKind,
    /// Where the value is written.
    pub span: AstSpan,
}

/// The forms a JSON-like literal can take.
#[derive(Clone, Debug, PartialEq)]
pub enum JsonKind {
    /// `null`
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number (`_` separators removed).
    Number(f64),
    /// A string, unescaped.
    Str(String),
    /// `[a, b, ...]`
    List(Vec<Json>),
    /// `{ key: value, ... }`, keys in source order.
    Object(Vec<(Ident, Json)>),
}

/// `test "name" { statements }`
#[derive(Clone, Debug, PartialEq)]
pub struct TestDecl {
    /// The test's name.
    pub name: StrLit,
    /// Its statements, in order.
    pub stmts: Vec<TestStmt>,
    /// The whole test.
    pub span: AstSpan,
}

/// A statement inside a `test` block.
#[derive(Clone, Debug, PartialEq)]
pub enum TestStmt {
    /// `request base`, `request base with { a.b: v, ... }`, `request file("x.json")`,
    /// `request { ... }`
    Request(RequestSource, AstSpan),
    /// `expect deny|allow|require approval [by rule, ...]`
    ExpectEffect {
        /// The decision expected.
        effect: ExpectedEffect,
        /// `by rule, ...`: the rules expected to have made it.
        by: Vec<Ident>,
        /// The whole statement.
        span: AstSpan,
    },
    /// `expect args.memo == "[REDACTED]"`
    ExpectValue {
        /// The path into the modified request.
        path: PathRef,
        /// The value expected there.
        value: Json,
        /// The whole statement.
        span: AstSpan,
    },
    /// `windows { NAME: VALUE, ... }` after a `request`: window values set for it directly.
    Windows {
        /// Each window's name and the value it reads as.
        values: Vec<(Ident, Json)>,
        /// The whole statement.
        span: AstSpan,
    },
}

/// Where a test's request comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum RequestSource {
    /// `request NAME [with { path: value, ... }]`: a fixture, with paths set.
    Fixture {
        /// The fixture's name.
        name: Ident,
        /// The paths set, with their values, in source order.
        with: Vec<(PathRef, Json)>,
    },
    /// `request file("x.json")`, relative to the test's file.
    File(StrLit),
    /// `request { ... }`, written out.
    Literal(Json),
}

/// The decision an `expect` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpectedEffect {
    /// `allow`
    Allow,
    /// `deny`
    Deny,
    /// `require_approval` (written `require approval` or `require_approval`).
    RequireApproval,
}
