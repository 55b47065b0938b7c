//! Reference data (LANGUAGE.md §9): every folder under `tests/invalid_data/` holds a policy
//! whose data must be refused, and its diagnostics are snapshotted; the builder supplies
//! and replaces data, and the digest covers it. Decisions that read data are cases under
//! `tests/cases/data` (run by `decisions.rs` on both engines).

use gavel::{Backend, Policy};
use std::path::Path;

const POLICY: &str = "policy p\nversion \"1\"\ndefault allow\ndata limits: map<number>\ntool pay(amount: number, currency: string)\nrule over_limit: on pay deny when amount > (limits[currency] ?? 0)\n";
const REQUEST: &[u8] = br#"{"tool": "pay", "args": {"amount": 500, "currency": "USD"}}"#;

#[test]
fn bad_data_is_refused_with_these_diagnostics() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/invalid_data");
    let mut cases: Vec<_> = std::fs::read_dir(&dir).expect("tests/invalid_data exists").flatten().map(|e| e.path()).collect();
    cases.sort();
    assert!(cases.len() >= 6, "expected the invalid-data corpus");
    for case in cases {
        let name = case.file_name().and_then(|s| s.to_str()).expect("utf-8 name").to_string();
        let Err(diags) = Policy::from_paths(&[&case]) else { panic!("{name} compiled, but its data must be refused") };
        assert!(diags.has_errors() && !diags.only_file_errors(), "{name}: {:?}", diags.items);
        // The folder's own path differs between machines: show it relative.
        let text = diags.render().replace(&format!("{}/", case.display()), "");
        insta::assert_snapshot!(name, text);
    }
}

#[test]
fn the_builder_supplies_data_and_a_replacement_is_whole() {
    let decide = |data: &str| {
        let policy = Policy::builder().source("p.pol", POLICY).data("limits", data).build().expect("compiles");
        let engine = policy.engine(Backend::Interpreter).expect("interpreter");
        (engine.decide_json(REQUEST).expect("decides").decision, policy.digest().to_string())
    };
    let (low, low_digest) = decide(r#"{"USD": 100}"#);
    let (high, high_digest) = decide(r#"{"USD": 1000}"#);
    assert_eq!((low.as_str(), high.as_str()), ("deny", "allow"));
    assert_ne!(low_digest, high_digest, "the digest covers the data");
}

#[test]
fn a_data_file_replaces_the_folders_data() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("data")).expect("data dir");
    std::fs::write(dir.path().join("p.pol"), POLICY).expect("policy");
    std::fs::write(dir.path().join("data/limits.json"), r#"{"USD": 100}"#).expect("data");
    let other = dir.path().join("month_end.json");
    std::fs::write(&other, r#"{"USD": 1000}"#).expect("replacement");
    let folder = Policy::from_paths(&[dir.path()]).expect("compiles");
    let replaced = Policy::builder().path(dir.path()).data_file("limits", &other).build().expect("compiles");
    let decide = |p: &Policy| p.engine(Backend::Interpreter).expect("interpreter").decide_json(REQUEST).expect("decides").decision;
    assert_eq!((decide(&folder).as_str(), decide(&replaced).as_str()), ("deny", "allow"));
    assert_ne!(folder.digest(), replaced.digest());
}

#[test]
fn data_without_a_folder_asks_for_data_and_a_bad_name_suggests_the_declared_one() {
    let Err(d) = Policy::from_sources(&[("p.pol", POLICY)]) else { panic!("no data given") };
    let text = d.render();
    assert!(text.contains("E0601") && text.contains("--data limits=FILE.json"), "{text}");
    let Err(d) = Policy::builder().source("p.pol", POLICY).data("limits", "{}").data("limit", "{}").build() else { panic!("an undeclared name") };
    let text = d.render();
    assert!(text.contains("E0602") && text.contains("did you mean `limits`"), "{text}");
}

#[test]
fn an_unreadable_data_file_is_a_file_error() {
    let Err(d) = Policy::builder().source("p.pol", POLICY).data_file("limits", "/nonexistent/limits.json").build() else { panic!("unreadable") };
    assert!(d.only_file_errors(), "{:?}", d.items);
    assert!(d.render().contains("/nonexistent/limits.json"), "{}", d.render());
}

#[test]
fn in_over_a_long_data_list_is_a_hash_lookup_with_the_scans_answers() {
    // 8 or more strings are hashed at load (`in_set` in the disassembly); fewer are scanned.
    // Both give the scan's answers on both engines: same bytes only, no case folding, no
    // trimming, the empty string an element like any other.
    let policy = "policy p\nversion \"1\"\ndefault allow\ndata blocked: list<string>\ntool send(to: string, cc?: string)\n\
                  rule listed: on send deny when to in blocked\n\
                  rule cc_blocked: on send require approval when (cc ?? \"none\") in blocked\n\
                  rule not_listed: on send warn when to not in blocked and not blocked.contains(to)\n";
    let long: Vec<String> = (0..1000).map(|i| format!("u{i}@x.com")).chain(["".to_string(), "É@x.com".to_string()]).collect();
    let short = &long[..3];
    for (list, hashed) in [(&long[..], true), (short, false)] {
        let p = Policy::builder().source("p.pol", policy).data("blocked", serde_json::to_string(list).expect("json")).build().expect("compiles");
        assert_eq!(p.disassemble().contains("in_set"), hashed, "{} elements", list.len());
        for backend in [Backend::Interpreter, Backend::Jit] {
            let engine = p.engine(backend).expect("backend");
            let decide = |args: &str| {
                let d = engine.decide_json(format!(r#"{{"tool": "send", "args": {args}}}"#).as_bytes()).expect("decides");
                (d.decision.as_str(), d.rules.iter().map(|r| r.id.clone()).collect::<Vec<_>>().join(","))
            };
            assert_eq!(decide(r#"{"to": "u2@x.com"}"#), ("deny", "listed".to_string()), "{backend:?}");
            assert_eq!(decide(r#"{"to": "U2@x.com"}"#), ("allow", "not_listed".to_string()), "{backend:?}: no case folding");
            assert_eq!(decide(r#"{"to": "u2@x.com "}"#), ("allow", "not_listed".to_string()), "{backend:?}: no trimming");
            assert_eq!(decide(r#"{"to": "x", "cc": "u1@x.com"}"#), ("require_approval", "cc_blocked,not_listed".to_string()), "{backend:?}");
            if hashed {
                assert_eq!(decide(r#"{"to": ""}"#), ("deny", "listed".to_string()), "{backend:?}: the empty string is an element");
                assert_eq!(decide(r#"{"to": "\u00c9@x.com"}"#), ("deny", "listed".to_string()), "{backend:?}: escapes decode to the same bytes");
                assert_eq!(decide(r#"{"to": "u999@x.com"}"#), ("deny", "listed".to_string()), "{backend:?}");
            }
        }
    }
}
