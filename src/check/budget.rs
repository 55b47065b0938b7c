//! The checker's side of the limits. In: `Limits`, and each expression as it is checked,
//! each `let` value before it is copied in, each finished rule. Out: diagnostics (E0503,
//! E0504) when an expression nests too deeply or grows too large once its `let`s and
//! functions are expanded. Measuring is iterative, so no tree is too deep to measure.

use crate::diagnostics::{self as diag, Diagnostic};
use crate::ir::{self, ExprKind};
use crate::limits::Limits;
use crate::span::Span;

/// Nesting and work of the item (rule) being checked.
pub(super) struct Budget {
    pub limits: Limits,
    /// Recursion depth of the checker right now (through `let`s and functions too).
    nesting: usize,
    /// Nodes built or copied for the current item.
    work: usize,
    /// One diagnostic per item is enough; the rest would repeat it.
    reported: bool,
}

impl Budget {
    pub fn new(limits: Limits) -> Budget {
        Budget { limits, nesting: 0, work: 0, reported: false }
    }

    /// A new rule starts: its work is counted afresh.
    pub fn start_item(&mut self) {
        self.work = 0;
        self.reported = false;
    }

    /// Entering an expression; `Some` (report it, once) when a limit is exceeded, in which
    /// case the expression is not entered (and `leave` not called).
    pub fn enter(&mut self, span: Span) -> Option<Option<Diagnostic>> {
        self.work += 1;
        let d = if self.nesting >= self.limits.max_compiled_depth {
            diag::expands_too_deeply(span, self.limits.max_compiled_depth)
        } else if self.work > self.limits.max_compiled_nodes {
            diag::expands_too_large(span, self.limits.max_compiled_nodes)
        } else {
            self.nesting += 1;
            return None;
        };
        Some(self.once(d))
    }

    /// Entering a declared type's definition; false (not entered) beyond the nesting limit.
    pub fn enter_type(&mut self) -> bool {
        if self.nesting >= self.limits.max_compiled_depth {
            return false;
        }
        self.nesting += 1;
        true
    }

    pub fn leave(&mut self) {
        self.nesting = self.nesting.saturating_sub(1);
    }

    /// A `let` value `x` is about to be copied in at the current nesting.
    pub fn inline(&mut self, x: &ir::Expr, span: Span) -> Option<Option<Diagnostic>> {
        let room = self.limits.max_compiled_nodes.saturating_sub(self.work);
        let size = measure(x, room);
        self.work += size.nodes;
        let d = if self.nesting + size.depth > self.limits.max_compiled_depth {
            diag::expands_too_deeply(span, self.limits.max_compiled_depth)
        } else if size.nodes > room {
            diag::expands_too_large(span, self.limits.max_compiled_nodes)
        } else {
            return None;
        };
        Some(self.once(d))
    }

    fn once(&mut self, d: Diagnostic) -> Option<Diagnostic> {
        (!std::mem::replace(&mut self.reported, true)).then_some(d)
    }
}

/// Node count (capped just past the limit) and depth of a tree with function calls expanded.
pub(super) struct Size {
    pub nodes: usize,
    pub depth: usize,
}

/// Measures `e` as `ir::passes::inline_calls` will expand it (a call becomes one `Let` per
/// argument around the body), stopping once past `max_nodes`.
pub(super) fn measure(e: &ir::Expr, max_nodes: usize) -> Size {
    let mut stack: Vec<(&ir::Expr, usize)> = vec![(e, 1)];
    let mut size = Size { nodes: 0, depth: 0 };
    while let Some((x, depth)) = stack.pop() {
        size.nodes += 1;
        size.depth = size.depth.max(depth);
        if size.nodes > max_nodes {
            break;
        }
        match &x.kind {
            ExprKind::FnCall { body, args, .. } => {
                let inner = depth + args.len();
                stack.extend(args.iter().map(|a| (a, inner)));
                stack.push((body, inner));
            }
            _ => stack.extend(ir::passes::children(x).map(|c| (c, depth + 1))),
        }
    }
    size
}

/// The diagnostics for a checked rule whose expressions, expanded, exceed the limits.
pub(super) fn check_expanded(rule: &ir::Rule, limits: &Limits) -> Option<Diagnostic> {
    let mut roots: Vec<&ir::Expr> = rule.lets.iter().chain(&rule.condition).collect();
    if let Some(v) = rule.effect.set_value() {
        roots.push(v);
    }
    roots.extend(rule.reason.iter().filter_map(|p| if let ir::ReasonPart::Expr(e) = p { Some(e) } else { None }));
    let mut room = limits.max_compiled_nodes;
    for root in roots {
        let size = measure(root, room);
        if size.depth > limits.max_compiled_depth {
            return Some(diag::expands_too_deeply(root.span, limits.max_compiled_depth));
        }
        if size.nodes > room {
            return Some(diag::expands_too_large(root.span, limits.max_compiled_nodes));
        }
        room -= size.nodes;
    }
    None
}
