//! Methods of strings, lists, numbers and maps, and calls into the standard library.

use super::expr::{error_expr, mk, std_path, Ctx};
use super::Checker;
use crate::diagnostics as diag;
use crate::ir::{self, Builtin, ExprKind, QuantKind, RegexOp};
use crate::span::Span;
use crate::syntax::ast;
use crate::types::Type;

const STRING_METHODS: &[&str] = &["len", "lower", "upper", "trim", "starts_with", "ends_with", "contains", "matches", "find_all", "split", "before", "after"];
const LIST_METHODS: &[&str] = &["len", "is_empty", "contains", "any", "all", "count", "intersects", "subset_of"];
const NUMBER_METHODS: &[&str] = &["abs", "floor", "ceil", "round"];
const MAP_METHODS: &[&str] = &["len", "contains"];

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
        match recv.ty.clone() {
            Type::Any => {
                args.iter().filter(|a| !matches!(a.kind, ast::ExprKind::Lambda { .. })).for_each(|a| drop(self.expr(cx, a)));
                error_expr(span)
            }
            t if t.is_stringy() && STRING_METHODS.contains(&m) => self.string_method(cx, recv, method, args, span),
            Type::List(elem) if LIST_METHODS.contains(&m) => self.list_method(cx, recv, &elem, method, args, span),
            Type::Number if NUMBER_METHODS.contains(&m) => {
                let b = match m {
                    "abs" => Builtin::Abs,
                    "floor" => Builtin::Floor,
                    "ceil" => Builtin::Ceil,
                    _ => Builtin::Round,
                };
                self.builtin(cx, b, recv, method, args, &[], Type::Number, span)
            }
            Type::Map(_) if MAP_METHODS.contains(&m) => match m {
                "len" => self.builtin(cx, Builtin::MapLen, recv, method, args, &[], Type::Number, span),
                _ => self.builtin(cx, Builtin::MapHasKey, recv, method, args, &[Type::String], Type::Bool, span),
            },
            t => {
                let methods: &[&str] = match &t {
                    t if t.is_stringy() => STRING_METHODS,
                    Type::List(_) => LIST_METHODS,
                    Type::Number => NUMBER_METHODS,
                    Type::Map(_) => MAP_METHODS,
                    _ => &[],
                };
                let suggestion = diag::did_you_mean(m, methods.iter().copied());
                let list: Vec<String> = methods.iter().map(|s| s.to_string()).collect();
                self.report(diag::unknown_method(*method.span, m, &t.to_string(), suggestion, &list));
                error_expr(span)
            }
        }
    }

    /// A builtin method call with fixed parameter types.
    #[allow(clippy::too_many_arguments)]
    fn builtin(
        &mut self,
        cx: &mut Ctx<'a>,
        b: Builtin,
        recv: ir::Expr,
        method: &ast::Ident,
        args: &'a [ast::Expr],
        params: &[Type],
        ret: Type,
        span: Span,
    ) -> ir::Expr {
        if args.len() != params.len() {
            self.report(diag::wrong_arg_count(span, &method.name, params.len(), args.len()));
            return error_expr(span);
        }
        let mut all = vec![recv];
        for (a, t) in args.iter().zip(params) {
            all.push(self.value_of(cx, a, t));
        }
        mk(ExprKind::Call(b, all), ret, span)
    }

    fn string_method(&mut self, cx: &mut Ctx<'a>, recv: ir::Expr, method: &'a ast::Ident, args: &'a [ast::Expr], span: Span) -> ir::Expr {
        use Type::{Bool, Number, String as S};
        let (b, params, ret) = match method.name.as_str() {
            "len" => (Builtin::StrLen, vec![], Number),
            "lower" => (Builtin::Lower, vec![], S),
            "upper" => (Builtin::Upper, vec![], S),
            "trim" => (Builtin::Trim, vec![], S),
            "starts_with" => (Builtin::StartsWith, vec![S], Bool),
            "ends_with" => (Builtin::EndsWith, vec![S], Bool),
            "contains" => (Builtin::StrContains, vec![S], Bool),
            "split" => (Builtin::Split, vec![S], Type::List(Box::new(S))),
            "before" => (Builtin::Before, vec![S], S),
            "after" => (Builtin::After, vec![S], S),
            op => return self.regex_method(recv, op, args, span),
        };
        self.builtin(cx, b, recv, method, args, &params, ret, span)
    }

    fn regex_method(&mut self, recv: ir::Expr, op: &str, args: &'a [ast::Expr], span: Span) -> ir::Expr {
        let (op, ty) = match op {
            "matches" => (RegexOp::Matches, Type::Bool),
            _ => (RegexOp::FindAll, Type::List(Box::new(Type::String))),
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

    fn list_method(&mut self, cx: &mut Ctx<'a>, recv: ir::Expr, elem: &Type, method: &'a ast::Ident, args: &'a [ast::Expr], span: Span) -> ir::Expr {
        let list_ty = Type::List(Box::new(elem.clone()));
        match method.name.as_str() {
            "len" => self.builtin(cx, Builtin::ListLen, recv, method, args, &[], Type::Number, span),
            "is_empty" => self.builtin(cx, Builtin::IsEmpty, recv, method, args, &[], Type::Bool, span),
            "contains" => {
                if let [x] = args {
                    self.check_enum_literal(elem, x);
                }
                self.builtin(cx, Builtin::ListContains, recv, method, args, std::slice::from_ref(elem), Type::Bool, span)
            }
            "intersects" => self.builtin(cx, Builtin::Intersects, recv, method, args, &[list_ty], Type::Bool, span),
            "subset_of" => self.builtin(cx, Builtin::SubsetOf, recv, method, args, &[list_ty], Type::Bool, span),
            q => {
                let (kind, ret) = match q {
                    "any" => (QuantKind::Any, Type::Bool),
                    "all" => (QuantKind::All, Type::Bool),
                    _ => (QuantKind::Count, Type::Number),
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
                let body = self.value_of(cx, body, &Type::Bool);
                cx.locals.pop();
                mk(ExprKind::Quant { kind, local, list: Box::new(recv), body: Box::new(body) }, ret, span)
            }
        }
    }
}
