//! IR passes, run in this order by `run_all`: inlining of function calls, constant folding,
//! input-path slot assignment, rule grouping by tool.
