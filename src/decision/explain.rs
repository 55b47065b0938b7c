//! The text rendering of a decision (`--format text`, `Decision::explain`): the outcome,
//! then each fired rule as an annotated source snippet with the values of its
//! sub-expressions labelled under them, then its reason; then approvals, modifications,
//! warnings and errors.

use super::{Decision, DecisionError, FiredRule, SpanJson};
use crate::diagnostics::trim_lines;
use crate::span::SourceMap;
use std::fmt::Write;

pub fn explain(d: &Decision, sources: &SourceMap) -> String {
    let mut out = String::new();
    let tool = if d.tool.is_empty() { "(no tool)".to_string() } else { d.tool.clone() };
    let _ = writeln!(out, "{}: {} (policy {} {})", d.decision.as_str().to_uppercase(), tool, d.policy.name, d.policy.version);
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
        let _ = writeln!(out, "decided by: {}", d.decided_by.join(", "));
    }
    for rule in &d.rules {
        out.push('\n');
        out.push_str(&rule_snippet(rule, sources));
    }
    for a in &d.approvals {
        let _ = writeln!(out, "\napproval: {} (from {})", a.rule, if a.approvers.is_empty() { "any approver".into() } else { a.approvers.join(", ") });
    }
    for m in &d.modifications {
        let _ = writeln!(out, "modified: {} {} (rule {})", m.op, m.path, m.rule);
    }
    if let Some(args) = &d.args {
        let _ = writeln!(out, "args: {args}");
    }
    for w in &d.warnings {
        let _ = writeln!(out, "warning: {}{}", w.rule, w.reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default());
    }
    for e in &d.errors {
        match e {
            DecisionError::Input { message, .. } => {
                let _ = writeln!(out, "input error: {message}");
            }
            DecisionError::Rule { rule, span, message } => {
                let _ = writeln!(out, "rule error in {rule} at {}:{}:{}: {message}", span.file, span.line, span.column);
            }
            DecisionError::Internal { message } => {
                let _ = writeln!(out, "{message}");
            }
        }
    }
    out
}

/// One fired rule as an ariadne snippet, values labelled under sub-expressions.
fn rule_snippet(rule: &FiredRule, sources: &SourceMap) -> String {
    use ariadne::{CharSet, Config, IndexType, Label, Report, ReportKind};
    let Some((_, file)) = sources.files().find(|(_, f)| f.name == rule.span.file) else {
        return format!("{} {} ({}:{})\n", rule.effect, rule.id, rule.span.file, rule.span.line);
    };
    let kind = if rule.enforced { rule.effect.clone() } else { format!("{} (shadow, not enforced)", rule.effect) };
    let range = rule.span.start as usize..rule.span.end as usize;
    let mut report = Report::build(ReportKind::Custom(&kind, ariadne::Color::Yellow), (file.name.clone(), range.clone()))
        .with_config(Config::default().with_index_type(IndexType::Byte).with_color(false).with_char_set(CharSet::Ascii).with_compact(false))
        .with_message(format!("rule `{}` fired", rule.id));
    let labels = labelled(rule);
    if labels.is_empty() {
        report = report.with_label(Label::new((file.name.clone(), range)).with_message("fired"));
    }
    for (i, (span, value)) in labels.iter().enumerate() {
        report = report.with_label(Label::new((file.name.clone(), span.start as usize..span.end as usize)).with_message(format!("= {value}")).with_order(i as i32));
    }
    if let Some(reason) = &rule.reason {
        report = report.with_note(format!("because: {reason}"));
    }
    let mut buf = Vec::new();
    let cache = ariadne::sources([(file.name.clone(), file.text.clone())]);
    let _ = report.finish().write(cache, &mut buf);
    trim_lines(&strip_ansi(&String::from_utf8_lossy(&buf)))
}

/// The trace entries worth a label (see `TraceJson::label`).
fn labelled(rule: &FiredRule) -> Vec<(SpanJson, String)> {
    let Some(trace) = &rule.trace else { return Vec::new() };
    let show = |v: &serde_json::Value| if v.is_null() { "missing".to_string() } else { v.to_string() };
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
