//! Explanations of fired rules. In: a fired rule, its condition's traced bytecode and the
//! frame. Out: the condition's sub-expressions with their values (`TraceJson`), outermost
//! first, one per span, each marked whether it is worth a label in the text rendering.

use crate::decision::{self, TraceJson};
use crate::driver::Compiled;
use crate::input::Frame;
use crate::ir;
use crate::span::{SourceMap, Span};
use crate::value::Value;
use crate::vm::{ChunkId, Meter, Scratch};

/// The condition's sub-expressions with their values, outermost first, one per span.
pub(crate) fn trace(c: &Compiled, chunk: ChunkId, rule: &ir::Rule, frame: &Frame, scratch: &mut Scratch, meter: &Meter) -> Vec<TraceJson> {
    let mut entries = Vec::new();
    let _ = c.module.run(chunk, frame, scratch, meter, Some(&mut entries));
    let nodes = condition_nodes(rule, &c.sources);
    let node_at = |span: Span| nodes.iter().find(|n| n.0 == span);
    let mut seen: Vec<(Span, Value)> = Vec::new();
    for e in entries.into_iter().filter(|e| rule.span.contains(e.span)) {
        match seen.iter_mut().find(|(s, _)| *s == e.span) {
            Some(slot) => slot.1 = e.value,
            None => seen.push((e.span, e.value)),
        }
    }
    seen.sort_by_key(|(s, _)| (s.start, std::cmp::Reverse(s.end)));
    seen.into_iter()
        .map(|(span, value)| TraceJson {
            expr: c.sources.slice(span).to_string(),
            value: decision::value_to_json(&value, node_at(span).map(|n| &n.1)),
            span: decision::SpanJson::new(span, &c.sources),
            label: nodes.iter().any(|n| n.0 == span && n.2),
        })
        .collect()
}

/// Each node of the condition: its span, its type (to print values, e.g. timestamps) and
/// whether it is worth a label in explanations: a value read or computed (inputs, locals,
/// calls, named constants, ...), not a literal, a comparison or a connective.
fn condition_nodes(rule: &ir::Rule, sources: &SourceMap) -> Vec<(Span, crate::types::Type, bool)> {
    use ir::ExprKind as K;
    let mut out = Vec::new();
    if let Some(c) = &rule.condition {
        ir::passes::visit(c, &mut |e| {
            let connective = matches!(e.kind, K::And(..) | K::Or(..) | K::Not(_) | K::Has(_) | K::Compare(..) | K::List(_));
            let literal = matches!(e.kind, K::Const(_)) && is_literal(sources.slice(e.span));
            out.push((e.span, e.ty.clone(), !connective && !literal));
        });
    }
    out
}

/// Whether source text is a literal (`1_000`, `"x"`, `[..]`, `true`), whose value is plain.
fn is_literal(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '"' | '[' | '-')) || matches!(text, "true" | "false")
}
