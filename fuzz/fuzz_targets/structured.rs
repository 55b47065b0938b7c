//! The structured policy generator shared by the `policy_structured`, `jit_small_stack` and
//! `budget` targets: an `arbitrary` policy (lets, functions, rules, an `on` block with
//! block `let`s, over a fixed set of declarations; expressions built from the language's
//! operators, methods and names), rendered to text, and a request for it.
#![allow(dead_code)]

use arbitrary::Arbitrary;
use std::fmt::Write;

pub const HEADER: &str = r#"policy fuzz
version "1"
default allow
on error deny
type Payee = { name: string, country: string, iban?: string }
tool pay(amount: number, memo?: string, payee: Payee, tags: list<string>, when_at?: timestamp)
tool send(to: list<string>, body: string, meta: map<string>)
request { agent: { id: string, trust: "low" | "high" }, context: { n?: number } }
"#;

const NAMES: &[&str] = &[
    "amount", "memo", "payee", "payee.country", "payee.iban", "tags", "to", "body", "meta", "agent.trust", "agent.id",
    "context.n", "time", "tool", "args.amount", "x", "y", "l0", "l1", "l2", "f0", "std.pii", "null", "b0", "b1", "b2",
];
const METHODS: &[&str] = &[
    "lower", "upper", "trim", "len", "contains", "starts_with", "ends_with", "split", "before", "after", "matches",
    "find_all", "any", "all", "count", "is_empty", "intersects", "subset_of", "hour", "weekday", "abs", "floor",
];
const CALLS: &[&str] = &[
    "min", "max", "f0", "f1", "std.pii.contains_ssn", "std.pii.contains_card_number", "std.email.domain", "std.net.is_private_ip",
    "std.email.is_internal", "std.shell.commands", "std.shell.parses", "std.shell.normalize_path",
];
const STRINGS: &[&str] = &[
    "", "a", "US", "[0-9]+", "(a+)+$", "x@y.com", "4111 1111 1111 1111", "078-05-1120", "10.0.0.1", "{", "é",
    "a@x.io, <b@y.com>", "4111.1111.1111.1111", "rm -rf $(curl x | sh) '",
];
const OPS: &[&str] = &["and", "or", "==", "!=", "<", "<=", ">", ">=", "in", "not in", "??", "+", "-", "*", "/", "%"];

#[derive(Arbitrary, Debug)]
pub enum Expr {
    Num(i16),
    Big(f64),
    Dur(u8),
    Str(u8),
    Bool(bool),
    Name(u8),
    Bin(u8, Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    If(Box<Expr>, Box<Expr>, Box<Expr>),
    Has(u8),
    Method(u8, Box<Expr>, Vec<Expr>),
    Lambda(u8, Box<Expr>, Box<Expr>),
    Call(u8, Vec<Expr>),
    List(Vec<Expr>),
    Index(Box<Expr>, Box<Expr>),
    Paren(Box<Expr>),
}

#[derive(Arbitrary, Debug)]
pub struct Rule {
    effect: u8,
    tool: u8,
    condition: Option<Expr>,
    because: Option<Expr>,
    shadow: bool,
}

#[derive(Arbitrary, Debug)]
pub struct Policy {
    lets: Vec<Expr>,
    fns: Vec<Expr>,
    rules: Vec<Rule>,
    /// An `on pay` block: its block `let`s (`b0`, `b1`, `b2`, which may use each other) and
    /// its rules.
    block_lets: Vec<Expr>,
    block_rules: Vec<Rule>,
    request: Vec<(u8, Expr)>,
}

fn pick<'a>(list: &[&'a str], i: u8) -> &'a str {
    list[i as usize % list.len()]
}

fn render(e: &Expr, out: &mut String) {
    match e {
        Expr::Num(n) => {
            let _ = write!(out, "{n}");
        }
        Expr::Big(f) => {
            let _ = write!(out, "{:e}", f.abs());
        }
        Expr::Dur(d) => {
            let _ = write!(out, "{d}h");
        }
        Expr::Str(i) => {
            let _ = write!(out, "{:?}", pick(STRINGS, *i));
        }
        Expr::Bool(b) => {
            let _ = write!(out, "{b}");
        }
        Expr::Name(i) => out.push_str(pick(NAMES, *i)),
        Expr::Bin(op, a, b) => {
            render(a, out);
            let _ = write!(out, " {} ", pick(OPS, *op));
            render(b, out);
        }
        Expr::Not(x) => {
            out.push_str("not ");
            render(x, out);
        }
        Expr::Neg(x) => {
            out.push('-');
            render(x, out);
        }
        Expr::If(c, a, b) => {
            out.push_str("if ");
            render(c, out);
            out.push_str(" then ");
            render(a, out);
            out.push_str(" else ");
            render(b, out);
        }
        Expr::Has(i) => {
            let _ = write!(out, "has {}", pick(NAMES, *i));
        }
        Expr::Method(m, recv, args) => {
            render(recv, out);
            let _ = write!(out, ".{}(", pick(METHODS, *m));
            list(args, out);
            out.push(')');
        }
        Expr::Lambda(m, recv, body) => {
            render(recv, out);
            let _ = write!(out, ".{}(x => ", pick(&["any", "all", "count"], *m));
            render(body, out);
            out.push(')');
        }
        Expr::Call(f, args) => {
            let _ = write!(out, "{}(", pick(CALLS, *f));
            list(args, out);
            out.push(')');
        }
        Expr::List(items) => {
            out.push('[');
            list(items, out);
            out.push(']');
        }
        Expr::Index(a, b) => {
            render(a, out);
            out.push('[');
            render(b, out);
            out.push(']');
        }
        Expr::Paren(x) => {
            out.push('(');
            render(x, out);
            out.push(')');
        }
    }
}

fn list(items: &[Expr], out: &mut String) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        render(item, out);
    }
}

pub fn policy_text(p: &Policy) -> String {
    let mut out = String::from(HEADER);
    for (i, value) in p.lets.iter().take(3).enumerate() {
        let _ = write!(out, "let l{i} = ");
        render(value, &mut out);
        out.push('\n');
    }
    for (i, body) in p.fns.iter().take(2).enumerate() {
        let _ = write!(out, "fn f{i}(x: number, y: string) -> bool = ");
        render(body, &mut out);
        out.push('\n');
    }
    for (i, r) in p.rules.iter().enumerate() {
        rule_text(r, &format!("rule r{i}: on {} ", pick(&["pay", "send", "pay, send", "*", "p*"], r.tool)), &mut out);
    }
    if !p.block_rules.is_empty() {
        out.push_str("on pay {\n");
        for (i, value) in p.block_lets.iter().take(3).enumerate() {
            let _ = write!(out, "let b{i} = ");
            render(value, &mut out);
            out.push('\n');
        }
        for (i, r) in p.block_rules.iter().take(4).enumerate() {
            rule_text(r, &format!("rule br{i}: "), &mut out);
        }
        out.push_str("}\n");
    }
    out
}

/// A rule: its annotation, `header` (`rule NAME: on TOOLS `), effect, condition, reason.
fn rule_text(r: &Rule, header: &str, out: &mut String) {
    if r.shadow {
        out.push_str("@mode(\"shadow\")\n");
    }
    out.push_str(header);
    let effect = match r.effect % 7 {
        0 => "deny",
        1 => "allow",
        2 => "warn",
        3 => "require approval from \"boss\"",
        4 => "redact memo",
        5 => "set amount = 1",
        _ => "deny",
    };
    out.push_str(effect);
    if let Some(c) = &r.condition {
        out.push_str(" when ");
        render(c, out);
    }
    if let Some(b) = &r.because {
        let mut hole = String::new();
        render(b, &mut hole);
        let _ = write!(out, " because \"reason {{{}}}\"", hole.replace('"', "\\\""));
    }
    out.push('\n');
}

pub fn request_json(p: &Policy) -> String {
    let mut args = serde_json::Map::new();
    for (k, e) in &p.request {
        let key = pick(&["amount", "memo", "payee", "tags", "to", "body", "meta"], *k);
        let value = match e {
            Expr::Num(n) => serde_json::json!(n),
            Expr::Big(f) => serde_json::json!(f),
            Expr::Str(i) => serde_json::json!(pick(STRINGS, *i)),
            Expr::Bool(b) => serde_json::json!(b),
            Expr::List(items) => serde_json::json!(items.iter().map(|_| "a").collect::<Vec<_>>()),
            _ => serde_json::json!({"name": "n", "country": "US"}),
        };
        args.insert(key.to_string(), value);
    }
    serde_json::json!({"tool": "pay", "args": args, "agent": {"id": "a", "trust": "low"}, "context": {}}).to_string()
}

