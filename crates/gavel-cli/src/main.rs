//! The `gavel` command line (PRODUCT.md §2): `check`, `eval`, `test`. In: arguments, policy
//! paths, request files. Out: diagnostics, decisions and test reports; exit code 0 on
//! success, 1 for a policy or test failure, 2 for usage or input-file errors.

mod bench;
mod envelope_args;
mod eval;
mod fmt;
mod hook;
mod inspect;
mod log;
mod mcp_proxy;
mod replay;
mod schema;
mod serve;
mod test;

use clap::{Args, Parser, Subcommand, ValueEnum};
use gavel::diagnostics::Diagnostics;
use gavel::policy::{Backend, Engine, Policy};
use gavel::Limits;
use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "gavel", version, about = "Decides whether an AI agent's action may run: allow, deny, require approval, or allow with modified arguments")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compile and type-check policies; report every problem found
    Check {
        /// `.pol` files or directories (read recursively)
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Fail (exit 1) on any warning too, e.g. in CI
        #[arg(long)]
        deny_warnings: bool,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Decide one request (or one per line of a `.jsonl` file or `--jsonl` input)
    Eval(eval::EvalArgs),
    /// Decisions per second and latency percentiles for each engine on your requests
    Bench {
        /// The policy: `.pol` files or directories (read recursively)
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// A request as JSON, or a `.jsonl` file of requests (used in turn)
        #[arg(long, short)]
        input: String,
        /// How many decisions to time per engine
        #[arg(long, default_value_t = 200_000)]
        iterations: usize,
        /// Also measure throughput with this many threads sharing one engine; `scaling` is the
        /// median ratio over rounds that alternate one thread and this many
        #[arg(long, default_value_t = 2)]
        threads: usize,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Run the `test` blocks of the policies, with rule coverage
    Test(test::TestArgs),
    /// Summarise decision logs: decisions by outcome, rule, tool and agent; approvals; filters
    Log(log::LogArgs),
    /// Re-decide logged requests with a policy and report every decision that would change
    Replay(replay::ReplayArgs),
    Serve(serve::ServeArgs),
    /// Tool schemas: `gavel schema import FILE` writes `tool` declarations
    #[command(subcommand)]
    Schema(schema::SchemaCommand),
    Hook(hook::HookArgs),
    McpProxy(mcp_proxy::McpProxyArgs),
    /// Rewrite policy files in the canonical layout, comments kept (`--check`: list, write nothing)
    Fmt(fmt::FmtArgs),
    /// What a policy declares: tools, rules, functions, data, windows, tests (`--format json`)
    Inspect(inspect::InspectArgs),
}

/// Where the policy's windows keep their events (default: in memory, for this run).
#[derive(Args, Clone)]
#[command(next_help_heading = "Window store")]
struct StoreArgs {
    /// Keep window events in an embedded store in DIR (redb), across runs
    #[arg(long, value_name = "DIR", conflicts_with = "redis")]
    state: Option<PathBuf>,
    /// Keep window events in Redis, shared by every process using it (`redis://host:6379`)
    #[arg(long, value_name = "URL")]
    redis: Option<String>,
}

impl StoreArgs {
    /// The engine with the store asked for (unchanged for the in-memory default, or when the
    /// policy has no windows); `None` after printing why the store could not be opened.
    fn attach(&self, engine: Engine) -> Option<Engine> {
        let specs = engine.window_specs();
        if specs.is_empty() {
            return Some(engine);
        }
        let bounds = gavel::store::Bounds::default();
        let store: Result<std::sync::Arc<dyn gavel::store::WindowStore>, gavel::store::StoreError> = match (&self.state, &self.redis) {
            (Some(dir), _) => gavel_store::RedbStore::open(dir, &specs, bounds).map(|s| std::sync::Arc::new(s) as _),
            (None, Some(url)) => gavel_store::RedisStore::connect(url, &specs, bounds).map(|s| std::sync::Arc::new(s) as _),
            (None, None) => return Some(engine),
        };
        match store {
            Ok(store) => Some(engine.with_store(store)),
            Err(e) => {
                eprintln!("error: {}", e.message);
                None
            }
        }
    }
}

/// How every command loads the policy: reference data replacements and limits.
#[derive(Args, Clone)]
#[command(next_help_heading = "Reference data")]
struct LoadArgs {
    /// Supply or replace reference data `NAME` (a `data NAME: TYPE` declaration) with a
    /// JSON file; replaces the policy folder's `data/NAME.json` whole
    #[arg(long = "data", value_name = "NAME=FILE", value_parser = parse_data_arg)]
    data: Vec<(String, PathBuf)>,
    #[command(flatten)]
    limits: LimitArgs,
}

fn parse_data_arg(arg: &str) -> Result<(String, PathBuf), String> {
    match arg.split_once('=') {
        Some((name, file)) if !name.is_empty() && !file.is_empty() => Ok((name.to_string(), PathBuf::from(file))),
        _ => Err(format!("`{arg}` is not NAME=FILE: write `--data limits=data/limits.json`")),
    }
}

/// Overrides of `gavel::Limits` (defaults in `src/limits.rs` and docs/security.md).
#[derive(Args, Clone, Copy)]
#[command(next_help_heading = "Limits")]
struct LimitArgs {
    /// Largest request, in bytes [default: 1048576]
    #[arg(long, value_name = "N")]
    max_request_bytes: Option<usize>,
    /// Deepest nesting of arrays and objects in a request [default: 64]
    #[arg(long, value_name = "N")]
    max_json_depth: Option<usize>,
    /// Longest string in a request, in bytes [default: 262144]
    #[arg(long, value_name = "N")]
    max_string_bytes: Option<usize>,
    /// Most elements of one list or object in a request [default: 10000]
    #[arg(long, value_name = "N")]
    max_list_len: Option<usize>,
    /// Largest `.pol` file, in bytes [default: 1048576]
    #[arg(long, value_name = "N")]
    max_source_bytes: Option<usize>,
    /// Largest reference data file, in bytes [default: 67108864]
    #[arg(long, value_name = "N")]
    max_data_bytes: Option<usize>,
    /// Deepest nesting of an expression as written [default: 128]
    #[arg(long, value_name = "N")]
    max_expr_depth: Option<usize>,
    /// Deepest nesting of an expression with lets and functions expanded [default: 512]
    #[arg(long, value_name = "N")]
    max_compiled_depth: Option<usize>,
    /// Most nodes of one rule with lets and functions expanded [default: 200000]
    #[arg(long, value_name = "N")]
    max_compiled_nodes: Option<usize>,
    /// Largest compiled regular expression, in bytes [default: 1048576]
    #[arg(long, value_name = "N")]
    max_regex_bytes: Option<usize>,
    /// Most work units one decision may spend (loop iterations, bytes scanned) [default: 10000000]
    #[arg(long, value_name = "N")]
    max_work: Option<usize>,
}

impl From<LimitArgs> for Limits {
    fn from(a: LimitArgs) -> Limits {
        let d = Limits::default();
        Limits {
            max_request_bytes: a.max_request_bytes.unwrap_or(d.max_request_bytes),
            max_json_depth: a.max_json_depth.unwrap_or(d.max_json_depth),
            max_string_bytes: a.max_string_bytes.unwrap_or(d.max_string_bytes),
            max_list_len: a.max_list_len.unwrap_or(d.max_list_len),
            max_source_bytes: a.max_source_bytes.unwrap_or(d.max_source_bytes),
            max_data_bytes: a.max_data_bytes.unwrap_or(d.max_data_bytes),
            max_expr_depth: a.max_expr_depth.unwrap_or(d.max_expr_depth),
            max_compiled_depth: a.max_compiled_depth.unwrap_or(d.max_compiled_depth),
            max_compiled_nodes: a.max_compiled_nodes.unwrap_or(d.max_compiled_nodes),
            max_regex_bytes: a.max_regex_bytes.unwrap_or(d.max_regex_bytes),
            max_work: a.max_work.unwrap_or(d.max_work),
        }
    }
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum Format {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum EngineArg {
    Interp,
    Jit,
}

impl From<EngineArg> for Backend {
    fn from(e: EngineArg) -> Backend {
        match e {
            EngineArg::Interp => Backend::Interpreter,
            EngineArg::Jit => Backend::Jit,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Check { paths, format, deny_warnings, load } => check(&paths, format, deny_warnings, &load),
        Command::Eval(args) => eval::run(&args),
        Command::Bench { paths, input, iterations, threads, load } => bench(&paths, &input, iterations, threads, &load),
        Command::Test(args) => test::run(&args),
        Command::Log(args) => log::run(&args),
        Command::Replay(args) => replay::run(&args),
        Command::Serve(args) => serve::serve(args),
        Command::Schema(c) => schema::run(&c),
        Command::Hook(args) => hook::run(&args),
        Command::McpProxy(args) => mcp_proxy::run(&args),
        Command::Fmt(args) => fmt::run(&args),
        Command::Inspect(args) => inspect::run(&args),
    };
    ExitCode::from(code)
}

fn print_diagnostics(d: &Diagnostics, format: Format) {
    match format {
        Format::Json => emit(&(serde_json::to_string_pretty(&d.to_json()).unwrap_or_default() + "\n")),
        Format::Text => {
            let color = std::io::stderr().is_terminal();
            for item in &d.items {
                eprint!("{}", gavel::diagnostics::render(item, &d.sources, color));
            }
        }
    }
}

/// Compiles, printing diagnostics (warnings too) in `format`; on errors, the exit code:
/// 2 when policy files could not be read, 1 when they do not compile.
fn load(paths: &[PathBuf], format: Format, how: &LoadArgs) -> Result<Policy, u8> {
    load_showing(paths, format, how, true)
}

/// `load`, showing the warnings only if `warnings` (`check` and `test` show them; `eval`
/// and `bench` decide, and leave them to those).
fn load_showing(paths: &[PathBuf], format: Format, how: &LoadArgs, warnings: bool) -> Result<Policy, u8> {
    let builder = paths.iter().fold(Policy::builder(), |b, p| b.path(p));
    let builder = how.data.iter().fold(builder, |b, (name, file)| b.data_file(name, file));
    match builder.limits(how.limits.into()).build() {
        Ok(p) => {
            let w = p.warnings();
            if warnings && !w.items.is_empty() && format == Format::Text {
                print_diagnostics(&w, Format::Text);
            }
            Ok(p)
        }
        Err(d) => {
            print_diagnostics(&d, format);
            let errors = d.items.iter().filter(|i| i.is_error()).count();
            if format == Format::Text {
                eprintln!("error: {errors} error{} in the policy set", if errors == 1 { "" } else { "s" });
            }
            Err(if d.only_file_errors() { 2 } else { 1 })
        }
    }
}

fn check(paths: &[PathBuf], format: Format, deny_warnings: bool, how: &LoadArgs) -> u8 {
    let policy = match load(paths, format, how) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let warnings = policy.warnings().items.len();
    if deny_warnings && warnings > 0 {
        match format {
            Format::Json => print_diagnostics(&policy.warnings(), Format::Json),
            Format::Text => {
                eprintln!("error: {warnings} warning{} in the policy set, and `--deny-warnings` makes them fail", if warnings == 1 { "" } else { "s" })
            }
        }
        return 1;
    }
    match format {
        Format::Json => print_diagnostics(&policy.warnings(), Format::Json),
        Format::Text => {
            eprintln!(
                "ok: policy `{}` version \"{}\": {} rules, {} tools, {} tests",
                policy.name(),
                policy.version(),
                policy.rule_count(),
                policy.tool_count(),
                policy.tests().tests.len()
            );
        }
    }
    0
}

fn engine(policy: &Policy, backend: Backend) -> Option<Engine> {
    match policy.engine(backend) {
        Ok(e) => Some(e),
        Err(e) => {
            eprintln!("error: {e}");
            None
        }
    }
}

fn bench(paths: &[PathBuf], input: &str, iterations: usize, threads: usize, how: &LoadArgs) -> u8 {
    let policy = match load_showing(paths, Format::Text, how, false) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let bytes = match read_input(input) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: cannot read the requests `{input}`: {e}");
            return 2;
        }
    };
    let requests: Vec<Vec<u8>> = if input.ends_with(".jsonl") {
        bytes.split(|b| *b == b'\n').filter(|l| !l.iter().all(u8::is_ascii_whitespace)).map(<[u8]>::to_vec).collect()
    } else {
        vec![bytes]
    };
    if requests.is_empty() || iterations == 0 {
        eprintln!("error: nothing to measure: `{input}` has no requests (or --iterations is 0)");
        return 2;
    }
    let threaded = format!("{threads} threads");
    emit(&format!("{:<8} {:>14} {:>10} {:>10} {:>10} {:>16} {:>8}\n", "engine", "decisions/s", "p50", "p99", "max", threaded, "scaling"));
    for (name, backend) in [("interp", Backend::Interpreter), ("jit", Backend::Jit)] {
        let engine = match policy.engine(backend) {
            Ok(e) => e,
            Err(e) => {
                emit(&format!("{name:<8} not measured: {e}\n"));
                continue;
            }
        };
        let bar = indicatif::ProgressBar::new(iterations as u64).with_message(name);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{msg:8} [{bar:40}] {pos}/{len}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        let r = bench::measure(&engine, &requests, iterations, |done| bar.set_position(done as u64));
        bar.finish_and_clear();
        let many = bench::scaling(&engine, &requests, iterations, threads);
        emit(&format!("{name:<8} {:>14.0} {:>10?} {:>10?} {:>10?} {:>16.0} {:>7.2}x\n", r.per_second(), r.p50, r.p99, r.max, many.per_second, many.ratio));
    }
    0
}

/// Writes to stdout; a closed stdout (e.g. piped into `head`) is not an error worth a panic.
fn emit(text: &str) {
    let _ = std::io::stdout().write_all(text.as_bytes());
}

/// The whole input (a file, or stdin for `-`), for `bench`, which measures the user's own
/// requests as they are.
fn read_input(input: &str) -> std::io::Result<Vec<u8>> {
    if input == "-" {
        let mut buf = Vec::new();
        std::io::stdin().read_to_end(&mut buf)?;
        Ok(buf)
    } else {
        std::fs::read(input)
    }
}
