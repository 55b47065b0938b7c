//! Syntax: source text to AST. In: one file's text and id. Out: the `ast::File` and the
//! syntax diagnostics. Parsing never fails: it returns what it could read and the errors.
//!
//! The lexer (`lexer.rs`, logos) turns text into tokens; lexical errors become diagnostics
//! and their characters are skipped. The LALRPOP grammar (`grammar/policy.lalrpop`) builds
//! the AST, recovering from errors at top-level items, `on X { }` items and test
//! statements. `because` templates are parsed by `template.rs`.

pub mod ast;
mod expected;
pub mod lexer;
pub mod template;

use crate::diagnostics::{self, Diagnostic};
use crate::span::{FileId, Span};
use ast::{AstSpan, BinaryOp, Effect, Expr, ExprKind, Template, ToolPattern};
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
    let mut diags = Vec::new();
    let tokens = tokens_of(file, src, 0..src.len(), &mut diags);
    let ast = match grammar::FileParser::new().parse(file, src, &mut diags, tokens) {
        Ok(ast) => ast,
        Err(e) => {
            diags.push(recovery_diagnostic(file, e));
            ast::File::default()
        }
    };
    diags.sort_by_key(|d| d.span().start);
    (ast, one_syntax_error_per_line(src, diags))
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
fn tokens_of<'src>(
    file: FileId,
    src: &'src str,
    range: Range<usize>,
    diags: &mut Vec<Diagnostic>,
) -> std::vec::IntoIter<ParserInput<'src>> {
    let mut tokens = Vec::new();
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
                diags.push(lex_diagnostic(file, src, err, at));
            }
        }
    }
    tokens.into_iter()
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
    }
}

/// Turns a LALRPOP error (recovered or fatal) into a diagnostic on the offending token.
pub(crate) fn recovery_diagnostic(file: FileId, e: lalrpop_util::ParseError<usize, Token<'_>, LexError>) -> Diagnostic {
    use lalrpop_util::ParseError as P;
    match e {
        P::UnrecognizedToken { token: (l, tok, r), expected } => {
            diagnostics::unexpected_token(Span::new(file, l, r), &describe_token(&tok), &describe_expected(&expected))
        }
        P::UnrecognizedEof { location, expected } => {
            diagnostics::unexpected_eof(Span::new(file, location, location), &describe_expected(&expected))
        }
        P::ExtraToken { token: (l, tok, r) } => {
            diagnostics::unexpected_token(Span::new(file, l, r), &describe_token(&tok), &[])
        }
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

/// A rule without its annotations, as the grammar reads it before knowing them.
pub(crate) struct RuleHead {
    pub name: Option<ast::Ident>,
    pub tools: Option<Vec<ToolPattern>>,
    pub tail: (Effect, Option<Expr>, Option<Template>),
}

impl RuleHead {
    pub(crate) fn into_rule(self, annotations: Vec<ast::Annotation>, span: AstSpan) -> ast::Rule {
        let (effect, condition, because) = self.tail;
        ast::Rule { annotations, name: self.name, tools: self.tools, effect, condition, because, span }
    }
}
