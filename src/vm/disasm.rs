//! The disassembler. In: a `Module`. Out: a text listing for humans and snapshot tests:
//! per rule, per chunk, each (fast-version) instruction with its address, mnemonic,
//! operands (constants, slot paths and regex patterns shown inline) and source span.

use super::op::Op;
use super::{ChunkId, Module, ReasonCode};
use crate::ir::Builtin;
use crate::stdlib::NATIVES;
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
    for at in c.fast.0..c.fast.1 {
        let (Some(op), Some(span)) = (module.fast.ops.get(at as usize), module.fast.spans.get(at as usize)) else {
            continue;
        };
        let (mnemonic, operands) = describe(module, op);
        let _ = writeln!(out, "    {at:04}  {mnemonic:<22} {operands:<32} {span:?}");
    }
}

fn describe(module: &Module, op: &Op) -> (&'static str, String) {
    match *op {
        Op::Const(i) => ("const", format!("#{i} {}", module.pool.get(i as usize).map_or("?".into(), literal))),
        Op::Slot(i) => ("slot", format!("{i} {}", module.slot_names.get(i as usize).map_or("?", String::as_str))),
        Op::Local(i) => ("local", i.to_string()),
        Op::StoreLocal(i) => ("store_local", i.to_string()),
        Op::Not => ("not", String::new()),
        Op::Neg => ("neg", String::new()),
        Op::Has => ("has", String::new()),
        Op::Cmp(c) => ("cmp", format!("{c:?}").to_lowercase()),
        Op::Arith(a) => ("arith", format!("{a:?}").to_lowercase()),
        Op::Field(i) => ("field", i.to_string()),
        Op::Index => ("index", String::new()),
        Op::MakeList(n) => ("make_list", n.to_string()),
        Op::Call { builtin, argc } => ("call", call(builtin, argc)),
        Op::Regex { op, regex } => (
            "regex",
            format!("{} #{regex} /{}/", format!("{op:?}").to_lowercase(), module.regexes.get(regex as usize).map_or("?", |r| r.as_str())),
        ),
        Op::Jump(t) => ("jump", format!("-> {t:04}")),
        Op::JumpIfFalse(t) => ("jump_if_false", format!("-> {t:04}")),
        Op::JumpIfTrue(t) => ("jump_if_true", format!("-> {t:04}")),
        Op::JumpIfFalseOrPop(t) => ("jump_if_false_or_pop", format!("-> {t:04}")),
        Op::JumpIfTrueOrPop(t) => ("jump_if_true_or_pop", format!("-> {t:04}")),
        Op::JumpIfPresentOrPop(t) => ("jump_if_present_or_pop", format!("-> {t:04}")),
        Op::IterBegin => ("iter_begin", String::new()),
        Op::IterNext { local, exit } => ("iter_next", format!("local {local}, exit -> {exit:04}")),
        Op::IterEnd => ("iter_end", String::new()),
        Op::CountIf => ("count_if", String::new()),
        Op::Trace => ("trace", String::new()),
        Op::Unlowered => ("unlowered", String::new()),
    }
}

fn call(builtin: Builtin, argc: u32) -> String {
    match builtin {
        Builtin::Native(i) => {
            let name = NATIVES.get(i as usize).map_or("?", |n| n.name);
            format!("native #{i} {name}/{argc}")
        }
        other => format!("{}/{argc}", format!("{other:?}").to_lowercase()),
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
        Value::Map(map) => format!(
            "{{{}}}",
            map.iter().map(|(k, v)| format!("{:?}: {}", &**k, literal(v))).collect::<Vec<_>>().join(", ")
        ),
    }
}
