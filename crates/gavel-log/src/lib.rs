//! Gavel's decision log (PRODUCT.md §4.1 "Decision log"). In: `Record`s (decisions,
//! approval actions, reloads) from the service, the MCP proxy or anyone deciding calls. Out:
//! an append-only JSON-lines file, one record per line, each line carrying a CRC-32 of itself
//! (`line.rs`), written before `append` returns and fsync'd by a group-commit thread or before
//! returning (`writer.rs`); a torn tail repaired on open; rotation by size; and the readers
//! (`read`, `read_files`) that `gavel log` and `gavel replay` use. `mask_redacted` (`mask.rs`)
//! masks the values a `redact` rewrote before a request body is logged.
//!
//! The line format, durability and repair rules are in docs/decision-log.md.

mod line;
mod mask;
mod read;
mod writer;

pub use line::{decode_line, encode_line};
pub use mask::mask_redacted;
pub use read::{read, read_files, LogEntry};
pub use writer::{rotated_files, DecisionLog, Repair};

use serde::{Deserialize, Serialize};
use std::time::SystemTime;

/// When `append` makes a line durable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogSync {
    /// A background thread fdatasyncs every few milliseconds when there were writes: a crash
    /// of the process loses nothing that was appended, a crash of the machine at most the
    /// last few milliseconds.
    #[default]
    Group,
    /// `append` fdatasyncs before it returns.
    Always,
}

/// How a log is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogOptions {
    /// When lines reach the disk: grouped (the default) or before every answer.
    pub sync: LogSync,
    /// Past this size the file is rotated (renamed aside, a new one started). A single line
    /// larger than this still goes in, alone in its file.
    pub max_bytes: u64,
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions { sync: LogSync::Group, max_bytes: 64 << 20 }
    }
}

/// What failed, naming the file (lowercase, no trailing period).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogError {
    /// What failed, naming the file.
    pub message: String,
}

impl LogError {
    pub(crate) fn io(path: &std::path::Path, what: &str, e: &std::io::Error) -> LogError {
        LogError { message: format!("decision log `{}`: {what}: {e}", path.display()) }
    }
}

impl std::fmt::Display for LogError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for LogError {}

/// One line of the log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Record {
    /// `"type": "decision"`: a decision made.
    Decision(DecisionRecord),
    /// `"type": "approval"`: an action on an approval.
    Approval(ApprovalRecord),
    /// `"type": "reload"`: a policy reload.
    Reload(ReloadRecord),
}

impl Record {
    /// The record's `time` (RFC 3339, as written).
    pub fn time(&self) -> &str {
        match self {
            Record::Decision(d) => &d.time,
            Record::Approval(a) => &a.time,
            Record::Reload(r) => &r.time,
        }
    }
}

/// A decision: what was asked, what was answered, by which rules of which policy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DecisionRecord {
    /// UUIDv7.
    pub decision_id: String,
    /// RFC 3339, when decided.
    pub time: String,
    /// `{name, version, digest}`.
    #[serde(default)]
    pub policy: serde_json::Value,
    /// The decide body as received, redacted values masked (`mask_redacted`).
    pub request: serde_json::Value,
    /// `allow`, `deny` or `require_approval`.
    pub decision: String,
    /// The ids of the rules that made the outcome.
    #[serde(default)]
    pub decided_by: Vec<String>,
    /// Ids of every rule that fired (shadow rules too).
    #[serde(default)]
    pub fired: Vec<String>,
    /// The approval the request carried or created, if any.
    #[serde(default)]
    pub approval_id: Option<String>,
    /// How long deciding took, in microseconds.
    #[serde(default)]
    pub latency_us: u64,
}

/// An action on an approval.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApprovalRecord {
    /// The approval's id.
    pub approval_id: String,
    /// `created`, `approved`, `rejected`, `expired` or `consumed`.
    pub action: String,
    /// The token's name that acted (none for `created` by the service or `expired`).
    #[serde(default)]
    pub by: Option<String>,
    /// The reviewer's comment, if any.
    #[serde(default)]
    pub comment: Option<String>,
    /// RFC 3339, when it happened.
    pub time: String,
}

/// A policy reload, successful or not.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReloadRecord {
    /// The new policy compiled and now serves.
    pub ok: bool,
    /// The digest of the policy now serving.
    #[serde(default)]
    pub digest: Option<String>,
    /// Why the reload failed (the last good policy still serves).
    #[serde(default)]
    pub error: Option<String>,
    /// RFC 3339, when it happened.
    pub time: String,
}

/// `t` as RFC 3339 in UTC (`2026-11-02T14:03:07.123456Z`), the form every record's `time` is
/// written in.
pub fn timestamp(t: SystemTime) -> String {
    let t = time::OffsetDateTime::from(t);
    // Microseconds: enough to order a log, and what `latency_us` counts in.
    let t = t.replace_nanosecond(t.nanosecond() / 1000 * 1000).unwrap_or(t);
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// Reads an RFC 3339 time (a record's `time`); `None` when it is not one.
pub fn parse_time(text: &str) -> Option<SystemTime> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok().map(SystemTime::from)
}
