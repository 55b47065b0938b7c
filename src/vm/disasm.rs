//! The disassembler. In: a `Module`. Out: a text listing for humans and snapshot tests:
//! per rule, per chunk, each (fast-version) instruction with its address, mnemonic,
//! operands (constants, slot paths and regex patterns shown inline) and source span.

use super::op::Op;
use super::{ChunkId, Module, ReasonCode};
use crate::ir::Builtin;
use crate::value::{format_number, Value};
use std::fmt::Write;

pub(super) fn disassemble(module: &Module) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "module: {} rules, {} chunks, {} constants, {} regexes, {} slots",
        module.rules.len(),
        module.chunks.len(),
        module.pool.len(),
        module.regexes.len(),
        module.slot_names.len()
    );
    for (i, rule) in module.rules.iter().enumerate() {
        let (id, effect) = module.rule_names.get(i).map_or(("?", "?"), |(id, e)| (id.as_str(), *e));
        let _ = writeln!(out, "rule {i} `{id}` ({effect})");
        match rule.condition {
            Some(c) => chunk(&mut out, module, c),
            None => out.push_str("  condition: none (always fires)\n"),
        }
        if let Some(c) = rule.set_value {
            chunk(&mut out, module, c);
        }
        for part in &rule.reason {
            match part {
                ReasonCode::Text(t) => {
                    let _ = writeln!(out, "  reason text {t:?}");
                }
                ReasonCode::Expr(c) => chunk(&mut out, module, *c),
            }
        }
    }
    out
}

fn chunk(out: &mut String, module: &Module, id: ChunkId) {
    let Some(c) = module.chunks.get(id.0 as usize) else {
        let _ = writeln!(out, "  chunk {}: missing", id.0);
        return;
    };
    let _ = writeln!(out, "  {} (chunk {}, {} locals):", c.label, id.0, c.locals);
    let (start, end) = c.fast;
    for at in start..end {
        let (Some(op), Some(span)) = (module.fast.ops.get(at as usize), module.fast.spans.get(at as usize)) else {
            continue;
        };
        let (mnemonic, operands) = describe(module, op, (start, end));
        let offset = at - start;
        let line = format!("    {offset:04}  {mnemonic:<22} {operands:<32} {span:?}");
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

/// Addresses are shown relative to the chunk's start; the chunk's end is `end`.
fn describe(module: &Module, op: &Op, (start, end): (u32, u32)) -> (&'static str, String) {
    let to = |t: u32| {
        if t == end {
            "-> end".to_string()
        } else {
            format!("-> {:04}", t.wrapping_sub(start))
        }
    };
    match *op {
        Op::Const(i) => ("const", format!("#{i} {}", module.pool.get(i as usize).map_or("?".into(), literal))),
        Op::Slot(i) => ("slot", format!("{i} {}", module.slot_names.get(i as usize).map_or("?", String::as_str))),
        Op::Local(i) => ("local", i.to_string()),
        Op::StoreLocal(i) => ("store_local", i.to_string()),
        Op::LetCall { index, start } => ("let_call", format!("let {index}, code {}", to(start))),
        Op::LetReturn(i) => ("let_return", format!("let {i}")),
        Op::Not => ("not", String::new()),
        Op::Neg => ("neg", String::new()),
        Op::Has => ("has", String::new()),
        Op::Cmp(c) => ("cmp", format!("{c:?}").to_lowercase()),
        Op::Arith(a) => ("arith", format!("{a:?}").to_lowercase()),
        Op::Field(i) => ("field", i.to_string()),
        Op::Index => ("index", String::new()),
        Op::MakeList(n) => ("make_list", n.to_string()),
        Op::Call { builtin, argc } => ("call", call(builtin, argc)),
        Op::Regex { op, regex } => {
            ("regex", format!("{} #{regex} /{}/", snake_case(&format!("{op:?}")), module.regexes.get(regex as usize).map_or("?", |r| r.as_str())))
        }
        Op::InSet(set) => ("in_set", format!("#{set} ({} strings)", module.sets.get(set as usize).map_or(0, |s| s.len()))),
        Op::Jump(t) => ("jump", to(t)),
        Op::JumpIfFalse(t) => ("jump_if_false", to(t)),
        Op::JumpIfTrue(t) => ("jump_if_true", to(t)),
        Op::JumpIfFalseOrPop(t) => ("jump_if_false_or_pop", to(t)),
        Op::JumpIfTrueOrPop(t) => ("jump_if_true_or_pop", to(t)),
        Op::JumpIfPresentOrPop(t) => ("jump_if_present_or_pop", to(t)),
        Op::IterBegin => ("iter_begin", String::new()),
        Op::IterNext { local, exit, cost } => ("iter_next", format!("local {local}, exit {}, cost {cost}", to(exit))),
        Op::IterEnd => ("iter_end", String::new()),
        Op::CountIf => ("count_if", String::new()),
        Op::CollectBegin => ("collect_begin", String::new()),
        Op::CollectPush => ("collect_push", String::new()),
        Op::CollectEnd => ("collect_end", String::new()),
        Op::Trace => ("trace", String::new()),
        Op::Unlowered => ("unlowered", String::new()),
    }
}

fn call(builtin: Builtin, argc: u32) -> String {
    match builtin {
        Builtin::Native(i) => format!("native #{i} {}/{argc}", builtin.id()),
        Builtin::Engine(_) => format!("{}/{argc}", builtin.id()),
    }
}

/// A constant as source-like text: strings quoted, numbers as in JSON.
fn literal(v: &Value) -> String {
    match v {
        Value::Absent => "absent".into(),
        Value::Bool(b) => b.to_string(),
        Value::Num(n) => format_number(*n),
        Value::Str(s) => format!("{:?}", &**s),
        Value::List(items) => format!("[{}]", items.iter().map(literal).collect::<Vec<_>>().join(", ")),
        Value::Record(items) => format!("{{{}}}", items.iter().map(literal).collect::<Vec<_>>().join(", ")),
        Value::Map(map) => format!("{{{}}}", map.iter().map(|(k, v)| format!("{:?}: {}", &**k, literal(v))).collect::<Vec<_>>().join(", ")),
    }
}

/// `ListContains` -> `list_contains`, for mnemonics from the IR's enum names.
fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}
