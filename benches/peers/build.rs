//! Writes the hand-written Rust floor: for each scenario, the function a person would write
//! for those rules (a `match` on the tool, then one `if` per rule), generated from the same
//! description as the engines' policies (`src/scenario.rs`) into `$OUT_DIR/floor.rs`.

#[allow(dead_code)]
#[path = "src/scenario.rs"]
mod scenario;

use scenario::{Cond, Scenario, SCENARIOS};
use std::fmt::Write;

fn main() {
    println!("cargo::rerun-if-changed=src/scenario.rs");
    println!("cargo::rerun-if-changed=build.rs");
    let mut out = String::new();
    for s in SCENARIOS {
        write_floor(&mut out, &s);
    }
    out.push_str("/// The floor function for a scenario, by name.\n");
    out.push_str("pub fn floor_for(name: &str) -> Option<FloorFn> {\n    match name {\n");
    for s in SCENARIOS {
        let _ = writeln!(out, "        {:?} => Some(floor_{}),", s.name, s.name);
    }
    out.push_str("        _ => None,\n    }\n}\n");
    let dir = std::env::var("OUT_DIR").unwrap_or_else(|_| ".".to_string());
    if let Err(e) = std::fs::write(std::path::Path::new(&dir).join("floor.rs"), out) {
        panic!("cannot write floor.rs in {dir}: {e}");
    }
}

fn write_floor(out: &mut String, s: &Scenario) {
    let _ = writeln!(out, "/// {} rules over {} tools, written by hand.", s.rules, s.tools);
    let _ = writeln!(out, "pub fn floor_{}(r: &FloorRequest, fired: &mut Vec<&'static str>) -> bool {{", s.name);
    out.push_str("    fired.clear();\n    let a = &r.args;\n    match r.tool.as_str() {\n");
    let rules = s.rules();
    for tool in s.tool_names() {
        let _ = writeln!(out, "        {tool:?} => {{");
        for rule in rules.iter().filter(|r| r.tool == tool) {
            let test = match &rule.cond {
                Cond::ExternalAbove(n) => format!("a.amount > {n}.0 && a.recipient.external"),
                Cond::CountryAbove(n, c) => format!("a.amount > {n}.0 && a.recipient.country == {c:?}"),
                Cond::MemoContains(t) => format!("a.memo.contains({t:?})"),
            };
            let _ = writeln!(out, "            if {test} {{ fired.push({:?}); }}", rule.id);
        }
        out.push_str("        }\n");
    }
    out.push_str("        _ => {}\n    }\n    !fired.is_empty()\n}\n\n");
}
