//! What a compiled policy declares, as JSON (`gavel inspect`, docs/cli.md). In: a `Policy`.
//! Out: one JSON object: the policy's identity (name, version, digest, defaults), its files,
//! and each kind of declaration of its own `.pol` files (not the stdlib's) in source order:
//! types, tools, the request envelope, lets, data, functions, windows, rules, fixtures and
//! tests. Rules come from the checked program (ids of unnamed rules, scopes of `on` blocks,
//! whether they are enforced); the other declarations from the files' syntax, their types
//! in the formatter's spelling (`syntax::format::type_text`) and expressions as written
//! (whitespace collapsed). Every declaration has a `location`, `FILE:LINE:COL`.

use crate::ir::{Effect, ToolScope};
use crate::policy::Policy;
use crate::span::{SourceMap, Span};
use crate::syntax::ast::{self, DefaultEffect, FieldDecl, Item};
use crate::syntax::format::{field_text, type_text};
use serde_json::{json, Map, Value};

/// The declarations of `policy`, as described in the module header.
pub fn inspect(policy: &Policy) -> Value {
    let compiled = policy.compiled();
    let sources = &compiled.sources;
    let program = &compiled.program;
    let at = |span: Span| location(span, sources);
    let text = |span: Span| collapse(sources.slice(span));
    let mut kinds: [Vec<Value>; 9] = Default::default();
    let [types, tools, request, lets, data, functions, windows, fixtures, tests] = &mut kinds;
    let mut files = Vec::new();
    for &file in &compiled.policy_files {
        files.push(Value::from(sources.get(file).shown.clone()));
        // The file compiled, so it parses again without a diagnostic (same text, same limits).
        let src = &sources.get(file).text;
        let (ast, _) = crate::syntax::parse_with(file, src, &compiled.limits);
        for item in &ast.items {
            match item {
                Item::Type(t) => types.push(json!({"name": t.name.name, "type": type_text(src, &t.ty), "location": at(*t.span)})),
                Item::Tool(t) => tools.push(json!({"name": t.name.name, "args": fields(src, &t.params), "open": t.open, "location": at(*t.span)})),
                Item::Request(r) => request.extend(fields(src, &r.fields).into_iter().zip(&r.fields).map(|(mut v, f)| {
                    v["location"] = at(*f.span).into();
                    v
                })),
                Item::Let(l) => lets.push(json!({"name": l.name.name, "value": text(*l.value.span), "location": at(*l.span)})),
                Item::Data(d) => data.push(json!({"name": d.name.name, "type": type_text(src, &d.ty), "location": at(*d.span)})),
                Item::Fn(f) => functions.push(json!({"name": f.name.name, "signature": signature(src, f), "location": at(*f.span)})),
                Item::Window(w) => windows.push(json!({
                    "name": w.name.name,
                    "aggregate": text(*w.aggregate_span),
                    "on": w.tools.as_ref().map(|ts| ts.iter().map(|t| t.text.clone()).collect::<Vec<_>>()),
                    "over": text(*w.duration.span),
                    "by": w.keys.iter().map(|k| text(*k.span)).collect::<Vec<_>>(),
                    "when": w.condition.as_ref().map(|c| text(*c.span)),
                    "location": at(*w.span),
                })),
                Item::Fixture(f) => {
                    let extends = match &f.value {
                        ast::FixtureValue::Extends { base, .. } => Some(base.name.clone()),
                        ast::FixtureValue::Literal(_) => None,
                    };
                    fixtures.push(json!({"name": f.name.name, "extends": extends, "location": at(*f.span)}))
                }
                Item::Test(t) => tests.push(json!({"name": t.name.value, "location": at(*t.span)})),
                Item::Policy(_) | Item::Version(_) | Item::Default(..) | Item::OnError(..) | Item::Rule(_) | Item::Block(_) => {}
            }
        }
    }
    let rules: Vec<Value> = program
        .rules
        .iter()
        .map(|r| {
            let mut o = Map::new();
            o.insert("id".into(), r.id.clone().into());
            o.insert("effect".into(), r.effect.name().into());
            match &r.effect {
                Effect::RequireApproval(roles) => {
                    o.insert("approvers".into(), json!(roles));
                }
                Effect::Redact(p, _) | Effect::Set(p, _) => {
                    o.insert("path".into(), p.display().into());
                }
                Effect::Deny | Effect::Allow | Effect::Warn => {}
            }
            let on = match &r.scope {
                ToolScope::All => Value::Null,
                ToolScope::Tools(ts) => json!(ts),
            };
            o.insert("on".into(), on);
            o.insert("enforced".into(), r.enforced.into());
            o.insert("annotations".into(), json!(r.annotations));
            o.insert("location".into(), at(r.span).into());
            Value::Object(o)
        })
        .collect();
    let effect = |e: DefaultEffect| match e {
        DefaultEffect::Allow => "allow",
        DefaultEffect::Deny => "deny",
    };
    let [types, tools, request, lets, data, functions, windows, fixtures, tests] = kinds;
    json!({
        "policy": {
            "name": program.info.name,
            "version": program.info.version,
            "digest": policy.digest(),
            "default": effect(program.info.default),
            "on_error": effect(program.info.on_error),
        },
        "files": files,
        "types": types,
        "tools": tools,
        "request": request,
        "lets": lets,
        "data": data,
        "functions": functions,
        "windows": windows,
        "rules": rules,
        "fixtures": fixtures,
        "tests": tests,
    })
}

fn location(span: Span, sources: &SourceMap) -> String {
    let f = sources.get(span.file);
    let lc = f.line_col(span.start as usize);
    format!("{}:{}:{}", f.shown, lc.line, lc.column)
}

/// Source text on one line: runs of whitespace (newlines, indentation) become one space.
fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn fields(src: &str, fs: &[FieldDecl]) -> Vec<Value> {
    fs.iter().map(|f| json!({"name": f.name.name, "type": type_text(src, &f.ty), "optional": f.optional})).collect()
}

/// `fn name(p: T, q?: T) -> T`
fn signature(src: &str, f: &ast::FnDecl) -> String {
    let params: Vec<String> = f.params.iter().map(|p| field_text(src, p)).collect();
    format!("fn {}({}) -> {}", f.name.name, params.join(", "), type_text(src, &f.ret))
}
