//! The compile driver. In: policy paths (files and folders) or in-memory sources, and the
//! `Limits`. Out: a `Compiled` policy set (program, bytecode, decoder, decision templates,
//! tests, warnings, digest) or every diagnostic. It reads the files (`files.rs`), then runs
//! the pipeline syntax → check → ir passes → vm on a thread with a large stack, so the
//! nesting bounds hold whatever the caller's stack.

mod data;
mod files;

pub(crate) use data::{read_data, DataOrigin, DataSet};
pub(crate) use files::read_paths;

use crate::check::{self, ParsedFile, TestSuite};
use crate::decision::{self, PolicyRef, SpanJson};
use crate::diagnostics::{self as diag, Diagnostic, Diagnostics};
use crate::input::Decoder;
use crate::ir::{self, Program};
use crate::limits::Limits;
use crate::span::{FileId, SourceMap, Span};
use crate::vm::{self, Module};
use std::path::PathBuf;

/// One policy source to compile: its name in diagnostics, its text, and the path it was
/// read from (`None` for in-memory sources).
pub(crate) struct SourceFile {
    pub(crate) name: String,
    pub(crate) text: String,
    pub(crate) path: Option<PathBuf>,
}

/// A compiled policy set: everything deciding needs, built once. `Policy` shares it.
pub(crate) struct Compiled {
    pub(crate) program: Program,
    pub(crate) module: Module,
    pub(crate) decoder: Decoder,
    pub(crate) sources: SourceMap,
    /// The path each source file was read from (`None` for in-memory and stdlib sources).
    pub(crate) paths: Vec<Option<PathBuf>>,
    /// The policy set's own `.pol` files (not the stdlib's, not data files), in the order given.
    pub(crate) policy_files: Vec<FileId>,
    pub(crate) policy_ref: PolicyRef,
    /// Each rule's span with lines and columns, resolved once for every decision to copy.
    pub(crate) rule_spans: Vec<SpanJson>,
    /// The policy's pieces of decision JSON, for `Engine::write_decision` (`None`: it
    /// always writes the full decision).
    pub(crate) template: Option<decision::DecisionTemplate>,
    pub(crate) tests: TestSuite,
    pub(crate) warnings: Vec<Diagnostic>,
    /// The machine code of the conditions: prepared on the first `engine(Backend::Jit)`,
    /// each tool group compiled on its first request, shared by every JIT engine.
    pub(crate) jit: crate::engine::JitSlot,
    pub(crate) limits: Limits,
}

/// Stack for compiling: the compiler's recursive stages are bounded by the nesting limits,
/// and this makes the bound independent of the caller's thread (2 MiB for test threads).
const COMPILE_STACK_BYTES: usize = 256 << 20;

/// One compilation, run on a thread with `COMPILE_STACK_BYTES` of stack.
type CompileJob = Box<dyn FnOnce() -> Result<Compiled, Diagnostics> + Send>;

/// A compile thread kept between compilations: starting and ending a thread with a big
/// stack costs about as much as compiling a small policy set. One compilation at a time
/// uses it; others meanwhile get a thread of their own, so they still run in parallel.
static COMPILE_WORKER: std::sync::Mutex<Option<CompileWorker>> = std::sync::Mutex::new(None);

struct CompileWorker {
    jobs: std::sync::mpsc::Sender<CompileJob>,
    results: std::sync::mpsc::Receiver<Result<Compiled, Diagnostics>>,
    /// The process that started the thread: a child made by `fork` has the channels but
    /// not the thread, and would wait forever for its answer.
    process: u32,
}

impl CompileWorker {
    /// `None` if no thread can be started.
    fn spawn() -> Option<CompileWorker> {
        let (jobs, job_rx) = std::sync::mpsc::channel::<CompileJob>();
        let (result_tx, results) = std::sync::mpsc::channel();
        let serve = move || {
            for job in job_rx {
                // A panicking compilation is reported, and the thread serves the next one.
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).unwrap_or_else(|_| Err(internal_compile_error()));
                if result_tx.send(result).is_err() {
                    break;
                }
            }
        };
        std::thread::Builder::new().name("gavel-compile".into()).stack_size(COMPILE_STACK_BYTES).spawn(serve).ok()?;
        Some(CompileWorker { jobs, results, process: std::process::id() })
    }
}

/// Compiles on a thread with `COMPILE_STACK_BYTES` of stack: the kept compile thread when
/// it is free, a thread of its own otherwise; on this thread if no thread can be started.
pub(crate) fn compile(files: Vec<SourceFile>, data: DataSet, limits: &Limits) -> Result<Compiled, Diagnostics> {
    let limits = *limits;
    let job: CompileJob = Box::new(move || compile_here(files, data, &limits));
    match COMPILE_WORKER.try_lock() {
        Ok(mut worker) => compile_on_worker(&mut worker, job),
        // Busy with another compilation (or poisoned, which the kept thread never causes).
        Err(_) => compile_on_new_thread(job),
    }
}

fn compile_on_worker(worker: &mut Option<CompileWorker>, job: CompileJob) -> Result<Compiled, Diagnostics> {
    if worker.as_ref().is_none_or(|w| w.process != std::process::id()) {
        *worker = CompileWorker::spawn();
    }
    let Some(w) = worker.as_ref() else { return compile_on_new_thread(job) };
    if let Err(std::sync::mpsc::SendError(job)) = w.jobs.send(job) {
        // The thread is gone: forget it, start another next time.
        *worker = None;
        return compile_on_new_thread(job);
    }
    match w.results.recv() {
        Ok(result) => result,
        Err(_) => {
            *worker = None;
            Err(internal_compile_error())
        }
    }
}

/// Runs `job` on a thread of its own; on this thread if no thread can be started.
fn compile_on_new_thread(job: CompileJob) -> Result<Compiled, Diagnostics> {
    let shared = std::sync::Mutex::new(Some(job));
    let take = || shared.lock().ok().and_then(|mut j| j.take());
    let spawned = std::thread::scope(|s| {
        let worker = std::thread::Builder::new().stack_size(COMPILE_STACK_BYTES).spawn_scoped(s, || take().map(|job| job()));
        worker.ok().map(|w| w.join())
    });
    match spawned {
        Some(Ok(Some(result))) => result,
        // The compiler panicked: report it rather than unwinding into the caller.
        Some(Ok(None) | Err(_)) => Err(internal_compile_error()),
        None => take().map_or_else(|| Err(internal_compile_error()), |job| job()),
    }
}

/// The standard library's ASTs, parsed once per process with file ids `0..SOURCES.len()`
/// (it is trusted and fixed, so the default limits apply).
fn stdlib_asts() -> &'static [crate::syntax::ast::File] {
    static ASTS: std::sync::OnceLock<Vec<crate::syntax::ast::File>> = std::sync::OnceLock::new();
    ASTS.get_or_init(|| {
        crate::stdlib::SOURCES.iter().enumerate().map(|(i, (_, text))| crate::syntax::parse_with(FileId(i as u32), text, &Limits::default()).0).collect()
    })
}

fn internal_compile_error() -> Diagnostics {
    let mut sources = SourceMap::new();
    let id = sources.add("<compiler>".to_string(), "");
    Diagnostics { items: vec![diag::internal_compiler_error(Span::new(id, 0, 0))], sources }
}

fn compile_here(files: Vec<SourceFile>, data: DataSet, limits: &Limits) -> Result<Compiled, Diagnostics> {
    let mut sources = SourceMap::new();
    let mut paths = Vec::new();
    let mut parsed = Vec::new();
    let mut diags = Vec::new();
    // The standard library comes first, so its files have the same ids in every compilation
    // and are parsed once per process.
    for (module, text) in crate::stdlib::SOURCES {
        let id = sources.add(format!("std/{module}.pol"), *text);
        paths.push(None);
        parsed.push((id, Some(module.to_string())));
    }
    for SourceFile { name, text, path } in files {
        // Shown by the path it was read from, as given, so a terminal opens it from where the
        // command ran; the name (relative to the policy's root) stays what the digest hashes.
        let shown = path.as_ref().map_or_else(|| name.clone(), |p| p.display().to_string());
        let id = sources.add_file(crate::span::SourceFile::shown_as(name, shown, text));
        paths.push(path);
        parsed.push((id, None));
    }
    // Data files are sources too, so a diagnostic can name and point into one.
    let data_files = check::DataFiles {
        files: data
            .files
            .into_iter()
            .map(|f| {
                paths.push(None);
                check::DataSource { file: sources.add(f.shown, f.text), name: f.name }
            })
            .collect(),
        folder: data.folder,
    };
    let stdlib = stdlib_asts();
    let user_asts: Vec<crate::syntax::ast::File> = parsed
        .iter()
        .filter(|(_, module)| module.is_none())
        .map(|(id, _)| {
            let text = &sources.get(*id).text;
            if text.len() > limits.max_source_bytes {
                diags.push(diag::source_too_large(Span::new(*id, 0, 0), text.len(), limits.max_source_bytes));
                return crate::syntax::ast::File::default();
            }
            let (ast, mut d) = crate::syntax::parse_with(*id, text, limits);
            diags.append(&mut d);
            ast
        })
        .collect();
    // The policy's identity: its sources but the files holding only fixtures and tests, and
    // its data (PRODUCT.md §1).
    let digested: Vec<(&str, &str)> = parsed
        .iter()
        .filter(|(_, module)| module.is_none())
        .zip(&user_asts)
        .filter(|(_, ast)| !only_tests(ast))
        .map(|((id, _), _)| (sources.get(*id).name.as_str(), sources.get(*id).text.as_str()))
        .collect();
    let data_digested: Vec<(&str, &str)> = data_files.files.iter().map(|d| (d.name.as_str(), sources.get(d.file).text.as_str())).collect();
    let digest = files::digest(&digested, &data_digested);
    let asts: Vec<&crate::syntax::ast::File> = stdlib.iter().chain(&user_asts).collect();
    // A file refused by a limit is left empty; checking it would only add follow-on errors.
    if diags.iter().any(|d| d.is_error() && d.code.starts_with("E05")) {
        return Err(Diagnostics { items: diags, sources });
    }
    let files: Vec<ParsedFile<'_>> = parsed.iter().zip(asts).map(|((id, module), ast)| ParsedFile { id: *id, ast, stdlib: module.clone() }).collect();
    let (checked, mut check_diags) = check::check_with(&files, &sources, limits, &data_files);
    diags.append(&mut check_diags);
    let checked = match checked {
        Some(c) if !diags.iter().any(Diagnostic::is_error) => c,
        _ => return Err(Diagnostics { items: diags, sources }),
    };
    let mut program = checked.program;
    ir::passes::run_all(&mut program);
    let module = vm::compile(&program);
    let policy_files = parsed.iter().filter(|(_, module)| module.is_none()).map(|(id, _)| *id).collect();
    let decoder = Decoder::new(&program.schema, &program.slots);
    let rule_spans: Vec<SpanJson> = program.rules.iter().map(|r| SpanJson::new(r.span, &sources)).collect();
    let policy_ref = PolicyRef { name: program.info.name.clone(), version: program.info.version.clone(), digest };
    let template = decision::DecisionTemplate::new(&program, &rule_spans, &policy_ref);
    Ok(Compiled {
        program,
        module,
        decoder,
        sources,
        paths,
        policy_files,
        policy_ref,
        rule_spans,
        template,
        tests: checked.tests,
        warnings: diags,
        limits: *limits,
        jit: Default::default(),
    })
}

/// Whether a file holds only `fixture`s and `test`s (and at least one): it is left out of
/// the digest, so adding a test does not change the policy's identity.
fn only_tests(file: &crate::syntax::ast::File) -> bool {
    use crate::syntax::ast::Item;
    !file.items.is_empty() && file.items.iter().all(|i| matches!(i, Item::Fixture(_) | Item::Test(_)))
}
