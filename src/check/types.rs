//! Type expressions to types: built-in names, declared `type`s (no recursion), records,
//! lists, maps and string enums.

use super::Checker;
use crate::diagnostics as diag;
use crate::syntax::ast::{self, TypeExprKind};
use crate::types::{FieldType, RecordType, Type};
use std::sync::Arc;

const BUILTIN_TYPES: &[&str] = &["bool", "number", "string", "duration", "timestamp"];

impl<'a> Checker<'a> {
    pub(super) fn resolve_fields(&mut self, fields: &[ast::FieldDecl]) -> Vec<FieldType> {
        let mut out: Vec<FieldType> = Vec::new();
        for f in fields {
            if let Some(prev) = fields.iter().take_while(|p| !std::ptr::eq(*p, f)).find(|p| p.name.name == f.name.name) {
                let d = diag::duplicate_definition(*f.name.span, &f.name.name, "field", *prev.name.span);
                self.report(d);
                continue;
            }
            // `lenient` belongs to the field (how its value is read), not to its type.
            let (ty, lenient) = match &f.ty.kind {
                TypeExprKind::Lenient(inner) => {
                    let ty = self.resolve_type(inner, None);
                    if !matches!(ty, Type::Number | Type::Any) {
                        self.report(diag::lenient_misuse(*f.ty.span, Some(&ty.to_string())));
                    }
                    (ty, true)
                }
                _ => (self.resolve_type(&f.ty, None), false),
            };
            out.push(FieldType { name: f.name.name.clone(), ty, optional: f.optional, lenient });
        }
        out
    }

    /// `name` is the declared name when `ty` is the right-hand side of `type NAME = ...`.
    pub(super) fn resolve_type(&mut self, ty: &ast::TypeExpr, name: Option<&str>) -> Type {
        match &ty.kind {
            TypeExprKind::Named(id) => self.resolve_named(id),
            TypeExprKind::List(t) => Type::List(Box::new(self.resolve_type(t, None))),
            TypeExprKind::Map(t) => Type::Map(Box::new(self.resolve_type(t, None))),
            TypeExprKind::Record(fields) => {
                let fields = self.resolve_fields(fields);
                Type::Record(Arc::new(RecordType { name: name.map(str::to_string), fields }))
            }
            TypeExprKind::Enum(values) => {
                let mut out: Vec<String> = Vec::new();
                for v in values {
                    if !out.contains(&v.value) {
                        out.push(v.value.clone());
                    }
                }
                Type::Enum(Arc::new(out))
            }
            TypeExprKind::Lenient(inner) => {
                self.report(diag::lenient_misuse(*ty.span, None));
                self.resolve_type(inner, None)
            }
        }
    }

    pub(super) fn resolve_named(&mut self, id: &ast::Ident) -> Type {
        match id.name.as_str() {
            "bool" => return Type::Bool,
            "number" => return Type::Number,
            "string" => return Type::String,
            "duration" => return Type::Duration,
            "timestamp" => return Type::Timestamp,
            _ => {}
        }
        match self.type_state.get(&id.name) {
            Some(Some(t)) => return t.clone(),
            Some(None) => {
                self.report(diag::recursive_type(*id.span, &id.name));
                return Type::Any;
            }
            None => {}
        }
        let Some(decl) = self.type_decls.get(&id.name).copied() else {
            let candidates: Vec<&str> = BUILTIN_TYPES.iter().copied().chain(self.type_decls.keys().map(String::as_str)).collect();
            let suggestion = diag::did_you_mean(&id.name, candidates);
            self.report(diag::unknown_type(*id.span, &id.name, suggestion));
            return Type::Any;
        };
        let max = self.budget.limits.max_compiled_depth;
        if !self.budget.enter_type() {
            self.report(diag::type_too_deep(*id.span, max));
            return Type::Any;
        }
        self.type_state.insert(id.name.clone(), None);
        let mut t = self.resolve_type(&decl.ty, Some(&id.name));
        self.budget.leave();
        // Types built from other types' copies grow with each declaration; keep them shallow
        // enough for everything that walks them recursively.
        if type_depth(&t, max) > max {
            self.report(diag::type_too_deep(*decl.name.span, max));
            t = Type::Any;
        }
        self.type_state.insert(id.name.clone(), Some(t.clone()));
        t
    }
}

/// The nesting depth of `t`, or `max + 1` as soon as it is known to be deeper. Types are
/// built from source text (bounded by `max_expr_depth`) and declared types already checked
/// against `max`, so the recursion stays shallow.
fn type_depth(t: &Type, max: usize) -> usize {
    if max == 0 {
        return 1;
    }
    let below = |inner: &Type| type_depth(inner, max - 1);
    1 + match t {
        Type::List(inner) | Type::Map(inner) | Type::Optional(inner) => below(inner),
        Type::Record(r) => r.fields.iter().map(|f| below(&f.ty)).max().unwrap_or(0),
        _ => 0,
    }
}
