//! Writing a simple decision's JSON without building a `Decision`. In: the policy's rules,
//! serialized once per policy into a `DecisionTemplate`; per request, the combined outcome,
//! the tool name and the rules that fired with their reasons. Out: the bytes
//! `serde_json::to_writer(out, &decision)` gives for the same decision, appended to `out`.
//! "Simple" means no errors, no modified arguments and no traces (the caller decides that):
//! `modifications` and `errors` are then empty and `args` is `null`.
//!
//! Every piece of JSON is serde's own. The top level is cut from `DecisionView`, field by
//! field in the order of `Field::ALL` (the one place the key order is written): the fields
//! that are the same for every simple decision of the policy are serialized once from a
//! view of an empty decision, the others are holes filled per request. The per-rule pieces
//! are serialized from the `#[derive(Serialize)]` structs (`FiredRule`, `Approval`,
//! `Warning`) and cut around their `reason`, so field order and escaping follow them.

use super::combine::{approvers_of, decides, warns, Combined};
use super::{Approval, DecisionView, Field, FiredRule, Outcome, PolicyRef, SpanJson, Warning};
use crate::ir::Program;
use serde::ser::SerializeStruct;
use serde::Serialize;

/// A rule that fired, with its `because` text (`None`: the rule has none).
#[derive(Clone, Debug)]
pub struct Reasoned {
    pub rule: u32,
    pub reason: Option<String>,
}

/// The parts of a decision's JSON that depend only on the policy.
#[derive(Clone, Debug)]
pub struct DecisionTemplate {
    /// The top-level object: text, and holes for what depends on the request.
    pieces: Vec<Piece>,
    /// Indexed like `Program::rules`.
    rules: Vec<RuleTemplate>,
}

#[derive(Clone, Debug)]
enum Piece {
    /// JSON written as is: keys, commas, the fields the same for every simple decision.
    Text(Vec<u8>),
    /// The value of a field that depends on the request.
    Hole(Hole),
}

/// The fields of a simple decision whose value depends on the request.
#[derive(Clone, Copy, Debug)]
enum Hole {
    Decision,
    Tool,
    DecidedBy,
    Rules,
    Approvals,
    Warnings,
}

impl Hole {
    /// The hole for `field`, or `None` when its value is the same for every simple decision
    /// of the policy (then serialized once, from the view of an empty decision).
    fn of(field: Field) -> Option<Hole> {
        match field {
            Field::Decision => Some(Hole::Decision),
            Field::Tool => Some(Hole::Tool),
            Field::DecidedBy => Some(Hole::DecidedBy),
            Field::Rules => Some(Hole::Rules),
            Field::Approvals => Some(Hole::Approvals),
            Field::Warnings => Some(Hole::Warnings),
            Field::Policy | Field::Modifications | Field::Args | Field::Errors => None,
        }
    }
}

/// One rule's pre-serialized pieces; each `(head, tail)` pair surrounds the reason's JSON.
#[derive(Clone, Debug)]
struct RuleTemplate {
    /// The JSON string of the rule's id (an entry of `decided_by`).
    id: Vec<u8>,
    /// `{"id":…,"effect":…,"enforced":…,"reason":` and `,"annotations":{…},"span":{…}}`.
    fired: (Vec<u8>, Vec<u8>),
    /// `{"rule":…,"approvers":[…],"reason":` and `}`.
    approval: (Vec<u8>, Vec<u8>),
    /// `{"rule":…,"reason":` and `}`.
    warning: (Vec<u8>, Vec<u8>),
}

impl DecisionTemplate {
    /// The template of `program`'s decisions; `rule_spans` holds each rule's span. `None`
    /// if a piece cannot be cut around its `reason` (a change to the decision structs this
    /// code does not know): the caller then always builds the full decision.
    pub fn new(program: &Program, rule_spans: &[SpanJson], policy: &PolicyRef) -> Option<DecisionTemplate> {
        // A simple decision with nothing in it: the holes' values here are never used.
        let empty = DecisionView {
            decision: Outcome::Deny,
            tool: "",
            policy,
            decided_by: &[],
            rules: &[],
            approvals: &[],
            modifications: &[],
            args: None,
            warnings: &[],
            errors: &[],
        };
        let mut pieces = Vec::new();
        let mut text = b"{".to_vec();
        for (n, field) in Field::ALL.into_iter().enumerate() {
            if n > 0 {
                text.push(b',');
            }
            match Hole::of(field) {
                Some(hole) => {
                    json(&mut text, field.key());
                    text.push(b':');
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                    pieces.push(Piece::Hole(hole));
                }
                None => text.extend(field_json(&empty, field)?),
            }
        }
        text.push(b'}');
        pieces.push(Piece::Text(text));
        let rules = program
            .rules
            .iter()
            .zip(rule_spans)
            .map(|(rule, span)| {
                let fired = FiredRule {
                    id: rule.id.clone(),
                    effect: rule.effect.name().to_string(),
                    enforced: rule.enforced,
                    reason: None,
                    annotations: rule.annotations.clone(),
                    span: span.clone(),
                    trace: None,
                };
                let approval = Approval { rule: rule.id.clone(), approvers: approvers_of(rule).to_vec(), reason: None };
                let warning = Warning { rule: Some(rule.id.clone()), reason: None };
                Some(RuleTemplate {
                    id: serde_json::to_vec(&rule.id).ok()?,
                    fired: around_reason(&fired)?,
                    approval: around_reason(&approval)?,
                    warning: around_reason(&warning)?,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        (rules.len() == program.rules.len()).then_some(DecisionTemplate { pieces, rules })
    }

    /// Appends the JSON of the decision `combined` for a call of `tool` where the rules
    /// `fired` (indices into `program.rules`, in source order) fired without error and
    /// nothing modifies the arguments. False (with `out` unchanged) if a rule index has no
    /// template, which the caller answers with the full decision.
    pub fn write(&self, program: &Program, combined: Combined<'_>, tool: &str, fired: &[Reasoned], out: &mut Vec<u8>) -> bool {
        let mut rules: smallvec::SmallVec<[(&RuleTemplate, &crate::ir::Rule, &Reasoned); 8]> = smallvec::SmallVec::new();
        for f in fired {
            match (self.rules.get(f.rule as usize), program.rules.get(f.rule as usize)) {
                (Some(t), Some(r)) => rules.push((t, r, f)),
                _ => return false,
            }
        }
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.extend(text),
                Piece::Hole(Hole::Decision) => json(out, &combined.outcome()),
                Piece::Hole(Hole::Tool) => json(out, tool),
                Piece::Hole(Hole::DecidedBy) => list(out, rules.iter().filter(|(_, _, f)| combined.decided_by(f.rule)), |out, (t, _, _)| out.extend(&t.id)),
                Piece::Hole(Hole::Rules) => list(out, rules.iter(), |out, (t, _, f)| around(out, &t.fired, &f.reason)),
                // Approvals are listed only under `require_approval`, as in `combine`.
                Piece::Hole(Hole::Approvals) => list(
                    out,
                    rules.iter().filter(|(_, r, _)| combined.outcome() == Outcome::RequireApproval && decides(r, Outcome::RequireApproval)),
                    |out, (t, _, f)| around(out, &t.approval, &f.reason),
                ),
                Piece::Hole(Hole::Warnings) => list(out, rules.iter().filter(|(_, r, _)| warns(r)), |out, (t, _, f)| around(out, &t.warning, &f.reason)),
            }
        }
        true
    }
}

/// `"key":value` of one field of `view`, as serde writes it inside the decision's object.
fn field_json(view: &DecisionView<'_>, field: Field) -> Option<Vec<u8>> {
    struct One<'v, 'a>(&'v DecisionView<'a>, Field);
    impl Serialize for One<'_, '_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut st = s.serialize_struct("Decision", 1)?;
            self.0.serialize_field(self.1, &mut st)?;
            st.end()
        }
    }
    let text = serde_json::to_vec(&One(view, field)).ok()?;
    // `{"key":value}` without its braces.
    Some(text.get(1..text.len().checked_sub(1)?)?.to_vec())
}

/// The JSON of `piece` (whose `reason` is `None`) cut around its `"reason":null`: the first
/// occurrence is the field itself, as earlier fields are strings and booleans (a `"` inside
/// a string is escaped) and `reason` comes before any map that could have such a key.
fn around_reason(piece: &impl Serialize) -> Option<(Vec<u8>, Vec<u8>)> {
    const FIELD: &[u8] = b"\"reason\":";
    let text = serde_json::to_vec(piece).ok()?;
    let at = memchr::memmem::find(&text, b"\"reason\":null")?;
    let head_end = at + FIELD.len();
    Some((text.get(..head_end)?.to_vec(), text.get(head_end + b"null".len()..)?.to_vec()))
}

/// Appends `head`, the reason's JSON and `tail`.
fn around(out: &mut Vec<u8>, (head, tail): &(Vec<u8>, Vec<u8>), reason: &Option<String>) {
    out.extend(head);
    json(out, reason);
    out.extend(tail);
}

/// Appends a JSON array of the items, each written by `write`.
fn list<T>(out: &mut Vec<u8>, items: impl Iterator<Item = T>, mut write: impl FnMut(&mut Vec<u8>, T)) {
    out.push(b'[');
    for (n, item) in items.enumerate() {
        if n > 0 {
            out.push(b',');
        }
        write(out, item);
    }
    out.push(b']');
}

/// Appends serde's JSON of `value`.
fn json(out: &mut Vec<u8>, value: &(impl Serialize + ?Sized)) {
    // Writing strings, options and unit enum variants into a `Vec` cannot fail.
    let _ = serde_json::to_writer(&mut *out, value);
}

#[cfg(test)]
mod tests {
    use crate::policy::{Backend, DecideOptions, Policy};

    /// Each kind of decision: `default` is replaced by `default allow` or `default deny`.
    const POLICY: &str = r#"policy writer
version "1.0 \"q\""
default DEFAULT
on error deny

tool t.send(to: string, body: string, n: number)
tool t.read(path: string)

@severity("high")
@owner("sec \"team\"\\ \n ü")
rule bad_body:
  on t.send
  deny when body.contains("bad")
  because "body {body} to {to}: \"q\" \\ back\nline é ✓ 😀"

@mode("shadow")
rule shadow_big: on t.send deny when n > 100 because "shadow {n}"

rule needs_ok: on t.send require approval from "ops", "sec\"lead" when n > 10 because "n is {n}"

rule second_approval: on t.send require approval when n > 50

rule warn_big: on t.send warn when n > 5 because "warn {n}"

rule read_tmp: on t.read allow when path.starts_with("/tmp")

rule send_small: on t.send allow when n < 1000

rule redact_secret: on t.send redact body when body.contains("secret")

rule ratio: on t.send deny when 100 / n > 1000 because "ratio"

rule odd_tools: on odd.* warn because "odd tool {tool}"
"#;

    /// The requests, with whether `write_decision` should write them from the template.
    const REQUESTS: &[(&str, bool)] = &[
        // No rule fired (the default decides).
        (r#"{"tool": "t.read", "args": {"path": "/etc/passwd"}}"#, true),
        // An allow fired.
        (r#"{"tool": "t.read", "args": {"path": "/tmp/x"}}"#, true),
        // A deny whose reason interpolates text needing escapes, with annotations.
        (r#"{"tool": "t.send", "args": {"to": "a\"b\\c", "body": "bad\n\"x\" \\ ü \u0001", "n": 1}}"#, true),
        // Shadow, two approvals (with and without approvers), a warning, an allow: several fired.
        (r#"{"tool": "t.send", "args": {"to": "b", "body": "ok", "n": 200}}"#, true),
        // Approvals under a deny (not listed).
        (r#"{"tool": "t.send", "args": {"to": "b", "body": "bad", "n": 20}}"#, true),
        // A warning only, and an allow.
        (r#"{"tool": "t.send", "args": {"to": "b", "body": "ok", "n": 6}}"#, true),
        // An undeclared tool whose name needs escaping.
        ("{\"tool\": \"odd.\\\"q\\\"\\\\\\n\u{fc}\\u2028\", \"args\": {}}", true),
        // A redact under a deny changes nothing, but masks what the decision shows: the full
        // decision.
        (r#"{"tool": "t.send", "args": {"to": "b", "body": "bad secret", "n": 1}}"#, false),
        // A redact that applies: the full decision.
        (r#"{"tool": "t.send", "args": {"to": "b", "body": "secret", "n": 1}}"#, false),
        // A rule error (division by zero): the full decision.
        (r#"{"tool": "t.send", "args": {"to": "b", "body": "ok", "n": 0}}"#, false),
        // Input errors: the full decision.
        (r#"{"tool": "t.send", "args": {"to": "b", "body": "ok", "n": "many"}}"#, false),
        ("{not json", false),
    ];

    #[test]
    fn written_decisions_are_serdes_bytes_and_simple_ones_come_from_the_template() {
        for default in ["allow", "deny"] {
            let policy = Policy::from_sources(&[("w.pol", &POLICY.replace("DEFAULT", default))]).unwrap_or_else(|d| panic!("{}", d.render()));
            for backend in [
                Backend::Interpreter,
                #[cfg(feature = "jit")]
                Backend::Jit,
            ] {
                let engine = policy.engine(backend).expect("backend available");
                for (request, simple) in REQUESTS {
                    for explain in [false, true] {
                        let options = DecideOptions { explain, now: Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_764_064_800)) };
                        let mut out = b"before".to_vec();
                        let from_template = engine.write_decision_from_template(request.as_bytes(), options, &mut out);
                        let want = serde_json::to_vec(&engine.decide_with(request.as_bytes(), options)).expect("serializes");
                        let context = format!("default {default}, {backend:?}, explain {explain}, {request}");
                        assert_eq!(String::from_utf8_lossy(&out), format!("before{}", String::from_utf8_lossy(&want)), "{context}");
                        // Under `default allow` an undeclared tool's decision carries the
                        // engine's warning: the full decision.
                        let marked = default == "allow" && request.contains("odd.");
                        assert_eq!(from_template, *simple && !explain && !marked, "{context}");
                    }
                }
            }
        }
    }

    #[test]
    fn the_template_follows_the_structs_and_escapes_like_serde() {
        let policy = Policy::from_sources(&[("w.pol", &POLICY.replace("DEFAULT", "deny"))]).unwrap_or_else(|d| panic!("{}", d.render()));
        let engine = policy.engine(Backend::Interpreter).expect("interpreter");
        let mut out = Vec::new();
        let request = r#"{"tool": "t.send", "args": {"to": "a\"b", "body": "bad", "n": 20}}"#;
        assert!(engine.write_decision_from_template(request.as_bytes(), DecideOptions { explain: false, now: Some(std::time::UNIX_EPOCH) }, &mut out));
        let text = String::from_utf8(out).expect("utf-8");
        // Spot checks that hold whatever serde does, so a template bug cannot hide behind
        // the same bug in the comparison.
        assert!(text.starts_with(r#"{"decision":"deny","tool":"t.send","policy":{"name":"writer","version":"1.0 \"q\"","digest":"sha256:"#), "{text}");
        assert!(text.contains(r#""decided_by":["bad_body"],"rules":[{"id":"bad_body","effect":"deny","enforced":true,"reason":"body bad to a\"b: \"q\" \\ back\nline é ✓ 😀","annotations":{"severity":"high","owner":"sec \"team\"\\ \n ü"},"span":{"file":"w.pol","#), "{text}");
        // A denied call lists no approvals, although `needs_ok` fired.
        assert!(text.contains(r#""approvals":[],"modifications":[],"args":null,"warnings":[{"rule":"warn_big","reason":"warn 20"}],"errors":[]}"#), "{text}");
        let mut out = Vec::new();
        let request = r#"{"tool": "t.send", "args": {"to": "a\"b", "body": "ok", "n": 20}}"#;
        assert!(engine.write_decision_from_template(request.as_bytes(), DecideOptions { explain: false, now: Some(std::time::UNIX_EPOCH) }, &mut out));
        let text = String::from_utf8(out).expect("utf-8");
        assert!(text.contains(r#""approvals":[{"rule":"needs_ok","approvers":["ops","sec\"lead"],"reason":"n is 20"}]"#), "{text}");
    }
}
