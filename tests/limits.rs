//! Limits (docs/security.md): each limit, exceeded, is a compile error naming it (with a
//! code and a help) or a fail-closed decision naming it; inputs far beyond the nesting
//! limits (100,000 levels) are refused without overflowing the stack anywhere.

use gavel::{Backend, DecideOptions, Diagnostics, Limits, Policy};

const HEADER: &str = "policy p\nversion \"1\"\ndefault allow\non error deny\ntool t(x: number, s?: string, l?: list<string>)\n";

fn compile(body: &str) -> Result<Policy, Diagnostics> {
    compile_with(body, &Limits::default())
}

fn compile_with(body: &str, limits: &Limits) -> Result<Policy, Diagnostics> {
    Policy::from_sources_with(&[("p.pol", &format!("{HEADER}{body}"))], limits)
}

/// The compile errors' codes and the whole rendered text.
fn errors(r: Result<Policy, Diagnostics>) -> (Vec<&'static str>, String) {
    let d = r.err().expect("the policy must not compile");
    let codes = d.items.iter().filter(|i| i.is_error()).map(|i| i.code).collect();
    let text = d.items.iter().map(|i| gavel::diagnostics::render(i, &d.sources, false)).collect::<Vec<_>>().join("\n");
    (codes, text)
}

fn assert_limit_error(r: Result<Policy, Diagnostics>, code: &str, limit: &str) {
    let (codes, text) = errors(r);
    assert!(codes.contains(&code), "expected {code}, got {codes:?}:\n{text}");
    assert!(text.contains(limit), "the error names `{limit}`:\n{text}");
    assert!(text.contains(&format!("--{}", limit.replace('_', "-"))), "the help says how to raise it:\n{text}");
}

/// Runs `f` on a thread with the default 2 MiB test stack, so an overflow fails the test
/// (aborting the process) rather than passing thanks to a big main stack.
fn on_small_stack<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| std::thread::Builder::new().stack_size(2 << 20).spawn_scoped(s, f).expect("spawn").join().expect("no panic"))
}

// ---- expression nesting -------------------------------------------------------------------

#[test]
fn deep_parentheses_are_refused_not_overflowed() {
    let deep = format!("rule r: deny when {}x > 1{}", "(".repeat(100_000), ")".repeat(100_000));
    on_small_stack(|| assert_limit_error(compile(&deep), "E0502", "max_expr_depth"));
}

#[test]
fn unclosed_parentheses_are_refused() {
    let deep = format!("rule r: deny when {}", "(".repeat(100_000));
    on_small_stack(|| assert_limit_error(compile(&deep), "E0502", "max_expr_depth"));
}

#[test]
fn long_not_chains_are_refused() {
    let deep = format!("rule r: on t deny when {}x > 1", "not ".repeat(100_000));
    on_small_stack(|| assert_limit_error(compile(&deep), "E0502", "max_expr_depth"));
}

#[test]
fn long_operator_chains_are_refused() {
    let deep = format!("rule r: on t deny when x > 1{}", " + 1".repeat(100_000));
    on_small_stack(|| assert_limit_error(compile(&deep), "E0502", "max_expr_depth"));
    let deep = format!("rule r: on t deny when x > 1 and {}", "x > 1 or ".repeat(50_000) + "true");
    on_small_stack(|| assert_limit_error(compile(&deep), "E0502", "max_expr_depth"));
}

#[test]
fn long_postfix_chains_are_refused() {
    let fields = format!("rule r: on t deny when s{} == \"a\"", ".lower()".repeat(50_000));
    on_small_stack(|| assert_limit_error(compile(&fields), "E0502", "max_expr_depth"));
    let index = format!("rule r: on t deny when l{} == \"a\"", "[0]".repeat(50_000));
    on_small_stack(|| assert_limit_error(compile(&index), "E0502", "max_expr_depth"));
}

#[test]
fn deep_template_holes_are_refused() {
    let deep = format!("rule r: on t deny because \"{{{}x{}}}\"", "(".repeat(50_000), ")".repeat(50_000));
    on_small_stack(|| assert_limit_error(compile(&deep), "E0502", "max_expr_depth"));
}

#[test]
fn deep_types_and_test_values_are_refused() {
    let ty = format!("type T = {}number{}", "list<".repeat(50_000), ">".repeat(50_000));
    on_small_stack(|| assert_limit_error(compile(&ty), "E0502", "max_expr_depth"));
    let json = format!("test \"t\" {{ request {}1{} expect allow }}", "[".repeat(50_000), "]".repeat(50_000));
    on_small_stack(|| assert_limit_error(compile(&json), "E0502", "max_expr_depth"));
    let record = format!("type T = {}number{}", "{ a: ".repeat(50_000), " }".repeat(50_000));
    on_small_stack(|| assert_limit_error(compile(&record), "E0502", "max_expr_depth"));
}

#[test]
fn nesting_up_to_the_limit_compiles_and_decides() {
    let limits = Limits { max_expr_depth: 64, ..Limits::default() };
    // 30 parentheses: about 2 levels each in the estimate, within 64.
    let ok = format!("rule r: on t deny when {}x{} > 1", "(".repeat(30), ")".repeat(30));
    let policy = on_small_stack(|| compile_with(&ok, &limits)).expect("within the limit");
    let engine = policy.engine(Backend::Interpreter).expect("interpreter");
    assert!(engine.decide_with(br#"{"tool": "t", "args": {"x": 2}}"#, DecideOptions::default()).is_denied());
    let too_deep = format!("rule r: on t deny when {}x{} > 1", "(".repeat(40), ")".repeat(40));
    assert_limit_error(compile_with(&too_deep, &limits), "E0502", "max_expr_depth");
}

#[test]
fn the_depth_limit_can_be_raised() {
    let deep = format!("rule r: on t deny when {}x > 1", "not ".repeat(200));
    assert_limit_error(compile(&deep), "E0502", "max_expr_depth");
    let limits = Limits { max_expr_depth: 400, ..Limits::default() };
    assert!(on_small_stack(|| compile_with(&deep, &limits)).is_ok());
}

#[test]
fn many_simple_rules_are_not_mistaken_for_depth() {
    // 2,000 rules (and a list of 5,000 strings) nest no deeper than one of them.
    let mut body: String = (0..2000).map(|i| format!("rule r{i}: on t deny when x > {i} and x < {i} + 1\n")).collect();
    let list: Vec<String> = (0..5000).map(|i| format!("\"v{i}\"")).collect();
    body.push_str(&format!("let names = [{}]\nrule in_list: on t deny when s ?? \"\" in names\n", list.join(", ")));
    body.push_str(&format!("on t {{\n{}}}\n", (0..500).map(|i| format!("  rule b{i}: deny when x == {i}\n")).collect::<String>()));
    assert!(compile(&body).is_ok());
}

// ---- expansion of lets and functions -------------------------------------------------------

#[test]
fn exponential_let_expansion_is_refused() {
    // Each let doubles the tree: 2^60 nodes if expanded.
    let mut body = String::from("let a0 = x\n");
    for i in 1..=60 {
        body.push_str(&format!("let a{i} = a{} + a{}\n", i - 1, i - 1));
    }
    body.push_str("rule r: on t deny when a60 > 1\n");
    assert_limit_error(on_small_stack(|| compile(&body)), "E0504", "max_compiled_nodes");
}

#[test]
fn exponential_function_expansion_is_refused() {
    let mut body = String::from("fn f0(v: number) -> number = v + 1\n");
    for i in 1..=60 {
        body.push_str(&format!("fn f{i}(v: number) -> number = f{}(v) + f{}(v)\n", i - 1, i - 1));
    }
    body.push_str("rule r: on t deny when f60(x) > 1\n");
    assert_limit_error(on_small_stack(|| compile(&body)), "E0504", "max_compiled_nodes");
}

#[test]
fn long_let_chains_are_refused() {
    // Each let is shallow, but expanded the chain nests 5,000 deep.
    let mut body = String::from("let a0 = 1\n");
    for i in 1..5000 {
        body.push_str(&format!("let a{i} = a{} + 1\n", i - 1));
    }
    // Checked in order (each cached before the next), and all at once from the last.
    let mut forwards = body.clone();
    for i in (0..5000).step_by(50) {
        forwards.push_str(&format!("rule r{i}: on t deny when x > a{i}\n"));
    }
    assert_limit_error(on_small_stack(|| compile(&forwards)), "E0503", "max_compiled_depth");
    body.push_str("rule r: on t deny when x > a4999\n");
    assert_limit_error(on_small_stack(|| compile(&body)), "E0503", "max_compiled_depth");
}

#[test]
fn long_function_chains_are_refused() {
    let mut body = String::from("fn f0(v: number) -> number = v + 1\n");
    for i in 1..3000 {
        body.push_str(&format!("fn f{i}(v: number) -> number = f{}(v) + 1\n", i - 1));
    }
    body.push_str("rule r: on t deny when f2999(x) > 1\n");
    assert_limit_error(on_small_stack(|| compile(&body)), "E0503", "max_compiled_depth");
}

#[test]
fn long_type_alias_chains_are_refused() {
    let mut body = String::from("type T0 = list<number>\n");
    for i in 1..3000 {
        body.push_str(&format!("type T{i} = list<T{}>\n", i - 1));
    }
    body.push_str("tool u(v: T2999)\n");
    assert_limit_error(on_small_stack(|| compile(&body)), "E0506", "max_compiled_depth");
}

// ---- sizes -----------------------------------------------------------------------------------

#[test]
fn oversized_sources_are_refused() {
    let limits = Limits { max_source_bytes: 1000, ..Limits::default() };
    let body = format!("// {}\n", "x".repeat(2000));
    assert_limit_error(compile_with(&body, &limits), "E0501", "max_source_bytes");
    assert!(compile(&body).is_ok());
}

/// Compiles the files at `paths` (from disk) with `max_source_bytes` set to `limit`.
fn compile_paths(paths: &[&std::path::Path], limit: usize) -> Result<Policy, Diagnostics> {
    Policy::from_paths_with(paths, &Limits { max_source_bytes: limit, ..Limits::default() })
}

#[test]
fn oversized_source_files_are_refused_before_reading() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let small = dir.path().join("small.pol");
    std::fs::write(&small, format!("{HEADER}rule r: on t deny when x > 1\n")).expect("write");
    let big = dir.path().join("big.pol");
    std::fs::write(&big, format!("{HEADER}// {}\n", "x".repeat(2000))).expect("write");
    let big_size = std::fs::metadata(&big).expect("metadata").len();
    assert!(compile_paths(&[&small], 1000).is_ok());
    let (codes, text) = errors(compile_paths(&[&small, &big], 1000));
    assert_eq!(codes, ["E0501"], "{text}");
    assert!(text.contains(&format!("the file is {big_size} bytes, more than `max_source_bytes` (1000)")), "{text}");
    assert!(text.contains(&big.display().to_string()), "the error names the file's path:\n{text}");
    assert_limit_error(compile_paths(&[&big], 1000), "E0501", "max_source_bytes");

    // A sparse file of 64 GiB: reading it first would take that much memory; its size is
    // known from its metadata, so it is refused at once.
    let huge = dir.path().join("huge.pol");
    std::fs::File::create(&huge).and_then(|f| f.set_len(1 << 36)).expect("a sparse file");
    let (codes, text) = errors(compile_paths(&[&huge], 1 << 20));
    assert_eq!(codes, ["E0501"], "{text}");
    assert!(text.contains(&format!("the file is {} bytes", 1u64 << 36)), "{text}");
}

#[test]
fn oversized_files_found_in_directories_are_refused() {
    let dir = tempfile::tempdir().expect("a temp dir");
    std::fs::write(dir.path().join("a.pol"), format!("{HEADER}rule r: on t deny when x > 1\n")).expect("write");
    let nested = dir.path().join("nested");
    std::fs::create_dir(&nested).expect("mkdir");
    let big = nested.join("big.pol");
    std::fs::File::create(&big).and_then(|f| f.set_len(1 << 36)).expect("a sparse file");
    let (codes, text) = errors(compile_paths(&[dir.path()], 1 << 20));
    assert_eq!(codes, ["E0501"], "{text}");
    assert!(text.contains(&big.display().to_string()), "the error names the nested file:\n{text}");
}

#[test]
fn oversized_regexes_are_refused() {
    let body = "rule r: on t deny when (s ?? \"\").matches(\"\\\\w{1000}\\\\w{1000}\")\n";
    let limits = Limits { max_regex_bytes: 10_000, ..Limits::default() };
    assert_limit_error(compile_with(body, &limits), "E0505", "max_regex_bytes");
}

// ---- request limits at decision time ---------------------------------------------------------

fn engine(limits: &Limits) -> gavel::Engine {
    let policy = compile_with("rule r: on t deny when x > 100\n", limits).expect("compiles");
    policy.engine(Backend::Interpreter).expect("interpreter")
}

/// The request is refused with the named limit, failing closed.
fn assert_refused(limits: &Limits, request: &[u8], limit: &str) {
    let d = engine(limits).decide_with(request, DecideOptions::default());
    assert!(d.is_denied(), "fails closed");
    let text = serde_json::to_string(&d.errors).expect("serializes");
    assert!(text.contains(limit), "the error names `{limit}`: {text}");
    assert!(text.contains("\"kind\":\"input\""), "an input error: {text}");
}

#[test]
fn request_limits_fail_closed_with_their_name() {
    let small = Limits { max_request_bytes: 200, max_json_depth: 4, max_string_bytes: 20, max_list_len: 5, ..Limits::default() };
    let ok = br#"{"tool": "t", "args": {"x": 1, "s": "short", "l": ["a", "b"]}}"#;
    assert!(engine(&small).decide_with(ok, DecideOptions::default()).is_allowed());
    let long = format!(r#"{{"tool": "t", "args": {{"x": 1, "pad": "{}"}}}}"#, " ".repeat(300));
    assert_refused(&small, long.as_bytes(), "max_request_bytes");
    assert_refused(&small, br#"{"tool": "t", "args": {"x": 1, "extra": [[[1]]]}}"#, "max_json_depth");
    assert_refused(&small, br#"{"tool": "t", "args": {"x": 1, "s": "a string of more than twenty bytes"}}"#, "max_string_bytes");
    assert_refused(&small, br#"{"tool": "t", "args": {"x": 1, "l": ["a", "b", "c", "d", "e", "f"]}}"#, "max_list_len");
}

#[test]
fn deeply_nested_json_is_refused_without_recursion() {
    for open in ["[", "{\"a\":"] {
        let request = format!(r#"{{"tool": "t", "args": {{"x": 1, "deep": {}}}}}"#, open.repeat(1_000_000));
        let limits = Limits { max_request_bytes: 64 << 20, ..Limits::default() };
        on_small_stack(|| assert_refused(&limits, request.as_bytes(), "max_json_depth"));
    }
}

#[test]
fn json_nesting_within_the_limit_decides() {
    // In an undeclared envelope field: `t` is closed, so an undeclared argument is refused.
    let request = format!(r#"{{"tool": "t", "deep": {}1{}, "args": {{"x": 500}}}}"#, "[".repeat(60), "]".repeat(60));
    let d = engine(&Limits::default()).decide_with(request.as_bytes(), DecideOptions::default());
    assert!(d.is_denied() && d.errors.is_empty(), "{:?}", d.errors);
}

#[test]
fn default_limits_are_documented_values() {
    let d = Limits::default();
    assert_eq!(d.max_request_bytes, 1 << 20);
    assert_eq!(d.max_json_depth, 64);
    assert_eq!(d.max_string_bytes, 256 << 10);
    assert_eq!(d.max_list_len, 10_000);
    assert_eq!(d.max_source_bytes, 1 << 20);
    assert_eq!(d.max_expr_depth, 128);
    assert_eq!(d.max_compiled_depth, 512);
    assert_eq!(d.max_compiled_nodes, 200_000);
    assert_eq!(d.max_regex_bytes, 1 << 20);
}

#[test]
fn a_lowered_depth_limit_applies_to_the_user_text_only() {
    let limits = Limits { max_expr_depth: 8, ..Limits::default() };
    let ok = "rule r: on t deny when std.pii.contains_ssn(s ?? \"\")\n";
    assert!(compile_with(ok, &limits).is_ok(), "the standard library is not held to the user's lower limit");
    let (codes, _) = errors(compile_with("rule r: on t deny when not not not not not not not not not x > 1\n", &limits));
    assert_eq!(codes, vec!["E0502"], "one error, no follow-on errors");
}
