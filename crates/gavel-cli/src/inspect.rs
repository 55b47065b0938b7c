//! `gavel inspect PATH...`: what a policy declares. In: the policy (loaded as `gavel check`
//! loads it: `--data`, limits). Out: `gavel::inspect::inspect`'s JSON (`--format json`), or
//! the same as text, one section per kind of declaration, each with its `FILE:LINE:COL`;
//! exit 0, or the diagnostics and 1 (2) when the policy does not compile (cannot be read).

use crate::{emit, load_showing, Format, LoadArgs};
use clap::Args;
use gavel::diagnostics::terminal::escape;
use serde_json::Value;
use std::path::PathBuf;

#[derive(Args)]
pub struct InspectArgs {
    /// `.pol` files or directories (read recursively)
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    #[command(flatten)]
    load: LoadArgs,
}

pub fn run(args: &InspectArgs) -> u8 {
    let policy = match load_showing(&args.paths, args.format, &args.load, false) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let v = gavel::inspect::inspect(&policy);
    match args.format {
        Format::Json => emit(&(serde_json::to_string_pretty(&v).unwrap_or_default() + "\n")),
        Format::Text => emit(&render(&v)),
    }
    0
}

/// A string field, escaped for the terminal (policy text may hold anything).
fn s(v: &Value) -> String {
    escape(v.as_str().unwrap_or_default()).into_owned()
}

fn list(v: &Value) -> &[Value] {
    v.as_array().map_or(&[], Vec::as_slice)
}

fn joined(v: &Value, sep: &str) -> String {
    list(v).iter().map(s).collect::<Vec<_>>().join(sep)
}

fn fields(v: &Value) -> String {
    let one = |f: &Value| format!("{}{}: {}", s(&f["name"]), if f["optional"] == true { "?" } else { "" }, s(&f["type"]));
    list(v).iter().map(one).collect::<Vec<_>>().join(", ")
}

/// The text report: the policy's identity, then each non-empty section.
fn render(v: &Value) -> String {
    let p = &v["policy"];
    let mut out = format!(
        "policy {} version \"{}\"\n  digest {}\n  default {}, on error {}\n  files: {}\n",
        s(&p["name"]),
        s(&p["version"]),
        s(&p["digest"]),
        s(&p["default"]),
        s(&p["on_error"]),
        joined(&v["files"], ", ")
    );
    let mut section = |title: &str, line: &dyn Fn(&Value) -> String| {
        let items = list(&v[title]);
        if items.is_empty() {
            return;
        }
        out.push_str(&format!("\n{title} ({})\n", items.len()));
        for item in items {
            out.push_str(&format!("  {}  ({})\n", line(item), s(&item["location"])));
        }
    };
    section("types", &|t| format!("type {} = {}", s(&t["name"]), s(&t["type"])));
    section("tools", &|t| format!("tool {}({}{})", s(&t["name"]), fields(&t["args"]), if t["open"] == true { ", ..." } else { "" }));
    section("request", &|f| fields(&Value::Array(vec![f.clone()])));
    section("lets", &|l| format!("let {} = {}", s(&l["name"]), s(&l["value"])));
    section("data", &|d| format!("data {}: {}", s(&d["name"]), s(&d["type"])));
    section("functions", &|f| s(&f["signature"]));
    section("windows", &|w| {
        let on = if w["on"].is_null() { String::new() } else { format!(" on {}", joined(&w["on"], ", ")) };
        let when = if w["when"].is_null() { String::new() } else { format!(" when {}", s(&w["when"])) };
        format!("window {} = {}{on} over {} by {}{when}", s(&w["name"]), s(&w["aggregate"]), s(&w["over"]), joined(&w["by"], ", "))
    });
    section("rules", &|r| {
        let mut line = format!("{}: {}", s(&r["id"]), s(&r["effect"]));
        if !r["approvers"].is_null() {
            line.push_str(&format!(" from {}", joined(&r["approvers"], ", ")));
        }
        if !r["path"].is_null() {
            line.push_str(&format!(" {}", s(&r["path"])));
        }
        line.push_str(&if r["on"].is_null() { " on every tool".to_string() } else { format!(" on {}", joined(&r["on"], ", ")) });
        if let Some(a) = r["annotations"].as_object() {
            for (k, val) in a {
                line.push_str(&format!(" @{}({})", escape(k), serde_json::to_string(&s(val)).unwrap_or_default()));
            }
        }
        if r["enforced"] == false {
            line.push_str(" [not enforced]");
        }
        line
    });
    section("fixtures", &|f| format!("fixture {}", s(&f["name"])));
    section("tests", &|t| format!("test {}", serde_json::to_string(&s(&t["name"])).unwrap_or_default()));
    out
}
