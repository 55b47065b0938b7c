//! IR passes, run in this order by `run_all`: inlining of function calls (with fresh
//! locals), constant folding, input-path slot assignment, rule grouping by tool.
//! In: a checked `Program`. Out: the same program ready for a backend (no `FnCall`, no
//! `Input`, `slots` and `groups` filled).

use super::{ArithOp, CmpOp, Effect, Expr, ExprKind, Program, ReasonPart, Rule, ToolGroups, ToolScope};
use crate::value::Value;
use std::sync::Arc;

pub fn run_all(program: &mut Program) {
    for rule in &mut program.rules {
        let mut next = rule.locals;
        for_each_root(rule, |e| {
            *e = fold(inline_calls(std::mem::replace(e, placeholder()), &mut next));
        });
        rule.locals = next;
    }
    assign_slots(program);
    program.groups = group_rules(program);
}

fn placeholder() -> Expr {
    Expr { kind: ExprKind::Const(Value::Absent), ty: crate::types::Type::Any, span: Default::default() }
}

/// Applies `f` to each expression tree of a rule: condition, `set` value, reason holes.
pub fn for_each_root(rule: &mut Rule, mut f: impl FnMut(&mut Expr)) {
    if let Some(c) = &mut rule.condition {
        f(c);
    }
    if let Effect::Set(_, v) = &mut rule.effect {
        f(v);
    }
    for p in &mut rule.reason {
        if let ReasonPart::Expr(e) = p {
            f(e);
        }
    }
}

/// Rebuilds `e` bottom-up: `f` sees each node after its children were rebuilt.
/// Function bodies inside `FnCall` are not entered (they have their own locals).
pub fn map(e: Expr, f: &mut impl FnMut(Expr) -> Expr) -> Expr {
    let Expr { kind, ty, span } = e;
    // Each child is rebuilt in its own box: a pass allocates only the nodes it adds.
    let mut m = |mut x: Box<Expr>| {
        *x = map(std::mem::replace(&mut *x, placeholder()), f);
        x
    };
    let kind = match kind {
        k @ (ExprKind::Const(_) | ExprKind::Input(_) | ExprKind::Slot(_) | ExprKind::Local(_)) => k,
        ExprKind::Let { local, value, body } => ExprKind::Let { local, value: m(value), body: m(body) },
        ExprKind::Not(x) => ExprKind::Not(m(x)),
        ExprKind::Neg(x) => ExprKind::Neg(m(x)),
        ExprKind::And(a, b) => ExprKind::And(m(a), m(b)),
        ExprKind::Or(a, b) => ExprKind::Or(m(a), m(b)),
        ExprKind::Compare(op, a, b) => ExprKind::Compare(op, m(a), m(b)),
        ExprKind::Arith(op, a, b) => ExprKind::Arith(op, m(a), m(b)),
        ExprKind::Coalesce(a, b) => ExprKind::Coalesce(m(a), m(b)),
        ExprKind::Has(x) => ExprKind::Has(m(x)),
        ExprKind::If(c, a, b) => ExprKind::If(m(c), m(a), m(b)),
        ExprKind::Field(x, i) => ExprKind::Field(m(x), i),
        ExprKind::Index(a, b) => ExprKind::Index(m(a), m(b)),
        ExprKind::List(items) => ExprKind::List(items.into_iter().map(|x| map(x, f)).collect()),
        ExprKind::Call(b, args) => ExprKind::Call(b, args.into_iter().map(|x| map(x, f)).collect()),
        ExprKind::Regex { op, subject, regex } => ExprKind::Regex { op, subject: m(subject), regex },
        ExprKind::Quant { kind, local, list, body } => ExprKind::Quant { kind, local, list: m(list), body: m(body) },
        ExprKind::FnCall { name, body, params, locals, args } => {
            ExprKind::FnCall { name, body, params, locals, args: args.into_iter().map(|x| map(x, f)).collect() }
        }
    };
    f(Expr { kind, ty, span })
}

/// Whether any node of `e` (not entering function bodies) satisfies `pred`.
pub fn any_node(e: &Expr, pred: &dyn Fn(&Expr) -> bool) -> bool {
    if pred(e) {
        return true;
    }
    children(e).any(|c| any_node(c, pred))
}

/// Calls `f` on every node of `e` (not entering function bodies), parents first.
pub fn visit(e: &Expr, f: &mut impl FnMut(&Expr)) {
    f(e);
    for c in children(e) {
        visit(c, f);
    }
}

/// The direct sub-expressions of `e` (not entering function bodies), in order; without
/// allocating, as the checker's budget and the passes call this for every node.
pub fn children(e: &Expr) -> impl Iterator<Item = &Expr> {
    let (fixed, items): ([Option<&Expr>; 3], &[Expr]) = match &e.kind {
        ExprKind::Const(_) | ExprKind::Input(_) | ExprKind::Slot(_) | ExprKind::Local(_) => ([None, None, None], &[]),
        ExprKind::Not(x) | ExprKind::Neg(x) | ExprKind::Has(x) | ExprKind::Field(x, _) => ([Some(x), None, None], &[]),
        ExprKind::Regex { subject, .. } => ([Some(subject), None, None], &[]),
        ExprKind::Let { value: a, body: b, .. }
        | ExprKind::And(a, b)
        | ExprKind::Or(a, b)
        | ExprKind::Compare(_, a, b)
        | ExprKind::Arith(_, a, b)
        | ExprKind::Coalesce(a, b)
        | ExprKind::Index(a, b)
        | ExprKind::Quant { list: a, body: b, .. } => ([Some(a), Some(b), None], &[]),
        ExprKind::If(c, a, b) => ([Some(c), Some(a), Some(b)], &[]),
        ExprKind::List(items) | ExprKind::Call(_, items) | ExprKind::FnCall { args: items, .. } => ([None, None, None], items),
    };
    fixed.into_iter().flatten().chain(items)
}

/// Renumbers the locals of `e` by `offset` (used when a `let` or a function body is placed
/// inside a rule that already uses locals `0..offset`).
pub fn shift_locals(e: Expr, offset: u32) -> Expr {
    if offset == 0 {
        return e;
    }
    map(e, &mut |mut x| {
        match &mut x.kind {
            ExprKind::Local(l) | ExprKind::Let { local: l, .. } | ExprKind::Quant { local: l, .. } => *l += offset,
            _ => {}
        }
        x
    })
}

/// Replaces each call of a user function by its body, its parameters bound with `Let` to
/// fresh locals starting at `*next`.
pub fn inline_calls(e: Expr, next: &mut u32) -> Expr {
    map(e, &mut |x| match x.kind {
        ExprKind::FnCall { body, locals, args, .. } => {
            let base = *next;
            *next += locals;
            let body = inline_calls(shift_locals(Arc::unwrap_or_clone(body), base), next);
            let (ty, span) = (x.ty.clone(), x.span);
            let mut out = Expr { kind: body.kind, ty: ty.clone(), span };
            for (i, arg) in args.into_iter().enumerate().rev() {
                out = Expr { kind: ExprKind::Let { local: base + i as u32, value: Box::new(arg), body: Box::new(out) }, ty: ty.clone(), span };
            }
            out
        }
        kind => Expr { kind, ..x },
    })
}

/// Evaluates at compile time what does not depend on the request: literals, operators on
/// constants, short-circuits decided by a constant. Anything that could fail at run time
/// (division by zero, non-finite results) is left for run time, so it errors there.
pub fn fold(e: Expr) -> Expr {
    map(e, &mut fold_node)
}

fn fold_node(e: Expr) -> Expr {
    let konst = |v: Value, e: &Expr| Expr { kind: ExprKind::Const(v), ty: e.ty.clone(), span: e.span };
    let as_const = |x: &Expr| if let ExprKind::Const(v) = &x.kind { Some(v.clone()) } else { None };
    match &e.kind {
        ExprKind::Not(x) => match as_const(x) {
            Some(Value::Bool(b)) => konst(Value::Bool(!b), &e),
            _ => e,
        },
        ExprKind::Neg(x) => match as_const(x) {
            Some(Value::Num(n)) => konst(Value::Num(-n), &e),
            _ => e,
        },
        ExprKind::And(a, b) | ExprKind::Or(a, b) => {
            let is_and = matches!(e.kind, ExprKind::And(..));
            match (as_const(a), as_const(b)) {
                (Some(Value::Bool(x)), _) if x != is_and => konst(Value::Bool(x), &e),
                (Some(Value::Bool(_)), _) => Expr { span: e.span, ..(**b).clone() },
                _ => e,
            }
        }
        ExprKind::If(c, a, b) => match as_const(c) {
            Some(Value::Bool(true)) => (**a).clone(),
            Some(Value::Bool(false)) => (**b).clone(),
            _ => e,
        },
        ExprKind::Compare(op, a, b) => match (as_const(a), as_const(b)) {
            (Some(x), Some(y)) => match compare_consts(*op, &x, &y) {
                Some(r) => konst(Value::Bool(r), &e),
                None => e,
            },
            _ => e,
        },
        ExprKind::Arith(op, a, b) => match (as_const(a), as_const(b)) {
            (Some(Value::Num(x)), Some(Value::Num(y))) => {
                let r = match op {
                    ArithOp::Add => x + y,
                    ArithOp::Sub => x - y,
                    ArithOp::Mul => x * y,
                    ArithOp::Div if y != 0.0 => x / y,
                    ArithOp::Rem if y != 0.0 => x % y,
                    _ => return e,
                };
                if r.is_finite() {
                    konst(Value::Num(r), &e)
                } else {
                    e
                }
            }
            _ => e,
        },
        ExprKind::List(items) => match items.iter().map(as_const).collect::<Option<Vec<Value>>>() {
            Some(values) => konst(Value::List(Arc::from(values)), &e),
            None => e,
        },
        _ => e,
    }
}

fn compare_consts(op: CmpOp, x: &Value, y: &Value) -> Option<bool> {
    let ord = match (x, y) {
        (Value::Num(a), Value::Num(b)) => a.partial_cmp(b),
        (Value::Str(a), Value::Str(b)) => Some(a.cmp(b)),
        _ => None,
    };
    Some(match op {
        CmpOp::Eq => x == y,
        CmpOp::Ne => x != y,
        CmpOp::Lt => ord? == std::cmp::Ordering::Less,
        CmpOp::Le => ord? != std::cmp::Ordering::Greater,
        CmpOp::Gt => ord? == std::cmp::Ordering::Greater,
        CmpOp::Ge => ord? != std::cmp::Ordering::Less,
    })
}

/// Gives each request path read by any rule a slot, and rewrites `Input` to `Slot`.
pub fn assign_slots(program: &mut Program) {
    let mut slots: Vec<Vec<String>> = Vec::new();
    for rule in &mut program.rules {
        for_each_root(rule, |e| {
            *e = map(std::mem::replace(e, placeholder()), &mut |x| match x.kind {
                ExprKind::Input(path) => {
                    let i = slots.iter().position(|s| *s == path).unwrap_or_else(|| {
                        slots.push(path);
                        slots.len() - 1
                    });
                    Expr { kind: ExprKind::Slot(i as u32), ..x }
                }
                kind => Expr { kind, ..x },
            });
        });
    }
    program.slots = slots;
}

/// For each declared tool, the rules that apply to it; and the rules that may apply to an
/// undeclared tool (those not reading `args`).
pub fn group_rules(program: &Program) -> ToolGroups {
    let tools = &program.schema.tools;
    let mut ids: Vec<Vec<u32>> = vec![Vec::new(); tools.len()];
    // Rules in source order, so each tool's ids come out sorted. A pattern without `*`
    // names one tool: looked up rather than compared with every tool.
    for (i, rule) in (0u32..).zip(&program.rules) {
        let mut hits: Vec<usize> = Vec::new();
        match &rule.scope {
            ToolScope::All => hits.extend(0..tools.len()),
            ToolScope::Tools(ps) => {
                for p in ps {
                    if p.ends_with('*') {
                        hits.extend(tools.keys().enumerate().filter(|(_, t)| super::pattern_matches(p, t)).map(|(t, _)| t));
                    } else {
                        hits.extend(tools.get_index_of(p.as_str()));
                    }
                }
            }
        }
        hits.sort_unstable();
        hits.dedup();
        for t in hits {
            if let Some(group) = ids.get_mut(t) {
                group.push(i);
            }
        }
    }
    let declared = tools.keys().cloned().zip(ids).collect();
    let undeclared = (0..program.rules.len() as u32).filter(|&i| !program.rules[i as usize].reads_args).collect();
    ToolGroups { declared, undeclared }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Type;

    fn num(n: f64) -> Expr {
        Expr { kind: ExprKind::Const(Value::Num(n)), ty: Type::Number, span: Default::default() }
    }

    #[test]
    fn folds_arithmetic_and_comparison_of_constants() {
        let sum = Expr { kind: ExprKind::Arith(ArithOp::Add, Box::new(num(2.0)), Box::new(num(3.0))), ty: Type::Number, span: Default::default() };
        let cmp = Expr { kind: ExprKind::Compare(CmpOp::Gt, Box::new(sum), Box::new(num(4.0))), ty: Type::Bool, span: Default::default() };
        assert_eq!(fold(cmp).kind, ExprKind::Const(Value::Bool(true)));
    }

    #[test]
    fn leaves_division_by_zero_for_run_time() {
        let div = Expr { kind: ExprKind::Arith(ArithOp::Div, Box::new(num(1.0)), Box::new(num(0.0))), ty: Type::Number, span: Default::default() };
        assert!(matches!(fold(div).kind, ExprKind::Arith(..)));
    }

    #[test]
    fn shifting_locals_renumbers_every_binding() {
        let e = Expr {
            kind: ExprKind::Let { local: 0, value: Box::new(num(1.0)), body: Box::new(Expr { kind: ExprKind::Local(0), ty: Type::Number, span: Default::default() }) },
            ty: Type::Number,
            span: Default::default(),
        };
        let shifted = shift_locals(e, 3);
        let ExprKind::Let { local, body, .. } = shifted.kind else { panic!("not a let") };
        assert_eq!(local, 3);
        assert_eq!(body.kind, ExprKind::Local(3));
    }
}
