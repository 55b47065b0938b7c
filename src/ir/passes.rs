//! IR passes, run in this order by `run_all`: inlining of function calls (with fresh
//! locals), constant folding, hashing of long constant string lists for `in`, input-path
//! slot assignment, rule grouping by tool.
//! In: a checked `Program`. Out: the same program ready for a backend (no `FnCall`, no
//! `Input`, `slots` and `groups` filled).

use super::{Expr, ExprKind, Program, ReasonPart, Rule, ToolGroups, ToolScope, Window};
use crate::ops;
use crate::value::Value;
use std::sync::Arc;

/// Runs every IR pass, in order (what the compiler does after checking).
pub fn run_all(program: &mut Program) {
    for rule in &mut program.rules {
        let mut next = rule.locals;
        for_each_root(rule, |e| {
            *e = fold(inline_calls(take(e), &mut next));
        });
        rule.locals = next;
        inline_leaf_lets(rule);
    }
    for window in &mut program.windows {
        let mut next = window.locals;
        for_each_window_root(window, |e| *e = fold(inline_calls(take(e), &mut next)));
        window.locals = next;
    }
    hash_sets(program);
    assign_slots(program);
    program.groups = group_rules(program);
}

/// `x in LIST` (and `LIST.contains(x)`) over a constant list of strings of
/// `ops::set::HASHED_FROM` elements or more (reference data: `data` values are constants)
/// becomes `InSet`, its list hashed once into `Program::sets`, so the membership costs the
/// same for a list of ten thousand as for ten. Runs after folding, so a list folded into a
/// constant is hashed too; the same constant read twice is hashed once.
fn hash_sets(program: &mut Program) {
    let Some((contains, _)) = ops::builtins::find(ops::builtins::Recv::List, "contains") else { return };
    let mut sets: Vec<(Arc<[Value]>, Arc<ops::set::StringSet>)> = Vec::new();
    let mut rewrite = |e: &mut Expr| {
        let ExprKind::Call(b, args) = &mut e.kind else { return };
        let [Expr { kind: ExprKind::Const(Value::List(items)), .. }, _] = args.as_slice() else { return };
        if *b != contains {
            return;
        }
        let set = match sets.iter().position(|(list, _)| Arc::ptr_eq(list, items)) {
            Some(i) => i,
            None => match ops::set::StringSet::of(items) {
                Some(set) => {
                    sets.push((items.clone(), Arc::new(set)));
                    sets.len() - 1
                }
                None => return,
            },
        };
        let Some(item) = args.pop() else { return };
        e.kind = ExprKind::InSet { set: set as u32, item: Box::new(item) };
    };
    for rule in &mut program.rules {
        for_each_root(rule, |e| map_mut(e, &mut rewrite));
    }
    for window in &mut program.windows {
        for_each_window_root(window, |e| map_mut(e, &mut rewrite));
    }
    program.sets = sets.into_iter().map(|(_, set)| set).collect();
}

fn placeholder() -> Expr {
    Expr { kind: ExprKind::Const(Value::Absent), ty: crate::types::Type::Any, span: Default::default() }
}

/// Applies `f` to each expression tree of a window: keys, value, `when`.
pub fn for_each_window_root(window: &mut Window, mut f: impl FnMut(&mut Expr)) {
    window.keys.iter_mut().chain(window.value.as_mut()).chain(window.condition.as_mut()).for_each(&mut f);
}

/// Applies `f` to each expression tree of a rule: block `let` values, condition, `set`
/// value, reason holes.
pub fn for_each_root(rule: &mut Rule, mut f: impl FnMut(&mut Expr)) {
    for l in &mut rule.lets {
        f(l);
    }
    if let Some(c) = &mut rule.condition {
        f(c);
    }
    if let Some(v) = rule.effect.set_value_mut() {
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
pub fn map(mut e: Expr, f: &mut impl FnMut(Expr) -> Expr) -> Expr {
    map_mut(&mut e, &mut |x| *x = f(take(x)));
    e
}

/// `map` in place: `f` changes each node, after its children, where it stands. The passes
/// use this so that nodes they leave alone are neither moved nor reallocated.
pub fn map_mut(e: &mut Expr, f: &mut impl FnMut(&mut Expr)) {
    for_each_child_mut(e, &mut |c| map_mut(c, f));
    f(e);
}

/// Calls `f` on the direct sub-expressions of `e`, in the order of `children`.
fn for_each_child_mut(e: &mut Expr, f: &mut impl FnMut(&mut Expr)) {
    match &mut e.kind {
        ExprKind::Const(_) | ExprKind::Input(_) | ExprKind::Slot(_) | ExprKind::Local(_) | ExprKind::BlockLet(_) => {}
        ExprKind::Not(x)
        | ExprKind::Neg(x)
        | ExprKind::Has(x)
        | ExprKind::Field(x, _)
        | ExprKind::Regex { subject: x, .. }
        | ExprKind::InSet { item: x, .. } => f(x),
        ExprKind::Let { value: a, body: b, .. }
        | ExprKind::And(a, b)
        | ExprKind::Or(a, b)
        | ExprKind::Compare(_, a, b)
        | ExprKind::Arith(_, a, b)
        | ExprKind::Coalesce(a, b)
        | ExprKind::Index(a, b)
        | ExprKind::Quant { list: a, body: b, .. } => {
            f(a);
            f(b);
        }
        ExprKind::If(c, a, b) => {
            f(c);
            f(a);
            f(b);
        }
        ExprKind::List(items) | ExprKind::Call(_, items) | ExprKind::FnCall { args: items, .. } => items.iter_mut().for_each(f),
    }
}

/// Takes the node out of `e`, leaving a placeholder that allocates nothing.
fn take(e: &mut Expr) -> Expr {
    std::mem::replace(e, placeholder())
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
        ExprKind::Const(_) | ExprKind::Input(_) | ExprKind::Slot(_) | ExprKind::Local(_) | ExprKind::BlockLet(_) => ([None, None, None], &[]),
        ExprKind::Not(x) | ExprKind::Neg(x) | ExprKind::Has(x) | ExprKind::Field(x, _) => ([Some(x), None, None], &[]),
        ExprKind::Regex { subject, .. } | ExprKind::InSet { item: subject, .. } => ([Some(subject), None, None], &[]),
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
pub fn shift_locals(mut e: Expr, offset: u32) -> Expr {
    if offset == 0 {
        return e;
    }
    map_mut(&mut e, &mut |x| match &mut x.kind {
        ExprKind::Local(l) | ExprKind::Let { local: l, .. } | ExprKind::Quant { local: l, .. } => *l += offset,
        _ => {}
    });
    e
}

/// Replaces each call of a user function by its body, its parameters bound with `Let` to
/// fresh locals starting at `*next`.
pub fn inline_calls(mut e: Expr, next: &mut u32) -> Expr {
    map_mut(&mut e, &mut |x| {
        if matches!(x.kind, ExprKind::FnCall { .. }) {
            *x = inline_call(take(x), next);
        }
    });
    e
}

/// One call (its arguments already inlined) as its body under one `Let` per parameter.
fn inline_call(x: Expr, next: &mut u32) -> Expr {
    let ExprKind::FnCall { body, locals, args, .. } = x.kind else { return x };
    let base = *next;
    *next += locals;
    let body = inline_calls(shift_locals(Arc::unwrap_or_clone(body), base), next);
    let (ty, span) = (x.ty, x.span);
    let mut out = Expr { kind: body.kind, ty: ty.clone(), span };
    for (i, arg) in args.into_iter().enumerate().rev() {
        out = Expr { kind: ExprKind::Let { local: base + i as u32, value: Box::new(arg), body: Box::new(out) }, ty: ty.clone(), span };
    }
    out
}

/// Replaces each use of a block `let` whose value is (or folds to) a constant or a request
/// path by that leaf, with the use's span and type: reading it costs less than a memo and
/// cannot fail, so `let limit = 100` stays as cheap as writing `100`. Other lets stay
/// `BlockLet`s. Lets read only lets before them, so one pass in order finds every leaf.
fn inline_leaf_lets(rule: &mut Rule) {
    let is_leaf = |e: &Expr| matches!(e.kind, ExprKind::Const(_) | ExprKind::Input(_));
    if !rule.lets.iter().any(is_leaf) {
        return;
    }
    let mut leaves: Vec<Option<Expr>> = Vec::with_capacity(rule.lets.len());
    for l in &mut rule.lets {
        if substitute_leaves(l, &leaves) {
            *l = fold(take(l));
        }
        leaves.push(is_leaf(l).then(|| l.clone()));
    }
    let mut roots = Vec::new();
    std::mem::swap(&mut roots, &mut rule.lets);
    for_each_root(rule, |e| {
        if substitute_leaves(e, &leaves) {
            *e = fold(take(e));
        }
    });
    rule.lets = roots;
}

/// Replaces `BlockLet(i)` by `leaves[i]` where that is a leaf; whether anything changed.
fn substitute_leaves(e: &mut Expr, leaves: &[Option<Expr>]) -> bool {
    let mut changed = false;
    map_mut(e, &mut |x| {
        if let ExprKind::BlockLet(i) = x.kind {
            if let Some(Some(leaf)) = leaves.get(i as usize) {
                *x = Expr { span: x.span, ty: x.ty.clone(), kind: leaf.kind.clone() };
                changed = true;
            }
        }
    });
    changed
}

/// Evaluates at compile time what does not depend on the request: literals, operators on
/// constants, short-circuits decided by a constant. Anything that could fail at run time
/// (division by zero, non-finite results) is left for run time, so it errors there. The
/// operations are `ops`'s, so folding computes exactly what the backends would.
pub fn fold(mut e: Expr) -> Expr {
    map_mut(&mut e, &mut |x| {
        // Only these kinds fold; the others stay where they are.
        let foldable = matches!(
            x.kind,
            ExprKind::Not(_)
                | ExprKind::Neg(_)
                | ExprKind::And(..)
                | ExprKind::Or(..)
                | ExprKind::If(..)
                | ExprKind::Compare(..)
                | ExprKind::Arith(..)
                | ExprKind::List(_)
        );
        if foldable {
            *x = fold_node(take(x));
        }
    });
    e
}

fn fold_node(e: Expr) -> Expr {
    let konst = |v: Value, e: &Expr| Expr { kind: ExprKind::Const(v), ty: e.ty.clone(), span: e.span };
    let as_const = |x: &Expr| if let ExprKind::Const(v) = &x.kind { Some(v.clone()) } else { None };
    match &e.kind {
        ExprKind::Not(x) => match as_const(x) {
            Some(Value::Bool(b)) => konst(Value::Bool(!b), &e),
            _ => e,
        },
        ExprKind::Neg(x) => match as_const(x).as_ref().map(ops::arith::negate) {
            Some(Ok(v)) => konst(v, &e),
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
            (Some(x), Some(y)) => match ops::compare::compare(*op, &x, &y) {
                Ok(r) => konst(Value::Bool(r), &e),
                Err(_) => e,
            },
            _ => e,
        },
        // What cannot be computed now (division by zero, a non-finite result) is left for run
        // time, so it errors there; strings are not joined here, as `+` on them costs work.
        ExprKind::Arith(op, a, b) => match (as_const(a), as_const(b)) {
            (Some(Value::Num(x)), Some(Value::Num(y))) => match ops::arith::numbers(*op, x, y) {
                Ok(r) => konst(Value::Num(r), &e),
                Err(_) => e,
            },
            _ => e,
        },
        ExprKind::List(items) => match items.iter().map(as_const).collect::<Option<Vec<Value>>>() {
            Some(values) => konst(Value::List(Arc::from(values)), &e),
            None => e,
        },
        _ => e,
    }
}

/// Gives each request path read by any rule or window a slot, and rewrites `Input` to `Slot`.
pub fn assign_slots(program: &mut Program) {
    let mut slots: Vec<Vec<String>> = Vec::new();
    let mut to_slot = |e: &mut Expr| {
        map_mut(e, &mut |x| {
            if let ExprKind::Input(path) = &mut x.kind {
                let i = slots.iter().position(|s| s == path).unwrap_or_else(|| {
                    slots.push(std::mem::take(path));
                    slots.len() - 1
                });
                x.kind = ExprKind::Slot(i as u32);
            }
        });
    };
    for rule in &mut program.rules {
        for_each_root(rule, &mut to_slot);
    }
    for window in &mut program.windows {
        for_each_window_root(window, &mut to_slot);
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
    use crate::ir::{ArithOp, CmpOp};
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
            kind: ExprKind::Let {
                local: 0,
                value: Box::new(num(1.0)),
                body: Box::new(Expr { kind: ExprKind::Local(0), ty: Type::Number, span: Default::default() }),
            },
            ty: Type::Number,
            span: Default::default(),
        };
        let shifted = shift_locals(e, 3);
        let ExprKind::Let { local, body, .. } = shifted.kind else { panic!("not a let") };
        assert_eq!(local, 3);
        assert_eq!(body.kind, ExprKind::Local(3));
    }
}
