//! `POST /v1/decide` (PRODUCT.md §4.1). In: the caller (its token), the body's bytes (or
//! that it was too large). Out: [`decide`] decides and builds the answer — the decision JSON
//! of §1 with `decision_id` and, for approvals, `approval` — and its log lines ([`Decided`]);
//! [`answer`] hands them to the group commit (`commit.rs`) and answers once its lines are in
//! the log and its window events are durable; 503 when the log (or the window store) cannot
//! keep them, since an answer that is not logged must not leave.
//!
//! A body that is not a call (not JSON, two forms, bad arguments, too large) is a `deny`
//! with an input error, decided by no rule; a retry with an `approval_id` whose decision is
//! again `require_approval` is `allow` only if the store consumes the approval (approved,
//! unexpired, same digest and agent) — at most once, the store guarantees it.

use crate::app::{App, Loaded};
use crate::auth::Caller;
use crate::commit::Fault;
use crate::{json_error, Answer};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use gavel::decision::{DecisionError, Outcome};
use gavel::policy::DecideOptions;
use gavel::Decision;
use gavel_log::{ApprovalRecord, DecisionRecord, Record};
use gavel_store::approvals::{approval_digest, Approval, ApprovalError, ApprovalStatus};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

/// What the handler read of the body.
pub enum Body {
    Bytes(Vec<u8>),
    /// Longer than the policy's `max_request_bytes`: not read further.
    TooLarge {
        limit: usize,
    },
}

/// The ids the approval rules bind a call to.
#[derive(serde::Deserialize, Default)]
struct Who {
    #[serde(default)]
    agent: Option<Id>,
    #[serde(default)]
    user: Option<Id>,
}

#[derive(serde::Deserialize, Default)]
struct Id {
    #[serde(default)]
    id: Option<Value>,
}

impl Who {
    fn of(envelope: &[u8]) -> Who {
        serde_json::from_slice(envelope).unwrap_or_default()
    }

    fn id(v: &Option<Id>) -> Option<String> {
        match v.as_ref()?.id.as_ref()? {
            Value::String(s) => Some(s.clone()),
            _ => None,
        }
    }
}

/// A decided call, not answered yet: what [`answer`] commits and sends.
pub struct Decided {
    started: Instant,
    /// The encoded log lines (approval actions, then the decision).
    lines: Vec<u8>,
    count: u64,
    /// The approval actions among them, for the metrics.
    actions: Vec<String>,
    store: Option<Arc<dyn gavel::store::WindowStore>>,
    /// The answer's JSON.
    body: Vec<u8>,
    outcome: Outcome,
    fired: Vec<String>,
}

/// Decides one call and builds its answer and log lines; an `Err` is an answer already (401,
/// 403, 503 from the approval store). Blocks only on the approval store, and on the window
/// store when `loaded.blocks`.
pub fn decide(app: &App, loaded: &Arc<Loaded>, caller: &Caller, body: Body) -> Result<Decided, Answer> {
    let started = Instant::now();
    let now = SystemTime::now();
    let raw = match &body {
        Body::Bytes(b) => Some(b.as_slice()),
        Body::TooLarge { .. } => None,
    };
    let normalized = match &body {
        Body::Bytes(b) => gavel_adapters::normalize(b),
        Body::TooLarge { limit } => {
            Err(gavel_adapters::AdapterError { path: String::new(), message: format!("the body is larger than `max_request_bytes` ({limit} bytes)") })
        }
    };
    let mut records = Vec::new();
    let mut settled: Option<Result<Value, Answer>> = None;
    let decision = match normalized {
        Ok(n) => {
            let who = Who::of(&n.envelope);
            if let Some(refused) = caller.may_speak_for(Who::id(&who.agent).as_deref()) {
                return Err(refused);
            }
            let (agent, user) = (Who::id(&who.agent).unwrap_or_default(), Who::id(&who.user).unwrap_or_default());
            // The approval is created or consumed before the windows record the decision, so
            // they count a consumed approval's call as the `allow` it became.
            loaded.engine.decide_settled(&n.envelope, DecideOptions::default(), |decision| {
                if decision.decision == Outcome::RequireApproval {
                    // The arguments the digest binds: as modified by `redact`/`set`, else as sent.
                    let args = decision.args.clone().unwrap_or_else(|| gavel_adapters::envelope_args(&n.envelope));
                    settled = Some(blocking_here(|| approve(app, loaded, decision, args, n.approval_id.as_deref(), &agent, &user, now, &mut records)));
                }
            })
        }
        Err(e) => input_error(loaded, &e),
    };
    let approval = match settled {
        Some(Ok(approval)) => Some(approval),
        Some(Err(answer)) => return Err(answer),
        None => None,
    };

    let mut out = decision.to_json();
    let decision_id = uuid::Uuid::now_v7().to_string();
    let used = approval.as_ref().and_then(|a: &Value| a.get("id")).and_then(Value::as_str).map(str::to_string);
    let fired: Vec<String> = decision.rules.iter().map(|r| r.id.clone()).collect();
    let latency_us = started.elapsed().as_micros() as u64;
    records.push(Record::Decision(DecisionRecord {
        decision_id: decision_id.clone(),
        time: gavel_log::timestamp(now),
        policy: loaded.policy_ref.clone(),
        request: logged_request(raw, &decision, &out),
        decision: decision.decision.as_str().to_string(),
        decided_by: decision.decided_by.clone(),
        fired: fired.clone(),
        approval_id: used,
        latency_us,
    }));
    if let Value::Object(map) = &mut out {
        map.insert("decision_id".into(), Value::String(decision_id));
        if let Some(a) = approval {
            map.insert("approval".into(), a);
        }
    }
    let mut lines = Vec::new();
    for r in &records {
        lines.extend_from_slice(&gavel_log::encode_line(r));
    }
    let actions = records.iter().filter_map(|r| if let Record::Approval(a) = r { Some(a.action.clone()) } else { None }).collect();
    // INVARIANT: a `serde_json::Value` always serializes.
    let body = serde_json::to_vec(&out).expect("a JSON value serializes");
    Ok(Decided { started, lines, count: records.len() as u64, actions, store: loaded.store.clone(), body, outcome: decision.decision, fired })
}

/// Commits the decided call's lines (and its window events) with the others in flight, then
/// answers it; 503 if they cannot be kept.
pub async fn answer(app: &App, decided: Decided) -> Answer {
    match app.committer.commit(decided.lines, decided.count, decided.store).await {
        Ok(()) => {}
        Err(Fault::Store(e)) => return json_error(StatusCode::SERVICE_UNAVAILABLE, &format!("{e}; the decision was not answered")),
        Err(Fault::Log(e)) => {
            app.metrics.log_error();
            return json_error(StatusCode::SERVICE_UNAVAILABLE, &format!("{e}; the decision was not answered"));
        }
    }
    for action in &decided.actions {
        app.metrics.approval(action);
    }
    app.metrics.decided(decided.outcome, &decided.fired, decided.started.elapsed().as_secs_f64());
    (StatusCode::OK, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], decided.body).into_response()
}

/// Runs blocking store work (an approval) from wherever the decision runs: on an async
/// worker of a multi-threaded runtime, its other tasks move to another thread first.
fn blocking_here<R>(f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// The `deny` for a body that is not a call: no rule decided it; the error says what is wrong.
fn input_error(loaded: &Loaded, e: &gavel_adapters::AdapterError) -> Decision {
    let r = &loaded.policy_ref;
    let text = |k: &str| r[k].as_str().unwrap_or_default().to_string();
    let policy = gavel::decision::PolicyRef { name: text("name"), version: text("version"), digest: text("digest") };
    let error = DecisionError::Input {
        path: e.path.clone(),
        expected: "a call in exactly one form (`tool` + `args`, `mcp`, `openai` or `anthropic`)".into(),
        found: e.message.clone(),
        message: e.to_string(),
    };
    Decision::by_no_rule(Outcome::Deny, String::new(), policy, vec![error])
}

/// The body as the log keeps it: parsed, with every redacted value masked: at its path in
/// the arguments, and each redacted text wherever else it occurs (also when the call was
/// denied, or inside OpenAI's string arguments: `Decision::mask`); a body that is not JSON
/// as a string; a body too large, not at all.
fn logged_request(raw: Option<&[u8]>, decision: &Decision, shown: &Value) -> Value {
    let Some(raw) = raw else { return Value::Null };
    match serde_json::from_slice::<Value>(raw) {
        Ok(mut body) => {
            gavel_adapters::with_args_mut(&mut body, |args| gavel_log::mask_redacted(args, shown));
            decision.mask.json(&mut body);
            body
        }
        // Not JSON (or numbers beyond a double): no rule read it, nothing was redacted.
        Err(_) => Value::String(String::from_utf8_lossy(raw).into_owned()),
    }
}

/// For a `require_approval` decision: consume the approval the retry names (then the
/// decision becomes `allow` by the approval rules), or create a pending one. Returns the
/// answer's `approval` object; the approval lines to log go to `records`.
#[allow(clippy::too_many_arguments)]
fn approve(
    app: &App,
    loaded: &Loaded,
    decision: &mut Decision,
    args: Value,
    approval_id: Option<&str>,
    agent: &str,
    user: &str,
    now: SystemTime,
    records: &mut Vec<Record>,
) -> Result<Value, Answer> {
    let digest = approval_digest(loaded.policy.digest(), &decision.tool, &args, agent, user);
    let time = gavel_log::timestamp(now);
    let mut retried = None;
    if let Some(id) = approval_id {
        match app.approvals.consume(id, &digest, agent, now) {
            Ok(a) => {
                records.push(Record::Approval(ApprovalRecord { approval_id: a.id.clone(), action: "consumed".into(), by: None, comment: None, time }));
                decision.decision = Outcome::Allow;
                decision.decided_by = decision.approvals.iter().map(|a| a.rule.clone()).collect();
                decision.approvals.clear();
                return Ok(json!({"id": a.id, "digest": a.digest, "status": "consumed", "expires_at": a.expires_at}));
            }
            Err(ApprovalError::Store(e)) => return Err(json_error(StatusCode::SERVICE_UNAVAILABLE, &e.message)),
            Err(e) => {
                if matches!(e, ApprovalError::NotPending(ApprovalStatus::Expired)) {
                    records.push(Record::Approval(ApprovalRecord {
                        approval_id: id.to_string(),
                        action: "expired".into(),
                        by: None,
                        comment: None,
                        time: time.clone(),
                    }));
                }
                retried = Some(json!({"id": id, "error": e.to_string()}));
            }
        }
    }
    let mut approvers: Vec<String> = Vec::new();
    for a in &decision.approvals {
        for role in &a.approvers {
            if !approvers.contains(role) {
                approvers.push(role.clone());
            }
        }
    }
    let reason = decision.approvals.iter().filter_map(|a| a.reason.clone()).collect::<Vec<_>>().join("; ");
    let expires = now + app.config.approval_ttl;
    let approval = Approval {
        id: uuid::Uuid::now_v7().to_string(),
        digest: digest.clone(),
        status: ApprovalStatus::Pending,
        tool: decision.tool.clone(),
        args,
        agent: agent.to_string(),
        user: user.to_string(),
        rules: decision.approvals.iter().map(|a| a.rule.clone()).collect(),
        approvers,
        reason,
        created_at: time.clone(),
        expires_at: gavel_log::timestamp(expires),
        decided_by: None,
        comment: None,
    };
    if let Err(e) = app.approvals.create(&approval) {
        return Err(json_error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()));
    }
    records.push(Record::Approval(ApprovalRecord { approval_id: approval.id.clone(), action: "created".into(), by: None, comment: None, time }));
    let mut out = json!({"id": approval.id, "digest": digest, "status": "pending", "expires_at": approval.expires_at});
    if let Some(r) = retried {
        out["retried"] = r;
    }
    Ok(out)
}
