//! First pass: collects every declaration of the policy set and the stdlib into the
//! checker's tables, reporting duplicates with both places.

use super::{Checker, Namespace, ParsedFile, RuleSite};
use crate::diagnostics as diag;
use crate::ir::PolicyInfo;
use crate::span::Span;
use crate::syntax::ast::{self, DefaultEffect, Item};

impl<'a> Checker<'a> {
    pub(super) fn collect(&mut self, files: &[ParsedFile<'a>]) {
        for file in files {
            match &file.stdlib {
                Some(module) => self.collect_stdlib(module, file.ast),
                None => self.collect_user(file),
            }
        }
        self.resolve_declared_shapes(files);
    }

    fn define(&mut self, name: &str, span: Span, what: &'static str) {
        if let Some(prev) = self.defined.get(name) {
            let d = diag::duplicate_definition(span, name, what, *prev);
            self.report(d);
        } else {
            self.defined.insert(name.to_string(), span);
        }
    }

    fn collect_stdlib(&mut self, module: &str, file: &'a ast::File) {
        let mut ns = Namespace::default();
        for item in &file.items {
            match item {
                Item::Let(l) => {
                    ns.lets.insert(l.name.name.clone(), l);
                }
                Item::Fn(f) => {
                    ns.fns.insert(f.name.name.clone(), f);
                }
                _ => {}
            }
        }
        self.namespaces.insert(module.to_string(), ns);
    }

    fn collect_user(&mut self, file: &ParsedFile<'a>) {
        for item in &file.ast.items {
            match item {
                Item::Type(t) => {
                    self.define(&t.name.name, *t.name.span, "type");
                    self.type_decls.entry(t.name.name.clone()).or_insert(t);
                }
                Item::Tool(t) => {
                    if let Some((_, prev)) = self.tools.get(&t.name.name) {
                        let d = diag::duplicate_definition(*t.name.span, &t.name.name, "tool", *prev);
                        self.report(d);
                    } else {
                        self.tools.insert(t.name.name.clone(), (Vec::new(), *t.name.span));
                        if t.open {
                            self.open_tools.push(t.name.name.clone());
                        }
                    }
                }
                Item::Let(l) => {
                    self.define(&l.name.name, *l.name.span, "let");
                    self.namespaces[""].lets.entry(l.name.name.clone()).or_insert(l);
                }
                Item::Data(d) => {
                    self.define(&d.name.name, *d.name.span, "data");
                    self.data_decls.entry(d.name.name.clone()).or_insert(d);
                }
                Item::Window(w) => {
                    self.define(&w.name.name, *w.name.span, "window");
                    self.window_decls.entry(w.name.name.clone()).or_insert(w);
                }
                Item::Fn(f) => {
                    self.define(&f.name.name, *f.name.span, "function");
                    if f.body.is_none() {
                        self.report(diag::builtin_outside_stdlib(*f.span));
                    }
                    self.namespaces[""].fns.entry(f.name.name.clone()).or_insert(f);
                }
                Item::Rule(r) => self.collect_rule(r, file, None),
                Item::Block(b) => {
                    for bi in &b.items {
                        if let ast::BlockItem::Rule(r) = bi {
                            self.collect_rule(r, file, Some(b));
                        }
                    }
                    self.check_block_let_duplicates(b);
                }
                Item::Fixture(f) => {
                    self.define(&f.name.name, *f.name.span, "fixture");
                    self.fixtures.entry(f.name.name.clone()).or_insert(f);
                }
                Item::Test(t) => self.tests.push((file.id, t)),
                Item::Policy(_) | Item::Version(_) | Item::Default(..) | Item::OnError(..) | Item::Request(_) => {}
            }
        }
    }

    fn collect_rule(&mut self, rule: &'a ast::Rule, file: &ParsedFile<'a>, block: Option<&'a ast::OnBlock>) {
        if let Some(name) = &rule.name {
            self.define(&name.name, *name.span, "rule");
        }
        self.rules.push(RuleSite { rule, file: file.id, block });
    }

    fn check_block_let_duplicates(&mut self, b: &ast::OnBlock) {
        let mut seen: Vec<&ast::Ident> = Vec::new();
        for bi in &b.items {
            if let ast::BlockItem::Let(l) = bi {
                match seen.iter().find(|s| s.name == l.name.name) {
                    Some(prev) => {
                        let d = diag::duplicate_definition(*l.name.span, &l.name.name, "let", *prev.span);
                        self.report(d);
                    }
                    None => seen.push(&l.name),
                }
            }
        }
    }

    /// Resolves tool parameters and the request block once all types are known.
    fn resolve_declared_shapes(&mut self, files: &[ParsedFile<'a>]) {
        let mut request: Option<&'a ast::RequestDecl> = None;
        for file in files.iter().filter(|f| f.stdlib.is_none()) {
            for item in &file.ast.items {
                match item {
                    Item::Tool(t) => {
                        let params = self.resolve_fields(&t.params);
                        for p in &t.params {
                            if ENVELOPE_NAMES.contains(&p.name.name.as_str()) {
                                let d = diag::argument_clashes_with_envelope(*p.name.span, &p.name.name);
                                self.report(d);
                            }
                        }
                        if let Some(entry) = self.tools.get_mut(&t.name.name) {
                            if entry.0.is_empty() && entry.1 == *t.name.span {
                                entry.0 = params;
                            }
                        }
                    }
                    Item::Request(r) => match request {
                        Some(prev) => {
                            let d = diag::duplicate_header(*r.span, "request", *prev.span);
                            self.report(d);
                        }
                        None => request = Some(r),
                    },
                    _ => {}
                }
            }
        }
        let declared: Vec<String> = self.type_decls.keys().cloned().collect();
        for name in declared {
            let span = *self.type_decls[&name].name.span;
            self.resolve_named(&crate::syntax::ast::Ident { name, span: span.into() });
        }
        if let Some(r) = request {
            for f in r.fields.iter().filter(|f| RESERVED_REQUEST_FIELDS.contains(&f.name.name.as_str())) {
                self.report(diag::reserved_request_field(*f.name.span, &f.name.name));
            }
            self.envelope = self.resolve_fields(&r.fields);
        }
    }

    /// The policy header (`policy`, `version`, `default`, `on error`), exactly one each.
    pub(super) fn policy_info(&mut self, files: &[ParsedFile<'a>]) -> PolicyInfo {
        let mut name: Option<(String, Span)> = None;
        let mut version: Option<(String, Span)> = None;
        let mut default: Option<(DefaultEffect, Span)> = None;
        let mut on_error: Option<(DefaultEffect, Span)> = None;
        for file in files.iter().filter(|f| f.stdlib.is_none()) {
            for item in &file.ast.items {
                match item {
                    Item::Policy(n) => set_once(&mut self.diags, &mut name, (n.name.clone(), *n.span), "policy"),
                    Item::Version(v) => set_once(&mut self.diags, &mut version, (v.value.clone(), *v.span), "version"),
                    Item::Default(e, s) => set_once(&mut self.diags, &mut default, (*e, **s), "default"),
                    Item::OnError(e, s) => set_once(&mut self.diags, &mut on_error, (*e, **s), "on error"),
                    _ => {}
                }
            }
        }
        match &name {
            None => {
                if let Some(first) = files.iter().find(|f| f.stdlib.is_none()) {
                    self.report(diag::no_policy_header(Span::new(first.id, 0, 0)));
                }
            }
            Some((_, at)) => {
                if version.is_none() {
                    self.report(diag::missing_header(*at, "version", "version \"1\""));
                }
                if default.is_none() {
                    self.report(diag::missing_header(*at, "default", "default deny"));
                }
            }
        }
        PolicyInfo {
            name: name.map(|n| n.0).unwrap_or_default(),
            version: version.map(|v| v.0).unwrap_or_default(),
            default: default.map_or(DefaultEffect::Allow, |d| d.0),
            on_error: on_error.map_or(DefaultEffect::Deny, |d| d.0),
        }
    }
}

/// Fields every request has, which `request { ... }` cannot redeclare.
const RESERVED_REQUEST_FIELDS: &[&str] = &["tool", "args", "time"];

/// Names of the request envelope: they win over tool arguments of the same name.
pub(super) const ENVELOPE_NAMES: &[&str] = &["tool", "args", "time", "agent", "user", "workspace", "environment", "context"];

fn set_once<T>(diags: &mut Vec<crate::diagnostics::Diagnostic>, slot: &mut Option<(T, Span)>, value: (T, Span), what: &str) {
    match slot {
        Some((_, prev)) => diags.push(diag::duplicate_header(value.1, what, *prev)),
        None => *slot = Some(value),
    }
}
