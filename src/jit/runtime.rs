//! The JIT's run-time side, and the only module of `jit` with `unsafe`. In: the compiled
//! group functions (raw code pointers from cranelift) and a decoded `Frame`. Out: one
//! condition result per rule of the group, and the `extern "C"` helpers the generated code
//! calls for everything that is not a machine scalar (strings, lists, records, maps,
//! optionals, builtins, regexes), calling `ops`, as the interpreter does, so both backends
//! share semantics and fault messages; the codes generated code passes (operators, fault
//! kinds, string tests) are `ops`' `#[repr(u32)]` enums, read back with `from_u32`.
//!
//! Every helper that reads a pointer is an `unsafe extern "C" fn`, called only by generated
//! code; its `# Safety` section is what that code guarantees: an `Rt` pointer is the one
//! `Code::run` passed to the group function, live for the whole call and used by no other
//! thread; a value pointer is null or one of those listed below; an array of value pointers
//! holds as many as its count says. A helper's Rust type is also its ABI: codegen derives
//! the Cranelift signature from it (`abi::HelperFn`) and writes none by hand.
//!
//! Values that are not scalars live behind `*const Value` pointers: into the frame's slots,
//! into the program's constant pool, into lists and records reached from those, or into the
//! per-call `Arena`s. All of them stay valid (never moved) while used: the arena is emptied
//! when the call ends, and back to a loop's mark after each of its iterations (whose
//! values are used only inside it); block `let` memos are kept in an arena of their own.

// The only module with `unsafe`: each unsafe operation, also inside an `unsafe fn`, in a
// block of its own with the `// SAFETY:` reason it holds (the lints check both).
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks, clippy::missing_safety_doc)]

use crate::ir::{ArithOp, Builtin, CmpOp};
use crate::ops::builtins::{self, BuiltinSpec, JitFast, Pred, StrTest};
use crate::ops::fault::{self, Fault, FaultKind};
use crate::ops::regex as regex_ops;
use crate::ops::{access, arith, compare};
use crate::span::Span;
use crate::value::Value;
use crate::vm::{Meter, RuntimeError};
use cranelift_jit::JITModule;
use std::cell::RefCell;

/// What the helpers read that does not change between calls.
pub(super) struct Shared {
    pub builtins: Vec<Builtin>,
    /// Substring searchers for `contains` with a constant needle, built once at compile
    /// time (building one per call cost more than the search).
    pub finders: Vec<memchr::memmem::Finder<'static>>,
    /// The span of each fallible expression; generated code passes an index into this.
    pub spans: Vec<Span>,
    /// The program's hashed string sets (`ExprKind::InSet`), shared with the interpreter.
    pub sets: Vec<std::sync::Arc<crate::ops::set::StringSet>>,
}

/// Values made during one call. Chunks never grow past their capacity, so an element's
/// address is stable until `reset`.
#[derive(Default)]
struct Arena {
    chunks: Vec<Vec<Value>>,
    /// Chunks in use: `chunks[..used]`.
    used: usize,
}

const CHUNK: usize = 64;

impl Arena {
    fn alloc(&mut self, v: Value) -> *const Value {
        let fits = self.used.checked_sub(1).and_then(|i| self.chunks.get(i)).is_some_and(|c| c.len() < c.capacity());
        if !fits {
            if self.used == self.chunks.len() {
                self.chunks.push(Vec::with_capacity(CHUNK));
            }
            self.used += 1;
        }
        match self.used.checked_sub(1).and_then(|i| self.chunks.get_mut(i)) {
            Some(chunk) => {
                chunk.push(v);
                chunk.last().map_or(std::ptr::null(), |v| v as *const Value)
            }
            // INVARIANT-like fallback: unreachable (a chunk was just made available); a null
            // pointer would be reported by the caller as an internal error.
            None => std::ptr::null(),
        }
    }

    /// Where the next value will go: the chunks in use and the length of the last one.
    fn mark(&self) -> u64 {
        let last = self.used.checked_sub(1).and_then(|i| self.chunks.get(i)).map_or(0, Vec::len);
        ((self.used as u64) << 32) | last as u64
    }

    /// Drops every value made since `mark` (later marks are then invalid).
    fn release(&mut self, mark: u64) {
        let (used, last) = ((mark >> 32) as usize, (mark & 0xffff_ffff) as usize);
        if used > self.used {
            return;
        }
        for c in self.chunks.get_mut(used..self.used).unwrap_or_default() {
            c.clear();
        }
        if let Some(c) = used.checked_sub(1).and_then(|i| self.chunks.get_mut(i)) {
            c.truncate(last);
        }
        self.used = used;
    }

    /// Cheap when nothing was allocated, as in most calls: inlined, the loop runs 0 times.
    #[inline]
    fn reset(&mut self) {
        for c in &mut self.chunks[..self.used] {
            c.clear();
        }
        self.used = 0;
    }
}

/// The state a group function runs against; generated code only passes its address along.
/// Built per call from three references, so calling costs no setup.
pub(super) struct Rt<'a> {
    shared: &'a Shared,
    regexes: &'a [regex::Regex],
    state: &'a RtState,
}

/// What helpers write during a call: kept in the thread's `JitScratch` between calls, so a
/// call neither allocates nor moves buffers once warm. The `RefCell`s are borrowed only
/// inside one helper at a time (helpers do not call back into generated code).
#[derive(Default)]
struct RtState {
    arena: RefCell<Arena>,
    /// Values that must outlive the loop iteration that made them (block `let` memos),
    /// also emptied only when the call ends.
    kept: RefCell<Arena>,
    /// The error of the rule being evaluated, set by the helper that failed.
    pending: RefCell<Option<RuntimeError>>,
    /// `(position in group, error)` for each rule that failed.
    errors: RefCell<Vec<(u32, RuntimeError)>>,
    /// Builtin arguments, gathered contiguously.
    args: RefCell<Vec<Value>>,
    /// The results of the `map`s and `filter`s being computed, innermost last (copies, so
    /// they outlive the iteration that made them); emptied when the call ends, as a rule
    /// that failed inside one leaves its list behind.
    collects: RefCell<Vec<Vec<Value>>>,
    /// The decision's work budget: charged by helpers, and by generated code through the
    /// pointer it is given.
    meter: Meter,
}

/// Working memory reused across decisions.
#[derive(Default)]
pub struct JitScratch {
    state: RtState,
    /// One byte per rule of the group: 0 false, 1 true, 2 error.
    pub(super) results: Vec<u8>,
    /// For the undeclared-tool group only: 1 for each rule whose tool patterns match.
    pub(super) mask: Vec<u8>,
    /// The OR of `results`: 0 when no rule held or failed.
    pub(super) any: u8,
    /// Two words per block `let` of the group (computed?, value), set by generated code.
    memo: Vec<u64>,
}

impl JitScratch {
    /// The error of the rule at position `pos`, if it failed.
    pub(super) fn error_at(&self, pos: usize) -> Option<RuntimeError> {
        self.state.errors.borrow().iter().find(|(p, _)| *p as usize == pos).map(|(_, e)| e.clone())
    }
}

/// `fn(rt, slots, results, mask, work, memo) -> any`: evaluates the group's rules (for a
/// masked group, those whose mask byte is set), charging the work budget at `work`, with
/// its block `let`s' memo slots at `memo`, and returns the OR of the results it wrote.
/// Unsafe to call: the pointers must be as `Code::run` passes them.
pub(super) type GroupFn = unsafe extern "C" fn(*const Rt<'static>, *const Value, *mut u8, *const u8, *mut i64, *mut u64) -> u8;

/// One group's finished machine code; owns the memory the function lives in.
pub(super) struct Code {
    module: Option<JITModule>,
    func: *const u8,
    /// The number of rules of the group: the length of its results (and mask).
    rules: usize,
    /// Compiled to read a mask (the undeclared-tool group).
    masked: bool,
    /// The words of memo its block `let`s need.
    memo_words: usize,
}

// SAFETY: after `finalize_definitions` the module is never touched again except to free
// it in `drop` (which takes `&mut self`, so no other thread can be using it); the code
// pointers are immutable executable memory, callable from any thread, and every helper
// they call is thread-safe (they only touch the per-call `Rt` of the calling thread).
unsafe impl Send for Code {}
// SAFETY: see `Send`: shared access only reads the code pointers.
unsafe impl Sync for Code {}

impl Code {
    /// `func` is a finalized function of `module` with the `GroupFn` signature, compiled
    /// for a group of `rules` rules, reading a mask when `masked`, with `memo_words` words
    /// of block `let` memo.
    pub(super) fn new(module: JITModule, func: *const u8, rules: usize, masked: bool, memo_words: usize) -> Code {
        Code { module: Some(module), func, rules, masked, memo_words }
    }

    /// Runs the group on `slots` (exactly the program's slot count), for every rule or,
    /// when masked, the rules whose `scratch.mask` byte is 1; fills `scratch.results` (0
    /// false, 1 true, 2 error), `scratch.any` and the errors.
    #[inline]
    pub(super) fn run(
        &self,
        shared: &Shared,
        regexes: &[regex::Regex],
        slots: &[Value],
        expected_slots: usize,
        max_work: u64,
        scratch: &mut JitScratch,
    ) -> Result<(), String> {
        let ptr = self.func;
        if slots.len() != expected_slots {
            return Err(fault::internal(format_args!("frame has {} slots, the program {expected_slots}", slots.len())).into_owned());
        }
        let n = self.rules;
        if self.masked && scratch.mask.len() != n {
            return Err(fault::internal(format_args!("mask of {} rules for a group of {n}", scratch.mask.len())).into_owned());
        }
        // Unmasked groups write every position, so reused results need no clearing; a
        // masked group's skipped rules must read 0.
        if scratch.results.len() != n {
            scratch.results.clear();
            scratch.results.resize(n, 0);
        } else if self.masked {
            scratch.results.fill(0);
        }
        scratch.state.errors.get_mut().clear();
        scratch.state.meter.reset(max_work);
        // Each rule clears its own slots before it runs; the area only needs its size.
        if scratch.memo.len() < self.memo_words {
            scratch.memo.resize(self.memo_words, 0);
        }
        let work = scratch.state.meter.as_ptr();
        let rt = Rt { shared, regexes, state: &scratch.state };
        // SAFETY: `ptr` is a finalized function of `self.module` (alive: `self` is borrowed)
        // compiled with exactly the `GroupFn` signature. The generated code reads slot `i`
        // only for `i < expected_slots == slots.len()`, results bytes only below the group's
        // length `n == results.len()`, and mask bytes (below `n == mask.len()`, checked) only
        // when compiled as masked; `work` points to the meter's `Cell<i64>`, which outlives
        // the call and is otherwise only used by helpers, never across one; `memo` to at
        // least `memo_words` words, which the code addresses only below that. `rt` outlives the call; the `'static` in the pointer type
        // is erased at the boundary and helpers never keep a reference past their return.
        let any = unsafe {
            let f: GroupFn = std::mem::transmute::<*const u8, GroupFn>(ptr);
            let rt_ptr = (&rt as *const Rt<'_>).cast::<Rt<'static>>();
            f(rt_ptr, slots.as_ptr(), scratch.results.as_mut_ptr(), scratch.mask.as_ptr(), work, scratch.memo.as_mut_ptr())
        };
        scratch.any = any;
        scratch.state.arena.get_mut().reset();
        scratch.state.collects.get_mut().clear();
        if self.memo_words > 0 {
            // Only block `let`s keep values there.
            scratch.state.kept.get_mut().reset();
        }
        Ok(())
    }
}

impl Drop for Code {
    fn drop(&mut self) {
        self.func = std::ptr::null();
        if let Some(module) = self.module.take() {
            // SAFETY: the code pointer was only reachable through `self.func` (just
            // cleared) and `run`, which borrows `self`; with `&mut self` no call is running.
            unsafe { module.free_memory() };
        }
    }
}

/// Dereferences a pointer made by generated code.
///
/// # Safety
/// `p` is null or points to a `Value` that stays valid and unmodified for `'v`: one of the
/// module doc's list (slots, pool, lists and records reached from those, the arenas), which
/// all live until the call ends, and `'v` ends with the helper that asks.
unsafe fn val<'v>(p: *const Value) -> Option<&'v Value> {
    // SAFETY: null or valid for `'v` (this function's `# Safety`).
    unsafe { p.as_ref() }
}

impl Rt<'_> {
    fn span(&self, at: u32) -> Span {
        self.shared.spans.get(at as usize).copied().unwrap_or_default()
    }

    fn fail(&self, at: u32, fault: Fault) {
        *self.state.pending.borrow_mut() = Some(RuntimeError { span: self.span(at), message: fault.into_owned() });
    }

    fn alloc(&self, v: Value) -> *const Value {
        self.state.arena.borrow_mut().alloc(v)
    }

    /// A helper's result: the value in the arena, or null with the pending error set.
    fn give(&self, at: u32, r: Result<Value, Fault>) -> *const Value {
        match r {
            Ok(v) => self.alloc(v),
            Err(f) => {
                self.fail(at, f);
                std::ptr::null()
            }
        }
    }
}

/// The `Rt` of the running call, from the pointer generated code passes along.
///
/// # Safety
/// `p` is the pointer `Code::run` gave the group function, to an `Rt` that lives for the
/// whole call; `'r` ends with the helper that asks (the `'static` in the pointer's type is
/// erased at the boundary, the `Rt`'s references live as long as the call).
unsafe fn rt<'r>(p: *const Rt<'static>) -> &'r Rt<'r> {
    // SAFETY: `p` points to a live `Rt` for `'r` (this function's `# Safety`).
    unsafe { &*p }
}

fn missing(at: u32) -> Fault {
    fault::missing_operand(at)
}

/// Where generated code finds a number or a boolean inside a `Value` without calling `num`
/// or `boolean`, and a record's fields without calling `field`: `Value` is `repr(u8)`, so
/// its first byte is the variant's tag and each payload sits at a fixed offset. Measured
/// here from real values rather than assumed.
pub(super) struct ScalarLayout {
    pub num_tag: u8,
    pub num_offset: i32,
    pub bool_tag: u8,
    pub bool_offset: i32,
    /// `None` if the measurement was not conclusive (then fields go through `field`).
    pub record: Option<RecordLayout>,
}

/// A `Value::Record(Arc<[Value]>)`: field `i` is at `*(v + ptr_offset) + data_offset +
/// i * size_of::<Value>()`, for `i < *(v + len_offset)`.
pub(super) struct RecordLayout {
    pub tag: u8,
    pub ptr_offset: i32,
    pub len_offset: i32,
    pub data_offset: i64,
}

fn tag(v: &Value) -> u8 {
    // SAFETY: `Value` is `repr(u8)`: its first byte is always the initialized tag.
    unsafe { *(v as *const Value).cast::<u8>() }
}

fn offset<T>(v: &Value, field: &T) -> i32 {
    (field as *const T as usize - v as *const Value as usize) as i32
}

pub(super) fn scalar_layout() -> ScalarLayout {
    let (n, b) = (Value::Num(0.0), Value::Bool(false));
    let num_offset = if let Value::Num(x) = &n { offset(&n, x) } else { 0 };
    let bool_offset = if let Value::Bool(x) = &b { offset(&b, x) } else { 0 };
    ScalarLayout { num_tag: tag(&n), num_offset, bool_tag: tag(&b), bool_offset, record: record_layout() }
}

/// Finds which word of a record's `Arc<[Value]>` is the length and which the pointer (the
/// order inside a slice pointer is not specified) by decoding one of known length.
fn record_layout() -> Option<RecordLayout> {
    const LEN: usize = 3;
    let fields: std::sync::Arc<[Value]> = vec![Value::Absent; LEN].into();
    let data = fields.as_ptr() as usize;
    let r = Value::Record(fields);
    let Value::Record(arc) = &r else { return None };
    let at = offset(&r, arc);
    // SAFETY: an `Arc<[Value]>` is two initialized machine words (pointer and length, in an
    // unspecified order), at `at` inside `r`, which is alive for this whole function.
    let words: [usize; 2] = unsafe { std::ptr::read_unaligned((arc as *const std::sync::Arc<[Value]>).cast::<[usize; 2]>()) };
    let (ptr_word, len_word) = match words {
        [p, LEN] if p != LEN => (0_usize, 1_usize),
        [LEN, p] if p != LEN => (1, 0),
        _ => return None,
    };
    let data_offset = data.checked_sub(words[ptr_word])?;
    let word = std::mem::size_of::<usize>() as i32;
    (data_offset <= 64).then(|| RecordLayout {
        tag: tag(&r),
        ptr_offset: at + word * ptr_word as i32,
        len_offset: at + word * len_word as i32,
        data_offset: data_offset as i64,
    })
}

/// # Safety
/// Called by generated code only, which guarantees: `v` is null or a live value of the call
/// (module doc).
pub(super) unsafe extern "C" fn num(v: *const Value) -> f64 {
    // SAFETY: `v` is null or a live value (this helper's `# Safety`).
    unsafe { val(v) }.and_then(Value::as_num).unwrap_or(f64::NAN)
}

/// # Safety
/// Called by generated code only, which guarantees: `v` is null or a live value of the call
/// (module doc).
pub(super) unsafe extern "C" fn boolean(v: *const Value) -> u8 {
    // SAFETY: `v` is null or a live value (this helper's `# Safety`).
    u8::from(unsafe { val(v) }.and_then(Value::as_bool).unwrap_or(false))
}

/// # Safety
/// Called by generated code only, which guarantees: `v` is null or a live value of the call
/// (module doc).
pub(super) unsafe extern "C" fn is_absent(v: *const Value) -> u8 {
    // SAFETY: `v` is null or a live value (this helper's `# Safety`).
    u8::from(unsafe { val(v) }.is_none_or(Value::is_absent))
}

/// # Safety
/// Called by generated code only, which guarantees: `r` is the `Rt` that `Code::run` passed to
/// the running group function, live for the whole call.
pub(super) unsafe extern "C" fn box_num(r: *const Rt<'static>, n: f64) -> *const Value {
    // SAFETY: `r` is the running call's `Rt` (this helper's `# Safety`).
    unsafe { rt(r) }.alloc(Value::Num(n))
}

/// The arena's mark before a loop, for `arena_release` after each iteration.
///
/// # Safety
/// Called by generated code only, which guarantees: `r` is the `Rt` that `Code::run` passed to
/// the running group function, live for the whole call.
pub(super) unsafe extern "C" fn arena_mark(r: *const Rt<'static>) -> u64 {
    // SAFETY: `r` is the running call's `Rt` (this helper's `# Safety`).
    unsafe { rt(r) }.state.arena.borrow().mark()
}

/// Drops the values an iteration made (those since `mark`): none of them is used after it
/// (an iteration gives a boolean, and block `let` memos are `keep`s). So a loop's memory is
/// one iteration's, not the sum over all of them.
///
/// # Safety
/// Called by generated code only, which guarantees: `r` is the `Rt` that `Code::run` passed to
/// the running group function, live for the whole call, and `mark` an `arena_mark` of this call with no value made since in use after this.
pub(super) unsafe extern "C" fn arena_release(r: *const Rt<'static>, mark: u64) {
    // SAFETY: `r` is the running call's `Rt` (this helper's `# Safety`).
    unsafe { rt(r) }.state.arena.borrow_mut().release(mark);
}

/// A copy of `v` where it stays until the call ends (a block `let`'s memo), or null with
/// the pending error set.
///
/// # Safety
/// Called by generated code only, which guarantees: `r` is the `Rt` that `Code::run` passed to
/// the running group function, live for the whole call, and `v` is null or a live value (module doc).
pub(super) unsafe extern "C" fn keep(r: *const Rt<'static>, v: *const Value) -> *const Value {
    // SAFETY: `r` is the running call's `Rt` (this helper's `# Safety`).
    let rt = unsafe { rt(r) };
    // SAFETY: `v` is null or a live value (this helper's `# Safety`).
    match unsafe { val(v) } {
        Some(x) => rt.state.kept.borrow_mut().alloc(x.clone()),
        None => {
            rt.fail(0, missing(0));
            std::ptr::null()
        }
    }
}

/// Safe, as `round`: it reads no pointer.
pub(super) extern "C" fn fmod(x: f64, y: f64) -> f64 {
    x % y
}

pub(super) extern "C" fn round(x: f64) -> f64 {
    x.round()
}

/// Raises a fault found inline: `kind` is a `FaultKind` code.
///
/// # Safety
/// Called by generated code only, which guarantees: `r` is the `Rt` that `Code::run` passed to
/// the running group function, live for the whole call.
pub(super) unsafe extern "C" fn raise(r: *const Rt<'static>, kind: u32, at: u32) {
    // SAFETY: `r` is the running call's `Rt` (this helper's `# Safety`).
    let rt = unsafe { rt(r) };
    let fault: Fault = match FaultKind::from_u32(kind) {
        Some(FaultKind::DivisionByZero) => fault::division_by_zero(),
        Some(FaultKind::NotFinite) => fault::not_finite(),
        Some(FaultKind::OutOfWork) => rt.state.meter.exhaust(),
        None => fault::no_such("fault kind", kind),
    };
    rt.fail(at, fault);
}

/// Moves the pending error to the group's errors, for the rule at `pos`.
///
/// # Safety
/// Called by generated code only, which guarantees: `r` is the `Rt` that `Code::run` passed to
/// the running group function, live for the whole call.
pub(super) unsafe extern "C" fn rule_failed(r: *const Rt<'static>, pos: u32) {
    // SAFETY: `r` is the running call's `Rt` (this helper's `# Safety`).
    let rt = unsafe { rt(r) };
    let err = rt
        .state
        .pending
        .borrow_mut()
        .take()
        .unwrap_or_else(|| RuntimeError { span: Span::default(), message: fault::machine("rule failed without an error").into_owned() });
    rt.state.errors.borrow_mut().push((pos, err));
}

/// `op` is a `CmpOp` code. 0 / 1, or 2 with the pending error set.
///
/// # Safety
/// Called by generated code only, which guarantees: `r` is the `Rt` that `Code::run` passed to
/// the running group function, live for the whole call, and `a` and `b` are null or live values (module doc).
pub(super) unsafe extern "C" fn compare(r: *const Rt<'static>, op: u32, a: *const Value, b: *const Value, at: u32) -> u8 {
    // SAFETY: `r` is the running call's `Rt` (this helper's `# Safety`).
    let rt = unsafe { rt(r) };
    // SAFETY: `a` and `b` are null or live values (this helper's `# Safety`).
    let (Some(a), Some(b), Some(op)) = (unsafe { val(a) }, unsafe { val(b) }, CmpOp::from_u32(op)) else {
        rt.fail(at, missing(at));
        return 2;
    };
    match compare::compare(op, a, b) {
        Ok(x) => u8::from(x),
        Err(f) => {
            rt.fail(at, f);
            2
        }
    }
}

/// `op` is an `ArithOp` code.
///
/// # Safety
/// Called by generated code only, which guarantees: `r` is the `Rt` that `Code::run` passed to
/// the running group function, live for the whole call, and `a` and `b` are null or live values (module doc).
pub(super) unsafe extern "C" fn arith(r: *const Rt<'static>, op: u32, a: *const Value, b: *const Value, at: u32) -> *const Value {
    // SAFETY: `r` is the running call's `Rt` (this helper's `# Safety`).
    let rt = unsafe { rt(r) };
    // SAFETY: `a` and `b` are null or live values (this helper's `# Safety`).
    let r = match (unsafe { val(a) }, unsafe { val(b) }, ArithOp::from_u32(op)) {
        (Some(a), Some(b), Some(op)) => arith::arith(op, a, b, &rt.state.meter),
        _ => Err(missing(at)),
    };
    rt.give(at, r)
}

/// # Safety
/// Called by generated code only, which guarantees: `r` is the `Rt` that `Code::run` passed to
/// the running group function, live for the whole call, and `v` is null or a live value (module doc).
pub(super) unsafe extern "C" fn field(r: *const Rt<'static>, v: *const Value, i: u32, at: u32) -> *const Value {
    // SAFETY: `r` is the running call's `Rt` (this helper's `# Safety`).
    let rt = unsafe { rt(r) };
    // SAFETY: `v` is null or a live value (this helper's `# Safety`).
    match unsafe { val(v) } {
        // Point into the record instead of copying: records outlive the call.
        Some(Value::Record(fields)) => match fields.get(i as usize) {
            Some(x) => x as *const Value,
            None => rt.give(at, access::field(&Value::Record(fields.clone()), i)),
        },
        Some(other) => rt.give(at, access::field(other, i)),
        None => rt.give(at, Err(missing(at))),
    }
}

/// # Safety
/// Called by generated code only, which guarantees: `r` is the `Rt` that `Code::run` passed to
/// the running group function, live for the whole call, and `a` and `b` are null or live values (module doc).
pub(super) unsafe extern "C" fn index(r: *const Rt<'static>, a: *const Value, b: *const Value, at: u32) -> *const Value {
    // SAFETY: `r` is the running call's `Rt` (this helper's `# Safety`).
    let rt = unsafe { rt(r) };
    // SAFETY: `a` and `b` are null or live values (this helper's `# Safety`).
    let res = match (unsafe { val(a) }, unsafe { val(b) }) {
        (Some(a), Some(b)) => access::index(a, b),
        _ => Err(missing(at)),
    };
    rt.give(at, res)
}

/// The `n` pointers at `items`.
///
/// # Safety
/// `items` is null (when `n` is 0) or the address of `n` initialized value pointers that
/// stay in place and unmodified for `'p`, which ends with the helper that asks: generated
/// code's stack array, or `predicate2`'s local one.
unsafe fn pointers<'p>(items: *const *const Value, n: u32) -> &'p [*const Value] {
    if n == 0 || items.is_null() {
        return &[];
    }
    // SAFETY: `n` initialized pointers at `items`, in place for `'p` (this function's `# Safety`).
    unsafe { std::slice::from_raw_parts(items, n as usize) }
}

/// The `n` pointers at `items`, as values.
///
/// # Safety
/// As `pointers`, and each of the pointers is null or a live value (module doc).
unsafe fn gather(items: *const *const Value, n: u32) -> Option<Vec<Value>> {
    // SAFETY: `items` and `n` are as `pointers` needs (this function's `# Safety`).
    let ptrs = unsafe { pointers(items, n) };
    // SAFETY: each pointer is null or a live value (this function's `# Safety`).
    ptrs.iter().map(|&p| unsafe { val(p) }.cloned()).collect()
}

/// # Safety
/// Called by generated code only, which guarantees: `r` is the `Rt` that `Code::run` passed to
/// the running group function, live for the whole call, and `items` holds `n` value
/// pointers, each null or a live value (as `gather` needs).
pub(super) unsafe extern "C" fn make_list(r: *const Rt<'static>, items: *const *const Value, n: u32, at: u32) -> *const Value {
    // SAFETY: `r` is the running call's `Rt` (this helper's `# Safety`).
    let rt = unsafe { rt(r) };
    // SAFETY: `items` holds `n` pointers to live values or null (this helper's `# Safety`).
    let res = unsafe { gather(items, n) }.map(|v| Value::List(v.into())).ok_or_else(|| missing(at));
    rt.give(at, res)
}

/// # Safety
/// As `make_list`: `r` is the running call's `Rt`, and `items` holds `n` value pointers,
/// each null or a live value.
pub(super) unsafe extern "C" fn call(r: *const Rt<'static>, builtin: u32, items: *const *const Value, n: u32, at: u32) -> *const Value {
    // SAFETY: `r` is the running call's `Rt` (this helper's `# Safety`).
    let rt = unsafe { rt(r) };
    // SAFETY: `items` holds `n` pointers to live values or null (this helper's `# Safety`).
    let res = unsafe { call_builtin(rt, builtin, items, n, at) };
    rt.give(at, res)
}

/// Calls a builtin on the `n` values at `items`, gathered into the reused argument buffer.
///
/// # Safety
/// As `gather`: `items` holds `n` value pointers, each null or a live value.
unsafe fn call_builtin(rt: &Rt<'_>, builtin: u32, items: *const *const Value, n: u32, at: u32) -> Result<Value, Fault> {
    let Some(&b) = rt.shared.builtins.get(builtin as usize) else {
        return Err(fault::no_such("builtin", builtin));
    };
    // SAFETY: `items` and `n` are as `pointers` needs (this function's `# Safety`).
    let ptrs = unsafe { pointers(items, n) };
    let mut args = rt.state.args.borrow_mut();
    args.clear();
    for &p in ptrs {
        // SAFETY: each pointer is null or a live value (this function's `# Safety`).
        args.push(unsafe { val(p) }.ok_or_else(|| missing(at))?.clone());
    }
    let res = builtins::call(b, &args, &rt.state.meter);
    args.clear();
    res
}

/// A boolean builtin of two arguments, borrowing them (no clones, nothing allocated): the
/// table's `JitFast::Predicate` builtins. 0 / 1, or 2 with the pending error set.
///
/// # Safety
/// Called by generated code only, which guarantees: `r` is the `Rt` that `Code::run` passed to
/// the running group function, live for the whole call, and `a` and `b` are null or live values (module doc).
pub(super) unsafe extern "C" fn predicate2(r: *const Rt<'static>, builtin_id: u32, a: *const Value, b: *const Value, at: u32) -> u8 {
    // SAFETY: `r` is the running call's `Rt` (this helper's `# Safety`).
    let rt = unsafe { rt(r) };
    // SAFETY: `a` and `b` are null or live values (this helper's `# Safety`).
    let result = match (rt.shared.builtins.get(builtin_id as usize).and_then(|b| b.spec()), unsafe { val(a) }, unsafe { val(b) }) {
        (Some(spec), Some(a), Some(b)) => match borrowed_test(spec, a, b) {
            // Charged as `spec.call` charges, so the budget is spent the same either way;
            // the status straight from the bool (no `Value`, no `Result` to take apart).
            Some(x) => {
                return match rt.state.meter.charge(spec.cost.units(Some(a), Some(b), None)) {
                    Ok(()) => u8::from(x),
                    Err(f) => {
                        rt.fail(at, f);
                        2
                    }
                }
            }
            None => spec.call(a, Some(b), None, &rt.state.meter),
        },
        // Natives, and missing operands, go the general way, for identical messages.
        // SAFETY: a local array of 2 pointers, each null or a live value (`# Safety`).
        _ => unsafe { call_builtin(rt, builtin_id, [a, b].as_ptr(), 2, at) },
    };
    predicate_status(rt, at, result)
}

/// `predicate2`'s test computed in place on operands of the shapes it takes (`None` for
/// any other, which `spec.call` words): the generic call through the table's `imp` builds
/// a `Value` and a `Result` and is several times slower on the rules' common `x in [...]`.
#[inline]
fn borrowed_test(spec: &BuiltinSpec, a: &Value, b: &Value) -> Option<bool> {
    match (spec.jit, a, b) {
        (Some(JitFast::Predicate(Pred::Str(test))), Value::Str(s), Value::Str(x)) => Some(test.holds(s, x)),
        (Some(JitFast::Predicate(Pred::ListContains)), Value::List(items), x) => Some(items.contains(x)),
        _ => None,
    }
}

/// `s == needle`, `s.starts_with(needle)` or `s.ends_with(needle)` (`op`: a `StrTest` code;
/// `needle in s` is `str_find`), for a
/// constant `needle` whose bytes (`len` of them, valid UTF-8) the constant pool keeps in
/// place: the bytes compared directly, without dispatch on the builtin or the constant's
/// shape. 0 / 1, or 2 with the pending error set. A subject that is not a string goes the
/// interpreter's way, for identical results and messages.
///
/// # Safety
/// Called by generated code only, which guarantees: `r` is the `Rt` that `Code::run` passed to
/// the running group function, live for the whole call, `s` is null or a live value (module doc), and `needle` the address of `len`
/// bytes of a constant string, owned by the pool of the group's code, which outlives every call.
pub(super) unsafe extern "C" fn str_test(r: *const Rt<'static>, op: u32, s: *const Value, needle: *const u8, len: usize, at: u32) -> u8 {
    // SAFETY: `len` bytes at `needle` that outlive the call (this helper's `# Safety`).
    let needle = if len == 0 || needle.is_null() { &[][..] } else { unsafe { std::slice::from_raw_parts(needle, len) } };
    // SAFETY: `s` is null or a live value (this helper's `# Safety`).
    match unsafe { val(s) } {
        Some(Value::Str(text)) => {
            let s = text.as_bytes();
            // The codes as constants, so the match is plain integer compares.
            const EQ: u32 = StrTest::Eq as u32;
            const STARTS: u32 = StrTest::Starts as u32;
            const ENDS: u32 = StrTest::Ends as u32;
            let part = match op {
                EQ => Some(s),
                STARTS => s.get(..needle.len()),
                ENDS => s.len().checked_sub(needle.len()).and_then(|from| s.get(from..)),
                // `Contains` is `str_find`'s; the slow path words the fault for a bad code.
                // SAFETY: `r` is the running call's `Rt` (this helper's `# Safety`).
                _ => return str_test_slow(unsafe { rt(r) }, op, Some(&Value::Str(text.clone())), needle, at),
            };
            u8::from(part.is_some_and(|part| same_bytes(part, needle)))
        }
        // SAFETY: `r` is the running call's `Rt` (this helper's `# Safety`).
        other => str_test_slow(unsafe { rt(r) }, op, other, needle, at),
    }
}

/// `a == b` without a call to `memcmp` for the short strings rules compare most (codes,
/// countries, prefixes): up to 16 bytes, two overlapping loads from each side.
#[inline]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    fn ends<const N: usize>(s: &[u8]) -> (Option<&[u8; N]>, Option<&[u8; N]>) {
        (s.first_chunk::<N>(), s.last_chunk::<N>())
    }
    match a.len() {
        n if n != b.len() => false,
        0 => true,
        // The first, middle and last bytes cover every byte of 1 to 3.
        n @ 1..=3 => a.first() == b.first() && a.get(n / 2) == b.get(n / 2) && a.last() == b.last(),
        4..=7 => ends::<4>(a) == ends::<4>(b),
        8..=16 => ends::<8>(a) == ends::<8>(b),
        _ => a == b,
    }
}

/// `needle in s` for a constant needle, with the searcher `Shared::finders[finder]` built
/// at compile time: 0 / 1, or 2 with the pending error set.
///
/// # Safety
/// Called by generated code only, which guarantees: `r` is the `Rt` that `Code::run` passed to
/// the running group function, live for the whole call, and `s` is null or a live value (module doc).
pub(super) unsafe extern "C" fn str_find(r: *const Rt<'static>, s: *const Value, finder: u32, at: u32) -> u8 {
    // SAFETY: `r` is the running call's `Rt` (this helper's `# Safety`).
    let rt = unsafe { rt(r) };
    let Some(finder) = rt.shared.finders.get(finder as usize) else {
        rt.fail(at, fault::no_such("searcher", finder));
        return 2;
    };
    // SAFETY: `s` is null or a live value (this helper's `# Safety`).
    match unsafe { val(s) } {
        Some(Value::Str(s)) => match rt.state.meter.charge(s.len() as u64) {
            Ok(()) => u8::from(contains(s.as_bytes(), finder)),
            Err(f) => {
                rt.fail(at, f);
                2
            }
        },
        other => str_test_slow(rt, StrTest::Contains as u32, other, finder.needle(), at),
    }
}

/// Whether `hay` contains the finder's needle. Short texts (a memo, a name) are scanned
/// for the needle's first byte and each candidate compared: for them that beats the
/// searcher's own set-up, which pays off on long texts.
#[inline]
fn contains(hay: &[u8], finder: &memchr::memmem::Finder<'_>) -> bool {
    const SHORT: usize = 64;
    let needle = finder.needle();
    match needle.first() {
        Some(&first) if hay.len() < SHORT => memchr::memchr_iter(first, hay).any(|at| hay.get(at..at + needle.len()).is_some_and(|w| same_bytes(w, needle))),
        _ => finder.find(hay).is_some(),
    }
}

#[cold]
fn str_test_slow(rt: &Rt<'_>, op: u32, s: Option<&Value>, needle: &[u8], at: u32) -> u8 {
    let (Some(s), Ok(needle)) = (s, std::str::from_utf8(needle)) else {
        rt.fail(at, missing(at));
        return 2;
    };
    let needle = Value::str(needle);
    let test = StrTest::from_u32(op);
    if test == Some(StrTest::Eq) {
        return u8::from(*s == needle);
    }
    let Some(builtin) = test.and_then(StrTest::builtin) else {
        rt.fail(at, fault::no_such("string test", op));
        return 2;
    };
    predicate_status(rt, at, builtins::call(builtin, &[s.clone(), needle], &rt.state.meter))
}

/// A predicate's result as a status: 0 / 1, or 2 with the pending error set.
fn predicate_status(rt: &Rt<'_>, at: u32, result: Result<Value, Fault>) -> u8 {
    match result {
        Ok(Value::Bool(x)) => u8::from(x),
        Ok(other) => {
            rt.fail(at, fault::predicate_gave(&other));
            2
        }
        Err(f) => {
            rt.fail(at, f);
            2
        }
    }
}

/// A regex's subject, with its bytes charged to the work budget (as the interpreter does).
fn subject<'v>(rt: &Rt<'_>, re: u32, s: Option<&'v Value>, at: u32) -> Option<(&'v str, usize)> {
    let result = match s {
        Some(v @ Value::Str(_)) if (re as usize) < rt.regexes.len() => regex_ops::subject(v, &rt.state.meter).map(|text| (text, re as usize)),
        Some(Value::Str(_)) => Err(fault::no_such("regex", re)),
        Some(other) => Err(fault::cannot_match(other)),
        None => Err(missing(at)),
    };
    match result {
        Ok(found) => Some(found),
        Err(f) => {
            rt.fail(at, f);
            None
        }
    }
}

/// 0 / 1, or 2 with the pending error set.
///
/// # Safety
/// Called by generated code only, which guarantees: `r` is the `Rt` that `Code::run` passed to
/// the running group function, live for the whole call, and `s` is null or a live value (module doc).
pub(super) unsafe extern "C" fn regex_match(r: *const Rt<'static>, re: u32, s: *const Value, at: u32) -> u8 {
    // SAFETY: `r` is the running call's `Rt` (this helper's `# Safety`).
    let rt = unsafe { rt(r) };
    // SAFETY: `s` is null or a live value (this helper's `# Safety`).
    match subject(rt, re, unsafe { val(s) }, at) {
        Some((text, i)) => u8::from(rt.regexes.get(i).is_some_and(|re| re.is_match(text))),
        None => 2,
    }
}

/// # Safety
/// Called by generated code only, which guarantees: `r` is the `Rt` that `Code::run` passed to
/// the running group function, live for the whole call, and `s` is null or a live value (module doc).
pub(super) unsafe extern "C" fn regex_find_all(r: *const Rt<'static>, re: u32, s: *const Value, at: u32) -> *const Value {
    // SAFETY: `r` is the running call's `Rt` (this helper's `# Safety`).
    let rt = unsafe { rt(r) };
    // SAFETY: `s` is null or a live value (this helper's `# Safety`).
    match subject(rt, re, unsafe { val(s) }, at) {
        Some((text, i)) => {
            let found = rt.regexes.get(i).map_or_else(|| Value::List(Vec::new().into()), |re| regex_ops::find_all(re, text));
            rt.alloc(found)
        }
        None => std::ptr::null(),
    }
}

/// Whether `item` is in the program's hashed string set `set` (`ExprKind::InSet`), with the
/// interpreter's charge (`ops::set`). 0 / 1, or 2 with the pending error set.
///
/// # Safety
/// Called by generated code only, which guarantees: `r` is the `Rt` that `Code::run` passed to
/// the running group function, live for the whole call, and `item` is null or a live value (module doc).
pub(super) unsafe extern "C" fn in_set(r: *const Rt<'static>, set: u32, item: *const Value, at: u32) -> u8 {
    // SAFETY: `r` is the running call's `Rt` (this helper's `# Safety`).
    let rt = unsafe { rt(r) };
    // SAFETY: `item` is null or a live value (this helper's `# Safety`).
    let result = match (rt.shared.sets.get(set as usize), unsafe { val(item) }) {
        (Some(hashed), Some(item)) => hashed.contains(item, &rt.state.meter).map(Value::Bool),
        (None, _) => Err(fault::no_such("set", set)),
        (Some(_), None) => Err(missing(at)),
    };
    predicate_status(rt, at, result)
}

/// The number of elements of a list (absent: 0), or -1 with the pending error set.
///
/// # Safety
/// Called by generated code only, which guarantees: `r` is the `Rt` that `Code::run` passed to
/// the running group function, live for the whole call, and `v` is null or a live value (module doc).
pub(super) unsafe extern "C" fn list_len(r: *const Rt<'static>, v: *const Value, at: u32) -> i64 {
    // SAFETY: `v` is null or a live value (this helper's `# Safety`).
    match unsafe { val(v) }.map(access::items) {
        Some(Ok(items)) => items.len() as i64,
        Some(Err(f)) => {
            // SAFETY: `r` is the running call's `Rt` (this helper's `# Safety`).
            unsafe { rt(r) }.fail(at, f);
            -1
        }
        None => {
            // SAFETY: `r` is the running call's `Rt` (this helper's `# Safety`).
            unsafe { rt(r) }.fail(at, missing(at));
            -1
        }
    }
}

/// Starts an empty list of results for a `map` or `filter`.
///
/// # Safety
/// Called by generated code only, which guarantees: `r` is the `Rt` that `Code::run` passed to
/// the running group function, live for the whole call.
pub(super) unsafe extern "C" fn collect_begin(r: *const Rt<'static>) {
    // SAFETY: `r` is the running call's `Rt` (this helper's `# Safety`).
    unsafe { rt(r) }.state.collects.borrow_mut().push(Vec::new());
}

/// Adds a copy of `v` to the innermost list of results: 1, or 2 with the pending error set.
///
/// # Safety
/// Called by generated code only, which guarantees: `r` is the `Rt` that `Code::run` passed to
/// the running group function, live for the whole call, and `v` is null or a live value (module doc).
pub(super) unsafe extern "C" fn collect_push(r: *const Rt<'static>, v: *const Value, at: u32) -> u8 {
    // SAFETY: `r` is the running call's `Rt` (this helper's `# Safety`).
    let rt = unsafe { rt(r) };
    // SAFETY: `v` is null or a live value (this helper's `# Safety`).
    let pushed = match (unsafe { val(v) }, rt.state.collects.borrow_mut().last_mut()) {
        (Some(x), Some(list)) => {
            list.push(x.clone());
            Ok(())
        }
        (None, _) => Err(missing(at)),
        (_, None) => Err(fault::machine("no list of results")),
    };
    match pushed {
        Ok(()) => 1,
        Err(f) => {
            rt.fail(at, f);
            2
        }
    }
}

/// The innermost list of results, as a list value (dropping it), or null with the pending
/// error set.
///
/// # Safety
/// Called by generated code only, which guarantees: `r` is the `Rt` that `Code::run` passed to
/// the running group function, live for the whole call.
pub(super) unsafe extern "C" fn collect_end(r: *const Rt<'static>, at: u32) -> *const Value {
    // SAFETY: `r` is the running call's `Rt` (this helper's `# Safety`).
    let rt = unsafe { rt(r) };
    let items = rt.state.collects.borrow_mut().pop();
    rt.give(at, items.map(|items| Value::List(items.into())).ok_or_else(|| fault::machine("no list of results")))
}

/// Element `i` of a list (the caller checked `i < list_len`).
///
/// # Safety
/// Called by generated code only, which guarantees: `v` is null or a live value of the call
/// (module doc).
pub(super) unsafe extern "C" fn list_item(v: *const Value, i: i64) -> *const Value {
    // SAFETY: `v` is null or a live value (this helper's `# Safety`).
    match unsafe { val(v) } {
        Some(Value::List(items)) => usize::try_from(i).ok().and_then(|i| items.get(i)).map_or(std::ptr::null(), |x| x as *const Value),
        _ => std::ptr::null(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The layout generated code relies on reads the same fields as Rust does.
    #[test]
    fn measured_record_layout_finds_each_field() {
        let rec = scalar_layout().record.expect("a record layout on this host");
        let fields: std::sync::Arc<[Value]> = vec![Value::Num(1.0), Value::Bool(true)].into();
        let v = Value::Record(fields.clone());
        let base = (&v as *const Value).cast::<u8>();
        // SAFETY: the offsets were measured on a `Value::Record`, and `v` is one.
        let (data, len) = unsafe {
            (
                std::ptr::read_unaligned(base.add(rec.ptr_offset as usize).cast::<usize>()),
                std::ptr::read_unaligned(base.add(rec.len_offset as usize).cast::<usize>()),
            )
        };
        assert_eq!(tag(&v), rec.tag);
        assert_eq!(len, 2);
        let second = data + rec.data_offset as usize + std::mem::size_of::<Value>();
        assert_eq!(second, &fields[1] as *const Value as usize);
    }

    proptest::proptest! {
        /// The short-text scan and the searcher agree with a naive search, on texts on
        /// both sides of the short-text limit, over a small alphabet so needles occur.
        #[test]
        fn contains_agrees_with_a_naive_search(hay in proptest::collection::vec(b'a'..b'd', 0..90), needle in proptest::collection::vec(b'a'..b'd', 0..5)) {
            let naive = needle.is_empty() || hay.windows(needle.len()).any(|w| w == &needle[..]);
            proptest::prop_assert_eq!(contains(&hay, &memchr::memmem::Finder::new(&needle)), naive);
        }
    }

    /// The word-load comparison sees every byte: for each length it special-cases (and
    /// beyond), equal slices are equal, and a change at any one position, or one byte
    /// less, is not.
    #[test]
    fn same_bytes_sees_every_byte() {
        for len in 0..=20usize {
            let a: Vec<u8> = (0..len as u8).map(|i| i.wrapping_mul(37)).collect();
            assert!(same_bytes(&a, &a.clone()), "length {len}");
            assert!(!same_bytes(&a, &a[..len.saturating_sub(1)]) || len == 0, "length {len} against one less");
            for at in 0..len {
                let mut b = a.clone();
                b[at] ^= 0x40;
                assert!(!same_bytes(&a, &b), "length {len}, byte {at} changed");
            }
        }
    }
}
