//! Syntax: source text to AST. In: one file's text and id. Out: the `ast::File` and the
//! syntax diagnostics. Parsing never fails: it returns what it could read and the errors.
//!
//! The lexer (`lexer.rs`, logos) turns text into tokens; lexical errors become diagnostics
//! and their characters are skipped. The LALRPOP grammar (`grammar/policy.lalrpop`) builds
//! the AST, recovering from errors at top-level items, `on X { }` items and test
//! statements. `because` templates are parsed by `template.rs`. `format.rs` prints an
//! AST back in the canonical layout, with the source's comments (`gavel fmt`).
//!
//! Before parsing, `too_deep` estimates from the tokens how deeply the trees could nest and
//! refuses text beyond `Limits::max_expr_depth` (E0502), so no later recursive stage (nor
//! dropping the tree) can overflow the stack.

pub mod ast;
mod expected;
pub mod format;
pub(crate) mod lexer;
pub mod template;

use crate::diagnostics::{self, Diagnostic};
use crate::limits::Limits;
use crate::span::{FileId, Span};
use ast::{AstSpan, BinaryOp, Effect, Expr, ExprKind, Ident, Template, ToolPattern, TypeExpr, TypeExprKind};
use lexer::{LexError, Token};
use std::ops::Range;

pub use expected::describe_expected;

lalrpop_util::lalrpop_mod!(
    #[allow(clippy::all, clippy::pedantic, unused_parens, unused_imports, dead_code)]
    grammar,
    "/policy.rs"
);

/// Parses one `.pol` file. Returns every item it could read and every syntax error, sorted
/// by position.
pub fn parse(file: FileId, src: &str) -> (ast::File, Vec<Diagnostic>) {
    parse_with(file, src, &Limits::default())
}

/// `parse` with the nesting limit of `limits` (`max_expr_depth`). Text nested deeper is one
/// E0502 error and an empty file.
pub fn parse_with(file: FileId, src: &str, limits: &Limits) -> (ast::File, Vec<Diagnostic>) {
    let _limit = DepthLimit::set(limits.max_expr_depth);
    let mut diags = Vec::new();
    let tokens = tokens_of(file, src, 0..src.len(), &mut diags);
    if let Some(at) = too_deep(&tokens, limits.max_expr_depth) {
        diags.push(diagnostics::nested_too_deeply(Span::new(file, at.start, at.end), limits.max_expr_depth));
        diags.sort_by_key(|d| d.span().start);
        return (ast::File::default(), diags);
    }
    let brackets: Vec<(usize, char)> = tokens.iter().filter_map(|t| t.as_ref().ok()).filter_map(|(at, t, _)| Some((*at, bracket(t)?))).collect();
    let ast = match grammar::FileParser::new().parse(file, src, &mut diags, tokens) {
        Ok(ast) => ast,
        Err(e) => {
            diags.push(recovery_diagnostic(file, e));
            ast::File::default()
        }
    };
    let mut diags: Vec<Diagnostic> = diags.into_iter().map(|d| point_at_unclosed(file, &brackets, d)).collect();
    diags.sort_by_key(|d| d.span().start);
    (ast, one_syntax_error_per_line(src, diags))
}

/// The bracket a token is, if it is one.
fn bracket(t: &Token<'_>) -> Option<char> {
    match t {
        Token::LParen => Some('('),
        Token::LBracket => Some('['),
        Token::LBrace => Some('{'),
        Token::RParen => Some(')'),
        Token::RBracket => Some(']'),
        Token::RBrace => Some('}'),
        _ => None,
    }
}

/// A parse error that expected a closing bracket gets a second label on the bracket that
/// opened it: the innermost one still open where the error is (`brackets`: each bracket
/// token's start and character, in order).
fn point_at_unclosed(file: FileId, brackets: &[(usize, char)], d: Diagnostic) -> Diagnostic {
    if d.code != "E0002" && d.code != "E0003" {
        return d;
    }
    let open_at = |end: usize| {
        let mut open: Vec<(usize, char)> = Vec::new();
        for &(at, c) in brackets.iter().take_while(|(at, _)| *at < end) {
            match c {
                '(' | '[' | '{' => open.push((at, c)),
                // A closer pops its opener; a stray one (reported on its own) is ignored.
                _ => {
                    if let Some(i) = open.iter().rposition(|&(_, o)| matching(o) == c) {
                        open.truncate(i);
                    }
                }
            }
        }
        open
    };
    // The innermost bracket open at the error that no later bracket closes either (in
    // `(t => t)` the `(` is closed: the error is elsewhere).
    let never_closed = open_at(usize::MAX);
    let Some(&(at, c)) = open_at(d.span().start as usize).iter().rev().find(|b| never_closed.contains(b)) else { return d };
    // The help lists what the parser expected, e.g. "expected `)` or `,`".
    let closer = matching(c);
    if !d.help.as_deref().is_some_and(|h| h.contains(&format!("`{closer}`"))) {
        return d;
    }
    d.with_label(Span::new(file, at, at + 1), format!("this `{c}` is never closed"))
}

fn matching(open: char) -> char {
    match open {
        '(' => ')',
        '[' => ']',
        _ => '}',
    }
}

/// Keeps the first parse error (E0002/E0003) of each line: after recovery, the rest of a
/// broken line usually yields follow-on errors that only repeat the first one.
fn one_syntax_error_per_line(src: &str, diags: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let mut last_line = None;
    diags
        .into_iter()
        .filter(|d| {
            if d.code != "E0002" && d.code != "E0003" {
                return true;
            }
            let start = (d.span().start as usize).min(src.len());
            let line = src.as_bytes().iter().take(start).filter(|&&b| b == b'\n').count();
            let first_on_line = last_line != Some(line);
            last_line = Some(line);
            first_on_line
        })
        .collect()
}

/// Parses a lone expression (the whole of `src`).
pub fn parse_expr(file: FileId, src: &str) -> (Option<Expr>, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let expr = parse_expr_in(file, src, 0..src.len(), &mut diags);
    diags.sort_by_key(|d| d.span().start);
    (expr, diags)
}

/// Parses the expression in `src[range]`, with spans relative to the whole of `src` (used
/// for template holes). Errors go to `diags`; `None` when the text is not an expression.
pub(crate) fn parse_expr_in(file: FileId, src: &str, range: Range<usize>, diags: &mut Vec<Diagnostic>) -> Option<Expr> {
    let tokens = tokens_of(file, src, range, diags);
    let max = DepthLimit::get();
    if let Some(at) = too_deep(&tokens, max) {
        diags.push(diagnostics::nested_too_deeply(Span::new(file, at.start, at.end), max));
        return None;
    }
    let mut inner = Vec::new();
    let result = grammar::ExprEntryParser::new().parse(file, src, &mut inner, tokens);
    diags.append(&mut inner);
    match result {
        Ok(e) => Some(e),
        Err(e) => {
            diags.push(recovery_diagnostic(file, e));
            None
        }
    }
}

type ParserInput<'src> = Result<(usize, Token<'src>, usize), LexError>;

/// Lexes `src[range]`: lexical errors go to `diags`, the tokens go to the parser.
fn tokens_of<'src>(file: FileId, src: &'src str, range: Range<usize>, diags: &mut Vec<Diagnostic>) -> Vec<ParserInput<'src>> {
    // About one token per four bytes of policy text: one allocation instead of a dozen.
    let mut tokens = Vec::with_capacity(range.len() / 4);
    for item in lexer::lex(src, range) {
        match item {
            Ok(tok) => tokens.push(Ok(tok)),
            Err((err, at)) => {
                // A broken string still reaches the parser as a string (as written), so that
                // the error is reported once rather than again by the parser.
                let body = match err {
                    LexError::UnterminatedString => src.get(at.start + 1..at.end),
                    LexError::BadUnicodeEscape => src.get(at.start + 1..at.end.saturating_sub(1)),
                    _ => None,
                };
                if let Some(body) = body {
                    tokens.push(Ok((at.start, Token::Str(body.to_string()), at.end)));
                }
                // Likewise a number out of range still reaches the parser as a number (the
                // value is never used: the error stops compilation).
                if err == LexError::NumberOutOfRange {
                    let number = match src.get(at.clone()).and_then(|t| t.bytes().last()) {
                        Some(b's' | b'm' | b'h' | b'd') => Token::Dur(f64::MAX),
                        _ => Token::Num(f64::MAX),
                    };
                    tokens.push(Ok((at.start, number, at.end)));
                }
                // `&&`, `||`, `!` and `'text'` reach the parser as what they stand for, so the
                // rest of the expression parses and the error is reported once.
                if let Some(tok) = stand_in(src, &err, &at) {
                    tokens.push(Ok((at.start, tok, at.end)));
                }
                diags.push(lex_diagnostic(file, src, err, at));
            }
        }
    }
    tokens
}

/// The token a `ForeignOperator` or `SingleQuoted` error stands for.
fn stand_in<'src>(src: &'src str, err: &LexError, at: &Range<usize>) -> Option<Token<'src>> {
    let text = src.get(at.clone())?;
    match err {
        LexError::ForeignOperator => match text {
            "&&" => Some(Token::And),
            "||" => Some(Token::Or),
            _ => Some(Token::Not),
        },
        LexError::SingleQuoted => {
            let body = text.get(1..text.len() - 1)?;
            Some(Token::Str(lexer::unescape(body).unwrap_or_else(|| body.to_string())))
        }
        _ => None,
    }
}

thread_local! {
    /// The nesting limit of the parse running on this thread, for template holes, which the
    /// grammar parses from inside its actions.
    static MAX_DEPTH: std::cell::Cell<usize> = std::cell::Cell::new(Limits::default().max_expr_depth);
}

/// Sets `MAX_DEPTH` for one parse and restores the previous value when dropped.
struct DepthLimit(usize);

impl DepthLimit {
    fn set(max: usize) -> DepthLimit {
        DepthLimit(MAX_DEPTH.with(|m| m.replace(max)))
    }

    fn get() -> usize {
        MAX_DEPTH.with(std::cell::Cell::get)
    }
}

impl Drop for DepthLimit {
    fn drop(&mut self) {
        MAX_DEPTH.with(|m| m.set(self.0));
    }
}

/// Counts of one bracket level while estimating nesting.
#[derive(Default)]
struct Level {
    /// Nesting operators (binary and prefix operators, `.`, `=>`, `if`, `has`, brackets
    /// opened) seen in the current expression at this level.
    ops: usize,
    /// The deepest bracketed part closed in the current expression at this level.
    child: usize,
    /// The deepest expression already finished at this level (before a `,` or an item).
    done: usize,
}

impl Level {
    fn depth(&self) -> usize {
        self.done.max(self.ops + self.child)
    }

    fn finish_expression(&mut self) {
        self.done = self.depth();
        self.ops = 0;
        self.child = 0;
    }
}

/// Where the tokens could build a tree (expression, type, test value) nested deeper than
/// `max`, or `None`. An upper bound without recursion: within one bracket level, every
/// operator may add a level (left-associative chains do), and a bracketed part adds its own
/// depth; a `,` or an item keyword ends an expression, as no expression spans one.
fn too_deep(tokens: &[ParserInput<'_>], max: usize) -> Option<Range<usize>> {
    let mut levels: Vec<Level> = vec![Level::default()];
    for (i, tok) in tokens.iter().enumerate() {
        let Ok((l, tok, r)) = tok else { continue };
        let prev = i.checked_sub(1).and_then(|p| tokens.get(p)).and_then(|t| t.as_ref().ok()).map(|t| &t.1);
        let next = tokens.get(i + 1).and_then(|t| t.as_ref().ok()).map(|t| &t.1);
        match tok {
            Token::LParen | Token::LBracket | Token::LBrace => {
                if let Some(top) = levels.last_mut() {
                    top.ops += 1;
                }
                levels.push(Level::default());
            }
            // A stray closer at the outermost level is the parser's to report.
            Token::RParen | Token::RBracket | Token::RBrace if levels.len() > 1 => {
                let closed = levels.pop().map_or(0, |lv| lv.depth() + 1);
                if let Some(top) = levels.last_mut() {
                    top.child = top.child.max(closed);
                }
            }
            Token::Comma => levels.last_mut().into_iter().for_each(Level::finish_expression),
            t if nests(t) => levels.last_mut().into_iter().for_each(|top| top.ops += 1),
            t if ends_expression(t, prev, next) => levels.last_mut().into_iter().for_each(Level::finish_expression),
            _ => {}
        }
        // Each enclosing level adds its operators so far and its bracket.
        let (here, enclosing) = levels.split_last().map_or((0, 0), |(last, rest)| (last.depth(), rest.iter().map(|lv| lv.ops + 1).sum()));
        let outer: usize = enclosing;
        if outer + here > max {
            return Some(*l..*r);
        }
    }
    None
}

/// Tokens that may add a level to the tree they are part of.
fn nests(t: &Token<'_>) -> bool {
    use Token as T;
    matches!(
        t,
        T::And
            | T::Or
            | T::Not
            | T::In
            | T::Has
            | T::If
            | T::Then
            | T::Else
            | T::Dot
            | T::QuestionQuestion
            | T::EqEq
            | T::NotEq
            | T::Lt
            | T::Le
            | T::Gt
            | T::Ge
            | T::Plus
            | T::Minus
            | T::Star
            | T::Slash
            | T::Percent
            | T::FatArrow
    )
}

/// A keyword that starts an item or a part of one (so no expression spans it), unless it is
/// used as a name: after `.` or `@`, or as a key or field name before `:` or `?`.
fn ends_expression(t: &Token<'_>, prev: Option<&Token<'_>>, next: Option<&Token<'_>>) -> bool {
    use Token as T;
    let item_keyword = matches!(
        t,
        T::Policy
            | T::Version
            | T::Default
            | T::On
            | T::Error
            | T::Type
            | T::Tool
            | T::Request
            | T::Let
            | T::Data
            | T::Window
            | T::Over
            | T::Windows
            | T::Fn
            | T::Builtin
            | T::Rule
            | T::When
            | T::Because
            | T::Deny
            | T::Allow
            | T::Warn
            | T::Require
            | T::Approval
            | T::From
            | T::Redact
            | T::Set
            | T::Fixture
            | T::Test
            | T::Expect
            | T::By
            | T::With
            | T::Matching
    );
    item_keyword && !matches!(prev, Some(T::Dot | T::At)) && !matches!(next, Some(T::Colon | T::Question))
}

fn lex_diagnostic(file: FileId, src: &str, err: LexError, at: Range<usize>) -> Diagnostic {
    let span = Span::new(file, at.start, at.end);
    match err {
        LexError::InvalidChar => diagnostics::invalid_token(span, src.get(at).unwrap_or("?")),
        // Point at the opening quote (or `/*`) rather than at the rest of the line.
        LexError::UnterminatedString => diagnostics::unterminated_string(Span::new(file, at.start, at.start + 1)),
        LexError::UnterminatedComment => diagnostics::unterminated_comment(Span::new(file, at.start, at.start + 2)),
        LexError::BadUnicodeEscape => diagnostics::bad_unicode_escape(span),
        LexError::BadNumber => diagnostics::bad_number(span, src.get(at).unwrap_or("?")),
        LexError::NumberOutOfRange => diagnostics::number_out_of_range(span, src.get(at).unwrap_or("?")),
        LexError::ForeignOperator => diagnostics::foreign_operator(span, src.get(at).unwrap_or("?")),
        LexError::SingleQuoted => diagnostics::single_quoted_string(span),
    }
}

/// Turns a LALRPOP error (recovered or fatal) into a diagnostic on the offending token.
pub(crate) fn recovery_diagnostic(file: FileId, e: lalrpop_util::ParseError<usize, Token<'_>, LexError>) -> Diagnostic {
    use lalrpop_util::ParseError as P;
    match e {
        P::UnrecognizedToken { token: (l, tok, r), expected } => {
            let d = diagnostics::unexpected_token(Span::new(file, l, r), &describe_token(&tok), &describe_expected(&expected));
            // Only a tool declaration's name is followed by exactly `(` or `.`: `tool shell.exec`
            // with no list is how an author tries to declare a tool whose arguments are not
            // described, so the help says how to write that.
            match expected.iter().map(|e| e.trim_matches('"')).collect::<Vec<_>>()[..] {
                ["(", "."] | [".", "("] => diagnostics::tool_without_parameters(d),
                _ => d,
            }
        }
        P::UnrecognizedEof { location, expected } => diagnostics::unexpected_eof(Span::new(file, location, location), &describe_expected(&expected)),
        P::ExtraToken { token: (l, tok, r) } => diagnostics::unexpected_token(Span::new(file, l, r), &describe_token(&tok), &[]),
        // Lexical errors never reach the parser (`tokens_of` filters them); kept total anyway.
        P::InvalidToken { location } => diagnostics::invalid_token(Span::new(file, location, location + 1), "?"),
        P::User { .. } => diagnostics::unexpected_token(Span::new(file, 0, 0), "input", &[]),
    }
}

/// How a token is named in a diagnostic: "keyword `when`", "`}`", "name `amont`".
pub fn describe_token(tok: &Token<'_>) -> String {
    tok.to_string()
}

pub(crate) fn sp(file: FileId, l: usize, r: usize) -> AstSpan {
    AstSpan(Span::new(file, l, r))
}

pub(crate) fn binary(file: FileId, l: usize, r: usize, op: BinaryOp, a: Expr, b: Expr) -> Expr {
    Expr { kind: ExprKind::Binary(op, Box::new(a), Box::new(b)), span: sp(file, l, r) }
}

/// The type `Type` parsed: one part, or an enum of string parts (`"a" | "b"`). `|` between
/// other types (`number | string`) is a union, which the language does not have: reported,
/// and read as `lenient number` when that is what it means (number and string), else as its
/// first part, so that checking goes on without errors that follow from this one.
pub(crate) fn union_type(first: TypeExpr, rest: Vec<TypeExpr>, span: AstSpan, diags: &mut Vec<Diagnostic>) -> TypeExpr {
    if rest.is_empty() {
        return first;
    }
    let mut parts = vec![first];
    parts.extend(rest);
    let strings = |t: &TypeExpr| match &t.kind {
        TypeExprKind::Enum(values) => Some(values.clone()),
        _ => None,
    };
    if let Some(values) = parts.iter().map(strings).collect::<Option<Vec<_>>>() {
        return TypeExpr { kind: TypeExprKind::Enum(values.into_iter().flatten().collect()), span };
    }
    let named = |want: &str| parts.iter().any(|t| matches!(&t.kind, TypeExprKind::Named(n) if n.name == want));
    let number_or_string = parts.len() == 2 && named("number") && named("string");
    diags.push(diagnostics::union_type(*span, number_or_string));
    let first = parts.swap_remove(0);
    if number_or_string {
        let number = TypeExpr { kind: TypeExprKind::Named(Ident { name: "number".into(), span: first.span }), span: first.span };
        return TypeExpr { kind: TypeExprKind::Lenient(Box::new(number)), span };
    }
    first
}

/// A rule without its annotations, as the grammar reads it before knowing them.
pub(crate) struct RuleHead {
    pub name: Option<ast::Ident>,
    pub tools: Option<Vec<ToolPattern>>,
    pub tail: Box<RuleTail>,
}

/// What follows a rule's name and tools: `EFFECT [when COND] [because "TEMPLATE"]`.
pub(crate) struct RuleTail {
    pub effect: Effect,
    pub condition: Option<Expr>,
    pub because: Option<Template>,
}

impl RuleHead {
    pub(crate) fn into_rule(self, annotations: Vec<ast::Annotation>, span: AstSpan) -> Box<ast::Rule> {
        let RuleTail { effect, condition, because } = *self.tail;
        Box::new(ast::Rule { annotations, name: self.name, tools: self.tools, effect, condition, because, span })
    }
}
