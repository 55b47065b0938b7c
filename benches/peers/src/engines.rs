//! Each engine's side of the comparison. In: the rules (`RuleSpec`) and request bytes. Out:
//! the policy written in that engine's language, the engine compiled from it, its input in
//! the engine's own value type (for eval-only timing) or built from JSON bytes (end to end),
//! and its answer reduced to an `Answer` so the engines can be checked against each other.

use crate::scenario::{Cond, RuleSpec};
use crate::Answer;
use std::str::FromStr;
use std::sync::Arc;

// ---------------------------------------------------------------------------------------
// Gavel

/// The evaluation time given to Gavel (no rule reads `time`; this keeps the clock out of the
/// timed path, as the other engines do not read one).
pub const NOW: u64 = 1_780_000_000;

/// `NOW` (seconds since the epoch) as Gavel takes it.
pub fn now() -> std::time::SystemTime {
    std::time::UNIX_EPOCH + std::time::Duration::from_secs(NOW)
}

pub fn gavel_options() -> gavel::DecideOptions {
    gavel::DecideOptions { explain: false, now: Some(now()) }
}

/// The rules as a Gavel policy set: one `tool` declaration per tool, one rule per line.
pub fn gavel_source(rules: &[RuleSpec], tools: &[String]) -> String {
    let mut s = String::from("policy peers\nversion \"1\"\ndefault allow\n\n");
    s.push_str("type Recipient = { id: string, external: bool, country: string }\n\n");
    for t in tools {
        s.push_str(&format!("tool {t}(amount: number, currency: string, recipient: Recipient, memo: string)\n"));
    }
    s.push('\n');
    for r in rules {
        let cond = match &r.cond {
            Cond::ExternalAbove(n) => format!("amount > {n} and recipient.external"),
            Cond::CountryAbove(n, c) => format!("amount > {n} and recipient.country == {c:?}"),
            Cond::MemoContains(t) => format!("memo.contains({t:?})"),
        };
        s.push_str(&format!("rule {}: on {} deny when {cond}\n", r.id, r.tool));
    }
    s
}

pub fn gavel_compile(source: &str) -> Result<gavel::Policy, String> {
    gavel::Policy::from_sources(&[("peers.pol", source)]).map_err(|d| format!("{:?}", d.items))
}

pub fn gavel_answer(d: &gavel::Decision) -> Answer {
    Answer::new(d.is_denied(), if d.is_denied() { d.decided_by.clone() } else { Vec::new() })
}

/// The fast path's answer (what the benchmarks time): the outcome and the deciding rules.
pub fn gavel_verdict_answer(v: &gavel::Verdict<'_>) -> Answer {
    Answer::new(v.is_denied(), if v.is_denied() { v.decided_by().map(str::to_string).collect() } else { Vec::new() })
}

// ---------------------------------------------------------------------------------------
// Cedar: the tool is the action, the arguments are the context, a `permit` is the default.

/// The rules as Cedar policies: one `forbid` per rule (ids `policy0`, `policy1`, ... in rule
/// order), then `permit(principal, action, resource)` as `default allow`.
pub fn cedar_source(rules: &[RuleSpec]) -> String {
    let mut s = String::new();
    for r in rules {
        let cond = match &r.cond {
            Cond::ExternalAbove(n) => format!("context.amount > {n} && context.recipient.external"),
            Cond::CountryAbove(n, c) => format!("context.amount > {n} && context.recipient.country == {c:?}"),
            Cond::MemoContains(t) => format!("context.memo like \"*{t}*\""),
        };
        s.push_str(&format!("forbid(principal, action == Action::{:?}, resource) when {{ {cond} }};\n", r.tool));
    }
    s.push_str("permit(principal, action, resource);\n");
    s
}

pub struct Cedar {
    pub policies: cedar_policy::PolicySet,
    authorizer: cedar_policy::Authorizer,
    entities: cedar_policy::Entities,
    agent_type: cedar_policy::EntityTypeName,
    action_type: cedar_policy::EntityTypeName,
    tool_type: cedar_policy::EntityTypeName,
}

impl Cedar {
    pub fn compile(source: &str) -> Result<Cedar, String> {
        let ty = |n: &str| cedar_policy::EntityTypeName::from_str(n).map_err(|e| e.to_string());
        Ok(Cedar {
            policies: cedar_policy::PolicySet::from_str(source).map_err(|e| e.to_string())?,
            authorizer: cedar_policy::Authorizer::new(),
            entities: cedar_policy::Entities::empty(),
            agent_type: ty("Agent")?,
            action_type: ty("Action")?,
            tool_type: ty("Tool")?,
        })
    }

    /// End to end: the request's JSON bytes into a Cedar request (principal = the agent,
    /// action and resource = the tool, context = the arguments).
    pub fn request_from_json(&self, bytes: &[u8]) -> Result<cedar_policy::Request, String> {
        let mut v: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        let tool = v.get("tool").and_then(|t| t.as_str()).ok_or("the request has no `tool`")?.to_owned();
        let agent = v.pointer("/agent/id").and_then(|a| a.as_str()).unwrap_or("anonymous").to_owned();
        let args = v.get_mut("args").map(serde_json::Value::take).unwrap_or_else(|| serde_json::json!({}));
        let uid = |ty: &cedar_policy::EntityTypeName, id: &str| {
            cedar_policy::EntityUid::from_type_name_and_id(ty.clone(), cedar_policy::EntityId::new(id))
        };
        let context = cedar_policy::Context::from_json_value(args, None).map_err(|e| e.to_string())?;
        cedar_policy::Request::new(uid(&self.agent_type, &agent), uid(&self.action_type, &tool), uid(&self.tool_type, &tool), context, None)
            .map_err(|e| e.to_string())
    }

    pub fn decide(&self, request: &cedar_policy::Request) -> cedar_policy::Response {
        self.authorizer.is_authorized(request, &self.policies, &self.entities)
    }

    /// `policyN` is rule `rN` (the forbids come first, in rule order); the final permit is
    /// the default and names no rule.
    pub fn answer(response: &cedar_policy::Response, rules: usize) -> Answer {
        let denied = response.decision() == cedar_policy::Decision::Deny;
        let fired = response
            .diagnostics()
            .reason()
            .filter_map(|id| id.to_string().strip_prefix("policy").and_then(|n| n.parse::<usize>().ok()))
            .filter(|&n| n < rules)
            .map(|n| format!("r{n}"))
            .collect();
        Answer::new(denied, if denied { fired } else { Vec::new() })
    }
}

// ---------------------------------------------------------------------------------------
// regorus: Rego compiled to the RVM; `deny` is the set of fired rule ids.

pub const REGO_ENTRY: &str = "data.peers.deny";

pub fn rego_source(rules: &[RuleSpec]) -> String {
    let mut s = String::from("package peers\n\nimport rego.v1\n\n");
    for r in rules {
        let cond = match &r.cond {
            Cond::ExternalAbove(n) => format!("input.args.amount > {n}\n\tinput.args.recipient.external"),
            Cond::CountryAbove(n, c) => format!("input.args.amount > {n}\n\tinput.args.recipient.country == {c:?}"),
            Cond::MemoContains(t) => format!("contains(input.args.memo, {t:?})"),
        };
        s.push_str(&format!("deny contains {:?} if {{\n\tinput.tool == {:?}\n\t{cond}\n}}\n\n", r.id, r.tool));
    }
    s
}

/// Rego text → regorus compiled policy → RVM program, loaded in a VM ready to run.
pub fn rego_compile(source: &str) -> Result<regorus::rvm::RegoVM, String> {
    let mut engine = regorus::Engine::new();
    engine.add_policy("peers.rego".to_string(), source.to_string()).map_err(|e| e.to_string())?;
    let entry: regorus::Rc<str> = REGO_ENTRY.into();
    let compiled = engine.compile_with_entrypoint(&entry).map_err(|e| e.to_string())?;
    let program = regorus::languages::rego::compiler::Compiler::compile_from_policy(&compiled, &[REGO_ENTRY])
        .map_err(|e| e.to_string())?;
    let mut vm = regorus::rvm::RegoVM::new();
    vm.load_program(program);
    Ok(vm)
}

pub fn rego_input(bytes: &[u8]) -> Result<regorus::Value, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
    regorus::Value::from_json_str(text).map_err(|e| e.to_string())
}

pub fn rego_decide(vm: &mut regorus::rvm::RegoVM, input: regorus::Value) -> Result<regorus::Value, String> {
    vm.set_input(input);
    vm.execute().map_err(|e| e.to_string())
}

pub fn rego_answer(v: &regorus::Value) -> Answer {
    let fired: Vec<String> = match v {
        regorus::Value::Set(s) => s.iter().filter_map(|x| x.as_string().ok().map(|s| s.to_string())).collect(),
        _ => Vec::new(),
    };
    Answer::new(!fired.is_empty(), fired)
}

// ---------------------------------------------------------------------------------------
// CEL: one program per rule, each checking the tool itself; the request is one variable.

pub fn cel_sources(rules: &[RuleSpec]) -> Vec<(String, String)> {
    rules
        .iter()
        .map(|r| {
            let cond = match &r.cond {
                Cond::ExternalAbove(n) => format!("request.args.amount > {n} && request.args.recipient.external"),
                Cond::CountryAbove(n, c) => format!("request.args.amount > {n} && request.args.recipient.country == {c:?}"),
                Cond::MemoContains(t) => format!("request.args.memo.contains({t:?})"),
            };
            (r.id.clone(), format!("request.tool == {:?} && {cond}", r.tool))
        })
        .collect()
}

pub struct Cel {
    env: Arc<cel::Env>,
    rules: Vec<(String, cel::Program)>,
}

impl Cel {
    pub fn compile(sources: &[(String, String)]) -> Result<Cel, String> {
        let env = Arc::new(cel::Env::stdlib());
        let rules = sources
            .iter()
            .map(|(id, text)| env.compile(text).map(|p| (id.clone(), p)).map_err(|e| format!("{id}: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Cel { env, rules })
    }

    /// End to end: JSON bytes → `serde_json::Value` → a CEL context binding `request`.
    pub fn context_from_json(&self, bytes: &[u8]) -> Result<cel::Context<'static, 'static>, String> {
        let v: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        let mut ctx = cel::Context::with_env(self.env.clone());
        ctx.add_variable("request", v).map_err(|e| e.to_string())?;
        Ok(ctx)
    }

    /// Runs every rule's program; the ids of those that returned `true`.
    pub fn decide(&self, ctx: &cel::Context<'_, '_>) -> Vec<&str> {
        self.rules
            .iter()
            .filter(|(_, p)| matches!(p.execute(ctx), Ok(cel::Value::Bool(true))))
            .map(|(id, _)| id.as_str())
            .collect()
    }

    pub fn answer(fired: &[&str]) -> Answer {
        Answer::new(!fired.is_empty(), fired.iter().map(|s| s.to_string()).collect())
    }
}
