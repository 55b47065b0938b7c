//! `gavel mcp-proxy` end to end with the official MCP Python SDK (issue 15): the real
//! `gavel` binary between a Python `mcp.Client` and a Python `MCPServer`
//! (crates/gavel-mcp/tests/python), over stdio and over streamable HTTP, and with a real
//! `gavel serve` for approvals. The client script asserts what reached the server (the
//! server records every call it gets); this test asserts the script passed.
//!
//! The SDK lives in a virtual environment made by `scripts/test-deps` (`target/mcp-venv`,
//! or the Python named by `GAVEL_MCP_PYTHON`). Without it the tests fail — in CI always, and
//! elsewhere unless `GAVEL_SKIP_MCP=1` says to skip them.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The venv's Python with the SDK, or `None` when the tests are explicitly skipped.
fn python() -> Option<PathBuf> {
    let python = std::env::var_os("GAVEL_MCP_PYTHON").map(PathBuf::from).unwrap_or_else(|| root().join("target/mcp-venv/bin/python"));
    let has_sdk = Command::new(&python).args(["-c", "import mcp"]).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
    if has_sdk {
        return Some(python);
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    if !ci && std::env::var("GAVEL_SKIP_MCP").is_ok_and(|v| v == "1") {
        eprintln!("GAVEL_SKIP_MCP=1: skipping the MCP end-to-end test");
        return None;
    }
    panic!(
        "the MCP Python SDK is not installed at `{}`: run `scripts/test-deps` (or set GAVEL_MCP_PYTHON; GAVEL_SKIP_MCP=1 skips outside CI)",
        python.display()
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// Waits until something accepts on `port` (what the child prints is not parsed).
fn wait_for(port: u16, child: &mut Child) {
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(child.try_wait().expect("the child's status").is_none(), "a process exited before listening on {port}");
        assert!(start.elapsed() < Duration::from_secs(60), "nothing listens on {port} after 60 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Kills what it holds when the test ends, passed or not.
struct Procs(Vec<Child>);

impl Drop for Procs {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn fixture(name: &str) -> PathBuf {
    root().join("crates/gavel-mcp/tests/fixtures").join(name)
}

fn script(name: &str) -> PathBuf {
    root().join("crates/gavel-mcp/tests/python").join(name)
}

/// Runs the client script; asserts it passed every check.
fn client(python: &Path, record: &Path, args: &[&str]) {
    let out = Command::new(python).arg(script("client_e2e.py")).args(args).env("BANK_RECORD", record).output().expect("the client runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && stdout.contains("all checks passed"), "client {args:?} failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
}

fn http_server(python: &Path, record: &Path, procs: &mut Procs) -> u16 {
    let port = free_port();
    let child = Command::new(python)
        .arg(script("bank_server.py"))
        .args(["http", &port.to_string()])
        .env("BANK_RECORD", record)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the server starts");
    procs.0.push(child);
    wait_for(port, procs.0.last_mut().expect("just pushed"));
    port
}

fn http_proxy(upstream: u16, log: &Path, extra: &[&str], env: &[(&str, &str)], procs: &mut Procs) -> u16 {
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gavel"));
    cmd.arg("mcp-proxy").arg(fixture("bank.pol")).arg("--log").arg(log).args(["--agent", "e2e-agent", "--user", "u1"]);
    cmd.args(["--upstream", &format!("http://127.0.0.1:{upstream}/mcp"), "--listen", &format!("127.0.0.1:{port}")]).args(extra);
    cmd.envs(env.iter().copied()).stdout(Stdio::null()).stderr(Stdio::null());
    procs.0.push(cmd.spawn().expect("the proxy starts"));
    wait_for(port, procs.0.last_mut().expect("just pushed"));
    port
}

/// The decisions of a proxy's log, in order.
fn logged(log: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(log).expect("the proxy's log");
    text.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).expect("a JSON line")["decision"].as_str().unwrap_or_default().to_string()).collect()
}

#[test]
fn stdio_through_the_proxy() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (record, log) = (dir.path().join("received.jsonl"), dir.path().join("decisions.jsonl"));
    let server = script("bank_server.py");
    let gavel = env!("CARGO_BIN_EXE_gavel");
    let policy = fixture("bank.pol");
    let args = ["stdio", gavel, policy.to_str().unwrap(), log.to_str().unwrap(), "--", python.to_str().unwrap(), server.to_str().unwrap(), "stdio"];
    // The server finds BANK_RECORD only if the proxy passes its environment on.
    client(&python, &record, &args);
    let decisions = logged(&log);
    assert_eq!(decisions, ["allow", "allow", "deny", "deny", "allow", "allow", "require_approval"], "{decisions:?}");
}

#[test]
fn streamable_http_through_the_proxy() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (record, log) = (dir.path().join("received.jsonl"), dir.path().join("decisions.jsonl"));
    let mut procs = Procs(Vec::new());
    let upstream = http_server(&python, &record, &mut procs);
    let proxy = http_proxy(upstream, &log, &[], &[], &mut procs);
    client(&python, &record, &["http", &format!("http://127.0.0.1:{proxy}/mcp")]);
    assert_eq!(logged(&log).len(), 7);
}

#[test]
fn deny_as_error_and_the_envelope_file() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (record, log, envelope) = (dir.path().join("received.jsonl"), dir.path().join("decisions.jsonl"), dir.path().join("envelope.json"));
    std::fs::write(&envelope, r#"{"workspace": "frozen"}"#).unwrap();
    let mut procs = Procs(Vec::new());
    let upstream = http_server(&python, &record, &mut procs);
    let proxy = http_proxy(upstream, &log, &["--deny-as", "error", "--envelope", envelope.to_str().unwrap()], &[], &mut procs);
    client(&python, &record, &["errors", &format!("http://127.0.0.1:{proxy}/mcp")]);
    assert_eq!(logged(&log), ["deny", "require_approval", "deny", "allow"]);
}

#[test]
fn approval_round_trip_with_gavel_serve() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (record, log) = (dir.path().join("received.jsonl"), dir.path().join("decisions.jsonl"));
    let mut procs = Procs(Vec::new());
    let serve_port = free_port();
    let serve = Command::new(env!("CARGO_BIN_EXE_gavel"))
        .arg("serve")
        .arg(fixture("bank.pol"))
        .args(["--listen", &format!("127.0.0.1:{serve_port}")])
        .arg("--config")
        .arg(fixture("serve.toml"))
        .arg("--log")
        .arg(dir.path().join("serve.jsonl"))
        .arg("--state")
        .arg(dir.path().join("state"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("gavel serve starts");
    procs.0.push(serve);
    wait_for(serve_port, procs.0.last_mut().unwrap());
    let upstream = http_server(&python, &record, &mut procs);
    let server_url = format!("http://127.0.0.1:{serve_port}");
    let proxy = http_proxy(upstream, &log, &["--server", &server_url], &[("GAVEL_TOKEN", "agent-secret-0123456789")], &mut procs);
    client(&python, &record, &["approval", &format!("http://127.0.0.1:{proxy}/mcp"), &server_url, "reviewer-secret-0123456789"]);
    assert_eq!(logged(&log), ["require_approval", "require_approval", "allow", "require_approval"]);
}
