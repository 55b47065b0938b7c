//! Random well-typed policies, shared by the tests that need them (the backends' differential
//! test, the formatter's property test). In: a seed (a `Rng`). Out: a `Generated` policy set
//! (`policy`): `.pol` text with a fixed header of types, tools and the request envelope,
//! sometimes `data` declarations (with their generated data) and `window` declarations, then
//! rules with every kind of condition, `set` and `redact` among the effects, in `on` blocks
//! with block `let`s or scoped one by one.
//! Include it with `#[path = "common/policies.rs"] mod policies;` (not through `common`,
//! so the tests that do not generate policies do not carry it).

#![allow(dead_code)] // each test that includes it uses a part

use gavel::{Limits, Policy};

/// SplitMix64: tiny, seedable, good enough to pick shapes.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Ty {
    Bool,
    Num,
    Str,
    Dur,
    ListNum,
    ListStr,
}

/// What a rule body can read: `(expression, type)`; optional ones need `??`/`has`.
pub struct Env {
    pub vars: Vec<(String, Ty)>,
    pub optional: Vec<(String, Ty)>,
    /// Maps of numbers, indexed by string.
    pub maps: Vec<String>,
    /// Records with fields `k: string` and `v: number`.
    pub records: Vec<String>,
    pub lambda_depth: usize,
    /// The policy declares the generated `data` (`ids: list<string>`, `limits: map<number>`).
    pub data: bool,
    /// Conditions on the windows readable here (`(w0 >= 2)`), for rules to test history.
    pub window_tests: Vec<String>,
}

pub const HEADER_TYPES: &str = r#"
type Pair = { k: string, v: number }

tool t.a(n: number, m?: number, s: string, e: "x" | "y" | "z", b: bool, l: list<number>, ls: list<string>, p: Pair, mp?: map<number>, d: duration, o?: string)
tool t.b(n: number, s?: string, ls?: list<string>, ps: list<Pair>)

request {
  agent: { id: string, trust: "low" | "high", level?: number },
  workspace: string,
  context: { ticket?: string },
}
"#;

pub fn envelope() -> Env {
    Env {
        vars: vec![("agent.id".into(), Ty::Str), ("workspace".into(), Ty::Str)],
        optional: vec![("agent.level".into(), Ty::Num), ("context.ticket".into(), Ty::Str)],
        maps: vec![],
        records: vec![],
        lambda_depth: 0,
        data: false,
        window_tests: vec![],
    }
}

pub fn env_for(scope: &str) -> Env {
    let mut env = envelope();
    match scope {
        "t.a" => {
            env.vars.extend(
                [("n", Ty::Num), ("s", Ty::Str), ("b", Ty::Bool), ("l", Ty::ListNum), ("ls", Ty::ListStr), ("d", Ty::Dur)].map(|(n, t)| (n.to_string(), t)),
            );
            env.optional.extend([("m", Ty::Num), ("o", Ty::Str)].map(|(n, t)| (n.to_string(), t)));
            env.maps.push("mp".into());
            env.records.push("p".into());
        }
        "t.b" => {
            env.vars.push(("n".into(), Ty::Num));
            env.optional.extend([("s", Ty::Str), ("ls", Ty::ListStr)].map(|(n, t)| (n.to_string(), t)));
        }
        _ => {}
    }
    env
}

pub const NUMS: &[&str] = &["0", "1", "2", "3", "-1", "2.5", "10", "1000", "0.1", "7"];
pub const STRS: &[&str] = &["\"\"", "\"a\"", "\"x\"", "\"low\"", "\"high\"", "\"a,b\"", "\"Hello World\"", "\"x-y\"", "\"t.a\"", "\"10.0.0.1\""];
pub const REGEXES: &[&str] = &["\"^[a-z]+$\"", "\"[0-9]+\"", "\"o\"", "\"^x\"", "\"[A-Z][a-z]*\""];

pub fn gen(rng: &mut Rng, env: &mut Env, ty: Ty, depth: usize) -> String {
    let leaf = depth == 0 || rng.chance(25);
    let vars: Vec<String> = env.vars.iter().filter(|(_, t)| *t == ty).map(|(n, _)| n.clone()).collect();
    if leaf {
        if !vars.is_empty() && rng.chance(70) {
            return rng.pick(&vars).clone();
        }
        return literal(rng, ty);
    }
    let d = depth - 1;
    match ty {
        Ty::Bool => match rng.below(17) {
            0 => format!("({} {} {})", gen(rng, env, Ty::Num, d), rng.pick(&["<", "<=", ">", ">=", "==", "!="]), gen(rng, env, Ty::Num, d)),
            1 => format!("({} {} {})", gen(rng, env, Ty::Str, d), rng.pick(&["==", "!=", "<", ">="]), gen(rng, env, Ty::Str, d)),
            2 => format!("(not {})", gen(rng, env, Ty::Bool, d)),
            3 => format!("({} and {})", gen(rng, env, Ty::Bool, d), gen(rng, env, Ty::Bool, d)),
            4 => format!("({} or {})", gen(rng, env, Ty::Bool, d), gen(rng, env, Ty::Bool, d)),
            5 => match env.optional.is_empty() {
                true => literal(rng, ty),
                false => {
                    let (name, t) = env.optional[rng.below(env.optional.len())].clone();
                    format!("(has {name} and {})", guarded(rng, env, &name, t, d))
                }
            },
            6 if env.data && rng.chance(60) => {
                let not = if rng.chance(30) { "not " } else { "" };
                format!("({} {not}in ids)", gen(rng, env, Ty::Str, d))
            }
            6 => format!("({} in [{}, {}])", gen(rng, env, Ty::Str, d), gen(rng, env, Ty::Str, d), literal(rng, Ty::Str)),
            7 => format!("{}.{}({})", gen(rng, env, Ty::Str, d), rng.pick(&["starts_with", "ends_with", "contains"]), gen(rng, env, Ty::Str, d)),
            8 => format!("{}.matches({})", gen(rng, env, Ty::Str, d), rng.pick(REGEXES)),
            9 => {
                let kind = ["any", "all"][rng.below(2)];
                quant(rng, env, d, kind)
            }
            10 => format!("(if {} then {} else {})", gen(rng, env, Ty::Bool, d), gen(rng, env, Ty::Bool, d), gen(rng, env, Ty::Bool, d)),
            11 => format!("{}.contains({})", gen(rng, env, Ty::ListNum, d), gen(rng, env, Ty::Num, d)),
            12 => format!("{}.{}({})", gen(rng, env, Ty::ListStr, d), rng.pick(&["intersects", "subset_of"]), gen(rng, env, Ty::ListStr, d)),
            13 => format!("std.net.{}({})", rng.pick(&["is_ip", "is_private_ip"]), gen(rng, env, Ty::Str, d)),
            14 => format!("({} {} {})", gen(rng, env, Ty::Dur, d), rng.pick(&["<", ">=", "=="]), gen(rng, env, Ty::Dur, d)),
            15 => {
                let has_e = env.vars.iter().any(|(n, _)| n == "b");
                match (has_e, rng.below(3)) {
                    (true, 0) => format!("(e {} {})", rng.pick(&["==", "!="]), rng.pick(&["\"x\"", "\"y\"", "\"z\""])),
                    (true, 1) => format!("(e in [\"x\", \"z\"] or e.upper() == {})", gen(rng, env, Ty::Str, d)),
                    (_, 2) => format!("agent.trust.starts_with({})", gen(rng, env, Ty::Str, d)),
                    _ => format!("(agent.trust {} {})", rng.pick(&["==", "!="]), rng.pick(&["\"low\"", "\"high\""])),
                }
            }
            _ => format!("({} == {})", gen(rng, env, Ty::Bool, d), gen(rng, env, Ty::Bool, d)),
        },
        Ty::Num => match rng.below(15) {
            0..=3 => format!("({} {} {})", gen(rng, env, Ty::Num, d), rng.pick(&["+", "-", "*", "/", "%"]), gen(rng, env, Ty::Num, d)),
            4 => format!("(-{})", gen(rng, env, Ty::Num, d)),
            5 => format!("{}.{}()", gen(rng, env, Ty::Num, d), rng.pick(&["abs", "floor", "ceil", "round"])),
            6 => format!("{}({}, {})", rng.pick(&["min", "max"]), gen(rng, env, Ty::Num, d), gen(rng, env, Ty::Num, d)),
            7 => format!("{}.len()", gen(rng, env, Ty::Str, d)),
            8 => {
                let t = [Ty::ListNum, Ty::ListStr][rng.below(2)];
                format!("{}.len()", gen(rng, env, t, d))
            }
            9 => quant(rng, env, d, "count"),
            10 => format!("(if {} then {} else {})", gen(rng, env, Ty::Bool, d), gen(rng, env, Ty::Num, d), gen(rng, env, Ty::Num, d)),
            11 => match env.maps.first().cloned() {
                Some(m) => {
                    format!("(if has {m} then ({m}[{}] ?? {}) else {})", gen(rng, env, Ty::Str, d), gen(rng, env, Ty::Num, d), gen(rng, env, Ty::Num, d))
                }
                None => format!("time.{}", rng.pick(&["hour", "weekday", "minute", "day", "month", "year"])),
            },
            12 => match env.records.first().cloned() {
                Some(r) => format!("{r}.v"),
                None => format!("({} ?? {})", opt_name(rng, env, Ty::Num).unwrap_or_else(|| "agent.level".into()), gen(rng, env, Ty::Num, d)),
            },
            13 if env.data && rng.chance(50) => format!("(limits[{}] ?? {})", gen(rng, env, Ty::Str, d), gen(rng, env, Ty::Num, d)),
            13 => format!("({} ?? {})", opt_name(rng, env, Ty::Num).unwrap_or_else(|| "agent.level".into()), gen(rng, env, Ty::Num, d)),
            _ => format!("({}[{}] ?? {})", gen(rng, env, Ty::ListNum, d), gen(rng, env, Ty::Num, d), gen(rng, env, Ty::Num, d)),
        },
        Ty::Str => match rng.below(10) {
            0 => format!("{}.{}()", gen(rng, env, Ty::Str, d), rng.pick(&["lower", "upper", "trim"])),
            1 => format!("({} + {})", gen(rng, env, Ty::Str, d), gen(rng, env, Ty::Str, d)),
            2 => format!("{}.{}({})", gen(rng, env, Ty::Str, d), rng.pick(&["before", "after"]), rng.pick(&["\",\"", "\"-\"", "\".\""])),
            3 => format!("(if {} then {} else {})", gen(rng, env, Ty::Bool, d), gen(rng, env, Ty::Str, d), gen(rng, env, Ty::Str, d)),
            4 => format!("({}[{}] ?? {})", gen(rng, env, Ty::ListStr, d), gen(rng, env, Ty::Num, d), gen(rng, env, Ty::Str, d)),
            5 => match opt_name(rng, env, Ty::Str) {
                Some(o) => format!("({o} ?? {})", gen(rng, env, Ty::Str, d)),
                None => literal(rng, ty),
            },
            6 => match env.records.first().cloned() {
                Some(r) => format!("{r}.k"),
                None => literal(rng, ty),
            },
            _ => vars.first().cloned().unwrap_or_else(|| literal(rng, ty)),
        },
        Ty::Dur => match rng.below(3) {
            0 => format!("({} + {})", gen(rng, env, Ty::Dur, d), gen(rng, env, Ty::Dur, d)),
            1 => format!("(time - time + {})", literal(rng, Ty::Dur)),
            _ => literal(rng, ty),
        },
        Ty::ListNum => match rng.below(3) {
            0 => format!("[{}, {}]", gen(rng, env, Ty::Num, d), gen(rng, env, Ty::Num, d)),
            _ => vars.first().cloned().unwrap_or_else(|| literal(rng, ty)),
        },
        Ty::ListStr => match rng.below(5) {
            0 => format!("{}.split({})", gen(rng, env, Ty::Str, d), rng.pick(&["\",\"", "\"\"", "\" \""])),
            1 => format!("{}.find_all({})", gen(rng, env, Ty::Str, d), rng.pick(REGEXES)),
            2 => format!("[{}]", gen(rng, env, Ty::Str, d)),
            3 => match opt_name(rng, env, Ty::ListStr) {
                Some(o) => format!("({o} ?? [])"),
                None => literal(rng, ty),
            },
            _ => vars.first().cloned().unwrap_or_else(|| literal(rng, ty)),
        },
    }
}

pub fn opt_name(rng: &mut Rng, env: &Env, ty: Ty) -> Option<String> {
    let names: Vec<&String> = env.optional.iter().filter(|(_, t)| *t == ty).map(|(n, _)| n).collect();
    (!names.is_empty()).then(|| names[rng.below(names.len())].clone())
}

/// A boolean that reads the optional `name` after `has name` narrowed it.
pub fn guarded(rng: &mut Rng, env: &mut Env, name: &str, t: Ty, d: usize) -> String {
    env.vars.push((name.to_string(), t));
    let s = match t {
        Ty::Num => format!("({name} > {})", gen(rng, env, Ty::Num, d)),
        Ty::Str => format!("({name}.len() > {})", gen(rng, env, Ty::Num, d)),
        _ => format!("({name}.len() >= 1)"),
    };
    env.vars.pop();
    s
}

pub fn quant(rng: &mut Rng, env: &mut Env, d: usize, kind: &str) -> String {
    if env.lambda_depth >= 2 {
        return if kind == "count" { literal(rng, Ty::Num) } else { literal(rng, Ty::Bool) };
    }
    let x = format!("x{}", env.lambda_depth);
    env.lambda_depth += 1;
    let use_pairs = env.vars.iter().any(|(n, _)| n == "n") && env.records.is_empty() && rng.chance(30);
    let (list, elem) = if use_pairs {
        ("ps".to_string(), None)
    } else {
        let t = [Ty::ListNum, Ty::ListStr][rng.below(2)];
        (gen(rng, env, t, d), Some(if t == Ty::ListNum { Ty::Num } else { Ty::Str }))
    };
    match elem {
        Some(t) => env.vars.push((x.clone(), t)),
        None => {
            env.vars.push((format!("{x}.v"), Ty::Num));
            env.vars.push((format!("{x}.k"), Ty::Str));
        }
    }
    let body = gen(rng, env, Ty::Bool, d);
    env.vars.pop();
    if elem.is_none() {
        env.vars.pop();
    }
    env.lambda_depth -= 1;
    format!("{list}.{kind}({x} => {body})")
}

pub fn literal(rng: &mut Rng, ty: Ty) -> String {
    match ty {
        Ty::Bool => rng.pick(&["true", "false"]).to_string(),
        Ty::Num => rng.pick(NUMS).to_string(),
        Ty::Str => rng.pick(STRS).to_string(),
        Ty::Dur => rng.pick(&["30s", "15m", "2h", "1d"]).to_string(),
        Ty::ListNum => rng.pick(&["[]", "[1, 2, 3]", "[0]", "[2.5, -1]"]).to_string(),
        Ty::ListStr => rng.pick(&["[]", "[\"a\", \"x\"]", "[\"Hello World\"]"]).to_string(),
    }
}

/// A generated policy set: its text and the data its `data` declarations read.
pub struct Generated {
    pub text: String,
    pub data: Vec<(&'static str, String)>,
}

impl Generated {
    pub fn build(&self, limits: &Limits) -> Result<Policy, gavel::Diagnostics> {
        let builder = self.data.iter().fold(Policy::builder().source("diff.pol", self.text.clone()), |b, (name, json)| b.data(*name, json.clone()));
        builder.limits(*limits).build()
    }

    /// The policy and its data, to reproduce a failure.
    pub fn shown(&self) -> String {
        let data: Vec<String> = self.data.iter().map(|(name, json)| format!("data/{name}.json: {json}")).collect();
        format!("{}\n{}", self.text, data.join("\n"))
    }
}

/// A window a rule can read: its name, what it reads as, and the one rule scope it may be
/// read in when its keys read arguments (`None`: any scope).
pub struct WindowRead {
    pub name: String,
    /// `Ty::Num` for count, sum and distinct; `Ty::ListStr` for values; `None` for `max`
    /// (an optional number).
    pub ty: Option<Ty>,
    pub only_in: Option<&'static str>,
}

/// Strings the data and the requests share, so membership holds sometimes.
pub const DATA_STRS: &[&str] = &["", "a", "x", "low", "high", "a,b", "Hello World", "x-y", "10.0.0.1", "abc123", "é"];

/// `data` declarations and their values: `ids` (a list of strings, sometimes long enough to
/// be hashed) and `limits` (numbers by string).
pub fn data(rng: &mut Rng, text: &mut String) -> Vec<(&'static str, String)> {
    text.push_str("data ids: list<string>\ndata limits: map<number>\n");
    let n = rng.below(24);
    let ids: Vec<String> = (0..n).map(|k| if rng.chance(50) { (*rng.pick(DATA_STRS)).to_string() } else { format!("id{k}") }).collect();
    let mut limits = Vec::new();
    for k in DATA_STRS {
        if rng.chance(30) {
            limits.push(format!("{k:?}: {}", json_num(rng)));
        }
    }
    vec![("ids", serde_json::to_string(&ids).expect("strings serialize")), ("limits", format!("{{{}}}", limits.join(", ")))]
}

/// `window` declarations over past decisions: each aggregate, keys with and without `args`,
/// `when` on the decision and on the request.
pub fn windows(rng: &mut Rng, text: &mut String) -> Vec<WindowRead> {
    let mut reads = Vec::new();
    for k in 0..1 + rng.below(4) {
        let name = format!("w{k}");
        let on = *rng.pick(&["", "t.a", "t.b"]);
        let (aggregate, ty) = match (rng.below(5), on) {
            (1, "t.a" | "t.b") => ("sum(n)".to_string(), Some(Ty::Num)),
            (2, "t.a" | "t.b") => ("max(n)".to_string(), None),
            (2, _) => ("max(agent.level ?? 0)".to_string(), None),
            (3, "t.a") => ("distinct(s)".to_string(), Some(Ty::Num)),
            (3, _) => ("distinct(agent.trust)".to_string(), Some(Ty::Num)),
            (4, "t.a") => (format!("values({})", rng.pick(&["s", "e", "p.k"])), Some(Ty::ListStr)),
            (4, _) => ("values(agent.id)".to_string(), Some(Ty::ListStr)),
            _ => ("count()".to_string(), Some(Ty::Num)),
        };
        let mut keys: Vec<&str> = vec![*rng.pick(&["agent.id", "workspace", "agent.trust", "tool"])];
        if rng.chance(40) {
            keys.push(*rng.pick(&["workspace", "tool", "agent.id"]));
        }
        let by_args = !on.is_empty() && rng.chance(35);
        if by_args {
            keys.push("args");
        }
        let mut env = env_for(on);
        let depth = 1 + rng.below(2);
        let when = match rng.below(6) {
            0 => String::new(),
            1 => " when decision == deny".to_string(),
            2 => " when decision != allow".to_string(),
            3 => " when decision == require_approval".to_string(),
            4 => format!(" when {} and decision == allow", gen(rng, &mut env, Ty::Bool, depth)),
            _ => format!(" when {}", gen(rng, &mut env, Ty::Bool, depth)),
        };
        let scope = if on.is_empty() { String::new() } else { format!(" on {on}") };
        let over = rng.pick(&["10m", "1h", "1d"]);
        text.push_str(&format!("window {name} = {aggregate}{scope} over {over} by {}{when}\n", keys.join(", ")));
        reads.push(WindowRead { name, ty, only_in: by_args.then_some(on) });
    }
    reads
}

/// What the rules of `scope` read: its arguments, the windows readable there, the data.
pub fn rule_env(scope: &'static str, windows: &[WindowRead], data: bool) -> Env {
    let mut env = env_for(scope);
    env.data = data;
    for w in windows.iter().filter(|w| w.only_in.is_none_or(|only| only == scope)) {
        let name = &w.name;
        match w.ty {
            Some(ty) => env.vars.push((name.clone(), ty)),
            None => env.optional.push((name.clone(), Ty::Num)),
        }
        env.window_tests.extend(match w.ty {
            Some(Ty::ListStr) => vec![format!("(agent.id in {name})"), format!("({name}.len() >= 2)")],
            Some(_) => vec![format!("({name} >= 1)"), format!("({name} >= 2)"), format!("({name} > 3)")],
            None => vec![format!("(({name} ?? 0) >= 1)"), format!("(has {name})")],
        });
    }
    env
}

pub fn policy(rng: &mut Rng) -> Generated {
    let mut text = format!("policy diff\nversion \"1\"\ndefault {}\non error {}\n{HEADER_TYPES}\n", rng.pick(&["allow", "deny"]), rng.pick(&["deny", "allow"]));
    let data = if rng.chance(40) { data(rng, &mut text) } else { Vec::new() };
    let windows = if rng.chance(40) { windows(rng, &mut text) } else { Vec::new() };
    let rules = 1 + rng.below(8);
    let mut i = 0;
    while i < rules {
        // Some rules sit in an `on` block with block `let`s, used any number of times
        // (and by each other), reached or not, failing or not.
        if rng.chance(30) {
            let scope = *rng.pick(&["t.a", "t.b", "t.a, t.b"]);
            let mut env = rule_env(scope, &windows, !data.is_empty());
            text.push_str(&format!("on {scope} {{\n"));
            for k in 0..1 + rng.below(4) {
                let ty = *rng.pick(&[Ty::Num, Ty::Num, Ty::Str, Ty::Bool, Ty::ListNum, Ty::ListStr]);
                let depth = 1 + rng.below(3);
                let value = gen(rng, &mut env, ty, depth);
                let name = format!("v{i}_{k}");
                text.push_str(&format!("  let {name} = {value}\n"));
                env.vars.push((name, ty));
            }
            for _ in 0..1 + rng.below(3) {
                text.push_str(&format!("  {}", rule(rng, &mut env, i, "", scope)));
                i += 1;
            }
            text.push_str("}\n");
            continue;
        }
        let scope = *rng.pick(&["t.a", "t.b", "t.a", "t.b", "t.*", "*", "", "t.a, t.b", "u.*"]);
        let mut env = rule_env(scope, &windows, !data.is_empty());
        let on = if scope.is_empty() { String::new() } else { format!("on {scope} ") };
        text.push_str(&rule(rng, &mut env, i, &on, scope));
        i += 1;
    }
    Generated { text, data }
}

/// One rule `r{i}` (`on` is its scope as written, or empty; `scope` the tools it covers):
/// on one declared tool, sometimes a `set` or `redact` of its arguments.
pub fn rule(rng: &mut Rng, env: &mut Env, i: usize, on: &str, scope: &str) -> String {
    let effect = match (scope, rng.below(10)) {
        ("t.a" | "t.b", 0) => format!("set n = {}", gen(rng, env, Ty::Num, 2)),
        ("t.a", 1) => format!("set p.k = {}", gen(rng, env, Ty::Str, 2)),
        ("t.a" | "t.b", 2) => "redact s".to_string(),
        ("t.a", 3) => "redact ls".to_string(),
        _ => rng.pick(&["deny", "allow", "warn", "require approval from \"ops\"", "deny", "allow"]).to_string(),
    };
    let depth = 1 + rng.below(4);
    let mut cond = gen(rng, env, Ty::Bool, depth);
    if !env.window_tests.is_empty() && rng.chance(60) {
        let test = rng.pick(&env.window_tests).clone();
        cond = if rng.chance(60) { test } else { format!("({test} {} {cond})", rng.pick(&["and", "or"])) };
    }
    let shadow = if rng.chance(10) { "@mode(\"shadow\")\n" } else { "" };
    let when = if rng.chance(95) { format!(" when {cond}") } else { String::new() };
    let because = if rng.chance(30) { " because \"r {workspace}\"" } else { "" };
    format!("{shadow}rule r{i}: {on}{effect}{when}{because}\n")
}

pub fn json_num(rng: &mut Rng) -> String {
    rng.pick(&["0", "1", "-1", "2.5", "3", "1000", "1e200", "-7", "0.5", "1e-300", "10"]).to_string()
}
