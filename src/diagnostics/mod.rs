//! Diagnostics: what every stage reports to the policy author. In: constructor calls from
//! the stages (one function per error kind, each with a stable code, in `codes.rs`). Out:
//! `Diagnostic` values, rendered only at the edge: as ariadne snippets (`render`) or as the
//! JSON of PRODUCT.md §2 (`to_json`).
//!
//! Style: messages lowercase, no trailing period, user text in backticks; the first label
//! sits on the exact span; `help` says how to fix it.

mod codes;
pub mod terminal;
pub(crate) use codes::*;

use crate::span::{SourceMap, Span};
use serde_json::json;
use terminal::{escape, escape_text, mask_source};

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// The policy does not compile.
    Error,
    /// It compiles, but something deserves a look (`--deny-warnings` makes it fail).
    Warning,
}

/// A message at a span: the primary one says what is wrong there, others point at what is related.
#[derive(Clone, Debug, PartialEq)]
pub struct Label {
    /// Where.
    pub span: Span,
    /// What to say there.
    pub message: String,
}

/// A problem found in policy text, data or a file: code, message, labels, help.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Stable code, e.g. `E0101`.
    pub code: &'static str,
    /// What is wrong, lowercase, user text in backticks.
    pub message: String,
    /// The primary label is `labels[0]`; its span is where the diagnostic points.
    pub labels: Vec<Label>,
    /// How to fix it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error with its primary label.
    pub fn error(code: &'static str, message: impl Into<String>, span: Span, label: impl Into<String>) -> Diagnostic {
        Diagnostic { severity: Severity::Error, code, message: message.into(), labels: vec![Label { span, message: label.into() }], help: None }
    }

    /// A warning with its primary label.
    pub fn warning(code: &'static str, message: impl Into<String>, span: Span, label: impl Into<String>) -> Diagnostic {
        Diagnostic { severity: Severity::Warning, ..Diagnostic::error(code, message, span, label) }
    }

    /// Adds a secondary label.
    pub fn with_label(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.labels.push(Label { span, message: message.into() });
        self
    }

    /// Sets the help.
    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Where the diagnostic points (its primary label's span).
    pub fn span(&self) -> Span {
        self.labels[0].span
    }

    /// It is an error, not a warning.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// A list of diagnostics, as returned by `Policy::from_paths` when compilation fails.
#[derive(Clone, Debug, Default)]
pub struct Diagnostics {
    /// The diagnostics, in the order found.
    pub items: Vec<Diagnostic>,
    /// The files they point into.
    pub sources: SourceMap,
}

impl Diagnostics {
    /// Whether the only problems are files that could not be read (a usage error).
    pub fn only_file_errors(&self) -> bool {
        self.items.iter().all(|d| d.code.starts_with("E04"))
    }

    /// Whether any is an error.
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    /// Renders every diagnostic as an annotated snippet, without colour.
    pub fn render(&self) -> String {
        self.items.iter().map(|d| render(d, &self.sources, false)).collect()
    }

    /// The JSON of PRODUCT.md §2: `{"diagnostics": [...]}`, each with severity, code, message,
    /// file, line, column, labels and help.
    pub fn to_json(&self) -> serde_json::Value {
        json!({ "diagnostics": self.items.iter().map(|d| to_json(d, &self.sources)).collect::<Vec<_>>() })
    }
}

impl std::fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render())
    }
}

impl std::error::Error for Diagnostics {}

/// Renders one diagnostic as an ariadne report (byte-indexed, ASCII, trailing spaces trimmed).
pub fn render(d: &Diagnostic, sources: &SourceMap, color: bool) -> String {
    use ariadne::{CharSet, Config, IndexType, Label as ALabel, Report, ReportKind};
    if sources.get(d.span().file).text.is_empty() {
        return render_without_source(d, sources);
    }
    let kind = match d.severity {
        Severity::Error => ReportKind::Error,
        Severity::Warning => ReportKind::Warning,
    };
    let name = |s: Span| escape(&sources.get(s.file).shown).into_owned();
    let primary = d.span();
    let mut report = Report::build(kind, (name(primary), primary.range()))
        .with_config(Config::default().with_index_type(IndexType::Byte).with_color(color).with_char_set(if color { CharSet::Unicode } else { CharSet::Ascii }))
        .with_code(d.code)
        .with_message(escape_text(&d.message));
    // Labels in the primary's file first, each file's in text order: ariadne starts a new
    // snippet for a label above the previous one, and heads every snippet of the primary's
    // file with the primary's place (`a.pol:8:6` over line 7). In order, one snippet per
    // file shows all of its labels under a header that names a place in it.
    let mut by_place: Vec<usize> = (0..d.labels.len()).collect();
    by_place.sort_by_key(|&i| {
        let s = d.labels[i].span;
        (s.file != primary.file, s.file.0, s.start)
    });
    let order = |i: usize| by_place.iter().position(|&j| j == i).map_or(0, |p| p as i32);
    for (i, l) in d.labels.iter().enumerate() {
        let mut label = ALabel::new((name(l.span), l.span.range())).with_message(escape_text(&l.message)).with_order(order(i));
        if color {
            label = label.with_color(if i == 0 { ariadne::Color::Red } else { ariadne::Color::Blue });
        }
        report = report.with_label(label);
    }
    if let Some(help) = &d.help {
        report = report.with_help(escape_text(help));
    }
    let cache = ariadne::sources(sources.files().map(|(_, f)| (escape(&f.shown).into_owned(), mask_source(&f.text).into_owned())));
    let mut out = Vec::new();
    // Writing into a Vec cannot fail; a failure here would only lose the snippet.
    let _ = report.finish().write(cache, &mut out);
    trim_lines(&String::from_utf8_lossy(&out))
}

/// A diagnostic about a file as a whole (unreadable, empty): no snippet to show.
fn render_without_source(d: &Diagnostic, sources: &SourceMap) -> String {
    let kind = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let mut out = format!("[{}] {kind}: {}\n  --> {}\n", d.code, escape_text(&d.message), escape(&sources.get(d.span().file).shown));
    if let Some(help) = &d.help {
        out.push_str(&format!("  help: {}\n", escape_text(help)));
    }
    out
}

/// Removes trailing spaces from every line (ariadne pads lines; snapshots must not).
pub fn trim_lines(s: &str) -> String {
    let mut out: String = s.lines().map(|l| l.trim_end()).collect::<Vec<_>>().join("\n");
    out.push('\n');
    out
}

/// One diagnostic in the JSON shape of PRODUCT.md §2.
pub fn to_json(d: &Diagnostic, sources: &SourceMap) -> serde_json::Value {
    let primary = d.span();
    let file = sources.get(primary.file);
    let at = file.line_col(primary.start as usize);
    json!({
        "severity": match d.severity { Severity::Error => "error", Severity::Warning => "warning" },
        "code": d.code,
        "message": d.message,
        "file": file.shown,
        "line": at.line,
        "column": at.column,
        "start": primary.start,
        "end": primary.end,
        "labels": d.labels.iter().map(|l| {
            let f = sources.get(l.span.file);
            let lc = f.line_col(l.span.start as usize);
            json!({ "message": l.message, "file": f.shown, "line": lc.line, "column": lc.column,
                    "start": l.span.start, "end": l.span.end })
        }).collect::<Vec<_>>(),
        "help": d.help,
    })
}
