//! Deciding one client message. In: the message's bytes. Out: an [`Action`] — pass it on as
//! it is, pass it on rewritten (a `tools/call` whose arguments `redact`/`set` changed), answer
//! it in the server's place (a refused call, a message that cannot be read), or drop it (a
//! refused `tools/call` sent without an `id`: nothing can be answered). The decision is in
//! the log before the action is returned.
//!
//! A `tools/call` is decided as the decide body `{"mcp": MESSAGE, "agent": …, "user": …,
//! …}` (the `mcp` form of `gavel_adapters`, the envelope from the flags and `--envelope`):
//! the body `gavel serve` would get, and the one the log keeps. With an approval service, a
//! `require_approval` is asked of it too, with the `approval_id` remembered for the call's
//! digest (`gavel_store::approvals::approval_digest`, what the service binds approvals to): a
//! still-pending approval is answered from the service's record without deciding again (so
//! a reviewer is not handed a new approval per retry); an approved one is consumed by the
//! service's decide, once.

use crate::jsonrpc::{self, Kind};
use crate::service::ApprovalService;
use gavel::decision::{DecisionError, Outcome, PolicyRef};
use gavel::policy::{DecideOptions, Engine, Policy};
use gavel::Decision;
use gavel_adapters::refusal;
use gavel_log::{DecisionLog, DecisionRecord, Record};
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Instant, SystemTime};

/// How a refused `tools/call` is answered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DenyAs {
    /// A `tools/call` result `{isError: true, content: [{type: "text", text: REASON}]}`: the
    /// model reads why.
    #[default]
    Result,
    /// A JSON-RPC error, code -32001, `message` REASON, `data` `{decision, approval_id}`.
    Error,
}

/// What the proxy does with one client message.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    /// Forward it, byte for byte.
    Pass,
    /// Forward this instead (the call with its modified arguments).
    Replace(Vec<u8>),
    /// Send this back to the client; the server never sees the message.
    Answer(Vec<u8>),
    /// Neither forward nor answer.
    Drop,
}

/// The proxy's settings beside the policy.
#[derive(Default)]
pub struct GuardOptions {
    /// Top-level fields of every decide body: `agent`, `user`, `workspace`, `environment` and
    /// any other declared envelope field.
    pub envelope: Map<String, Value>,
    /// How a refused call is answered (`--deny-as`).
    pub deny_as: DenyAs,
    /// A `gavel serve` that keeps approvals (`--server URL`); `None`: a call needing approval does not run.
    pub server: Option<ApprovalService>,
}

/// Decides the client's messages. `Send + Sync`: one guard serves every connection.
pub struct Guard {
    engine: Engine,
    policy: PolicyRef,
    policy_json: Value,
    /// `,"agent":…,…}`: what follows the message in a decide body.
    tail: Vec<u8>,
    agent: String,
    user: String,
    log: DecisionLog,
    deny_as: DenyAs,
    server: Option<ApprovalService>,
    /// Approval digest → the id of the approval the service made for it.
    remembered: Mutex<HashMap<String, String>>,
}

/// What was decided for one call, after the approval service if it was asked.
struct Verdict {
    outcome: Outcome,
    decided_by: Vec<String>,
    /// The arguments to forward instead of the client's (allow only).
    args: Option<Value>,
    /// Why it is refused (deny and require_approval only).
    text: String,
    approval_id: Option<String>,
}

impl Verdict {
    fn deny(text: String) -> Verdict {
        Verdict { outcome: Outcome::Deny, decided_by: Vec::new(), args: None, text, approval_id: None }
    }
}

fn id_string(envelope: &Map<String, Value>, key: &str) -> String {
    envelope.get(key).and_then(|v| v.get("id")).and_then(Value::as_str).unwrap_or_default().to_string()
}

impl Guard {
    /// A guard deciding with `engine` over `policy`, logging to `log`.
    pub fn new(policy: &Policy, engine: Engine, log: DecisionLog, options: GuardOptions) -> Guard {
        let policy_ref = policy.policy_ref().clone();
        let policy_json = json!({"name": policy_ref.name, "version": policy_ref.version, "digest": policy_ref.digest});
        let mut tail = Vec::new();
        for (key, value) in &options.envelope {
            tail.push(b',');
            // INVARIANT: strings and JSON values always serialize.
            serde_json::to_writer(&mut tail, key).expect("a string serializes");
            tail.push(b':');
            serde_json::to_writer(&mut tail, value).expect("a JSON value serializes");
        }
        tail.push(b'}');
        Guard {
            engine,
            policy: policy_ref,
            policy_json,
            tail,
            agent: id_string(&options.envelope, "agent"),
            user: id_string(&options.envelope, "user"),
            log,
            deny_as: options.deny_as,
            server: options.server,
            remembered: Mutex::new(HashMap::new()),
        }
    }

    /// The decision log (to flush it before exiting).
    pub fn log(&self) -> &DecisionLog {
        &self.log
    }

    /// Decides what to do with one client message (without its line ending).
    pub async fn on_message(&self, msg: &[u8]) -> Action {
        match jsonrpc::kind(msg) {
            Kind::Other => Action::Pass,
            Kind::ToolsCall { id } => self.call(msg, id).await,
            Kind::Invalid { code, message } => answer(&jsonrpc::error(None, code, &format!("gavel mcp-proxy: {message}"), None)),
            Kind::Batch(items) if !items.iter().any(|m| jsonrpc::is_tools_call(m)) => Action::Pass,
            Kind::Batch(items) => {
                // MCP no longer has batches; one that holds a call is refused whole rather than
                // split, so no part of it runs before the rest is decided.
                let message = "gavel mcp-proxy does not relay a JSON-RPC batch that holds a `tools/call`: send each call as its own message";
                let answers: Vec<Value> =
                    items.iter().filter_map(|m| jsonrpc::id_of(m)).map(|id| jsonrpc::error(Some(id), jsonrpc::INVALID_REQUEST, message, None)).collect();
                if answers.is_empty() {
                    Action::Drop
                } else {
                    answer(&Value::Array(answers))
                }
            }
        }
    }

    /// The decide body of `msg`: the call in the MCP form, with the envelope.
    fn body(&self, msg: &[u8], approval_id: Option<&str>) -> Vec<u8> {
        let mut body = Vec::with_capacity(msg.len() + self.tail.len() + 64);
        body.extend_from_slice(b"{\"mcp\":");
        body.extend_from_slice(msg);
        if let Some(id) = approval_id {
            body.extend_from_slice(b",\"approval_id\":");
            body.extend_from_slice(Value::String(id.to_string()).to_string().as_bytes());
        }
        body.extend_from_slice(&self.tail);
        body
    }

    async fn call(&self, msg: &[u8], id: Option<&RawValue>) -> Action {
        let started = Instant::now();
        let now = SystemTime::now();
        let body = self.body(msg, None);
        let decided = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.decide_here(&body)));
        let Ok((decision, envelope_args)) = decided else {
            let verdict = Verdict::deny("gavel failed while deciding this call, so it is denied".into());
            return self.finish(msg, id, &body, None, verdict, started, now);
        };
        let verdict = match decision.decision {
            Outcome::Allow => Verdict {
                outcome: Outcome::Allow,
                decided_by: decision.decided_by.clone(),
                args: if decision.modifications.is_empty() { None } else { decision.args.clone() },
                text: String::new(),
                approval_id: None,
            },
            Outcome::Deny => Verdict { decided_by: decision.decided_by.clone(), ..Verdict::deny(refusal::deny_reason(&decision.to_json())) },
            Outcome::RequireApproval => match &self.server {
                None => Verdict {
                    outcome: Outcome::RequireApproval,
                    decided_by: decision.decided_by.clone(),
                    args: None,
                    text: refusal::approval_text(&decision.to_json(), None, "This proxy has no approval service (`--server`), so the call cannot run"),
                    approval_id: None,
                },
                Some(server) => self.ask(server, msg, &decision, envelope_args).await,
            },
        };
        self.finish(msg, id, &body, Some(&decision), verdict, started, now)
    }

    /// The local decision, and the arguments the envelope held (what the digest binds when no
    /// rule modified them).
    fn decide_here(&self, body: &[u8]) -> (Decision, Value) {
        let normalized = match gavel_adapters::normalize(body) {
            Ok(n) => n,
            Err(e) => {
                let error = DecisionError::Input {
                    path: e.path.clone(),
                    expected: "a `tools/call` request with `params.name` and `params.arguments`".into(),
                    found: e.message.clone(),
                    message: e.to_string(),
                };
                return (Decision::by_no_rule(Outcome::Deny, String::new(), self.policy.clone(), vec![error]), json!({}));
            }
        };
        let decision = self.engine.decide_with(&normalized.envelope, DecideOptions::default());
        if let Err(e) = self.engine.sync_windows() {
            let error = DecisionError::Internal { message: format!("{}; the call is denied", e.message) };
            return (Decision::by_no_rule(Outcome::Deny, decision.tool, self.policy.clone(), vec![error]), json!({}));
        }
        (decision, gavel_adapters::envelope_args(&normalized.envelope))
    }

    /// A `require_approval` asked of the approval service.
    async fn ask(&self, server: &ApprovalService, msg: &[u8], decision: &Decision, envelope_args: Value) -> Verdict {
        let args = decision.args.clone().unwrap_or(envelope_args);
        let digest = gavel_store::approvals::approval_digest(&self.policy.digest, &decision.tool, &args, &self.agent, &self.user);
        let remembered = self.remembered.lock().unwrap_or_else(|p| p.into_inner()).get(&digest).cloned();
        let failed = |e: String| Verdict::deny(format!("the approval service could not decide this call, so it is denied: {e}"));
        if let Some(id) = &remembered {
            // Still pending: the same approval stands; asking the service to decide again would
            // create another one for the reviewer.
            if let Ok(approval) = server.approval(id).await {
                if approval["status"] == "pending" {
                    let text = refusal::approval_text(&decision.to_json(), Some(id), "");
                    return Verdict {
                        outcome: Outcome::RequireApproval,
                        decided_by: decision.decided_by.clone(),
                        args: None,
                        text,
                        approval_id: Some(id.clone()),
                    };
                }
            }
        }
        let answer = match server.decide(self.body(msg, remembered.as_deref())).await {
            Ok(a) => a,
            Err(e) => return failed(e),
        };
        let decided_by: Vec<String> = answer["decided_by"].as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_string).collect();
        let approval_id = answer["approval"]["id"].as_str().map(str::to_string);
        let mut remembered = self.remembered.lock().unwrap_or_else(|p| p.into_inner());
        match answer["decision"].as_str() {
            Some("allow") => {
                remembered.remove(&digest);
                let args = match &answer["args"] {
                    Value::Null => decision.args.clone(),
                    modified => Some(modified.clone()),
                };
                Verdict { outcome: Outcome::Allow, decided_by, args, text: String::new(), approval_id }
            }
            Some("require_approval") => {
                let Some(id) = approval_id else { return failed("its `require_approval` has no approval id".into()) };
                remembered.insert(digest, id.clone());
                let text = refusal::approval_text(&answer, Some(&id), "");
                Verdict { outcome: Outcome::RequireApproval, decided_by, args: None, text, approval_id: Some(id) }
            }
            Some("deny") => {
                remembered.remove(&digest);
                Verdict { decided_by, ..Verdict::deny(refusal::deny_reason(&answer)) }
            }
            _ => failed("its answer has no `decision`".into()),
        }
    }

    /// Logs the verdict, then says what to do.
    #[allow(clippy::too_many_arguments)]
    fn finish(
        &self,
        msg: &[u8],
        id: Option<&RawValue>,
        body: &[u8],
        decision: Option<&Decision>,
        verdict: Verdict,
        started: Instant,
        now: SystemTime,
    ) -> Action {
        let record = DecisionRecord {
            decision_id: uuid::Uuid::now_v7().to_string(),
            time: gavel_log::timestamp(now),
            policy: self.policy_json.clone(),
            request: logged_request(body, decision),
            decision: verdict.outcome.as_str().to_string(),
            decided_by: verdict.decided_by.clone(),
            fired: decision.map(|d| d.rules.iter().map(|r| r.id.clone()).collect()).unwrap_or_default(),
            approval_id: verdict.approval_id.clone(),
            latency_us: started.elapsed().as_micros() as u64,
        };
        if let Err(e) = self.log.append(&Record::Decision(record)) {
            return self.refuse(id, Outcome::Deny, &format!("gavel could not write its decision log, so the call is denied: {e}"), None);
        }
        match (verdict.outcome, verdict.args) {
            (Outcome::Allow, None) => Action::Pass,
            (Outcome::Allow, Some(args)) => match jsonrpc::with_args(msg, &args) {
                Ok(bytes) => Action::Replace(bytes),
                Err(e) => self.refuse(id, Outcome::Deny, &format!("gavel could not forward the modified call, so it is denied: {e}"), None),
            },
            (outcome, _) => self.refuse(id, outcome, &verdict.text, verdict.approval_id.as_deref()),
        }
    }

    fn refuse(&self, id: Option<&RawValue>, outcome: Outcome, text: &str, approval_id: Option<&str>) -> Action {
        if id.is_none() {
            return Action::Drop;
        }
        match self.deny_as {
            DenyAs::Result => answer(&jsonrpc::refusal(id, text)),
            DenyAs::Error => {
                let data = json!({"decision": outcome.as_str(), "approval_id": approval_id});
                answer(&jsonrpc::error(id, jsonrpc::REFUSED, text, Some(data)))
            }
        }
    }
}

fn answer(value: &Value) -> Action {
    // INVARIANT: a `serde_json::Value` always serializes.
    Action::Answer(serde_json::to_vec(value).expect("a JSON value serializes"))
}

/// The decide body as the log keeps it, every redacted value masked (as `gavel serve` logs).
fn logged_request(body: &[u8], decision: Option<&Decision>) -> Value {
    let Ok(mut value) = serde_json::from_slice::<Value>(body) else { return Value::String(String::from_utf8_lossy(body).into_owned()) };
    if let Some(d) = decision {
        if !d.modifications.is_empty() {
            let shown = d.to_json();
            gavel_adapters::with_args_mut(&mut value, |args| gavel_log::mask_redacted(args, &shown));
        }
        d.mask.json(&mut value);
    }
    value
}
