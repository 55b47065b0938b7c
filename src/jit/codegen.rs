//! IR to cranelift IR. In: an `ir::Program` after the passes and its tool groups. Out: one
//! machine-code function per tool group, `fn(rt, slots, results, mask, work, memo) -> any`
//! (`work`: the units left of the decision's budget, charged inline per loop iteration, by
//! helpers for the rest; `memo`: a slot per block `let`, whose code is a function of its
//! own, called on the let's first use), evaluating
//! each rule of the group (of the undeclared-tool group: each whose mask byte is set),
//! writing 0 (false), 1 (true) or 2 (error) at the rule's position and returning the OR of
//! what it wrote, so a caller can skip reading the results when nothing held. Groups are compiled separately (lazily, see `JitProgram`), so a
//! rule in several groups (`on *`) is compiled into each group that is requested.
//!
//! Representation: booleans are `i8`, numbers (durations, timestamps) `f64`; everything
//! else (strings, enums, lists, records, maps, optionals) is a `*const Value`, handled by the
//! helpers of `runtime`. Errors jump to the rule's failure block; the helper (or `raise`)
//! has already recorded the message and span.
//!
//! Helpers are called with `call!(self, helper(args))`: the call's Cranelift signature is
//! derived from the helper's Rust type (`abi::HelperFn`), and an argument of another type
//! is a `JitError::Internal`, so no helper's ABI is written here.

use super::abi::{self, AbiReturn, HelperFn};
use super::runtime::{self, Shared};
use super::JitError;
use crate::ir::{self, ArithOp, Builtin, CmpOp, Expr, ExprKind, QuantKind, RegexOp};
use crate::ops::builtins::{FloatOp, JitFast, Pred, StrTest};
use crate::ops::fault::FaultKind;
use crate::span::Span;
use crate::types::Type;
use crate::value::Value;
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::Value as V;
use cranelift_codegen::ir::{types, AbiParam, Block, BlockArg, FuncRef, InstBuilder, MemFlagsData, SigRef, Signature, StackSlotData, StackSlotKind};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use cranelift_jit::JITModule;
use cranelift_module::{FuncId, Module};
use std::collections::HashMap;
use std::sync::Arc;

const PTR: types::Type = types::I64;

/// `call!(self, helper(args...))` calls `runtime::helper` (`Gen::call_helper`): the
/// signature comes from the Rust function's type, whose arity the arguments fix, so a
/// helper's ABI is written only in its declaration and a wrong argument count does not
/// compile. Gives `Result<V, JitError>` (`Result<(), _>` for a helper returning nothing).
macro_rules! call {
    ($g:ident, $f:ident($($arg:expr),* $(,)?)) => {
        $g.call_helper(stringify!($f), runtime::$f as unsafe extern "C" fn($(call!(@param $arg)),*) -> _, &[$($arg),*])
    };
    (@param $arg:expr) => { _ };
}

/// How an expression's value is held in machine code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Repr {
    Bool,
    Num,
    Ptr,
}

fn repr(ty: &Type) -> Repr {
    match ty {
        Type::Bool => Repr::Bool,
        Type::Number | Type::Duration | Type::Timestamp => Repr::Num,
        _ => Repr::Ptr,
    }
}

fn cl_type(r: Repr) -> types::Type {
    match r {
        Repr::Bool => types::I8,
        Repr::Num => types::F64,
        Repr::Ptr => PTR,
    }
}

/// The tables the generated code points into, filled while compiling.
#[derive(Default)]
pub(super) struct Tables {
    /// Constants that are not scalars; boxed so their addresses never move.
    pub pool: Vec<Arc<Value>>,
    pub spans: Vec<Span>,
    pub builtins: Vec<Builtin>,
    pub finders: Vec<memchr::memmem::Finder<'static>>,
    /// The program's hashed string sets, as `Program::sets` (indexed the same).
    pub sets: Vec<Arc<crate::ops::set::StringSet>>,
    span_index: HashMap<Span, u32>,
    t: Option<(Arc<Value>, Arc<Value>)>,
}

impl Tables {
    fn constant(&mut self, v: &Value) -> i64 {
        let a = Arc::new(v.clone());
        let addr = Arc::as_ptr(&a) as i64;
        self.pool.push(a);
        addr
    }

    /// The address of a pooled copy of `text`'s bytes, which never move: the copy is a
    /// `Value` behind an `Arc`, and a `SmolStr`'s bytes live inline in it or on the heap.
    fn constant_str(&mut self, text: &smol_str::SmolStr) -> i64 {
        let a = Arc::new(Value::Str(text.clone()));
        let addr = match &*a {
            Value::Str(s) => s.as_ptr() as i64,
            _ => 0,
        };
        self.pool.push(a);
        addr
    }

    fn bools(&mut self) -> (i64, i64) {
        let (t, f) = self.t.get_or_insert_with(|| (Arc::new(Value::Bool(true)), Arc::new(Value::Bool(false))));
        (Arc::as_ptr(t) as i64, Arc::as_ptr(f) as i64)
    }

    fn span(&mut self, s: Span) -> i64 {
        let next = self.spans.len() as u32;
        let i = *self.span_index.entry(s).or_insert(next);
        if i == next {
            self.spans.push(s);
        }
        i64::from(i)
    }

    fn builtin(&mut self, b: Builtin) -> i64 {
        let i = self.builtins.iter().position(|x| *x == b).unwrap_or_else(|| {
            self.builtins.push(b);
            self.builtins.len() - 1
        });
        i as i64
    }

    pub(super) fn into_shared(self) -> (Shared, Vec<Arc<Value>>) {
        let mut pool = self.pool;
        if let Some((t, f)) = self.t {
            pool.push(t);
            pool.push(f);
        }
        (Shared { builtins: self.builtins, spans: self.spans, finders: self.finders, sets: self.sets }, pool)
    }
}

/// Compiles one group's function (every rule's condition inline), reading the mask only
/// when `masked`, and the functions of its rules' block `let`s; returns the group
/// function's id and the size in words of the memo area its lets need.
pub(super) fn compile_group(
    module: &mut JITModule,
    program: &ir::Program,
    group: &[u32],
    masked: bool,
    tables: &mut Tables,
) -> Result<(FuncId, usize), JitError> {
    tables.sets = program.sets.clone();
    let mut ctx = module.make_context();
    let mut fctx = FunctionBuilderContext::new();
    let mut sig = module.make_signature();
    sig.params.extend([AbiParam::new(PTR); 6]);
    sig.returns.push(AbiParam::new(types::I8));
    let id = module.declare_anonymous_function(&sig).map_err(backend)?;
    let (lets, memo_words) = declare_lets(module, program, group, &sig)?;
    for (&r, rule_lets) in group.iter().zip(&lets) {
        let rule = rule_at(program, r)?;
        for (i, (value, &f)) in rule.lets.iter().zip(&rule_lets.funcs).enumerate() {
            ctx.func.signature = sig.clone();
            {
                let b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
                let mut g = Gen::start(b, tables);
                g.use_lets(module, rule, rule_lets);
                g.let_function(i, value)?;
                g.finish(module);
            }
            module.define_function(f, &mut ctx).map_err(backend)?;
            module.clear_context(&mut ctx);
        }
    }
    ctx.func.signature = sig;
    {
        let b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
        let mut g = Gen::start(b, tables);
        let params = g.b.block_params(g.entry).to_vec();
        let (results, mask) = (params[2], params[3]);
        let any = g.b.declare_var(types::I8);
        let zero = g.b.ins().iconst(types::I8, 0);
        g.b.def_var(any, zero);
        for ((pos, &r), rule_lets) in group.iter().enumerate().zip(&lets) {
            let rule = rule_at(program, r)?;
            g.use_lets(module, rule, rule_lets);
            g.group_rule(rule, program, pos as u32, results, masked.then_some(mask), any)?;
        }
        let any = g.b.use_var(any);
        g.b.ins().return_(&[any]);
        g.finish(module);
    }
    module.define_function(id, &mut ctx).map_err(backend)?;
    module.clear_context(&mut ctx);
    Ok((id, memo_words))
}

fn rule_at(program: &ir::Program, r: u32) -> Result<&ir::Rule, JitError> {
    program.rules.get(r as usize).ok_or_else(|| JitError::Internal(format!("group names rule {r}, which does not exist")))
}

fn backend(e: impl std::fmt::Display) -> JitError {
    JitError::Backend(e.to_string())
}

fn unsupported(e: &Expr, what: &str) -> JitError {
    JitError::Unsupported { span: e.span, what: what.to_string() }
}

/// A call of helper `name` that does not fit its Rust type: a bug in codegen.
#[cold]
fn helper_mismatch(name: &str, what: &str, given: &[types::Type], wanted: &[types::Type]) -> JitError {
    JitError::Internal(format!("helper `{name}` {what} {given:?}, its Rust type has {wanted:?}"))
}

fn bargs(vs: &[V]) -> Vec<BlockArg> {
    vs.iter().map(|&v| BlockArg::Value(v)).collect()
}

/// The code generator of one function.
struct Gen<'a, 't> {
    b: FunctionBuilder<'a>,
    tables: &'t mut Tables,
    entry: Block,
    rt: V,
    slots: V,
    /// Where the units left of the work budget are (an `i64`).
    work: V,
    /// The current rule's failure block.
    fail: Block,
    locals: HashMap<u32, (Variable, Repr)>,
    /// Where the memo slots of the group's block `let`s are.
    memo: V,
    /// The current rule's block `let`s: their functions, as called from this function,
    /// their representations and where their memo slots start.
    let_funcs: Vec<FuncRef>,
    let_reprs: Vec<Repr>,
    let_base: i32,
    sigs: HashMap<&'static str, SigRef>,
    layout: runtime::ScalarLayout,
}

/// The block `let`s of one rule of a group: each is a function of its own (so its code is
/// compiled once however often it is used, and calling it leaves the caller's values in
/// place), and has a memo slot of two words (computed?, value) from byte `base` of the
/// group's memo area.
pub(super) struct RuleLets {
    base: i32,
    funcs: Vec<FuncId>,
}

/// The group's block `let` functions and memo slots, by position in the group; and the
/// size of the memo area in words.
fn declare_lets(module: &mut JITModule, program: &ir::Program, group: &[u32], sig: &Signature) -> Result<(Vec<RuleLets>, usize), JitError> {
    let mut words = 0usize;
    let mut out = Vec::with_capacity(group.len());
    for &r in group {
        let rule = rule_at(program, r)?;
        let funcs = rule.lets.iter().map(|_| module.declare_anonymous_function(sig).map_err(backend)).collect::<Result<Vec<_>, _>>()?;
        let base = i32::try_from(words * 8).map_err(|_| JitError::Internal("too many block lets".into()))?;
        words += 2 * funcs.len();
        out.push(RuleLets { base, funcs });
    }
    Ok((out, words))
}

impl<'a, 't> Gen<'a, 't> {
    fn start(mut b: FunctionBuilder<'a>, tables: &'t mut Tables) -> Gen<'a, 't> {
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let params = b.block_params(entry).to_vec();
        Gen {
            fail: entry,
            b,
            tables,
            entry,
            rt: params[0],
            slots: params[1],
            work: params[4],
            memo: params[5],
            locals: HashMap::new(),
            let_funcs: Vec::new(),
            let_reprs: Vec::new(),
            let_base: 0,
            sigs: HashMap::new(),
            layout: runtime::scalar_layout(),
        }
    }

    fn finish(mut self, module: &JITModule) {
        self.b.seal_all_blocks();
        self.b.finalize(module.isa().frontend_config());
    }

    /// In a group function: `results[pos] = rule(); any |= results[pos]`, only if
    /// `mask[pos]` when there is a mask.
    fn group_rule(&mut self, rule: &ir::Rule, program: &ir::Program, pos: u32, results: V, mask: Option<V>, any: Variable) -> Result<(), JitError> {
        let (body, ok, failed, next) = (self.b.create_block(), self.b.create_block(), self.b.create_block(), self.b.create_block());
        self.b.append_block_param(ok, types::I8);
        match mask {
            Some(mask) => {
                let wanted = self.b.ins().load(types::I8, MemFlagsData::trusted(), mask, pos as i32);
                self.b.ins().brif(wanted, body, &[], next, &[]);
            }
            None => {
                self.b.ins().jump(body, &[]);
            }
        }
        self.b.switch_to_block(body);
        self.rule_body(rule, program, ok, failed)?;
        self.b.switch_to_block(ok);
        let r = self.b.block_params(ok)[0];
        self.b.ins().store(MemFlagsData::trusted(), r, results, pos as i32);
        self.merge_any(any, r);
        self.b.ins().jump(next, &[]);
        self.b.switch_to_block(failed);
        let p = self.b.ins().iconst(types::I32, i64::from(pos));
        call!(self, rule_failed(self.rt, p))?;
        let two = self.b.ins().iconst(types::I8, 2);
        self.b.ins().store(MemFlagsData::trusted(), two, results, pos as i32);
        self.merge_any(any, two);
        self.b.ins().jump(next, &[]);
        self.b.switch_to_block(next);
        Ok(())
    }

    /// `any |= r`.
    fn merge_any(&mut self, any: Variable, r: V) {
        let old = self.b.use_var(any);
        let new = self.b.ins().bor(old, r);
        self.b.def_var(any, new);
    }

    /// Evaluates a rule's condition; jumps to `ok(held)` or to `failed`.
    fn rule_body(&mut self, rule: &ir::Rule, _program: &ir::Program, ok: Block, failed: Block) -> Result<(), JitError> {
        self.fail = failed;
        self.locals.clear();
        // Each evaluation of the rule starts with none of its lets computed.
        let no = self.b.ins().iconst(types::I64, 0);
        for i in 0..self.let_funcs.len() {
            self.b.ins().store(MemFlagsData::trusted(), no, self.memo, self.let_base + 16 * i as i32);
        }
        let held = match &rule.condition {
            None => self.b.ins().iconst(types::I8, 1),
            Some(c) => self.expr_as(c, Repr::Bool)?,
        };
        self.b.ins().jump(ok, &bargs(&[held]));
        Ok(())
    }

    /// Makes `lets` (the block lets of `rule`) callable from this function.
    fn use_lets(&mut self, module: &mut JITModule, rule: &ir::Rule, lets: &RuleLets) {
        self.let_base = lets.base;
        self.let_reprs = rule.lets.iter().map(|l| repr(&l.ty)).collect();
        self.let_funcs = lets
            .funcs
            .iter()
            .map(|&id| {
                let f = module.declare_func_in_func(id, self.b.func);
                // Called by absolute address: the module may place functions far apart.
                self.b.func.dfg.ext_funcs[f].colocated = false;
                f
            })
            .collect();
    }

    /// A use of block `let` `i`: its memo when computed, else a call of its function, which
    /// fills the memo (or fails, with the error pending).
    fn block_let(&mut self, i: u32, e: &Expr) -> Result<V, JitError> {
        let (Some(&f), Some(&lr)) = (self.let_funcs.get(i as usize), self.let_reprs.get(i as usize)) else {
            return Err(unsupported(e, "a block let the rule does not have"));
        };
        let flags = MemFlagsData::trusted();
        let at = self.let_base + 16 * i as i32;
        let (compute, have) = (self.b.create_block(), self.b.create_block());
        let computed = self.b.ins().load(types::I64, flags, self.memo, at);
        self.b.ins().brif(computed, have, &[], compute, &[]);
        self.b.switch_to_block(compute);
        let params = self.b.block_params(self.entry).to_vec();
        let call = self.b.ins().call(f, &params);
        let status = self.b.inst_results(call)[0];
        let bad = self.b.ins().icmp_imm_s(IntCC::Equal, status, 2);
        self.b.ins().brif(bad, self.fail, &[], have, &[]);
        self.b.switch_to_block(have);
        let v = self.b.ins().load(cl_type(lr), flags, self.memo, at + 8);
        self.coerce(v, lr, repr(&e.ty), e)
    }

    /// The body of block `let` `i`'s function: computes the value into its memo slot and
    /// returns 0, or returns 2 with the error pending.
    fn let_function(&mut self, i: usize, value: &Expr) -> Result<(), JitError> {
        let failed = self.b.create_block();
        self.fail = failed;
        let r = repr(&value.ty);
        let mut v = self.expr_as(value, r)?;
        if r == Repr::Ptr {
            // Out of the per-iteration memory, as the first use may be inside a loop.
            v = call!(self, keep(self.rt, v))?;
            self.check_ptr(v);
        }
        let flags = MemFlagsData::trusted();
        let at = self.let_base + 16 * i as i32;
        self.b.ins().store(flags, v, self.memo, at + 8);
        let (yes, ok) = (self.b.ins().iconst(types::I64, 1), self.b.ins().iconst(types::I8, 0));
        self.b.ins().store(flags, yes, self.memo, at);
        self.b.ins().return_(&[ok]);
        self.b.switch_to_block(failed);
        let two = self.b.ins().iconst(types::I8, 2);
        self.b.ins().return_(&[two]);
        Ok(())
    }

    /// Calls runtime helper `f` (named `name`, for the signature cache and errors) with
    /// `args`, under the signature derived from its Rust type (`abi::HelperFn`), and gives
    /// its result (nothing for a helper returning `()`). An argument of another Cranelift
    /// type than the helper's parameter is an internal error, never a call that misreads
    /// it. Called through `call!`, which names the helper once.
    fn call_helper<F: HelperFn>(&mut self, name: &'static str, f: F, args: &[V]) -> Result<<F::Ret as AbiReturn>::Out, JitError> {
        let result = self.call_abi(name, f.addr(), F::PARAMS, F::Ret::RETURNS, args)?;
        F::Ret::out(result).ok_or_else(|| helper_mismatch(name, "gave no result", &[], F::Ret::RETURNS))
    }

    /// `call_helper`'s work, not generic: one copy, out of line, so the recursive `expr`
    /// keeps its frame small (the deepest expression compiles on a 256 KiB stack).
    #[inline(never)]
    fn call_abi(&mut self, name: &'static str, addr: usize, params: &[types::Type], returns: &[types::Type], args: &[V]) -> Result<Option<V>, JitError> {
        let dfg = &self.b.func.dfg;
        if !args.iter().map(|&a| dfg.value_type(a)).eq(params.iter().copied()) {
            let given: Vec<types::Type> = args.iter().map(|&a| dfg.value_type(a)).collect();
            return Err(helper_mismatch(name, "called with", &given, params));
        }
        let sig = match self.sigs.get(name) {
            Some(&s) => s,
            None => {
                let s = self.b.import_signature(abi::signature(self.b.func.signature.call_conv, params, returns));
                self.sigs.insert(name, s);
                s
            }
        };
        let callee = self.b.ins().iconst(PTR, addr as i64);
        let call = self.b.ins().call_indirect(sig, callee, args);
        Ok(self.b.inst_results(call).first().copied())
    }

    fn span(&mut self, s: Span) -> V {
        let i = self.tables.span(s);
        self.b.ins().iconst(types::I32, i)
    }

    /// Continues only when `p` is not null (a helper's failure).
    fn check_ptr(&mut self, p: V) {
        let cont = self.b.create_block();
        self.b.ins().brif(p, cont, &[], self.fail, &[]);
        self.b.switch_to_block(cont);
    }

    /// Continues only when the status `s` is not 2 (a helper's failure).
    fn check_status(&mut self, s: V) {
        let cont = self.b.create_block();
        let bad = self.b.ins().icmp_imm_s(IntCC::Equal, s, 2);
        self.b.ins().brif(bad, self.fail, &[], cont, &[]);
        self.b.switch_to_block(cont);
    }

    /// Charges `units` of work inline (as `vm::Meter::charge`); fails, with the budget
    /// exhausted, when they do not fit.
    fn charge(&mut self, units: u32, span: Span) -> Result<(), JitError> {
        let flags = MemFlagsData::trusted();
        let left = self.b.ins().load(types::I64, flags, self.work, 0);
        let after = self.b.ins().iadd_imm_s(left, -i64::from(units));
        let short = self.b.ins().icmp_imm_s(IntCC::SignedLessThan, after, 0);
        self.raise_if(short, FaultKind::OutOfWork, span)?;
        self.b.ins().store(flags, after, self.work, 0);
        Ok(())
    }

    /// Fails with the fault `kind` (raised by `runtime::raise`) when `bad` is set.
    fn raise_if(&mut self, bad: V, kind: FaultKind, span: Span) -> Result<(), JitError> {
        let (raise, cont) = (self.b.create_block(), self.b.create_block());
        self.b.set_cold_block(raise);
        self.b.ins().brif(bad, raise, &[], cont, &[]);
        self.b.switch_to_block(raise);
        let k = self.b.ins().iconst(types::I32, i64::from(kind as u32));
        let at = self.span(span);
        call!(self, raise(self.rt, k, at))?;
        self.b.ins().jump(self.fail, &[]);
        self.b.switch_to_block(cont);
        Ok(())
    }

    fn coerce(&mut self, v: V, from: Repr, to: Repr, e: &Expr) -> Result<V, JitError> {
        Ok(match (from, to) {
            _ if from == to => v,
            (Repr::Ptr, Repr::Num) => call!(self, num(v))?,
            (Repr::Ptr, Repr::Bool) => call!(self, boolean(v))?,
            (Repr::Num, Repr::Ptr) => call!(self, box_num(self.rt, v))?,
            (Repr::Bool, Repr::Ptr) => {
                let (t, f) = self.tables.bools();
                let (t, f) = (self.b.ins().iconst(PTR, t), self.b.ins().iconst(PTR, f));
                self.b.ins().select(v, t, f)
            }
            _ => return Err(unsupported(e, &format!("a {from:?} value used as a {to:?}"))),
        })
    }

    /// A slot's value (`p` points into the frame, never null) as `r`. Numbers and booleans
    /// are read inline, as `num` and `boolean` would: the payload when the tag matches,
    /// else NaN or false (absent optional fields are handled before, by `??` or `has`).
    fn slot_as(&mut self, p: V, r: Repr, e: &Expr) -> Result<V, JitError> {
        let flags = MemFlagsData::trusted();
        let (want_tag, offset, ty) = match r {
            Repr::Num => (self.layout.num_tag, self.layout.num_offset, types::F64),
            Repr::Bool => (self.layout.bool_tag, self.layout.bool_offset, types::I8),
            _ => return self.coerce(p, Repr::Ptr, r, e),
        };
        let tag = self.b.ins().load(types::I8, flags, p, 0);
        let matches = self.b.ins().icmp_imm_u(IntCC::Equal, tag, i64::from(want_tag));
        let payload = self.b.ins().load(ty, flags, p, offset);
        let otherwise = if r == Repr::Num { self.b.ins().f64const(f64::NAN) } else { self.b.ins().iconst(types::I8, 0) };
        Ok(self.b.ins().select(matches, payload, otherwise))
    }

    fn expr_as(&mut self, e: &Expr, want: Repr) -> Result<V, JitError> {
        let (v, r) = self.expr(e)?;
        self.coerce(v, r, want, e)
    }

    /// Compiles `e` in the representation of its type.
    fn expr(&mut self, e: &Expr) -> Result<(V, Repr), JitError> {
        let r = repr(&e.ty);
        let v = match &e.kind {
            ExprKind::Const(c) => return Ok(self.constant(c, r)),
            ExprKind::Slot(i) => {
                let offset = i64::from(*i) * std::mem::size_of::<Value>() as i64;
                let p = self.b.ins().iadd_imm_s(self.slots, offset);
                return Ok((self.slot_as(p, r, e)?, r));
            }
            ExprKind::Local(i) => {
                let (var, lr) = *self.locals.get(i).ok_or_else(|| unsupported(e, "a local that is not bound"))?;
                let v = self.b.use_var(var);
                return Ok((self.coerce(v, lr, r, e)?, r));
            }
            ExprKind::BlockLet(i) => return Ok((self.block_let(*i, e)?, r)),
            ExprKind::Input(_) => return Err(unsupported(e, "an input path without a slot (the IR passes did not run)")),
            ExprKind::FnCall { .. } => return Err(unsupported(e, "a function call that was not inlined (the IR passes did not run)")),
            ExprKind::Let { local, value, body } => {
                let vr = repr(&value.ty);
                let v = self.expr_as(value, vr)?;
                let var = self.b.declare_var(cl_type(vr));
                self.bound(*local, var, vr, v, body, r)?
            }
            ExprKind::Not(a) => {
                let v = self.expr_as(a, Repr::Bool)?;
                let n = self.b.ins().bxor_imm_s(v, 1);
                self.coerce(n, Repr::Bool, r, e)?
            }
            ExprKind::Neg(a) => {
                let v = self.expr_as(a, Repr::Num)?;
                let n = self.b.ins().fneg(v);
                self.coerce(n, Repr::Num, r, e)?
            }
            ExprKind::And(a, b) | ExprKind::Or(a, b) => {
                let is_and = matches!(e.kind, ExprKind::And(..));
                let x = self.expr_as(a, Repr::Bool)?;
                let (rhs, join) = (self.b.create_block(), self.b.create_block());
                self.b.append_block_param(join, types::I8);
                if is_and {
                    self.b.ins().brif(x, rhs, &[], join, &bargs(&[x]));
                } else {
                    self.b.ins().brif(x, join, &bargs(&[x]), rhs, &[]);
                }
                self.b.switch_to_block(rhs);
                let y = self.expr_as(b, Repr::Bool)?;
                self.b.ins().jump(join, &bargs(&[y]));
                self.b.switch_to_block(join);
                let v = self.b.block_params(join)[0];
                self.coerce(v, Repr::Bool, r, e)?
            }
            ExprKind::Compare(op, a, b) => {
                let v = self.compare(*op, a, b, e.span)?;
                self.coerce(v, Repr::Bool, r, e)?
            }
            ExprKind::Arith(op, a, b) => return self.arith(*op, a, b, e),
            ExprKind::Coalesce(a, b) => self.coalesce(a, b, r, e)?,
            ExprKind::Has(a) => {
                let (v, ar) = self.expr(a)?;
                let has = if ar == Repr::Ptr {
                    let absent = call!(self, is_absent(v))?;
                    self.b.ins().bxor_imm_s(absent, 1)
                } else {
                    self.b.ins().iconst(types::I8, 1)
                };
                self.coerce(has, Repr::Bool, r, e)?
            }
            ExprKind::If(c, a, b) => {
                let cv = self.expr_as(c, Repr::Bool)?;
                let (then, other, join) = (self.b.create_block(), self.b.create_block(), self.b.create_block());
                self.b.append_block_param(join, cl_type(r));
                self.b.ins().brif(cv, then, &[], other, &[]);
                self.b.switch_to_block(then);
                let x = self.expr_as(a, r)?;
                self.b.ins().jump(join, &bargs(&[x]));
                self.b.switch_to_block(other);
                let y = self.expr_as(b, r)?;
                self.b.ins().jump(join, &bargs(&[y]));
                self.b.switch_to_block(join);
                self.b.block_params(join)[0]
            }
            ExprKind::Field(a, i) => {
                let p = self.expr_as(a, Repr::Ptr)?;
                let f = self.field(p, *i, e)?;
                self.coerce(f, Repr::Ptr, r, e)?
            }
            ExprKind::Index(a, b) => {
                let x = self.expr_as(a, Repr::Ptr)?;
                let y = self.expr_as(b, Repr::Ptr)?;
                let at = self.span(e.span);
                let v = call!(self, index(self.rt, x, y, at))?;
                self.check_ptr(v);
                self.coerce(v, Repr::Ptr, r, e)?
            }
            ExprKind::List(items) => {
                let (addr, n) = self.pointer_array(items)?;
                let at = self.span(e.span);
                let v = call!(self, make_list(self.rt, addr, n, at))?;
                self.check_ptr(v);
                self.coerce(v, Repr::Ptr, r, e)?
            }
            ExprKind::Call(builtin, args) => return self.call(*builtin, args, e),
            ExprKind::Regex { op, subject, regex } => {
                let s = self.expr_as(subject, Repr::Ptr)?;
                let re = self.b.ins().iconst(types::I32, i64::from(*regex));
                let at = self.span(e.span);
                match op {
                    RegexOp::Matches => {
                        let st = call!(self, regex_match(self.rt, re, s, at))?;
                        self.check_status(st);
                        self.coerce(st, Repr::Bool, r, e)?
                    }
                    RegexOp::FindAll => {
                        let v = call!(self, regex_find_all(self.rt, re, s, at))?;
                        self.check_ptr(v);
                        self.coerce(v, Repr::Ptr, r, e)?
                    }
                }
            }
            ExprKind::InSet { set, item } => {
                let v = self.expr_as(item, Repr::Ptr)?;
                let set = self.b.ins().iconst(types::I32, i64::from(*set));
                let at = self.span(e.span);
                let st = call!(self, in_set(self.rt, set, v, at))?;
                self.check_status(st);
                self.coerce(st, Repr::Bool, r, e)?
            }
            ExprKind::Quant { kind: kind @ (QuantKind::Map | QuantKind::Filter), local, list, body } => {
                let v = self.collect(*kind, *local, list, body, e)?;
                self.coerce(v, Repr::Ptr, r, e)?
            }
            ExprKind::Quant { kind, local, list, body } => {
                let v = self.quantifier(*kind, *local, list, body, e)?;
                let from = if *kind == QuantKind::Count { Repr::Num } else { Repr::Bool };
                self.coerce(v, from, r, e)?
            }
        };
        Ok((v, r))
    }

    /// Field `i` of the record at `p`: its address computed inline when `p` is a record
    /// with that field (the `RecordLayout`), else the `field` helper, which also reports
    /// errors.
    fn field(&mut self, p: V, i: u32, e: &Expr) -> Result<V, JitError> {
        let (slow, join) = (self.b.create_block(), self.b.create_block());
        self.b.append_block_param(join, PTR);
        if let Some(rec) = &self.layout.record {
            let (tag_check, len_check, fast) = (self.b.create_block(), self.b.create_block(), self.b.create_block());
            let (tag, ptr_offset, len_offset, data_offset) = (rec.tag, rec.ptr_offset, rec.len_offset, rec.data_offset);
            let flags = MemFlagsData::trusted();
            self.b.ins().brif(p, tag_check, &[], slow, &[]);
            self.b.switch_to_block(tag_check);
            let t = self.b.ins().load(types::I8, flags, p, 0);
            let is_record = self.b.ins().icmp_imm_u(IntCC::Equal, t, i64::from(tag));
            self.b.ins().brif(is_record, len_check, &[], slow, &[]);
            self.b.switch_to_block(len_check);
            let len = self.b.ins().load(PTR, flags, p, len_offset);
            let has = self.b.ins().icmp_imm_u(IntCC::UnsignedGreaterThan, len, i64::from(i));
            self.b.ins().brif(has, fast, &[], slow, &[]);
            self.b.switch_to_block(fast);
            let data = self.b.ins().load(PTR, flags, p, ptr_offset);
            let at = data_offset + i64::from(i) * std::mem::size_of::<Value>() as i64;
            let addr = self.b.ins().iadd_imm_s(data, at);
            self.b.ins().jump(join, &bargs(&[addr]));
        } else {
            self.b.ins().jump(slow, &[]);
        }
        self.b.switch_to_block(slow);
        let idx = self.b.ins().iconst(types::I32, i64::from(i));
        let at = self.span(e.span);
        let f = call!(self, field(self.rt, p, idx, at))?;
        self.check_ptr(f);
        self.b.ins().jump(join, &bargs(&[f]));
        self.b.switch_to_block(join);
        Ok(self.b.block_params(join)[0])
    }

    /// `s op "constant"` through `str_test`, which compares bytes (`needle in s` through
    /// `str_find`); `None` when `needle` is not a constant string.
    fn str_test(&mut self, op: StrTest, s: &Expr, needle: &Expr, span: Span) -> Result<Option<V>, JitError> {
        let ExprKind::Const(Value::Str(text)) = &needle.kind else { return Ok(None) };
        if op == StrTest::Contains {
            return self.str_find(s, text, span).map(Some);
        }
        let len = text.len() as i64;
        // The pooled copy's bytes stay in place as long as the code (`Tables::pool`).
        let addr = self.tables.constant_str(text);
        let x = self.expr_as(s, Repr::Ptr)?;
        let (opv, bytes, n) = (self.b.ins().iconst(types::I32, i64::from(op as u32)), self.b.ins().iconst(PTR, addr), self.b.ins().iconst(PTR, len));
        let at = self.span(span);
        let st = call!(self, str_test(self.rt, opv, x, bytes, n, at))?;
        self.check_status(st);
        Ok(Some(st))
    }

    /// `needle in s` through `str_find`, with the searcher built here, once.
    fn str_find(&mut self, s: &Expr, needle: &str, span: Span) -> Result<V, JitError> {
        let index = self.tables.finders.len() as i64;
        self.tables.finders.push(memchr::memmem::Finder::new(needle.as_bytes()).into_owned());
        let x = self.expr_as(s, Repr::Ptr)?;
        let finder = self.b.ins().iconst(types::I32, index);
        let at = self.span(span);
        let st = call!(self, str_find(self.rt, x, finder, at))?;
        self.check_status(st);
        Ok(st)
    }

    fn constant(&mut self, c: &Value, r: Repr) -> (V, Repr) {
        match (c, r) {
            (Value::Num(n), Repr::Num) => (self.b.ins().f64const(*n), Repr::Num),
            (Value::Bool(x), Repr::Bool) => (self.b.ins().iconst(types::I8, i64::from(*x)), Repr::Bool),
            _ => {
                let addr = self.tables.constant(c);
                (self.b.ins().iconst(PTR, addr), Repr::Ptr)
            }
        }
    }

    /// Stores each item's pointer in a stack slot; returns its address and the count.
    fn pointer_array(&mut self, items: &[Expr]) -> Result<(V, V), JitError> {
        let ptrs = items.iter().map(|x| self.expr_as(x, Repr::Ptr)).collect::<Result<Vec<_>, _>>()?;
        let n = self.b.ins().iconst(types::I32, ptrs.len() as i64);
        if ptrs.is_empty() {
            return Ok((self.b.ins().iconst(PTR, 0), n));
        }
        let slot = self.b.create_sized_stack_slot(StackSlotData::new(StackSlotKind::ExplicitSlot, (ptrs.len() * 8) as u32, 3));
        for (i, p) in ptrs.iter().enumerate() {
            self.b.ins().stack_store(PTR, *p, slot, (i * 8) as i32);
        }
        Ok((self.b.ins().stack_addr(PTR, slot, 0), n))
    }

    fn compare(&mut self, op: CmpOp, a: &Expr, b: &Expr, span: Span) -> Result<V, JitError> {
        let (ra, rb) = (repr(&a.ty), repr(&b.ty));
        if ra == Repr::Num && rb == Repr::Num {
            let (x, y) = (self.expr_as(a, Repr::Num)?, self.expr_as(b, Repr::Num)?);
            let cc = match op {
                CmpOp::Eq => FloatCC::Equal,
                CmpOp::Ne => FloatCC::NotEqual,
                CmpOp::Lt => FloatCC::LessThan,
                CmpOp::Le => FloatCC::LessThanOrEqual,
                CmpOp::Gt => FloatCC::GreaterThan,
                CmpOp::Ge => FloatCC::GreaterThanOrEqual,
            };
            return Ok(self.b.ins().fcmp(cc, x, y));
        }
        if ra == Repr::Bool && rb == Repr::Bool && matches!(op, CmpOp::Eq | CmpOp::Ne) {
            let (x, y) = (self.expr_as(a, Repr::Bool)?, self.expr_as(b, Repr::Bool)?);
            let cc = if op == CmpOp::Eq { IntCC::Equal } else { IntCC::NotEqual };
            return Ok(self.b.ins().icmp(cc, x, y));
        }
        if matches!(op, CmpOp::Eq | CmpOp::Ne) {
            // `s == "EUR"`: a byte comparison, no dispatch on the operator.
            let eq = match self.str_test(StrTest::Eq, a, b, span)? {
                Some(st) => Some(st),
                None => self.str_test(StrTest::Eq, b, a, span)?,
            };
            if let Some(st) = eq {
                return Ok(if op == CmpOp::Eq { st } else { self.b.ins().bxor_imm_s(st, 1) });
            }
        }
        let (x, y) = (self.expr_as(a, Repr::Ptr)?, self.expr_as(b, Repr::Ptr)?);
        let code = self.b.ins().iconst(types::I32, i64::from(op as u32));
        let at = self.span(span);
        let st = call!(self, compare(self.rt, code, x, y, at))?;
        self.check_status(st);
        Ok(st)
    }

    fn arith(&mut self, op: ArithOp, a: &Expr, b: &Expr, e: &Expr) -> Result<(V, Repr), JitError> {
        let r = repr(&e.ty);
        if repr(&a.ty) == Repr::Num && repr(&b.ty) == Repr::Num {
            let (x, y) = (self.expr_as(a, Repr::Num)?, self.expr_as(b, Repr::Num)?);
            let v = match op {
                ArithOp::Add => self.b.ins().fadd(x, y),
                ArithOp::Sub => self.b.ins().fsub(x, y),
                ArithOp::Mul => self.b.ins().fmul(x, y),
                ArithOp::Div | ArithOp::Rem => {
                    let zero = self.b.ins().f64const(0.0);
                    let is_zero = self.b.ins().fcmp(FloatCC::Equal, y, zero);
                    self.raise_if(is_zero, FaultKind::DivisionByZero, e.span)?;
                    if op == ArithOp::Div {
                        self.b.ins().fdiv(x, y)
                    } else {
                        call!(self, fmod(x, y))?
                    }
                }
            };
            self.check_finite(v, e.span)?;
            return Ok((self.coerce(v, Repr::Num, r, e)?, r));
        }
        let (x, y) = (self.expr_as(a, Repr::Ptr)?, self.expr_as(b, Repr::Ptr)?);
        let code = self.b.ins().iconst(types::I32, i64::from(op as u32));
        let at = self.span(e.span);
        let v = call!(self, arith(self.rt, code, x, y, at))?;
        self.check_ptr(v);
        Ok((self.coerce(v, Repr::Ptr, r, e)?, r))
    }

    /// Numbers leaving an operation must be finite (`|v| < inf` is false for NaN too).
    fn check_finite(&mut self, v: V, span: Span) -> Result<(), JitError> {
        let abs = self.b.ins().fabs(v);
        let inf = self.b.ins().f64const(f64::INFINITY);
        let bad = self.b.ins().fcmp(FloatCC::UnorderedOrGreaterThanOrEqual, abs, inf);
        self.raise_if(bad, FaultKind::NotFinite, span)
    }

    fn coalesce(&mut self, a: &Expr, b: &Expr, r: Repr, e: &Expr) -> Result<V, JitError> {
        let (x, ra) = self.expr(a)?;
        if ra != Repr::Ptr {
            return self.coerce(x, ra, r, e);
        }
        let absent = call!(self, is_absent(x))?;
        let (present, rhs, join) = (self.b.create_block(), self.b.create_block(), self.b.create_block());
        self.b.append_block_param(join, cl_type(r));
        self.b.ins().brif(absent, rhs, &[], present, &[]);
        self.b.switch_to_block(present);
        let v = self.coerce(x, Repr::Ptr, r, e)?;
        self.b.ins().jump(join, &bargs(&[v]));
        self.b.switch_to_block(rhs);
        let y = self.expr_as(b, r)?;
        self.b.ins().jump(join, &bargs(&[y]));
        self.b.switch_to_block(join);
        Ok(self.b.block_params(join)[0])
    }

    /// A builtin call: its table entry's JIT fast path (`ops::builtins::JitFast`) when it
    /// has one and the operands fit it, else the generic `call` helper.
    fn call(&mut self, builtin: Builtin, args: &[Expr], e: &Expr) -> Result<(V, Repr), JitError> {
        let r = repr(&e.ty);
        let all_num = args.iter().all(|a| repr(&a.ty) == Repr::Num);
        match (builtin.spec().and_then(|s| s.jit), args) {
            (Some(JitFast::Float(op)), [x]) if all_num && r == Repr::Num => {
                let v = self.expr_as(x, Repr::Num)?;
                let v = match op {
                    FloatOp::Abs => self.b.ins().fabs(v),
                    FloatOp::Floor => self.b.ins().floor(v),
                    FloatOp::Ceil => self.b.ins().ceil(v),
                    FloatOp::Round => call!(self, round(v))?,
                };
                return Ok((v, r));
            }
            (Some(JitFast::Predicate(test)), [x, y]) if r == Repr::Bool => {
                if let Pred::Str(t) = test {
                    if let Some(st) = self.str_test(t, x, y, e.span)? {
                        return Ok((st, r));
                    }
                }
                let (x, y) = (self.expr_as(x, Repr::Ptr)?, self.expr_as(y, Repr::Ptr)?);
                let idx = self.tables.builtin(builtin);
                let bi = self.b.ins().iconst(types::I32, idx);
                let at = self.span(e.span);
                let st = call!(self, predicate2(self.rt, bi, x, y, at))?;
                self.check_status(st);
                return Ok((st, r));
            }
            _ => {}
        }
        let (addr, n) = self.pointer_array(args)?;
        let idx = self.tables.builtin(builtin);
        let bi = self.b.ins().iconst(types::I32, idx);
        let at = self.span(e.span);
        let v = call!(self, call(self.rt, bi, addr, n, at))?;
        self.check_ptr(v);
        Ok((self.coerce(v, Repr::Ptr, r, e)?, r))
    }

    /// `body` as `want` with `local` bound to `value` (held in `var`, as `repr`): a `let`, or
    /// one iteration of a loop. An outer binding of the same local comes back afterwards,
    /// whether the body compiled or not.
    fn bound(&mut self, local: u32, var: Variable, repr: Repr, value: V, body: &Expr, want: Repr) -> Result<V, JitError> {
        self.b.def_var(var, value);
        let saved = self.locals.insert(local, (var, repr));
        let out = self.expr_as(body, want);
        match saved {
            Some(s) => self.locals.insert(local, s),
            None => self.locals.remove(&local),
        };
        out
    }

    /// What a loop over `list` starts with (the quantifiers, `map`, `filter`): the list, its
    /// length (a negative length, a fault, has already branched to the fail block), the
    /// representation of its elements and the variable that holds the current one.
    fn loop_over(&mut self, list: &Expr, e: &Expr) -> Result<(V, V, Repr, Variable), JitError> {
        let l = self.expr_as(list, Repr::Ptr)?;
        let at = self.span(e.span);
        let len = call!(self, list_len(self.rt, l, at))?;
        let bad = self.b.ins().icmp_imm_s(IntCC::SignedLessThan, len, 0);
        let cont = self.b.create_block();
        self.b.ins().brif(bad, self.fail, &[], cont, &[]);
        self.b.switch_to_block(cont);
        let elem = match list.ty.unwrap_optional() {
            Type::List(t) => repr(t),
            _ => Repr::Ptr,
        };
        let var = self.b.declare_var(cl_type(elem));
        Ok((l, len, elem, var))
    }

    /// `map` and `filter`: a loop as the quantifiers', each kept value copied by
    /// `collect_push` into the list `collect_end` gives (so the arena is still released
    /// after each iteration).
    fn collect(&mut self, kind: QuantKind, local: u32, list: &Expr, body: &Expr, e: &Expr) -> Result<V, JitError> {
        call!(self, collect_begin(self.rt))?;
        let (l, len, elem, var) = self.loop_over(list, e)?;
        let (head, step, done) = (self.b.create_block(), self.b.create_block(), self.b.create_block());
        self.b.append_block_param(head, types::I64);
        let mark = call!(self, arena_mark(self.rt))?;
        let zero = self.b.ins().iconst(types::I64, 0);
        self.b.ins().jump(head, &bargs(&[zero]));
        self.b.switch_to_block(head);
        let i = self.b.block_params(head)[0];
        let more = self.b.ins().icmp(IntCC::SignedLessThan, i, len);
        self.b.ins().brif(more, step, &[], done, &[]);
        self.b.switch_to_block(step);
        self.charge(ir::iteration_cost(body), e.span)?;
        let item_ptr = call!(self, list_item(l, i))?;
        let item = self.coerce(item_ptr, Repr::Ptr, elem, e)?;
        let want = if kind == QuantKind::Map { Repr::Ptr } else { Repr::Bool };
        let value = self.bound(local, var, elem, item, body, want)?;
        let next = self.b.ins().iadd_imm_s(i, 1);
        let at = self.span(e.span);
        if kind == QuantKind::Map {
            let st = call!(self, collect_push(self.rt, value, at))?;
            self.check_status(st);
        } else {
            let (keep, skip) = (self.b.create_block(), self.b.create_block());
            self.b.ins().brif(value, keep, &[], skip, &[]);
            self.b.switch_to_block(keep);
            let st = call!(self, collect_push(self.rt, item_ptr, at))?;
            self.check_status(st);
            self.b.ins().jump(skip, &[]);
            self.b.switch_to_block(skip);
        }
        call!(self, arena_release(self.rt, mark))?;
        self.b.ins().jump(head, &bargs(&[next]));
        self.b.switch_to_block(done);
        let at = self.span(e.span);
        let v = call!(self, collect_end(self.rt, at))?;
        self.check_ptr(v);
        Ok(v)
    }

    fn quantifier(&mut self, kind: QuantKind, local: u32, list: &Expr, body: &Expr, e: &Expr) -> Result<V, JitError> {
        let (l, len, elem, var) = self.loop_over(list, e)?;
        let (head, step, done, join) = (self.b.create_block(), self.b.create_block(), self.b.create_block(), self.b.create_block());
        let acc_ty = if kind == QuantKind::Count { types::F64 } else { types::I8 };
        self.b.append_block_param(head, types::I64);
        self.b.append_block_param(head, acc_ty);
        self.b.append_block_param(join, acc_ty);
        // Each iteration's values are dropped after it (`runtime::arena_release`).
        let mark = call!(self, arena_mark(self.rt))?;
        let zero = self.b.ins().iconst(types::I64, 0);
        let acc0 = if kind == QuantKind::Count { self.b.ins().f64const(0.0) } else { self.b.ins().iconst(types::I8, 0) };
        self.b.ins().jump(head, &bargs(&[zero, acc0]));
        self.b.switch_to_block(head);
        let (i, acc) = (self.b.block_params(head)[0], self.b.block_params(head)[1]);
        let more = self.b.ins().icmp(IntCC::SignedLessThan, i, len);
        self.b.ins().brif(more, step, &[], done, &[]);
        self.b.switch_to_block(step);
        self.charge(ir::iteration_cost(body), e.span)?;
        let item = call!(self, list_item(l, i))?;
        let item = self.coerce(item, Repr::Ptr, elem, e)?;
        let hit = self.bound(local, var, elem, item, body, Repr::Bool)?;
        call!(self, arena_release(self.rt, mark))?;
        let next = self.b.ins().iadd_imm_s(i, 1);
        match kind {
            QuantKind::Count => {
                let (one, nothing) = (self.b.ins().f64const(1.0), self.b.ins().f64const(0.0));
                let add = self.b.ins().select(hit, one, nothing);
                let acc2 = self.b.ins().fadd(acc, add);
                self.b.ins().jump(head, &bargs(&[next, acc2]));
            }
            QuantKind::Any => {
                let t = self.b.ins().iconst(types::I8, 1);
                self.b.ins().brif(hit, join, &bargs(&[t]), head, &bargs(&[next, acc]));
            }
            QuantKind::All => {
                let f = self.b.ins().iconst(types::I8, 0);
                self.b.ins().brif(hit, head, &bargs(&[next, acc]), join, &bargs(&[f]));
            }
            QuantKind::Map | QuantKind::Filter => return Err(unsupported(e, "a `map` or `filter` as a quantifier")),
        }
        self.b.switch_to_block(done);
        let end = match kind {
            QuantKind::Count => acc,
            QuantKind::Any => self.b.ins().iconst(types::I8, 0),
            QuantKind::All => self.b.ins().iconst(types::I8, 1),
            QuantKind::Map | QuantKind::Filter => return Err(unsupported(e, "a `map` or `filter` as a quantifier")),
        };
        self.b.ins().jump(join, &bargs(&[end]));
        self.b.switch_to_block(join);
        Ok(self.b.block_params(join)[0])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cranelift_codegen::ir::{Function, UserFuncName};
    use cranelift_codegen::isa::CallConv;

    /// A helper call whose arguments are not of the helper's Rust parameter types is an
    /// internal error when compiling, never a call that misreads them; a fitting one gives
    /// a result of the helper's Rust return type, or nothing for a `()` helper.
    #[test]
    fn a_helper_call_must_fit_the_helpers_rust_type() {
        let mut sig = Signature::new(CallConv::SystemV);
        sig.params.extend([AbiParam::new(PTR); 6]);
        sig.returns.push(AbiParam::new(types::I8));
        let mut func = Function::with_name_signature(UserFuncName::default(), sig);
        let mut fctx = FunctionBuilderContext::new();
        let mut tables = Tables::default();
        let mut g = Gen::start(FunctionBuilder::new(&mut func, &mut fctx), &mut tables);
        let (rt, p, x) = (g.rt, g.slots, g.b.ins().f64const(1.5));
        let rejected = |r: Result<V, JitError>| matches!(r, Err(JitError::Internal(m)) if m.contains("helper `"));
        assert!(rejected(call!(g, num(x))), "a number where `num` takes a pointer");
        assert!(rejected(call!(g, box_num(x, rt))), "arguments swapped");
        let n = call!(g, num(p)).expect("a pointer fits `num`");
        assert_eq!(g.b.func.dfg.value_type(n), types::F64);
        let b = call!(g, boolean(p)).expect("a pointer fits `boolean`");
        assert_eq!(g.b.func.dfg.value_type(b), types::I8);
        let mark = call!(g, arena_mark(rt)).expect("the runtime fits `arena_mark`");
        assert_eq!(g.b.func.dfg.value_type(mark), types::I64);
        let released: Result<(), JitError> = call!(g, arena_release(rt, mark));
        assert!(released.is_ok());
        let wrong_mark = g.b.ins().iconst(types::I32, 0);
        assert!(call!(g, arena_release(rt, wrong_mark)).is_err(), "a 32-bit mark where `arena_release` takes a u64");
    }
}
