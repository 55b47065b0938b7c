//! Windows at decision time (LANGUAGE.md §8). In: the policy's windows (`ir::Window` and
//! their interpreter chunks, `vm::WindowCode`), a decoded frame, its outcome, and the
//! `WindowStore` of the `DecideContext`. Out: before the rules, the value of each window the
//! request's rules read, written into its frame slot (or, when the store cannot answer, the
//! fault noted in the frame, so the rules that read it fail closed with the store's reason);
//! after the decision, the request's events recorded in the store (for a request with input
//! errors, in the windows none of whose fields it has wrong).
//!
//! A window's keys, value and `when` always run on the interpreter, whatever backend decides
//! the rules: both engines read and record the same events by construction. Keys are hashed
//! (SipHash-2-4 twice, 128 bits) over a canonical encoding of the typed values: records by
//! field name, maps by key, absent fields left out, `-0` as `0`; stores never see them.

use super::backend::with_scratch;
use crate::check::{DECISION_INPUT, WINDOW_INPUT};
use crate::decision::Outcome;
use crate::driver::Compiled;
use crate::input::{Frame, WindowFault};
use crate::ir::{self, ExprKind, ToolScope};
use crate::store::{Answer, Event, EventValue, Key, Read, WindowSpec, WindowStore};
use crate::types::{FieldType, Type};
use crate::value::Value;
use crate::vm::{ChunkId, Meter, Scratch};

/// What deciding with windows needs, worked out once per compiled policy.
#[derive(Debug, Default, Clone)]
pub(crate) struct Plan {
    /// Per window (in `Program::windows` order): the slot its value is read into, `None`
    /// when no rule reads it.
    value_slots: Vec<Option<usize>>,
    /// Per declared tool (`Frame::tool`), and for undeclared tools, the windows the rules of
    /// that group read.
    by_tool: Vec<Vec<u32>>,
    undeclared: Vec<u32>,
    /// Per rule, the windows it reads.
    by_rule: Vec<Vec<u32>>,
    /// Per window, whether its keys, value or `when` read tool arguments (then an
    /// undeclared tool is not recorded in it).
    reads_args: Vec<bool>,
    /// Per window without `on` that reads no arguments, the request fields (slot paths,
    /// dotted) its keys, value and `when` read: a request with input errors is recorded in
    /// it when none of them has an error. Other windows: `None`.
    invalid_reads: Vec<Option<Vec<String>>>,
    decision_slot: Option<usize>,
    /// A window reads arguments and a rule can change them (`redact`, `set`): what is
    /// recorded may differ from what was sent.
    records_modified: bool,
}

impl Plan {
    pub(crate) fn new(program: &ir::Program) -> Plan {
        if program.windows.is_empty() {
            return Plan::default();
        }
        let slot_of = |path: &[&str]| program.slots.iter().position(|s| s.iter().map(String::as_str).eq(path.iter().copied()));
        let value_slots: Vec<Option<usize>> = program.windows.iter().map(|w| slot_of(&[WINDOW_INPUT, &w.name])).collect();
        let window_of_slot = |slot: u32| value_slots.iter().position(|s| *s == Some(slot as usize)).map(|w| w as u32);
        let by_rule: Vec<Vec<u32>> = program
            .rules
            .iter()
            .map(|rule| {
                let mut read = Vec::new();
                let mut note = |e: &ir::Expr| {
                    if let ExprKind::Slot(s) = e.kind {
                        if let Some(w) = window_of_slot(s) {
                            if !read.contains(&w) {
                                read.push(w);
                            }
                        }
                    }
                };
                rule.lets.iter().chain(rule.condition.as_ref()).chain(rule.effect.set_value()).for_each(|e| ir::passes::visit(e, &mut note));
                for part in &rule.reason {
                    if let ir::ReasonPart::Expr(e) = part {
                        ir::passes::visit(e, &mut note);
                    }
                }
                read
            })
            .collect();
        let union = |ids: &[u32]| {
            let mut read: Vec<u32> = ids.iter().flat_map(|&r| by_rule.get(r as usize).into_iter().flatten().copied()).collect();
            read.sort_unstable();
            read.dedup();
            read
        };
        let by_tool = program.groups.declared.values().map(|ids| union(ids)).collect();
        let undeclared = union(&program.groups.undeclared);
        let args_slots: Vec<bool> = program.slots.iter().map(|s| s.first().is_some_and(|p| p == "args")).collect();
        let slots_read: Vec<Vec<u32>> = program
            .windows
            .iter()
            .map(|w| {
                let mut read = Vec::new();
                w.keys.iter().chain(w.value.as_ref()).chain(w.condition.as_ref()).for_each(|e| {
                    ir::passes::visit(e, &mut |x| {
                        if let ExprKind::Slot(s) = x.kind {
                            read.push(s);
                        }
                    })
                });
                read
            })
            .collect();
        let reads_args: Vec<bool> = slots_read.iter().map(|read| read.iter().any(|&s| args_slots.get(s as usize) == Some(&true))).collect();
        let invalid_reads = program
            .windows
            .iter()
            .zip(&slots_read)
            .zip(&reads_args)
            .map(|((w, read), &reads_args)| {
                let unscoped = matches!(w.scope, ToolScope::All);
                // `@decision` and the like are not request fields: nothing in a request can be wrong there.
                let fields = read.iter().filter_map(|&s| program.slots.get(s as usize)).filter(|path| !path.first().is_some_and(|p| p.starts_with('@')));
                (unscoped && !reads_args).then(|| fields.map(|path| path.join(".")).collect())
            })
            .collect();
        let records_modified = reads_args.iter().any(|&r| r) && program.rules.iter().any(crate::decision::modifies);
        Plan { value_slots, by_tool, undeclared, by_rule, reads_args, invalid_reads, decision_slot: slot_of(&[DECISION_INPUT]), records_modified }
    }

    /// Whether the arguments a window records may differ from those sent (see
    /// `records_modified`).
    pub(crate) fn records_modified(&self) -> bool {
        self.records_modified
    }

    /// Whether a request with input errors can be recorded in any window.
    pub(crate) fn records_invalid(&self) -> bool {
        self.invalid_reads.iter().any(Option::is_some)
    }

    /// The store's view of the policy's windows.
    pub(crate) fn specs(program: &ir::Program) -> Vec<WindowSpec> {
        program.windows.iter().map(|w| WindowSpec { id: w.id, aggregate: w.aggregate, duration_secs: w.duration_secs }).collect()
    }

    /// The fault of a window rule `rule` reads, if the store could not answer it.
    pub(crate) fn fault_of<'f>(&self, rule: u32, frame: &'f Frame) -> Option<&'f WindowFault> {
        if frame.window_faults.is_empty() {
            return None;
        }
        let read = self.by_rule.get(rule as usize)?;
        frame.window_faults.iter().find(|f| read.contains(&f.window))
    }

    /// Before the rules: reads the windows the request's rules read into the frame, but for
    /// those whose value `set` gives.
    pub(crate) fn read(&self, c: &Compiled, store: &dyn WindowStore, frame: &mut Frame, set: &[(u32, Value)]) {
        frame.window_faults.clear();
        for (w, value) in set {
            if let Some(slot) = self.value_slots.get(*w as usize).copied().flatten().and_then(|s| frame.slots.get_mut(s)) {
                *slot = value.clone();
            }
        }
        let all = match frame.tool {
            Some(t) => self.by_tool.get(t).map_or(&[][..], Vec::as_slice),
            None => &self.undeclared,
        };
        let unset: Vec<u32>;
        let wanted = if set.is_empty() {
            all
        } else {
            unset = all.iter().copied().filter(|w| !set.iter().any(|(s, _)| s == w)).collect();
            &unset
        };
        if wanted.is_empty() {
            return;
        }
        let at = second(frame.time);
        let meter = Meter::new(c.limits.max_work as u64);
        let keyed: Vec<(u32, Result<Key, String>)> =
            with_scratch(|scratch| wanted.iter().map(|&w| (w, window_key(c, w as usize, frame, scratch, &meter))).collect());
        let reads: Vec<Read> = keyed.iter().filter_map(|(w, k)| Some(Read { window: c.program.windows[*w as usize].id, key: *k.as_ref().ok()?, at })).collect();
        let mut answers = Vec::with_capacity(reads.len());
        let whole = store.read(&reads, &mut answers);
        let mut answers = answers.into_iter();
        for (w, key) in keyed {
            let window = &c.program.windows[w as usize];
            let answer = match (&key, &whole) {
                (Err(message), _) => Err(format!("window `{}`: its key cannot be computed: {message}", window.name)),
                (Ok(_), Err(e)) => Err(format!("window `{}`: {}", window.name, e.message)),
                (Ok(_), Ok(())) => match answers.next() {
                    Some(Ok(answer)) => Ok(answer),
                    Some(Err(e)) => Err(format!("window `{}`: {}", window.name, e.message)),
                    None => Err(format!("window `{}`: the store gave no answer", window.name)),
                },
            };
            match (answer, self.value_slots.get(w as usize).copied().flatten()) {
                (Ok(answer), Some(slot)) => {
                    if let Some(s) = frame.slots.get_mut(slot) {
                        *s = value_of(answer);
                    }
                }
                (Ok(_), None) => {}
                (Err(message), _) => frame.window_faults.push(WindowFault { window: w, message }),
            }
        }
    }

    /// After the decision: records the request in every window whose `on` and `when` match.
    /// Returns the store's error, if recording failed.
    pub(crate) fn record(&self, c: &Compiled, store: &dyn WindowStore, frame: &mut Frame, outcome: Outcome) -> Result<(), String> {
        let declared = frame.tool.is_some();
        self.record_in(c, store, frame, outcome, |i, w, frame| applies(w, frame) && (declared || self.reads_args.get(i) != Some(&true)))
    }

    /// After a request with input errors at `invalid` (their paths, `""` for the request as
    /// a whole): records it, as `deny`, in the windows without `on` that read no arguments
    /// and none of whose fields has an error (LANGUAGE.md §8), from what the full decoder
    /// read into `frame`. A request whose `time` is wrong is recorded at the decision's
    /// clock, which `frame.time` then holds: a malformed `time` must not hide a request from
    /// the windows. Returns the store's error, if recording failed.
    pub(crate) fn record_invalid(&self, c: &Compiled, store: &dyn WindowStore, frame: &mut Frame, invalid: &[String]) -> Result<(), String> {
        let valid = |fields: &Vec<String>| fields.iter().all(|field| !invalid.iter().any(|error| overlaps(error, field)));
        self.record_in(c, store, frame, Outcome::Deny, |i, _, _| self.invalid_reads.get(i).and_then(Option::as_ref).is_some_and(valid))
    }

    /// Records the request, with `decision` read as `outcome`, in the windows `keep` selects
    /// whose `when` holds.
    fn record_in(
        &self,
        c: &Compiled,
        store: &dyn WindowStore,
        frame: &mut Frame,
        outcome: Outcome,
        keep: impl Fn(usize, &ir::Window, &Frame) -> bool,
    ) -> Result<(), String> {
        if c.program.windows.is_empty() {
            return Ok(());
        }
        if let Some(slot) = self.decision_slot.and_then(|s| frame.slots.get_mut(s)) {
            *slot = Value::str(outcome.as_str());
        }
        let at = second(frame.time);
        let meter = Meter::new(c.limits.max_work as u64);
        let frame = &*frame;
        let events: Vec<Event> = with_scratch(|scratch| {
            c.program.windows.iter().enumerate().filter(|(i, w)| keep(*i, w, frame)).filter_map(|(i, w)| event(c, i, w, frame, scratch, &meter, at)).collect()
        });
        if events.is_empty() {
            return Ok(());
        }
        store.record(&events).map_err(|e| e.message)
    }
}

/// Whether an input error at `error` (`agent.id`, `context.tags[1]`, `""` for the whole
/// request) touches the field at `field` (`agent.id`): one lies inside the other.
fn overlaps(error: &str, field: &str) -> bool {
    let inside = |inner: &str, outer: &str| {
        outer.is_empty() || inner.strip_prefix(outer).is_some_and(|rest| rest.is_empty() || rest.starts_with('.') || rest.starts_with('['))
    };
    inside(error, field) || inside(field, error)
}

/// Whether a window's `on` covers the request's tool.
fn applies(w: &ir::Window, frame: &Frame) -> bool {
    match &w.scope {
        ToolScope::All => true,
        ToolScope::Tools(patterns) => patterns.iter().any(|p| ir::pattern_matches(p, &frame.tool_name)),
    }
}

/// The event recording the request in window `i`, if its `when` holds. A key, value or
/// `when` that fails to evaluate records nothing in that window.
fn event(c: &Compiled, i: usize, w: &ir::Window, frame: &Frame, scratch: &mut Scratch, meter: &Meter, at: i64) -> Option<Event> {
    let code = c.module.windows().get(i)?;
    if let Some(chunk) = code.condition {
        if c.module.run(chunk, frame, scratch, meter, None).ok()? != Value::Bool(true) {
            return None;
        }
    }
    let key = window_key(c, i, frame, scratch, meter).ok()?;
    let value = match (w.aggregate, code.value) {
        (ir::Aggregate::Count, _) => EventValue::None,
        (aggregate, Some(chunk)) => {
            let v = c.module.run(chunk, frame, scratch, meter, None).ok()?;
            let ty = w.value.as_ref().map(|e| &e.ty);
            match (aggregate, v) {
                // An absent value (an optional field not given) adds nothing.
                (_, Value::Absent) => return None,
                (ir::Aggregate::Sum | ir::Aggregate::Max, Value::Num(n)) => EventValue::Number(n),
                (ir::Aggregate::Values, Value::Str(s)) => EventValue::Text(s.to_string()),
                (ir::Aggregate::Distinct, v) => EventValue::Hash(hash(&[(v, ty.cloned().unwrap_or(Type::Any))], &[])),
                _ => return None,
            }
        }
        (_, None) => return None,
    };
    Some(Event { window: w.id, key, at, value })
}

/// The hash of a window's compound key for the request.
fn window_key(c: &Compiled, i: usize, frame: &Frame, scratch: &mut Scratch, meter: &Meter) -> Result<Key, String> {
    let (Some(w), Some(code)) = (c.program.windows.get(i), c.module.windows().get(i)) else {
        return Err(format!("internal: no window {i}"));
    };
    let params: &[FieldType] = frame.tool.and_then(|t| c.program.schema.tools.get_index(t)).map_or(&[], |(_, p)| p.as_slice());
    let values: Vec<(Value, Type)> = w
        .keys
        .iter()
        .zip(&code.keys)
        .map(|(k, &chunk): (&ir::Expr, &ChunkId)| c.module.run(chunk, frame, scratch, meter, None).map(|v| (v, k.ty.clone())).map_err(|e| e.message))
        .collect::<Result<_, _>>()?;
    Ok(hash(&values, params))
}

/// The second a request's time falls in (times are cut to the whole second).
fn second(time: f64) -> i64 {
    time.floor() as i64
}

fn value_of(answer: Answer) -> Value {
    match answer {
        Answer::Number(n) => Value::Num(n),
        Answer::Max(m) => m.map_or(Value::Absent, Value::Num),
        Answer::Values(v) => Value::List(v.iter().map(|s| Value::str(s)).collect()),
    }
}

/// 128 bits over the canonical encoding of typed values. `params` names the fields of an
/// untyped record (the `args` key: the request's tool's parameters).
fn hash(values: &[(Value, Type)], params: &[FieldType]) -> Key {
    let mut bytes = Vec::with_capacity(64);
    for (v, ty) in values {
        encode(v, ty, params, &mut bytes);
    }
    // SipHash-2-4 is a fixed, specified function (unlike `DefaultHasher`, whose algorithm may
    // change between Rust releases): a store keeps these across restarts and processes.
    #[allow(deprecated)]
    let half = |k0: u64, k1: u64| {
        use std::hash::Hasher;
        let mut h = std::hash::SipHasher::new_with_keys(k0, k1);
        h.write(&bytes);
        h.finish()
    };
    (u128::from(half(0x6761_7665_6c5f_6b30, 0x7769_6e64_6f77_7331)) << 64) | u128::from(half(0x6761_7665_6c5f_6b31, 0x7769_6e64_6f77_7332))
}

/// A self-delimiting encoding: a tag byte, then the payload (lengths before bytes).
fn encode(v: &Value, ty: &Type, params: &[FieldType], out: &mut Vec<u8>) {
    match v {
        Value::Absent => out.push(0),
        Value::Bool(b) => out.extend([1, u8::from(*b)]),
        Value::Num(n) => {
            out.push(2);
            // `-0` and `0` are the same number.
            out.extend((if *n == 0.0 { 0.0f64 } else { *n }).to_bits().to_le_bytes());
        }
        Value::Str(s) => text(3, s, out),
        Value::List(items) => {
            out.push(4);
            out.extend((items.len() as u64).to_le_bytes());
            let elem = match ty.unwrap_optional() {
                Type::List(e) => (**e).clone(),
                _ => Type::Any,
            };
            items.iter().for_each(|i| encode(i, &elem, &[], out));
        }
        Value::Record(fields) => {
            let declared: &[FieldType] = match ty.unwrap_optional() {
                Type::Record(r) => &r.fields,
                _ => params,
            };
            // By field name, absent fields left out: the object as canonical JSON has it.
            let mut present: Vec<(&str, &Value, &Type)> =
                declared.iter().zip(fields.iter()).filter(|(_, v)| **v != Value::Absent).map(|(f, v)| (f.name.as_str(), v, &f.ty)).collect();
            present.sort_by(|a, b| a.0.cmp(b.0));
            out.push(5);
            out.extend((present.len() as u64).to_le_bytes());
            for (name, v, ty) in present {
                text(3, name, out);
                encode(v, ty, &[], out);
            }
        }
        Value::Map(entries) => {
            let elem = match ty.unwrap_optional() {
                Type::Map(e) => (**e).clone(),
                _ => Type::Any,
            };
            let mut sorted: Vec<(&std::sync::Arc<str>, &Value)> = entries.iter().collect();
            sorted.sort_by(|a, b| a.0.cmp(b.0));
            out.push(6);
            out.extend((sorted.len() as u64).to_le_bytes());
            for (k, v) in sorted {
                text(3, k, out);
                encode(v, &elem, &[], out);
            }
        }
    }
}

fn text(tag: u8, s: &str, out: &mut Vec<u8>) {
    out.push(tag);
    out.extend((s.len() as u64).to_le_bytes());
    out.extend(s.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, ty: Type) -> FieldType {
        FieldType { name: name.into(), ty, optional: true, lenient: false }
    }

    #[test]
    fn the_args_key_is_canonical_field_order_absent_fields_and_negative_zero() {
        let params = [field("b", Type::Number), field("a", Type::String), field("memo", Type::String)];
        let args = |a: &str, b: f64, memo: Value| Value::Record(vec![Value::Num(b), Value::str(a), memo].into());
        let key = |v: Value| hash(&[(v, Type::Any)], &params);
        assert_eq!(key(args("x", 0.0, Value::Absent)), key(args("x", -0.0, Value::Absent)));
        assert_ne!(key(args("x", 1.0, Value::Absent)), key(args("x", 1.0, Value::str(""))), "absent is not empty");
        assert_ne!(key(args("x", 1.0, Value::Absent)), key(args("y", 1.0, Value::Absent)));
        // Field names are part of the key: the same values under other names differ.
        let other = [field("c", Type::Number), field("a", Type::String), field("memo", Type::String)];
        assert_ne!(hash(&[(args("x", 1.0, Value::Absent), Type::Any)], &other), key(args("x", 1.0, Value::Absent)));
    }

    #[test]
    fn an_error_touches_the_fields_inside_it_and_around_it() {
        assert!(overlaps("agent.id", "agent.id"));
        assert!(overlaps("agent", "agent.id"), "`agent` not an object: `agent.id` is not valid");
        assert!(overlaps("context.tags[1]", "context.tags"));
        assert!(overlaps("", "user.id"), "an error in the request as a whole touches every field");
        assert!(!overlaps("agent.idx", "agent.id"));
        assert!(!overlaps("user.id", "agent.id"));
        assert!(!overlaps("args.amount", "agent.id"));
    }

    #[test]
    fn compound_keys_are_self_delimiting() {
        let k = |a: &str, b: &str| hash(&[(Value::str(a), Type::String), (Value::str(b), Type::String)], &[]);
        assert_ne!(k("ab", "c"), k("a", "bc"));
        assert_eq!(k("a", "bc"), k("a", "bc"));
    }
}
