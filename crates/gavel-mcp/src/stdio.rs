//! The stdio transport: the MCP server runs as a child process with this process's
//! environment; the client speaks to the proxy's stdin and stdout. In: the guard, the
//! command. Out: the child's exit code once it has exited (the client closing stdin closes
//! the child's). Messages are newline-delimited JSON (MCP's stdio framing): each client line
//! is decided and forwarded or answered; each child line is copied to stdout whole, so the
//! proxy's own answers never interleave with the server's bytes.
//!
//! Plain threads, not async: a line in, a line out is all there is, and a blocking read
//! wakes sooner than a task. The runtime is only for the approval service's HTTP calls.

use crate::{Action, Guard};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;

/// Writes one whole line to stdout (the lock keeps lines whole between the two writers).
fn emit(bytes: &[u8]) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)?;
    if !bytes.ends_with(b"\n") {
        out.write_all(b"\n")?;
    }
    out.flush()
}

/// Runs `command` with `args` behind the guard until it exits.
pub fn run(guard: Arc<Guard>, runtime: &tokio::runtime::Runtime, command: &str, args: &[String]) -> Result<i32, String> {
    let mut child = Command::new(command)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start the MCP server `{command}`: {e}"))?;
    // INVARIANT: both pipes were asked for just above.
    let mut to_server = child.stdin.take().expect("stdin is piped");
    let from_server = child.stdout.take().expect("stdout is piped");

    let server_out = std::thread::spawn(move || {
        let mut reader = BufReader::new(from_server);
        let mut line = Vec::new();
        while reader.read_until(b'\n', &mut line).map(|n| n > 0).unwrap_or(false) {
            if emit(&line).is_err() {
                break;
            }
            line.clear();
        }
    });

    let handle = runtime.handle().clone();
    // The client's side: when stdin ends (or the server stops reading), the server's stdin is
    // closed by dropping it, and the server is expected to exit.
    std::thread::spawn(move || {
        let mut reader = std::io::stdin().lock();
        let mut line = Vec::new();
        while reader.read_until(b'\n', &mut line).map(|n| n > 0).unwrap_or(false) {
            let msg = trim_line_end(&line);
            if !msg.is_empty() {
                let action = handle.block_on(guard.on_message(msg));
                let sent = match action {
                    Action::Pass => to_server.write_all(&line).and_then(|()| if line.ends_with(b"\n") { Ok(()) } else { to_server.write_all(b"\n") }),
                    Action::Replace(bytes) => to_server.write_all(&bytes).and_then(|()| to_server.write_all(b"\n")),
                    Action::Answer(bytes) => emit(&bytes),
                    Action::Drop => Ok(()),
                };
                if sent.and_then(|()| to_server.flush()).is_err() {
                    break;
                }
            }
            line.clear();
        }
    });

    let _ = server_out.join();
    let status = child.wait().map_err(|e| format!("cannot wait for the MCP server: {e}"))?;
    Ok(status.code().unwrap_or(1))
}

fn trim_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}
