//! The formatter behind `gavel fmt`. In: one `.pol` file's text. Out: the same file in the
//! canonical layout (docs/language.md "Formatting"), every comment kept; or, when the text
//! does not parse, its syntax diagnostics (such text is never rewritten).
//!
//! The AST is printed into a small document of texts, line breaks and groups (after
//! Wadler's "prettier printer"): a group is written on one line when it fits in [`WIDTH`]
//! columns, else each of its breaks becomes a new line. Literals (numbers, strings,
//! `because` templates) are copied from the source as written; parentheses are kept where
//! the author wrote them (one pair) and added where precedence needs them.
//!
//! Comments are not in the AST: they are read from the gaps between tokens, with their
//! offsets, and re-attached at anchors (items, block items, test statements, list elements,
//! record fields, arguments, the operands of `and`/`or` chains, the clauses of a rule). A
//! comment before an anchor is printed on its own lines before it; one on the same line
//! after an anchor (only `,` between) stays at the end of that line. A comment found
//! elsewhere moves to the next anchor, so none is ever lost, and formatting twice gives
//! what formatting once gave.

use super::ast::*;
use super::lexer::{self, Token};
use crate::diagnostics::Diagnostics;
use crate::span::{SourceMap, Span};

/// The line width the formatter fills; a longer line is broken where the layout allows.
pub const WIDTH: usize = 100;
/// Spaces per indentation level.
const INDENT: usize = 2;

/// Formats one file's text. `name` names the file in the diagnostics of text that does not
/// parse (any syntax error: nothing is formatted then).
pub fn format_source(name: &str, src: &str) -> Result<String, Diagnostics> {
    let mut sources = SourceMap::new();
    let file = sources.add(name, src);
    let (ast, diags) = super::parse(file, src);
    if diags.iter().any(|d| d.is_error()) {
        return Err(Diagnostics { items: diags, sources });
    }
    let mut p = Printer { src, comments: comments(src), next: 0 };
    let body = p.file(&ast);
    Ok(render(&body, WIDTH))
}

/// A field declaration (`name?: T`) on one line in the canonical spelling, comments left out;
/// `src` is the text of the file it was parsed from (enum members are copied as written).
/// `gavel inspect` lists declarations so, in the formatter's own words.
pub fn field_text(src: &str, f: &FieldDecl) -> String {
    let mut p = Printer { src, comments: Vec::new(), next: 0 };
    one_line(p.field(f))
}

/// A type on one line in the canonical spelling, as [`field_text`] writes a field.
pub fn type_text(src: &str, t: &TypeExpr) -> String {
    let mut p = Printer { src, comments: Vec::new(), next: 0 };
    one_line(p.ty(t))
}

/// `doc` as one group at a width no declaration reaches (`usize::MAX` would overflow the
/// width arithmetic): no line breaks, since without comments none is forced.
fn one_line(doc: Doc) -> String {
    render(&group(doc), 1 << 30).trim_end().to_string()
}

// ---- the document ---------------------------------------------------------------------

enum Doc {
    /// Text without a line break.
    Text(String),
    /// Text written as is, line breaks included (multi-line strings and block comments).
    Raw(String),
    /// A space on one line, a line break when its group is broken.
    Line,
    /// Nothing on one line, a line break when its group is broken.
    SoftLine,
    /// Always a line break; the groups around it are broken.
    Hard,
    /// Text only when the group is broken (trailing commas).
    IfBreak(&'static str),
    /// A trailing comment, written at the end of the current line; breaks its groups.
    Suffix(String),
    Nest(usize, Box<Doc>),
    Group(Box<Doc>),
    Cat(Vec<Doc>),
}

fn text(s: impl Into<String>) -> Doc {
    let s = s.into();
    if s.contains('\n') {
        Doc::Raw(s)
    } else {
        Doc::Text(s)
    }
}

fn cat(docs: Vec<Doc>) -> Doc {
    Doc::Cat(docs)
}

fn nest(d: Doc) -> Doc {
    Doc::Nest(INDENT, Box::new(d))
}

fn group(d: Doc) -> Doc {
    Doc::Group(Box::new(d))
}

/// Writes `doc` in `width` columns. Iterative, so deep documents do not grow the stack.
fn render(doc: &Doc, width: usize) -> String {
    let mut out = String::new();
    let mut col = 0usize;
    let mut suffixes: Vec<&str> = Vec::new();
    let mut stack: Vec<(usize, bool, &Doc)> = vec![(0, false, doc)];
    while let Some((indent, flat, d)) = stack.pop() {
        match d {
            Doc::Text(s) => {
                out.push_str(s);
                col += s.chars().count();
            }
            Doc::Raw(s) => {
                out.push_str(s);
                col = match s.rfind('\n') {
                    Some(at) => s[at + 1..].chars().count(),
                    None => col + s.chars().count(),
                };
            }
            Doc::Line if flat => {
                out.push(' ');
                col += 1;
            }
            Doc::SoftLine if flat => {}
            Doc::Line | Doc::SoftLine | Doc::Hard => {
                newline(&mut out, &mut suffixes, indent);
                col = indent;
            }
            Doc::IfBreak(s) => {
                if !flat {
                    out.push_str(s);
                    col += s.len();
                }
            }
            Doc::Suffix(s) => suffixes.push(s),
            Doc::Nest(n, inner) => stack.push((indent + n, flat, inner)),
            Doc::Group(inner) => {
                let one_line = flat || fits(width.saturating_sub(col), (indent, true, inner));
                stack.push((indent, one_line, inner));
            }
            Doc::Cat(docs) => stack.extend(docs.iter().rev().map(|x| (indent, flat, x))),
        }
    }
    newline(&mut out, &mut suffixes, 0);
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    out.push('\n');
    out
}

fn newline(out: &mut String, suffixes: &mut Vec<&str>, indent: usize) {
    for s in suffixes.drain(..) {
        out.push(' ');
        out.push_str(s);
    }
    let trimmed = out.trim_end_matches([' ', '\t']).len();
    out.truncate(trimmed);
    out.push('\n');
    out.extend(std::iter::repeat_n(' ', indent));
}

/// Whether the group `first` written on one line fits in `room` columns. What follows the
/// group on its line is not counted: a call's arguments stay on one line although a method
/// after them runs past the width (breaking them would not shorten that line much).
fn fits(room: usize, first: (usize, bool, &Doc)) -> bool {
    let mut room = room as isize;
    let mut work = vec![first];
    loop {
        let Some((indent, flat, d)) = work.pop() else { return true };
        match d {
            Doc::Text(s) => room -= s.chars().count() as isize,
            Doc::Raw(s) => {
                if flat && s.contains('\n') {
                    return false;
                }
                room -= s.chars().count() as isize;
            }
            Doc::Line if flat => room -= 1,
            Doc::SoftLine if flat => {}
            Doc::Line | Doc::SoftLine | Doc::Hard | Doc::Suffix(_) => return !flat,
            Doc::IfBreak(s) => {
                if !flat {
                    room -= s.len() as isize;
                }
            }
            Doc::Nest(n, inner) => work.push((indent + n, flat, inner)),
            Doc::Group(inner) => work.push((indent, flat, inner)),
            Doc::Cat(docs) => work.extend(docs.iter().rev().map(|x| (indent, flat, x))),
        }
        if room < 0 {
            return false;
        }
    }
}

// ---- comments -------------------------------------------------------------------------

struct Comment {
    start: usize,
    end: usize,
    /// As written, each line's trailing spaces removed.
    text: String,
}

/// Every comment of `src`, in order: read from the gaps between tokens, which hold only
/// whitespace and comments (the text parsed without an error).
fn comments(src: &str) -> Vec<Comment> {
    let mut found = Vec::new();
    let mut gap_start = 0;
    let mut gaps: Vec<(usize, usize)> = Vec::new();
    for (l, r) in lexer::lex(src, 0..src.len()).map(|t| match t {
        Ok((l, _, r)) => (l, r),
        Err((_, at)) => (at.start, at.end),
    }) {
        gaps.push((gap_start, l));
        gap_start = r;
    }
    gaps.push((gap_start, src.len()));
    for (from, to) in gaps {
        let Some(gap) = src.get(from..to) else { continue };
        let mut i = 0;
        while i < gap.len() {
            let rest = &gap[i..];
            let len = if rest.starts_with("//") {
                rest.find('\n').unwrap_or(rest.len())
            } else if rest.starts_with("/*") {
                rest.find("*/").map_or(rest.len(), |e| e + 2)
            } else {
                i += rest.chars().next().map_or(1, char::len_utf8);
                continue;
            };
            let text: Vec<&str> = rest[..len].lines().map(str::trim_end).collect();
            found.push(Comment { start: from + i, end: from + i + len, text: text.join("\n") });
            i += len;
        }
    }
    found
}

// ---- the printer ----------------------------------------------------------------------

struct Printer<'a> {
    src: &'a str,
    comments: Vec<Comment>,
    /// The first comment not printed yet.
    next: usize,
}

fn span_of<T: std::ops::Deref<Target = Span>>(s: &T) -> Span {
    **s
}

impl Printer<'_> {
    fn raw(&self, span: Span) -> String {
        self.src.get(span.range()).unwrap_or("").to_string()
    }

    /// The literal inside `span` as written, without the parentheses around it (and with
    /// the `-` of a negative JSON number).
    fn literal(&self, span: Span) -> String {
        let mut out = String::new();
        for (l, tok, r) in lexer::lex(self.src, span.range()).flatten() {
            match tok {
                Token::Minus => out.push('-'),
                Token::Num(_) | Token::Dur(_) | Token::Str(_) => {
                    out.push_str(&self.src[l..r]);
                    break;
                }
                _ => {}
            }
        }
        out
    }

    /// Whether the source has an empty line just before `pos`.
    fn blank_before(&self, pos: usize) -> bool {
        let before = self.src.get(..pos).unwrap_or("");
        let ws = before.len() - before.trim_end_matches([' ', '\t', '\r', '\n']).len();
        before[before.len() - ws..].matches('\n').count() >= 2
    }

    /// The comments not printed yet that start before `pos`, each with whether an empty
    /// line precedes it.
    fn take_before(&mut self, pos: usize) -> Vec<(String, bool)> {
        let mut out = Vec::new();
        while let Some(c) = self.comments.get(self.next).filter(|c| c.start < pos) {
            out.push((c.text.clone(), self.blank_before(c.start)));
            self.next += 1;
        }
        out
    }

    /// The comments before `pos`, each on its own line (for an anchor that starts a line).
    fn lead(&mut self, pos: usize) -> Doc {
        cat(self.take_before(pos).into_iter().flat_map(|(c, _)| [text(c), Doc::Hard]).collect())
    }

    /// The comments on the line of `end` after it, only `,` between: kept at that line's end.
    fn trail(&mut self, end: usize) -> Doc {
        let mut docs = Vec::new();
        let mut from = end;
        while let Some(c) = self.comments.get(self.next) {
            let gap = self.src.get(from..c.start).unwrap_or("x");
            if c.start < from || !gap.chars().all(|ch| matches!(ch, ' ' | '\t' | ',')) || c.text.contains('\n') {
                break;
            }
            docs.push(Doc::Suffix(c.text.clone()));
            from = c.end;
            self.next += 1;
            if c.text.starts_with("//") {
                break;
            }
        }
        cat(docs)
    }

    /// Items one per line: comments before each kept, an empty line before one kept (at
    /// most one, never first), then the comments left before `close`.
    fn seq<T>(&mut self, items: &[T], span: fn(&Self, &T) -> Span, item: fn(&mut Self, &T) -> Doc, close: usize) -> Doc {
        let mut docs = Vec::new();
        let mut emitted = false;
        for x in items {
            let s = span(self, x);
            if emitted {
                docs.push(Doc::Hard);
            }
            for (c, blank) in self.take_before(s.start as usize) {
                if blank && emitted {
                    docs.push(Doc::Hard);
                }
                docs.extend([text(c), Doc::Hard]);
                emitted = true;
            }
            if emitted && self.blank_before(s.start as usize) {
                docs.push(Doc::Hard);
            }
            docs.push(item(self, x));
            docs.push(self.trail(s.end as usize));
            emitted = true;
        }
        for (c, blank) in self.take_before(close) {
            if emitted {
                docs.push(Doc::Hard);
                if blank {
                    docs.push(Doc::Hard);
                }
            }
            docs.push(text(c));
            emitted = true;
        }
        cat(docs)
    }

    /// `open a, b close` on one line, or one element per line with a trailing comma;
    /// `pad` puts spaces inside the brackets on one line (`{ a: T }`). `last` is a final
    /// element without a comma (a tool's `...`).
    #[allow(clippy::too_many_arguments)]
    fn list<T>(
        &mut self,
        open: &str,
        items: &[T],
        last: Option<&str>,
        close: &str,
        close_at: usize,
        pad: bool,
        span: fn(&T) -> Span,
        item: fn(&mut Self, &T) -> Doc,
    ) -> Doc {
        let edge = || if pad { Doc::Line } else { Doc::SoftLine };
        if items.is_empty() && last.is_none() && self.comments.get(self.next).is_none_or(|c| c.start >= close_at) {
            return text(format!("{open}{close}"));
        }
        let mut inner = vec![edge()];
        let n = items.len();
        for (i, x) in items.iter().enumerate() {
            let s = span(x);
            if i > 0 {
                inner.push(Doc::Line);
            }
            inner.push(self.lead(s.start as usize));
            inner.push(item(self, x));
            inner.push(if i + 1 == n && last.is_none() { Doc::IfBreak(",") } else { text(",") });
            inner.push(self.trail(s.end as usize));
        }
        if let Some(l) = last {
            if n > 0 {
                inner.push(Doc::Line);
            }
            inner.push(text(l));
        }
        for (c, _) in self.take_before(close_at) {
            inner.extend([Doc::Hard, text(c)]);
        }
        group(cat(vec![text(open), nest(cat(inner)), edge(), text(close)]))
    }

    // ---- items ----

    /// An item's span, from its first keyword (the spans of `policy NAME` and `version
    /// "..."` start at the name).
    fn item_span(&self, i: &Item) -> Span {
        let mut span = item_span(i);
        let keyword = match i {
            Item::Policy(_) => "policy",
            Item::Version(_) => "version",
            _ => return span,
        };
        let before = self.src.get(..span.start as usize).unwrap_or("").trim_end();
        if before.ends_with(keyword) {
            span.start = (before.len() - keyword.len()) as u32;
        }
        span
    }

    fn file(&mut self, f: &File) -> Doc {
        let end = self.src.len();
        self.seq(&f.items, Self::item_span, Self::item, end)
    }

    fn item(&mut self, item: &Item) -> Doc {
        match item {
            Item::Policy(name) => text(format!("policy {}", name.name)),
            Item::Version(v) => text(format!("version {}", self.raw(*v.span))),
            Item::Default(e, _) => text(format!("default {}", default_word(*e))),
            Item::OnError(e, _) => text(format!("on error {}", default_word(*e))),
            Item::Type(t) => cat(vec![text(format!("type {} = ", t.name.name)), self.ty(&t.ty)]),
            Item::Tool(t) => {
                let params = self.list("(", &t.params, t.open.then_some("..."), ")", t.span.end as usize, false, field_span, Self::field);
                cat(vec![text(format!("tool {}", t.name.name)), params])
            }
            Item::Request(r) => cat(vec![text("request "), self.list("{", &r.fields, None, "}", r.span.end as usize, true, field_span, Self::field)]),
            Item::Let(l) => self.let_decl(l),
            Item::Data(d) => cat(vec![text(format!("data {}: ", d.name.name)), self.ty(&d.ty)]),
            Item::Window(w) => self.window(w),
            Item::Fn(f) => self.function(f),
            Item::Rule(r) => self.rule(r),
            Item::Block(b) => {
                let head = text(format!("on {} {{", tools(&b.tools)));
                let end = b.span.end as usize;
                if b.items.is_empty() && self.comments.get(self.next).is_none_or(|c| c.start >= end) {
                    return cat(vec![head, text("}")]);
                }
                let body = self.seq(&b.items, |_, i| block_item_span(i), Self::block_item, end);
                cat(vec![head, nest(cat(vec![Doc::Hard, body])), Doc::Hard, text("}")])
            }
            Item::Fixture(f) => match &f.value {
                FixtureValue::Literal(j) => cat(vec![text(format!("fixture {} = ", f.name.name)), self.json(j)]),
                FixtureValue::Extends { base, with } => {
                    let with = self.list("{", with, None, "}", f.span.end as usize, true, pair_span_path, Self::override_entry);
                    cat(vec![text(format!("fixture {} = {} with ", f.name.name, base.name)), with])
                }
            },
            Item::Test(t) => {
                let head = text(format!("test {} {{", self.raw(*t.name.span)));
                let end = t.span.end as usize;
                if t.stmts.is_empty() && self.comments.get(self.next).is_none_or(|c| c.start >= end) {
                    return cat(vec![head, text("}")]);
                }
                let body = self.seq(&t.stmts, |_, s| stmt_span(s), Self::test_stmt, end);
                cat(vec![head, nest(cat(vec![Doc::Hard, body])), Doc::Hard, text("}")])
            }
        }
    }

    fn block_item(&mut self, item: &BlockItem) -> Doc {
        match item {
            BlockItem::Rule(r) => self.rule(r),
            BlockItem::Let(l) => self.let_decl(l),
        }
    }

    fn let_decl(&mut self, l: &LetDecl) -> Doc {
        let head = format!("let {} =", l.name.name);
        // A list breaks inside its brackets; anything else moves to the next line first.
        if matches!(l.value.kind, ExprKind::List(_)) && !self.parenthesized(&l.value) {
            return cat(vec![text(head + " "), self.expr(&l.value)]);
        }
        group(cat(vec![text(head), nest(cat(vec![Doc::Line, self.expr(&l.value)]))]))
    }

    fn function(&mut self, f: &FnDecl) -> Doc {
        let head = if f.body.is_some() { "fn" } else { "builtin fn" };
        let params = self.list("(", &f.params, None, ")", f.ret.span.start as usize, false, field_span, Self::field);
        let mut docs = vec![text(format!("{head} {}", f.name.name)), params, text(" -> "), self.ty(&f.ret)];
        if let Some(body) = &f.body {
            docs.push(text(" ="));
            docs.push(nest(cat(vec![Doc::Line, self.expr(body)])));
        }
        group(cat(docs))
    }

    fn window(&mut self, w: &WindowDecl) -> Doc {
        let value = match &w.value {
            Some(v) => self.expr(v),
            None => text(""),
        };
        let mut clauses = Vec::new();
        if let Some(t) = &w.tools {
            clauses.extend([Doc::Line, text(format!("on {}", tools(t)))]);
        }
        clauses.extend([Doc::Line, text("over "), self.expr(&w.duration), Doc::Line, text("by ")]);
        for (i, k) in w.keys.iter().enumerate() {
            if i > 0 {
                clauses.push(text(", "));
            }
            clauses.push(self.expr(k));
        }
        if let Some(c) = &w.condition {
            clauses.extend([Doc::Line, text("when "), self.expr(c)]);
        }
        group(cat(vec![text(format!("window {} = {}(", w.name.name, w.aggregate.name)), value, text(")"), nest(cat(clauses))]))
    }

    fn rule(&mut self, r: &Rule) -> Doc {
        let mut docs = Vec::new();
        for a in &r.annotations {
            docs.push(self.lead(a.span.start as usize));
            docs.extend([text(format!("@{}({})", a.name.name, self.raw(*a.value.span))), Doc::Hard]);
        }
        let Some(name) = &r.name else {
            // `[on TOOLS] EFFECT [when COND] [because "..."]`: one line when it fits, else
            // each clause on its own line, indented.
            let mut head = Vec::new();
            if let Some(t) = &r.tools {
                head.push(text(format!("on {} ", tools(t))));
            }
            head.push(self.effect(&r.effect));
            let mut clauses = Vec::new();
            if let Some(c) = &r.condition {
                clauses.extend([Doc::Line, self.lead(c.span.start as usize), text("when "), self.expr(c)]);
            }
            if let Some(b) = &r.because {
                clauses.extend([Doc::Line, self.lead(b.span.start as usize), text(format!("because {}", self.raw(*b.span)))]);
            }
            head.push(nest(cat(clauses)));
            docs.push(group(cat(head)));
            return cat(docs);
        };
        docs.push(self.lead(name.span.start as usize));
        docs.push(text(format!("rule {}:", name.name)));
        let mut body = vec![Doc::Hard];
        if let Some(t) = &r.tools {
            if let Some(first) = t.first() {
                body.push(self.lead(first.span.start as usize));
            }
            body.extend([text(format!("on {}", tools(t))), Doc::Hard]);
        }
        body.push(self.lead(r.effect.span.start as usize));
        // `EFFECT when COND` on one line when it fits, else `when COND` on the next.
        let mut clause = vec![self.effect(&r.effect)];
        if let Some(c) = &r.condition {
            clause.extend([Doc::Line, self.lead(c.span.start as usize), text("when "), self.expr(c)]);
        }
        body.push(group(cat(clause)));
        if let Some(b) = &r.because {
            body.extend([Doc::Hard, self.lead(b.span.start as usize), text(format!("because {}", self.raw(*b.span)))]);
        }
        docs.push(nest(cat(body)));
        cat(docs)
    }

    fn effect(&mut self, e: &Effect) -> Doc {
        match &e.kind {
            EffectKind::Deny => text("deny"),
            EffectKind::Allow => text("allow"),
            EffectKind::Warn => text("warn"),
            EffectKind::RequireApproval(roles) if roles.is_empty() => text("require approval"),
            EffectKind::RequireApproval(roles) => {
                let roles: Vec<String> = roles.iter().map(|r| self.raw(*r.span)).collect();
                text(format!("require approval from {}", roles.join(", ")))
            }
            EffectKind::Redact(p, None) => text(format!("redact {}", path(p))),
            EffectKind::Redact(p, Some(m)) => cat(vec![text(format!("redact {} matching ", path(p))), self.expr(m)]),
            EffectKind::Set(p, v) => cat(vec![text(format!("set {} = ", path(p))), self.expr(v)]),
        }
    }

    // ---- types ----

    fn field(&mut self, f: &FieldDecl) -> Doc {
        let q = if f.optional { "?" } else { "" };
        cat(vec![text(format!("{}{q}: ", f.name.name)), self.ty(&f.ty)])
    }

    fn ty(&mut self, t: &TypeExpr) -> Doc {
        match &t.kind {
            TypeExprKind::Named(n) => text(n.name.clone()),
            TypeExprKind::List(inner) => cat(vec![text("list<"), self.ty(inner), text(">")]),
            TypeExprKind::Map(inner) => cat(vec![text("map<"), self.ty(inner), text(">")]),
            TypeExprKind::Record(fields) => self.list("{", fields, None, "}", t.span.end as usize, true, field_span, Self::field),
            TypeExprKind::Enum(values) => {
                let mut rest = Vec::new();
                for v in values.iter().skip(1) {
                    rest.extend([Doc::Line, text(format!("| {}", self.raw(*v.span)))]);
                }
                let first = values.first().map(|v| self.raw(*v.span)).unwrap_or_default();
                group(cat(vec![text(first), nest(cat(rest))]))
            }
            TypeExprKind::Lenient(inner) => cat(vec![text("lenient "), self.ty(inner)]),
        }
    }

    // ---- expressions ----

    fn expr(&mut self, e: &Expr) -> Doc {
        self.operand(e, 0)
    }

    /// `e` where an expression binding at least as tightly as `min` is expected: in
    /// parentheses when written so or when its precedence needs them.
    fn operand(&mut self, e: &Expr, min: u8) -> Doc {
        let inner = self.bare(e);
        if self.parenthesized(e) || precedence(e) < min {
            cat(vec![text("("), inner, text(")")])
        } else {
            inner
        }
    }

    /// A call's arguments. A lone string literal stays inside the parentheses: breaking
    /// the line would not make it shorter (and `matches("...")` reads as one thing).
    fn args(&mut self, args: &[Expr], close_at: usize) -> Doc {
        if let [only] = args {
            let no_comment = self.comments.get(self.next).is_none_or(|c| c.start >= close_at);
            if matches!(only.kind, ExprKind::Str(_)) && !self.parenthesized(only) && no_comment {
                return cat(vec![text("("), text(self.literal(*only.span)), text(")")]);
            }
        }
        self.list("(", args, None, ")", close_at, false, span_of_expr, Self::expr)
    }

    /// Whether the source writes `e` in parentheses (the parser widens its span over them).
    fn parenthesized(&self, e: &Expr) -> bool {
        let natural = match &e.kind {
            ExprKind::Binary(_, a, _) => Some(a.span.start),
            ExprKind::Field(r, _) | ExprKind::Index(r, _) => Some(r.span.start),
            ExprKind::MethodCall { receiver, .. } => Some(receiver.span.start),
            ExprKind::Call { name, .. } => Some(name.span.start),
            ExprKind::Lambda { param, .. } => Some(param.span.start),
            _ => None,
        };
        match natural {
            Some(start) => e.span.start < start,
            None => self.src.as_bytes().get(e.span.start as usize) == Some(&b'('),
        }
    }

    fn bare(&mut self, e: &Expr) -> Doc {
        match &e.kind {
            ExprKind::Bool(b) => text(b.to_string()),
            ExprKind::Number(_) | ExprKind::Duration(_) | ExprKind::Str(_) => text(self.literal(*e.span)),
            ExprKind::List(items) => self.list("[", items, None, "]", e.span.end as usize, false, span_of_expr, Self::expr),
            ExprKind::Name(n) => text(n.name.clone()),
            ExprKind::Field(r, f) => cat(vec![self.operand(r, POSTFIX), text(format!(".{}", f.name))]),
            ExprKind::Index(r, i) => cat(vec![self.operand(r, POSTFIX), text("["), self.expr(i), text("]")]),
            ExprKind::MethodCall { receiver, method, args } => {
                let r = self.operand(receiver, POSTFIX);
                let args = self.args(args, e.span.end as usize);
                cat(vec![r, text(format!(".{}", method.name)), args])
            }
            ExprKind::Call { name, args } => {
                let args = self.args(args, e.span.end as usize);
                cat(vec![text(name.name.clone()), args])
            }
            ExprKind::Unary(UnaryOp::Not, x) => cat(vec![text("not "), self.operand(x, NOT)]),
            ExprKind::Unary(UnaryOp::Neg, x) => cat(vec![text("-"), self.operand(x, UNARY)]),
            ExprKind::Has(x) => cat(vec![text("has "), self.operand(x, POSTFIX)]),
            ExprKind::If(c, a, b) => {
                let c = self.expr(c);
                let a = self.expr(a);
                let b = self.expr(b);
                group(cat(vec![text("if "), c, nest(cat(vec![Doc::Line, text("then "), a, Doc::Line, text("else "), b]))]))
            }
            ExprKind::Lambda { param, body } => cat(vec![text(format!("{} => ", param.name)), self.expr(body)]),
            ExprKind::Binary(op @ (BinaryOp::And | BinaryOp::Or), _, _) => self.chain(e, *op),
            ExprKind::Binary(op, a, b) => {
                let (left, right) = binary_operands(*op);
                let a = self.operand(a, left);
                let b = self.operand(b, right);
                cat(vec![a, text(format!(" {} ", op.symbol())), b])
            }
            // Unreachable: text with a syntax error is not formatted.
            ExprKind::Error => text(self.raw(*e.span)),
        }
    }

    /// `a and b and c`: on one line when it fits, else one operand per line, each after the
    /// first starting with the operator, indented.
    fn chain(&mut self, e: &Expr, op: BinaryOp) -> Doc {
        let mut operands = Vec::new();
        let mut at = e;
        while let ExprKind::Binary(o, a, b) = &at.kind {
            if *o != op || (!std::ptr::eq(at, e) && self.parenthesized(at)) {
                break;
            }
            operands.push(b.as_ref());
            at = a;
        }
        operands.push(at);
        operands.reverse();
        let (left, right) = binary_operands(op);
        let n = operands.len();
        let first = self.operand(operands[0], left);
        let mut rest = Vec::new();
        let first_trail = self.trail(operands[0].span.end as usize);
        for (i, x) in operands.iter().enumerate().skip(1) {
            rest.push(Doc::Line);
            rest.push(self.lead(x.span.start as usize));
            rest.push(text(format!("{} ", op.symbol())));
            rest.push(self.operand(x, right));
            // The last operand's line may go on after the chain: no comment is kept there.
            if i + 1 < n {
                rest.push(self.trail(x.span.end as usize));
            }
        }
        group(cat(vec![first, first_trail, nest(cat(rest))]))
    }

    // ---- tests ----

    fn test_stmt(&mut self, s: &TestStmt) -> Doc {
        match s {
            TestStmt::Request(RequestSource::Fixture { name, with }, span) => {
                if with.is_empty() {
                    return text(format!("request {}", name.name));
                }
                let with = self.list("{", with, None, "}", span.end as usize, true, pair_span_path, Self::override_entry);
                cat(vec![text(format!("request {} with ", name.name)), with])
            }
            TestStmt::Request(RequestSource::File(f), _) => text(format!("request file({})", self.raw(*f.span))),
            TestStmt::Request(RequestSource::Literal(j), _) => cat(vec![text("request "), self.json(j)]),
            TestStmt::ExpectEffect { effect, by, .. } => {
                let effect = match effect {
                    ExpectedEffect::Allow => "allow",
                    ExpectedEffect::Deny => "deny",
                    ExpectedEffect::RequireApproval => "require approval",
                };
                let by: Vec<&str> = by.iter().map(|b| b.name.as_str()).collect();
                if by.is_empty() {
                    text(format!("expect {effect}"))
                } else {
                    text(format!("expect {effect} by {}", by.join(", ")))
                }
            }
            TestStmt::ExpectValue { path: p, value, .. } => cat(vec![text(format!("expect {} == ", path(p))), self.json(value)]),
            TestStmt::Windows { values, span } => {
                let values = self.list("{", values, None, "}", span.end as usize, true, pair_span_ident, Self::json_field);
                cat(vec![text("windows "), values])
            }
        }
    }

    fn override_entry(&mut self, (p, v): &(PathRef, Json)) -> Doc {
        cat(vec![text(format!("{}: ", path(p))), self.json(v)])
    }

    fn json_field(&mut self, (k, v): &(Ident, Json)) -> Doc {
        // A key written as a string stays one (`"a-b": 1`); a bare key stays bare.
        let key = if self.src.as_bytes().get(k.span.start as usize) == Some(&b'"') { self.raw(*k.span) } else { k.name.clone() };
        cat(vec![text(format!("{key}: ")), self.json(v)])
    }

    fn json(&mut self, j: &Json) -> Doc {
        match &j.kind {
            JsonKind::Null => text("null"),
            JsonKind::Bool(b) => text(b.to_string()),
            JsonKind::Number(_) => text(self.literal(*j.span)),
            JsonKind::Str(_) => text(self.raw(*j.span)),
            JsonKind::List(items) => self.list("[", items, None, "]", j.span.end as usize, false, json_span, Self::json),
            JsonKind::Object(fields) => self.list("{", fields, None, "}", j.span.end as usize, true, pair_span_ident, Self::json_field),
        }
    }
}

// ---- precedence, loosest first (grammar/policy.lalrpop) -------------------------------

const NOT: u8 = 3;
const UNARY: u8 = 8;
const POSTFIX: u8 = 9;

fn precedence(e: &Expr) -> u8 {
    match &e.kind {
        ExprKind::If(..) | ExprKind::Lambda { .. } => 0,
        ExprKind::Binary(op, _, _) => binary_precedence(*op),
        ExprKind::Unary(UnaryOp::Not, _) => NOT,
        ExprKind::Unary(UnaryOp::Neg, _) | ExprKind::Has(_) => UNARY,
        ExprKind::Field(..) | ExprKind::Index(..) | ExprKind::MethodCall { .. } => POSTFIX,
        _ => 10,
    }
}

fn binary_precedence(op: BinaryOp) -> u8 {
    use BinaryOp::*;
    match op {
        Or => 1,
        And => 2,
        Eq | Ne | Lt | Le | Gt | Ge | In | NotIn => 4,
        Coalesce => 5,
        Add | Sub => 6,
        Mul | Div | Rem => 7,
    }
}

/// The least precedence each operand of `op` may have without parentheses: operators are
/// left-associative, and comparisons do not chain.
fn binary_operands(op: BinaryOp) -> (u8, u8) {
    let p = binary_precedence(op);
    if p == 4 {
        (5, 5)
    } else {
        (p, p + 1)
    }
}

// ---- small helpers --------------------------------------------------------------------

fn default_word(e: DefaultEffect) -> &'static str {
    match e {
        DefaultEffect::Allow => "allow",
        DefaultEffect::Deny => "deny",
    }
}

fn tools(t: &[ToolPattern]) -> String {
    t.iter().map(|p| p.text.as_str()).collect::<Vec<_>>().join(", ")
}

fn path(p: &PathRef) -> String {
    p.segments.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(".")
}

fn item_span(i: &Item) -> Span {
    match i {
        Item::Policy(n) => *n.span,
        Item::Version(v) => *v.span,
        Item::Default(_, s) | Item::OnError(_, s) => **s,
        Item::Type(t) => *t.span,
        Item::Tool(t) => *t.span,
        Item::Request(r) => *r.span,
        Item::Let(l) => *l.span,
        Item::Data(d) => *d.span,
        Item::Window(w) => *w.span,
        Item::Fn(f) => *f.span,
        Item::Rule(r) => *r.span,
        Item::Block(b) => *b.span,
        Item::Fixture(f) => *f.span,
        Item::Test(t) => *t.span,
    }
}

fn block_item_span(i: &BlockItem) -> Span {
    match i {
        BlockItem::Rule(r) => *r.span,
        BlockItem::Let(l) => *l.span,
    }
}

fn stmt_span(s: &TestStmt) -> Span {
    match s {
        TestStmt::Request(_, span) | TestStmt::ExpectEffect { span, .. } | TestStmt::ExpectValue { span, .. } | TestStmt::Windows { span, .. } => **span,
    }
}

fn field_span(f: &FieldDecl) -> Span {
    *f.span
}

fn span_of_expr(e: &Expr) -> Span {
    span_of(&e.span)
}

fn json_span(j: &Json) -> Span {
    *j.span
}

fn pair_span_ident((k, v): &(Ident, Json)) -> Span {
    k.span.to(*v.span)
}

fn pair_span_path((p, v): &(PathRef, Json)) -> Span {
    p.span.to(*v.span)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(src: &str) -> String {
        match format_source("t.pol", src) {
            Ok(s) => s,
            Err(d) => panic!("{}", d.render()),
        }
    }

    #[test]
    fn groups_break_only_when_too_wide() {
        let doc = group(cat(vec![text("f("), nest(cat(vec![Doc::SoftLine, text("a,"), Doc::Line, text("b"), Doc::IfBreak(",")])), Doc::SoftLine, text(")")]));
        assert_eq!(render(&doc, 100), "f(a, b)\n");
        assert_eq!(render(&doc, 5), "f(\n  a,\n  b,\n)\n");
    }

    #[test]
    fn comments_are_read_from_the_gaps_between_tokens() {
        let cs = comments("a // one\n\"// not\" /* two\n  three */ b");
        let texts: Vec<&str> = cs.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, ["// one", "/* two\n  three */"]);
    }

    #[test]
    fn parentheses_are_kept_where_written_and_only_there() {
        let out = fmt("policy p\nlet x = ((1 + 2)) * 3 + (4)\nlet y = not (a and b) or c\n");
        assert_eq!(out, "policy p\nlet x = (1 + 2) * 3 + (4)\nlet y = not (a and b) or c\n");
    }

    #[test]
    fn trailing_comments_stay_on_their_line() {
        let src = "policy p // name\nlet xs = [\n  1, // one\n  2,\n]\n";
        assert_eq!(fmt(src), src);
    }
}
