//! Windows (LANGUAGE.md §8). In: the `window` declarations collected. Out: one
//! `ir::Window` per declaration (aggregate, duration, scope, keys, value, `when`), checked
//! before the rules so a rule may read a window declared after it; and, for a rule that
//! reads a window, the window's value as an input the engine fills before the rules run.

use super::expr::{error_expr, mk, Ctx};
use super::Checker;
use crate::diagnostics as diag;
use crate::ir::{self, Aggregate, ExprKind, ToolScope};
use crate::span::Span;
use crate::syntax::ast;
use crate::types::Type;
use crate::value::Value;
use std::rc::Rc;

/// The input path of a window's value (`WINDOW_INPUT`, name) and of the recorded request's
/// outcome (`DECISION_INPUT`): no request field can be named so, and the engine fills both.
pub(crate) const WINDOW_INPUT: &str = "@window";
pub(crate) const DECISION_INPUT: &str = "@decision";

/// The outcomes `decision` compares with in a window's `when`.
pub(crate) const OUTCOMES: [&str; 3] = ["allow", "deny", "require_approval"];

/// What a rule that reads a window needs to know of it.
#[derive(Clone)]
pub(super) struct WindowInfo {
    pub ty: Type,
    /// The tools (indexes in `tools`) of the window's `on`, when its keys read their
    /// arguments by name: a rule reading it must be scoped inside them.
    pub keyed_by_args_of: Option<Rc<[usize]>>,
    pub span: Span,
}

impl<'a> Checker<'a> {
    /// Checks every window, in source order, into `ir::Window`s.
    pub(super) fn check_windows(&mut self) -> Vec<ir::Window> {
        let decls: Vec<&'a ast::WindowDecl> = self.window_decls.values().copied().collect();
        decls.into_iter().map(|w| self.check_window(w)).collect()
    }

    fn check_window(&mut self, w: &'a ast::WindowDecl) -> ir::Window {
        let mut cx = Ctx { request: true, in_window: true, ..Ctx::default() };
        let scope = match &w.tools {
            None => ToolScope::All,
            Some(ps) => {
                self.scope_args(ps, &mut cx);
                ToolScope::Tools(ps.iter().map(|p| p.text.clone()).collect())
            }
        };
        let aggregate = self.aggregate(w);
        let value = w.value.as_ref().map(|v| {
            let x = self.value(&mut cx, v);
            self.check_aggregated(aggregate, &x, *v.span);
            x
        });
        let duration_secs = self.window_duration(&w.duration);
        let keys: Vec<ir::Expr> = w.keys.iter().map(|k| self.window_key(&mut cx, k)).collect();
        let keys_read_args = keys.iter().any(reads_named_args);
        let condition = w.condition.as_ref().map(|c| {
            let mut when = Ctx { in_when: true, ..cx.clone() };
            let x = self.value(&mut when, c);
            if !x.ty.fits(&Type::Bool) {
                self.report(diag::condition_not_bool(*c.span, &x.ty.to_string()));
            }
            x
        });
        let ty = match aggregate {
            Aggregate::Count | Aggregate::Sum | Aggregate::Distinct => Type::Number,
            Aggregate::Max => Type::Optional(Box::new(Type::Number)),
            Aggregate::Values => Type::List(Box::new(Type::String)),
        };
        let keyed_by_args_of = if keys_read_args { cx.scope_tools.clone() } else { None };
        self.window_info.insert(w.name.name.clone(), WindowInfo { ty, keyed_by_args_of, span: *w.name.span });
        let text = self.sources.slice(*w.span);
        ir::Window {
            name: w.name.name.clone(),
            id: window_id(&w.name.name, text),
            aggregate,
            duration_secs,
            scope,
            keys,
            value,
            condition,
            locals: cx.next_local,
            span: *w.span,
        }
    }

    fn aggregate(&mut self, w: &ast::WindowDecl) -> Aggregate {
        let name = w.aggregate.name.as_str();
        let aggregate = match name {
            "count" => Aggregate::Count,
            "sum" => Aggregate::Sum,
            "max" => Aggregate::Max,
            "distinct" => Aggregate::Distinct,
            "values" => Aggregate::Values,
            _ => {
                let suggestion = diag::did_you_mean(name, AGGREGATES.iter().copied());
                self.report(diag::unknown_aggregate(*w.aggregate.span, name, suggestion));
                return Aggregate::Count;
            }
        };
        match (aggregate, &w.value) {
            (Aggregate::Count, Some(v)) => self.report(diag::count_takes_no_value(*v.span)),
            (Aggregate::Count, None) | (_, Some(_)) => {}
            (_, None) => self.report(diag::aggregate_needs_value(*w.aggregate_span, name)),
        }
        aggregate
    }

    /// `sum` and `max` add and compare numbers; `values` lists strings; `distinct` counts
    /// any plain value.
    fn check_aggregated(&mut self, aggregate: Aggregate, x: &ir::Expr, span: Span) {
        let ty = x.ty.unwrap_optional();
        let fits = match aggregate {
            Aggregate::Count => true,
            Aggregate::Sum | Aggregate::Max => matches!(ty, Type::Number | Type::Duration | Type::Timestamp | Type::Any),
            Aggregate::Values => ty.fits(&Type::String),
            Aggregate::Distinct => is_plain(ty),
        };
        if !fits {
            self.report(diag::aggregate_type(span, aggregate.name(), &x.ty.to_string()));
        }
    }

    /// The window's length in whole seconds (at least one).
    fn window_duration(&mut self, e: &ast::Expr) -> u64 {
        match e.kind {
            ast::ExprKind::Duration(d) if d >= 1.0 && d.fract() == 0.0 && d <= MAX_WINDOW_SECS => d as u64,
            _ => {
                self.report(diag::bad_window_duration(*e.span));
                1
            }
        }
    }

    /// A key: a plain value of the request, or `args` (the whole argument object).
    fn window_key(&mut self, cx: &mut Ctx<'a>, k: &'a ast::Expr) -> ir::Expr {
        if let ast::ExprKind::Name(id) = &k.kind {
            if id.name == "args" {
                return mk(ExprKind::Input(vec!["args".into()]), Type::Any, *k.span);
            }
        }
        let x = self.value(cx, k);
        if !is_plain(x.ty.unwrap_optional()) {
            self.report(diag::window_key_type(*k.span, &x.ty.to_string()));
        }
        x
    }

    /// A name that may be a window or `decision` (or an outcome in a window's `when`):
    /// `None` when it is neither.
    pub(super) fn window_name(&mut self, cx: &Ctx<'a>, name: &str, span: Span) -> Option<ir::Expr> {
        let outcome = || Type::Enum(std::sync::Arc::new(OUTCOMES.iter().map(|s| s.to_string()).collect()));
        if cx.in_when && name == "decision" {
            return Some(mk(ExprKind::Input(vec![DECISION_INPUT.into()]), outcome(), span));
        }
        if cx.in_when && OUTCOMES.contains(&name) {
            return Some(mk(ExprKind::Const(Value::str(name)), outcome(), span));
        }
        if name == "decision" && cx.ns.is_empty() {
            self.report(diag::decision_outside_when(span));
            return Some(error_expr(span));
        }
        if OUTCOMES.contains(&name) && cx.ns.is_empty() && !self.window_info.contains_key(name) {
            self.report(diag::outcome_outside_when(span, name));
            return Some(error_expr(span));
        }
        let info = self.window_info.get(name)?.clone();
        if cx.in_window || !cx.request {
            self.report(diag::window_not_readable_here(span, name, if cx.in_window { "a window" } else { cx.place }));
            return Some(error_expr(span));
        }
        if let Some(window_tools) = &info.keyed_by_args_of {
            let inside = cx.scope_tools.as_ref().is_some_and(|tools| !tools.is_empty() && tools.iter().all(|t| window_tools.contains(t)));
            if !inside {
                let names: Vec<String> = window_tools.iter().filter_map(|&t| self.tools.get_index(t).map(|(n, _)| n.clone())).collect();
                self.report(diag::window_keyed_by_args(span, name, &names, info.span));
                return Some(error_expr(span));
            }
        }
        Some(mk(ExprKind::Input(vec![WINDOW_INPUT.into(), name.into()]), info.ty, span))
    }
}

const AGGREGATES: [&str; 5] = ["count", "sum", "max", "distinct", "values"];

/// 10 years: far beyond any window an engine keeps events for.
const MAX_WINDOW_SECS: f64 = 10.0 * 366.0 * 86_400.0;

/// A value a key or `distinct` can hold: not a list, map or record.
fn is_plain(ty: &Type) -> bool {
    matches!(ty, Type::Bool | Type::Number | Type::String | Type::Duration | Type::Timestamp | Type::Enum(_) | Type::Any)
}

/// Whether a key reads a tool argument by name (`payee.id`), which only the window's
/// tools have; `args` as a whole, the envelope, `tool` and `time` are there for every request.
fn reads_named_args(key: &ir::Expr) -> bool {
    let mut named = false;
    ir::passes::visit(key, &mut |e| {
        if let ExprKind::Input(path) = &e.kind {
            named |= path.first().is_some_and(|p| p == "args") && path.len() > 1;
        }
    });
    named
}

/// A stable id of the window's definition: a store keeps events under it, so a changed
/// definition does not read events recorded under the old one. It hashes the definition's
/// tokens, one space apart and without trailing commas, so layout and comments (what `gavel fmt`
/// changes) keep the id.
fn window_id(name: &str, text: &str) -> u64 {
    use sha2::{Digest, Sha256};
    // The text parsed, so every item is a token; a lexical error cannot occur (kept as text).
    let tokens: Vec<&str> = crate::syntax::lexer::lex(text, 0..text.len())
        .map(|t| match t {
            Ok((start, _, end)) => &text[start..end],
            Err((_, range)) => &text[range],
        })
        .collect();
    // A trailing comma (which `gavel fmt` adds when it breaks a list over lines) is layout too.
    let closes = |t: Option<&&str>| matches!(t, Some(&")" | &"]" | &"}"));
    let tokens: Vec<&str> = tokens.iter().enumerate().filter(|&(i, t)| !(*t == "," && closes(tokens.get(i + 1)))).map(|(_, t)| *t).collect();
    let digest = Sha256::new().chain_update(name.as_bytes()).chain_update([0]).chain_update(tokens.join(" ").as_bytes()).finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(first)
}
