//! `gavel_adapters::schema` on real-shaped tool schemas: every import compiles with the
//! library, and the generated text is snapshotted (tests/snapshots).

use gavel::Policy;
use gavel_adapters::schema::{import, ImportOptions, SchemaForm};
use std::path::Path;

fn opts(policy: &str) -> ImportOptions<'_> {
    ImportOptions { from: None, policy, existing: None, single_name: policy }
}

/// Compiles `text` as a whole policy set, panicking with the diagnostics if it does not.
fn compiles(name: &str, text: &str) -> Policy {
    Policy::from_sources(&[(name, text)]).unwrap_or_else(|d| panic!("{name} does not compile:\n{}\n{text}", d.render()))
}

fn sample(file: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas").join(file)).expect("vendored sample")
}

#[test]
fn reference_mcp_servers_import_and_compile() {
    let imported = import(&sample("mcp-servers.json"), &opts("mcp_servers")).expect("imports");
    assert_eq!(imported.form, SchemaForm::Mcp);
    assert_eq!(imported.declared, ["read_file", "write_file", "edit_file", "list_allowed_directories", "fetch", "git_commit", "git_log"]);
    compiles("mcp.pol", &imported.text);
    insta::assert_snapshot!("mcp_servers", imported.text);
}

#[test]
fn openai_definitions_import_and_compile() {
    let imported = import(&sample("openai-tools.json"), &opts("openai")).expect("imports");
    assert_eq!(imported.form, SchemaForm::OpenAi);
    assert_eq!(imported.declared, ["payments.transfer", "send_message", "search"]);
    compiles("openai.pol", &imported.text);
    // `Account` is used twice: one named type.
    assert!(imported.text.contains("type Account = "), "{}", imported.text);
    insta::assert_snapshot!("openai_tools", imported.text);
}

#[test]
fn vendored_agentdojo_suites_import_and_compile() {
    for suite in ["banking", "slack"] {
        let imported = import(&sample(&format!("agentdojo-{suite}.json")), &opts(suite)).expect("imports");
        assert_eq!(imported.form, SchemaForm::JsonSchema);
        compiles(suite, &imported.text);
        insta::assert_snapshot!(format!("agentdojo_{suite}"), imported.text);
    }
}

/// Every suite of ../shared/agentdojo, converted by scripts/agentdojo-schemas at test time;
/// nothing to do where that folder is absent (CI), the vendored samples cover it there.
#[test]
fn every_agentdojo_suite_in_shared_imports_and_compiles() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let Ok(dir) = std::fs::read_dir(root.join("../shared/agentdojo")) else { return };
    let mut seen = 0;
    for entry in dir.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !(name.starts_with("tools-") && name.ends_with(".json")) {
            continue;
        }
        let out = std::process::Command::new("python3").arg(root.join("scripts/agentdojo-schemas")).arg(entry.path()).output().expect("python3 runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let json = String::from_utf8(out.stdout).expect("utf-8");
        let imported = import(&json, &opts("agentdojo")).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!imported.declared.is_empty(), "{name}");
        compiles(&name, &imported.text);
        seen += 1;
    }
    assert!(seen >= 2, "expected the tools-*.json files in ../shared/agentdojo");
}

#[test]
fn merge_keeps_declared_tools_and_appends_new_ones() {
    let existing = "policy fs\nversion \"1\"\ndefault allow\n\n// hand-edited: only paths under /srv\ntool read_file(path: string)\ntype Edit = { a: number }\nrule no_etc: on read_file deny when path.starts_with(\"/etc\")\n";
    let options = ImportOptions { existing: Some(existing), ..opts("fs") };
    let imported = import(&sample("mcp-servers.json"), &options).expect("imports");
    assert_eq!(imported.kept, ["read_file"]);
    assert!(!imported.declared.contains(&"read_file".to_string()));
    assert!(!imported.text.contains("policy "), "no header when merging: {}", imported.text);
    let merged = format!("{existing}{}", imported.text);
    compiles("merged.pol", &merged);
    // Merging again adds nothing.
    let again = import(&sample("mcp-servers.json"), &ImportOptions { existing: Some(&merged), ..opts("fs") }).expect("imports");
    assert!(again.declared.is_empty(), "{:?}", again.declared);
    assert_eq!(again.text, "");
}

#[test]
fn forms_are_guessed_and_can_be_named() {
    let mcp = r#"{"tools": [{"name": "t", "inputSchema": {"type": "object", "properties": {"a": {"type": "string"}}}}]}"#;
    assert_eq!(import(mcp, &opts("p")).unwrap().form, SchemaForm::Mcp);
    let single = r#"{"title": "lookup", "type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]}"#;
    let imported = import(single, &opts("p")).unwrap();
    assert_eq!((imported.form, imported.declared.as_slice()), (SchemaForm::JsonSchema, &["lookup".to_string()][..]));
    assert!(imported.text.contains("tool lookup(\n  id: string,\n)"), "{}", imported.text);
    let e = import(mcp, &ImportOptions { from: Some(SchemaForm::OpenAi), ..opts("p") }).unwrap_err();
    assert_eq!(e.path, "tools[0].function");
    let e = import("[1, 2]", &opts("p")).unwrap_err();
    assert!(e.message.contains("--from"), "{e}");
    assert!(import("{", &opts("p")).unwrap_err().message.starts_with("not JSON"));
}

/// What has no equivalent still compiles: recursion, keywords and odd names, unusual enums,
/// a `$ref` used many times (expanded once), a tool with no schema.
#[test]
fn awkward_schemas_compile() {
    let json = r##"{"tools": [
      {"name": "tree", "inputSchema": {"type": "object", "properties": {"node": {"$ref": "#/$defs/Node"}},
        "$defs": {"Node": {"type": "object", "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/Node"}}}}}}},
      {"name": "set", "inputSchema": {"type": "object", "properties": {"from": {"type": "string"}, "a-b": {"type": "boolean"}, "a_b": {"type": "number"},
        "mode": {"enum": ["q\"uote", "back\\slash", "new\nline"]}, "n": {"enum": [1, 2]}, "mixed": {"enum": ["a", 1]}, "never": false, "empty": {},
        "rec": {"type": "object", "properties": {}}, "tuple": {"type": "array", "items": {"type": ["string", "null"]}}, "types": {"type": ["string", "number"]}}}},
      {"name": "nothing"},
      {"name": "odd.9name", "inputSchema": {"type": "string"}},
      {"name": "wide", "inputSchema": {"type": "object", "properties": {
        "a": {"$ref": "#/$defs/B"}, "b": {"$ref": "#/$defs/B"}, "c": {"$ref": "#/$defs/B"}},
        "$defs": {"B": {"type": "object", "properties": {"x": {"$ref": "#/$defs/C"}, "y": {"$ref": "#/$defs/C"}}},
                  "C": {"type": "object", "properties": {"z": {"type": "string"}}}}}}
    ]}"##;
    let imported = import(json, &opts("default")).expect("imports");
    compiles("awkward.pol", &imported.text);
    insta::assert_snapshot!("awkward", imported.text);
}
