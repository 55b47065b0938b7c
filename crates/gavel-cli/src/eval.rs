//! `gavel eval`: decide one request, or a batch of JSON lines. In: the policy, a request
//! file or stdin (`-`), a `.jsonl`/`.ndjson` file or `--jsonl` stdin of one request per line.
//! Out: one decision (JSON or text) per request on stdout, in input order; for a batch, a
//! summary of the outcomes on stderr. Exit 0, or 1 when `--fail-on` matched a decision, 2
//! for input-file and store errors.

use crate::{emit, engine, load_showing, EngineArg, Format, LoadArgs, StoreArgs};
use clap::{Args, ValueEnum};
use gavel::policy::{DecideOptions, Engine, Policy};
use gavel::{Limits, Outcome, WrittenDecision};
use std::io::{BufRead, Write};
use std::path::PathBuf;

#[derive(Args)]
pub struct EvalArgs {
    /// The policy: `.pol` files or directories (read recursively)
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// The request as JSON; `-` reads stdin; a `.jsonl` or `.ndjson` file holds one request per line
    #[arg(long, short)]
    input: String,
    /// Read the input as JSON lines, one request per line, whatever its name (`--input - --jsonl`)
    #[arg(long)]
    jsonl: bool,
    #[arg(long, value_enum, default_value_t = EngineArg::Interp)]
    engine: EngineArg,
    /// Attach a trace of each fired rule's sub-expressions and their values
    #[arg(long)]
    explain: bool,
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
    /// Exit 1 when a decision is a `deny` (`deny`), or anything but an allow (`approval`:
    /// a `require_approval` or a `deny`); the decisions are all printed first
    #[arg(long, value_enum, value_name = "OUTCOME")]
    fail_on: Option<FailOn>,
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    load: LoadArgs,
}

/// Which decisions make `gavel eval` exit 1, for scripts.
#[derive(Clone, Copy, ValueEnum)]
enum FailOn {
    Deny,
    Approval,
}

impl FailOn {
    fn matches(self, outcome: Outcome) -> bool {
        match self {
            FailOn::Deny => outcome == Outcome::Deny,
            FailOn::Approval => outcome != Outcome::Allow,
        }
    }
}

pub fn run(args: &EvalArgs) -> u8 {
    let policy = match load_showing(&args.paths, Format::Text, &args.load, false) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let Some(engine) = engine(&policy, args.engine.into()).and_then(|e| args.store.attach(e)) else { return 2 };
    let options = DecideOptions { explain: args.explain || args.format == Format::Text, now: None };
    let input = args.input.as_str();
    if args.jsonl || input.ends_with(".jsonl") || input.ends_with(".ndjson") {
        return eval_lines(&policy, &engine, input, options, args.format, args.fail_on);
    }
    let bytes = match read_request(input, policy.limits()) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: cannot read the request `{input}`: {e}");
            return 2;
        }
    };
    let d = engine.decide_with(&bytes, options);
    if let Err(e) = engine.sync_windows() {
        return store_failed(&e);
    }
    match args.format {
        Format::Json => emit(&(serde_json::to_string_pretty(&d.to_json()).unwrap_or_default() + "\n")),
        Format::Text => emit(&d.explain(&policy)),
    }
    u8::from(args.fail_on.is_some_and(|f| f.matches(d.decision)))
}

/// Decides one request per line, printing one decision per line, streaming: always exactly
/// one output line per input line (a blank line is an invalid request, and is answered), so
/// a host can match answers to requests by position. A decision with errors also names its
/// line (`"input_line": N`, or `input line N:` in text), since the position inside the line
/// an error message gives is always line 1.
fn eval_lines(policy: &Policy, engine: &Engine, input: &str, options: DecideOptions, format: Format, fail_on: Option<FailOn>) -> u8 {
    let reader: Box<dyn BufRead> = if input == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        match std::fs::File::open(input) {
            Ok(f) => Box::new(std::io::BufReader::new(f)),
            Err(e) => {
                eprintln!("error: cannot read the requests `{input}`: {e}");
                return 2;
            }
        }
    };
    let mut summary = Summary::default();
    let code = decide_lines(policy, engine, reader, input, options, format, &mut summary);
    eprintln!("{}", summary.line());
    match code {
        0 if fail_on.is_some_and(|f| summary.any(|o| f.matches(o))) => 1,
        code => code,
    }
}

fn decide_lines(policy: &Policy, engine: &Engine, mut reader: impl BufRead, input: &str, options: DecideOptions, format: Format, summary: &mut Summary) -> u8 {
    let stdout = std::io::stdout();
    let mut stdout = stdout.lock();
    // Decisions wait here until the window store has made what they recorded durable
    // (`Batch::flush`): a decision is printed only once its events would survive a crash.
    let mut out = Batch { engine, pending: Vec::new() };
    // One line buffer for the whole file: reading a line allocates nothing once warm; the
    // same for the decision's JSON.
    let mut line = Vec::new();
    let mut decision = Vec::new();
    let max = policy.limits().max_request_bytes;
    for n in 1.. {
        let read = match read_line_bounded(&mut reader, &mut line, max) {
            Ok(Line::End) => break,
            Ok(read) => read,
            Err(e) => {
                eprintln!("error: reading `{input}` line {n}: {e}");
                return 2;
            }
        };
        let written = match format {
            Format::Json => {
                decision.clear();
                let written = engine.write_decision(&line, options, &mut decision);
                if written.has_errors {
                    name_input_line(&mut decision, n);
                }
                summary.count(written);
                decision.push(b'\n');
                out.pending.extend_from_slice(&decision);
                out.flush_if_full(&mut stdout)
            }
            Format::Text => {
                let d = engine.decide_with(&line, options);
                summary.count(WrittenDecision { outcome: d.decision, has_errors: !d.errors.is_empty() });
                let prefix = if d.errors.is_empty() { String::new() } else { format!("input line {n}: ") };
                let _ = writeln!(out.pending, "{prefix}{}", d.explain(policy));
                out.flush_if_full(&mut stdout)
            }
        };
        match written {
            Ok(()) => {}
            Err(Flush::Closed) => return 0, // stdout closed (e.g. piped into `head`): stop quietly
            Err(Flush::Store(e)) => return store_failed(&e),
        }
        if let Line::TooLong = read {
            // Answered above (deny, naming the limit); then reading stops: the rest of the
            // line may never end (`/dev/zero`), and the lines after it would be guesses.
            if let Err(Flush::Store(e)) = out.flush(&mut stdout) {
                return store_failed(&e);
            }
            eprintln!("error: `{input}` line {n} is longer than `max_request_bytes` ({max} bytes): it is denied and the lines after it are not read; raise the limit with `--max-request-bytes N`");
            return 2;
        }
    }
    match out.flush(&mut stdout) {
        Err(Flush::Store(e)) => store_failed(&e),
        _ => 0,
    }
}

/// Adds `"input_line": n` as the last key of the decision object just written.
fn name_input_line(decision: &mut Vec<u8>, n: usize) {
    // The writer always ends a decision with its object's closing brace.
    if decision.last() == Some(&b'}') {
        decision.pop();
        let _ = write!(decision, ",\"input_line\":{n}}}");
    }
}

/// The outcomes of a batch, for the line on stderr.
#[derive(Default)]
struct Summary {
    allow: usize,
    deny: usize,
    require_approval: usize,
    /// Decisions that list errors (counted in their outcome too).
    errors: usize,
}

impl Summary {
    fn count(&mut self, w: WrittenDecision) {
        match w.outcome {
            Outcome::Allow => self.allow += 1,
            Outcome::Deny => self.deny += 1,
            Outcome::RequireApproval => self.require_approval += 1,
        }
        self.errors += usize::from(w.has_errors);
    }

    fn any(&self, matches: impl Fn(Outcome) -> bool) -> bool {
        [(Outcome::Allow, self.allow), (Outcome::Deny, self.deny), (Outcome::RequireApproval, self.require_approval)]
            .into_iter()
            .any(|(o, n)| n > 0 && matches(o))
    }

    fn line(&self) -> String {
        let total = self.allow + self.deny + self.require_approval;
        format!(
            "{total} decision{}: {} allow, {} deny, {} require_approval ({} with errors)",
            if total == 1 { "" } else { "s" },
            self.allow,
            self.deny,
            self.require_approval,
            self.errors
        )
    }
}

/// Decisions of a batch not yet printed.
struct Batch<'e> {
    engine: &'e Engine,
    pending: Vec<u8>,
}

enum Flush {
    /// Stdout is closed.
    Closed,
    /// The window store could not make the batch's events durable.
    Store(gavel::store::StoreError),
}

impl Batch<'_> {
    /// Enough to make one durable commit of the store cover many decisions.
    const SIZE: usize = 64 << 10;

    fn flush_if_full(&mut self, stdout: &mut impl Write) -> Result<(), Flush> {
        if self.pending.len() >= Self::SIZE {
            self.flush(stdout)?;
        }
        Ok(())
    }

    /// Makes the windows' events durable, then prints the decisions that recorded them.
    fn flush(&mut self, stdout: &mut impl Write) -> Result<(), Flush> {
        self.engine.sync_windows().map_err(Flush::Store)?;
        stdout.write_all(&self.pending).and_then(|()| stdout.flush()).map_err(|_| Flush::Closed)?;
        self.pending.clear();
        Ok(())
    }
}

/// The window store failed: the decisions it could not keep are not printed.
fn store_failed(e: &gavel::store::StoreError) -> u8 {
    eprintln!("error: {}; the decisions since the last one printed were not kept and are not printed", e.message);
    2
}

/// What `read_line_bounded` found.
enum Line {
    /// A line, without its `\n` (or `\r\n`).
    Read,
    /// A line longer than the limit: its first `max + 1` bytes, and the reader in the middle
    /// of it.
    TooLong,
    /// The end of the input.
    End,
}

/// Reads the next line into `line`, but never more than `max + 1` bytes of it: a longer line
/// is refused by `max_request_bytes` like any request, without reading all of it.
fn read_line_bounded(reader: &mut impl BufRead, line: &mut Vec<u8>, max: usize) -> std::io::Result<Line> {
    line.clear();
    let mut any = false;
    loop {
        let chunk = match reader.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            break;
        }
        any = true;
        let (taken, done) = match memchr::memchr(b'\n', chunk) {
            Some(i) => (i, true),
            None => (chunk.len(), false),
        };
        let room = (max + 1).saturating_sub(line.len());
        if taken > room {
            line.extend_from_slice(&chunk[..room]);
            return Ok(Line::TooLong);
        }
        line.extend_from_slice(&chunk[..taken]);
        reader.consume(if done { taken + 1 } else { taken });
        if done {
            break;
        }
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    if line.len() > max {
        return Ok(Line::TooLong);
    }
    Ok(if any { Line::Read } else { Line::End })
}

/// One request (a file, or stdin for `-`), read to one byte past `max_request_bytes`.
fn read_request(input: &str, limits: &Limits) -> std::io::Result<Vec<u8>> {
    if input == "-" {
        gavel::limits::read_request(std::io::stdin().lock(), limits)
    } else {
        gavel::limits::read_request(std::fs::File::open(input)?, limits)
    }
}
