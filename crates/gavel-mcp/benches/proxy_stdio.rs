//! What `gavel mcp-proxy` adds to a `tools/call` over stdio (issue 15: at most 100 µs at p50).
//! One run, one client, the same server twice: spoken to directly, and through the proxy
//! (the release `gavel` binary, the end-to-end tests' policy, which decides every call). The
//! two take turns in rounds of calls so the machine's drift hits both alike; the p50s and
//! their difference are printed.
//!
//!     cargo build --release -p gavel-cli && cargo bench -p gavel-mcp --bench proxy_stdio
//!
//! The server is this binary run with `GAVEL_BENCH_SERVER=1`: it answers every request line
//! at once, so what is measured is the transport and the proxy, not a tool's work.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Instant;

const ROUNDS: usize = 50;
const PER_ROUND: usize = 200;

fn serve() {
    let stdin = std::io::stdin().lock();
    let mut out = std::io::stdout().lock();
    for line in stdin.lines() {
        let Ok(line) = line else { break };
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(&line) else { continue };
        if msg.get("method").is_none() || msg.get("id").is_none() {
            continue;
        }
        let answer = serde_json::json!({"jsonrpc": "2.0", "id": msg["id"], "result": {"content": [{"type": "text", "text": "balance of acc-1: 1234"}], "isError": false}});
        let _ = writeln!(out, "{answer}");
        let _ = out.flush();
    }
}

struct Session {
    child: Child,
    to: ChildStdin,
    from: BufReader<ChildStdout>,
    next_id: u64,
}

impl Session {
    fn start(mut cmd: Command) -> Session {
        let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("the process starts");
        let to = child.stdin.take().expect("piped");
        let from = BufReader::new(child.stdout.take().expect("piped"));
        Session { child, to, from, next_id: 0 }
    }

    /// One `tools/call`, answered; its round-trip time in µs.
    fn call(&mut self) -> f64 {
        self.next_id += 1;
        let msg =
            format!(r#"{{"jsonrpc":"2.0","id":{},"method":"tools/call","params":{{"name":"get_balance","arguments":{{"account":"acc-1"}}}}}}"#, self.next_id);
        let mut line = String::new();
        let start = Instant::now();
        self.to.write_all(msg.as_bytes()).and_then(|()| self.to.write_all(b"\n")).and_then(|()| self.to.flush()).expect("the request is written");
        self.from.read_line(&mut line).expect("an answer");
        let took = start.elapsed().as_secs_f64() * 1e6;
        assert!(line.contains("1234"), "unexpected answer: {line}");
        took
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn p(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn main() {
    if std::env::var_os("GAVEL_BENCH_SERVER").is_some() {
        return serve();
    }
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let gavel = std::env::var_os("GAVEL_BIN").map(PathBuf::from).unwrap_or_else(|| root.join("target/release/gavel"));
    let me = std::env::current_exe().expect("this binary's path");
    let dir = std::env::temp_dir().join(format!("gavel-bench-mcp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");

    let mut direct = Command::new(&me);
    direct.env("GAVEL_BENCH_SERVER", "1");
    let mut proxied = Command::new(&gavel);
    proxied.arg("mcp-proxy").arg(root.join("crates/gavel-mcp/tests/fixtures/bank.pol")).arg("--log").arg(dir.join("decisions.jsonl")).arg("--").arg(&me);
    proxied.env("GAVEL_BENCH_SERVER", "1");
    let (mut a, mut b) = (Session::start(direct), Session::start(proxied));
    for _ in 0..500 {
        a.call();
        b.call();
    }
    let (mut d, mut x) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        d.extend((0..PER_ROUND).map(|_| a.call()));
        x.extend((0..PER_ROUND).map(|_| b.call()));
    }
    d.sort_by(f64::total_cmp);
    x.sort_by(f64::total_cmp);
    println!("tools/call over stdio, {} calls per path", d.len());
    println!("direct:  p50 {:.1} us  p90 {:.1} us  p99 {:.1} us", p(&d, 0.5), p(&d, 0.9), p(&d, 0.99));
    println!("proxied: p50 {:.1} us  p90 {:.1} us  p99 {:.1} us", p(&x, 0.5), p(&x, 0.9), p(&x, 0.99));
    println!("added by gavel mcp-proxy at p50: {:.1} us (budget 100 us)", p(&x, 0.5) - p(&d, 0.5));
    let _ = std::fs::remove_dir_all(&dir);
}
