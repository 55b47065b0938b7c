//! Methods of strings, lists, numbers and maps, timestamp parts, the functions `min` and
//! `max`, and calls into the standard library. Which of them exist, and their types, is
//! `ops::builtins::BUILTINS`: this module reads that table (and lowers the regex methods
//! and the quantifiers, which the table lists as forms, to their own IR nodes).

use super::expr::{error_expr, mk, std_path, Ctx};
use super::Checker;
use crate::diagnostics as diag;
use crate::ir::{self, Builtin, ExprKind, QuantKind, RegexOp};
use crate::ops::builtins::{self, BuiltinSpec, Form, Imp, Recv, Ty};
use crate::span::Span;
use crate::syntax::ast;
use crate::types::Type;

/// The receiver kind whose methods a value of type `t` has.
fn method_recv(t: &Type) -> Option<Recv> {
    match t {
        t if t.is_stringy() => Some(Recv::String),
        Type::List(_) => Some(Recv::List),
        Type::Number => Some(Recv::Number),
        Type::Map(_) => Some(Recv::Map),
        _ => None,
    }
}

/// A parameter's or result's type, for a receiver of type `recv` (`Numeric` is joined by
/// `builtin_function` and never asked for here).
fn ty_of(t: Ty, recv: &Type) -> Type {
    match t {
        Ty::Bool => Type::Bool,
        Ty::Number => Type::Number,
        Ty::String => Type::String,
        Ty::Strings => Type::List(Box::new(Type::String)),
        Ty::OptNumber => Type::Number.optional(),
        Ty::Elem => match recv {
            Type::List(elem) => (**elem).clone(),
            _ => Type::Any,
        },
        Ty::Same => recv.clone(),
        Ty::Numeric => Type::Any,
    }
}

/// The builtin `name` on a value of type `t`: a list of strings (or enums) has the
/// methods of `Recv::Strings` besides those of every list.
fn find_method(t: &Type, name: &str) -> Option<(Builtin, &'static BuiltinSpec)> {
    let strings = matches!(t, Type::List(elem) if elem.is_stringy());
    let of_strings = if strings { builtins::find(Recv::Strings, name) } else { None };
    of_strings.or_else(|| method_recv(t).and_then(|r| builtins::find(r, name)))
}

/// Every method name a value of type `t` has, in table order.
fn method_names(t: &Type) -> Vec<&'static str> {
    let mut names: Vec<&str> = method_recv(t).map(|r| builtins::names(r).collect()).unwrap_or_default();
    if matches!(t, Type::List(elem) if elem.is_stringy()) {
        names.extend(builtins::names(Recv::Strings));
    }
    names
}

/// The builtin that `x in c` is for a container of kind `recv`: its `contains`.
pub(super) fn contains_of(recv: Recv) -> Builtin {
    // INVARIANT: strings, lists and maps each have a `contains` in the table (tested by
    // `ops::builtins`' `membership_has_a_builtin_for_each_container`).
    builtins::find(recv, "contains").map(|(b, _)| b).expect("`contains` is in the builtin table")
}

impl<'a> Checker<'a> {
    pub(super) fn method_call(&mut self, cx: &mut Ctx<'a>, receiver: &'a ast::Expr, method: &'a ast::Ident, args: &'a [ast::Expr], span: Span) -> ir::Expr {
        if let ast::ExprKind::Field(root, module) = &receiver.kind {
            if std_path(root).as_deref() == Some("std") {
                return self.std_call(cx, module, method, args, span);
            }
        }
        if std_path(receiver).is_some() {
            let d = diag::namespace_not_value(*receiver.span, "std")
                .with_help("call a library function: `std.MODULE.NAME(...)`, e.g. `std.pii.contains_ssn(text)`");
            self.report(d);
            return error_expr(span);
        }
        let recv = self.value(cx, receiver);
        let m = method.name.as_str();
        let found = find_method(&recv.ty, m);
        match (recv.ty.clone(), found) {
            (Type::Any, _) => {
                args.iter().filter(|a| !matches!(a.kind, ast::ExprKind::Lambda { .. })).for_each(|a| drop(self.expr(cx, a)));
                error_expr(span)
            }
            (_, Some((_, BuiltinSpec { imp: Imp::Form(form), .. }))) => self.form(cx, recv, *form, method, args, span),
            (_, Some((b, spec))) => self.builtin(cx, b, spec, recv, method, args, span),
            (t @ Type::List(_), None) if builtins::find(Recv::Strings, m).is_some() => {
                // `amounts.join(",")`: a method of lists of strings on another list.
                args.iter().filter(|a| !matches!(a.kind, ast::ExprKind::Lambda { .. })).for_each(|a| drop(self.expr(cx, a)));
                self.report(diag::method_needs_strings(*method.span, m, &t.to_string()));
                error_expr(span)
            }
            (t, None) => {
                let methods = method_names(&t);
                let suggestion = diag::did_you_mean(m, methods.iter().copied());
                let list: Vec<String> = methods.iter().map(|s| s.to_string()).collect();
                self.report(diag::unknown_method(*method.span, m, &t.to_string(), suggestion, &list));
                error_expr(span)
            }
        }
    }

    /// A builtin method call: the receiver, then the parameters of `spec`'s types.
    #[allow(clippy::too_many_arguments)]
    fn builtin(
        &mut self,
        cx: &mut Ctx<'a>,
        b: Builtin,
        spec: &BuiltinSpec,
        recv: ir::Expr,
        method: &ast::Ident,
        args: &'a [ast::Expr],
        span: Span,
    ) -> ir::Expr {
        if args.len() != spec.params.len() {
            self.report(diag::wrong_arg_count(span, &method.name, spec.params.len(), args.len()));
            return error_expr(span);
        }
        let recv_ty = recv.ty.clone();
        let mut all = vec![recv];
        for (a, t) in args.iter().zip(spec.params) {
            let want = ty_of(*t, &recv_ty);
            if *t == Ty::Elem {
                // `roles.contains("admni")` is checked against an enum's values.
                self.check_enum_literal(&want, a);
            }
            all.push(self.value_of(cx, a, &want));
        }
        mk(ExprKind::Call(b, all), ty_of(spec.result, &recv_ty), span)
    }

    /// `t.NAME` on a timestamp: its part `NAME`, if the table has one.
    pub(super) fn time_part(&mut self, recv: ir::Expr, field: &ast::Ident, span: Span) -> ir::Expr {
        match builtins::find(Recv::Timestamp, &field.name) {
            Some((b, spec)) => mk(ExprKind::Call(b, vec![recv]), ty_of(spec.result, &Type::Timestamp), span),
            None => {
                let parts: Vec<&str> = builtins::names(Recv::Timestamp).collect();
                let suggestion = diag::did_you_mean(&field.name, parts.iter().copied());
                let list: Vec<String> = parts.iter().map(|s| s.to_string()).collect();
                self.report(diag::unknown_field(*field.span, &field.name, "timestamp", suggestion, &list));
                error_expr(span)
            }
        }
    }

    /// `min(a, b)` and the table's other functions: `None` when `name` is not one of them.
    pub(super) fn builtin_function(&mut self, cx: &mut Ctx<'a>, name: &ast::Ident, args: &'a [ast::Expr], span: Span) -> Option<ir::Expr> {
        let (b, spec) = builtins::find(Recv::Function, &name.name)?;
        if args.len() != spec.params.len() {
            self.report(diag::wrong_arg_count(span, &name.name, spec.params.len(), args.len()));
            return Some(error_expr(span));
        }
        let values: Vec<ir::Expr> = args.iter().map(|a| self.value(cx, a)).collect();
        // A function's parameters are all `Numeric` (the table's test checks): the
        // arguments' types join into the result's.
        let joined = values.iter().try_fold(Type::Any, |t, v| t.join(&v.ty));
        let ty = match joined {
            Some(t @ (Type::Number | Type::Duration | Type::Timestamp | Type::Any)) => t,
            _ => {
                let shown: Vec<String> = values.iter().map(|v| v.ty.to_string()).collect();
                let (left, right) = (shown.first().map_or("", String::as_str), shown.get(1).map_or("", String::as_str));
                self.report(diag::bad_operands(span, &name.name, left, right));
                Type::Any
            }
        };
        Some(mk(ExprKind::Call(b, values), ty, span))
    }

    /// The methods that are IR nodes of their own: regexes and quantifiers.
    fn form(&mut self, cx: &mut Ctx<'a>, recv: ir::Expr, form: Form, method: &'a ast::Ident, args: &'a [ast::Expr], span: Span) -> ir::Expr {
        let elem = match &recv.ty {
            Type::List(elem) => (**elem).clone(),
            _ => Type::Any,
        };
        match form {
            Form::Matches => self.regex_method(recv, RegexOp::Matches, args, span),
            Form::FindAll => self.regex_method(recv, RegexOp::FindAll, args, span),
            Form::Any => self.quantifier(cx, recv, &elem, QuantKind::Any, method, args, span),
            Form::All => self.quantifier(cx, recv, &elem, QuantKind::All, method, args, span),
            Form::Count => self.quantifier(cx, recv, &elem, QuantKind::Count, method, args, span),
            Form::Map => self.quantifier(cx, recv, &elem, QuantKind::Map, method, args, span),
            Form::Filter => self.quantifier(cx, recv, &elem, QuantKind::Filter, method, args, span),
        }
    }

    fn regex_method(&mut self, recv: ir::Expr, op: RegexOp, args: &'a [ast::Expr], span: Span) -> ir::Expr {
        let ty = match op {
            RegexOp::Matches => Type::Bool,
            RegexOp::FindAll => Type::List(Box::new(Type::String)),
        };
        let [pattern] = args else {
            self.report(diag::wrong_arg_count(span, if op == RegexOp::Matches { "matches" } else { "find_all" }, 1, args.len()));
            return error_expr(span);
        };
        let ast::ExprKind::Str(text) = &pattern.kind else {
            self.report(diag::pattern_not_literal(*pattern.span));
            return error_expr(span);
        };
        match self.regex(text, *pattern.span) {
            Some(regex) => mk(ExprKind::Regex { op, subject: Box::new(recv), regex }, ty, span),
            None => error_expr(span),
        }
    }

    /// `list.any(x => body)`, `all`, `count`, `filter` (a `bool` body) and `map` (a body of
    /// any type `U`, giving `list<U>`).
    #[allow(clippy::too_many_arguments)]
    fn quantifier(
        &mut self,
        cx: &mut Ctx<'a>,
        recv: ir::Expr,
        elem: &Type,
        kind: QuantKind,
        method: &'a ast::Ident,
        args: &'a [ast::Expr],
        span: Span,
    ) -> ir::Expr {
        let q = method.name.as_str();
        let list_ty = match recv.ty.unwrap_optional() {
            t @ Type::List(_) => t.clone(),
            _ => Type::List(Box::new(Type::Any)),
        };
        let [arg] = args else {
            self.report(diag::wrong_arg_count(span, q, 1, args.len()));
            return error_expr(span);
        };
        let ast::ExprKind::Lambda { param, body } = &arg.kind else {
            self.report(diag::lambda_expected(*arg.span, q));
            return error_expr(span);
        };
        let local = cx.next_local;
        cx.next_local += 1;
        cx.locals.push((param.name.clone(), local, elem.clone()));
        let body = if kind == QuantKind::Map { self.value(cx, body) } else { self.value_of(cx, body, &Type::Bool) };
        cx.locals.pop();
        let ret = match kind {
            QuantKind::Any | QuantKind::All => Type::Bool,
            QuantKind::Count => Type::Number,
            QuantKind::Filter => list_ty,
            QuantKind::Map => Type::List(Box::new(body.ty.clone())),
        };
        mk(ExprKind::Quant { kind, local, list: Box::new(recv), body: Box::new(body) }, ret, span)
    }
}
