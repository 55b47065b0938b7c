//! IR to bytecode. In: an `ir::Program` after the passes (slots assigned, calls inlined).
//! Out: the `Module`'s code, constant pool and chunks. Each expression is compiled twice:
//! a fast version and a traced version with a `Trace` after every IR node, so tracing costs
//! nothing when it is off.

use super::op::{Code, Op};
use super::{Chunk, ChunkId, Module, ReasonCode, RuleCode, WindowCode};
use crate::ir::{self, Expr, ExprKind, QuantKind, ReasonPart};
use crate::span::Span;
use crate::value::Value;
use smol_str::SmolStr;
use std::collections::HashMap;

/// Scalars are deduplicated in the pool (both code versions share it); lists, records and
/// maps are rare constants and are stored as they come.
#[derive(Hash, PartialEq, Eq)]
enum PoolKey {
    Absent,
    Bool(bool),
    Num(u64),
    Str(SmolStr),
}

#[derive(Default)]
struct Pool {
    values: Vec<Value>,
    index: HashMap<PoolKey, u32>,
}

impl Pool {
    fn add(&mut self, value: &Value) -> u32 {
        let key = match value {
            Value::Absent => Some(PoolKey::Absent),
            Value::Bool(b) => Some(PoolKey::Bool(*b)),
            Value::Num(n) => Some(PoolKey::Num(n.to_bits())),
            Value::Str(s) => Some(PoolKey::Str(s.clone())),
            Value::List(_) | Value::Record(_) | Value::Map(_) => None,
        };
        if let Some(&i) = key.as_ref().and_then(|k| self.index.get(k)) {
            return i;
        }
        let i = u32::try_from(self.values.len()).unwrap_or(u32::MAX);
        self.values.push(value.clone());
        if let Some(k) = key {
            self.index.insert(k, i);
        }
        i
    }
}

pub(super) fn compile(program: &ir::Program) -> Module {
    let mut builder = Builder::default();
    let rules = program.rules.iter().map(|rule| builder.rule(rule)).collect();
    let windows = program.windows.iter().map(|w| builder.window(w)).collect();
    Module {
        windows,
        pool: builder.pool.values,
        fast: builder.fast,
        traced: builder.traced,
        chunks: builder.chunks,
        rules,
        regexes: program.regexes.clone(),
        sets: program.sets.clone(),
        slot_names: program.slots.iter().map(|path| path.join(".")).collect(),
        rule_names: program.rules.iter().map(|r| (r.id.clone(), r.effect.name())).collect(),
    }
}

#[derive(Default)]
struct Builder {
    pool: Pool,
    fast: Code,
    traced: Code,
    chunks: Vec<Chunk>,
}

impl Builder {
    fn rule(&mut self, rule: &ir::Rule) -> RuleCode {
        let condition = rule.condition.as_ref().map(|e| self.chunk(e, rule, "condition".into()));
        let set_value = rule.effect.set_value().map(|e| self.chunk(e, rule, "set value".into()));
        let reason = rule
            .reason
            .iter()
            .enumerate()
            .map(|(i, part)| match part {
                ReasonPart::Text(t) => ReasonCode::Text(t.clone()),
                ReasonPart::Expr(e) => ReasonCode::Expr(self.chunk(e, rule, format!("reason part {i}"))),
            })
            .collect();
        RuleCode { condition, set_value, reason }
    }

    /// A window's keys, value and `when`, each a chunk (windows have no block `let`s).
    fn window(&mut self, w: &ir::Window) -> WindowCode {
        let keys = w.keys.iter().enumerate().map(|(i, k)| self.chunk_of(k, &[], w.locals, format!("{} key {i}", w.name))).collect();
        let value = w.value.as_ref().map(|e| self.chunk_of(e, &[], w.locals, format!("{} value", w.name)));
        let condition = w.condition.as_ref().map(|e| self.chunk_of(e, &[], w.locals, format!("{} when", w.name)));
        WindowCode { keys, value, condition }
    }

    /// Compiles one expression of `rule` (with the block `let`s it uses) into a chunk.
    fn chunk(&mut self, expr: &Expr, rule: &ir::Rule, label: String) -> ChunkId {
        self.chunk_of(expr, &rule.lets, rule.locals, label)
    }

    fn chunk_of(&mut self, expr: &Expr, lets: &[Expr], locals: u32, label: String) -> ChunkId {
        let fast = Emitter { code: &mut self.fast, pool: &mut self.pool, traced: false }.body(expr, lets);
        let traced = Emitter { code: &mut self.traced, pool: &mut self.pool, traced: true }.body(expr, lets);
        let id = ChunkId(u32::try_from(self.chunks.len()).unwrap_or(u32::MAX));
        self.chunks.push(Chunk { fast, traced, locals, lets: u32::try_from(lets.len()).unwrap_or(u32::MAX), span: expr.span, label });
        id
    }
}

/// Emits one version (fast or traced) of an expression into a `Code`.
struct Emitter<'a> {
    code: &'a mut Code,
    pool: &'a mut Pool,
    traced: bool,
}

impl Emitter<'_> {
    /// Compiles a chunk's expression; returns its instruction range. The code of each
    /// block `let` it uses (of `lets`) follows, once, after a jump to the end, and every
    /// `LetCall` is pointed at its let's code.
    fn body(mut self, expr: &Expr, lets: &[Expr]) -> (u32, u32) {
        let start = self.code.len();
        self.expr(expr);
        let used = used_lets(expr, lets);
        if used.iter().any(|&u| u) {
            let to_end = self.emit(Op::Jump(0), expr.span);
            let mut starts = vec![u32::MAX; lets.len()];
            for (i, l) in lets.iter().enumerate().filter(|&(i, _)| used[i]) {
                starts[i] = self.code.len();
                self.expr(l);
                self.emit(Op::LetReturn(i as u32), l.span);
            }
            self.land_here(to_end);
            for op in self.code.ops.get_mut(start as usize..).unwrap_or_default() {
                if let Op::LetCall { index, start } = op {
                    *start = starts.get(*index as usize).copied().unwrap_or(u32::MAX);
                }
            }
        }
        (start, self.code.len())
    }

    fn emit(&mut self, op: Op, span: Span) -> u32 {
        self.code.push(op, span)
    }

    fn constant(&mut self, value: &Value, span: Span) {
        let i = self.pool.add(value);
        self.emit(Op::Const(i), span);
    }

    /// Points the jump at `at` to the next instruction to be emitted.
    fn land_here(&mut self, at: u32) {
        let here = self.code.len();
        if let Some(target) = self.code.ops.get_mut(at as usize).and_then(Op::target_mut) {
            *target = here;
        }
    }

    fn expr(&mut self, e: &Expr) {
        let span = e.span;
        match &e.kind {
            ExprKind::Const(v) => self.constant(v, span),
            ExprKind::Slot(i) => {
                self.emit(Op::Slot(*i), span);
            }
            ExprKind::Local(i) => {
                self.emit(Op::Local(*i), span);
            }
            ExprKind::BlockLet(i) => {
                // The target is set once the let's code is placed (`body`).
                self.emit(Op::LetCall { index: *i, start: u32::MAX }, span);
            }
            ExprKind::Input(_) | ExprKind::FnCall { .. } => {
                self.emit(Op::Unlowered, span);
            }
            ExprKind::Let { local, value, body } => {
                self.expr(value);
                self.emit(Op::StoreLocal(*local), span);
                self.expr(body);
            }
            ExprKind::Not(a) => self.unary(a, Op::Not, span),
            ExprKind::Neg(a) => self.unary(a, Op::Neg, span),
            ExprKind::Has(a) => self.unary(a, Op::Has, span),
            ExprKind::Field(a, i) => self.unary(a, Op::Field(*i), span),
            ExprKind::Compare(op, a, b) => self.binary(a, b, Op::Cmp(*op), span),
            ExprKind::Arith(op, a, b) => self.binary(a, b, Op::Arith(*op), span),
            ExprKind::Index(a, b) => self.binary(a, b, Op::Index, span),
            ExprKind::And(a, b) => self.short_circuit(a, b, Op::JumpIfFalseOrPop(0), span),
            ExprKind::Or(a, b) => self.short_circuit(a, b, Op::JumpIfTrueOrPop(0), span),
            ExprKind::Coalesce(a, b) => self.short_circuit(a, b, Op::JumpIfPresentOrPop(0), span),
            ExprKind::If(c, a, b) => self.if_then_else(c, a, b, span),
            ExprKind::List(items) => {
                for item in items {
                    self.expr(item);
                }
                self.emit(Op::MakeList(u32::try_from(items.len()).unwrap_or(u32::MAX)), span);
            }
            ExprKind::Call(builtin, args) => {
                for arg in args {
                    self.expr(arg);
                }
                let argc = u32::try_from(args.len()).unwrap_or(u32::MAX);
                self.emit(Op::Call { builtin: *builtin, argc }, span);
            }
            ExprKind::Regex { op, subject, regex } => self.unary(subject, Op::Regex { op: *op, regex: *regex }, span),
            ExprKind::InSet { set, item } => self.unary(item, Op::InSet(*set), span),
            ExprKind::Quant { kind, local, list, body } => self.quantifier(*kind, *local, list, body, span),
        }
        if self.traced {
            self.emit(Op::Trace, span);
        }
    }

    fn unary(&mut self, a: &Expr, op: Op, span: Span) {
        self.expr(a);
        self.emit(op, span);
    }

    fn binary(&mut self, a: &Expr, b: &Expr, op: Op, span: Span) {
        self.expr(a);
        self.expr(b);
        self.emit(op, span);
    }

    /// `a JUMP_OR_POP end; b; end:` — the jump keeps `a` as the result when it decides.
    fn short_circuit(&mut self, a: &Expr, b: &Expr, jump: Op, span: Span) {
        self.expr(a);
        let at = self.emit(jump, span);
        self.expr(b);
        self.land_here(at);
    }

    /// `c; JumpIfFalse else; a; Jump end; else: b; end:`
    fn if_then_else(&mut self, c: &Expr, a: &Expr, b: &Expr, span: Span) {
        self.expr(c);
        let to_else = self.emit(Op::JumpIfFalse(0), span);
        self.expr(a);
        let to_end = self.emit(Op::Jump(0), span);
        self.land_here(to_else);
        self.expr(b);
        self.land_here(to_end);
    }

    /// `any`/`all`: `list; IterBegin; loop: IterNext x, done; body; JumpIf(!decisive) loop;
    /// IterEnd; Const decisive; Jump end; done: Const !decisive; end:`.
    /// `count`: `Const 0; list; IterBegin; loop: IterNext x, done; body; CountIf; Jump loop; done:`.
    /// `map`: `CollectBegin; list; IterBegin; loop: IterNext x, done; body; CollectPush; Jump loop;
    /// done: CollectEnd`; `filter` the same with `body; JumpIfFalse loop; Local x; CollectPush`.
    fn quantifier(&mut self, kind: QuantKind, local: u32, list: &Expr, body: &Expr, span: Span) {
        if matches!(kind, QuantKind::Map | QuantKind::Filter) {
            self.emit(Op::CollectBegin, span);
            self.expr(list);
            self.emit(Op::IterBegin, span);
            let head = self.emit(Op::IterNext { local, exit: 0, cost: ir::iteration_cost(body) }, span);
            self.expr(body);
            if kind == QuantKind::Filter {
                self.emit(Op::JumpIfFalse(head), span);
                self.emit(Op::Local(local), span);
            }
            self.emit(Op::CollectPush, span);
            self.emit(Op::Jump(head), span);
            self.land_here(head);
            self.emit(Op::CollectEnd, span);
            return;
        }
        if kind == QuantKind::Count {
            self.constant(&Value::Num(0.0), span);
        }
        self.expr(list);
        self.emit(Op::IterBegin, span);
        let cost = ir::iteration_cost(body);
        let head = self.emit(Op::IterNext { local, exit: 0, cost }, span);
        self.expr(body);
        let decisive = match kind {
            QuantKind::Count => {
                self.emit(Op::CountIf, span);
                self.emit(Op::Jump(head), span);
                self.land_here(head);
                return;
            }
            QuantKind::Any => {
                self.emit(Op::JumpIfFalse(head), span);
                true
            }
            QuantKind::All => {
                self.emit(Op::JumpIfTrue(head), span);
                false
            }
            // Compiled above.
            QuantKind::Map | QuantKind::Filter => return,
        };
        self.emit(Op::IterEnd, span);
        self.constant(&Value::Bool(decisive), span);
        let to_end = self.emit(Op::Jump(0), span);
        self.land_here(head);
        self.constant(&Value::Bool(!decisive), span);
        self.land_here(to_end);
    }
}

/// Which of `lets` the expression uses, directly or through other lets (a let reads only
/// lets before it, so one pass from the last finds them all).
fn used_lets(expr: &Expr, lets: &[Expr]) -> Vec<bool> {
    let mut used = vec![false; lets.len()];
    let mark = |e: &Expr, used: &mut Vec<bool>| {
        ir::passes::visit(e, &mut |x| {
            if let ExprKind::BlockLet(i) = x.kind {
                if let Some(u) = used.get_mut(i as usize) {
                    *u = true;
                }
            }
        })
    };
    mark(expr, &mut used);
    for i in (0..lets.len()).rev() {
        if used[i] {
            mark(&lets[i], &mut used);
        }
    }
    used
}
