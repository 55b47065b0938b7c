//! `gavel hook claude-code` (PRODUCT.md §4.3): Claude Code's `PreToolUse` hook. In: policy
//! paths, the envelope flags, and one hook event on stdin (read to `max_request_bytes`). Out:
//! one `{"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision":
//! "allow" | "deny" | "ask", "permissionDecisionReason": …, "updatedInput": …}}` on stdout,
//! exit 0 (`--defer-allowed`: nothing for an unmodified allow). The event is read by
//! `gavel_adapters::claude_code`; here the decision becomes the hook's answer.
//!
//! Fail closed: Claude Code reads the JSON only on exit 0, and lets the call run on any other
//! exit code but 2, so everything that goes wrong (stdin not a `PreToolUse` event, a policy
//! that does not load, a decision that errs, even a panic) is answered on stdout as `deny`
//! with exit 0; only when stdout cannot be written does it exit 2 (Claude Code then blocks
//! the call with stderr as the reason).

use clap::{Args, Subcommand};
use gavel::decision::{Decision, Outcome};
use gavel::policy::{Backend, DecideOptions};
use serde_json::{json, Value};
use std::io::Write;
use std::path::PathBuf;

/// Answer an agent's hook: decide the tool call it is about to make
#[derive(Args)]
pub struct HookArgs {
    #[command(subcommand)]
    host: Host,
}

#[derive(Subcommand)]
enum Host {
    /// Claude Code's PreToolUse hook: the event on stdin, the permission decision on stdout
    ClaudeCode(ClaudeCodeArgs),
}

#[derive(Args)]
pub struct ClaudeCodeArgs {
    /// `.pol` files or directories (read recursively)
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Print nothing for an allow, so Claude Code's own permission rules still decide (an
    /// allow with modified arguments is answered `ask` with them)
    #[arg(long)]
    defer_allowed: bool,
    #[command(flatten)]
    envelope: crate::envelope_args::EnvelopeArgs,
    #[command(flatten)]
    load: crate::LoadArgs,
}

/// The hook's answer: `None` prints nothing (a deferred allow).
struct Answer {
    decision: &'static str,
    reason: String,
    updated_input: Option<Value>,
}

impl Answer {
    fn deny(reason: String) -> Answer {
        Answer { decision: "deny", reason, updated_input: None }
    }

    fn to_json(&self) -> Value {
        let mut out = json!({"hookEventName": "PreToolUse", "permissionDecision": self.decision, "permissionDecisionReason": self.reason});
        if let Some(input) = &self.updated_input {
            out["updatedInput"] = input.clone();
        }
        json!({"hookSpecificOutput": out})
    }
}

pub fn run(a: &HookArgs) -> u8 {
    let Host::ClaudeCode(args) = &a.host;
    let answer = match std::panic::catch_unwind(|| claude_code(args)) {
        Ok(answer) => answer,
        Err(_) => Some(Answer::deny("gavel failed while deciding this call, so it is denied".into())),
    };
    let Some(answer) = answer else { return 0 };
    let text = answer.to_json().to_string() + "\n";
    let mut stdout = std::io::stdout().lock();
    if stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()).is_err() {
        // Exit 2 is the one code on which Claude Code blocks without reading stdout.
        eprintln!("gavel: cannot write the hook's answer, so the call is blocked: {}", answer.reason);
        return 2;
    }
    0
}

/// Reads the event, decides it, and says what to answer.
fn claude_code(args: &ClaudeCodeArgs) -> Option<Answer> {
    let limits: gavel::Limits = args.load.limits.into();
    let event = match gavel::limits::read_request(std::io::stdin().lock(), &limits) {
        Ok(bytes) if bytes.len() > limits.max_request_bytes => {
            return Some(Answer::deny(format!(
                "gavel could not decide this call, so it is denied: the hook event is larger than `max_request_bytes` ({} bytes)",
                limits.max_request_bytes
            )))
        }
        Ok(bytes) => bytes,
        Err(e) => return Some(Answer::deny(format!("gavel could not decide this call, so it is denied: cannot read the hook event: {e}"))),
    };
    let envelope = match args.envelope.fields("claude-code") {
        Ok(fields) => fields,
        Err(e) => return Some(Answer::deny(format!("gavel could not decide this call, so it is denied: {e}"))),
    };
    let normalized = match gavel_adapters::claude_code::pre_tool_use(&event, &envelope) {
        Ok(n) => n,
        Err(e) => {
            let at = if e.path.is_empty() { "the hook event".to_owned() } else { format!("`{}`", e.path) };
            return Some(Answer::deny(format!("gavel could not decide this call, so it is denied: {at}: {}", e.message)));
        }
    };
    // Diagnostics go to stderr (Claude Code shows them in its debug log); the answer is deny.
    let Ok(policy) = crate::load(&args.paths, crate::Format::Text, &args.load) else {
        return Some(Answer::deny("gavel could not load its policy, so every call is denied: run `gavel check` on the hook's policy paths".into()));
    };
    // One decision per process: the interpreter answers before the JIT would have compiled.
    let Some(engine) = crate::engine(&policy, Backend::Interpreter) else {
        return Some(Answer::deny("gavel could not prepare its policy, so every call is denied".into()));
    };
    let d = engine.decide_with(&normalized.envelope, DecideOptions::default());
    answer(&d, args.defer_allowed)
}

/// The decision as the hook's answer.
fn answer(d: &Decision, defer_allowed: bool) -> Option<Answer> {
    let policy = &d.policy.name;
    let modified = if d.modifications.is_empty() { None } else { d.args.clone() };
    match d.decision {
        Outcome::Allow => {
            let reason = match &modified {
                None => format!("allowed by gavel policy `{policy}`"),
                Some(_) => format!("allowed by gavel policy `{policy}` with arguments modified by {}", rule_list(d.modifications.iter().map(|m| &m.rule))),
            };
            match (defer_allowed, modified) {
                (true, None) => None,
                (true, Some(input)) => Some(Answer { decision: "ask", reason, updated_input: Some(input) }),
                (false, updated_input) => Some(Answer { decision: "allow", reason, updated_input }),
            }
        }
        Outcome::Deny => Some(Answer::deny(format!("denied by gavel policy `{policy}`: {}", gavel_adapters::refusal::deny_reason(&d.to_json())))),
        Outcome::RequireApproval => {
            let text = gavel_adapters::refusal::approval_text(&d.to_json(), None, "Claude Code asks whether to run it");
            Some(Answer { decision: "ask", reason: format!("gavel policy `{policy}`: {text}"), updated_input: modified })
        }
    }
}

fn rule_list<'a>(rules: impl Iterator<Item = &'a String>) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for r in rules {
        if !seen.contains(&r.as_str()) {
            seen.push(r);
        }
    }
    seen.iter().map(|r| format!("`{r}`")).collect::<Vec<_>>().join(", ")
}
