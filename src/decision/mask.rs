//! Masking redacted values (LANGUAGE.md §4: "a redacted value never leaves the engine"). In:
//! the rules of a decision that fired, the request's raw `args`, and what the decision shows
//! (reasons, traces, messages). Out: the same with every redacted value replaced by
//! `[REDACTED]`. The one helper every rendering goes through: the decision is masked once,
//! here, so its JSON, `--format text`, `gavel test` reports and the decision log (through
//! `Decision::mask`) all show what it shows.
//!
//! Two rules. A value computed from an argument that a plain `redact PATH` covers (the
//! argument itself, `body.upper()`, a hole `{body}`) is masked whole when it holds text. And
//! every string shown has each redacted text (the argument's value as sent, or the parts a
//! `redact ... matching` found) replaced wherever it occurs.

use super::combine::{RuleOutcome, REDACTED};
use crate::ir::{self, Effect, ExprKind, Program, ReasonPart, Rule};
use crate::types::Type;
use std::borrow::Cow;

/// The texts a decision redacted: replaced by `[REDACTED]` in anything shown with it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Mask {
    /// Non-empty, longest first.
    parts: Vec<String>,
}

impl Mask {
    /// Nothing was redacted.
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// `s` with every occurrence of a redacted text replaced.
    pub fn text<'s>(&self, s: &'s str) -> Cow<'s, str> {
        match replace_parts(s, self.parts.iter().map(String::as_str)) {
            Some(masked) => Cow::Owned(masked),
            None => Cow::Borrowed(s),
        }
    }

    /// Masks every string inside `v` (keys too) in place.
    pub fn json(&self, v: &mut serde_json::Value) {
        if self.is_empty() {
            return;
        }
        match v {
            serde_json::Value::String(s) => {
                if let Cow::Owned(m) = self.text(s) {
                    *s = m;
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|i| self.json(i)),
            serde_json::Value::Object(map) => {
                let entries = std::mem::take(map);
                for (k, mut val) in entries {
                    self.json(&mut val);
                    map.insert(self.text(&k).into_owned(), val);
                }
            }
            _ => {}
        }
    }
}

/// `s` with every occurrence of each of `parts` replaced by `[REDACTED]` (overlapping
/// occurrences as one); `None` when none occurs. `redact ... matching` and masking share it.
pub(crate) fn replace_parts<'p>(s: &str, parts: impl IntoIterator<Item = &'p str>) -> Option<String> {
    let mut found: Vec<(usize, usize)> = Vec::new();
    for part in parts.into_iter().filter(|p| !p.is_empty()) {
        found.extend(s.match_indices(part).map(|(at, m)| (at, at + m.len())));
    }
    if found.is_empty() {
        return None;
    }
    found.sort_unstable();
    let mut out = String::with_capacity(s.len());
    let mut end = 0;
    for (start, stop) in found {
        if start >= end {
            out.push_str(&s[end..start]);
            out.push_str(REDACTED);
        }
        end = end.max(stop);
    }
    out.push_str(&s[end..]);
    Some(out)
}

/// What the fired rules of a decision redacted: the paths of plain `redact`s (as input
/// paths, `["args", ...]`) and the mask of every redacted text. Every fired `redact` counts,
/// shadow ones and under a deny too: what a rule says is secret is never shown.
pub(crate) struct Redacted {
    pub(crate) whole: Vec<Vec<String>>,
    pub(crate) mask: Mask,
}

impl Redacted {
    pub(crate) fn of(program: &Program, fired: &[&RuleOutcome], args: Option<&[u8]>) -> Redacted {
        let mut whole = Vec::new();
        let mut parts: Vec<String> = Vec::new();
        let mut raw: Option<Option<serde_json::Value>> = None;
        for o in fired {
            match &program.rules[o.rule as usize].effect {
                Effect::Redact(p, None) => {
                    let args = raw.get_or_insert_with(|| args.and_then(|a| serde_json::from_slice(a).ok()));
                    if let Some(v) = args.as_ref().and_then(|a| p.segments.iter().try_fold(a, |v, seg| v.get(seg.as_str()))) {
                        strings_in(v, &mut parts);
                    }
                    whole.push(std::iter::once("args".to_string()).chain(p.segments.iter().cloned()).collect());
                }
                Effect::Redact(_, Some(_)) => {
                    if let Some(crate::value::Value::List(items)) = &o.set_value {
                        parts.extend(items.iter().filter_map(|v| if let crate::value::Value::Str(s) = v { Some(s.to_string()) } else { None }));
                    }
                }
                Effect::Deny | Effect::Allow | Effect::Warn | Effect::RequireApproval(_) | Effect::Set(..) => {}
            }
        }
        parts.retain(|p| !p.is_empty());
        parts.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        parts.dedup();
        Redacted { whole, mask: Mask { parts } }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.whole.is_empty() && self.mask.is_empty()
    }

    /// Whether `e` (of `rule`) reads an argument a plain `redact` covers, or a value inside
    /// or around one, and so shows it when its value holds text.
    pub(crate) fn taints(&self, program: &Program, rule: &Rule, e: &ir::Expr) -> bool {
        if self.whole.is_empty() || !holds_text(&e.ty) {
            return false;
        }
        let overlaps = |p: &[String]| self.whole.iter().any(|w| w.starts_with(p) || p.starts_with(w));
        let mut hit = false;
        let mut lets = Vec::new();
        ir::passes::visit(e, &mut |n| match &n.kind {
            ExprKind::Slot(i) => hit |= program.slots.get(*i as usize).is_some_and(|p| overlaps(p)),
            ExprKind::Input(p) => hit |= overlaps(p),
            ExprKind::BlockLet(i) => lets.push(*i),
            _ => {}
        });
        // A let's value reads only lets before it, so this ends.
        hit || lets.iter().any(|&i| rule.lets.get(i as usize).is_some_and(|l| self.taints(program, rule, l)))
    }

    /// A fired rule's reason, masked: holes that show a redacted argument whole, then every
    /// redacted text. `holes` are the byte ranges of the holes' text, in order.
    pub(crate) fn reason(&self, program: &Program, rule: &Rule, reason: &str, holes: &[(usize, usize)]) -> String {
        let exprs = rule.reason.iter().filter_map(|p| if let ReasonPart::Expr(e) = p { Some(e) } else { None });
        let mut out = String::with_capacity(reason.len());
        let mut at = 0;
        for (e, &(start, end)) in exprs.zip(holes) {
            if start < at || end > reason.len() || !reason.is_char_boundary(start) || !reason.is_char_boundary(end) {
                continue;
            }
            if self.taints(program, rule, e) {
                out.push_str(&reason[at..start]);
                out.push_str(REDACTED);
                at = end;
            }
        }
        out.push_str(&reason[at..]);
        self.mask.text(&out).into_owned()
    }
}

/// Whether values of `ty` can show text: strings, enums, and what holds them.
fn holds_text(ty: &Type) -> bool {
    match ty {
        Type::String | Type::Enum(_) | Type::Any | Type::Record(_) | Type::Map(_) => true,
        Type::List(t) | Type::Optional(t) => holds_text(t),
        Type::Bool | Type::Number | Type::Duration | Type::Timestamp => false,
    }
}

/// Every string inside `v`.
fn strings_in(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(items) => items.iter().for_each(|i| strings_in(i, out)),
        serde_json::Value::Object(map) => map.values().for_each(|i| strings_in(i, out)),
        _ => {}
    }
}
