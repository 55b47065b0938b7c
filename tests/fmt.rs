//! `gavel fmt`'s formatter (`gavel::syntax::format`): idempotent, and never changing what a
//! policy compiles to (the same IR, spans and line-numbered rule ids aside), on every policy
//! file of the repository and on generated policies (`policies.rs`, with comments, functions,
//! escapes, every effect, fixtures and tests added); snapshots of messy inputs; the bundled files
//! stay formatted.

mod common;
#[path = "common/policies.rs"]
mod policies;

use gavel::syntax::format::format_source;
use gavel::Policy;
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn fmt(name: &str, src: &str) -> String {
    match format_source(name, src) {
        Ok(s) => s,
        Err(d) => panic!("{name} does not parse:\n{}", d.render()),
    }
}

/// Every `.pol` file under `dir`, recursively, sorted.
fn pol_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else if p.extension().is_some_and(|x| x == "pol") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// What a compiled policy is, positions aside: its IR and its tests, with spans and the
/// `FILE:LINE` ids of unnamed rules (which follow the lines) blotted out.
pub fn ir_of(policy: &Policy) -> String {
    let dump = format!("{:#?}\n{:#?}", policy.program(), policy.tests());
    let spans = regex::Regex::new(r"\b\d+:\d+\.\.\d+\b").expect("a valid regex");
    let lines = regex::Regex::new(r"\.pol:\d+").expect("a valid regex");
    let dump = lines.replace_all(&spans.replace_all(&dump, "SPAN"), ".pol:LINE").into_owned();
    // Sets print in no fixed order: sort the members of each (lines of `"name",` only).
    let sets = regex::Regex::new(r#"\{\n((?:\s*"[^"\n]*",\n)+)"#).expect("a valid regex");
    sets.replace_all(&dump, |c: &regex::Captures<'_>| {
        let mut members: Vec<&str> = c[1].lines().collect();
        members.sort_unstable();
        format!("{{\n{}\n", members.join("\n"))
    })
    .into_owned()
}

/// Compiles `files` (name, text) with the data files of `data_dir`.
fn compile(files: &[(String, String)], data_dir: Option<&Path>) -> Result<Policy, gavel::Diagnostics> {
    let mut b = Policy::builder();
    for (name, text) in files {
        b = b.source(name.clone(), text.clone());
    }
    if let Some(dir) = data_dir {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if let Some(stem) = p.file_stem().and_then(|s| s.to_str()).filter(|_| p.extension().is_some_and(|x| x == "json")) {
                b = b.data_file(stem.to_string(), p.clone());
            }
        }
    }
    b.build()
}

#[test]
fn formatting_is_idempotent_on_every_policy_file() {
    let mut seen = 0;
    for dir in ["examples", "tests", "stdlib"] {
        for path in pol_files(&Path::new(ROOT).join(dir)) {
            // tests/invalid/not_utf8.pol is not text: there is nothing to format (E0013).
            let Ok(src) = std::fs::read_to_string(&path) else { continue };
            let name = path.display().to_string();
            let Ok(once) = format_source(&name, &src) else { continue };
            let twice = fmt(&name, &once);
            assert_eq!(once, twice, "{name}: formatting twice differs from formatting once");
            // Every comment survives.
            assert_eq!(comment_count(&src), comment_count(&once), "{name}: a comment was lost");
            seen += 1;
        }
    }
    assert!(seen >= 30, "only {seen} policy files formatted");
}

/// Counts `//` and `/*` outside strings, by lexing (strings are single tokens).
fn comment_count(src: &str) -> usize {
    let stripped = regex::Regex::new(r#""([^"\\]|\\.)*""#).expect("a valid regex").replace_all(src, "\"\"");
    stripped.matches("//").count() + stripped.matches("/*").count()
}

#[test]
fn formatting_never_changes_what_an_example_compiles_to() {
    for dir in common::examples() {
        let files: Vec<(String, String)> = pol_files(&dir)
            .iter()
            .map(|p| (p.file_name().and_then(|n| n.to_str()).unwrap_or("x.pol").to_string(), std::fs::read_to_string(p).expect("readable")))
            .collect();
        let formatted: Vec<(String, String)> = files.iter().map(|(n, s)| (n.clone(), fmt(n, s))).collect();
        let data = dir.join("data");
        let data = data.is_dir().then_some(data.as_path());
        let before = compile(&files, data).unwrap_or_else(|d| panic!("{}: {}", dir.display(), d.render()));
        let after = compile(&formatted, data).unwrap_or_else(|d| panic!("{} formatted: {}", dir.display(), d.render()));
        same(&ir_of(&before), &ir_of(&after), &dir.display().to_string());
    }
}

#[test]
fn formatting_never_changes_what_a_test_policy_compiles_to_or_its_diagnostics() {
    for path in pol_files(&Path::new(ROOT).join("tests")) {
        // tests/invalid/not_utf8.pol is not text: there is nothing to format (E0013).
        let Ok(src) = std::fs::read_to_string(&path) else { continue };
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("x.pol").to_string();
        let Ok(once) = format_source(&name, &src) else { continue };
        match (compile(&[(name.clone(), src)], None), compile(&[(name.clone(), once)], None)) {
            (Ok(a), Ok(b)) => same(&ir_of(&a), &ir_of(&b), &name),
            (Err(a), Err(b)) => {
                let codes = |d: &gavel::Diagnostics| d.items.iter().map(|i| i.code).collect::<Vec<_>>();
                assert_eq!(codes(&a), codes(&b), "{name}: formatting changed the diagnostics");
            }
            (a, b) => panic!("{name}: compiles before: {}, after: {}", a.is_ok(), b.is_ok()),
        }
    }
}

/// Fails with the first lines where two IR dumps differ (a whole dump is too long to read).
fn same(before: &str, after: &str, what: &str) {
    if before == after {
        return;
    }
    let (a, b): (Vec<&str>, Vec<&str>) = (before.lines().collect(), after.lines().collect());
    let at = a.iter().zip(&b).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()));
    let from = at.saturating_sub(12);
    panic!(
        "{what}: formatting changed the compiled policy at line {at}:\n--- before\n{}\n--- after\n{}",
        a[from..(at + 3).min(a.len())].join("\n"),
        b[from..(at + 3).min(b.len())].join("\n")
    );
}

/// The generated policy of `policies.rs` with what it leaves out added: comments on their own
/// line, at the end of a line and inside a line; functions; strings with escapes (in
/// conditions, reasons and test requests); the `redact` and `set` effects; fixtures (one
/// extending another) and a test.
fn decorated(rng: &mut policies::Rng) -> (String, Vec<(&'static str, String)>) {
    let mut out = String::new();
    let mut n = 0;
    let mut comment = |rng: &mut policies::Rng, block: bool| {
        n += 1;
        if block || rng.chance(20) {
            format!("/* c{n} */")
        } else {
            format!("// c{n}")
        }
    };
    let generated = policies::policy(rng);
    for line in generated.text.lines() {
        if rng.chance(15) {
            out.push_str(&format!("{}\n", comment(rng, false)));
        }
        if rng.chance(10) && line.contains(" when ") {
            out.push_str(&line.replacen(" when ", &format!(" when {} ", comment(rng, true)), 1));
        } else {
            out.push_str(line);
        }
        if !line.trim().is_empty() && rng.chance(15) {
            out.push_str(&format!(" {}", comment(rng, false)));
        }
        out.push('\n');
    }
    let extra = [
        "fn twice(x: number) -> number = x * 2",
        "fn wordy(s: string) -> bool = s.len() > twice(2) // end of a fn",
        "// before a named rule",
        "rule esc:\n  on t.a\n  deny when s == \"q\\\"uote\\\\ \\n\\t\\u{e9}\" or wordy(s)\n  because \"escaped \\\"{s}\\\" {workspace}\"",
        "rule red: on t.a redact s matching \"[0-9]+\" when b",
        "rule red2: on t.a redact o when has o // trailing",
        "rule setn: on t.a set n = twice(n) when n < 10",
        "rule pairs: on t.b warn when ps.all(p => p.v > 0) and ps.count(p => p.k == \"a\") > 1",
        "fixture base = {\n  tool: \"t.b\", // the tool\n  agent: { id: \"a1\", trust: \"low\" },\n  workspace: \"w\\\"x\",\n  context: {},\n  args: { n: 1_000, ps: [] },\n}",
        "fixture more = base with { args.n: 2 }",
        "test \"generated\" {\n  // inside a test\n  request more with { args.s: \"x\\ty\" }\n  expect deny\n}",
    ];
    // All of them, as they use each other (the functions, the fixtures).
    for item in extra {
        out.push_str(&format!("\n{item}\n"));
    }
    (out, generated.data)
}

/// The text of each comment outside strings, sorted (a formatter may move comments, not
/// drop, merge or change them).
fn comment_texts(src: &str) -> Vec<String> {
    let stripped = regex::Regex::new(r#""([^"\\]|\\.)*""#).expect("a valid regex").replace_all(src, "\"\"");
    let comments = regex::Regex::new(r"//[^\n]*|/\*[\s\S]*?\*/").expect("a valid regex");
    let mut texts: Vec<String> = comments.find_iter(&stripped).map(|m| m.as_str().trim_end().to_string()).collect();
    texts.sort();
    texts
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 1000, failure_persistence: None, ..Default::default() })]

    /// On generated policies: the formatted text compiles, to the same IR; formatting it
    /// again changes nothing; every comment is kept.
    #[test]
    fn formatting_generated_policies_keeps_their_meaning_and_comments(seed in proptest::prelude::any::<u64>()) {
        let (src, data) = decorated(&mut policies::Rng(seed));
        let with_data = |text: &str| data.iter().fold(Policy::builder().source("gen.pol", text.to_string()), |b, (name, json)| b.data(*name, json.clone())).build();
        let before = with_data(&src).unwrap_or_else(|d| panic!("the generated policy does not compile:\n{src}\n{}", d.render()));
        let once = fmt("gen.pol", &src);
        let after = with_data(&once).unwrap_or_else(|d| panic!("formatted, it does not compile:\n{src}\n---\n{once}\n{}", d.render()));
        same(&ir_of(&before), &ir_of(&after), &format!("{src}\n---\n{once}"));
        proptest::prop_assert_eq!(&fmt("gen.pol", &once), &once, "formatting twice differs:\n{}", src);
        proptest::prop_assert_eq!(comment_texts(&src), comment_texts(&once), "a comment changed:\n{}\n---\n{}", src, once);
    }
}
