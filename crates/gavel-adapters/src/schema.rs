//! `gavel schema import` (PRODUCT.md §4.3): tool schemas to `tool` declarations. In: JSON
//! text holding tool definitions in one of three forms — an MCP `tools/list` result
//! (`{"tools": [{name, description, inputSchema}]}`, or the JSON-RPC response around it),
//! OpenAI tool definitions (`[{"type": "function", "function": {name, description,
//! parameters}}]`, or the Responses API's flat `{"type": "function", name, parameters}`), or
//! plain JSON Schema (one object schema, or an object mapping tool names to schemas) — and,
//! for `--merge`, the text of the `.pol` file to merge into. Out: `.pol` text ([`Imported`]):
//! a `policy`/`version`/`default deny` header unless merging, then one `tool` per tool not
//! already declared, `type`s for record shapes used more than once, or a [`SchemaError`]
//! when the JSON is not one of the forms.
//!
//! The mapping (docs/integrations.md "Tool schemas"): objects become records, arrays lists,
//! string `enum`s enums, `number`/`integer` `number`, a property is optional unless
//! `required` (or when it may be `null`, which the language reads as missing). A missing
//! `additionalProperties` is read as `false`: declared tools are closed. What the language
//! cannot say is written in a comment and mapped to the closest type that still fails
//! closed: constraints (`format`, `pattern`, `minimum`, ...) are not checked; a value of no
//! single type (`{}`, mixed `anyOf`, a free-form object) is left out and the tool opened
//! (`...`) so it passes unread, as `additionalProperties: true` does; a name the language
//! cannot take is rewritten, and the comment says the requests' name no longer matches.
//! Nothing here panics on any input: recursion is bounded by serde_json's depth limit, and
//! `$ref`s are expanded once each, a cycle being "no equivalent".

use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

/// Which form the JSON is in (`--from`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaForm {
    /// An MCP `tools/list` result (or its `tools` array).
    Mcp,
    /// OpenAI function definitions, Chat Completions or Responses form.
    OpenAi,
    /// Plain JSON Schema: one tool's arguments, or an object mapping tool names to schemas.
    JsonSchema,
}

impl SchemaForm {
    /// The form as `--from` spells it.
    pub fn name(self) -> &'static str {
        match self {
            SchemaForm::Mcp => "mcp",
            SchemaForm::OpenAi => "openai",
            SchemaForm::JsonSchema => "jsonschema",
        }
    }
}

/// How to import.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions<'a> {
    /// The form; guessed from the JSON's shape when `None`.
    pub from: Option<SchemaForm>,
    /// The policy name of the header; used when `existing` is `None`.
    pub policy: &'a str,
    /// The `.pol` text to merge into: its tools are kept as they are, its names avoided,
    /// and no header is written.
    pub existing: Option<&'a str>,
    /// The tool name of a single plain JSON Schema without a `title`.
    pub single_name: &'a str,
}

/// The result of an import.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    /// The form read.
    pub form: SchemaForm,
    /// The text to write (whole file) or, when merging, to append to the existing file.
    pub text: String,
    /// Tools declared by `text`, as the policy names them.
    pub declared: Vec<String>,
    /// Tools left out because the existing file already declares them.
    pub kept: Vec<String>,
}

/// Why the JSON is not a set of tool definitions: `path` is where (`tools[2].name`; empty
/// for the whole document), `message` what is wrong (lowercase, no trailing period).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    /// Where in the document: `tools[2].name`; empty for the whole document.
    pub path: String,
    /// What is wrong, lowercase, no trailing period.
    pub message: String,
}

impl std::fmt::Display for SchemaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "`{}`: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for SchemaError {}

fn error(path: impl Into<String>, message: impl Into<String>) -> SchemaError {
    SchemaError { path: path.into(), message: message.into() }
}

/// The language's keywords (docs/language.md §18): not a tool name's first segment or a type name.
const KEYWORDS: &[&str] = &[
    "policy", "version", "default", "on", "error", "type", "tool", "request", "let", "fn", "builtin", "rule", "when", "because", "deny", "allow", "warn",
    "require", "approval", "from", "redact", "set", "if", "then", "else", "and", "or", "not", "in", "has", "true", "false", "fixture", "test", "expect", "by",
    "with", "null", "data", "window", "over", "windows",
];
/// Built-in type names: not a declared type's name.
const BUILTIN_TYPES: &[&str] = &["bool", "number", "string", "duration", "timestamp", "list", "map"];
/// Schema keywords that only annotate: dropped without a note (`description` and `default`
/// become comments).
const ANNOTATIONS: &[&str] =
    &["title", "description", "default", "examples", "$schema", "$id", "$comment", "deprecated", "readOnly", "writeOnly", "$defs", "definitions"];
/// Comment lines are wrapped at this width (the text after `// `).
const WRAP: usize = 96;

/// Imports `json` (see the module header).
pub fn import(json: &str, options: &ImportOptions) -> Result<Imported, SchemaError> {
    let doc: Value = serde_json::from_str(json).map_err(|e| error("", format!("not JSON: {e}")))?;
    let form = match options.from {
        Some(f) => f,
        None => guess(&doc).ok_or_else(|| {
            error("", "not a form `gavel schema import` knows: expected an MCP `tools/list` result, OpenAI tool definitions or a JSON Schema; name the form with `--from`")
        })?,
    };
    let defs = definitions(&doc, form, options.single_name)?;
    let existing = options.existing.map(scan_pol).unwrap_or_default();

    let mut out = Output::default();
    out.taken.extend(existing.names.iter().cloned());
    out.taken.extend(existing.tools.iter().cloned());
    let mut tools = Vec::new();
    let mut kept = Vec::new();
    for def in &defs {
        let (name, rename) = tool_name(&def.name);
        if existing.tools.contains(&name) {
            kept.push(name);
            continue;
        }
        let mut name = name;
        if out.taken.contains(&name) {
            name = fresh(&name, &out.taken, "_");
        }
        out.taken.insert(name.clone());
        let mut tool = convert_tool(def, name);
        if let Some(note) = rename {
            tool.notes.insert(0, note);
        }
        tools.push(tool);
    }
    out.name_types(&mut tools);

    let mut text = String::new();
    if options.existing.is_none() {
        let _ = writeln!(text, "// Imported by `gavel schema import` from {} tool definitions.", form.name());
        text.push_str("// `default deny`: no call is allowed until a rule allows it; write the rules below.\n");
        let _ = writeln!(text, "policy {}", sanitize_ident(options.policy, true));
        text.push_str("version \"0.1.0\"\ndefault deny\n");
    } else if !tools.is_empty() {
        let _ = writeln!(text, "\n// Imported by `gavel schema import` from {} tool definitions.", form.name());
    }
    for (name, ty) in &out.named {
        text.push('\n');
        let _ = writeln!(text, "type {name} = {}", render(ty, ""));
    }
    let mut declared = Vec::new();
    for tool in &tools {
        text.push('\n');
        comment(&mut text, "", &tool.notes);
        let _ = write!(text, "tool {}(", tool.name);
        if tool.params.is_empty() {
            text.push_str(if tool.open { "...)\n" } else { ")\n" });
        } else {
            text.push('\n');
            for f in &tool.params {
                comment(&mut text, "  ", &f.notes);
                let _ = writeln!(text, "  {}{}: {},", f.name, if f.optional { "?" } else { "" }, render(&f.ty, "  "));
            }
            text.push_str(if tool.open { "  ...\n)\n" } else { ")\n" });
        }
        declared.push(tool.name.clone());
    }
    Ok(Imported { form, text, declared, kept })
}

/// The form `doc` is in, from its shape.
fn guess(doc: &Value) -> Option<SchemaForm> {
    let tools = match doc {
        Value::Object(o) if o.contains_key("properties") || o.get("type").and_then(Value::as_str) == Some("object") => return Some(SchemaForm::JsonSchema),
        Value::Object(o) if o.contains_key("properties") || o.get("type").and_then(Value::as_str) == Some("object") => return Some(SchemaForm::JsonSchema),
        Value::Object(o) => match o.get("result").and_then(|r| r.get("tools")).or_else(|| o.get("tools")) {
            Some(Value::Array(t)) => t,
            _ => return o.values().all(Value::is_object).then_some(SchemaForm::JsonSchema).filter(|_| !o.is_empty()),
        },
        Value::Array(t) => t,
        _ => return None,
    };
    let first = tools.first()?;
    if first.get("inputSchema").is_some() {
        Some(SchemaForm::Mcp)
    } else if first.get("function").is_some() || first.get("type").and_then(Value::as_str) == Some("function") {
        Some(SchemaForm::OpenAi)
    } else {
        None
    }
}

/// One tool as the JSON defines it.
struct Def<'a> {
    name: String,
    description: Option<&'a str>,
    /// The arguments' schema; `None` when the definition has none (no arguments).
    schema: Option<&'a Value>,
}

fn definitions<'a>(doc: &'a Value, form: SchemaForm, single_name: &str) -> Result<Vec<Def<'a>>, SchemaError> {
    fn str_at<'a>(v: &'a Value, key: &str, path: &str) -> Result<&'a str, SchemaError> {
        match v.get(key) {
            Some(Value::String(s)) => Ok(s),
            Some(_) => Err(error(format!("{path}.{key}"), "must be a string")),
            None => Err(error(format!("{path}.{key}"), "is required but missing")),
        }
    }
    fn list<'a>(doc: &'a Value, form: &str) -> Result<(&'a Vec<Value>, &'static str), SchemaError> {
        match doc {
            Value::Array(a) => Ok((a, "")),
            Value::Object(o) => match o.get("result").and_then(|r| r.get("tools")) {
                Some(Value::Array(a)) => Ok((a, "result.tools")),
                _ => match o.get("tools") {
                    Some(Value::Array(a)) => Ok((a, "tools")),
                    _ => Err(error("", format!("{form} tool definitions are a `tools` array (or a JSON-RPC `result` holding one)"))),
                },
            },
            _ => Err(error("", format!("{form} tool definitions are a `tools` array"))),
        }
    }
    let mut defs = Vec::new();
    match form {
        SchemaForm::Mcp => {
            let (tools, at) = list(doc, "MCP")?;
            for (i, t) in tools.iter().enumerate() {
                let path = if at.is_empty() { format!("[{i}]") } else { format!("{at}[{i}]") };
                let name = str_at(t, "name", &path)?;
                defs.push(Def { name: name.to_string(), description: t.get("description").and_then(Value::as_str), schema: t.get("inputSchema") });
            }
        }
        SchemaForm::OpenAi => {
            let (tools, at) = list(doc, "OpenAI")?;
            for (i, t) in tools.iter().enumerate() {
                let mut path = if at.is_empty() { format!("[{i}]") } else { format!("{at}[{i}]") };
                if let Some(kind) = t.get("type").and_then(Value::as_str).filter(|k| *k != "function") {
                    return Err(error(format!("{path}.type"), format!("is `{kind}`: only `function` tools have arguments to declare")));
                }
                let f = match t.get("function") {
                    Some(f) => {
                        path.push_str(".function");
                        f
                    }
                    None if t.get("type").is_some() => t,
                    None => return Err(error(format!("{path}.function"), "is required but missing (or `\"type\": \"function\"` for the Responses form)")),
                };
                let name = str_at(f, "name", &path)?;
                defs.push(Def { name: name.to_string(), description: f.get("description").and_then(Value::as_str), schema: f.get("parameters") });
            }
        }
        SchemaForm::JsonSchema => {
            let Value::Object(o) = doc else { return Err(error("", "a JSON Schema is an object")) };
            let single = o.contains_key("properties") || o.get("type").and_then(Value::as_str) == Some("object");
            if single {
                let name = o.get("title").and_then(Value::as_str).unwrap_or(single_name);
                defs.push(Def { name: name.to_string(), description: o.get("description").and_then(Value::as_str), schema: Some(doc) });
            } else {
                for (name, s) in o {
                    if !s.is_object() {
                        return Err(error(name.clone(), "must be a JSON Schema object (the document maps tool names to schemas)"));
                    }
                    defs.push(Def { name: name.clone(), description: s.get("description").and_then(Value::as_str), schema: Some(s) });
                }
            }
        }
    }
    Ok(defs)
}

/// A type as it will be written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Ty {
    Bool,
    Number,
    String,
    Enum(Vec<String>),
    List(Box<Ty>),
    Map(Box<Ty>),
    Record(Vec<Field>),
    /// A record shape turned into a named `type` ([`Output::name_types`]).
    Named(String),
}

#[derive(Debug, Clone, Eq)]
struct Field {
    name: String,
    optional: bool,
    ty: Ty,
    /// Comment lines: the description, the default, what is not checked.
    notes: Vec<String>,
    /// A name for the type when it is a reused record (the `$ref` name, or from the field's).
    hint: String,
}

// A shape is its names and types: comments and hints do not make two records different.
impl PartialEq for Field {
    fn eq(&self, other: &Field) -> bool {
        self.name == other.name && self.optional == other.optional && self.ty == other.ty
    }
}

impl std::hash::Hash for Field {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        (&self.name, self.optional, &self.ty).hash(h)
    }
}

struct Tool {
    name: String,
    notes: Vec<String>,
    params: Vec<Field>,
    open: bool,
}

/// Converting one tool's schema: the document for `$ref`s, what opens the tool.
struct Conv<'a> {
    root: &'a Value,
    /// Notes for the tool's comment (what was left out and why the tool is open).
    notes: Vec<String>,
    open: bool,
    /// `$ref`s being expanded (a cycle has no equivalent) and those done.
    expanding: Vec<String>,
    done: HashMap<String, Option<(Ty, bool)>>,
}

/// The outcome of converting one schema.
enum Conv1 {
    Ty {
        ty: Ty,
        nullable: bool,
    },
    /// No single type: why (the value is left out and the tool opened).
    None(String),
    /// The `false` schema: the value must be absent, as a closed tool already says.
    Never,
}

fn convert_tool(def: &Def, name: String) -> Tool {
    let mut notes = Vec::new();
    notes.extend(def.description.map(str::to_string));
    let Some(schema) = def.schema else {
        return Tool { name, notes, params: Vec::new(), open: false };
    };
    let mut c = Conv { root: schema, notes: Vec::new(), open: false, expanding: Vec::new(), done: HashMap::new() };
    let schema = c.deref(schema);
    let mut params = Vec::new();
    match schema {
        Value::Object(o) if o.contains_key("properties") || o.get("type").and_then(Value::as_str) == Some("object") || o.is_empty() => {
            params = c.record(o, "args", &mut Vec::new(), true);
        }
        _ => {
            c.notes.push("the arguments' schema is not an object schema: the tool is open, its arguments pass unread".into());
            c.open = true;
        }
    }
    notes.append(&mut c.notes);
    Tool { name, notes, params, open: c.open }
}

impl<'a> Conv<'a> {
    /// `schema` with a local `$ref` at its top followed (one level); the rest is done by `convert`.
    fn deref(&self, schema: &'a Value) -> &'a Value {
        match schema.get("$ref").and_then(Value::as_str).and_then(|r| self.resolve(r)) {
            Some(s) if !s.get("$ref").is_some_and(|r| r == &schema["$ref"]) => s,
            _ => schema,
        }
    }

    fn resolve(&self, reference: &str) -> Option<&'a Value> {
        let pointer = reference.strip_prefix('#')?;
        self.root.pointer(pointer)
    }

    fn open_for(&mut self, path: &str, why: &str) {
        self.open = true;
        self.notes.push(format!("`{path}` {why}: left out, and the tool is open (`...`) so it passes unread"));
    }

    /// The fields of an object schema; `top` for the tool's own arguments.
    fn record(&mut self, o: &'a Map<String, Value>, path: &str, notes: &mut Vec<String>, top: bool) -> Vec<Field> {
        let required: HashSet<&str> = o.get("required").and_then(Value::as_array).map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
        match o.get("additionalProperties") {
            None | Some(Value::Bool(false)) => {}
            Some(Value::Bool(true)) => self.open_for(&format!("{path}.*"), "allows any other key (`additionalProperties: true`)"),
            Some(_) => self.open_for(&format!("{path}.*"), "allows other keys of a schema (`additionalProperties`) beside its properties"),
        }
        if o.contains_key("patternProperties") {
            self.open_for(&format!("{path}.*"), "allows keys matching patterns (`patternProperties`)");
        }
        let mut fields: Vec<Field> = Vec::new();
        // Names already valid are kept as they are; a rewritten one takes a name none uses.
        let mut used: HashSet<String> = match o.get("properties") {
            Some(Value::Object(props)) => props.keys().filter(|k| sanitize_ident(k, false) == **k).cloned().collect(),
            _ => HashSet::new(),
        };
        if let Some(Value::Object(props)) = o.get("properties") {
            for (key, schema) in props {
                let fpath = format!("{path}.{key}");
                let mut fnotes = Vec::new();
                let mut name = sanitize_ident(key, false);
                if name != *key && used.contains(&name) {
                    name = fresh(&name, &used, "_");
                }
                used.insert(name.clone());
                if name != *key {
                    fnotes.push(format!("`{key}` cannot be a field name: declared as `{name}`; a request holding `{key}` fails validation (denied)"));
                }
                let hint = schema.get("$ref").and_then(Value::as_str).and_then(|r| r.rsplit('/').next()).unwrap_or(key).to_string();
                let mut desc = Vec::new();
                // Description and default of a `$ref`'d schema too; the type is read from `schema`
                // itself so that `reference` sees every `$ref` (and stops at a cycle).
                let shown = self.deref(schema);
                desc.extend(shown.get("description").or_else(|| schema.get("description")).and_then(Value::as_str).map(str::to_string));
                if let Some(d) = schema.get("default").or_else(|| shown.get("default")).filter(|d| !d.is_null()) {
                    desc.push(format!("default: {}", short(d)));
                }
                match self.convert(schema, &fpath, &mut fnotes, &hint) {
                    Conv1::Ty { ty, nullable } => {
                        desc.append(&mut fnotes);
                        fields.push(Field { name, optional: nullable || !required.contains(key.as_str()), ty, notes: desc, hint: pascal(&hint) });
                    }
                    Conv1::None(why) => self.open_for(&fpath, &why),
                    Conv1::Never => {}
                }
            }
        }
        if !top && fields.is_empty() && !o.contains_key("properties") {
            notes.push("an object of any keys".into());
        }
        fields
    }

    /// One schema to a type; `notes` gets what is not checked.
    fn convert(&mut self, schema: &'a Value, path: &str, notes: &mut Vec<String>, hint: &str) -> Conv1 {
        let o = match schema {
            Value::Bool(true) => return Conv1::None("may be any value".into()),
            Value::Bool(false) => return Conv1::Never,
            Value::Object(o) => o,
            _ => return Conv1::None("has a schema that is not an object".into()),
        };
        if let Some(r) = o.get("$ref").and_then(Value::as_str) {
            return self.reference(r, path, notes, hint);
        }
        let mut nullable = o.get("nullable") == Some(&Value::Bool(true));
        // `anyOf`/`oneOf` of one schema and `null` is how optional values are written.
        for key in ["anyOf", "oneOf", "allOf"] {
            let Some(alts) = o.get(key) else { continue };
            let Some(alts) = alts.as_array() else { return Conv1::None(format!("has a `{key}` that is not a list")) };
            let (nulls, rest): (Vec<&Value>, Vec<&Value>) = alts.iter().partition(|a| a.get("type").and_then(Value::as_str) == Some("null"));
            nullable |= !nulls.is_empty() && key != "allOf";

            if rest.len() == 1 {
                return with_nullable(self.convert(rest[0], path, notes, hint), nullable);
            }
            // Alternatives that are all string constants or enums are one enum.
            let mut values = Vec::new();
            if key != "allOf" && !rest.is_empty() && rest.iter().all(|s| string_values(self.deref(s)).map(|v| values.extend(v)).is_some()) {
                dedup(&mut values);
                return Conv1::Ty { ty: Ty::Enum(values), nullable };
            }
            return Conv1::None(format!("is one of several schemas (`{key}`), which no single type is"));
        }
        let types: Vec<&str> = match o.get("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        nullable |= types.contains(&"null");
        let types: Vec<&str> = types.into_iter().filter(|t| *t != "null").collect();
        let ty = match types.as_slice() {
            [t] => *t,
            [] if o.contains_key("properties") => "object",
            [] if o.contains_key("items") => "array",
            [] if o.contains_key("enum") || o.contains_key("const") => match string_values(schema) {
                Some(_) => "string",
                None => return Conv1::None("has an `enum` of values that are not all strings".into()),
            },
            [] => return Conv1::None("may be any value (no `type`)".into()),
            _ => return Conv1::None(format!("may be any of the types {}", types.join(", "))),
        };
        let consumed: &[&str] = match ty {
            "string" => &["type", "enum", "const", "nullable"],
            "number" | "integer" | "boolean" => &["type", "nullable"],
            "array" => &["type", "items", "nullable"],
            "object" => &["type", "properties", "required", "additionalProperties", "patternProperties", "nullable"],
            other => return Conv1::None(format!("has the type `{other}`, which the language has no equivalent for")),
        };
        let unchecked: Vec<String> = o
            .iter()
            .filter(|(k, _)| !consumed.contains(&k.as_str()) && !ANNOTATIONS.contains(&k.as_str()))
            .map(|(k, v)| format!("`{k}` {}", short(v)))
            .collect();
        let ty = match ty {
            "string" => match (o.contains_key("enum") || o.contains_key("const"), string_values(schema)) {
                (false, _) => Ty::String,
                (true, Some(v)) if !v.is_empty() => Ty::Enum(v),
                (true, _) => return Conv1::None("has an `enum` of values that are not all strings".into()),
            },
            "number" | "integer" => {
                if let Some(e) = o.get("enum").or_else(|| o.get("const")) {
                    notes.push(format!("not checked: `enum` {}", short(e)));
                }
                Ty::Number
            }
            "boolean" => Ty::Bool,
            "array" => match o.get("items") {
                None => return Conv1::None("is a list of any values (no `items`)".into()),
                Some(items) => {
                    let ihint = items.get("$ref").and_then(Value::as_str).and_then(|r| r.rsplit('/').next()).map(str::to_string);
                    let ihint = ihint.unwrap_or_else(|| format!("{hint}_item"));
                    match self.convert(items, &format!("{path}[]"), notes, &ihint) {
                        Conv1::Ty { ty, nullable: false } => Ty::List(Box::new(ty)),
                        Conv1::Ty { nullable: true, .. } => return Conv1::None("is a list whose elements may be `null`".into()),
                        Conv1::None(why) => return Conv1::None(format!("is a list whose elements have no equivalent: each {why}")),
                        Conv1::Never => return Conv1::None("is a list that must be empty".into()),
                    }
                }
            },
            _ => {
                if !o.contains_key("properties") {
                    match o.get("additionalProperties") {
                        Some(v @ Value::Object(_)) => match self.convert(v, &format!("{path}.*"), notes, &format!("{hint}_value")) {
                            Conv1::Ty { ty, nullable: false } => Ty::Map(Box::new(ty)),
                            _ => return Conv1::None("is a map whose values have no single type".into()),
                        },
                        _ => return Conv1::None("is an object of any keys and values".into()),
                    }
                } else {
                    Ty::Record(self.record(o, path, notes, false))
                }
            }
        };
        if !unchecked.is_empty() {
            notes.push(format!("not checked: {}", unchecked.join(", ")));
        }
        Conv1::Ty { ty, nullable }
    }

    fn reference(&mut self, r: &str, path: &str, notes: &mut Vec<String>, hint: &str) -> Conv1 {
        if let Some(done) = self.done.get(r) {
            return match done {
                Some((ty, nullable)) => Conv1::Ty { ty: ty.clone(), nullable: *nullable },
                None => Conv1::None(format!("refers to `{r}`, which has no equivalent")),
            };
        }
        if self.expanding.iter().any(|e| e == r) {
            return Conv1::None(format!("refers to `{r}` inside itself (a recursive type)"));
        }
        let Some(target) = self.resolve(r) else { return Conv1::None(format!("refers to `{r}`, which is not in the document")) };
        self.expanding.push(r.to_string());
        let out = self.convert(target, path, notes, hint);
        self.expanding.pop();
        // Each `$ref` is expanded once: a document reusing one many times stays linear.
        let memo = match &out {
            Conv1::Ty { ty, nullable } => Some((ty.clone(), *nullable)),
            _ => None,
        };
        self.done.insert(r.to_string(), memo);
        out
    }
}

fn with_nullable(c: Conv1, nullable: bool) -> Conv1 {
    match c {
        Conv1::Ty { ty, nullable: n } => Conv1::Ty { ty, nullable: n || nullable },
        other => other,
    }
}

/// The strings a schema allows when it is a string `enum` or `const`.
fn string_values(s: &Value) -> Option<Vec<String>> {
    if let Some(c) = s.get("const") {
        return c.as_str().map(|c| vec![c.to_string()]);
    }
    let values = s.get("enum")?.as_array()?;
    let mut out: Vec<String> = values.iter().filter(|v| !v.is_null()).map(|v| v.as_str().map(str::to_string)).collect::<Option<_>>()?;
    dedup(&mut out);
    Some(out)
}

fn dedup(v: &mut Vec<String>) {
    let mut seen = HashSet::new();
    v.retain(|s| seen.insert(s.clone()));
}

/// A JSON value for a comment, cut short.
fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(57).collect::<String>())
    } else {
        s
    }
}

/// The output being built: names taken and the reused record shapes named.
#[derive(Default)]
struct Output {
    taken: HashSet<String>,
    /// Named types in the order named (inner shapes first).
    named: Vec<(String, Ty)>,
}

impl Output {
    /// Names every record shape used more than once (inner shapes first) and rewrites the
    /// uses to the name.
    fn name_types(&mut self, tools: &mut [Tool]) {
        let mut counts: HashMap<Ty, (usize, String)> = HashMap::new();
        for t in tools.iter() {
            for f in &t.params {
                count(&f.ty, &f.hint, &mut counts);
            }
        }
        let mut shapes: HashMap<Ty, String> = HashMap::new();
        for t in tools.iter_mut() {
            for f in &mut t.params {
                self.rewrite(&mut f.ty, &f.hint, &counts, &mut shapes);
            }
        }
    }

    fn rewrite(&mut self, ty: &mut Ty, hint: &str, counts: &HashMap<Ty, (usize, String)>, shapes: &mut HashMap<Ty, String>) {
        let key = ty.clone();
        match ty {
            Ty::List(t) => self.rewrite(t, &format!("{hint}Item"), counts, shapes),
            Ty::Map(t) => self.rewrite(t, &format!("{hint}Value"), counts, shapes),
            Ty::Record(fields) => {
                for f in fields.iter_mut() {
                    self.rewrite(&mut f.ty, &f.hint.clone(), counts, shapes);
                }
                if counts.get(&key).is_some_and(|(n, _)| *n > 1) {
                    let name = match shapes.get(&key) {
                        Some(n) => n.clone(),
                        None => {
                            let base = sanitize_ident(&counts[&key].1, true);
                            let base = if base.is_empty() || BUILTIN_TYPES.contains(&base.as_str()) { format!("{base}Type") } else { base };
                            let name = if self.taken.contains(&base) { fresh(&base, &self.taken, "") } else { base };
                            self.taken.insert(name.clone());
                            shapes.insert(key, name.clone());
                            self.named.push((name.clone(), ty.clone()));
                            name
                        }
                    };
                    *ty = Ty::Named(name);
                }
            }
            _ => {}
        }
    }
}

fn count(ty: &Ty, hint: &str, counts: &mut HashMap<Ty, (usize, String)>) {
    match ty {
        Ty::List(t) => count(t, &format!("{hint}Item"), counts),
        Ty::Map(t) => count(t, &format!("{hint}Value"), counts),
        Ty::Record(fields) => {
            counts.entry(ty.clone()).or_insert_with(|| (0, hint.to_string())).0 += 1;
            for f in fields {
                count(&f.ty, &f.hint, counts);
            }
        }
        _ => {}
    }
}

fn render(ty: &Ty, indent: &str) -> String {
    match ty {
        Ty::Bool => "bool".into(),
        Ty::Number => "number".into(),
        Ty::String => "string".into(),
        Ty::Enum(values) => values.iter().map(|v| quote(v)).collect::<Vec<_>>().join(" | "),
        Ty::List(t) => format!("list<{}>", render(t, indent)),
        Ty::Map(t) => format!("map<{}>", render(t, indent)),
        Ty::Named(n) => n.clone(),
        Ty::Record(fields) => {
            let inner = format!("{indent}  ");
            let one_line: Vec<String> = fields.iter().map(|f| format!("{}{}: {}", f.name, if f.optional { "?" } else { "" }, render(&f.ty, &inner))).collect();
            let line = format!("{{ {} }}", one_line.join(", "));
            if fields.iter().all(|f| f.notes.is_empty()) && line.len() <= 100 && !line.contains('\n') {
                return if fields.is_empty() { "{}".into() } else { line };
            }
            let mut s = String::from("{\n");
            for (f, text) in fields.iter().zip(&one_line) {
                comment(&mut s, &inner, &f.notes);
                let _ = writeln!(s, "{inner}{text},");
            }
            let _ = write!(s, "{indent}}}");
            s
        }
    }
}

/// A string literal of the language (docs/language.md §2 "String escapes").
fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:X}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `// ` comment lines, wrapped, for each note.
fn comment(out: &mut String, indent: &str, notes: &[String]) {
    for note in notes {
        for para in note.lines() {
            let mut line = String::new();
            for word in para.split_whitespace() {
                if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > WRAP {
                    let _ = writeln!(out, "{indent}// {line}");
                    line.clear();
                }
                if !line.is_empty() {
                    line.push(' ');
                }
                line.push_str(word);
            }
            if !line.is_empty() {
                let _ = writeln!(out, "{indent}// {line}");
            }
        }
    }
}

/// A name the language takes: letters, digits and `_`, not starting with a digit; `no_keyword`
/// for names that cannot be keywords (declared names, a tool name's first segment).
fn sanitize_ident(s: &str, no_keyword: bool) -> String {
    let mut out: String = s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    if no_keyword && KEYWORDS.contains(&out.as_str()) {
        out.push('_');
    }
    out
}

/// The policy's name for a tool (`__` reads as `.`, as the request forms do) and, when the
/// name had to change, a note saying so.
fn tool_name(name: &str) -> (String, Option<String>) {
    let dotted = name.replace("__", ".");
    let mapped: Vec<String> = dotted.split('.').enumerate().map(|(i, seg)| sanitize_ident(seg, i == 0)).collect();
    let mapped = mapped.join(".");
    let note = (mapped != dotted).then(|| {
        format!("`{name}` cannot be a tool name in a policy: declared as `{mapped}`, which requests for `{name}` do not match (they are undeclared tools)")
    });
    (mapped, note)
}

/// `base` with the first suffix (`base2`, `base_2`, ...) not in `taken`.
fn fresh(base: &str, taken: &HashSet<String>, sep: &str) -> String {
    (2..).map(|n| format!("{base}{sep}{n}")).find(|n| !taken.contains(n)).unwrap_or_else(|| base.to_string())
}

/// `file_id` → `FileId`, a type name.
fn pascal(s: &str) -> String {
    let mut out = String::new();
    let mut up = true;
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            if up {
                out.extend(c.to_uppercase());
            } else {
                out.push(c);
            }
            up = false;
        } else {
            up = true;
        }
    }
    out
}

/// What a `.pol` file declares: its tools and its other top-level names.
#[derive(Debug, Default, PartialEq)]
pub struct Declared {
    /// The tools declared (`tool NAME(...)`).
    pub tools: HashSet<String>,
    /// The other top-level names (types, lets, functions, data, windows).
    pub names: HashSet<String>,
}

/// The tools and names `text` declares, read lexically (comments and strings skipped): a
/// `tool` followed by a dotted name and `(`, and a `type`, `let`, `fn`, `data` or `window`
/// followed by a name. Enough to keep hand-written declarations and avoid their names.
pub fn scan_pol(text: &str) -> Declared {
    let mut tokens: Vec<&str> = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            i += 2;
            while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                i += 1;
            }
            i += 2;
        } else if c == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' && b[i] != b'\n' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            tokens.push("\"");
        } else if c.is_ascii_alphanumeric() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            tokens.push(&text[start..i]);
        } else {
            if !c.is_ascii_whitespace() && c.is_ascii() {
                tokens.push(&text[i..i + 1]);
            }
            i += 1;
        }
    }
    let mut d = Declared::default();
    let ident = |t: &str| t.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
    for (k, t) in tokens.iter().enumerate() {
        match *t {
            "tool" => {
                let mut name = String::new();
                let mut j = k + 1;
                while let Some(seg) = tokens.get(j).filter(|s| ident(s)) {
                    name.push_str(seg);
                    if tokens.get(j + 1) == Some(&".") {
                        name.push('.');
                        j += 2;
                    } else {
                        j += 1;
                        break;
                    }
                }
                if !name.is_empty() && tokens.get(j) == Some(&"(") {
                    d.tools.insert(name);
                }
            }
            "type" | "let" | "fn" | "data" | "window" => {
                if let Some(n) = tokens.get(k + 1).filter(|s| ident(s)) {
                    d.names.insert(n.to_string());
                }
            }
            _ => {}
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_finds_tools_and_names_outside_comments_and_strings() {
        let d = scan_pol("tool a.b(x: string)\n// tool c(\n/* tool d( */ type T = { a: number }\nrule r: deny when tool == \"tool e(\"\ntool f.default(...)");
        assert_eq!(d.tools, ["a.b", "f.default"].map(String::from).into_iter().collect());
        assert_eq!(d.names, ["T"].map(String::from).into_iter().collect());
    }

    #[test]
    fn names_are_mapped() {
        assert_eq!(tool_name("payments__transfer"), ("payments.transfer".into(), None));
        assert_eq!(tool_name("brave-search").0, "brave_search");
        assert!(tool_name("brave-search").1.is_some());
        assert_eq!(tool_name("set").0, "set_");
        assert_eq!(tool_name("9lives.x").0, "_9lives.x");
        assert_eq!(quote("a\"b\\c\n\u{1}"), "\"a\\\"b\\\\c\\n\\u{1}\"");
    }
}
