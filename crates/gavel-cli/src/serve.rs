//! `gavel serve` (PRODUCT.md §4.1): the decision service. In: policy paths and the service's
//! flags. Out: runs `gavel_serve::run` until SIGTERM; exit 0 after a graceful stop, 2 when
//! it cannot start (an error naming what failed on stderr).

use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// The decision service over HTTP: decisions, approvals, the decision log, hot reload
#[derive(Args)]
pub struct ServeArgs {
    /// `.pol` files or directories (read recursively)
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Address to listen on (loopback by default)
    #[arg(long, default_value = "127.0.0.1:8181")]
    listen: String,
    /// The service's config (TOML: `[[tokens]]`, `approval_ttl`)
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The decision log (JSON lines, append-only)
    #[arg(long, value_name = "FILE", default_value = "gavel-decisions.jsonl")]
    log: PathBuf,
    /// When a log line is made durable: `group` (fsync every few ms) or `always` (before answering)
    #[arg(long, value_enum, default_value_t = Sync::Group)]
    log_sync: Sync,
    /// Keep windows and approvals in an embedded store in DIR
    #[arg(long, value_name = "DIR", default_value = "gavel-state", conflicts_with = "redis")]
    state: PathBuf,
    /// Keep windows and approvals in Redis, shared by every instance (`redis://host:6379`)
    #[arg(long, value_name = "URL")]
    redis: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Sync {
    Group,
    Always,
}

pub fn serve(a: ServeArgs) -> u8 {
    let sync = match a.log_sync {
        Sync::Group => gavel_serve::LogSync::Group,
        Sync::Always => gavel_serve::LogSync::Always,
    };
    let options = gavel_serve::Options {
        listen: a.listen,
        config: a.config,
        log: a.log,
        log_sync: sync,
        state: a.state,
        redis: a.redis,
        ..gavel_serve::Options::new(a.paths)
    };
    match gavel_serve::run(options) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}
