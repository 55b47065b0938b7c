//! `gavel test`: runs a policy set's `test` blocks. In: the policy, `--filter TEXT`, the
//! engine. Out: the report on stdout as text (with explanations of failures and rule
//! coverage), JSON (`gavel::testing::TestReport::to_json`) or JUnit XML for CI systems;
//! exit 0 only when every test ran passed, 1 otherwise (a filter that matches no test
//! included: it would test nothing).

use crate::{emit, engine, load, EngineArg, Format, LoadArgs};
use clap::{Args, ValueEnum};
use gavel::testing::TestReport;
use quick_xml::events::{BytesEnd, BytesStart, BytesText, Event};
use std::path::PathBuf;

#[derive(Args)]
pub struct TestArgs {
    /// The policy and its tests: `.pol` files or directories (read recursively)
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = EngineArg::Interp)]
    engine: EngineArg,
    /// Run only the tests whose name contains TEXT
    #[arg(long, value_name = "TEXT")]
    filter: Option<String>,
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    format: ReportFormat,
    #[command(flatten)]
    load: LoadArgs,
}

#[derive(Clone, Copy, ValueEnum)]
enum ReportFormat {
    Text,
    Json,
    /// JUnit XML, as CI systems read test results
    Junit,
}

pub fn run(args: &TestArgs) -> u8 {
    let policy = match load(&args.paths, Format::Text, &args.load) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let Some(engine) = engine(&policy, args.engine.into()) else { return 2 };
    let filter = args.filter.as_deref().unwrap_or_default();
    let report = gavel::testing::run_tests_matching(&policy, &engine, filter);
    match args.format {
        ReportFormat::Text => emit(&report.render()),
        ReportFormat::Json => emit(&(serde_json::to_string_pretty(&report.to_json()).unwrap_or_default() + "\n")),
        ReportFormat::Junit => emit(&junit(&report, policy.name())),
    }
    if report.results.is_empty() && !filter.is_empty() {
        eprintln!("error: no test name contains `{filter}`: nothing was tested; `gavel test` without `--filter` runs them all");
        return 1;
    }
    u8::from(report.failed() > 0)
}

/// The report as JUnit XML: one `testsuite` named after the policy, one `testcase` per test,
/// a failed one holding its failures and the decision's explanation.
fn junit(report: &TestReport, policy: &str) -> String {
    let mut w = quick_xml::Writer::new_with_indent(Vec::new(), b' ', 2);
    let tests = report.results.len().to_string();
    let failures = report.failed().to_string();
    // Writing to a `Vec` cannot fail.
    let _ = w.write_event(Event::Decl(quick_xml::events::BytesDecl::new("1.0", Some("UTF-8"), None)));
    let _ = w.write_event(Event::Start(BytesStart::new("testsuites").with_attributes([("tests", tests.as_str()), ("failures", failures.as_str())])));
    let suite = BytesStart::new("testsuite").with_attributes([("name", policy), ("tests", tests.as_str()), ("failures", failures.as_str())]);
    let _ = w.write_event(Event::Start(suite));
    for r in &report.results {
        let (file, line) = r.location.rsplit_once(':').unwrap_or((r.location.as_str(), ""));
        let name = xml_text(&r.name);
        let file = xml_text(file);
        let case = BytesStart::new("testcase").with_attributes([("name", name.as_str()), ("classname", policy), ("file", file.as_str()), ("line", line)]);
        if r.failures.is_empty() {
            let _ = w.write_event(Event::Empty(case));
            continue;
        }
        let _ = w.write_event(Event::Start(case));
        let message = xml_text(&r.failures.join("; "));
        let _ = w.write_event(Event::Start(BytesStart::new("failure").with_attributes([("message", message.as_str())])));
        let body = r.failures.iter().chain(&r.explanation).map(|t| xml_text(t)).collect::<Vec<_>>().join("\n\n");
        let _ = w.write_event(Event::Text(BytesText::new(&body)));
        let _ = w.write_event(Event::End(BytesEnd::new("failure")));
        let _ = w.write_event(Event::End(BytesEnd::new("testcase")));
    }
    let _ = w.write_event(Event::End(BytesEnd::new("testsuite")));
    let _ = w.write_event(Event::End(BytesEnd::new("testsuites")));
    let mut out = String::from_utf8_lossy(&w.into_inner()).into_owned();
    out.push('\n');
    out
}

/// Text XML 1.0 can hold: control characters other than tab and line ends (which a test
/// name or a request value may contain) have no representation, not even escaped, so they
/// are written as `U+FFFD`. quick-xml escapes the rest.
fn xml_text(s: &str) -> String {
    s.chars().map(|c| if c.is_control() && !matches!(c, '\t' | '\n' | '\r') { '\u{FFFD}' } else { c }).collect()
}
