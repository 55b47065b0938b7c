//! Name resolution and type checking. In: the parsed files of one policy set and of the
//! standard library. Out: the typed IR `Program` (before passes), the test suite, and every
//! diagnostic found (one run reports all the errors it can).
//!
//! Declarations are collected first (`collect`), then each rule, `let` and function is
//! checked on demand (`expr`), producing IR directly: top-level lets are inlined at their
//! use, block lets checked once per rule (`BlockLet` nodes), functions become `FnCall`
//! nodes that `ir::passes` inlines.

mod budget;
mod collect;
mod data;
mod expr;
mod methods;
mod rules;
mod tests;
mod types;
mod windows;

use crate::diagnostics::Diagnostic;
use crate::input::RequestSchema;
use crate::ir;
use crate::limits::Limits;
use crate::span::{FileId, SourceMap, Span};
use crate::syntax::ast;
use crate::types::{FieldType, Type};
use indexmap::IndexMap;
use std::collections::HashMap;
use std::sync::Arc;

pub use data::{DataFiles, DataSource};
pub use tests::TestSuite;
pub(crate) use windows::{DECISION_INPUT, WINDOW_INPUT};

/// One parsed file handed to the checker.
pub struct ParsedFile<'a> {
    /// The file's id in the source map.
    pub id: FileId,
    /// Its syntax tree.
    pub ast: &'a ast::File,
    /// `Some("pii")` for `stdlib/pii.pol`, addressed as `std.pii`.
    pub stdlib: Option<String>,
}

/// What the checker produces when there are no errors.
pub struct Checked {
    /// The typed IR of the policy set.
    pub program: ir::Program,
    /// Its fixtures and tests.
    pub tests: TestSuite,
}

/// Checks a policy set. Returns the program when there were no errors, and all diagnostics
/// (warnings included) either way.
pub fn check(files: &[ParsedFile<'_>], sources: &SourceMap) -> (Option<Checked>, Vec<Diagnostic>) {
    check_with(files, sources, &Limits::default(), &DataFiles::default())
}

/// `check` with the compile-time limits of `limits` (nesting and size after expanding lets
/// and functions, type nesting, regex program size), and the data files for its `data`
/// declarations.
pub fn check_with(files: &[ParsedFile<'_>], sources: &SourceMap, limits: &Limits, data: &DataFiles) -> (Option<Checked>, Vec<Diagnostic>) {
    let mut c = Checker::new(sources);
    c.budget = budget::Budget::new(*limits);
    c.collect(files);
    c.load_data(data);
    let info = c.policy_info(files);
    let schema = c.schema();
    let windows = c.check_windows();
    let rules = c.check_rules();
    c.check_unused_definitions();
    let tests = c.check_tests();
    let errors = c.diags.iter().any(Diagnostic::is_error);
    let program = ir::Program {
        info,
        schema,
        rules,
        windows,
        slots: Vec::new(),
        regexes: std::mem::take(&mut c.regexes),
        sets: Vec::new(),
        groups: ir::ToolGroups::default(),
    };
    let mut diags: Vec<Diagnostic> = Vec::new();
    for d in std::mem::take(&mut c.diags) {
        // A read checked twice (e.g. a guard and its use) reports once.
        if !diags.contains(&d) {
            diags.push(d);
        }
    }
    if errors {
        (None, diags)
    } else {
        (Some(Checked { program, tests }), diags)
    }
}

/// The lets and functions of one namespace: the user's (`""`) or a stdlib file's (`"pii"`).
#[derive(Default)]
struct Namespace<'a> {
    lets: IndexMap<String, &'a ast::LetDecl>,
    fns: IndexMap<String, &'a ast::FnDecl>,
    let_state: HashMap<String, LetState>,
    fn_state: HashMap<String, FnState>,
}

#[derive(Clone)]
enum LetState {
    InProgress,
    Done(ir::Expr, u32),
}

#[derive(Clone)]
enum FnState {
    InProgress,
    Done(Option<Arc<FnInfo>>),
}

/// A checked function: its signature and either a body or a native implementation.
pub(crate) struct FnInfo {
    name: String,
    params: Vec<Type>,
    ret: Type,
    body: FnBody,
}

enum FnBody {
    Pol { body: Arc<ir::Expr>, locals: u32 },
    Native(u32),
}

/// A rule as collected: where it is and which block (scope, lets) it sits in.
struct RuleSite<'a> {
    rule: &'a ast::Rule,
    file: FileId,
    block: Option<&'a ast::OnBlock>,
}

struct Checker<'a> {
    sources: &'a SourceMap,
    diags: Vec<Diagnostic>,
    /// Every top-level name of the user's namespace and where it is defined.
    defined: IndexMap<String, Span>,
    type_decls: IndexMap<String, &'a ast::TypeDecl>,
    type_state: HashMap<String, Option<Type>>,
    tools: IndexMap<String, (Vec<FieldType>, Span)>,
    /// The tools declared open (`...`): the others refuse undeclared arguments.
    open_tools: Vec<String>,
    envelope: Vec<FieldType>,
    namespaces: IndexMap<String, Namespace<'a>>,
    rules: Vec<RuleSite<'a>>,
    fixtures: IndexMap<String, &'a ast::Fixture>,
    tests: Vec<(FileId, &'a ast::TestDecl)>,
    regexes: Vec<regex::Regex>,
    regex_ids: HashMap<String, u32>,
    /// Functions being checked, innermost last, with the call that entered each.
    fn_stack: Vec<(String, String, Span)>,
    /// Nesting and work so far against the limits (see `budget.rs`).
    budget: budget::Budget,
    /// The arguments in scope for each list of matched tools (by index in `tools`), built
    /// once: most rules of a set share their tools with others.
    scopes: HashMap<Vec<usize>, ArgScope>,
    /// The block `let`s the rule being checked has used so far, by name, with their values
    /// (`ir::Rule::lets`, in this order).
    rule_lets: Vec<(String, ir::Expr)>,
    /// `data NAME: TYPE` declarations, and the value each got from its file.
    data_decls: IndexMap<String, &'a ast::DataDecl>,
    data_values: HashMap<String, (crate::value::Value, Type)>,
    /// `window` declarations, and what a rule reading each needs (filled before the rules).
    window_decls: IndexMap<String, &'a ast::WindowDecl>,
    window_info: HashMap<String, windows::WindowInfo>,
    /// Bare names read in a tool scope whose tool has an argument of that name, but which
    /// mean the request field (`user` with `tool t(user: string)`), for `clash_hint`.
    clashing_reads: Vec<(Span, String)>,
}

/// The arguments in scope for a rule's tools, shared by the rules with the same tools, and
/// the names of the arguments only some of those tools have.
type ArgScope = (std::rc::Rc<IndexMap<String, FieldType>>, Vec<String>);

impl<'a> Checker<'a> {
    fn new(sources: &'a SourceMap) -> Checker<'a> {
        let mut namespaces = IndexMap::new();
        namespaces.insert(String::new(), Namespace::default());
        Checker {
            sources,
            diags: Vec::new(),
            defined: IndexMap::new(),
            type_decls: IndexMap::new(),
            type_state: HashMap::new(),
            tools: IndexMap::new(),
            open_tools: Vec::new(),
            envelope: Vec::new(),
            namespaces,
            rules: Vec::new(),
            fixtures: IndexMap::new(),
            tests: Vec::new(),
            regexes: Vec::new(),
            regex_ids: HashMap::new(),
            fn_stack: Vec::new(),
            budget: budget::Budget::new(Limits::default()),
            scopes: HashMap::new(),
            rule_lets: Vec::new(),
            data_decls: IndexMap::new(),
            data_values: HashMap::new(),
            window_decls: IndexMap::new(),
            window_info: HashMap::new(),
            clashing_reads: Vec::new(),
        }
    }

    fn report(&mut self, mut d: Diagnostic) {
        if let Some((read, name)) = self.clash_behind(&d) {
            d.help = Some(format!("`{name}` here is the request field `{name}`; write `args.{name}` for the tool argument"));
            if read != d.span() {
                d = d.with_label(read, "the request field, not the argument");
            }
        }
        self.diags.push(d);
    }

    /// The read and its name, if a type error is about the value of a bare name that means the request
    /// field while the tool has an argument of that name (the user most likely meant the
    /// argument): the error is on the name itself, on a field or method of it
    /// (`user.starts_with`), or the name is one side of the comparison or operation.
    fn clash_behind(&self, d: &Diagnostic) -> Option<(Span, String)> {
        let about_a_value = d.code.starts_with("E02") || d.code == "E0104" || d.code == "E0110";
        if !d.is_error() || !about_a_value {
            return None;
        }
        let at = d.span();
        let text = self.sources.get(at.file).text.as_str();
        let clash = self.clashing_reads.iter().find(|(read, _)| {
            let after = text.get(read.end as usize..).unwrap_or("").trim_start();
            let operand = !after.starts_with(['.', '(', '[']);
            read.file == at.file
                && (*read == at
                    || (read.end + 1 == at.start && text.get(read.end as usize..at.start as usize) == Some("."))
                    || (at.contains(*read) && operand && (read.start == at.start || read.end == at.end)))
        });
        clash.cloned()
    }

    /// Checks the user's lets and functions that no rule used, so their errors show too.
    fn check_unused_definitions(&mut self) {
        let lets: Vec<(String, Span)> = self.namespaces[""].lets.iter().map(|(n, l)| (n.clone(), *l.name.span)).collect();
        for (name, span) in lets {
            self.top_let(&mut expr::Ctx::default(), "", &name, span);
        }
        let fns: Vec<(String, Span)> = self.namespaces[""].fns.iter().map(|(n, f)| (n.clone(), *f.name.span)).collect();
        for (name, span) in fns {
            self.fn_info("", &name, span);
        }
    }

    fn schema(&self) -> RequestSchema {
        RequestSchema {
            envelope: self.envelope.clone(),
            tools: self.tools.iter().map(|(k, (params, _))| (k.clone(), params.clone())).collect(),
            open_tools: self.open_tools.iter().cloned().collect(),
        }
    }

    /// Compiles a regex literal once; reports a bad pattern at `span`.
    fn regex(&mut self, pattern: &str, span: Span) -> Option<u32> {
        if let Some(&id) = self.regex_ids.get(pattern) {
            return Some(id);
        }
        let limit = self.budget.limits.max_regex_bytes;
        match regex::RegexBuilder::new(pattern).size_limit(limit).build() {
            Ok(re) => {
                let id = self.regexes.len() as u32;
                self.regexes.push(re);
                self.regex_ids.insert(pattern.to_string(), id);
                Some(id)
            }
            Err(regex::Error::CompiledTooBig(_)) => {
                self.report(crate::diagnostics::regex_too_large(span, limit));
                None
            }
            Err(e) => {
                self.report(crate::diagnostics::bad_regex(span, &e.to_string()));
                None
            }
        }
    }
}
