//! Tests beside the rules: fixtures and `test` blocks are checked for names (fixtures,
//! rules) here; their requests are validated like real ones when `gavel test` runs them.

use super::Checker;
use crate::diagnostics as diag;
use crate::span::FileId;
use crate::syntax::ast::{self, RequestSource, TestStmt};
use indexmap::IndexMap;

/// The fixtures and tests of a policy set, owned so a compiled `Policy` can keep them.
#[derive(Debug, Clone, Default)]
pub struct TestSuite {
    pub fixtures: IndexMap<String, ast::Fixture>,
    pub tests: Vec<TestCase>,
}

#[derive(Debug, Clone)]
pub struct TestCase {
    pub file: FileId,
    pub decl: ast::TestDecl,
}

impl<'a> Checker<'a> {
    pub(super) fn check_tests(&mut self) -> TestSuite {
        let rule_ids: Vec<String> = self.rules.iter().map(|r| self.rule_id(r)).collect();
        let tests = std::mem::take(&mut self.tests);
        for (_, t) in &tests {
            for stmt in &t.stmts {
                match stmt {
                    TestStmt::Request(RequestSource::Fixture { name, .. }, _) if !self.fixtures.contains_key(&name.name) => {
                        let suggestion = diag::did_you_mean(&name.name, self.fixtures.keys().map(String::as_str)).map(str::to_string);
                        self.report(diag::unknown_fixture(*name.span, &name.name, suggestion.as_deref()));
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
