//! The builtin table is consistent: what the checker accepts from it has an
//! implementation of the declared shapes, and the JIT's fast paths name entries that fit
//! them (the model is `stdlib::NATIVES` and its test that both sides match).

use super::builtins::{apply, by_id, find, names, Builtin, BuiltinSpec, Form, Imp, JitFast, Pred, Recv, StrTest, Ty, BUILTINS};
use crate::value::Value;
use std::collections::HashSet;

/// A value of type `t` for a receiver of kind `recv` (lists hold strings).
fn sample(t: Ty, recv: Recv) -> Value {
    match (t, recv) {
        (Ty::Bool, _) => Value::Bool(true),
        (Ty::Number | Ty::Numeric, _) => Value::Num(1.5),
        (Ty::String | Ty::Elem, _) => Value::str("a,b"),
        (Ty::Strings, _) | (Ty::Same, Recv::List | Recv::Strings) => Value::List(vec![Value::str("a")].into()),
        (Ty::OptNumber, _) => Value::Absent,
        (Ty::Same, _) => Value::Absent,
    }
}

fn receiver(recv: Recv) -> Option<Value> {
    match recv {
        Recv::String => Some(Value::str("a,b")),
        Recv::List | Recv::Strings => Some(Value::List(vec![Value::str("a"), Value::str("b")].into())),
        Recv::Number => Some(Value::Num(-2.5)),
        Recv::Map => Some(Value::Map(std::sync::Arc::new([(std::sync::Arc::from("a"), Value::Num(1.0))].into_iter().collect()))),
        Recv::Timestamp => Some(Value::Num(1_704_114_300.0)),
        Recv::Function => None,
    }
}

/// Whether `v` is a value of the result type `t`.
fn fits(v: &Value, t: Ty) -> bool {
    match t {
        Ty::Bool => matches!(v, Value::Bool(_)),
        Ty::Number | Ty::Numeric => matches!(v, Value::Num(_)),
        Ty::String => matches!(v, Value::Str(_)),
        Ty::Strings => matches!(v, Value::List(items) if items.iter().all(|i| matches!(i, Value::Str(_)))),
        Ty::OptNumber => matches!(v, Value::Num(_) | Value::Absent),
        Ty::Elem | Ty::Same => true,
    }
}

fn calls() -> impl Iterator<Item = &'static BuiltinSpec> {
    BUILTINS.iter().filter(|s| !matches!(s.imp, Imp::Form(_)))
}

#[test]
fn ids_are_unique_and_names_unique_per_receiver() {
    let mut ids = HashSet::new();
    let mut names_seen = HashSet::new();
    for s in BUILTINS {
        assert!(ids.insert(s.id), "two builtins have the id `{}`", s.id);
        assert!(names_seen.insert((s.recv, s.name)), "{:?} has two `{}`", s.recv, s.name);
        assert_eq!(find(s.recv, s.name).map(|(_, f)| f.id), Some(s.id));
        assert_eq!(by_id(s.id).map(Builtin::id), Some(s.id));
    }
}

/// Every builtin the checker accepts has an implementation taking the declared types and
/// giving the declared result type.
#[test]
fn every_builtin_implements_its_declared_types() {
    for s in calls() {
        let mut args: Vec<Value> = receiver(s.recv).into_iter().collect();
        args.extend(s.params.iter().map(|t| sample(*t, s.recv)));
        assert_eq!(args.len(), s.arity(), "{}", s.id);
        let result = match args.as_slice() {
            [a] => apply(s.imp, a, None, None),
            [a, b] => apply(s.imp, a, Some(b), None),
            [a, b, c] => apply(s.imp, a, Some(b), Some(c)),
            _ => panic!("{}: engine builtins take one to three arguments", s.id),
        };
        match result {
            Some(Ok(v)) => assert!(fits(&v, s.result), "{} gave {v:?}, declared {:?}", s.id, s.result),
            Some(Err(f)) => panic!("{} failed on its declared types: {f}", s.id),
            None => panic!("{}'s implementation does not take its declared types {:?} on {:?}", s.id, s.params, s.recv),
        }
        // And one argument fewer is a shape error, not a result.
        let fewer = match args.as_slice() {
            [_, b] => apply(s.imp, b, None, None).filter(|r| r.is_ok()),
            [a, b, _] => apply(s.imp, a, Some(b), None).filter(|r| r.is_ok()),
            _ => None,
        };
        assert!(fewer.is_none() || s.params.is_empty() || s.recv == Recv::Function, "{} takes fewer arguments than declared", s.id);
    }
}

/// What the checker assumes of the table's shapes.
#[test]
fn receivers_and_forms_are_what_the_checker_expects() {
    for s in BUILTINS {
        match (s.recv, s.imp) {
            (Recv::Function, Imp::Form(_)) | (Recv::Timestamp, Imp::Form(_)) => panic!("{}: forms are methods", s.id),
            (Recv::String, Imp::Form(Form::Matches | Form::FindAll))
            | (Recv::List, Imp::Form(Form::Any | Form::All | Form::Count | Form::Map | Form::Filter)) => {}
            (_, Imp::Form(f)) => panic!("{}: {f:?} on {:?}", s.id, s.recv),
            (Recv::Function, _) => assert!(s.params.iter().chain([&s.result]).all(|t| *t == Ty::Numeric), "{}: functions are numeric", s.id),
            (Recv::Timestamp, _) => assert!(s.params.is_empty(), "{}: timestamp parts are fields", s.id),
            _ => assert!(!s.params.contains(&Ty::Numeric) && s.result != Ty::Numeric, "{}: `Numeric` is for functions", s.id),
        }
    }
}

#[test]
fn membership_has_a_builtin_for_each_container() {
    for recv in [Recv::String, Recv::List, Recv::Map] {
        let (_, s) = find(recv, "contains").unwrap_or_else(|| panic!("{recv:?} has no `contains`"));
        assert_eq!((s.params.len(), s.result), (1, Ty::Bool), "{recv:?}");
    }
}

/// Every JIT special case names a builtin of the table, and fits it.
#[test]
fn jit_fast_paths_fit_their_builtins() {
    for s in BUILTINS {
        match s.jit {
            None => {}
            Some(JitFast::Float(_)) => {
                assert!(matches!(s.imp, Imp::Num(_)) && s.recv == Recv::Number && s.result == Ty::Number, "{}: a float instruction needs a number", s.id)
            }
            Some(JitFast::Predicate(test)) => {
                assert!(s.arity() == 2 && s.result == Ty::Bool, "{}: `predicate2` takes two arguments and gives a bool", s.id);
                match test {
                    Pred::Str(_) => assert!(matches!(s.imp, Imp::StrStr(_)) && s.params == [Ty::String], "{}: a byte test is on two strings", s.id),
                    Pred::ListContains => assert!(matches!(s.imp, Imp::ListValue(_)) && s.recv == Recv::List, "{}: membership is on a list", s.id),
                }
            }
        }
    }
    // `str_test`'s slow path finds the builtin of each test it is given.
    for test in [StrTest::Starts, StrTest::Ends, StrTest::Contains] {
        let b = test.builtin().unwrap_or_else(|| panic!("no builtin has the fast path {test:?}"));
        assert_eq!(b.spec().and_then(|s| s.jit), Some(JitFast::Predicate(Pred::Str(test))));
        assert_eq!(StrTest::from_u32(test as u32), Some(test));
    }
    assert_eq!(StrTest::Eq.builtin(), None);
    assert_eq!(StrTest::from_u32(4), None);
}

/// The tool every builtin is tried on, and a request for it.
const POLICY_HEAD: &str = "policy p\nversion \"1\"\ndefault allow\ntool t(s: string, n: number, ls: list<string>, m: map<number>, ts: timestamp)\n";
const REQUEST: &[u8] =
    br#"{"tool": "t", "time": "2024-01-01T13:05:00Z", "args": {"s": "a,b", "n": 2.5, "ls": ["a", "b"], "m": {"a": 1}, "ts": "2024-01-01T13:05:00Z"}}"#;

/// A call of `s` in policy text: with literal arguments, or with request values.
fn source(s: &BuiltinSpec, literal: bool) -> String {
    let arg = |t: &Ty| match (t, literal) {
        (Ty::String | Ty::Elem, true) => "\"a\"",
        (Ty::String | Ty::Elem, false) => "args.s",
        (Ty::Same, true) => "[\"a\"]",
        (Ty::Same, false) => "args.ls",
        (Ty::Numeric, true) => "1",
        (_, _) => "args.n",
    };
    let args: Vec<&str> = s.params.iter().map(arg).collect();
    let args = args.join(", ");
    match s.recv {
        Recv::String => format!("args.s.{}({args})", s.name),
        Recv::List | Recv::Strings => format!("args.ls.{}({args})", s.name),
        Recv::Number => format!("args.n.{}({args})", s.name),
        Recv::Map => format!("args.m.{}({args})", s.name),
        Recv::Timestamp => format!("args.ts.{}", s.name),
        Recv::Function => format!("{}({args})", s.name),
    }
}

/// Each builtin, written in a policy, is accepted by the checker, lowered to a call of
/// that very entry, and runs without a fault on both engines, which agree.
#[test]
fn every_builtin_is_accepted_by_the_checker_and_runs_on_both_engines() {
    use crate::{Backend, Policy};
    for s in calls() {
        for literal in [true, false] {
            let call = source(s, literal);
            // An optional result is compared once it has a value.
            let call = if s.result == Ty::OptNumber { format!("{call} ?? 0") } else { call };
            let text = format!("{POLICY_HEAD}rule r: on t deny when ({call}) == ({call})\n");
            let policy = Policy::from_sources(&[("p.pol", &text)]).unwrap_or_else(|d| panic!("`{call}`: {}", d.render()));
            let mut called = Vec::new();
            let rule = &policy.program().rules[0];
            if let Some(c) = &rule.condition {
                crate::ir::passes::visit(c, &mut |e| {
                    if let crate::ir::ExprKind::Call(b, _) = &e.kind {
                        called.push(b.id());
                    }
                });
            }
            assert!(called.contains(&s.id), "`{call}` is not a call of {} but of {called:?}", s.id);
            let mut decisions = Vec::new();
            #[cfg(feature = "jit")]
            let backends = [Backend::Interpreter, Backend::Jit];
            #[cfg(not(feature = "jit"))]
            let backends = [Backend::Interpreter];
            for backend in backends {
                let engine = policy.engine(backend).expect("engine");
                let d = engine.decide_json(REQUEST).expect("decision").to_json();
                // A fault would deny too (fail closed): the rule must have fired without one.
                let errors = d["errors"].as_array().map_or(0, Vec::len);
                assert!(d["decision"] == "deny" && errors == 0, "`{call}` on {backend:?}: {d}");
                decisions.push(d.to_string());
            }
            assert!(decisions.windows(2).all(|w| w[0] == w[1]), "`{call}`: the engines disagree: {decisions:?}");
        }
    }
    // Natives are the other kind; their own test matches them with the stdlib's declarations.
    assert!(names(Recv::Function).all(|n| !n.contains('.')));
}
