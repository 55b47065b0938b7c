//! Rules: scope (which tools, which arguments), annotations, effect, condition and reason.

use super::expr::{field_type, mk, Ctx};
use super::{budget, Checker, RuleSite};
use crate::diagnostics as diag;
use crate::ir::{self, ArgPath, Effect, ExprKind, ReasonPart, ToolScope};
use crate::syntax::ast::{self, EffectKind};
use crate::types::{FieldType, Type};
use indexmap::IndexMap;
use std::rc::Rc;

const SEVERITIES: &[&str] = &["low", "medium", "high", "critical"];
const MODES: &[&str] = &["shadow", "enforce"];

impl<'a> Checker<'a> {
    pub(super) fn check_rules(&mut self) -> Vec<ir::Rule> {
        let sites = std::mem::take(&mut self.rules);
        let rules = sites
            .iter()
            .map(|site| {
                self.budget.start_item();
                let rule = self.check_rule(site);
                let expanded = budget::check_expanded(&rule, &self.budget.limits);
                self.diags.extend(expanded);
                self.budget.start_item();
                rule
            })
            .collect();
        self.rules = sites;
        rules
    }

    /// The id of a rule: its name, or `FILE:LINE` when it has none.
    pub(super) fn rule_id(&self, site: &RuleSite<'_>) -> String {
        match &site.rule.name {
            Some(n) => n.name.clone(),
            None => {
                let file = self.sources.get(site.file);
                format!("{}:{}", file.name, file.line_col(site.rule.span.start as usize).line)
            }
        }
    }

    fn check_rule(&mut self, site: &RuleSite<'a>) -> ir::Rule {
        let rule = site.rule;
        self.rule_lets.clear();
        let patterns = rule.tools.as_ref().or(site.block.map(|b| &b.tools));
        let mut cx = Ctx { request: true, ..Ctx::default() };
        let scope = match patterns {
            None => ToolScope::All,
            Some(ps) => {
                self.scope_args(ps, &mut cx);
                ToolScope::Tools(ps.iter().map(|p| p.text.clone()).collect())
            }
        };
        if let Some(b) = site.block {
            cx.block_lets = b.items.iter().filter_map(|i| if let ast::BlockItem::Let(l) = i { Some(l) } else { None }).collect();
        }
        let annotations = self.annotations(&rule.annotations);
        let enforced = annotations.get("mode").map(String::as_str) != Some("shadow");
        let effect = self.effect(&rule.effect, &mut cx);
        let condition = rule.condition.as_ref().map(|c| {
            let x = self.value(&mut cx, c);
            if !x.ty.fits(&Type::Bool) {
                self.report(diag::condition_not_bool(*c.span, &x.ty.to_string()));
            }
            x
        });
        let reason = self.reason(rule.because.as_ref(), &mut cx);
        let mut r = ir::Rule {
            id: self.rule_id(site),
            effect,
            condition,
            reason,
            annotations,
            enforced,
            scope,
            reads_args: false,
            locals: cx.next_local,
            lets: std::mem::take(&mut self.rule_lets).into_iter().map(|(_, x)| x).collect(),
            span: *rule.span,
        };
        r.reads_args = rule_reads_args(&r);
        r
    }

    /// Puts into scope the arguments every matched declared tool has with the same type.
    pub(super) fn scope_args(&mut self, patterns: &[ast::ToolPattern], cx: &mut Ctx<'a>) {
        let mut matched: Vec<usize> = Vec::new();
        for p in patterns {
            if p.text.trim_end_matches('*').contains('*') {
                self.diags.push(diag::bad_tool_pattern(*p.span, &p.text));
                continue;
            }
            let before = matched.len();
            // A pattern without `*` names one tool: looked up rather than compared with each.
            if p.text.ends_with('*') {
                matched.extend(self.tools.keys().enumerate().filter(|(_, name)| ir::pattern_matches(&p.text, name)).map(|(i, _)| i));
            } else {
                matched.extend(self.tools.get_index_of(p.text.as_str()));
            }
            // `on *` is every request, declared tools or not: nothing to report.
            if matched.len() == before && p.text != "*" {
                let suggestion = diag::did_you_mean(&p.text, self.tools.keys().map(String::as_str)).map(str::to_string);
                if p.text.ends_with('*') {
                    self.diags.push(diag::glob_matches_no_tool(*p.span, &p.text, suggestion.as_deref()));
                } else {
                    self.diags.push(diag::unknown_tool(*p.span, &p.text, suggestion.as_deref()));
                }
            }
        }
        let matched_tools: std::rc::Rc<[usize]> = matched.clone().into();
        let (common, partial) = match self.scopes.get(&matched) {
            Some(scope) => scope.clone(),
            None => {
                let scope = self.common_args(&matched);
                self.scopes.insert(matched, scope.clone());
                scope
            }
        };
        cx.args = Some(common);
        cx.partial_args = partial;
        cx.scope_tools = Some(matched_tools);
    }

    /// The arguments all the tools at `matched` (indexes in `tools`) have with the same
    /// type, and the names of those only some of them have.
    fn common_args(&self, matched: &[usize]) -> super::ArgScope {
        let matched: Vec<&Vec<FieldType>> = matched.iter().filter_map(|&i| self.tools.get_index(i)).map(|(_, (params, _))| params).collect();
        let mut common: IndexMap<String, FieldType> = IndexMap::new();
        let mut partial = Vec::new();
        if let Some((first, rest)) = matched.split_first() {
            for f in first.iter() {
                if rest.iter().all(|params| params.iter().any(|g| g == f)) {
                    common.insert(f.name.clone(), f.clone());
                }
            }
        }
        for params in &matched {
            for f in params.iter() {
                if !common.contains_key(&f.name) && !partial.contains(&f.name) {
                    partial.push(f.name.clone());
                }
            }
        }
        (Rc::new(common), partial)
    }

    fn annotations(&mut self, anns: &[ast::Annotation]) -> IndexMap<String, String> {
        let mut out = IndexMap::new();
        for a in anns {
            let allowed = match a.name.name.as_str() {
                "severity" => SEVERITIES,
                "mode" => MODES,
                _ => &[][..],
            };
            if !allowed.is_empty() && !allowed.contains(&a.value.value.as_str()) {
                let list: Vec<String> = allowed.iter().map(|s| s.to_string()).collect();
                self.report(diag::bad_annotation(*a.span, &a.name.name, &a.value.value, &list));
            }
            out.insert(a.name.name.clone(), a.value.value.clone());
        }
        out
    }

    fn effect(&mut self, effect: &'a ast::Effect, cx: &mut Ctx<'a>) -> Effect {
        match &effect.kind {
            EffectKind::Deny => Effect::Deny,
            EffectKind::Allow => Effect::Allow,
            EffectKind::Warn => Effect::Warn,
            EffectKind::RequireApproval(roles) => Effect::RequireApproval(roles.iter().map(|r| r.value.clone()).collect()),
            EffectKind::Redact(path, None) => {
                let p = self.arg_path(path, cx, "redact");
                if !p.ty.is_stringy() && !matches!(p.ty, Type::List(ref t) if t.is_stringy()) {
                    let d = diag::redact_not_string(*path.span, &p.display(), &p.ty.to_string());
                    self.report(d);
                }
                Effect::Redact(p, None)
            }
            EffectKind::Redact(path, Some(x)) => {
                let p = self.arg_path(path, cx, "redact");
                if !p.ty.is_stringy() {
                    self.report(diag::redact_matching_not_string(*path.span, &p.display(), &p.ty.to_string()));
                }
                let parts = self.redacted_parts(&p, x, cx);
                Effect::Redact(p, Some(parts))
            }
            EffectKind::Set(path, value) => {
                let p = self.arg_path(path, cx, "set");
                let x = self.value_of(cx, value, &p.ty);
                Effect::Set(p, x)
            }
        }
    }

    /// What `redact PATH matching X` replaces, as a `list<string>` expression: a regex
    /// literal X becomes `(PATH ?? "").find_all(X)` (a missing argument has no parts), any
    /// other X must be a `list<string>`.
    fn redacted_parts(&mut self, path: &ArgPath, x: &'a ast::Expr, cx: &mut Ctx<'a>) -> ir::Expr {
        let list = Type::List(Box::new(Type::String));
        let span = *x.span;
        if let ast::ExprKind::Str(pattern) = &x.kind {
            let Some(regex) = self.regex(pattern, span) else { return super::expr::error_expr(span) };
            let input: Vec<String> = std::iter::once("args".to_string()).chain(path.segments.iter().cloned()).collect();
            let read = mk(ExprKind::Input(input), Type::String.optional(), path.span);
            let subject = mk(
                ExprKind::Coalesce(Box::new(read), Box::new(mk(ExprKind::Const(crate::value::Value::str("")), Type::String, path.span))),
                Type::String,
                path.span,
            );
            return mk(ExprKind::Regex { op: ir::RegexOp::FindAll, subject: Box::new(subject), regex }, list, span);
        }
        let parts = self.value(cx, x);
        if !matches!(&parts.ty, Type::List(t) if t.is_stringy()) && parts.ty != Type::Any {
            self.report(diag::redact_matching_type(span, &parts.ty.to_string()));
        }
        parts
    }

    /// The argument a `redact`/`set` changes: `memo`, `args.memo`, `recipient.email`.
    fn arg_path(&mut self, path: &ast::PathRef, cx: &Ctx<'a>, effect: &str) -> ArgPath {
        let mut segs: Vec<&ast::Ident> = path.segments.iter().collect();
        if segs.len() > 1 && segs[0].name == "args" {
            segs.remove(0);
        }
        let span = *path.span;
        let bad = ArgPath { segments: segs.iter().map(|s| s.name.clone()).collect(), ty: Type::Any, span };
        let Some(args) = &cx.args else {
            self.report(diag::effect_needs_tool(span, effect));
            return bad;
        };
        let Some(first) = segs.first() else { return bad };
        let Some(f) = args.get(&first.name) else {
            let suggestion = diag::did_you_mean(&first.name, args.keys().map(String::as_str)).map(str::to_string);
            self.report(diag::not_an_argument(*first.span, &first.name, suggestion.as_deref()));
            return bad;
        };
        let mut ty = f.ty.clone();
        for seg in &segs[1..] {
            let Type::Record(rt) = &ty else {
                self.report(diag::unknown_field(*seg.span, &seg.name, &ty.to_string(), None, &[]));
                return bad;
            };
            let Some((_, field)) = rt.field(&seg.name) else {
                let names: Vec<String> = rt.fields.iter().map(|f| f.name.clone()).collect();
                let suggestion = diag::did_you_mean(&seg.name, names.iter().map(String::as_str));
                self.report(diag::unknown_field(*seg.span, &seg.name, &ty.to_string(), suggestion, &names));
                return bad;
            };
            ty = field_type(field).unwrap_optional().clone();
        }
        ArgPath { ty, ..bad }
    }

    fn reason(&mut self, template: Option<&'a ast::Template>, cx: &mut Ctx<'a>) -> Vec<ReasonPart> {
        let Some(t) = template else { return Vec::new() };
        t.parts
            .iter()
            .map(|p| match p {
                ast::TemplatePart::Text(s) => ReasonPart::Text(s.clone()),
                // Optional values may be shown as they are: a missing one prints `(none)`.
                ast::TemplatePart::Expr(e) => ReasonPart::Expr(self.expr(cx, e)),
            })
            .collect()
    }
}

/// Whether a rule reads or changes `args` (then it cannot apply to an undeclared tool).
fn rule_reads_args(r: &ir::Rule) -> bool {
    let mut exprs: Vec<&ir::Expr> = r.lets.iter().chain(&r.condition).collect();
    exprs.extend(r.reason.iter().filter_map(|p| if let ReasonPart::Expr(e) = p { Some(e) } else { None }));
    if r.effect.modified_path().is_some() {
        return true;
    }
    exprs.iter().any(|e| ir::passes::any_node(e, &|n| matches!(&n.kind, ExprKind::Input(p) if p.first().map(String::as_str) == Some("args"))))
}
