//! Tests of the bytecode backend on hand-built IR. Every evaluation runs both the fast and
//! the traced code and checks they agree.

use super::*;
use crate::input::{Frame, RequestSchema};
use crate::ir::{ArgPath, ArithOp, Builtin, CmpOp, Effect, Expr, ExprKind, PolicyInfo, Program, QuantKind, ReasonPart, RegexOp, Rule, ToolGroups, ToolScope};
use crate::span::FileId;
use crate::syntax::ast::DefaultEffect;
use crate::types::Type;
use indexmap::IndexMap;

// ---- IR construction helpers ----

fn sp(start: u32, end: u32) -> Span {
    Span { file: FileId(0), start, end }
}

fn e(kind: ExprKind) -> Expr {
    Expr { kind, ty: Type::Any, span: Span::default() }
}

trait At {
    fn at(self, start: u32, end: u32) -> Expr;
}

impl At for Expr {
    fn at(mut self, start: u32, end: u32) -> Expr {
        self.span = sp(start, end);
        self
    }
}

fn b(x: Expr) -> Box<Expr> {
    Box::new(x)
}
fn num(n: f64) -> Expr {
    e(ExprKind::Const(Value::Num(n)))
}
fn text(s: &str) -> Expr {
    e(ExprKind::Const(Value::str(s)))
}
fn boolean(x: bool) -> Expr {
    e(ExprKind::Const(Value::Bool(x)))
}
fn absent() -> Expr {
    e(ExprKind::Const(Value::Absent))
}
fn slot(i: u32) -> Expr {
    e(ExprKind::Slot(i))
}
fn local(i: u32) -> Expr {
    e(ExprKind::Local(i))
}
fn let_(local: u32, value: Expr, body: Expr) -> Expr {
    e(ExprKind::Let { local, value: b(value), body: b(body) })
}
fn not(a: Expr) -> Expr {
    e(ExprKind::Not(b(a)))
}
fn neg(a: Expr) -> Expr {
    e(ExprKind::Neg(b(a)))
}
fn and(x: Expr, y: Expr) -> Expr {
    e(ExprKind::And(b(x), b(y)))
}
fn or(x: Expr, y: Expr) -> Expr {
    e(ExprKind::Or(b(x), b(y)))
}
fn cmp(op: CmpOp, x: Expr, y: Expr) -> Expr {
    e(ExprKind::Compare(op, b(x), b(y)))
}
fn arith(op: ArithOp, x: Expr, y: Expr) -> Expr {
    e(ExprKind::Arith(op, b(x), b(y)))
}
fn coalesce(x: Expr, y: Expr) -> Expr {
    e(ExprKind::Coalesce(b(x), b(y)))
}
fn has(x: Expr) -> Expr {
    e(ExprKind::Has(b(x)))
}
fn if_(c: Expr, x: Expr, y: Expr) -> Expr {
    e(ExprKind::If(b(c), b(x), b(y)))
}
fn field(x: Expr, i: u32) -> Expr {
    e(ExprKind::Field(b(x), i))
}
fn index(x: Expr, k: Expr) -> Expr {
    e(ExprKind::Index(b(x), b(k)))
}
fn list(items: Vec<Expr>) -> Expr {
    e(ExprKind::List(items))
}
/// The table's builtin `id`.
fn bi(id: &str) -> Builtin {
    crate::ops::builtins::by_id(id).unwrap_or_else(|| panic!("no builtin {id}"))
}
fn call(f: Builtin, args: Vec<Expr>) -> Expr {
    e(ExprKind::Call(f, args))
}
fn regex(op: RegexOp, subject: Expr, i: u32) -> Expr {
    e(ExprKind::Regex { op, subject: b(subject), regex: i })
}
fn quant(kind: QuantKind, local: u32, list: Expr, body: Expr) -> Expr {
    e(ExprKind::Quant { kind, local, list: b(list), body: b(body) })
}
/// `1 / 0 > 0`: errors when evaluated.
fn boom() -> Expr {
    cmp(CmpOp::Gt, arith(ArithOp::Div, num(1.0), num(0.0)), num(0.0))
}

// ---- values ----

fn vnum(n: f64) -> Value {
    Value::Num(n)
}
fn vstr(s: &str) -> Value {
    Value::str(s)
}
fn vlist(items: Vec<Value>) -> Value {
    Value::List(items.into())
}
fn vrecord(items: Vec<Value>) -> Value {
    Value::Record(items.into())
}
fn vmap(entries: &[(&str, Value)]) -> Value {
    Value::Map(std::sync::Arc::new(entries.iter().map(|(k, v)| (std::sync::Arc::from(*k), v.clone())).collect()))
}

// ---- programs ----

fn rule(id: &str, effect: Effect, condition: Option<Expr>, reason: Vec<ReasonPart>, locals: u32) -> Rule {
    Rule {
        id: id.into(),
        effect,
        condition,
        reason,
        annotations: IndexMap::new(),
        enforced: true,
        scope: ToolScope::All,
        reads_args: false,
        locals,
        lets: Vec::new(),
        span: sp(0, 0),
    }
}

fn program(rules: Vec<Rule>, slots: &[&str], regexes: &[&str]) -> Program {
    Program {
        windows: Vec::new(),
        info: PolicyInfo { name: "test".into(), version: "1".into(), default: DefaultEffect::Allow, on_error: DefaultEffect::Deny },
        schema: RequestSchema::default(),
        rules,
        slots: slots.iter().map(|s| s.split('.').map(String::from).collect()).collect(),
        // INVARIANT: the test patterns are valid.
        regexes: regexes.iter().map(|r| regex::Regex::new(r).unwrap()).collect(),
        sets: Vec::new(),
        groups: ToolGroups::default(),
    }
}

fn frame(slots: Vec<Value>) -> Frame {
    Frame { slots, ..Frame::default() }
}

/// Compiles `expr` as a rule condition and runs it both ways; returns the result and trace.
fn run_both(expr: Expr, slots: Vec<Value>, regexes: &[&str]) -> (Result<Value, RuntimeError>, Vec<TraceEntry>) {
    let p = program(vec![rule("r", Effect::Deny, Some(expr), vec![], 8)], &[], regexes);
    let module = compile(&p);
    let chunk = module.rule(0).condition.unwrap();
    let f = frame(slots);
    let mut scratch = Scratch::new();
    let fast = module.run(chunk, &f, &mut scratch, &Meter::default(), None);
    let mut trace = Vec::new();
    let traced = module.run(chunk, &f, &mut scratch, &Meter::default(), Some(&mut trace));
    assert_eq!(fast, traced, "fast and traced code disagree");
    (fast, trace)
}

fn eval(expr: Expr) -> Result<Value, RuntimeError> {
    run_both(expr, vec![], &[]).0
}

fn eval_slots(expr: Expr, slots: Vec<Value>) -> Result<Value, RuntimeError> {
    run_both(expr, slots, &[]).0
}

fn ok(expr: Expr) -> Value {
    match eval(expr) {
        Ok(v) => v,
        Err(err) => panic!("unexpected error: {err:?}"),
    }
}

fn err(expr: Expr) -> RuntimeError {
    match eval(expr) {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(err) => err,
    }
}

fn call_ok(f: Builtin, args: Vec<Expr>) -> Value {
    ok(call(f, args))
}

// ---- constructs ----

#[test]
fn arithmetic_on_numbers_and_string_concatenation() {
    assert_eq!(ok(arith(ArithOp::Add, num(1.0), num(2.0))), vnum(3.0));
    assert_eq!(ok(arith(ArithOp::Sub, num(1.0), num(2.5))), vnum(-1.5));
    assert_eq!(ok(arith(ArithOp::Mul, num(4.0), num(2.5))), vnum(10.0));
    assert_eq!(ok(arith(ArithOp::Div, num(7.0), num(2.0))), vnum(3.5));
    assert_eq!(ok(arith(ArithOp::Rem, num(7.0), num(3.0))), vnum(1.0));
    assert_eq!(ok(arith(ArithOp::Rem, num(-7.0), num(3.0))), vnum(-1.0));
    assert_eq!(ok(arith(ArithOp::Add, text("ab"), text("cd"))), vstr("abcd"));
}

#[test]
fn division_by_zero_is_an_error_at_the_division() {
    let error = err(cmp(CmpOp::Gt, arith(ArithOp::Div, num(1.0), num(0.0)).at(3, 8), num(0.0)).at(3, 12));
    assert_eq!(error, RuntimeError { span: sp(3, 8), message: "division by zero".into() });
    let error = err(arith(ArithOp::Rem, num(1.0), num(0.0)).at(20, 25));
    assert_eq!(error, RuntimeError { span: sp(20, 25), message: "division by zero".into() });
}

#[test]
fn non_finite_results_are_errors() {
    let error = err(arith(ArithOp::Mul, num(1e308), num(10.0)).at(1, 9));
    assert_eq!(error, RuntimeError { span: sp(1, 9), message: "result is not a finite number".into() });
}

#[test]
fn comparisons() {
    assert_eq!(ok(cmp(CmpOp::Lt, num(1.0), num(2.0))), Value::Bool(true));
    assert_eq!(ok(cmp(CmpOp::Ge, num(1.0), num(2.0))), Value::Bool(false));
    assert_eq!(ok(cmp(CmpOp::Le, num(2.0), num(2.0))), Value::Bool(true));
    assert_eq!(ok(cmp(CmpOp::Gt, text("b"), text("a"))), Value::Bool(true));
    // Bytewise: uppercase sorts before lowercase.
    assert_eq!(ok(cmp(CmpOp::Lt, text("B"), text("a"))), Value::Bool(true));
    assert_eq!(ok(cmp(CmpOp::Eq, list(vec![num(1.0), text("x")]), list(vec![num(1.0), text("x")]))), Value::Bool(true));
    assert_eq!(ok(cmp(CmpOp::Ne, list(vec![num(1.0)]), list(vec![num(2.0)]))), Value::Bool(true));
    assert_eq!(ok(cmp(CmpOp::Eq, absent(), absent())), Value::Bool(true));
    assert_eq!(ok(cmp(CmpOp::Eq, num(0.0), num(-0.0))), Value::Bool(true));
}

#[test]
fn unary_operators_has_and_coalesce() {
    assert_eq!(ok(not(boolean(false))), Value::Bool(true));
    assert_eq!(ok(neg(num(3.0))), vnum(-3.0));
    assert_eq!(ok(has(absent())), Value::Bool(false));
    assert_eq!(ok(has(num(0.0))), Value::Bool(true));
    assert_eq!(ok(coalesce(absent(), num(5.0))), vnum(5.0));
    assert_eq!(ok(coalesce(num(1.0), num(5.0))), vnum(1.0));
    // The right side is not evaluated when the left is present.
    assert_eq!(ok(coalesce(boolean(true), boom())), Value::Bool(true));
}

#[test]
fn and_or_short_circuit() {
    assert_eq!(ok(and(boolean(false), boom())), Value::Bool(false));
    assert_eq!(ok(or(boolean(true), boom())), Value::Bool(true));
    assert_eq!(ok(and(boolean(true), boolean(false))), Value::Bool(false));
    assert_eq!(ok(or(boolean(false), boolean(true))), Value::Bool(true));
    assert_eq!(err(and(boolean(true), boom())).message, "division by zero");
    assert_eq!(err(or(boolean(false), boom())).message, "division by zero");
}

#[test]
fn if_evaluates_one_branch() {
    assert_eq!(ok(if_(boolean(true), num(1.0), boom())), vnum(1.0));
    assert_eq!(ok(if_(boolean(false), boom(), num(2.0))), vnum(2.0));
    // Nested in an operand, the branch result stays on the stack correctly.
    assert_eq!(ok(arith(ArithOp::Add, if_(boolean(false), num(1.0), num(2.0)), num(10.0))), vnum(12.0));
}

#[test]
fn slots_and_let() {
    let x = eval_slots(arith(ArithOp::Add, slot(0), slot(1)), vec![vnum(2.0), vnum(3.0)]);
    assert_eq!(x, Ok(vnum(5.0)));
    // let 0 = 2 + 1 in local0 * local0
    let square = let_(0, arith(ArithOp::Add, num(2.0), num(1.0)), arith(ArithOp::Mul, local(0), local(0)));
    assert_eq!(ok(square), vnum(9.0));
    // Nested lets, the inner reading the outer.
    let nested = let_(0, num(2.0), let_(1, arith(ArithOp::Mul, local(0), num(10.0)), arith(ArithOp::Sub, local(1), local(0))));
    assert_eq!(ok(nested), vnum(18.0));
}

#[test]
fn fields_and_indexes() {
    let rec = vrecord(vec![vstr("US"), vnum(5.0)]);
    assert_eq!(eval_slots(field(slot(0), 1), vec![rec.clone()]), Ok(vnum(5.0)));
    assert_eq!(eval_slots(field(slot(0), 0), vec![Value::Absent]), Ok(Value::Absent));
    // Fields of fields of an absent record stay absent.
    assert_eq!(eval_slots(field(field(slot(0), 0), 2), vec![Value::Absent]), Ok(Value::Absent));
    let l = || list(vec![text("a"), text("b")]);
    assert_eq!(ok(index(l(), num(1.0))), vstr("b"));
    assert_eq!(ok(index(l(), num(2.0))), Value::Absent);
    assert_eq!(ok(index(l(), num(-1.0))), Value::Absent);
    assert_eq!(ok(index(l(), num(0.5))), Value::Absent);
    assert_eq!(ok(index(l(), num(1e300))), Value::Absent);
    let m = vmap(&[("EUR", vnum(100.0))]);
    assert_eq!(eval_slots(index(slot(0), text("EUR")), vec![m.clone()]), Ok(vnum(100.0)));
    assert_eq!(eval_slots(index(slot(0), text("USD")), vec![m]), Ok(Value::Absent));
    assert_eq!(eval_slots(index(slot(0), num(0.0)), vec![Value::Absent]), Ok(Value::Absent));
}

#[test]
fn list_literals_keep_order() {
    assert_eq!(ok(list(vec![num(1.0), text("x"), list(vec![])])), vlist(vec![vnum(1.0), vstr("x"), vlist(vec![])]));
}

#[test]
fn regexes_match_and_find_all() {
    let re = &[r"^\d+$", r"https?://\S+"];
    assert_eq!(run_both(regex(RegexOp::Matches, text("12345"), 0), vec![], re).0, Ok(Value::Bool(true)));
    assert_eq!(run_both(regex(RegexOp::Matches, text("12a45"), 0), vec![], re).0, Ok(Value::Bool(false)));
    let found = run_both(regex(RegexOp::FindAll, text("see http://a.example and https://b.example/x"), 1), vec![], re).0;
    assert_eq!(found, Ok(vlist(vec![vstr("http://a.example"), vstr("https://b.example/x")])));
}

// ---- quantifiers ----

fn nums(ns: &[f64]) -> Expr {
    list(ns.iter().map(|n| num(*n)).collect())
}

#[test]
fn any_all_count() {
    let gt2 = || cmp(CmpOp::Gt, local(0), num(2.0));
    assert_eq!(ok(quant(QuantKind::Any, 0, nums(&[1.0, 3.0]), gt2())), Value::Bool(true));
    assert_eq!(ok(quant(QuantKind::Any, 0, nums(&[1.0, 2.0]), gt2())), Value::Bool(false));
    assert_eq!(ok(quant(QuantKind::All, 0, nums(&[3.0, 4.0]), gt2())), Value::Bool(true));
    assert_eq!(ok(quant(QuantKind::All, 0, nums(&[3.0, 1.0]), gt2())), Value::Bool(false));
    assert_eq!(ok(quant(QuantKind::Count, 0, nums(&[3.0, 1.0, 5.0, 9.0]), gt2())), vnum(3.0));
    // Empty lists.
    assert_eq!(ok(quant(QuantKind::Any, 0, nums(&[]), gt2())), Value::Bool(false));
    assert_eq!(ok(quant(QuantKind::All, 0, nums(&[]), gt2())), Value::Bool(true));
    assert_eq!(ok(quant(QuantKind::Count, 0, nums(&[]), gt2())), vnum(0.0));
}

#[test]
fn absent_lists_are_empty() {
    let body = || boolean(true);
    assert_eq!(eval_slots(quant(QuantKind::Any, 0, slot(0), body()), vec![Value::Absent]), Ok(Value::Bool(false)));
    assert_eq!(eval_slots(quant(QuantKind::All, 0, slot(0), body()), vec![Value::Absent]), Ok(Value::Bool(true)));
    assert_eq!(eval_slots(quant(QuantKind::Count, 0, slot(0), body()), vec![Value::Absent]), Ok(vnum(0.0)));
}

#[test]
fn quantifiers_stop_at_the_deciding_element() {
    // [1, 0].any(x => 10 / x > 1): decided by 1, so 10 / 0 never runs.
    let body = || cmp(CmpOp::Gt, arith(ArithOp::Div, num(10.0), local(0)), num(1.0));
    assert_eq!(ok(quant(QuantKind::Any, 0, nums(&[1.0, 0.0]), body())), Value::Bool(true));
    // [20, 0].all(...): decided by 20 (10 / 20 > 1 is false).
    assert_eq!(ok(quant(QuantKind::All, 0, nums(&[20.0, 0.0]), body())), Value::Bool(false));
    // count looks at every element.
    assert_eq!(err(quant(QuantKind::Count, 0, nums(&[1.0, 0.0]), body())).message, "division by zero");
}

#[test]
fn nested_quantifiers_use_their_own_iterators() {
    // [[1, 2], [3, 4]].any(xs => xs.all(y => y > 2))  -> true (second list)
    let lists = || list(vec![nums(&[1.0, 2.0]), nums(&[3.0, 4.0])]);
    let inner = |kind| quant(kind, 1, local(0), cmp(CmpOp::Gt, local(1), num(2.0)));
    assert_eq!(ok(quant(QuantKind::Any, 0, lists(), inner(QuantKind::All))), Value::Bool(true));
    // [[1, 2], [3, 4]].all(xs => xs.any(y => y > 2))  -> false (first list)
    assert_eq!(ok(quant(QuantKind::All, 0, lists(), inner(QuantKind::Any))), Value::Bool(false));
    // [[1, 5, 6], [3, 4]].count(xs => xs.count(y => y > 2) >= 2) -> 2
    let lists2 = list(vec![nums(&[1.0, 5.0, 6.0]), nums(&[3.0, 4.0])]);
    let body = cmp(CmpOp::Ge, quant(QuantKind::Count, 1, local(0), cmp(CmpOp::Gt, local(1), num(2.0))), num(2.0));
    assert_eq!(ok(quant(QuantKind::Count, 0, lists2, body)), vnum(2.0));
    // The inner lambda reads the outer parameter: [1, 2].count(x => [1, 2, 3].any(y => y == x + 1)) -> 2
    let inner = quant(QuantKind::Any, 1, nums(&[1.0, 2.0, 3.0]), cmp(CmpOp::Eq, local(1), arith(ArithOp::Add, local(0), num(1.0))));
    assert_eq!(ok(quant(QuantKind::Count, 0, nums(&[1.0, 2.0]), inner)), vnum(2.0));
}

#[test]
fn an_early_exit_from_an_inner_quantifier_leaves_the_outer_iterating() {
    // [[9], [9], [1]].count(xs => xs.any(y => y > 2)): the inner `any` exits early twice.
    let lists = list(vec![nums(&[9.0, 9.0]), nums(&[9.0]), nums(&[1.0])]);
    let body = quant(QuantKind::Any, 1, local(0), cmp(CmpOp::Gt, local(1), num(2.0)));
    assert_eq!(ok(quant(QuantKind::Count, 0, lists, body)), vnum(2.0));
}

// ---- builtins ----

#[test]
fn string_builtins() {
    assert_eq!(call_ok(bi("str_len"), vec![text("çab")]), vnum(3.0));
    assert_eq!(call_ok(bi("lower"), vec![text("AbÇ")]), vstr("abç"));
    assert_eq!(call_ok(bi("upper"), vec![text("abç")]), vstr("ABÇ"));
    assert_eq!(call_ok(bi("trim"), vec![text("  a b \n")]), vstr("a b"));
    assert_eq!(call_ok(bi("starts_with"), vec![text("payments.x"), text("payments.")]), Value::Bool(true));
    assert_eq!(call_ok(bi("ends_with"), vec![text("a@corp.com"), text("@corp.com")]), Value::Bool(true));
    assert_eq!(call_ok(bi("ends_with"), vec![text("a@corp.com"), text("@evil.com")]), Value::Bool(false));
    assert_eq!(call_ok(bi("str_contains"), vec![text("a@b"), text("@")]), Value::Bool(true));
    assert_eq!(call_ok(bi("str_contains"), vec![text("ab"), text("@")]), Value::Bool(false));
    assert_eq!(call_ok(bi("split"), vec![text("a,b,,c"), text(",")]), vlist(vec![vstr("a"), vstr("b"), vstr(""), vstr("c")]));
    assert_eq!(call_ok(bi("split"), vec![text("ab"), text("")]), vlist(vec![vstr("a"), vstr("b")]));
    assert_eq!(call_ok(bi("before"), vec![text("user@host@x"), text("@")]), vstr("user"));
    assert_eq!(call_ok(bi("before"), vec![text("user"), text("@")]), vstr("user"));
    assert_eq!(call_ok(bi("after"), vec![text("user@host@x"), text("@")]), vstr("host@x"));
    assert_eq!(call_ok(bi("after"), vec![text("user"), text("@")]), vstr(""));
}

#[test]
fn list_and_map_builtins() {
    let ab = || list(vec![text("a"), text("b")]);
    assert_eq!(call_ok(bi("list_len"), vec![ab()]), vnum(2.0));
    assert_eq!(call_ok(bi("is_empty"), vec![ab()]), Value::Bool(false));
    assert_eq!(call_ok(bi("is_empty"), vec![list(vec![])]), Value::Bool(true));
    assert_eq!(call_ok(bi("list_contains"), vec![ab(), text("b")]), Value::Bool(true));
    assert_eq!(call_ok(bi("list_contains"), vec![ab(), text("c")]), Value::Bool(false));
    assert_eq!(call_ok(bi("intersects"), vec![ab(), list(vec![text("c"), text("a")])]), Value::Bool(true));
    assert_eq!(call_ok(bi("intersects"), vec![ab(), list(vec![text("c")])]), Value::Bool(false));
    assert_eq!(call_ok(bi("subset_of"), vec![list(vec![text("b")]), ab()]), Value::Bool(true));
    assert_eq!(call_ok(bi("subset_of"), vec![list(vec![text("b"), text("z")]), ab()]), Value::Bool(false));
    assert_eq!(call_ok(bi("subset_of"), vec![list(vec![]), ab()]), Value::Bool(true));
    let m = vmap(&[("a", vnum(1.0)), ("b", vnum(2.0))]);
    assert_eq!(eval_slots(call(bi("map_has_key"), vec![slot(0), text("b")]), vec![m.clone()]), Ok(Value::Bool(true)));
    assert_eq!(eval_slots(call(bi("map_has_key"), vec![slot(0), text("z")]), vec![m.clone()]), Ok(Value::Bool(false)));
    assert_eq!(eval_slots(call(bi("map_len"), vec![slot(0)]), vec![m]), Ok(vnum(2.0)));
}

#[test]
fn number_builtins() {
    assert_eq!(call_ok(bi("abs"), vec![num(-2.5)]), vnum(2.5));
    assert_eq!(call_ok(bi("floor"), vec![num(-2.5)]), vnum(-3.0));
    assert_eq!(call_ok(bi("ceil"), vec![num(2.1)]), vnum(3.0));
    assert_eq!(call_ok(bi("round"), vec![num(2.5)]), vnum(3.0));
    assert_eq!(call_ok(bi("round"), vec![num(-2.5)]), vnum(-3.0));
    assert_eq!(call_ok(bi("round"), vec![num(2.4)]), vnum(2.0));
    assert_eq!(call_ok(bi("min"), vec![num(3.0), num(1000.0)]), vnum(3.0));
    assert_eq!(call_ok(bi("max"), vec![num(3.0), num(1000.0)]), vnum(1000.0));
}

#[test]
fn time_builtins_in_utc() {
    // 2024-01-01T13:05:30Z, a Monday.
    let t = 1_704_067_200.0 + 13.0 * 3600.0 + 5.0 * 60.0 + 30.0;
    assert_eq!(call_ok(bi("hour"), vec![num(t)]), vnum(13.0));
    assert_eq!(call_ok(bi("minute"), vec![num(t)]), vnum(5.0));
    assert_eq!(call_ok(bi("weekday"), vec![num(t)]), vnum(1.0));
    assert_eq!(call_ok(bi("day"), vec![num(t)]), vnum(1.0));
    assert_eq!(call_ok(bi("month"), vec![num(t)]), vnum(1.0));
    assert_eq!(call_ok(bi("year"), vec![num(t)]), vnum(2024.0));
    // Sunday 2024-01-07.
    assert_eq!(call_ok(bi("weekday"), vec![num(1_704_067_200.0 + 6.0 * 86400.0)]), vnum(7.0));
    // One second before the epoch: 1969-12-31T23:59:59Z, a Wednesday.
    assert_eq!(call_ok(bi("hour"), vec![num(-0.5)]), vnum(23.0));
    assert_eq!(call_ok(bi("weekday"), vec![num(-1.0)]), vnum(3.0));
    assert_eq!(call_ok(bi("year"), vec![num(-1.0)]), vnum(1969.0));
    assert_eq!(err(call(bi("year"), vec![num(1e300)]).at(4, 9)), RuntimeError { span: sp(4, 9), message: "timestamp out of range".into() });
}

#[test]
fn an_unknown_native_is_an_internal_error() {
    let error = err(call(Builtin::Native(9999), vec![text("x")]).at(2, 7));
    assert_eq!(error.span, sp(2, 7));
    assert!(error.message.starts_with("internal: "), "{}", error.message);
}

// ---- malformed IR never panics ----

#[test]
fn wrong_shapes_are_internal_errors() {
    let cases = vec![
        not(num(1.0)),
        neg(text("a")),
        and(num(1.0), boolean(true)),
        or(text("x"), boolean(true)),
        if_(num(1.0), num(1.0), num(2.0)),
        arith(ArithOp::Sub, text("a"), text("b")),
        cmp(CmpOp::Lt, num(1.0), text("a")),
        field(num(1.0), 0),
        field(list(vec![]), 0),
        index(num(1.0), num(0.0)),
        call(bi("str_len"), vec![num(1.0)]),
        call(bi("min"), vec![num(1.0)]),
        call(bi("lower"), vec![]),
        regex(RegexOp::Matches, num(1.0), 0),
        regex(RegexOp::Matches, text("a"), 7),
        quant(QuantKind::Any, 0, num(1.0), boolean(true)),
        quant(QuantKind::Any, 0, nums(&[1.0]), num(1.0)),
        quant(QuantKind::Count, 0, nums(&[1.0]), num(1.0)),
        quant(QuantKind::Any, 99, nums(&[1.0]), boolean(true)),
        local(99),
        slot(5),
        e(ExprKind::Input(vec!["args".into(), "x".into()])),
    ];
    for case in cases {
        let shown = format!("{:?}", case.kind);
        let (result, _) = run_both(case, vec![], &[r"a"]);
        match result {
            Err(error) => assert!(error.message.starts_with("internal: "), "{shown}: {}", error.message),
            Ok(v) => panic!("{shown}: expected an internal error, got {v:?}"),
        }
    }
}

// ---- traces ----

fn entry(start: u32, end: u32, value: Value) -> TraceEntry {
    TraceEntry { span: sp(start, end), value }
}

#[test]
fn trace_lists_every_node_in_post_order() {
    // (slot0 > 10) and (slot1 == "x")
    let expr =
        and(cmp(CmpOp::Gt, slot(0).at(0, 1), num(10.0).at(4, 6)).at(0, 6), cmp(CmpOp::Eq, slot(1).at(11, 12), text("x").at(16, 19)).at(11, 19)).at(0, 19);
    let (result, trace) = run_both(expr, vec![vnum(20.0), vstr("x")], &[]);
    assert_eq!(result, Ok(Value::Bool(true)));
    assert_eq!(
        trace,
        vec![
            entry(0, 1, vnum(20.0)),
            entry(4, 6, vnum(10.0)),
            entry(0, 6, Value::Bool(true)),
            entry(11, 12, vstr("x")),
            entry(16, 19, vstr("x")),
            entry(11, 19, Value::Bool(true)),
            entry(0, 19, Value::Bool(true)),
        ]
    );
}

#[test]
fn trace_omits_nodes_skipped_by_short_circuit() {
    let expr = and(boolean(false).at(0, 5), boom().at(10, 20)).at(0, 20);
    let (_, trace) = run_both(expr, vec![], &[]);
    assert_eq!(trace, vec![entry(0, 5, Value::Bool(false)), entry(0, 20, Value::Bool(false))]);

    let expr = if_(boolean(true).at(3, 7), num(1.0).at(13, 14), boom().at(20, 30)).at(0, 30);
    let (_, trace) = run_both(expr, vec![], &[]);
    assert_eq!(trace, vec![entry(3, 7, Value::Bool(true)), entry(13, 14, vnum(1.0)), entry(0, 30, vnum(1.0))]);

    let expr = coalesce(slot(0).at(0, 1), num(0.0).at(5, 6)).at(0, 6);
    let (_, trace) = run_both(expr, vec![Value::Absent], &[]);
    assert_eq!(trace, vec![entry(0, 1, Value::Absent), entry(5, 6, vnum(0.0)), entry(0, 6, vnum(0.0))]);
}

#[test]
fn trace_records_each_iteration_of_a_quantifier() {
    // [1, 5, 7].any(x => x > 4): stops at 5.
    let expr = quant(QuantKind::Any, 0, nums(&[1.0, 5.0, 7.0]).at(0, 9), cmp(CmpOp::Gt, local(0).at(20, 21), num(4.0).at(24, 25)).at(20, 25)).at(0, 26);
    let (_, trace) = run_both(expr, vec![], &[]);
    let items: Vec<TraceEntry> = trace.into_iter().filter(|t| t.span.start != 0 || t.span.end != 0).collect();
    assert_eq!(
        items,
        vec![
            entry(0, 9, vlist(vec![vnum(1.0), vnum(5.0), vnum(7.0)])),
            entry(20, 21, vnum(1.0)),
            entry(24, 25, vnum(4.0)),
            entry(20, 25, Value::Bool(false)),
            entry(20, 21, vnum(5.0)),
            entry(24, 25, vnum(4.0)),
            entry(20, 25, Value::Bool(true)),
            entry(0, 26, Value::Bool(true)),
        ]
    );
}

#[test]
fn trace_of_a_failing_run_stops_at_the_error() {
    let expr = arith(ArithOp::Add, num(1.0).at(0, 1), arith(ArithOp::Div, num(2.0).at(4, 5), num(0.0).at(8, 9)).at(4, 9)).at(0, 9);
    let (result, trace) = run_both(expr, vec![], &[]);
    assert_eq!(result.map_err(|e| e.span), Err(sp(4, 9)));
    assert_eq!(trace, vec![entry(0, 1, vnum(1.0)), entry(4, 5, vnum(2.0)), entry(8, 9, vnum(0.0))]);
}

// ---- modules ----

#[test]
fn rules_compile_to_conditions_set_values_and_reasons() {
    let amount = ArgPath { segments: vec!["records".into()], ty: Type::Number, span: sp(0, 0) };
    let p = program(
        vec![
            rule("always", Effect::Deny, None, vec![ReasonPart::Text("no".into())], 0),
            rule(
                "cap",
                Effect::Set(amount, call(bi("min"), vec![slot(0), num(1000.0)])),
                Some(cmp(CmpOp::Gt, slot(0), num(1000.0))),
                vec![ReasonPart::Text("capped ".into()), ReasonPart::Expr(slot(0)), ReasonPart::Text(" records".into())],
                0,
            ),
        ],
        &["args.records"],
        &[],
    );
    let module = compile(&p);
    assert_eq!(module.rules().len(), 2);
    assert_eq!(module.rule(0), &RuleCode { condition: None, set_value: None, reason: vec![ReasonCode::Text("no".into())] });
    let cap = module.rule(1);
    let (Some(condition), Some(set_value), [ReasonCode::Text(_), ReasonCode::Expr(reason), ReasonCode::Text(_)]) =
        (cap.condition, cap.set_value, cap.reason.as_slice())
    else {
        panic!("unexpected rule code {cap:?}");
    };
    let f = frame(vec![vnum(5000.0)]);
    let mut scratch = Scratch::new();
    assert_eq!(module.run_condition(condition, &f, &mut scratch, &Meter::default()), Ok(true));
    assert_eq!(module.run(set_value, &f, &mut scratch, &Meter::default(), None), Ok(vnum(1000.0)));
    assert_eq!(module.run(*reason, &f, &mut scratch, &Meter::default(), None), Ok(vnum(5000.0)));
    let small = frame(vec![vnum(10.0)]);
    assert_eq!(module.run_condition(condition, &small, &mut scratch, &Meter::default()), Ok(false));
}

#[test]
fn run_condition_rejects_a_non_bool() {
    let p = program(vec![rule("r", Effect::Deny, Some(num(1.0).at(3, 4)), vec![], 0)], &[], &[]);
    let module = compile(&p);
    let error = module.run_condition(ChunkId(0), &Frame::default(), &mut Scratch::new(), &Meter::default());
    assert_eq!(error.map_err(|e| e.span), Err(sp(3, 4)));
    let missing = module.run(ChunkId(42), &Frame::default(), &mut Scratch::new(), &Meter::default(), None);
    assert!(missing.is_err());
}

#[test]
fn scratch_is_reset_between_runs() {
    // A local read before any store is absent, whatever an earlier run left in it.
    let p = program(
        vec![
            rule("store", Effect::Deny, Some(let_(0, num(7.0), cmp(CmpOp::Eq, local(0), num(7.0)))), vec![], 1),
            rule("read", Effect::Deny, Some(has(local(0))), vec![], 1),
            rule("fail", Effect::Deny, Some(and(boolean(true), boom())), vec![], 1),
        ],
        &[],
        &[],
    );
    let module = compile(&p);
    let mut scratch = Scratch::new();
    let f = Frame::default();
    assert_eq!(module.run_condition(ChunkId(0), &f, &mut scratch, &Meter::default()), Ok(true));
    assert_eq!(module.run_condition(ChunkId(1), &f, &mut scratch, &Meter::default()), Ok(false));
    assert!(module.run_condition(ChunkId(2), &f, &mut scratch, &Meter::default()).is_err());
    assert_eq!(module.run_condition(ChunkId(0), &f, &mut scratch, &Meter::default()), Ok(true));
}

#[test]
fn module_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Module>();
    assert!(std::mem::size_of::<op::Op>() <= 16);
}

#[test]
fn disassembly_of_a_small_program() {
    let p = program(
        vec![
            rule(
                "big_foreign_transfer",
                Effect::Deny,
                Some(
                    and(
                        cmp(CmpOp::Gt, slot(0).at(30, 36), num(10_000.0).at(39, 45)).at(30, 45),
                        not(call(bi("list_contains"), vec![list(vec![text("US").at(51, 55), text("DE").at(57, 61)]).at(50, 62), field(slot(1), 0).at(66, 83)])
                            .at(50, 83))
                        .at(50, 83),
                    )
                    .at(30, 83),
                ),
                vec![ReasonPart::Text("amount ".into()), ReasonPart::Expr(slot(0).at(100, 106))],
                0,
            ),
            rule(
                "link_count",
                Effect::Warn,
                Some(
                    let_(
                        0,
                        regex(RegexOp::FindAll, coalesce(slot(2).at(140, 144), text("").at(148, 150)).at(140, 150), 0).at(140, 170),
                        cmp(
                            CmpOp::Ge,
                            quant(QuantKind::Count, 1, local(0).at(175, 180), call(bi("ends_with"), vec![local(1), text(".ru")]).at(190, 210)).at(175, 211),
                            num(2.0).at(215, 216),
                        )
                        .at(175, 216),
                    )
                    .at(140, 216),
                ),
                vec![],
                2,
            ),
        ],
        &["args.amount", "args.recipient", "args.body"],
        &[r"https?://\S+"],
    );
    insta::assert_snapshot!(compile(&p).disassemble());
}
