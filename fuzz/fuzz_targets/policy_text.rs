//! Policy text → parse + check + IR passes + bytecode, and for policies that compile, a
//! decision. In: arbitrary bytes (lossily made UTF-8). Out: nothing; a panic, a stack
//! overflow, a hang or unbounded memory is a finding. The standard library is parsed once
//! (parsing it for every input would take most of the time); policies that check cleanly
//! then also go through the public `Policy` API and decide a request.
#![no_main]

use gavel::check::{self, ParsedFile};
use gavel::span::{FileId, SourceMap};
use gavel::syntax::ast;
use gavel::Limits;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn limits() -> Limits {
    Limits { max_compiled_nodes: 20_000, ..Limits::default() }
}

/// The stdlib's files, parsed once with ids 1.. (the fuzzed file is always id 0).
fn stdlib() -> &'static Vec<(String, &'static str, ast::File)> {
    static STD: OnceLock<Vec<(String, &'static str, ast::File)>> = OnceLock::new();
    STD.get_or_init(|| {
        gavel::stdlib::SOURCES
            .iter()
            .enumerate()
            .map(|(i, (module, text))| {
                let (file, diags) = gavel::syntax::parse(FileId(i as u32 + 1), text);
                assert!(diags.is_empty(), "the standard library parses");
                (module.to_string(), *text, file)
            })
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let limits = limits();
    if text.len() > limits.max_source_bytes {
        return;
    }
    let mut sources = SourceMap::new();
    let id = sources.add("fuzz.pol", text.as_ref());
    for (module, std_text, _) in stdlib() {
        sources.add(format!("std/{module}.pol"), *std_text);
    }
    let (file, mut diags) = gavel::syntax::parse_with(id, &text, &limits);
    let mut files = vec![ParsedFile { id, ast: &file, stdlib: None }];
    files.extend(stdlib().iter().enumerate().map(|(i, (module, _, ast))| ParsedFile { id: FileId(i as u32 + 1), ast, stdlib: Some(module.clone()) }));
    let (checked, check_diags) = check::check_with(&files, &sources, &limits, &check::DataFiles::default());
    diags.extend(check_diags);
    let Some(checked) = checked.filter(|_| !diags.iter().any(|d| d.is_error())) else { return };
    let mut program = checked.program;
    gavel::internals::passes::run_all(&mut program);
    let _ = gavel::internals::compile_bytecode(&program);

    // The whole public path, and a decision for the first declared tool.
    let Ok(policy) = gavel::Policy::from_sources_with(&[("fuzz.pol", &text)], &limits) else {
        panic!("checked cleanly above but does not compile through the API");
    };
    let engine = policy.engine(gavel::Backend::Interpreter).expect("the interpreter is always available");
    let tool = policy.program().schema.tools.keys().next().cloned().unwrap_or_default();
    let request = serde_json::json!({ "tool": tool, "args": {} }).to_string();
    let d = engine.decide_with(request.as_bytes(), gavel::DecideOptions { explain: true, now: Some(std::time::UNIX_EPOCH) });
    let _ = d.to_json();
});
