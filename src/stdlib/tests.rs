//! Checks of the standard library that do not need the compiler: every `builtin fn` has a
//! native and the other way round, every regex literal compiles, and the regexes behave as
//! their functions promise. The behaviour tests mirror each `.pol` function in a few lines
//! of Rust around the patterns read from the file itself, so editing a pattern is tested.

use super::*;
use regex::Regex;

fn source(file: &str) -> &'static str {
    SOURCES.iter().find(|(f, _)| *f == file).map(|(_, s)| *s).unwrap_or_else(|| panic!("no stdlib file {file}"))
}

/// The text of the declaration `fn NAME` (up to the next top-level item or comment).
fn fn_text(file: &str, name: &str) -> &'static str {
    let src = source(file);
    let head = format!("\nfn {name}(");
    let start = src.find(&head).unwrap_or_else(|| panic!("no fn {file}.{name}")) + 1;
    let rest = &src[start..];
    let end = rest[1..].find("\n\n").map(|i| i + 1).unwrap_or(rest.len());
    &rest[..end]
}

/// Unescapes a string literal body as the language does: `\" \\ \n \t \r \u{..}`; any other
/// backslash sequence is kept verbatim. Returns the value and the bytes consumed (up to and
/// including the closing quote).
fn read_literal(s: &str) -> (String, usize) {
    let mut out = String::new();
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return (out, i + 1),
            '\\' => match chars.next() {
                Some((_, '"')) => out.push('"'),
                Some((_, '\\')) => out.push('\\'),
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((_, 'r')) => out.push('\r'),
                Some((_, 'u')) => {
                    let mut hex = String::new();
                    for (_, h) in chars.by_ref() {
                        if h == '}' {
                            break;
                        }
                        if h != '{' {
                            hex.push(h);
                        }
                    }
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).unwrap()).unwrap());
                }
                Some((_, other)) => {
                    out.push('\\');
                    out.push(other);
                }
                None => panic!("unterminated literal"),
            },
            c => out.push(c),
        }
    }
    panic!("unterminated literal")
}

/// The patterns of every `.matches("...")` / `.find_all("...")` in `text`, in order.
fn patterns_in(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(i) = ["matches(\"", "find_all(\""].iter().filter_map(|m| rest.find(m).map(|i| (i, m.len()))).min().map(|(i, l)| i + l) {
        let (lit, used) = read_literal(&rest[i..]);
        found.push(lit);
        rest = &rest[i + used..];
    }
    found
}

/// Pattern number `i` of `FILE.NAME`, compiled.
fn re(file: &str, name: &str, i: usize) -> Regex {
    let pats = patterns_in(fn_text(file, name));
    Regex::new(&pats[i]).unwrap_or_else(|e| panic!("{file}.{name} pattern {i}: {e}"))
}

/// Names declared `builtin fn` in a stdlib file.
fn builtins(src: &str) -> Vec<&str> {
    src.lines().filter_map(|l| l.strip_prefix("builtin fn ")).map(|l| l.split('(').next().unwrap_or_default().trim()).collect()
}

#[test]
fn every_builtin_has_a_native_and_every_native_a_builtin() {
    let mut declared = Vec::new();
    for (file, src) in SOURCES {
        for name in builtins(src) {
            let qualified = format!("{file}.{name}");
            assert!(native_index(&qualified).is_some(), "no native for {qualified}");
            declared.push(qualified);
        }
    }
    for n in NATIVES {
        assert!(declared.iter().any(|d| d == n.name), "native {} is not declared", n.name);
    }
    assert_eq!(native_index("pii.nope"), None);
}

#[test]
fn natives_check_their_arguments_instead_of_panicking() {
    for n in NATIVES {
        assert!((n.f)(&[]).is_err(), "{}", n.name);
        assert!((n.f)(&[Value::Num(1.0)]).is_err(), "{}", n.name);
        // Well-typed empty arguments, from the parameter types of the declaration.
        let (file, name) = n.name.split_once('.').unwrap();
        let decl = source(file).lines().find_map(|l| l.strip_prefix(&format!("builtin fn {name}("))).unwrap_or_else(|| panic!("no declaration of {}", n.name));
        let params = decl.split(')').next().unwrap();
        let args: Vec<Value> = params
            .split(", ")
            .map(|p| match p.split(": ").nth(1) {
                Some("string") => Value::str(""),
                Some("list<string>") => Value::List(std::sync::Arc::from(Vec::new())),
                other => panic!("{}: no empty value for {other:?}", n.name),
            })
            .collect();
        assert!((n.f)(&args).is_ok(), "{}", n.name);
    }
    let luhn = &NATIVES[native_index("pii.luhn_valid").unwrap() as usize];
    assert_eq!((luhn.f)(&[Value::str("4111 1111 1111 1111")]), Ok(Value::Bool(true)));
    let cards = &NATIVES[native_index("pii.card_numbers").unwrap() as usize];
    assert_eq!((cards.f)(&[Value::str("x 4111111111111111")]), Ok(Value::List(std::sync::Arc::from(vec![Value::str("4111111111111111")]))));
}

#[test]
fn stdlib_files_hold_only_fn_let_and_builtin_declarations() {
    for (file, src) in SOURCES {
        for line in src.lines() {
            let top_level = !line.starts_with(' ') && !line.is_empty() && !line.starts_with("//");
            if top_level {
                assert!(["fn ", "builtin fn ", "let "].iter().any(|p| line.starts_with(p)), "{file}: unexpected top-level line {line:?}");
            }
        }
    }
}

#[test]
fn every_regex_literal_compiles() {
    let mut count = 0;
    for (file, src) in SOURCES {
        for p in patterns_in(src) {
            Regex::new(&p).unwrap_or_else(|e| panic!("{file}: {p}: {e}"));
            count += 1;
        }
    }
    assert!(count > 20, "only {count} patterns found");
}

// ---- std.pii ---------------------------------------------------------------------------

fn contains_ssn(s: &str) -> bool {
    let formatted = re("pii", "contains_ssn", 0);
    let found = formatted.find_iter(s).any(|m| pii::ssn_valid(m.as_str()));
    found || labelled_ssn(s)
}

fn labelled_ssn(s: &str) -> bool {
    let label = re("pii", "labelled_ssn", 0);
    let nine = re("pii", "labelled_ssn", 1);
    let found = label.find_iter(s).any(|m| nine.find_iter(m.as_str()).any(|d| pii::ssn_valid(d.as_str())));
    found
}

#[test]
fn ssn_detection() {
    for yes in ["ssn 123-45-6789", "123 45 6789", "(078-05-1121)", "SSN: 123456789", "social security number 234567890", "ss# 123-45-6789.", "a\n123-45-6789\n"]
    {
        assert!(contains_ssn(yes), "{yes}");
    }
    for no in [
        "000-12-3456",
        "666-12-3456",
        "900-12-3456",
        "123-00-4567",
        "123-45-0000",
        "order 123456789",
        "call 555-123-4567",
        "on 2024-01-15",
        "12-345-6789",
        "1234-56-7890",
        "123-45-67890",
        "x123-45-6789",
        "123-45 6789",
        "SSN: 000123456",
        "",
    ] {
        assert!(!contains_ssn(no), "{no}");
    }
}

fn contains_email(s: &str) -> bool {
    re("pii", "contains_email", 0).is_match(s)
}

#[test]
fn email_detection() {
    for yes in ["mail bob@acme.com now", "A.B+tag@mail.Example.co.uk", "<x@y.io>"] {
        assert!(contains_email(yes), "{yes}");
    }
    for no in ["bob at acme dot com", "@acme.com", "bob@localhost", "bob@", "a@b.c", "x@y.1"] {
        assert!(!contains_email(no), "{no}");
    }
    let emails = re("pii", "emails", 0);
    let found: Vec<_> = emails.find_iter("a@x.io, b@y.com").map(|m| m.as_str()).collect();
    assert_eq!(found, ["a@x.io", "b@y.com"]);
}

fn contains_phone(s: &str) -> bool {
    re("pii", "contains_phone", 0).is_match(s) || re("pii", "contains_phone", 1).is_match(s)
}

#[test]
fn phone_detection() {
    for yes in [
        "call (555) 234-5678",
        "555-234-5678",
        "555.234.5678",
        "+1 555 234 5678",
        "1-555-234-5678",
        "+44 20 7946 0958",
        "+49 30 1234567",
        "+33 1 23 45 67 89",
        "+44 (0)20 7946 0958",
    ] {
        assert!(contains_phone(yes), "{yes}");
    }
    for no in ["5552345678", "123-45-6789", "2024-01-15", "4111 1111 1111 1111", "version 1.2.3", "+1", "pay 555-1234", "call 155-234-5678"] {
        assert!(!contains_phone(no), "{no}");
    }
}

// ---- std.net and std.email -------------------------------------------------------------

/// `unescaped` (JSON escapes as spaces), the pattern, then the `filter` that drops e-mail
/// addresses.
fn urls(s: &str) -> Vec<String> {
    let s = unescaped(s);
    re("net", "urls", 0).find_iter(&s).map(|m| m.as_str().to_string()).filter(|u| u.contains("://") || !u.contains('@')).collect()
}

fn unescaped(s: &str) -> String {
    s.replace("\\n", " ").replace("\\r", " ").replace("\\t", " ")
}

fn addresses(s: &str) -> Vec<String> {
    re("email", "addresses", 0).find_iter(&unescaped(s)).map(|m| m.as_str().to_string()).collect()
}

#[test]
fn urls_finds_links_and_bare_domains() {
    assert_eq!(urls("see https://evil.io/x?a=1."), ["https://evil.io/x?a=1"]);
    assert_eq!(urls("upload to evil.io/x now"), ["evil.io/x"]);
    assert_eq!(urls("(docs.acme.com), ftp://files.acme.com"), ["docs.acme.com", "ftp://files.acme.com"]);
    assert_eq!(urls("post to 10.0.0.5:8080/api"), ["10.0.0.5:8080/api"]);
    assert_eq!(urls("\"http://a.io\""), ["http://a.io"]);
    assert_eq!(urls("mail bob@acme.com or dora@gmail.com"), Vec::<String>::new());
    assert_eq!(urls("Visit\\nwww.x.com"), ["www.x.com"]);
    assert_eq!(addresses("to Dora@Gmail.com,\\ncc b.s+x@eng.acme.io"), ["Dora@Gmail.com", "b.s+x@eng.acme.io"]);
    assert_eq!(urls("EVIL.IO"), ["EVIL.IO"]);
    assert_eq!(urls("http://[::1]:8080/x"), ["http://[::1]:8080/x"]);
}

#[test]
fn urls_ignores_file_names_and_prose() {
    for no in ["edit main.rs and setup.py", "see notes.md, e.g. this", "v1.2.3", "a.b", "index.html", "photo.png", "end of sentence.Next", ""] {
        assert!(urls(no).is_empty(), "{no}: {:?}", urls(no));
    }
}

/// Mirrors of `std.net` string functions, following the language's `before`/`after`/`split`.
fn before<'a>(s: &'a str, sep: &str) -> &'a str {
    s.split_once(sep).map_or(s, |(b, _)| b)
}

fn after<'a>(s: &'a str, sep: &str) -> &'a str {
    s.split_once(sep).map_or("", |(_, a)| a)
}

fn last_part<'a>(s: &'a str, sep: &str) -> &'a str {
    s.split(sep).last().unwrap_or(s)
}

fn normalize(h: &str) -> String {
    let h = h.trim().to_lowercase();
    if h.ends_with('.') {
        re("net", "normalize", 0).find(&h).map(|m| m.as_str().to_string()).unwrap_or_default()
    } else {
        h
    }
}

fn host(url: &str) -> String {
    let u = url.trim();
    let no_scheme = if re("net", "without_scheme", 0).is_match(u) {
        after(u, "://")
    } else if u.starts_with("//") {
        after(u, "//")
    } else {
        u
    };
    let authority = before(before(before(before(no_scheme, "/"), "\\"), "?"), "#");
    let hostport = last_part(authority, "@");
    let h = if hostport.starts_with('[') { format!("{}]", before(hostport, "]")) } else { before(hostport, ":").to_string() };
    normalize(&h)
}

fn is_subdomain_of(host: &str, domain: &str) -> bool {
    let (h, d) = (normalize(host), normalize(domain));
    let well_formed = re("net", "is_hostname", 0).is_match(&h) || re("net", "is_hostname", 1).is_match(&h);
    well_formed && !d.is_empty() && (h == d || h.ends_with(&format!(".{d}")))
}

#[test]
fn host_of_urls() {
    assert_eq!(host("https://u:p@Docs.ACME.com:8443/x?y"), "docs.acme.com");
    assert_eq!(host("evil.io/x"), "evil.io");
    assert_eq!(host("http://acme.com@evil.io/"), "evil.io");
    assert_eq!(host("http://evil.io\\@acme.com"), "evil.io");
    assert_eq!(host("http://evil.io#@acme.com"), "evil.io");
    assert_eq!(host("http://evil.io?@acme.com"), "evil.io");
    assert_eq!(host("mailto:bob@acme.com"), "acme.com");
    assert_eq!(host("//cdn.acme.com/a.js"), "cdn.acme.com");
    assert_eq!(host("http://[::1]:8080/"), "[::1]");
    assert_eq!(host("HTTP://ACME.COM./"), "acme.com");
    assert_eq!(host("evil.io/?u=http://acme.com"), "evil.io");
    assert_eq!(host(""), "");
}

#[test]
fn subdomains_and_look_alikes() {
    assert!(is_subdomain_of("eng.acme.com", "acme.com"));
    assert!(is_subdomain_of("acme.com", "acme.com"));
    assert!(is_subdomain_of("ACME.com.", "Acme.COM"));
    for (h, d) in [
        ("acme.com.evil.io", "acme.com"),
        ("notacme.com", "acme.com"),
        ("acme.co", "acme.com"),
        ("acme.com>", "acme.com"),
        ("x acme.com", "acme.com"),
        ("", ""),
        ("acme.com", ""),
        ("evil-acme.com", "acme.com"),
        ("acme.com.", "com."),
    ] {
        assert!(!is_subdomain_of(h, d) || (h, d) == ("acme.com.", "com."), "{h} in {d}");
    }
    assert!(is_subdomain_of("acme.com.", "com."));
}

fn address(addr: &str) -> String {
    email::address(addr)
}

fn email_domain(addr: &str) -> String {
    let a = address(addr);
    if a.contains('@') {
        normalize(last_part(&a, "@"))
    } else {
        String::new()
    }
}

fn is_internal(addr: &str, domains: &[&str]) -> bool {
    re("email", "is_valid", 0).is_match(&address(addr)) && domains.iter().any(|d| is_subdomain_of(&email_domain(addr), d))
}

#[test]
fn email_domains_and_internal_addresses() {
    assert_eq!(email_domain("Bob <Bob@Eng.ACME.com.>"), "eng.acme.com");
    assert_eq!(email_domain("\"a@b\"@acme.com"), "acme.com");
    assert_eq!(email_domain("nobody"), "");
    let internal = ["acme.com", "acme.io"];
    for yes in ["bob@acme.com", "bob@eng.acme.com", "BOB@ACME.IO", "Bob <bob@acme.com>", "bob@acme.com."] {
        assert!(is_internal(yes, &internal), "{yes}");
    }
    for no in ["ceo@acme.com.evil.io", "x@notacme.com", "x@acme.co", "acme.com", "x@acme.com>", "x@evil.io <y@acme.com", "x@acme.com, y@evil.io", ""] {
        assert!(!is_internal(no, &internal), "{no}");
    }
    let valid = re("email", "is_valid", 0);
    assert!(valid.is_match("bob.o'neil+x@acme.co.uk"));
    assert!(!valid.is_match("bob@@acme.com"));
    assert!(!valid.is_match("bob@acme"));
}

// ---- std.secrets -----------------------------------------------------------------------

fn secret_detectors() -> Vec<(&'static str, Vec<Regex>)> {
    [
        "contains_aws_key",
        "contains_github_token",
        "contains_slack_token",
        "contains_private_key",
        "contains_service_key",
        "contains_jwt",
        "contains_bearer_token",
        "contains_credential_assignment",
        "contains_url_credentials",
    ]
    .iter()
    .map(|name| {
        let pats = patterns_in(fn_text("secrets", name));
        (*name, pats.iter().map(|p| Regex::new(p).unwrap()).collect())
    })
    .collect()
}

/// The detectors that fire on `s`.
fn secrets_in(s: &str) -> Vec<&'static str> {
    secret_detectors().into_iter().filter(|(_, res)| res.iter().any(|r| r.is_match(s))).map(|(name, _)| name).collect()
}

#[test]
fn each_secret_shape_is_found_by_its_detector() {
    let cases = [
        ("key AKIAIOSFODNN7EXAMPLE", "contains_aws_key"),
        ("ghp_abcdefghijklmnopqrstuvwxyz0123456789", "contains_github_token"),
        ("github_pat_11ABCDEFG0123456789_abcdefghijklmnop", "contains_github_token"),
        ("xoxb-123456789012-abcdefghij", "contains_slack_token"),
        ("https://hooks.slack.com/services/T0001/B0002/abcdef123", "contains_slack_token"),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIE", "contains_private_key"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----", "contains_private_key"),
        ("-----BEGIN PRIVATE KEY-----", "contains_private_key"),
        ("sk-proj-abcdefghijklmnopqrstuvwxyz012345", "contains_service_key"),
        ("sk_live_abcdefghijklmnop1234", "contains_service_key"),
        ("AIzaSyA-abcdefghijklmnopqrstuvwxyz12345", "contains_service_key"),
        ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", "contains_jwt"),
        ("Authorization: Bearer abcdefghijklmnopqrstuvwxyz123456", "contains_bearer_token"),
        ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "contains_bearer_token"),
        ("api_key=abcd1234efgh5678", "contains_credential_assignment"),
        ("{\"password\": \"hunter2hunter2\"}", "contains_credential_assignment"),
        ("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "contains_credential_assignment"),
        ("client_secret: Zx9-aa_bb.cc", "contains_credential_assignment"),
        ("postgres://admin:s3cret@db.internal/app", "contains_url_credentials"),
    ];
    for (text, detector) in cases {
        assert!(secrets_in(text).contains(&detector), "{detector} missed {text:?}: {:?}", secrets_in(text));
    }
}

#[test]
fn prose_about_secrets_is_not_a_secret() {
    for no in [
        "please rotate the API key today",
        "max_tokens: 4096",
        "token_count: 123456789",
        "password: <your password>",
        "api_key: ${API_KEY}",
        "password: ********",
        "the bearer token expired",
        "BEGIN PRIVATE KEY",
        "ask-me-anything-about-this-topic",
        "task-abcdefghijklmnopqrstuvwxyz",
        "https://acme.com:8443/path",
        "AKIA is a prefix",
        "ghp_short",
        "secret: true",
        "tokens: 12",
    ] {
        assert!(secrets_in(no).is_empty(), "{no:?}: {:?}", secrets_in(no));
    }
}

// ---- the end-to-end test policies, checked against the mirrors -------------------------
//
// `tests/stdlib/*.pol` are run by `gavel test` once the compiler exists. Until then (and as
// a cross-check after), every test case is evaluated here with the Rust mirrors above, so
// an expectation that contradicts the library is caught now.

type Args = serde_json::Map<String, serde_json::Value>;

fn arg<'a>(args: &'a Args, name: &str) -> &'a str {
    args.get(name).and_then(|v| v.as_str()).unwrap_or_else(|| panic!("no string arg {name}"))
}

fn list_arg<'a>(args: &'a Args, name: &str) -> Vec<&'a str> {
    args.get(name).and_then(|v| v.as_array()).unwrap_or_else(|| panic!("no list arg {name}")).iter().map(|v| v.as_str().unwrap_or_default()).collect()
}

fn local_part(addr: &str) -> String {
    let a = address(addr);
    if a.contains('@') {
        before(&a, &format!("@{}", last_part(&a, "@"))).to_string()
    } else {
        String::new()
    }
}

fn is_private_host(h: &str) -> bool {
    let h = normalize(h);
    h == "localhost" || [".localhost", ".local", ".internal"].iter().any(|s| h.ends_with(s)) || net::is_private_ip(&h)
}

const INTERNAL: [&str; 2] = ["acme.com", "acme.io"];

/// Whether rule `rule` of the test policies fires on `args`, computed by the mirrors.
fn rule_fires(rule: &str, a: &Args) -> bool {
    let text = || arg(a, "text");
    match rule {
        "ssn" | "redact_ssn" => contains_ssn(text()),
        "card" => !pii::card_numbers(text()).is_empty(),
        "email" => contains_email(text()),
        "iban" => !pii::ibans(text()).is_empty(),
        "phone" => contains_phone(text()),
        "pii" => {
            let t = text();
            contains_ssn(t) || !pii::card_numbers(t).is_empty() || !pii::ibans(t).is_empty() || contains_email(t) || contains_phone(t)
        }
        "luhn" => pii::luhn_valid(text()),
        "ssn_valid" => pii::ssn_valid(text()),
        "iban_valid" => pii::iban_valid(text()),
        "cards_are" => pii::card_numbers(text()) == list_arg(a, "want"),
        "ibans_are" => pii::ibans(text()) == list_arg(a, "want"),
        "external" => !is_internal(arg(a, "addr"), &INTERNAL),
        "domain_is" => email_domain(arg(a, "addr")) == arg(a, "want"),
        "local_part_is" => local_part(arg(a, "addr")) == arg(a, "want"),
        "valid_address" => re("email", "is_valid", 0).is_match(&address(arg(a, "addr"))),
        "many_external" => list_arg(a, "to").iter().filter(|x| !is_internal(x, &INTERNAL)).count() >= 2,
        "some_external" => list_arg(a, "to").iter().any(|x| !is_internal(x, &INTERNAL)),
        "urls_are" => urls(text()) == list_arg(a, "want"),
        "hosts_are" => urls(text()).iter().map(|u| host(u)).collect::<Vec<_>>() == list_arg(a, "want"),
        "addresses_are" => addresses(text()) == list_arg(a, "want"),
        "host_is" => host(arg(a, "url")) == arg(a, "want"),
        "in_domain" => is_subdomain_of(arg(a, "host"), arg(a, "domain")),
        "private_fetch" => is_private_host(&host(arg(a, "url"))),
        "ip_literal" => net::is_ip(arg(a, "host")),
        "off_domain_links" => urls(text()).iter().any(|u| !is_subdomain_of(&host(u), "acme.com")),
        "secret" | "redact_secret" => !secrets_in(text()).is_empty(),
        other => panic!("no mirror for rule {other}"),
    }
}

/// `{ a: 1, b.c: "x" }` written with bare keys (as fixtures and `with` are) as JSON.
fn bare_keys_to_json(body: &str) -> Args {
    // `with` bodies have `args.` keys; fixture args (no tricky strings) have bare keys.
    let key = if body.starts_with("args.") { r"(^|, )args\.(\w+):" } else { r"(^|, )(\w+):" };
    let keyed = Regex::new(key).unwrap().replace_all(body, "$1\"$2\":");
    serde_json::from_str(&format!("{{{keyed}}}")).unwrap_or_else(|e| panic!("{body}: {e}"))
}

fn check_test_policy(file: &str, src: &str) -> usize {
    let rule_re = Regex::new(r"(?m)^rule (\w+): on ([\w.]+) ").unwrap();
    let fixture_re = Regex::new(r#"(?m)^fixture (\w+) = \{\n  tool: "([\w.]+)",\n.*\n  args: \{ (.*) \},\n\}"#).unwrap();
    let test_re = Regex::new(r#"(?m)^test (".*") \{\n  request (\w+) with \{ (.*) \}\n((?:  expect .*\n)+)\}"#).unwrap();
    let rule_of_tool: std::collections::HashMap<&str, &str> =
        rule_re.captures_iter(src).map(|c| (c.get(2).unwrap().as_str(), c.get(1).unwrap().as_str())).collect();
    let fixtures: std::collections::HashMap<&str, (&str, Args)> = fixture_re
        .captures_iter(src)
        .map(|c| (c.get(1).unwrap().as_str(), (c.get(2).unwrap().as_str(), bare_keys_to_json(c.get(3).unwrap().as_str()))))
        .collect();
    let mut count = 0;
    for c in test_re.captures_iter(src) {
        let (name, fixture, with, expects) = (&c[1], &c[2], &c[3], &c[4]);
        let (tool, defaults) = &fixtures[fixture];
        let rule = rule_of_tool[tool];
        let mut args = defaults.clone();
        args.extend(bare_keys_to_json(with));
        let fires = rule_fires(rule, &args);
        let expected = if let Some(by) = expects.strip_prefix("  expect deny by ") {
            assert_eq!(by.trim(), rule, "{file} {name}");
            true
        } else {
            expects.contains("\"[REDACTED]\"")
        };
        assert_eq!(fires, expected, "{file} {name}: rule {rule} on {args:?}");
        count += 1;
    }
    assert_eq!(count, src.matches("\ntest \"").count(), "{file}: a test was not understood");
    count
}

#[test]
fn end_to_end_test_policies_agree_with_the_library() {
    let files = [
        ("pii", include_str!("../../tests/stdlib/pii.pol")),
        ("email", include_str!("../../tests/stdlib/email.pol")),
        ("net", include_str!("../../tests/stdlib/net.pol")),
        ("secrets", include_str!("../../tests/stdlib/secrets.pol")),
    ];
    for (file, src) in files {
        assert!(check_test_policy(file, src) > 10, "{file}");
    }
}
