//! Constructor functions, one per kind of diagnostic, each with a stable code.
//! Codes: E00xx syntax, E01xx names and declarations, E02xx types, E03xx rules and tests,
//! E04xx files and policy sets, E05xx limits, E06xx reference data. W0xxx are warnings.

use super::Diagnostic;
use crate::span::Span;

/// `a`, `b` and `c` -> "`a`, `b` or `c`".
pub fn one_of(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.len() {
        0 => String::new(),
        1 => quoted[0].clone(),
        n => format!("{} or {}", quoted[..n - 1].join(", "), quoted[n - 1]),
    }
}

/// The closest candidate to `name` by edit distance, if it is close enough to be a typo.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(name, c), c))
        .filter(|(d, c)| *d > 0 && *d <= (name.len().max(c.len()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

// ---- E00xx syntax -------------------------------------------------------------------

/// Already formatted phrases ("`)`", "an expression") -> "`)` or an expression".
fn phrases_or(items: &[String]) -> String {
    match items.len() {
        0 => String::new(),
        1 => items[0].clone(),
        n => format!("{} or {}", items[..n - 1].join(", "), items[n - 1]),
    }
}

pub fn invalid_token(span: Span, text: &str) -> Diagnostic {
    Diagnostic::error("E0001", format!("unexpected character `{text}`"), span, "not part of the language")
        .with_help("remove it, or put text inside double quotes")
}

/// `found` is a described token ("keyword `when`", "`}`"); `expected` are phrases from
/// `syntax::describe_expected` (already backticked where they are tokens).
pub fn unexpected_token(span: Span, found: &str, expected: &[String]) -> Diagnostic {
    let d = Diagnostic::error("E0002", format!("unexpected {found}"), span, "unexpected here");
    if expected.is_empty() {
        d
    } else {
        d.with_help(format!("expected {}", phrases_or(expected)))
    }
}

/// `unexpected_token` after a tool declaration's name (no argument list): the help adds how
/// to declare a tool whose arguments are not described.
pub fn tool_without_parameters(d: Diagnostic) -> Diagnostic {
    let help = d.help.clone().unwrap_or_default();
    d.with_help(format!(
        "{help}: a tool declaration lists its arguments, `tool NAME(a: T, ...)`; declare one whose arguments are not described as `tool NAME(...)`"
    ))
}

pub fn unexpected_eof(span: Span, expected: &[String]) -> Diagnostic {
    let d = Diagnostic::error("E0003", "unexpected end of file", span, "the file ends here");
    if expected.is_empty() {
        d
    } else {
        d.with_help(format!("expected {}", phrases_or(expected)))
    }
}

/// `span` covers the opening quote.
pub fn unterminated_string(span: Span) -> Diagnostic {
    Diagnostic::error("E0004", "unterminated string", span, "this string is never closed").with_help("add a closing `\"` on the same line")
}

/// `span` covers the opening `/*`.
pub fn unterminated_comment(span: Span) -> Diagnostic {
    Diagnostic::error("E0005", "unterminated block comment", span, "this comment is never closed").with_help("close it with `*/`")
}

pub fn bad_unicode_escape(span: Span) -> Diagnostic {
    Diagnostic::error("E0006", "invalid unicode escape in string", span, "contains a bad `\\u{...}` escape")
        .with_help("write `\\u{` followed by 1 to 6 hex digits of a valid character and `}`")
}

pub fn unknown_generic_type(span: Span, name: &str) -> Diagnostic {
    Diagnostic::error("E0007", format!("unknown generic type `{name}`"), span, "not a generic type")
        .with_help("only `list<T>` and `map<T>` take a type argument")
}

pub fn unknown_request_source(span: Span, name: &str) -> Diagnostic {
    Diagnostic::error("E0008", format!("unknown request source `{name}`"), span, "expected `file`")
        .with_help("write `request file(\"x.json\")`, `request FIXTURE` or `request { ... }`")
}

/// A `{` in a `because` template without its `}`; `span` covers the `{`.
pub fn unclosed_template_hole(span: Span) -> Diagnostic {
    Diagnostic::error("E0009", "unclosed `{` in template", span, "this hole is never closed")
        .with_help("close the hole with `}`, or write `{{` for a literal brace")
}

/// `{}` in a `because` template; `span` covers the braces.
pub fn empty_template_hole(span: Span) -> Diagnostic {
    Diagnostic::error("E0010", "empty `{}` in template", span, "no expression here")
        .with_help("put an expression inside the braces, or write `{{}}` for literal braces")
}

/// Digits run into letters, e.g. `5min` or `10k`.
pub fn bad_number(span: Span, text: &str) -> Diagnostic {
    Diagnostic::error("E0011", format!("invalid number `{text}`"), span, "not a number or a duration")
        .with_help("durations end in `s`, `m`, `h` or `d` (`30s`, `15m`, `24h`, `7d`); put a space between a number and a name")
}

pub fn number_out_of_range(span: Span, text: &str) -> Diagnostic {
    Diagnostic::error("E0012", format!("number `{text}` is out of range"), span, "beyond the largest number, about 1.8e308")
        .with_help("numbers are doubles (as in JSON); write a number below 1.8e308")
}

/// `expect NAME` where NAME is no decision (`expect approve`); `span` covers the name.
pub fn unknown_expected_decision(span: Span, name: &str) -> Diagnostic {
    Diagnostic::error("E0014", format!("unknown decision `{name}`"), span, "not a decision")
        .with_help("write `expect allow`, `expect deny` or `expect require approval` (its JSON name `require_approval` is read the same)")
}

/// `amount: number | string`: `|` between types other than string literals. `span` covers
/// the union; `number_or_string` when its types are `number` and `string`, for which
/// `lenient number` is what the author wants.
pub fn union_type(span: Span, number_or_string: bool) -> Diagnostic {
    let d = Diagnostic::error("E0015", "a type cannot be a union of types", span, "a union of types");
    if number_or_string {
        d.with_help("to accept a number that may arrive as a string such as `\"10.0\"`, write `lenient number`")
    } else {
        d.with_help(
            "pick one type; for a choice of strings write an enum (`\"low\" | \"high\"`), for a value that may be missing an optional field (`name?: T`)",
        )
    }
}

/// `amount: loose number`: a name before a type's name that is not `lenient`.
pub fn unknown_type_modifier(span: Span, name: &str) -> Diagnostic {
    Diagnostic::error("E0016", format!("unknown type modifier `{name}`"), span, "not a type modifier")
        .with_help("the one type modifier is `lenient`, as in `amount: lenient number`")
}

/// `&&`, `||` or `!` (C, JavaScript, Rust); `span` covers the operator.
pub fn foreign_operator(span: Span, text: &str) -> Diagnostic {
    let word = match text {
        "&&" => "and",
        "||" => "or",
        _ => "not",
    };
    Diagnostic::error("E0018", format!("`{text}` is not an operator here"), span, format!("means `{word}`")).with_help(format!("write `{word}`"))
}

/// `'text'`; `span` covers both quotes.
pub fn single_quoted_string(span: Span) -> Diagnostic {
    Diagnostic::error("E0017", "strings use double quotes", span, "single quotes").with_help("write \"...\" with double quotes")
}

// ---- E01xx names and declarations ---------------------------------------------------

fn with_suggestion(d: Diagnostic, suggestion: Option<&str>, fallback: Option<String>) -> Diagnostic {
    match (suggestion, fallback) {
        (Some(s), _) => d.with_help(format!("did you mean `{s}`?")),
        (None, Some(f)) => d.with_help(f),
        (None, None) => d,
    }
}

pub fn unknown_name(span: Span, name: &str, suggestion: Option<&str>, help: Option<String>) -> Diagnostic {
    let d = Diagnostic::error("E0101", format!("unknown name `{name}`"), span, "not defined here");
    with_suggestion(d, suggestion, help)
}

pub fn argument_outside_scope(span: Span, name: &str, tools: &[String]) -> Diagnostic {
    Diagnostic::error("E0102", format!("`{name}` is a tool argument, but this rule is not scoped to a tool"), span, "not in scope here").with_help(format!(
        "`{name}` is an argument of {}; scope the rule with `on {}` or put it inside `on {} {{ ... }}`",
        one_of(tools),
        tools[0],
        tools[0]
    ))
}

pub fn duplicate_definition(span: Span, name: &str, what: &str, previous: Span) -> Diagnostic {
    Diagnostic::error("E0103", format!("`{name}` is defined more than once"), span, format!("this {what} reuses the name"))
        .with_label(previous, "first defined here")
        .with_help("rename one of them: all top-level names (rules, lets, functions, types, fixtures) share one namespace")
}

pub fn unknown_field(span: Span, field: &str, ty: &str, suggestion: Option<&str>, fields: &[String]) -> Diagnostic {
    let d = Diagnostic::error("E0104", format!("`{ty}` has no field `{field}`"), span, "unknown field");
    let list = if fields.is_empty() { "it has no fields".to_string() } else { format!("its fields are {}", one_of(fields)) };
    match suggestion {
        Some(s) => d.with_help(format!("did you mean `{s}`? {list}")),
        None => d.with_help(list),
    }
}

pub fn unknown_type(span: Span, name: &str, suggestion: Option<&str>) -> Diagnostic {
    let d = Diagnostic::error("E0105", format!("unknown type `{name}`"), span, "not a type");
    with_suggestion(d, suggestion, Some("use `bool`, `number`, `string`, `duration`, `timestamp`, `list<T>`, `map<T>`, a record `{ ... }`, an enum `\"a\" | \"b\"` or a name declared with `type`".into()))
}

pub fn recursive_type(span: Span, name: &str) -> Diagnostic {
    Diagnostic::error("E0106", format!("type `{name}` refers to itself"), span, "recursive reference")
        .with_help("types cannot be recursive: requests are finite JSON documents; flatten the type")
}

pub fn call_cycle(span: Span, cycle: &[String], first: Span) -> Diagnostic {
    Diagnostic::error("E0107", format!("functions cannot call themselves: {}", cycle.join(" -> ")), span, "this call closes the cycle")
        .with_label(first, format!("`{}` is defined here", cycle[0]))
        .with_help("rewrite the functions without recursion: evaluation must always terminate")
}

pub fn let_cycle(span: Span, name: &str) -> Diagnostic {
    Diagnostic::error("E0108", format!("`{name}` is defined in terms of itself"), span, "this reference closes the cycle")
        .with_help("a `let` cannot use its own value, directly or through other lets")
}

pub fn unknown_function(span: Span, name: &str, suggestion: Option<&str>) -> Diagnostic {
    let d = Diagnostic::error("E0109", format!("unknown function `{name}`"), span, "not defined");
    with_suggestion(d, suggestion, Some("define it with `fn NAME(p: T) -> T = ...`".into()))
}

pub fn unknown_method(span: Span, method: &str, ty: &str, suggestion: Option<&str>, methods: &[String]) -> Diagnostic {
    let d = Diagnostic::error("E0110", format!("`{ty}` has no method `{method}`"), span, "unknown method");
    match suggestion {
        Some(s) => d.with_help(format!("did you mean `{s}`?")),
        None if methods.is_empty() => d.with_help(format!("values of type `{ty}` have no methods")),
        None => d.with_help(format!("methods of `{ty}`: {}", one_of(methods))),
    }
}

pub fn no_policy_header(span: Span) -> Diagnostic {
    Diagnostic::error("E0111", "the policy set has no `policy` header", span, "no header in this file")
        .with_help("add `policy NAME`, `version \"1\"` and `default allow` (or `default deny`) at the top of one file")
}

pub fn duplicate_header(span: Span, what: &str, previous: Span) -> Diagnostic {
    Diagnostic::error("E0112", format!("`{what}` is given more than once"), span, "second one here")
        .with_label(previous, "first one here")
        .with_help(format!("a policy set has exactly one `{what}`: keep one"))
}

/// An exact tool name in `on` that no `tool` declaration has: an error, as the rule would
/// never apply to the tool meant (a typo) or could read nothing of it.
pub fn unknown_tool(span: Span, name: &str, suggestion: Option<&str>) -> Diagnostic {
    let d = Diagnostic::error("E0121", format!("no tool named `{name}` is declared"), span, "matches no `tool` declaration");
    match suggestion {
        Some(s) => d.with_help(format!("did you mean `{s}`? to scope a rule to a tool you do not describe, declare it open: `tool {name}(...)`")),
        None => d.with_help(format!("declare the tool with its parameters, or open and undescribed: `tool {name}(...)`")),
    }
}

/// A glob in `on` that matches no declared tool: its rules still apply to undeclared tools
/// of that prefix, reading only `tool` and the envelope.
pub fn glob_matches_no_tool(span: Span, glob: &str, suggestion: Option<&str>) -> Diagnostic {
    let d = Diagnostic::warning("W0101", format!("no declared tool matches `{glob}`"), span, "matches no `tool` declaration");
    let example = format!("{}NAME", glob.trim_end_matches('*'));
    with_suggestion(
        d,
        suggestion,
        Some(format!(
            "its rules apply to undeclared tools and can read only `tool` and envelope fields; to read arguments, declare the tool: `tool {example}(...)`"
        )),
    )
}

pub fn argument_clashes_with_envelope(span: Span, name: &str) -> Diagnostic {
    Diagnostic::warning("W0102", format!("argument `{name}` has the name of a request field"), span, "clashes with the request's own field")
        .with_help(format!("inside `on` scopes the bare name `{name}` means the request field; write `args.{name}` for the argument"))
}

pub fn unknown_namespace(span: Span, name: &str, suggestion: Option<&str>, available: &[String]) -> Diagnostic {
    let d = Diagnostic::error("E0113", format!("the standard library has no `std.{name}`"), span, "unknown module");
    with_suggestion(d, suggestion, Some(format!("available: {}", one_of(available))))
}

pub fn namespace_not_value(span: Span, path: &str) -> Diagnostic {
    Diagnostic::error("E0114", format!("`{path}` is a module, not a value"), span, "a module")
        .with_help(format!("call one of its functions: `{path}.NAME(...)`"))
}

pub fn builtin_outside_stdlib(span: Span) -> Diagnostic {
    Diagnostic::error("E0115", "`builtin fn` is only allowed in the standard library", span, "no Rust implementation")
        .with_help("define the function with a body: `fn NAME(p: T) -> T = EXPR`")
}

pub fn unknown_rule(span: Span, name: &str, suggestion: Option<&str>) -> Diagnostic {
    let d = Diagnostic::error("E0116", format!("no rule named `{name}`"), span, "unknown rule");
    with_suggestion(d, suggestion, None)
}

pub fn unknown_fixture(span: Span, name: &str, suggestion: Option<&str>) -> Diagnostic {
    let d = Diagnostic::error("E0117", format!("no fixture named `{name}`"), span, "unknown fixture");
    with_suggestion(d, suggestion, Some(format!("declare it with `fixture {name} = {{ ... }}`")))
}

pub fn fixture_cycle(base: Span, cycle: &[String]) -> Diagnostic {
    Diagnostic::error("E0317", format!("fixtures cannot extend themselves: {}", cycle.join(" -> ")), base, "this base leads back to the fixture")
        .with_help("write one fixture of the cycle as a request, `fixture NAME = { ... }`, and build the others from it")
}

pub fn missing_header(policy: Span, what: &str, example: &str) -> Diagnostic {
    Diagnostic::error("E0118", format!("the policy header has no `{what}`"), policy, format!("`{what}` missing for this policy"))
        .with_help(format!("add `{example}` next to the `policy` line; every decision names it"))
}

pub fn reserved_request_field(span: Span, name: &str) -> Diagnostic {
    Diagnostic::error("E0119", format!("`{name}` is part of every request and cannot be declared"), span, "reserved field")
        .with_help("remove it: `tool` (the tool's name), `args` (declared by `tool`) and `time` (a timestamp) are built in")
}

pub fn request_in_constant(span: Span, name: &str, place: &str) -> Diagnostic {
    Diagnostic::error("E0120", format!("{place} cannot read the request field `{name}`"), span, "reads the request").with_help(
        if place.starts_with("a function") {
            "pass the value as a parameter: `fn f(x: T) -> T = ...` called as `f(agent.trust)`".to_string()
        } else {
            "a top-level `let` is a constant; move it inside an `on` block, or make it a `fn` with a parameter".to_string()
        },
    )
}

// ---- E02xx types --------------------------------------------------------------------

pub fn type_mismatch(span: Span, expected: &str, found: &str, help: Option<String>) -> Diagnostic {
    let d = Diagnostic::error("E0201", format!("expected `{expected}`, found `{found}`"), span, format!("this is `{found}`"));
    match help {
        Some(h) => d.with_help(h),
        None => d,
    }
}

pub fn cannot_compare(span: Span, op: &str, left: &str, right: &str, help: Option<String>) -> Diagnostic {
    let d = Diagnostic::error("E0202", format!("cannot compare `{left}` with `{right}` using `{op}`"), span, "incompatible types");
    d.with_help(help.unwrap_or_else(|| "both sides must have the same type: there is no implicit conversion".into()))
}

pub fn unguarded_optional(span: Span, path: &str) -> Diagnostic {
    Diagnostic::error("E0203", format!("`{path}` is optional and may be missing"), span, "read without a guard")
        .with_help(format!("guard it: `has {path} and ...`, or give a default: `({path} ?? DEFAULT)`"))
}

pub fn not_in_enum(span: Span, value: &str, values: &[String], suggestion: Option<&str>) -> Diagnostic {
    let d = Diagnostic::error("E0204", format!("\"{value}\" is not one of the declared values"), span, "not a declared value");
    let list = values.iter().map(|v| format!("\"{v}\"")).collect::<Vec<_>>().join(", ");
    match suggestion {
        Some(s) => d.with_help(format!("did you mean \"{s}\"? the values are {list}")),
        None => d.with_help(format!("the values are {list}")),
    }
}

pub fn bad_operands(span: Span, op: &str, left: &str, right: &str) -> Diagnostic {
    Diagnostic::error("E0205", format!("`{op}` cannot combine `{left}` and `{right}`"), span, "incompatible operands")
        .with_help("arithmetic works on numbers (and durations/timestamps); `+` also joins two strings")
}

pub fn wrong_arg_count(span: Span, what: &str, expected: usize, found: usize) -> Diagnostic {
    Diagnostic::error(
        "E0206",
        format!("`{what}` takes {expected} argument{}, found {found}", if expected == 1 { "" } else { "s" }),
        span,
        "wrong number of arguments",
    )
    .with_help(format!("pass exactly {expected}"))
}

pub fn bad_regex(span: Span, error: &str) -> Diagnostic {
    let first = error.lines().rev().find(|l| l.starts_with("error:")).unwrap_or(error.lines().last().unwrap_or(error));
    Diagnostic::error("E0207", "invalid regular expression", span, first.trim().to_string())
        .with_help("fix the pattern (Rust `regex` syntax: no look-around or back-references); escape literal `(`, `[`, `.` with a backslash")
}

pub fn pattern_not_literal(span: Span) -> Diagnostic {
    Diagnostic::error("E0208", "a regular expression must be a string literal", span, "not a literal")
        .with_help("write the pattern inline, e.g. `s.matches(\"[0-9]+\")`, so it can be checked and compiled once")
}

pub fn lambda_not_allowed(span: Span) -> Diagnostic {
    Diagnostic::error("E0209", "a lambda can only be an argument of `any`, `all`, `count`, `map` or `filter`", span, "not allowed here")
        .with_help("write e.g. `list.any(x => x > 3)`")
}

/// `lenient` where it cannot apply: before a type other than `number` (`what` says which),
/// or anywhere but the whole type of a tool argument, request or record field.
pub fn lenient_misuse(span: Span, what: Option<&str>) -> Diagnostic {
    match what {
        Some(ty) => Diagnostic::error("E0213", format!("`lenient` applies only to `number`, not `{ty}`"), span, "not a number type")
            .with_help("write `lenient number`, or drop `lenient`"),
        None => Diagnostic::error("E0213", "`lenient` is allowed only on a field's whole type", span, "not a field's type")
            .with_help("write it on the tool argument, request or record field itself (`amount: lenient number`); here write `number`"),
    }
}

/// `amounts.join(",")`: a method of `list<string>` on another list.
pub fn method_needs_strings(span: Span, method: &str, ty: &str) -> Diagnostic {
    Diagnostic::error("E0212", format!("`{method}` is a method of `list<string>`, not of `{ty}`"), span, "needs a list of strings")
        .with_help(format!("turn the elements into strings first, e.g. `list.map(x => x.to_string()).{method}(...)`"))
}

pub fn lambda_expected(span: Span, method: &str) -> Diagnostic {
    Diagnostic::error("E0210", format!("`{method}` takes a lambda"), span, "expected `x => condition`")
        .with_help(format!("write e.g. `list.{method}(x => x == \"a\")`"))
}

pub fn has_needs_path(span: Span) -> Diagnostic {
    Diagnostic::error("E0211", "`has` needs a field, like `has memo` or `has recipient.email`", span, "not a field")
        .with_help("use `has` on an optional field; use `??` to give a default to other optional values")
}

pub fn never_missing(span: Span, what: &str) -> Diagnostic {
    Diagnostic::warning("W0201", format!("`{what}` is never missing"), span, "not optional").with_help("remove the guard or the default")
}

pub fn condition_not_bool(span: Span, found: &str) -> Diagnostic {
    type_mismatch(span, "bool", found, Some("a `when` condition must be true or false; compare the value, e.g. `x > 0`".into()))
}

// ---- E03xx rules and tests ----------------------------------------------------------

pub fn effect_needs_tool(span: Span, effect: &str) -> Diagnostic {
    Diagnostic::error("E0301", format!("`{effect}` changes tool arguments, so the rule needs a tool scope"), span, "no tool scope")
        .with_help(format!("scope it: `on TOOL {effect} ...`, or put it inside `on TOOL {{ ... }}`"))
}

pub fn not_an_argument(span: Span, path: &str, suggestion: Option<&str>) -> Diagnostic {
    let d = Diagnostic::error("E0302", format!("`{path}` is not an argument of the tools in scope"), span, "not a tool argument");
    with_suggestion(d, suggestion, Some("`redact` and `set` change the tool's arguments; name one, e.g. `redact memo`".into()))
}

pub fn redact_not_string(span: Span, path: &str, ty: &str) -> Diagnostic {
    Diagnostic::error("E0303", format!("`redact` needs a string, but `{path}` is `{ty}`"), span, "not a string")
        .with_help("redact string arguments; use `set` to change other values")
}

pub fn redact_matching_not_string(span: Span, path: &str, ty: &str) -> Diagnostic {
    Diagnostic::error("E0303", format!("`redact ... matching` needs a string, but `{path}` is `{ty}`"), span, "not a string")
        .with_help("`matching` replaces parts of one string argument; redact a list of strings whole with `redact PATH`")
}

pub fn redact_matching_type(span: Span, found: &str) -> Diagnostic {
    Diagnostic::error("E0316", format!("`matching` takes a regex literal or a `list<string>`, found `{found}`"), span, format!("this is `{found}`"))
        .with_help("write a pattern (`matching \"tok_[a-z0-9]+\"`) or an expression giving the substrings (`matching std.pii.card_numbers(body)`)")
}

pub fn bad_annotation(span: Span, name: &str, value: &str, allowed: &[String]) -> Diagnostic {
    Diagnostic::error("E0304", format!("`@{name}(\"{value}\")` is not a valid value"), span, "unknown value")
        .with_help(format!("use one of {}", allowed.iter().map(|a| format!("`@{name}(\"{a}\")`")).collect::<Vec<_>>().join(", ")))
}

pub fn arg_type_mismatch_across_tools(span: Span, name: &str) -> Diagnostic {
    Diagnostic::error("E0305", format!("`{name}` is not an argument of every tool in this scope with the same type"), span, "not shared by all tools in scope")
        .with_help(format!("split the scope, or read it as `args.{name}` inside a single-tool scope"))
}

pub fn bad_tool_pattern(span: Span, pattern: &str) -> Diagnostic {
    Diagnostic::error("E0306", format!("`{pattern}` is not a tool pattern"), span, "`*` only ends a pattern")
        .with_help("write a tool name (`payments.transfer`), a prefix ending in `.*` (`payments.*`) or `*` for every tool")
}

// ---- windows (E0307-E0315; LANGUAGE.md §8) --------------------------------------------

/// A test's `request FIXTURE with { PATH: ... }` where nothing declares PATH.
pub fn undeclared_override(span: Span, path: &str, owner: &str, suggestion: Option<&str>) -> Diagnostic {
    let d = Diagnostic::error("E0315", format!("`{path}` is not declared by {owner}"), span, "not declared");
    with_suggestion(
        d,
        suggestion,
        Some("override only what the tool or the `request { ... }` block declares: anything else changes nothing a rule reads".into()),
    )
}

pub fn override_of_undeclared_tool(span: Span, path: &str, tool: &str) -> Diagnostic {
    Diagnostic::error("E0315", format!("`{path}` overrides an argument of `{tool}`, which no `tool` declaration has"), span, "no rule reads this")
        .with_help(format!("declare the tool with its parameters (`tool {tool}(...)`) so rules can read them, or fix the fixture's `tool`"))
}

pub fn override_inside_scalar(span: Span, path: &str, parent: &str, ty: &str) -> Diagnostic {
    Diagnostic::error("E0315", format!("`{path}` is not declared: `{parent}` is a `{ty}`, with no fields"), span, "not a field")
        .with_help(format!("override `{parent}` itself"))
}

pub fn unknown_aggregate(span: Span, name: &str, suggestion: Option<&str>) -> Diagnostic {
    let d = Diagnostic::error("E0307", format!("`{name}` is not a window aggregate"), span, "unknown aggregate");
    with_suggestion(d, suggestion, Some("a window aggregates with `count()`, `sum(e)`, `max(e)`, `distinct(e)` or `values(e)`".into()))
}

pub fn count_takes_no_value(span: Span) -> Diagnostic {
    Diagnostic::error("E0308", "`count()` takes no value", span, "not counted").with_help("write `count()`; to count different values, use `distinct(e)`")
}

pub fn aggregate_needs_value(span: Span, name: &str) -> Diagnostic {
    Diagnostic::error("E0308", format!("`{name}` needs the value it aggregates"), span, "no value")
        .with_help(format!("write `{name}(e)`, e.g. `{name}(amount)`"))
}

pub fn aggregate_type(span: Span, aggregate: &str, found: &str) -> Diagnostic {
    let want = match aggregate {
        "values" => "a string",
        "distinct" => "a plain value (not a list, map or record)",
        _ => "a number",
    };
    let example = if matches!(aggregate, "sum" | "max") { "amount" } else { "recipient.id" };
    Diagnostic::error("E0309", format!("`{aggregate}` needs {want}, found `{found}`"), span, format!("a `{found}`"))
        .with_help(format!("aggregate a field of that type, e.g. `{aggregate}({example})`"))
}

pub fn bad_window_duration(span: Span) -> Diagnostic {
    Diagnostic::error("E0310", "a window's length must be a duration literal of whole seconds", span, "not a duration")
        .with_help("write a duration such as `10m`, `1h`, `24h` or `90d`")
}

pub fn window_key_type(span: Span, found: &str) -> Diagnostic {
    Diagnostic::error("E0311", format!("a window key must be a plain value, found `{found}`"), span, "not a plain value")
        .with_help("key by fields (`user.id`, `payee.id`), `tool`, or `args` for the whole argument object")
}

pub fn decision_outside_when(span: Span) -> Diagnostic {
    Diagnostic::error("E0312", "`decision` can only be read in a window's `when`", span, "not known here").with_help(
        "a rule runs before its decision is made; count past decisions with a window: `window denials = count() over 1h by agent.id when decision == deny`",
    )
}

pub fn outcome_outside_when(span: Span, outcome: &str) -> Diagnostic {
    Diagnostic::error("E0312", format!("`{outcome}` is a decision outcome, known only in a window's `when`"), span, "not known here")
        .with_help(format!("compare it with `decision` in a window: `window w = count() over 1h by agent.id when decision == {outcome}`"))
}

pub fn window_not_readable_here(span: Span, name: &str, place: &str) -> Diagnostic {
    Diagnostic::error("E0313", format!("window `{name}` cannot be read in {place}"), span, "a window")
        .with_help("read windows in rules (and the `let`s inside `on` blocks)")
}

pub fn window_keyed_by_args(span: Span, name: &str, tools: &[String], decl: Span) -> Diagnostic {
    Diagnostic::error(
        "E0314",
        format!("window `{name}` is keyed by arguments of {}, which this rule's requests may not have", one_of(tools)),
        span,
        "key unknown here",
    )
    .with_label(decl, "declared here")
    .with_help(format!("read it in a rule scoped inside its `on` (`on {}`)", tools.first().map_or("TOOL", String::as_str)))
}

// ---- E04xx files and policy sets ----------------------------------------------------

pub fn unreadable_path(span: Span, path: &str, error: &str) -> Diagnostic {
    Diagnostic::error("E0401", format!("cannot read `{path}`: {error}"), span, "unreadable")
        .with_help("pass a `.pol` file or a directory of them that exists and can be read")
}

pub fn folder_loop(span: Span, link: &str, target: &str) -> Diagnostic {
    Diagnostic::error("E0403", format!("`{link}` leads back to `{target}`, a folder that contains it"), span, "symbolic link loop")
        .with_help("remove the link, or point it outside the policy folder: its files would be read again and again")
}

pub fn no_policy_files(span: Span) -> Diagnostic {
    Diagnostic::error("E0402", "no `.pol` files found", span, "nothing to compile").with_help("pass a `.pol` file, or a directory that contains `.pol` files")
}

pub fn unreadable_data(span: Span, path: &str, error: &str) -> Diagnostic {
    Diagnostic::error("E0401", format!("cannot read `{path}`: {error}"), span, "unreadable")
        .with_help("data files are JSON files; check that the file exists and can be read")
}

// ---- E05xx limits (see `crate::limits::Limits`) ---------------------------------------

/// How to raise a limit, for every E05xx help.
fn raise(limit: &str, value: usize) -> String {
    let flag = limit.replace('_', "-");
    format!("simplify the policy, or raise the limit (now {value}) with `--{flag} N` or `Limits {{ {limit}: N, .. }}`")
}

/// The compiler itself failed (a bug): the policy is refused rather than half-compiled.
pub fn internal_compiler_error(span: Span) -> Diagnostic {
    Diagnostic::error("E0500", "internal compiler error", span, "the compiler failed")
        .with_help("this is a bug in gavel; please report it with the policy that caused it")
}

/// A policy file's bytes are not UTF-8, at the first bad one.
pub fn source_not_utf8(span: Span, byte: u8) -> Diagnostic {
    Diagnostic::error("E0013", "the policy text is not UTF-8", span, format!("byte 0x{byte:02X} is not UTF-8 here"))
        .with_help("save the file as UTF-8: a Latin-1 or Windows-1252 editor setting writes `é` as one such byte")
}

pub fn source_too_large(span: Span, size: usize, limit: usize) -> Diagnostic {
    Diagnostic::error("E0501", format!("the file is {size} bytes, more than `max_source_bytes` ({limit})"), span, "file too large")
        .with_help(raise("max_source_bytes", limit))
}

pub fn nested_too_deeply(span: Span, limit: usize) -> Diagnostic {
    Diagnostic::error("E0502", format!("this nests deeper than `max_expr_depth` ({limit})"), span, "nested too deeply")
        .with_help(raise("max_expr_depth", limit))
}

pub fn expands_too_deeply(span: Span, limit: usize) -> Diagnostic {
    Diagnostic::error(
        "E0503",
        format!("with its `let`s and functions expanded, this nests deeper than `max_compiled_depth` ({limit})"),
        span,
        "expands too deeply",
    )
    .with_help(raise("max_compiled_depth", limit))
}

pub fn expands_too_large(span: Span, limit: usize) -> Diagnostic {
    Diagnostic::error(
        "E0504",
        format!("with its `let`s and functions expanded, this has more than `max_compiled_nodes` ({limit}) nodes"),
        span,
        "expands too large",
    )
    .with_help(raise("max_compiled_nodes", limit))
}

pub fn regex_too_large(span: Span, limit: usize) -> Diagnostic {
    Diagnostic::error("E0505", format!("this regular expression compiles to more than `max_regex_bytes` ({limit})"), span, "regex too large")
        .with_help(raise("max_regex_bytes", limit))
}

pub fn type_too_deep(span: Span, limit: usize) -> Diagnostic {
    Diagnostic::error("E0506", format!("this type nests deeper than `max_compiled_depth` ({limit})"), span, "type nested too deeply")
        .with_help(raise("max_compiled_depth", limit))
}

pub fn data_too_large(span: Span, size: usize, limit: usize) -> Diagnostic {
    Diagnostic::error("E0507", format!("the data file is {size} bytes, more than `max_data_bytes` ({limit})"), span, "file too large")
        .with_help(format!("split the data, or raise the limit (now {limit}) with `--max-data-bytes N` or `Limits {{ max_data_bytes: N, .. }}`"))
}

// ---- E06xx reference data (`data NAME: TYPE`) ------------------------------------

/// A `data` declaration with no data: `looked_for` is the `data/NAME.json` it looked for
/// (`None` when the policy was not read from a folder).
pub fn data_missing(span: Span, name: &str, looked_for: Option<&str>) -> Diagnostic {
    match looked_for {
        Some(path) => Diagnostic::error("E0601", format!("no data for `{name}`: `{path}` does not exist"), span, "declared here")
            .with_help(format!("add `{path}` (JSON of the declared type), or give `--data {name}=FILE.json`")),
        None => Diagnostic::error("E0601", format!("no data for `{name}`"), span, "declared here")
            .with_help(format!("give `--data {name}=FILE.json`, or put `data/{name}.json` in the policy folder")),
    }
}

/// A data file for a name no `data` declaration has.
pub fn data_undeclared(span: Span, file: &str, name: &str, suggestion: Option<&str>) -> Diagnostic {
    let d = Diagnostic::error("E0602", format!("`{file}` supplies data `{name}`, but no `data {name}: TYPE` declares it"), span, "not declared");
    match suggestion {
        Some(s) => d.with_help(format!("did you mean `{s}`? name the file `{s}.json`, or declare `data {name}: TYPE`")),
        None => d.with_help(format!("declare it in the policy (`data {name}: TYPE`), or remove the file")),
    }
}

/// A data file that does not hold a value of the declared type: `problem` says where
/// (`$.EUR`) and what.
pub fn data_mismatch(span: Span, file: &str, path: &str, problem: &str, decl: Span, ty: &str) -> Diagnostic {
    Diagnostic::error("E0603", format!("`{file}`: `{path}`: {problem}"), span, "does not match the declared type")
        .with_label(decl, format!("declared as `{ty}` here"))
        .with_help(format!("fix the value at `{path}` in `{file}`, or change the declared type"))
}

pub fn data_malformed(span: Span, file: &str, detail: &str) -> Diagnostic {
    Diagnostic::error("E0604", format!("`{file}` is not valid JSON: {detail}"), span, "here").with_help("a data file holds one JSON value of the declared type")
}
