//! The review routes (PRODUCT.md §4.1): list, read, approve, reject. In: the caller and the
//! approval store. Out: approvals as JSON (`gavel_store::approvals::Approval`), and each
//! approve/reject as an approval line in the log before the answer.
//!
//! Store errors map to statuses: unknown 404, not pending 409, a reviewer without the role
//! or deciding their own call 403, the store unreachable 503.

use crate::app::App;
use crate::auth::{self, Caller, Need};
use crate::{blocking, json, json_error, Answer};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use gavel_log::{ApprovalRecord, Record};
use gavel_store::approvals::{Approval, ApprovalError, ApprovalStatus, Reviewer};
use std::sync::Arc;
use std::time::SystemTime;

#[derive(serde::Deserialize)]
pub struct ListQuery {
    status: Option<String>,
}

fn status_of(text: &str) -> Option<ApprovalStatus> {
    serde_json::from_value(serde_json::Value::String(text.to_string())).ok()
}

fn store_error(e: &ApprovalError) -> Answer {
    let status = match e {
        ApprovalError::NotFound => StatusCode::NOT_FOUND,
        ApprovalError::NotPending(_) => StatusCode::CONFLICT,
        ApprovalError::Forbidden(_) => StatusCode::FORBIDDEN,
        ApprovalError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
    };
    json_error(status, &e.to_string())
}

fn to_json(a: &Approval) -> serde_json::Value {
    // INVARIANT: an approval is strings and JSON values: it serializes.
    serde_json::to_value(a).expect("an approval serializes")
}

/// Whether the reviewer may grant `a`: one of its roles (any reviewer when none are named),
/// and not their own call.
fn may_grant(a: &Approval, name: &str, roles: &[String]) -> bool {
    (a.approvers.is_empty() || a.approvers.iter().any(|r| roles.contains(r))) && name != a.agent && name != a.user
}

/// `GET /v1/approvals?status=pending`: what this reviewer may grant.
pub async fn list(State(app): State<Arc<App>>, headers: HeaderMap, Query(q): Query<ListQuery>) -> Answer {
    let caller = match auth::caller(&app.config, &headers, Need::Reviewer) {
        Ok(Caller::Token(t)) => t,
        Ok(Caller::Open) => return json_error(StatusCode::FORBIDDEN, "no reviewer token is configured"),
        Err(answer) => return answer,
    };
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => match status_of(s) {
            Some(s) => Some(s),
            None => return json_error(StatusCode::BAD_REQUEST, &format!("`status` is one of pending, approved, rejected, expired, consumed, not `{s}`")),
        },
    };
    blocking(move || match app.approvals.list(status, SystemTime::now()) {
        Ok(all) => {
            let mine: Vec<_> = all.iter().filter(|a| may_grant(a, &caller.name, &caller.roles)).map(to_json).collect();
            json(StatusCode::OK, &serde_json::json!({ "approvals": mine }))
        }
        Err(e) => store_error(&e),
    })
    .await
}

/// `GET /v1/approvals/{id}`: for the asking agent or a reviewer.
pub async fn one(State(app): State<Arc<App>>, headers: HeaderMap, Path(id): Path<String>) -> Answer {
    let caller = match auth::caller(&app.config, &headers, Need::Any) {
        Ok(c) => c,
        Err(answer) => return answer,
    };
    blocking(move || match app.approvals.get(&id, SystemTime::now()) {
        // Another agent learns nothing, not even that the id exists.
        Ok(a) if !caller.may_read(&a.agent) => store_error(&ApprovalError::NotFound),
        Ok(a) => json(StatusCode::OK, &to_json(&a)),
        Err(e) => store_error(&e),
    })
    .await
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Verdict {
    comment: Option<String>,
}

pub async fn approve(state: State<Arc<App>>, headers: HeaderMap, id: Path<String>, body: Bytes) -> Answer {
    review(state, headers, id, body, true).await
}

pub async fn reject(state: State<Arc<App>>, headers: HeaderMap, id: Path<String>, body: Bytes) -> Answer {
    review(state, headers, id, body, false).await
}

/// Approve or reject, log the action, answer the approval.
async fn review(State(app): State<Arc<App>>, headers: HeaderMap, Path(id): Path<String>, body: Bytes, approve: bool) -> Answer {
    let caller = match auth::caller(&app.config, &headers, Need::Reviewer) {
        Ok(Caller::Token(t)) => t,
        Ok(Caller::Open) => return json_error(StatusCode::FORBIDDEN, "no reviewer token is configured"),
        Err(answer) => return answer,
    };
    let verdict: Verdict = if body.iter().all(u8::is_ascii_whitespace) {
        Verdict::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => return json_error(StatusCode::BAD_REQUEST, &format!("the body is `{{\"comment\": TEXT}}` or empty: {e}")),
        }
    };
    blocking(move || {
        let now = SystemTime::now();
        let reviewer = Reviewer { name: &caller.name, roles: &caller.roles };
        match app.approvals.decide(&id, &reviewer, approve, verdict.comment.as_deref(), now) {
            Ok(a) => {
                let action = if approve { "approved" } else { "rejected" };
                let record = ApprovalRecord {
                    approval_id: a.id.clone(),
                    action: action.into(),
                    by: Some(caller.name.clone()),
                    comment: verdict.comment.clone(),
                    time: gavel_log::timestamp(now),
                };
                if let Err(e) = app.log.append(&Record::Approval(record)) {
                    // The approval is decided in the store; the answer says the log lacks it.
                    app.metrics.log_error();
                    return json_error(StatusCode::SERVICE_UNAVAILABLE, &format!("{e}; the approval was {action} but its log line is missing"));
                }
                app.metrics.approval(action);
                json(StatusCode::OK, &to_json(&a))
            }
            Err(e) => store_error(&e),
        }
    })
    .await
}
