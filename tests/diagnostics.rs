//! Snapshot tests of diagnostics: every policy under `tests/invalid/` must fail to compile,
//! and its rendered diagnostics (text, as `gavel check` prints them) are snapshotted.

use gavel::Policy;
use std::path::Path;

#[test]
fn invalid_policies_are_rejected_with_these_diagnostics() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/invalid");
    let mut files: Vec<_> = std::fs::read_dir(&dir).expect("tests/invalid exists").flatten().map(|e| e.path()).collect();
    files.sort();
    assert!(files.len() >= 20, "expected the invalid-policy corpus");
    for path in files.iter().filter(|p| p.extension().is_some_and(|e| e == "pol")) {
        let name = path.file_stem().and_then(|s| s.to_str()).expect("utf-8 name").to_string();
        let Err(diags) = Policy::from_paths(&[path]) else {
            panic!("{name}.pol compiled, but it must not");
        };
        assert!(diags.has_errors(), "{name}.pol: no error among {:?}", diags.items);
        // Diagnostics show the path as given (absolute here); the snapshots keep the file's
        // name, the same on every machine.
        insta::assert_snapshot!(name, diags.render().replace(&format!("{}/", dir.display()), ""));
    }
}

#[test]
fn json_diagnostics_have_code_place_and_help() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/invalid/enum_typo.pol");
    let Err(diags) = Policy::from_paths(&[dir]) else { panic!("must not compile") };
    let json = diags.to_json();
    let d = &json["diagnostics"][0];
    assert_eq!(d["severity"], "error");
    assert_eq!(d["code"], "E0204");
    assert_eq!(d["line"], 7);
    assert!(d["help"].as_str().is_some_and(|h| h.contains("\"high\"")), "{d}");
    assert!(d["start"].as_u64() < d["end"].as_u64());
}

#[test]
fn operators_from_other_languages_get_one_targeted_error_each() {
    let src = "policy p\nversion \"1\"\ndefault allow\ntool send(to: string)\nrule a: on send deny when args.to != \"x\" && !(args.to == 'hi') || true\n";
    let Err(diags) = Policy::from_sources(&[("p.pol", src)]) else { panic!("must not compile") };
    let found: Vec<(&str, &str, Option<&str>)> =
        diags.items.iter().map(|d| (d.code, &src[d.span().start as usize..d.span().end as usize], d.help.as_deref())).collect();
    assert_eq!(
        found,
        vec![
            ("E0018", "&&", Some("write `and`")),
            ("E0018", "!", Some("write `not`")),
            ("E0017", "'hi'", Some("write \"...\" with double quotes")),
            ("E0018", "||", Some("write `or`")),
        ]
    );
}

#[test]
fn a_type_error_from_a_bare_name_that_means_the_envelope_field_says_to_write_args() {
    let src = "policy p\nversion \"1\"\ndefault allow\ntool send(user: string)\nrequest { user: { id: string } }\non send {\n  rule a: deny when user == \"x\"\n  rule b: deny when user.starts_with(\"adm\")\n  rule c: deny when user.id == 1\n}\n";
    let Err(diags) = Policy::from_sources(&[("p.pol", src)]) else { panic!("must not compile") };
    let errors: Vec<(&str, Option<&str>)> = diags.items.iter().filter(|d| d.is_error()).map(|d| (d.code, d.help.as_deref())).collect();
    let hint = "`user` here is the request field `user`; write `args.user` for the tool argument";
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert_eq!(&errors[..2], &[("E0202", Some(hint)), ("E0110", Some(hint))]);
    // `user.id` is the request field on purpose: no hint about `args`.
    assert!(errors[2].1.is_none_or(|h| !h.contains("args.user")), "{errors:?}");
}

#[test]
fn an_unclosed_parenthesis_is_pointed_at() {
    let labels = |src: &str| -> Vec<(&'static str, Vec<(usize, String)>)> {
        let Err(diags) = Policy::from_sources(&[("p.pol", src)]) else { panic!("must not compile") };
        diags.items.iter().map(|d| (d.code, d.labels.iter().map(|l| (l.span.start as usize, l.message.clone())).collect())).collect()
    };
    let head = "policy p\nversion \"1\"\ndefault allow\n";
    let src = format!("{head}rule a: deny when (true and (false)\nrule b: allow when (true) == (false)\n");
    let opener = src.find("(true and").expect("opener");
    let next = src.find("rule b").expect("rule b");
    assert_eq!(labels(&src), vec![("E0002", vec![(next, "unexpected here".into()), (opener, "this `(` is never closed".into())])]);
    let src = format!("{head}rule b: allow when (true");
    let opener = src.find('(').expect("opener");
    assert_eq!(labels(&src), vec![("E0003", vec![(src.len(), "the file ends here".into()), (opener, "this `(` is never closed".into())])]);
    // A bracket that is closed gets no such label, even when the error is inside it.
    let src = format!("{head}rule c: deny when (1 => 1) == 1\n");
    assert_eq!(labels(&src).iter().map(|(_, l)| l.len()).collect::<Vec<_>>(), vec![1]);
}

/// Each snippet's header (`,-[ a.pol:8:6 ]`) names a line that the snippet shows.
fn headers_name_lines_their_snippets_show(rendered: &str) {
    let mut groups = rendered.split("-[ ").skip(1).peekable();
    assert!(groups.peek().is_some(), "{rendered}");
    for group in groups {
        let line = group.split(':').nth(1).expect("a line number");
        assert!(group.lines().skip(1).any(|l| l.trim_start().starts_with(&format!("{line} |"))), "header line {line} not shown:\n{rendered}");
    }
}

#[test]
fn a_name_defined_twice_is_headed_by_the_place_each_snippet_shows() {
    let one = "policy p\nversion \"1\"\ndefault allow\nfn f(x: number) -> bool = x > 1\nfn f(x: number) -> bool = x > 2\n";
    let Err(diags) = Policy::from_sources(&[("p.pol", one)]) else { panic!("must not compile") };
    assert_eq!(diags.items[0].code, "E0103");
    headers_name_lines_their_snippets_show(&diags.render());
    let Err(diags) = Policy::from_sources(&[("a.pol", one.rsplit_once("fn f").expect("two").0), ("b.pol", "// b\n\nfn f(x: number) -> bool = x > 2\n")]) else {
        panic!("must not compile")
    };
    assert_eq!(diags.items[0].code, "E0103");
    headers_name_lines_their_snippets_show(&diags.render());
}
