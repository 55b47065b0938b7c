//! Human approvals of tool calls (PRODUCT.md §4.1 "Approvals"): a `require_approval`
//! decision creates a pending [`Approval`] bound to the call's [`approval_digest`]; a
//! reviewer approves or rejects it; the agent's retry of the same call consumes it, at most
//! once.
//!
//! In: approvals to create, reviewers' decisions, consume attempts, each with the caller's
//! clock `now`. Out: the approval as of `now`, or an [`ApprovalError`] saying why not. The
//! state machine is:
//!
//! ```text
//! pending ──approve──▶ approved ──consume──▶ consumed
//!    │ └────reject───▶ rejected
//!    └──(now ≥ expires_at)──▶ expired ◀──(now ≥ expires_at)── approved
//! ```
//!
//! Expiry is evaluated against `now` whenever an approval is read or changed, and persisted
//! when observed. The checks, in order: unknown id → `NotFound`; then for `decide` the
//! reviewer (its name is the approval's agent or user → `Forbidden`, also for reject; none
//! of `approvers` among its roles, when any are listed → `Forbidden`), then the status (not
//! pending → `NotPending`); for `consume` the agent, then the digest (`Forbidden`), then the
//! status (not approved → `NotPending`).
//!
//! Three stores answer identically (one conformance property test, `tests/approvals.rs`):
//! [`MemoryApprovals`] (tests, one process), [`RedbApprovals`] (a file, survives restarts)
//! and [`RedisApprovals`] (several processes; each transition one Lua script). A store that
//! fails is an [`ApprovalError::Store`]: the service then fails closed.

mod memory;
mod redb;
mod redis;

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use gavel::store::StoreError;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub use self::memory::MemoryApprovals;
pub use self::redb::RedbApprovals;
pub use self::redis::{RedisApprovals, CONSUME_SCRIPT, CREATE_SCRIPT, DECIDE_SCRIPT, GET_SCRIPT, LIST_SCRIPT, RETAIN_SECS};

/// Where an approval is in its life (PRODUCT.md §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalStatus {
    /// Waiting for a reviewer.
    Pending,
    /// Granted: the same call, retried with its id, may run once.
    Approved,
    /// Refused by a reviewer.
    Rejected,
    /// Its time to live passed before it was used.
    Expired,
    /// Used: the approved call ran (at most once).
    Consumed,
}

impl ApprovalStatus {
    /// Every status.
    pub const ALL: [ApprovalStatus; 5] = [Self::Pending, Self::Approved, Self::Rejected, Self::Expired, Self::Consumed];

    /// The name in JSON (and in Redis): `pending`, `approved`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Expired => "expired",
            Self::Consumed => "consumed",
        }
    }

    /// The status named `name`, if any.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

impl fmt::Display for ApprovalStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A call waiting for a human, bound to its exact arguments by `digest`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    /// UUIDv7.
    pub id: String,
    /// `"sha256:" + hex` ([`approval_digest`]).
    pub digest: String,
    /// Where it is in its life.
    pub status: ApprovalStatus,
    /// The tool called.
    pub tool: String,
    /// The arguments after `redact` and `set`.
    pub args: serde_json::Value,
    /// The `agent.id` that called it.
    pub agent: String,
    /// The `user.id` it was called for.
    pub user: String,
    /// The approval rules that asked.
    pub rules: Vec<String>,
    /// Roles that may grant; empty = any reviewer.
    pub approvers: Vec<String>,
    /// The approval rules' reasons.
    pub reason: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339; the approval is expired from this instant on.
    pub expires_at: String,
    /// The reviewer who approved or rejected it.
    pub decided_by: Option<String>,
    /// The reviewer's comment.
    pub comment: Option<String>,
}

impl Approval {
    /// Whether `reviewer` may approve or reject this approval (whatever its status): not its
    /// agent or user, and one of `approvers` when any are listed. For `GET /v1/approvals`.
    pub fn may_decide(&self, reviewer: &Reviewer) -> bool {
        reviewer.name != self.agent && reviewer.name != self.user && (self.approvers.is_empty() || self.approvers.iter().any(|a| reviewer.roles.contains(a)))
    }
}

/// Who approves or rejects: the reviewer token's name and roles.
#[derive(Debug, Clone, Copy)]
pub struct Reviewer<'a> {
    /// The reviewer token's name.
    pub name: &'a str,
    /// Its roles.
    pub roles: &'a [String],
}

/// Why an approval operation did not happen. `Display` is a lowercase message for the HTTP
/// body (404, 409, 403, 503).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApprovalError {
    /// No approval has this id.
    NotFound,
    /// The approval is in this status, not the one the operation needs (pending to decide,
    /// approved to consume).
    NotPending(ApprovalStatus),
    /// The reviewer may not decide it, or the call is not the one approved.
    Forbidden(String),
    /// The store failed (unreachable, a disk error, a damaged record): fail closed.
    Store(StoreError),
}

impl fmt::Display for ApprovalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound => f.write_str("no approval has this id"),
            Self::NotPending(ApprovalStatus::Pending) => f.write_str("the approval is still pending"),
            Self::NotPending(status) => write!(f, "the approval is {status}"),
            Self::Forbidden(why) => f.write_str(why),
            Self::Store(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ApprovalError {}

impl From<StoreError> for ApprovalError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

/// `"sha256:" + hex` SHA-256 of the RFC 8785 canonical JSON of `{"policy": policy_digest,
/// "tool", "args", "agent", "user"}`: what a retry must match to consume an approval.
pub fn approval_digest(policy_digest: &str, tool: &str, args: &serde_json::Value, agent: &str, user: &str) -> String {
    let hash = Sha256::digest(canonical_call(policy_digest, tool, args, agent, user));
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for b in hash {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

fn canonical_call(policy_digest: &str, tool: &str, args: &serde_json::Value, agent: &str, user: &str) -> Vec<u8> {
    let call = serde_json::json!({"policy": policy_digest, "tool": tool, "args": args, "agent": agent, "user": user});
    // INVARIANT: a `Value` always canonicalizes: its numbers are finite (serde_json has no
    // NaN or infinity), a map has no duplicate keys, and there are no raw values.
    serde_json_canonicalizer::to_vec(&call).expect("a JSON value canonicalizes")
}

/// The approval store. Every method takes the caller's clock, so expiry is the same for every
/// store and testable; `Err(Store)` means nothing is known (fail closed).
pub trait ApprovalStore: Send + Sync {
    /// Stores a new pending approval. An id that exists already, a status other than pending
    /// or an `expires_at` that is not RFC 3339 is an `Invalid` store error.
    fn create(&self, approval: &Approval) -> Result<(), ApprovalError>;

    /// The approval with its status as of `now` (a pending or approved one past expires_at is
    /// Expired, persisted as such).
    fn get(&self, id: &str, now: SystemTime) -> Result<Approval, ApprovalError>;

    /// Every approval (of `status`, when given) as of `now`, ordered by id (for UUIDv7 ids,
    /// by creation).
    fn list(&self, status: Option<ApprovalStatus>, now: SystemTime) -> Result<Vec<Approval>, ApprovalError>;

    /// approve (true) or reject (false): pending and unexpired only (else NotPending); the
    /// reviewer needs one of `approvers` (none listed: any reviewer) and may not be the
    /// approval's agent or user (Forbidden, also for reject).
    fn decide(&self, id: &str, reviewer: &Reviewer, approve: bool, comment: Option<&str>, now: SystemTime) -> Result<Approval, ApprovalError>;

    /// Atomically: approved, unexpired, same digest and agent → Consumed, returned Ok; else
    /// Err with why (NotPending(status), Forbidden("the call changed …")). At most once even
    /// under concurrent calls, across processes for the Redis store.
    fn consume(&self, id: &str, digest: &str, agent: &str, now: SystemTime) -> Result<Approval, ApprovalError>;
}

/// Microseconds since the Unix epoch (floored): the one clock every store compares, so an
/// approval expires at the same instant in Rust and in Redis's Lua (a double holds these
/// exactly until the year 2255).
pub(crate) fn micros(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
        Err(e) => {
            let before = e.duration();
            let us = i64::try_from(before.as_micros()).unwrap_or(i64::MAX);
            // Floor: a fraction of a microsecond before the epoch is one more microsecond back.
            if before.subsec_nanos() % 1000 != 0 {
                us.saturating_neg().saturating_sub(1)
            } else {
                us.saturating_neg()
            }
        }
    }
}

/// `expires_at` in [`micros`]; a stored approval whose `expires_at` does not parse is damaged.
pub(crate) fn expires_micros(approval: &Approval) -> Result<i64, StoreError> {
    let at = OffsetDateTime::parse(&approval.expires_at, &Rfc3339).map_err(|e| {
        StoreError::corrupt(format!("the approval `{}` has an `expires_at` that is not RFC 3339 (`{}`: {e}); remove it", approval.id, approval.expires_at))
    })?;
    let us = at.unix_timestamp_nanos().div_euclid(1000);
    Ok(i64::try_from(us).unwrap_or(if us < 0 { i64::MIN } else { i64::MAX }))
}

/// What a new approval must be; the `Invalid` store error otherwise.
pub(crate) fn check_new(approval: &Approval) -> Result<i64, StoreError> {
    if approval.status != ApprovalStatus::Pending || approval.decided_by.is_some() || approval.comment.is_some() {
        return Err(StoreError::invalid(format!("the approval `{}` is created {}, not pending and undecided", approval.id, approval.status)));
    }
    if approval.id.is_empty() {
        return Err(StoreError::invalid("an approval is created without an id"));
    }
    expires_micros(approval).map_err(|e| StoreError::invalid(e.message))
}

pub(crate) fn exists(id: &str) -> StoreError {
    StoreError::invalid(format!("an approval `{id}` exists already; give each approval a new id"))
}

/// The `Forbidden` reasons, shared by every store (Redis's scripts answer a code).
pub(crate) mod forbidden {
    use super::ApprovalError;

    pub fn own(name: &str) -> ApprovalError {
        ApprovalError::Forbidden(format!("`{name}` made the call that asks for this approval and may not decide it"))
    }
    pub fn role(name: &str, approvers: &[String]) -> ApprovalError {
        let roles: Vec<String> = approvers.iter().map(|r| format!("`{r}`")).collect();
        ApprovalError::Forbidden(format!("`{name}` has none of the roles that may decide this approval: {}", roles.join(", ")))
    }
    pub fn agent() -> ApprovalError {
        ApprovalError::Forbidden("the approval was asked for by another agent".to_string())
    }
    pub fn changed() -> ApprovalError {
        ApprovalError::Forbidden("the call changed since it was approved: its digest differs".to_string())
    }
}

/// Expires `approval` if `now` is past its `expires_at`; true when it changed.
pub(crate) fn observe(approval: &mut Approval, now: SystemTime) -> Result<bool, StoreError> {
    let due = micros(now) >= expires_micros(approval)?;
    if due && matches!(approval.status, ApprovalStatus::Pending | ApprovalStatus::Approved) {
        approval.status = ApprovalStatus::Expired;
        return Ok(true);
    }
    Ok(false)
}

/// The decide transition on an approval already [`observe`]d at `now`.
pub(crate) fn decide(approval: &mut Approval, reviewer: &Reviewer, approve: bool, comment: Option<&str>) -> Result<(), ApprovalError> {
    if reviewer.name == approval.agent || reviewer.name == approval.user {
        return Err(forbidden::own(reviewer.name));
    }
    if !approval.approvers.is_empty() && !approval.approvers.iter().any(|a| reviewer.roles.contains(a)) {
        return Err(forbidden::role(reviewer.name, &approval.approvers));
    }
    if approval.status != ApprovalStatus::Pending {
        return Err(ApprovalError::NotPending(approval.status));
    }
    approval.status = if approve { ApprovalStatus::Approved } else { ApprovalStatus::Rejected };
    approval.decided_by = Some(reviewer.name.to_string());
    approval.comment = comment.map(str::to_string);
    Ok(())
}

/// The consume transition on an approval already [`observe`]d at `now`.
pub(crate) fn consume(approval: &mut Approval, digest: &str, agent: &str) -> Result<(), ApprovalError> {
    if agent != approval.agent {
        return Err(forbidden::agent());
    }
    if digest != approval.digest {
        return Err(forbidden::changed());
    }
    if approval.status != ApprovalStatus::Approved {
        return Err(ApprovalError::NotPending(approval.status));
    }
    approval.status = ApprovalStatus::Consumed;
    Ok(())
}

/// A stored record that does not read back as an approval.
pub(crate) fn damaged(id: &str, what: &str, why: impl fmt::Display) -> StoreError {
    StoreError::corrupt(format!("the approval `{id}` in {what} is damaged ({why}); remove it"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// RFC 8785 by hand: keys sorted by UTF-16 code units (`B` < `a` < `z`, and U+1F600's high
    /// surrogate 0xD83D sorts before U+FB01, the reverse of code point order), numbers in ECMAScript form
    /// (`1e2` → `100`, `-0` → `0`, `1e21` → `1e+21`, `0.000001` → `0.000001`, `1e-7` → `1e-7`),
    /// strings with only `"`, `\` and control characters escaped (`é` and U+2028 kept as UTF-8).
    #[test]
    fn the_digest_hashes_the_rfc_8785_form() {
        let args: serde_json::Value = serde_json::from_str(
            r#"{"z": 1e2, "\ufb01": "fi", "\ud83d\ude00": [-0.0, 1e21, 0.000001, 1e-7, 4.50], "a\u0001": "é\u2028\"\\", "B": {"y": true, "x": null}}"#,
        )
        .unwrap();
        let canonical = canonical_call("sha256:00", "payments.transfer", &args, "bot", "ana");
        let expected = "{\"agent\":\"bot\",\"args\":{\"B\":{\"x\":null,\"y\":true},\"a\\u0001\":\"é\u{2028}\\\"\\\\\",\"z\":100,\"\u{1F600}\":[0,1e+21,0.000001,1e-7,4.5],\"\u{FB01}\":\"fi\"},\"policy\":\"sha256:00\",\"tool\":\"payments.transfer\",\"user\":\"ana\"}";
        assert_eq!(String::from_utf8(canonical).unwrap(), expected);
        // `printf '%s' "$expected" | sha256sum`, computed outside Rust.
        assert_eq!(
            approval_digest("sha256:00", "payments.transfer", &args, "bot", "ana"),
            "sha256:feed0aaf2ac2c5cdba69b0d50554678366a3c849dc1652fb81081068cb5e13f5"
        );
        // The key order of the input does not matter; a changed argument does.
        let reordered: serde_json::Value = serde_json::from_str(
            r#"{"B": {"x": null, "y": true}, "a\u0001": "é\u2028\"\\", "\ud83d\ude00": [0, 1e21, 1e-6, 1e-7, 4.5], "\ufb01": "fi", "z": 100}"#,
        )
        .unwrap();
        assert_eq!(
            approval_digest("sha256:00", "payments.transfer", &reordered, "bot", "ana"),
            approval_digest("sha256:00", "payments.transfer", &args, "bot", "ana")
        );
        let changed = serde_json::json!({"z": 101});
        assert_ne!(
            approval_digest("sha256:00", "payments.transfer", &changed, "bot", "ana"),
            approval_digest("sha256:00", "payments.transfer", &args, "bot", "ana")
        );
    }

    #[test]
    fn the_clock_is_floored_to_microseconds() {
        assert_eq!(micros(UNIX_EPOCH + Duration::from_nanos(1_999)), 1);
        assert_eq!(micros(UNIX_EPOCH - Duration::from_nanos(1)), -1);
        assert_eq!(micros(UNIX_EPOCH - Duration::from_nanos(1_000)), -1);
        let mut a = Approval {
            id: "a".into(),
            digest: "d".into(),
            status: ApprovalStatus::Pending,
            tool: "t".into(),
            args: serde_json::json!({}),
            agent: "bot".into(),
            user: "ana".into(),
            rules: vec![],
            approvers: vec![],
            reason: String::new(),
            created_at: "2030-01-01T00:00:00Z".into(),
            expires_at: "2030-01-01T00:05:00.000001500+00:00".into(),
            decided_by: None,
            comment: None,
        };
        assert_eq!(expires_micros(&a).unwrap(), 1_893_456_300_000_001);
        a.expires_at = "tomorrow".into();
        assert_eq!(expires_micros(&a).unwrap_err().kind, gavel::store::StoreErrorKind::Corrupt);
    }
}
