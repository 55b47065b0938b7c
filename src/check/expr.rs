//! Expressions: resolves names, checks types and builds IR nodes. Optional values carry
//! `Type::Optional` until a `has` guard (flow narrowing) or a `??` default removes it;
//! reading one anywhere else is an error at the read.

use super::collect::ENVELOPE_NAMES;
use super::methods::contains_of;
use super::{Checker, FnBody, FnInfo, FnState, LetState};
use crate::diagnostics as diag;
use crate::ir::{self, ArithOp, Builtin, CmpOp, ExprKind};
use crate::ops::builtins::{self, Recv};
use crate::span::Span;
use crate::syntax::ast::{self, BinaryOp, UnaryOp};
use crate::types::{FieldType, Type};
use crate::value::Value;
use indexmap::IndexMap;
use std::sync::Arc;

/// Where an expression is checked: which names are visible.
#[derive(Clone, Default)]
pub(super) struct Ctx<'a> {
    /// The namespace for `let`s and functions: `""` (the user's) or a stdlib module.
    pub ns: String,
    /// Arguments in scope by bare name (`None`: not in a tool scope).
    /// Shared by the rules scoped to the same tools (see `Checker::scope_args`).
    pub args: Option<std::rc::Rc<IndexMap<String, FieldType>>>,
    /// Arguments of some but not all tools in scope (to explain why they are not usable).
    pub partial_args: Vec<String>,
    pub block_lets: Vec<&'a ast::LetDecl>,
    /// Whether request fields can be read (not in function bodies).
    pub request: bool,
    /// Lambda and function parameters: name, local index, type.
    pub locals: Vec<(String, u32, Type)>,
    /// Paths known to be present (`has` facts).
    pub narrowed: Vec<String>,
    pub next_local: u32,
    pub lets_in_progress: Vec<String>,
    /// Where an expression that cannot read the request sits ("a function", "a top-level
    /// `let`"), for the error when it tries.
    pub place: &'static str,
    /// The declared tools (indexes) of the scope, `None` without `on`.
    pub scope_tools: Option<std::rc::Rc<[usize]>>,
    /// In a window's keys, value or `when` (no window can be read there).
    pub in_window: bool,
    /// In a window's `when`: `decision` and the outcomes can be read.
    pub in_when: bool,
}

pub(super) fn mk(kind: ExprKind, ty: Type, span: Span) -> ir::Expr {
    ir::Expr { kind, ty, span }
}

/// The node standing in for an expression that had an error (type `Any`: no cascades).
pub(super) fn error_expr(span: Span) -> ir::Expr {
    mk(ExprKind::Const(Value::Absent), Type::Any, span)
}

/// `memo`, `recipient.email`, `context.ticket_severity`: the key `has` facts are kept by.
pub(super) fn path_key(e: &ast::Expr) -> Option<String> {
    match &e.kind {
        ast::ExprKind::Name(id) => Some(id.name.clone()),
        ast::ExprKind::Field(inner, f) => path_key(inner).map(|k| format!("{k}.{}", f.name)),
        ast::ExprKind::Index(inner, index) => {
            let i = match &index.kind {
                ast::ExprKind::Number(n) => n.to_string(),
                ast::ExprKind::Str(s) => format!("{s:?}"),
                ast::ExprKind::Name(id) => id.name.clone(),
                _ => return None,
            };
            path_key(inner).map(|k| format!("{k}[{i}]"))
        }
        _ => None,
    }
}

/// The paths that are present when `e` evaluates to `positive`.
fn facts(e: &ast::Expr, positive: bool, out: &mut Vec<String>) {
    match (&e.kind, positive) {
        (ast::ExprKind::Has(p), true) => {
            // `has r.a` also means `r` is there.
            let mut inner = Some(&**p);
            while let Some(e) = inner {
                out.extend(path_key(e));
                inner = match &e.kind {
                    ast::ExprKind::Field(x, _) | ast::ExprKind::Index(x, _) => Some(&**x),
                    _ => None,
                };
            }
        }
        (ast::ExprKind::Binary(BinaryOp::And, a, b), true) | (ast::ExprKind::Binary(BinaryOp::Or, a, b), false) => {
            facts(a, positive, out);
            facts(b, positive, out);
        }
        (ast::ExprKind::Unary(UnaryOp::Not, x), _) => facts(x, !positive, out),
        _ => {}
    }
}

impl<'a> Checker<'a> {
    fn text(&self, span: Span) -> String {
        self.sources.slice(span).to_string()
    }

    /// Checks `e` where a present value is needed: an optional here is an unguarded read.
    pub(super) fn value(&mut self, cx: &mut Ctx<'a>, e: &'a ast::Expr) -> ir::Expr {
        let mut x = self.expr(cx, e);
        if let Type::Optional(inner) = &x.ty {
            let inner = (**inner).clone();
            self.report(diag::unguarded_optional(*e.span, &self.text(*e.span)));
            x.ty = inner;
        }
        x
    }

    /// Checks `e` and requires type `want` (a string literal may stand for an enum value).
    pub(super) fn value_of(&mut self, cx: &mut Ctx<'a>, e: &'a ast::Expr, want: &Type) -> ir::Expr {
        let x = self.value(cx, e);
        self.expect_type(&x, e, want);
        x
    }

    pub(super) fn expect_type(&mut self, x: &ir::Expr, e: &ast::Expr, want: &Type) {
        if let (Type::Enum(_), ast::ExprKind::Str(_)) = (want, &e.kind) {
            self.check_enum_literal(want, e);
        } else if !x.ty.fits(want) {
            self.report(diag::type_mismatch(*e.span, &want.to_string(), &x.ty.to_string(), None));
        }
    }

    /// A string literal compared with or passed as an enum must be one of its values.
    pub(super) fn check_enum_literal(&mut self, enum_ty: &Type, e: &ast::Expr) {
        let Type::Enum(values) = enum_ty.unwrap_optional() else { return };
        match &e.kind {
            ast::ExprKind::Str(s) if !values.contains(s) => {
                let suggestion = diag::did_you_mean(s, values.iter().map(String::as_str));
                self.report(diag::not_in_enum(*e.span, s, values, suggestion));
            }
            ast::ExprKind::List(items) => items.iter().for_each(|i| self.check_enum_literal(enum_ty, i)),
            _ => {}
        }
    }

    /// Checks `e`, within the nesting and work limits (an expression beyond them is one
    /// error and an error node, so the checker's recursion and output stay bounded).
    pub(super) fn expr(&mut self, cx: &mut Ctx<'a>, e: &'a ast::Expr) -> ir::Expr {
        let span = *e.span;
        if let Some(d) = self.budget.enter(span) {
            self.diags.extend(d);
            return error_expr(span);
        }
        let x = self.expr_unguarded(cx, e);
        self.budget.leave();
        x
    }

    fn expr_unguarded(&mut self, cx: &mut Ctx<'a>, e: &'a ast::Expr) -> ir::Expr {
        let span = *e.span;
        use ast::ExprKind as K;
        match &e.kind {
            K::Bool(b) => mk(ExprKind::Const(Value::Bool(*b)), Type::Bool, span),
            K::Number(n) => mk(ExprKind::Const(Value::Num(*n)), Type::Number, span),
            K::Duration(s) => mk(ExprKind::Const(Value::Num(*s)), Type::Duration, span),
            K::Str(s) => mk(ExprKind::Const(Value::str(s)), Type::String, span),
            K::List(items) => self.list(cx, items, span),
            K::Name(id) => {
                let x = self.name(cx, id);
                self.narrow(cx, e, x)
            }
            K::Field(recv, field) => {
                let x = self.field(cx, recv, field, span);
                self.narrow(cx, e, x)
            }
            K::Index(recv, index) => {
                let x = self.index(cx, recv, index, span);
                self.narrow(cx, e, x)
            }
            K::MethodCall { receiver, method, args } => self.method_call(cx, receiver, method, args, span),
            K::Call { name, args } => self.call(cx, name, args, span),
            K::Unary(UnaryOp::Not, x) => {
                let x = self.value_of(cx, x, &Type::Bool);
                mk(ExprKind::Not(Box::new(x)), Type::Bool, span)
            }
            K::Unary(UnaryOp::Neg, x) => {
                let x = self.value(cx, x);
                if !matches!(x.ty, Type::Number | Type::Duration | Type::Any) {
                    self.report(diag::type_mismatch(x.span, "number", &x.ty.to_string(), None));
                }
                let ty = x.ty.clone();
                mk(ExprKind::Neg(Box::new(x)), ty, span)
            }
            K::Binary(op, l, r) => self.binary(cx, *op, l, r, span),
            K::Has(p) => self.has(cx, p, span),
            K::If(c, a, b) => self.if_expr(cx, c, a, b, span),
            K::Lambda { .. } => {
                self.report(diag::lambda_not_allowed(span));
                error_expr(span)
            }
            K::Error => error_expr(span),
        }
    }

    /// An optional path already guarded by `has` reads as present.
    fn narrow(&mut self, cx: &Ctx<'a>, e: &ast::Expr, mut x: ir::Expr) -> ir::Expr {
        if let Type::Optional(inner) = &x.ty {
            if path_key(e).is_some_and(|k| cx.narrowed.contains(&k)) {
                x.ty = (**inner).clone();
            }
        }
        x
    }

    fn list(&mut self, cx: &mut Ctx<'a>, items: &'a [ast::Expr], span: Span) -> ir::Expr {
        let mut elem = Type::Any;
        let mut out = Vec::new();
        for item in items {
            let x = self.value(cx, item);
            match elem.join(&x.ty) {
                Some(t) => elem = t,
                None => self.report(diag::type_mismatch(x.span, &elem.to_string(), &x.ty.to_string(), Some("all elements of a list have one type".into()))),
            }
            out.push(x);
        }
        mk(ExprKind::List(out), Type::List(Box::new(elem)), span)
    }

    // ---- names ----------------------------------------------------------------------

    fn name(&mut self, cx: &mut Ctx<'a>, id: &'a ast::Ident) -> ir::Expr {
        let span = *id.span;
        let name = id.name.as_str();
        if let Some((_, local, ty)) = cx.locals.iter().rev().find(|(n, _, _)| n == name) {
            return mk(ExprKind::Local(*local), ty.clone(), span);
        }
        if let Some(decl) = cx.block_lets.iter().find(|l| l.name.name == name).copied() {
            return self.block_let(cx, decl, span);
        }
        if let Some(arg) = cx.args.as_ref().and_then(|a| a.get(name)) {
            if !ENVELOPE_NAMES.contains(&name) {
                let ty = field_type(arg);
                return mk(ExprKind::Input(vec!["args".into(), name.into()]), ty, span);
            }
        }
        if self.namespaces[cx.ns.as_str()].lets.contains_key(name) {
            let ns = cx.ns.clone();
            return self.top_let(cx, &ns, name, span);
        }
        if cx.ns.is_empty() {
            if let Some((value, ty)) = self.data_value(name) {
                return mk(ExprKind::Const(value.clone()), ty.clone(), span);
            }
            if self.data_decls.contains_key(name) {
                // Declared, but its file is missing or wrong (reported once, by `load_data`).
                return error_expr(span);
            }
            if let Some(x) = self.window_name(cx, name, span) {
                return x;
            }
        }
        if cx.request {
            if let Some(x) = self.envelope_field(name, span) {
                if cx.args.as_ref().is_some_and(|a| a.contains_key(name)) {
                    self.clashing_reads.push((span, name.to_string()));
                }
                return x;
            }
        }
        if name == "std" {
            self.report(diag::namespace_not_value(span, "std"));
            return error_expr(span);
        }
        if name == "args" && cx.args.is_some() {
            let d = diag::namespace_not_value(span, "args").with_help("read one argument: `args.NAME`");
            self.report(d);
            return error_expr(span);
        }
        self.unknown_name(cx, id);
        error_expr(span)
    }

    fn envelope_field(&mut self, name: &str, span: Span) -> Option<ir::Expr> {
        let ty = match name {
            "tool" => Type::String,
            "time" => Type::Timestamp,
            _ => field_type(self.envelope.iter().find(|f| f.name == name)?),
        };
        Some(mk(ExprKind::Input(vec![name.to_string()]), ty, span))
    }

    fn unknown_name(&mut self, cx: &Ctx<'a>, id: &ast::Ident) {
        let name = id.name.as_str();
        if cx.partial_args.iter().any(|a| a == name) {
            self.report(diag::arg_type_mismatch_across_tools(*id.span, name));
            return;
        }
        let owners: Vec<String> = self.tools.iter().filter(|(_, (params, _))| params.iter().any(|p| p.name == name)).map(|(t, _)| t.clone()).collect();
        if cx.args.is_none() && cx.request && !owners.is_empty() {
            self.report(diag::argument_outside_scope(*id.span, name, &owners));
            return;
        }
        let mut candidates: Vec<String> = cx.locals.iter().map(|l| l.0.clone()).collect();
        candidates.extend(cx.block_lets.iter().map(|l| l.name.name.clone()));
        candidates.extend(cx.args.iter().flat_map(|a| a.keys().cloned()));
        candidates.extend(self.namespaces[cx.ns.as_str()].lets.keys().cloned());
        if cx.ns.is_empty() {
            candidates.extend(self.data_decls.keys().cloned());
            candidates.extend(self.window_decls.keys().cloned());
        }
        if cx.request {
            candidates.extend(self.envelope.iter().map(|f| f.name.clone()));
            candidates.extend(["tool".to_string(), "time".to_string()]);
        }
        if !cx.request && !cx.place.is_empty() && (self.envelope.iter().any(|f| f.name == name) || name == "tool" || name == "time") {
            self.report(diag::request_in_constant(*id.span, name, cx.place));
            return;
        }
        let suggestion = diag::did_you_mean(name, candidates.iter().map(String::as_str));
        let help =
            if !owners.is_empty() { Some(format!("`{name}` is an argument of {}, which is not in this rule's scope", diag::one_of(&owners))) } else { None };
        self.report(diag::unknown_name(*id.span, name, suggestion, help));
    }

    /// A `let` inside an `on` block: checked once per rule, at its first use, in the block's
    /// scope (no lambda parameters, no `has` facts of the use), so its value is the same at
    /// every use. Each use is a `BlockLet` node: the backends evaluate the value once and
    /// reuse it, instead of a copy per use (copies of copies grow exponentially).
    fn block_let(&mut self, cx: &mut Ctx<'a>, decl: &'a ast::LetDecl, span: Span) -> ir::Expr {
        let name = decl.name.name.as_str();
        if let Some(i) = self.rule_lets.iter().position(|(n, _)| n == name) {
            return mk(ExprKind::BlockLet(i as u32), self.rule_lets[i].1.ty.clone(), span);
        }
        if cx.lets_in_progress.iter().any(|n| n == name) {
            self.report(diag::let_cycle(span, name));
            return error_expr(span);
        }
        let mut inner = Ctx {
            locals: Vec::new(),
            narrowed: Vec::new(),
            lets_in_progress: {
                let mut v = cx.lets_in_progress.clone();
                v.push(name.to_string());
                v
            },
            ..cx.clone()
        };
        let x = self.expr(&mut inner, &decl.value);
        cx.next_local = inner.next_local;
        // Numbered as finished, so a let's value reads only lets numbered before it.
        let i = self.rule_lets.len() as u32;
        let ty = x.ty.clone();
        self.rule_lets.push((name.to_string(), x));
        mk(ExprKind::BlockLet(i), ty, span)
    }

    /// A top-level `let` (or a stdlib one), checked once and inlined at each use with its
    /// locals renumbered after the current ones.
    pub(super) fn top_let(&mut self, cx: &mut Ctx<'a>, ns: &str, name: &str, span: Span) -> ir::Expr {
        // Measured before it is copied: copies of copies can grow exponentially.
        if let Some(LetState::Done(x, _)) = self.namespaces[ns].let_state.get(name) {
            if let Some(d) = self.budget.inline(x, span) {
                self.diags.extend(d);
                return error_expr(span);
            }
        }
        let state = self.namespaces[ns].let_state.get(name).cloned();
        let (value, locals) = match state {
            Some(LetState::InProgress) => {
                self.report(diag::let_cycle(span, name));
                return error_expr(span);
            }
            Some(LetState::Done(x, n)) => (x, n),
            None => {
                let decl = self.namespaces[ns].lets[name];
                self.namespaces[ns].let_state.insert(name.to_string(), LetState::InProgress);
                let mut inner = Ctx { ns: ns.to_string(), place: "a top-level `let`", ..Ctx::default() };
                let x = self.expr(&mut inner, &decl.value);
                self.namespaces[ns].let_state.insert(name.to_string(), LetState::Done(x.clone(), inner.next_local));
                (x, inner.next_local)
            }
        };
        let mut x = ir::passes::shift_locals(value, cx.next_local);
        cx.next_local += locals;
        x.span = span;
        x
    }

    // ---- fields, indexes --------------------------------------------------------------

    fn field(&mut self, cx: &mut Ctx<'a>, recv: &'a ast::Expr, field: &'a ast::Ident, span: Span) -> ir::Expr {
        if let Some(path) = std_path(recv) {
            self.report(diag::namespace_not_value(span, &format!("{path}.{}", field.name)));
            return error_expr(span);
        }
        if is_bare(recv, "args", cx) {
            return self.args_field(cx, field, span);
        }
        let r = self.value(cx, recv);
        let fname = field.name.as_str();
        match &r.ty {
            Type::Record(rt) => match rt.field(fname) {
                Some((i, f)) => {
                    let ty = field_type(f);
                    let kind = match r.kind {
                        ExprKind::Input(mut path) => {
                            path.push(fname.to_string());
                            ExprKind::Input(path)
                        }
                        _ => ExprKind::Field(Box::new(r), i as u32),
                    };
                    mk(kind, ty, span)
                }
                None => {
                    let names: Vec<String> = rt.fields.iter().map(|f| f.name.clone()).collect();
                    let suggestion = diag::did_you_mean(fname, names.iter().map(String::as_str));
                    let ty = r.ty.to_string();
                    self.report(diag::unknown_field(*field.span, fname, &ty, suggestion, &names));
                    error_expr(span)
                }
            },
            Type::Timestamp => self.time_part(r, field, span),
            Type::Any => error_expr(span),
            other => {
                let ty = other.to_string();
                self.report(diag::unknown_field(*field.span, fname, &ty, None, &[]));
                error_expr(span)
            }
        }
    }

    /// `args.NAME`: any argument of the tools in scope, including ones whose names clash
    /// with request fields.
    fn args_field(&mut self, cx: &mut Ctx<'a>, field: &ast::Ident, span: Span) -> ir::Expr {
        let Some(args) = &cx.args else {
            let owners: Vec<String> = self.tools.keys().cloned().collect();
            let d = if owners.is_empty() {
                diag::unknown_name(span, "args", None, Some("declare a tool with `tool NAME(...)` and scope the rule with `on NAME`".into()))
            } else {
                diag::argument_outside_scope(span, &format!("args.{}", field.name), &owners)
            };
            self.report(d);
            return error_expr(span);
        };
        match args.get(&field.name) {
            Some(f) => mk(ExprKind::Input(vec!["args".into(), field.name.clone()]), field_type(f), span),
            None => {
                let names: Vec<String> = args.keys().cloned().collect();
                let suggestion = diag::did_you_mean(&field.name, names.iter().map(String::as_str));
                self.report(diag::not_an_argument(*field.span, &format!("args.{}", field.name), suggestion));
                error_expr(span)
            }
        }
    }

    fn index(&mut self, cx: &mut Ctx<'a>, recv: &'a ast::Expr, index: &'a ast::Expr, span: Span) -> ir::Expr {
        let r = self.value(cx, recv);
        let i = self.value(cx, index);
        let elem = match &r.ty {
            Type::List(t) => {
                self.expect_type(&i, index, &Type::Number);
                (**t).clone()
            }
            Type::Map(t) => {
                self.expect_type(&i, index, &Type::String);
                (**t).clone()
            }
            Type::Any => Type::Any,
            other => {
                self.report(diag::type_mismatch(
                    r.span,
                    "list or map",
                    &other.to_string(),
                    Some("only lists (`to[0]`) and maps (`limits[currency]`) can be indexed".into()),
                ));
                Type::Any
            }
        };
        mk(ExprKind::Index(Box::new(r), Box::new(i)), elem.optional(), span)
    }

    // ---- operators --------------------------------------------------------------------

    fn binary(&mut self, cx: &mut Ctx<'a>, op: BinaryOp, l: &'a ast::Expr, r: &'a ast::Expr, span: Span) -> ir::Expr {
        match op {
            BinaryOp::And | BinaryOp::Or => {
                let a = self.value_of(cx, l, &Type::Bool);
                let mut known = Vec::new();
                facts(l, op == BinaryOp::And, &mut known);
                let saved = cx.narrowed.len();
                cx.narrowed.extend(known);
                let b = self.value_of(cx, r, &Type::Bool);
                cx.narrowed.truncate(saved);
                let kind = if op == BinaryOp::And { ExprKind::And(Box::new(a), Box::new(b)) } else { ExprKind::Or(Box::new(a), Box::new(b)) };
                mk(kind, Type::Bool, span)
            }
            BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => self.compare(cx, op, l, r, span),
            BinaryOp::In | BinaryOp::NotIn => {
                let x = self.membership(cx, l, r, span);
                if op == BinaryOp::NotIn {
                    mk(ExprKind::Not(Box::new(x)), Type::Bool, span)
                } else {
                    x
                }
            }
            BinaryOp::Coalesce => self.coalesce(cx, l, r, span),
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => self.arith(cx, op, l, r, span),
        }
    }

    fn compare(&mut self, cx: &mut Ctx<'a>, op: BinaryOp, l: &'a ast::Expr, r: &'a ast::Expr, span: Span) -> ir::Expr {
        let a = self.value(cx, l);
        let b = self.value(cx, r);
        self.check_enum_literal(&a.ty, r);
        self.check_enum_literal(&b.ty, l);
        let ordered = !matches!(op, BinaryOp::Eq | BinaryOp::Ne);
        let ok = match (&a.ty, &b.ty) {
            (Type::Any, _) | (_, Type::Any) => true,
            (x, y) if ordered => {
                matches!((x, y), (Type::Number, Type::Number) | (Type::Duration, Type::Duration) | (Type::Timestamp, Type::Timestamp))
                    || (x.is_stringy() && y.is_stringy())
            }
            (x, y) => x.join(y).is_some(),
        };
        if !ok {
            let help = number_in_quotes_help(l, r, &a.ty, &b.ty);
            self.report(diag::cannot_compare(span, op.symbol(), &a.ty.to_string(), &b.ty.to_string(), help));
        }
        let cmp = match op {
            BinaryOp::Eq => CmpOp::Eq,
            BinaryOp::Ne => CmpOp::Ne,
            BinaryOp::Lt => CmpOp::Lt,
            BinaryOp::Le => CmpOp::Le,
            BinaryOp::Gt => CmpOp::Gt,
            _ => CmpOp::Ge,
        };
        mk(ExprKind::Compare(cmp, Box::new(a), Box::new(b)), Type::Bool, span)
    }

    /// `x in list`, `"sub" in text`, `key in map`.
    fn membership(&mut self, cx: &mut Ctx<'a>, l: &'a ast::Expr, r: &'a ast::Expr, span: Span) -> ir::Expr {
        let item = self.value(cx, l);
        let container = self.value(cx, r);
        let builtin = match &container.ty {
            Type::List(elem) => {
                self.check_enum_literal(&item.ty, r);
                if !(item.ty.fits(elem) || elem.fits(&item.ty) || (item.ty.is_stringy() && elem.is_stringy())) {
                    self.report(diag::cannot_compare(
                        span,
                        "in",
                        &item.ty.to_string(),
                        &container.ty.to_string(),
                        Some(format!("the list holds `{elem}` values")),
                    ));
                }
                contains_of(Recv::List)
            }
            Type::Map(_) => {
                self.expect_type(&item, l, &Type::String);
                contains_of(Recv::Map)
            }
            t if t.is_stringy() => {
                self.expect_type(&item, l, &Type::String);
                contains_of(Recv::String)
            }
            other => {
                self.report(diag::type_mismatch(
                    container.span,
                    "list, string or map",
                    &other.to_string(),
                    Some("`in` looks for an element of a list, a substring of a string or a key of a map".into()),
                ));
                contains_of(Recv::List)
            }
        };
        mk(ExprKind::Call(builtin, vec![container, item]), Type::Bool, span)
    }

    fn coalesce(&mut self, cx: &mut Ctx<'a>, l: &'a ast::Expr, r: &'a ast::Expr, span: Span) -> ir::Expr {
        let a = self.expr(cx, l);
        if !a.ty.is_optional() && a.ty != Type::Any {
            self.report(diag::never_missing(a.span, &self.text(a.span)));
        }
        let b = self.expr(cx, r);
        let inner = a.ty.unwrap_optional().clone();
        let ty = match inner.join(b.ty.unwrap_optional()) {
            Some(t) if b.ty.is_optional() => t.optional(),
            Some(t) => t,
            None => {
                self.report(diag::type_mismatch(
                    b.span,
                    &inner.to_string(),
                    &b.ty.to_string(),
                    Some("the default must have the type of the optional value".into()),
                ));
                Type::Any
            }
        };
        mk(ExprKind::Coalesce(Box::new(a), Box::new(b)), ty, span)
    }

    fn arith(&mut self, cx: &mut Ctx<'a>, op: BinaryOp, l: &'a ast::Expr, r: &'a ast::Expr, span: Span) -> ir::Expr {
        use Type::{Any, Duration as D, Number as N, Timestamp as T};
        let a = self.value(cx, l);
        let b = self.value(cx, r);
        let ty = match (op, &a.ty, &b.ty) {
            (_, Any, _) | (_, _, Any) => Some(Any),
            (_, N, N) => Some(N),
            (BinaryOp::Add, x, y) if x.is_stringy() && y.is_stringy() => Some(Type::String),
            (BinaryOp::Add | BinaryOp::Sub, D, D) => Some(D),
            (BinaryOp::Add | BinaryOp::Sub, T, D) => Some(T),
            (BinaryOp::Sub, T, T) => Some(D),
            (BinaryOp::Mul, D, N) | (BinaryOp::Mul, N, D) | (BinaryOp::Div, D, N) => Some(D),
            (BinaryOp::Div, D, D) => Some(N),
            _ => None,
        };
        let ty = ty.unwrap_or_else(|| {
            self.report(diag::bad_operands(span, op.symbol(), &a.ty.to_string(), &b.ty.to_string()));
            Any
        });
        let aop = match op {
            BinaryOp::Add => ArithOp::Add,
            BinaryOp::Sub => ArithOp::Sub,
            BinaryOp::Mul => ArithOp::Mul,
            BinaryOp::Div => ArithOp::Div,
            _ => ArithOp::Rem,
        };
        mk(ExprKind::Arith(aop, Box::new(a), Box::new(b)), ty, span)
    }

    fn has(&mut self, cx: &mut Ctx<'a>, p: &'a ast::Expr, span: Span) -> ir::Expr {
        if path_key(p).is_none() {
            self.report(diag::has_needs_path(*p.span));
            return error_expr(span);
        }
        let x = self.expr(cx, p);
        if !x.ty.is_optional() && x.ty != Type::Any {
            self.report(diag::never_missing(x.span, &self.text(x.span)));
        }
        mk(ExprKind::Has(Box::new(x)), Type::Bool, span)
    }

    fn if_expr(&mut self, cx: &mut Ctx<'a>, c: &'a ast::Expr, a: &'a ast::Expr, b: &'a ast::Expr, span: Span) -> ir::Expr {
        let cond = self.value_of(cx, c, &Type::Bool);
        let saved = cx.narrowed.len();
        let mut known = Vec::new();
        facts(c, true, &mut known);
        cx.narrowed.extend(known);
        let then = self.expr(cx, a);
        cx.narrowed.truncate(saved);
        let mut known = Vec::new();
        facts(c, false, &mut known);
        cx.narrowed.extend(known);
        let other = self.expr(cx, b);
        cx.narrowed.truncate(saved);
        let ty = then.ty.join(&other.ty).unwrap_or_else(|| {
            self.report(diag::type_mismatch(
                other.span,
                &then.ty.to_string(),
                &other.ty.to_string(),
                Some("both branches of `if` must have the same type".into()),
            ));
            Type::Any
        });
        mk(ExprKind::If(Box::new(cond), Box::new(then), Box::new(other)), ty, span)
    }

    // ---- calls ------------------------------------------------------------------------

    fn call(&mut self, cx: &mut Ctx<'a>, name: &'a ast::Ident, args: &'a [ast::Expr], span: Span) -> ir::Expr {
        if let Some(call) = self.builtin_function(cx, name, args, span) {
            return call;
        }
        let ns = cx.ns.clone();
        if !self.namespaces[ns.as_str()].fns.contains_key(&name.name) {
            let mut candidates: Vec<&str> = self.namespaces[ns.as_str()].fns.keys().map(String::as_str).collect();
            // Pushed one by one: `extend` would ask the namespace's names to be `'static` too.
            for n in builtins::names(Recv::Function) {
                candidates.push(n);
            }
            let suggestion = diag::did_you_mean(&name.name, candidates);
            self.report(diag::unknown_function(*name.span, &name.name, suggestion));
            return error_expr(span);
        }
        self.call_fn(cx, &ns, &name.name, args, span)
    }

    /// `std.MODULE.NAME(args)`
    pub(super) fn std_call(&mut self, cx: &mut Ctx<'a>, module: &ast::Ident, name: &'a ast::Ident, args: &'a [ast::Expr], span: Span) -> ir::Expr {
        if !self.namespaces.contains_key(&module.name) || module.name.is_empty() {
            let available: Vec<String> = self.namespaces.keys().filter(|k| !k.is_empty()).map(|k| format!("std.{k}")).collect();
            let names: Vec<&str> = self.namespaces.keys().map(String::as_str).filter(|k| !k.is_empty()).collect();
            let suggestion = diag::did_you_mean(&module.name, names);
            self.report(diag::unknown_namespace(*module.span, &module.name, suggestion, &available));
            return error_expr(span);
        }
        if !self.namespaces[module.name.as_str()].fns.contains_key(&name.name) {
            let suggestion = diag::did_you_mean(&name.name, self.namespaces[module.name.as_str()].fns.keys().map(String::as_str));
            let full = format!("std.{}.{}", module.name, name.name);
            self.report(diag::unknown_function(*name.span, &full, suggestion));
            return error_expr(span);
        }
        self.call_fn(cx, &module.name.clone(), &name.name, args, span)
    }

    fn call_fn(&mut self, cx: &mut Ctx<'a>, ns: &str, name: &str, args: &'a [ast::Expr], span: Span) -> ir::Expr {
        let Some(info) = self.fn_info(ns, name, span) else {
            args.iter().for_each(|a| drop(self.expr(cx, a)));
            return error_expr(span);
        };
        if args.len() != info.params.len() {
            self.report(diag::wrong_arg_count(span, &info.name, info.params.len(), args.len()));
            return error_expr(span);
        }
        let checked: Vec<ir::Expr> = args.iter().zip(&info.params).map(|(a, t)| self.value_of(cx, a, t)).collect();
        let kind = match &info.body {
            FnBody::Native(i) => ExprKind::Call(Builtin::Native(*i), checked),
            FnBody::Pol { body, locals } => {
                ExprKind::FnCall { name: info.name.clone(), body: body.clone(), params: info.params.len() as u32, locals: *locals, args: checked }
            }
        };
        mk(kind, info.ret.clone(), span)
    }

    /// Checks a function once; reports a call cycle at the call that closes it.
    pub(super) fn fn_info(&mut self, ns: &str, name: &str, call: Span) -> Option<Arc<FnInfo>> {
        match self.namespaces[ns].fn_state.get(name).cloned() {
            Some(FnState::Done(info)) => return info,
            Some(FnState::InProgress) => {
                let start = self.fn_stack.iter().position(|(n, f, _)| n == ns && f == name).unwrap_or(0);
                let mut cycle: Vec<String> = self.fn_stack[start..].iter().map(|(_, f, _)| f.clone()).collect();
                cycle.push(name.to_string());
                let def = *self.namespaces[ns].fns[name].name.span;
                self.report(diag::call_cycle(call, &cycle, def));
                return None;
            }
            None => {}
        }
        let decl = self.namespaces[ns].fns[name];
        self.namespaces[ns].fn_state.insert(name.to_string(), FnState::InProgress);
        self.fn_stack.push((ns.to_string(), name.to_string(), call));
        let params: Vec<Type> = decl.params.iter().map(|p| self.resolve_type(&p.ty, None)).collect();
        let ret = self.resolve_type(&decl.ret, None);
        let display = if ns.is_empty() { name.to_string() } else { format!("std.{ns}.{name}") };
        let body = match &decl.body {
            None => match crate::stdlib::native_index(&format!("{ns}.{name}")) {
                Some(i) if !ns.is_empty() => Some(FnBody::Native(i)),
                _ => None,
            },
            Some(body) => {
                let locals = decl.params.iter().zip(&params).enumerate().map(|(i, (p, t))| (p.name.name.clone(), i as u32, t.clone())).collect();
                let mut inner = Ctx { ns: ns.to_string(), locals, next_local: params.len() as u32, place: "a function", ..Ctx::default() };
                let x = self.value(&mut inner, body);
                self.expect_type(&x, body, &ret);
                Some(FnBody::Pol { body: Arc::new(x), locals: inner.next_local })
            }
        };
        self.fn_stack.pop();
        let info = body.map(|body| Arc::new(FnInfo { name: display, params, ret, body }));
        self.namespaces[ns].fn_state.insert(name.to_string(), FnState::Done(info.clone()));
        info
    }
}

/// The type of reading a declared field: optional fields read as `Optional`.
pub(super) fn field_type(f: &FieldType) -> Type {
    if f.optional {
        f.ty.clone().optional()
    } else {
        f.ty.clone()
    }
}

/// `std` or `std.pii` written as an expression: the dotted text.
pub(super) fn std_path(e: &ast::Expr) -> Option<String> {
    match &e.kind {
        ast::ExprKind::Name(id) if id.name == "std" => Some("std".into()),
        ast::ExprKind::Field(inner, f) => std_path(inner).map(|p| format!("{p}.{}", f.name)),
        _ => None,
    }
}

/// Whether `e` is the bare name `name`, not shadowed by a local.
fn is_bare(e: &ast::Expr, name: &str, cx: &Ctx<'_>) -> bool {
    matches!(&e.kind, ast::ExprKind::Name(id) if id.name == name && !cx.locals.iter().any(|l| l.0 == name))
}

/// `amount > "100"`: suggest dropping the quotes.
fn number_in_quotes_help(l: &ast::Expr, r: &ast::Expr, a: &Type, b: &Type) -> Option<String> {
    let quoted = |e: &ast::Expr| match &e.kind {
        ast::ExprKind::Str(s) if s.trim().replace('_', "").parse::<f64>().is_ok() => Some(s.clone()),
        _ => None,
    };
    match (a, b) {
        (Type::Number, _) => quoted(r).map(|s| format!("write the number without quotes: `{s}`")),
        (_, Type::Number) => quoted(l).map(|s| format!("write the number without quotes: `{s}`")),
        _ => None,
    }
}
