//! `gavel mcp-proxy` (PRODUCT.md §4.3): an MCP proxy that decides every `tools/call`. In:
//! policy paths, the envelope flags, the log, and either `-- CMD ARGS` (stdio: the server is a
//! child) or `--upstream URL --listen ADDR` (streamable HTTP). Out: runs `gavel_mcp` until
//! the child exits (its exit code) or the process is stopped; exit 2 when it cannot start.

use clap::{Args, ValueEnum};
use std::path::PathBuf;
use std::sync::Arc;

/// An MCP proxy: decides every tools/call before it reaches the server
#[derive(Args)]
pub struct McpProxyArgs {
    /// `.pol` files or directories (read recursively)
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// The MCP server to run as a child (stdio), after `--`
    #[arg(last = true, value_name = "CMD ARGS")]
    command: Vec<String>,
    /// The upstream streamable-HTTP MCP endpoint (`http://127.0.0.1:8000/mcp`)
    #[arg(long, value_name = "URL", requires = "listen", conflicts_with = "command")]
    upstream: Option<String>,
    /// Where to listen for clients, with `--upstream`
    #[arg(long, value_name = "ADDR", requires = "upstream")]
    listen: Option<String>,
    /// The decision log (JSON lines, append-only)
    #[arg(long, value_name = "FILE", default_value = "gavel-decisions.jsonl")]
    log: PathBuf,
    /// How a refused call is answered: a tools/call `result` with `isError`, or a JSON-RPC `error` (-32001)
    #[arg(long, value_enum, default_value_t = DenyAs::Result)]
    deny_as: DenyAs,
    /// A `gavel serve` that keeps approvals (`http://127.0.0.1:8181`); its agent token in $GAVEL_TOKEN
    #[arg(long, value_name = "URL")]
    server: Option<String>,
    /// The engine that decides: the interpreter, or the JIT (each tool group compiled on its first call)
    #[arg(long, value_enum, default_value_t = crate::EngineArg::Interp)]
    engine: crate::EngineArg,
    #[command(flatten)]
    envelope: crate::envelope_args::EnvelopeArgs,
    #[command(flatten)]
    store: crate::StoreArgs,
    #[command(flatten)]
    load: crate::LoadArgs,
}

#[derive(Clone, Copy, ValueEnum)]
enum DenyAs {
    Result,
    Error,
}

pub fn run(a: &McpProxyArgs) -> u8 {
    match start(a) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}

fn start(a: &McpProxyArgs) -> Result<u8, String> {
    if a.command.is_empty() && a.upstream.is_none() {
        return Err("give the MCP server: `-- CMD ARGS` (stdio) or `--upstream URL --listen ADDR` (streamable HTTP)".into());
    }
    let envelope = a.envelope.fields("mcp-proxy")?;
    let policy =
        crate::load_showing(&a.paths, crate::Format::Text, &a.load, false).map_err(|_| "the policy does not load: run `gavel check` on it".to_string())?;
    let engine = crate::engine(&policy, a.engine.into()).and_then(|e| a.store.attach(e)).ok_or("the policy's engine could not be prepared")?;
    let log = gavel_log::DecisionLog::open(&a.log, gavel_log::LogOptions::default()).map_err(|e| e.message)?;
    let server = match &a.server {
        Some(url) => Some(gavel_mcp::ApprovalService::new(url, std::env::var("GAVEL_TOKEN").ok().filter(|t| !t.is_empty()))?),
        None => None,
    };
    let deny_as = match a.deny_as {
        DenyAs::Result => gavel_mcp::DenyAs::Result,
        DenyAs::Error => gavel_mcp::DenyAs::Error,
    };
    let guard = Arc::new(gavel_mcp::Guard::new(&policy, engine, log, gavel_mcp::GuardOptions { envelope, deny_as, server }));
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().map_err(|e| format!("cannot start the runtime: {e}"))?;
    let code = match (&a.upstream, &a.listen) {
        (Some(upstream), Some(listen)) => runtime.block_on(gavel_mcp::http::run(guard.clone(), upstream, listen)).map(|()| 0)?,
        _ => gavel_mcp::stdio::run(guard.clone(), &runtime, &a.command[0], &a.command[1..])?,
    };
    guard.log().flush().map_err(|e| e.message)?;
    Ok(code.clamp(0, 255) as u8)
}
