//! The text rendering of a decision (`--format text`, `Decision::explain`): the outcome,
//! then each fired rule as an annotated source snippet with the values of its
//! sub-expressions labelled under them, then its reason; then approvals, modifications,
//! warnings and errors.

use super::{Decision, DecisionError, FiredRule, SpanJson};
use crate::diagnostics::terminal::{escape, mask_source};
use crate::diagnostics::trim_lines;
use crate::span::SourceMap;
use std::fmt::Write;

/// The decision in text, as `--explain` and `--format text` print it: outcome, rules and
/// reasons with their source lines, and the traced values; redacted values masked.
pub fn explain(d: &Decision, sources: &SourceMap) -> String {
    let mut out = String::new();
    // Everything that comes from the request (or the policy) is escaped: a tool name such as
    // `x\r\u{1b}[2KALLOW` must not paint over the real outcome on a terminal.
    let tool = if d.tool.is_empty() { "(no tool)".into() } else { escape(&d.tool) };
    let _ = writeln!(out, "{}: {} (policy {} {})", d.decision.as_str().to_uppercase(), tool, escape(&d.policy.name), escape(&d.policy.version));
    if d.decided_by.is_empty() {
        let why = if d.errors.iter().any(|e| matches!(e, DecisionError::Internal { .. })) {
            "an internal error stopped the decision, so the request is denied (fail closed)"
        } else if d.errors.iter().any(|e| matches!(e, DecisionError::Input { .. })) {
            "the request is invalid, so no rule ran (fail closed)"
        } else if d.is_denied() {
            "no rule allowed it and the policy is `default deny`"
        } else {
            "no rule denied it or required approval (the default)"
        };
        let _ = writeln!(out, "decided by: {why}");
    } else {
        let _ = writeln!(out, "decided by: {}", escape(&d.decided_by.join(", ")));
    }
    for rule in &d.rules {
        out.push('\n');
        out.push_str(&rule_snippet(rule, sources));
    }
    for a in &d.approvals {
        let from = if a.approvers.is_empty() { "any approver".into() } else { a.approvers.join(", ") };
        let _ = writeln!(out, "\napproval: {} (from {})", escape(&a.rule), escape(&from));
    }
    for m in &d.modifications {
        let _ = writeln!(out, "modified: {} {} (rule {})", m.op, escape(&m.path), escape(&m.rule));
    }
    if let Some(args) = &d.args {
        let _ = writeln!(out, "args: {}", escape(&args.to_string()));
    }
    for w in &d.warnings {
        let reason = w.reason.as_deref().map(escape);
        let _ = match (&w.rule, reason) {
            (Some(rule), Some(r)) => writeln!(out, "warning: {}: {r}", escape(rule)),
            (Some(rule), None) => writeln!(out, "warning: {}", escape(rule)),
            (None, r) => writeln!(out, "warning: {}", r.unwrap_or_default()),
        };
    }
    for e in &d.errors {
        match e {
            DecisionError::Input { message, .. } => {
                let _ = writeln!(out, "input error: {}", escape(message));
            }
            DecisionError::Rule { rule, span, message } => {
                let _ = writeln!(out, "rule error in {} at {}:{}:{}: {}", escape(rule), escape(&span.file), span.line, span.column, escape(message));
            }
            DecisionError::Internal { message } => {
                let _ = writeln!(out, "{}", escape(message));
            }
        }
    }
    out
}

/// One fired rule as an ariadne snippet, values labelled under sub-expressions.
fn rule_snippet(rule: &FiredRule, sources: &SourceMap) -> String {
    use ariadne::{CharSet, Config, IndexType, Label, Report, ReportKind};
    let Some((_, file)) = sources.files().find(|(_, f)| f.name == rule.span.file) else {
        return format!("{} {} ({}:{})\n", rule.effect, escape(&rule.id), escape(&rule.span.file), rule.span.line);
    };
    let kind = if rule.enforced { rule.effect.clone() } else { format!("{} (shadow, not enforced)", rule.effect) };
    let range = rule.span.start as usize..rule.span.end as usize;
    let name = escape(&file.shown).into_owned();
    let mut report = Report::build(ReportKind::Custom(&kind, ariadne::Color::Yellow), (name.clone(), range.clone()))
        .with_config(Config::default().with_index_type(IndexType::Byte).with_color(false).with_char_set(CharSet::Ascii).with_compact(false))
        .with_message(format!("rule `{}` fired", rule.id));
    let labels = labelled(rule);
    if labels.is_empty() {
        report = report.with_label(Label::new((name.clone(), range)).with_message("fired"));
    }
    for (i, (span, value)) in labels.iter().enumerate() {
        report = report.with_label(Label::new((name.clone(), span.start as usize..span.end as usize)).with_message(format!("= {value}")).with_order(i as i32));
    }
    if let Some(reason) = &rule.reason {
        report = report.with_note(format!("because: {}", escape(reason)));
    }
    let mut buf = Vec::new();
    let cache = ariadne::sources([(name, mask_source(&file.text).into_owned())]);
    let _ = report.finish().write(cache, &mut buf);
    trim_lines(&strip_ansi(&String::from_utf8_lossy(&buf)))
}

/// The trace entries worth a label (see `TraceJson::label`).
fn labelled(rule: &FiredRule) -> Vec<(SpanJson, String)> {
    let Some(trace) = &rule.trace else { return Vec::new() };
    let show = |v: &serde_json::Value| if v.is_null() { "missing".to_string() } else { escape(&v.to_string()).into_owned() };
    trace.iter().filter(|t| t.label).map(|t| (t.span.clone(), show(&t.value))).collect()
}

/// Removes ANSI colour codes (ariadne colours custom report kinds even when told not to).
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
