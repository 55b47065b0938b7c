//! Parser tests: every construct to its AST (spans ignored by `AstSpan` equality), a few
//! exact spans, error recovery, rendered syntax errors (insta) and a no-panic proptest.

use gavel::diagnostics::{render, Diagnostic};
use gavel::span::{FileId, SourceMap, Span};
use gavel::syntax::ast::*;
use gavel::syntax::{parse, parse_expr};

const F: FileId = FileId(7);

// ---- builders (spans are irrelevant to equality) ---------------------------------------

fn s() -> AstSpan {
    AstSpan::default()
}
fn id(n: &str) -> Ident {
    Ident { name: n.into(), span: s() }
}
fn e(kind: ExprKind) -> Expr {
    Expr { kind, span: s() }
}
fn name(n: &str) -> Expr {
    e(ExprKind::Name(id(n)))
}
fn num(n: f64) -> Expr {
    e(ExprKind::Number(n))
}
fn st(v: &str) -> Expr {
    e(ExprKind::Str(v.into()))
}
fn lit(v: &str) -> StrLit {
    StrLit { value: v.into(), span: s() }
}
fn bin(op: BinaryOp, a: Expr, b: Expr) -> Expr {
    e(ExprKind::Binary(op, Box::new(a), Box::new(b)))
}
fn field(x: Expr, f: &str) -> Expr {
    e(ExprKind::Field(Box::new(x), id(f)))
}
fn method(x: Expr, m: &str, args: Vec<Expr>) -> Expr {
    e(ExprKind::MethodCall { receiver: Box::new(x), method: id(m), args })
}
fn path(segs: &[&str]) -> PathRef {
    PathRef { segments: segs.iter().map(|x| id(x)).collect(), span: s() }
}
fn named_ty(n: &str) -> TypeExpr {
    TypeExpr { kind: TypeExprKind::Named(id(n)), span: s() }
}
fn fd(n: &str, optional: bool, ty: TypeExpr) -> FieldDecl {
    FieldDecl { name: id(n), optional, ty, span: s() }
}
fn tools(ts: &[&str]) -> Vec<ToolPattern> {
    ts.iter().map(|t| ToolPattern { text: t.to_string(), span: s() }).collect()
}
fn effect(kind: EffectKind) -> Effect {
    Effect { kind, span: s() }
}
fn json(kind: JsonKind) -> Json {
    Json { kind, span: s() }
}

/// Parses a file that must be free of errors.
fn ok(src: &str) -> Vec<Item> {
    let (file, diags) = parse(F, src);
    assert!(diags.is_empty(), "unexpected diagnostics for {src:?}: {diags:#?}");
    file.items
}

fn expr(src: &str) -> Expr {
    let (e, diags) = parse_expr(F, src);
    assert!(diags.is_empty(), "unexpected diagnostics for {src:?}: {diags:#?}");
    e.expect("an expression")
}

fn errors(src: &str) -> Vec<Diagnostic> {
    parse(F, src).1
}

fn the_rule(src: &str) -> Rule {
    match ok(src).as_slice() {
        [Item::Rule(r)] => r.clone(),
        other => panic!("expected one rule, got {other:#?}"),
    }
}

// ---- expressions -----------------------------------------------------------------------

#[test]
fn precedence_from_loosest_to_tightest() {
    use BinaryOp::*;
    let got = expr("a or b and not c == 1 + 2 * -d");
    let not_c_eq = e(ExprKind::Unary(
        UnaryOp::Not,
        Box::new(bin(Eq, name("c"), bin(Add, num(1.0), bin(Mul, num(2.0), e(ExprKind::Unary(UnaryOp::Neg, Box::new(name("d")))))))),
    ));
    assert_eq!(got, bin(Or, name("a"), bin(And, name("b"), not_c_eq)));
}

#[test]
fn coalesce_binds_tighter_than_comparison_and_looser_than_sum() {
    use BinaryOp::*;
    assert_eq!(expr("(row_limit ?? 1_000_000) <= 10_000"), bin(Le, bin(Coalesce, name("row_limit"), num(1e6)), num(1e4)));
    assert_eq!(expr("a ?? b + 1 > c"), bin(Gt, bin(Coalesce, name("a"), bin(Add, name("b"), num(1.0))), name("c")));
}

#[test]
fn arithmetic_is_left_associative() {
    use BinaryOp::*;
    assert_eq!(expr("a - b - c"), bin(Sub, bin(Sub, name("a"), name("b")), name("c")));
    assert_eq!(expr("a / b % c"), bin(Rem, bin(Div, name("a"), name("b")), name("c")));
}

#[test]
fn membership_and_not_in() {
    use BinaryOp::*;
    assert_eq!(expr("country not in [\"US\", \"DE\",]"), bin(NotIn, name("country"), e(ExprKind::List(vec![st("US"), st("DE")]))));
    assert_eq!(expr("\"@\" in email"), bin(In, st("@"), name("email")));
}

#[test]
fn comparisons_do_not_chain() {
    let (_, diags) = parse_expr(F, "a < b < c");
    assert_eq!(diags.len(), 1);
    assert_eq!(diags[0].code, "E0002");
    assert_eq!(diags[0].span(), Span::new(F, 6, 7));
}

#[test]
fn has_if_and_literals() {
    let got = expr("if has memo then 30s else 7d");
    let want = e(ExprKind::If(
        Box::new(e(ExprKind::Has(Box::new(name("memo"))))),
        Box::new(e(ExprKind::Duration(30.0))),
        Box::new(e(ExprKind::Duration(7.0 * 86400.0))),
    ));
    assert_eq!(got, want);
    assert_eq!(
        expr("[true, false, 2.5, 1e6, 15m, 24h]"),
        e(ExprKind::List(vec![
            e(ExprKind::Bool(true)),
            e(ExprKind::Bool(false)),
            num(2.5),
            num(1e6),
            e(ExprKind::Duration(900.0)),
            e(ExprKind::Duration(86400.0)),
        ]))
    );
}

#[test]
fn postfix_calls_fields_and_index() {
    assert_eq!(expr("std.pii.contains_ssn(memo)"), method(field(name("std"), "pii"), "contains_ssn", vec![name("memo")]));
    assert_eq!(expr("limits[currency].x"), field(e(ExprKind::Index(Box::new(name("limits")), Box::new(name("currency")))), "x"));
    assert_eq!(expr("min(records, 1000,)"), e(ExprKind::Call { name: id("min"), args: vec![name("records"), num(1000.0)] }));
    assert_eq!(expr("sql.lower()"), method(name("sql"), "lower", vec![]));
}

#[test]
fn keywords_are_names_after_a_dot_but_not_bare() {
    assert_eq!(expr("args.from.in"), field(field(name("args"), "from"), "in"));
    let (_, diags) = parse_expr(F, "from + 1");
    assert_eq!(diags[0].message, "unexpected keyword `from`");
}

#[test]
fn lambdas_only_as_arguments() {
    let got = expr("to.count(a => external(a))");
    let lambda = e(ExprKind::Lambda { param: id("a"), body: Box::new(e(ExprKind::Call { name: id("external"), args: vec![name("a")] })) });
    assert_eq!(got, method(name("to"), "count", vec![lambda]));
    assert!(!parse_expr(F, "a => b").1.is_empty());
}

#[test]
fn string_escapes_and_verbatim_backslashes() {
    assert_eq!(expr(r#""q\" b\\ n\n t\t r\r \u{1F600}""#), st("q\" b\\ n\n t\t r\r \u{1F600}"));
    assert_eq!(expr(r#""\d{3}-\d{2}""#), st(r"\d{3}-\d{2}"));
}

#[test]
fn expression_spans_cover_the_expression() {
    // 0123456789012345678
    // x + (y * z)
    let got = expr("x + (y * z)");
    assert_eq!(*got.span, Span::new(F, 0, 11));
    let ExprKind::Binary(_, _, right) = &got.kind else { panic!("binary") };
    // A parenthesised expression's span includes its parentheses.
    assert_eq!(*right.span, Span::new(F, 4, 11));
}

// ---- declarations ----------------------------------------------------------------------

#[test]
fn header_items() {
    assert_eq!(
        ok("policy payments version \"2026.11.1\" default allow on error deny"),
        vec![Item::Policy(id("payments")), Item::Version(lit("2026.11.1")), Item::Default(DefaultEffect::Allow, s()), Item::OnError(DefaultEffect::Deny, s()),]
    );
}

#[test]
fn types_records_enums_lists_and_maps() {
    let items = ok("type R = { id: string, email?: string, from: list<map<number>>, e: {}, }\n\
                    type T = \"low\" | \"medium\" | \"high\"");
    let list_map = TypeExpr { kind: TypeExprKind::List(Box::new(TypeExpr { kind: TypeExprKind::Map(Box::new(named_ty("number"))), span: s() })), span: s() };
    let record = TypeExprKind::Record(vec![
        fd("id", false, named_ty("string")),
        fd("email", true, named_ty("string")),
        fd("from", false, list_map),
        fd("e", false, TypeExpr { kind: TypeExprKind::Record(vec![]), span: s() }),
    ]);
    assert_eq!(
        items,
        vec![
            Item::Type(TypeDecl { name: id("R"), ty: TypeExpr { kind: record, span: s() }, span: s() }),
            Item::Type(TypeDecl {
                name: id("T"),
                ty: TypeExpr { kind: TypeExprKind::Enum(vec![lit("low"), lit("medium"), lit("high")]), span: s() },
                span: s(),
            }),
        ]
    );
}

#[test]
fn unknown_generic_is_reported() {
    let d = errors("type X = set<string>");
    assert_eq!(d.iter().map(|d| d.code).collect::<Vec<_>>(), vec!["E0002"]);
    let d = errors("type X = vec<string>");
    assert_eq!(d.iter().map(|d| d.code).collect::<Vec<_>>(), vec!["E0007"]);
}

#[test]
fn a_last_ellipsis_opens_a_tool() {
    let items = ok("tool a.b(x: number, ...)\ntool c(...)\ntool d(x: number)\ntool e(x: number,)");
    let open: Vec<(&str, bool, usize)> = items
        .iter()
        .map(|i| match i {
            Item::Tool(t) => (t.name.name.as_str(), t.open, t.params.len()),
            other => panic!("not a tool: {other:?}"),
        })
        .collect();
    assert_eq!(open, [("a.b", true, 1), ("c", true, 0), ("d", false, 1), ("e", false, 1)]);
    // `...` only ends the list, after a comma.
    for src in ["tool t(..., x: number)", "tool t(x: number ...)", "tool t(x: number, ...,)", "tool t(. . .)"] {
        assert!(!errors(src).is_empty(), "{src} should not parse");
    }
}

#[test]
fn tool_request_let_and_functions() {
    let items = ok("tool payments.transfer(amount: number, memo?: string,)\n\
                    tool a.default.b()\n\
                    request { agent: { id: string }, time?: timestamp }\n\
                    let limit = 10_000\n\
                    fn ext(addr: string) -> bool = not ok(addr)\n\
                    builtin fn len(s: string) -> number");
    let Item::Tool(t) = &items[0] else { panic!("tool") };
    assert_eq!(t.name.name, "payments.transfer");
    assert_eq!(t.params, vec![fd("amount", false, named_ty("number")), fd("memo", true, named_ty("string"))]);
    let Item::Tool(t) = &items[1] else { panic!("tool") };
    assert_eq!(t.name.name, "a.default.b");
    let Item::Request(r) = &items[2] else { panic!("request") };
    assert_eq!(r.fields.iter().map(|f| (f.name.name.as_str(), f.optional)).collect::<Vec<_>>(), vec![("agent", false), ("time", true)]);
    assert_eq!(items[3], Item::Let(LetDecl { name: id("limit"), value: num(10000.0), span: s() }));
    let not_ok = e(ExprKind::Unary(UnaryOp::Not, Box::new(e(ExprKind::Call { name: id("ok"), args: vec![name("addr")] }))));
    assert_eq!(
        items[4],
        Item::Fn(FnDecl { name: id("ext"), params: vec![fd("addr", false, named_ty("string"))], ret: named_ty("bool"), body: Some(not_ok), span: s() })
    );
    let Item::Fn(b) = &items[5] else { panic!("builtin") };
    assert_eq!((b.name.name.as_str(), b.body.is_none()), ("len", true));
}

// ---- rules -----------------------------------------------------------------------------

#[test]
fn full_rule() {
    let r = the_rule(
        "@severity(\"high\") @mode(\"shadow\")\n\
         rule big: on payments.*, crm.export\n\
         deny when amount > 10 because \"too big\"",
    );
    assert_eq!(
        r.annotations.iter().map(|a| (a.name.name.as_str(), a.value.value.as_str())).collect::<Vec<_>>(),
        vec![("severity", "high"), ("mode", "shadow")]
    );
    assert_eq!(r.name, Some(id("big")));
    assert_eq!(r.tools, Some(tools(&["payments.*", "crm.export"])));
    assert_eq!(r.effect, effect(EffectKind::Deny));
    assert_eq!(r.condition, Some(bin(BinaryOp::Gt, name("amount"), num(10.0))));
    assert_eq!(r.because.map(|t| t.parts), Some(vec![TemplatePart::Text("too big".into())]));
}

#[test]
fn every_effect() {
    assert_eq!(the_rule("allow").effect, effect(EffectKind::Allow));
    assert_eq!(the_rule("warn").effect, effect(EffectKind::Warn));
    assert_eq!(the_rule("require approval").effect, effect(EffectKind::RequireApproval(vec![])));
    assert_eq!(
        the_rule("require approval from \"privacy-officer\", \"dpo\"").effect,
        effect(EffectKind::RequireApproval(vec![lit("privacy-officer"), lit("dpo")]))
    );
    assert_eq!(the_rule("redact args.from").effect, effect(EffectKind::Redact(path(&["args", "from"]), None)));
    let set = the_rule("set records = min(records, 1000) when agent.trust != \"high\"");
    assert_eq!(set.effect, effect(EffectKind::Set(path(&["records"]), e(ExprKind::Call { name: id("min"), args: vec![name("records"), num(1000.0)] }))));
    assert!(set.condition.is_some());
}

#[test]
fn rules_follow_each_other_without_separators() {
    let items = ok("rule r: deny when x == 1\nrule s: allow\n@a(\"b\") warn when y deny on * deny");
    assert_eq!(items.len(), 5);
    let Item::Rule(last) = &items[4] else { panic!("rule") };
    assert_eq!(last.tools, Some(tools(&["*"])));
    let Item::Rule(third) = &items[2] else { panic!("rule") };
    assert_eq!(third.condition, Some(name("y")));
}

#[test]
fn on_scoped_rule_versus_on_block() {
    let items = ok("on crm.read allow\non crm.export, crm.read { let n = 1 deny when n > 0 rule q: on x warn }");
    let Item::Rule(r) = &items[0] else { panic!("rule") };
    assert_eq!((r.tools.clone(), r.name.clone()), (Some(tools(&["crm.read"])), None));
    let Item::Block(b) = &items[1] else { panic!("block") };
    assert_eq!(b.tools, tools(&["crm.export", "crm.read"]));
    assert_eq!(b.items.len(), 3);
    assert!(matches!(&b.items[0], BlockItem::Let(l) if l.name.name == "n"));
    assert!(matches!(&b.items[2], BlockItem::Rule(r) if r.tools == Some(tools(&["x"]))));
    assert_eq!(ok("on x {}"), vec![Item::Block(OnBlock { tools: tools(&["x"]), items: vec![], span: s() })]);
}

// ---- templates -------------------------------------------------------------------------

#[test]
fn template_parts_and_hole_spans() {
    let src = "deny because \"a {{b}} {amount} c\\n{x.y}\"";
    let r = the_rule(src);
    let t = r.because.expect("because");
    assert_eq!(
        t.parts,
        vec![
            TemplatePart::Text("a {b} ".into()),
            TemplatePart::Expr(name("amount")),
            TemplatePart::Text(" c\n".into()),
            TemplatePart::Expr(field(name("x"), "y")),
        ]
    );
    let TemplatePart::Expr(amount) = &t.parts[1] else { panic!("hole") };
    let at = src.find("amount").unwrap();
    assert_eq!(*amount.span, Span::new(F, at, at + "amount".len()));
    let TemplatePart::Expr(xy) = &t.parts[3] else { panic!("hole") };
    let at = src.find("x.y").unwrap();
    assert_eq!(*xy.span, Span::new(F, at, at + 3));
    assert_eq!(*t.span, Span::new(F, 13, src.len()));
}

#[test]
fn template_holes_may_hold_escaped_strings() {
    let src = r#"deny because "memo: {memo ?? \"none\"}!""#;
    let t = the_rule(src).because.expect("because");
    assert_eq!(
        t.parts,
        vec![TemplatePart::Text("memo: ".into()), TemplatePart::Expr(bin(BinaryOp::Coalesce, name("memo"), st("none"))), TemplatePart::Text("!".into()),]
    );
    let TemplatePart::Expr(hole) = &t.parts[1] else { panic!("hole") };
    let at = src.find("memo ??").unwrap();
    assert_eq!(hole.span.start as usize, at);
}

#[test]
fn bad_template_holes_are_reported_at_the_hole() {
    let src = "deny because \"x {amount +} y\"";
    let d = errors(src);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].code, "E0003");
    let hole_end = src.find('}').unwrap();
    assert_eq!(d[0].span(), Span::new(F, hole_end, hole_end));

    let src = "deny because \"x {amount\"";
    let d = errors(src);
    assert_eq!((d[0].code, d[0].span().start as usize), ("E0009", src.find('{').unwrap()));

    let d = errors("deny because \"{ }\"");
    assert_eq!(d[0].code, "E0010");
}

// ---- fixtures and tests ----------------------------------------------------------------

#[test]
fn fixtures_are_json_with_bare_keys() {
    let items = ok("fixture base = { tool: \"t\", \"quoted key\": [1_000, -2.5, null, true,], ctx: {}, }");
    let want = json(JsonKind::Object(vec![
        (id("tool"), json(JsonKind::Str("t".into()))),
        (
            id("quoted key"),
            json(JsonKind::List(vec![json(JsonKind::Number(1000.0)), json(JsonKind::Number(-2.5)), json(JsonKind::Null), json(JsonKind::Bool(true))])),
        ),
        (id("ctx"), json(JsonKind::Object(vec![]))),
    ]));
    assert_eq!(items, vec![Item::Fixture(Fixture { name: id("base"), value: FixtureValue::Literal(want), span: s() })]);
}

#[test]
fn fixtures_extend_other_fixtures() {
    let items = ok("fixture refund = base with { args.amount: 6000, tool: \"x\", }\nfixture same = base with {}");
    let with = vec![(path(&["args", "amount"]), json(JsonKind::Number(6000.0))), (path(&["tool"]), json(JsonKind::Str("x".into())))];
    assert_eq!(
        items,
        vec![
            Item::Fixture(Fixture { name: id("refund"), value: FixtureValue::Extends { base: id("base"), with }, span: s() }),
            Item::Fixture(Fixture { name: id("same"), value: FixtureValue::Extends { base: id("base"), with: vec![] }, span: s() }),
        ]
    );
}

#[test]
fn test_statements() {
    let items = ok("test \"t\" {\n\
          request base\n\
          request base with { args.amount: 25_000, tool: \"x\", }\n\
          request file(\"case.json\")\n\
          request { tool: \"x\" }\n\
          expect deny by a, b\n\
          expect require approval\n\
          expect allow\n\
          expect args.memo == \"[REDACTED]\"\n\
        }");
    let Item::Test(t) = &items[0] else { panic!("test") };
    assert_eq!(t.name, lit("t"));
    let req = |src| TestStmt::Request(src, s());
    assert_eq!(
        t.stmts,
        vec![
            req(RequestSource::Fixture { name: id("base"), with: vec![] }),
            req(RequestSource::Fixture {
                name: id("base"),
                with: vec![(path(&["args", "amount"]), json(JsonKind::Number(25000.0))), (path(&["tool"]), json(JsonKind::Str("x".into()))),],
            }),
            req(RequestSource::File(lit("case.json"))),
            req(RequestSource::Literal(json(JsonKind::Object(vec![(id("tool"), json(JsonKind::Str("x".into())))])))),
            TestStmt::ExpectEffect { effect: ExpectedEffect::Deny, by: vec![id("a"), id("b")], span: s() },
            TestStmt::ExpectEffect { effect: ExpectedEffect::RequireApproval, by: vec![], span: s() },
            TestStmt::ExpectEffect { effect: ExpectedEffect::Allow, by: vec![], span: s() },
            TestStmt::ExpectValue { path: path(&["args", "memo"]), value: json(JsonKind::Str("[REDACTED]".into())), span: s() },
        ]
    );
    assert_eq!(errors("test \"t\" { request fil(\"x\") }")[0].code, "E0008");
}

/// Issue 17 item 9: `expect` names a decision, so its JSON name `require_approval` is read
/// as `require approval` (the formatter writes the latter), with or without `by`.
#[test]
fn expect_accepts_the_decisions_json_name() {
    let items = ok("test \"t\" {\n  request base\n  expect require_approval by big_refund\n  expect require_approval\n  expect args.x == 1\n}");
    let Item::Test(t) = &items[0] else { panic!("test") };
    assert_eq!(t.stmts[1], TestStmt::ExpectEffect { effect: ExpectedEffect::RequireApproval, by: vec![id("big_refund")], span: s() });
    assert_eq!(t.stmts[2], TestStmt::ExpectEffect { effect: ExpectedEffect::RequireApproval, by: vec![], span: s() });
    assert!(matches!(t.stmts[3], TestStmt::ExpectValue { .. }));
    // Any other bare name is not a decision: one error naming the three.
    let errs = errors("test \"t\" {\n  request base\n  expect approve by r\n}");
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].code, "E0014");
}

// ---- spans and errors ------------------------------------------------------------------

#[test]
fn spans_carry_the_file_id_and_exact_offsets() {
    let src = "rule r: on a.b deny when x";
    let r = the_rule(src);
    assert_eq!(*r.span, Span::new(F, 0, src.len()));
    assert_eq!(*r.name.unwrap().span, Span::new(F, 5, 6));
    assert_eq!(*r.tools.unwrap()[0].span, Span::new(F, 11, 14));
    assert_eq!(*r.effect.span, Span::new(F, 15, 19));
    assert_eq!(*r.condition.unwrap().span, Span::new(F, 25, 26));
}

#[test]
fn several_errors_in_one_file_are_all_reported() {
    let src = "policy p\n\
               let = 3\n\
               on t {\n  deny when\n  rule ok: allow\n  warn when ) \n}\n\
               rule fine: deny\n\
               type = x\n";
    let (file, d) = parse(F, src);
    assert_eq!(d.iter().map(|d| d.code).collect::<Vec<_>>(), vec!["E0002"; 4], "{d:#?}");
    // The good items around the errors are still there.
    let names: Vec<_> = file
        .items
        .iter()
        .filter_map(|i| match i {
            Item::Rule(r) => r.name.as_ref().map(|n| n.name.clone()),
            Item::Block(b) => Some(format!("block of {}", b.items.len())),
            _ => None,
        })
        .collect();
    assert_eq!(names, vec!["block of 1", "fine"]);
    // Each error points at its exact token.
    let at = |needle: &str| src.find(needle).unwrap() as u32;
    assert_eq!(d[0].span().start, at("= 3"));
    assert_eq!(d[1].span().start, at("rule ok"));
    assert_eq!(d[2].span().start, at(") "));
    assert_eq!(d[3].span().start, at("= x"));
}

#[test]
fn lexical_errors() {
    let d = errors("deny when a # b");
    assert_eq!(d.iter().map(|d| d.code).collect::<Vec<_>>(), vec!["E0001", "E0002"]);
    assert_eq!(d[0].span(), Span::new(F, 12, 13));
    let src = "let x = \"open\nlet y = 1";
    let (file, d) = parse(F, src);
    assert_eq!(d[0].code, "E0004");
    assert_eq!(d[0].span(), Span::new(F, 8, 9));
    assert!(file.items.iter().any(|i| matches!(i, Item::Let(l) if l.name.name == "y")));
    assert_eq!(errors("deny /* never closed")[0].code, "E0005");
    let d = errors("let x = \"\\u{zz}\" deny");
    assert_eq!(d.iter().map(|d| d.code).collect::<Vec<_>>(), vec!["E0006"]);
}

#[test]
fn unexpected_end_of_file() {
    let src = "rule r: deny when";
    let d = errors(src);
    assert_eq!(d.len(), 1);
    assert_eq!((d[0].code, d[0].span()), ("E0003", Span::new(F, src.len(), src.len())));
    assert_eq!(d[0].help.as_deref(), Some("expected an expression"));
}

#[test]
fn comments_are_ignored() {
    assert_eq!(ok("// a\n/* b\n */ deny // c\n").len(), 1);
}

// ---- rendered snapshots ----------------------------------------------------------------

fn rendered(src: &str) -> String {
    let mut sources = SourceMap::new();
    let file = sources.add("policy.pol", src);
    let (_, diags) = parse(file, src);
    assert!(!diags.is_empty());
    diags.iter().map(|d| render(d, &sources, false)).collect()
}

#[test]
fn snapshot_missing_condition() {
    insta::assert_snapshot!(rendered("on payments.transfer {\n  deny when\n}\n"));
}

#[test]
fn snapshot_misplaced_keyword() {
    insta::assert_snapshot!(rendered("rule r: deny when amount > 10 and from == 1\n"));
}

#[test]
fn snapshot_unterminated_string() {
    insta::assert_snapshot!(rendered("policy p\nversion \"1.0\nrule r: deny\n"));
}

#[test]
fn snapshot_missing_field_type() {
    insta::assert_snapshot!(rendered("tool t(amount, memo?: string)\nrule r: deny when x ==\n"));
}

// ---- robustness ------------------------------------------------------------------------

const REALISTIC: &str = r#"policy payments
version "2026.11.1"
default allow
type Recipient = { id: string, external: bool, country: string, email?: string }
tool payments.transfer(amount: number, currency: string, recipient: Recipient, memo?: string)
request { agent: { id: string, trust: "low" | "medium" | "high" }, context: {} }
let sanctioned = ["KP", "IR"]
fn ext(a: string) -> bool = not std.email.is_internal(a, ["acme.com"])
on payments.transfer {
  @severity("high")
  rule big: deny when amount > 10_000 and recipient.external because "above {amount} {currency}"
  rule memo: redact memo when has memo and std.pii.contains_ssn(memo)
  set memo = (memo ?? "").trim() when 24h > 1s
}
rule v: on payments.* require approval from "a", "b" when to.count(x => ext(x)) > 3
fixture base = { tool: "payments.transfer", args: { amount: -5, memo: "x" }, }
test "t" { request base with { args.amount: 25_000 } expect deny by big expect args.memo == "y" }
"#;

proptest::proptest! {
    #[test]
    fn random_text_never_panics(src in "\\PC{0,200}") {
        let _ = parse(F, &src);
    }

    #[test]
    fn mutated_policies_never_panic(edits in proptest::collection::vec((0usize..2000, 0u8..3, 1usize..12, 0usize..2000), 1..6)) {
        let mut src = REALISTIC.to_string();
        for (at, op, len, at2) in edits {
            let start = floor_char(&src, at % (src.len() + 1));
            let end = floor_char(&src, (start + len).min(src.len()));
            match op {
                0 => { src.replace_range(start..end, ""); }
                1 => {
                    let piece = src[start..end].to_string();
                    let to = floor_char(&src, at2 % (src.len() + 1));
                    src.insert_str(to, &piece);
                }
                _ => {
                    let piece = src[start..end].to_string();
                    src.insert_str(end, &piece);
                }
            }
        }
        let (_, diags) = parse(F, &src);
        for d in diags {
            proptest::prop_assert!(d.span().end as usize <= src.len());
            proptest::prop_assert_eq!(d.span().file, F);
        }
    }
}

fn floor_char(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[test]
fn the_realistic_policy_parses_cleanly() {
    assert_eq!(ok(REALISTIC).len(), 12);
}

#[test]
fn a_tool_declared_without_an_argument_list_is_told_how_to_declare_an_open_tool() {
    // Issue 17, item 1: `tool shell.exec` (no list) is how a new user tries to declare a tool
    // whose arguments are not described; the help names the spelling that does it.
    let d = errors("policy p\nversion \"1\"\ndefault allow\ntool shell.exec\nrule r: on shell.exec deny\n");
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].code, "E0002");
    let help = d[0].help.as_deref().unwrap_or("");
    assert!(help.contains("declare one whose arguments are not described as `tool NAME(...)`"), "{help}");
}
