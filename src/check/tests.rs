//! Tests beside the rules: fixtures and `test` blocks are checked for names (fixtures,
//! rules) here; their requests are validated like real ones when `gavel test` runs them.

use super::Checker;
use crate::diagnostics as diag;
use crate::span::FileId;
use crate::syntax::ast::{self, FixtureValue, JsonKind, RequestSource, TestStmt};
use crate::types::{RecordType, Type};
use indexmap::IndexMap;

/// The fixtures and tests of a policy set, owned so a compiled `Policy` can keep them.
#[derive(Debug, Clone, Default)]
pub struct TestSuite {
    /// The fixtures, by name.
    pub fixtures: IndexMap<String, ast::Fixture>,
    /// The tests, in source order.
    pub tests: Vec<TestCase>,
}

/// One `test` block, checked.
#[derive(Debug, Clone)]
pub struct TestCase {
    /// The file it is written in.
    pub file: FileId,
    pub decl: ast::TestDecl,
}

impl<'a> Checker<'a> {
    pub(super) fn check_tests(&mut self) -> TestSuite {
        let rule_ids: Vec<String> = self.rules.iter().map(|r| self.rule_id(r)).collect();
        self.check_fixtures();
        let tests = std::mem::take(&mut self.tests);
        for (_, t) in &tests {
            for stmt in &t.stmts {
                match stmt {
                    TestStmt::Request(RequestSource::Fixture { name, .. }, _) if !self.fixtures.contains_key(&name.name) => {
                        let suggestion = diag::did_you_mean(&name.name, self.fixtures.keys().map(String::as_str)).map(str::to_string);
                        self.report(diag::unknown_fixture(*name.span, &name.name, suggestion.as_deref()));
                    }
                    TestStmt::Request(RequestSource::Fixture { name, with }, _) => {
                        let tool = self.fixture_tool(&name.name);
                        self.check_overrides(tool, with);
                    }
                    TestStmt::ExpectEffect { by, .. } => {
                        for r in by.iter().filter(|r| !rule_ids.contains(&r.name)) {
                            let suggestion = diag::did_you_mean(&r.name, rule_ids.iter().map(String::as_str)).map(str::to_string);
                            self.report(diag::unknown_rule(*r.span, &r.name, suggestion.as_deref()));
                        }
                    }
                    _ => {}
                }
            }
        }
        TestSuite {
            fixtures: self.fixtures.iter().map(|(k, f)| (k.clone(), (*f).clone())).collect(),
            tests: tests.into_iter().map(|(file, decl)| TestCase { file, decl: decl.clone() }).collect(),
        }
    }
}

impl<'a> Checker<'a> {
    /// `fixture NAME = BASE with { ... }`: `BASE` must be a fixture (E0117), the chain of
    /// bases must end in a written request (a cycle is E0317, reported once, at the cycle's
    /// first fixture in source order), and the override paths are checked as in tests.
    fn check_fixtures(&mut self) {
        let fixtures: Vec<&'a ast::Fixture> = self.fixtures.values().copied().collect();
        for (i, f) in fixtures.iter().enumerate() {
            let FixtureValue::Extends { base, with } = &f.value else { continue };
            if !self.fixtures.contains_key(&base.name) {
                let others = self.fixtures.keys().map(String::as_str).filter(|n| *n != f.name.name);
                let suggestion = diag::did_you_mean(&base.name, others).map(str::to_string);
                self.report(diag::unknown_fixture(*base.span, &base.name, suggestion.as_deref()));
                continue;
            }
            if let Some(cycle) = self.fixture_cycle(i) {
                self.report(diag::fixture_cycle(*base.span, &cycle));
                continue;
            }
            let tool = self.fixture_tool(&base.name);
            self.check_overrides(tool, with);
        }
    }

    /// The names around the cycle of bases through fixture `i`, from it back to it, when it
    /// is on one and is the cycle's first fixture in source order (`None` otherwise).
    fn fixture_cycle(&self, i: usize) -> Option<Vec<String>> {
        let mut chain = vec![i];
        // Each step visits a new fixture, so the walk ends within `len` steps.
        while chain.len() <= self.fixtures.len() {
            let (_, f) = self.fixtures.get_index(*chain.last()?)?;
            let FixtureValue::Extends { base, .. } = &f.value else { return None };
            let next = self.fixtures.get_index_of(&base.name)?;
            if next == i {
                let names = chain.iter().chain([&i]).filter_map(|j| self.fixtures.get_index(*j)).map(|(n, _)| n.clone()).collect();
                return chain.iter().all(|j| *j >= i).then_some(names);
            }
            if chain.contains(&next) {
                return None; // `i` leads into a cycle it is not part of; that cycle is reported by its own fixtures
            }
            chain.push(next);
        }
        None
    }

    /// The tool a fixture's request is for: the nearest `tool` override along its bases, else
    /// the `tool` of the request written at the end of the chain (`None`: none is known, or
    /// the chain is broken, which is reported on its own).
    fn fixture_tool(&self, name: &str) -> Option<String> {
        let mut name = name;
        for _ in 0..=self.fixtures.len() {
            match &self.fixtures.get(name)?.value {
                FixtureValue::Literal(j) => {
                    return match &j.kind {
                        JsonKind::Object(fields) => fields.iter().find(|(k, _)| k.name == "tool").and_then(|(_, v)| json_str(v)),
                        _ => None,
                    }
                }
                FixtureValue::Extends { base, with } => {
                    if let Some(tool) = with_tool(with) {
                        return tool;
                    }
                    name = &base.name;
                }
            }
        }
        None
    }

    /// Each override path of `request FIXTURE with { ... }` (and `fixture F = FIXTURE with
    /// { ... }`) must be declared: by the tool the request is for (`args.…`; the overridden
    /// `tool`, else `base_tool`, the fixture's), by the envelope, or be `tool` or `time`. An
    /// override of anything else would change nothing a rule reads, so the test would test
    /// nothing.
    fn check_overrides(&mut self, base_tool: Option<String>, with: &[(ast::PathRef, ast::Json)]) {
        let tool = with_tool(with).unwrap_or(base_tool);
        for (path, _) in with {
            if let Err(d) = self.override_path(path, tool.as_deref()) {
                self.report(d);
            }
        }
    }

    fn override_path(&self, path: &ast::PathRef, tool: Option<&str>) -> Result<(), crate::diagnostics::Diagnostic> {
        let Some((first, rest)) = path.segments.split_first() else { return Ok(()) };
        let shown = |n: usize| path.segments[..n].iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(".");
        let mut ty = match first.name.as_str() {
            "tool" | "time" => Type::String,
            "args" => {
                // No tool name to check against: the request is invalid, which the test reports.
                let Some(tool) = tool else { return Ok(()) };
                let Some((params, _)) = self.tools.get(tool) else {
                    return Err(diag::override_of_undeclared_tool(*path.span, &shown(path.segments.len()), tool));
                };
                Type::Record(std::sync::Arc::new(RecordType { name: Some(format!("tool {tool}")), fields: params.clone() }))
            }
            name => match self.envelope.iter().find(|f| f.name == name) {
                Some(f) => f.ty.clone(),
                None => {
                    let mut names: Vec<&str> = vec!["tool", "args", "time"];
                    names.extend(self.envelope.iter().map(|f| f.name.as_str()));
                    let suggestion = diag::did_you_mean(name, names.iter().copied());
                    return Err(diag::undeclared_override(*first.span, name, "the request", suggestion));
                }
            },
        };
        for (i, seg) in rest.iter().enumerate() {
            ty = match ty.unwrap_optional() {
                Type::Record(rt) => match rt.field(&seg.name) {
                    Some((_, f)) => f.ty.clone(),
                    None => {
                        let suggestion = diag::did_you_mean(&seg.name, rt.fields.iter().map(|f| f.name.as_str())).map(|s| format!("{}.{s}", shown(i + 1)));
                        let owner = match &rt.name {
                            Some(n) if n.starts_with("tool ") => format!("`{}`", &n[5..]),
                            _ => format!("`{}`", shown(i + 1)),
                        };
                        return Err(diag::undeclared_override(*seg.span, &shown(i + 2), &owner, suggestion.as_deref()));
                    }
                },
                // A map's keys are its data.
                Type::Map(t) => (**t).clone(),
                Type::Any => return Ok(()),
                other => return Err(diag::override_inside_scalar(*seg.span, &shown(i + 2), &shown(i + 1), &other.to_string())),
            };
        }
        Ok(())
    }
}

fn json_str(j: &ast::Json) -> Option<String> {
    if let JsonKind::Str(s) = &j.kind {
        Some(s.clone())
    } else {
        None
    }
}

/// The `tool` override among `with`, if there is one: `Some(None)` when it is not a string.
fn with_tool(with: &[(ast::PathRef, ast::Json)]) -> Option<Option<String>> {
    with.iter().find(|(p, _)| p.segments.len() == 1 && p.segments[0].name == "tool").map(|(_, v)| json_str(v))
}
