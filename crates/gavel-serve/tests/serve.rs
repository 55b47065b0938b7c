//! `gavel serve` over real sockets: the server started in-process on port 0 (`Server::start`),
//! a minimal HTTP/1.1 client on `std::net::TcpStream`. The policy is examples/payments.

use gavel_serve::{LogSync, Options, Server};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};

/// A real `redis-server` on a free port (shared with gavel-store's tests).
#[path = "../../gavel-store/tests/common/mod.rs"]
mod redis_server;

const AGENT: &str = "agent-token-0123456789";
const GATEWAY: &str = "gateway-token-0123456789";
const TREASURER: &str = "treasurer-token-0123456789";
const OBSERVER: &str = "observer-token-0123456789";

fn config(dir: &Path) -> PathBuf {
    let path = dir.join("gavel.toml");
    let text = format!(
        "approval_ttl = 60\n\
         [[tokens]]\ntoken = \"{AGENT}\"\nkind = \"agent\"\nname = \"pay-agent-1\"\n\n\
         [[tokens]]\ntoken = \"{GATEWAY}\"\nkind = \"agent\"\nname = \"gateway\"\nany_agent = true\n\n\
         [[tokens]]\ntoken = \"{TREASURER}\"\nkind = \"reviewer\"\nname = \"tess\"\nroles = [\"treasurer\"]\n\n\
         [[tokens]]\ntoken = \"{OBSERVER}\"\nkind = \"reviewer\"\nname = \"olga\"\nroles = [\"auditor\"]\n"
    );
    std::fs::write(&path, text).expect("write the config");
    path
}

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/payments")
}

fn case(name: &str) -> Value {
    let text = std::fs::read_to_string(example().join("cases").join(name)).expect("read the case");
    serde_json::from_str::<Value>(&text).expect("a case is JSON")["request"].clone()
}

struct Running {
    rt: tokio::runtime::Runtime,
    server: Option<Server>,
    addr: SocketAddr,
    log: PathBuf,
    dir: tempfile::TempDir,
}

fn options(dir: &Path, policy: PathBuf) -> Options {
    Options {
        listen: "127.0.0.1:0".into(),
        config: Some(config(dir)),
        log: dir.join("decisions.jsonl"),
        state: dir.join("state"),
        watch: false,
        ..Options::new(vec![policy])
    }
}

fn start_with(dir: tempfile::TempDir, options: Options) -> Running {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
    let log = options.log.clone();
    let server = rt.block_on(Server::start(options)).expect("the server starts");
    Running { addr: server.addr, server: Some(server), rt, log, dir }
}

fn start() -> Running {
    let dir = tempfile::tempdir().expect("a temp dir");
    let o = options(dir.path(), example().join("policy.pol"));
    start_with(dir, o)
}

impl Running {
    fn req(&self, method: &str, path: &str, token: Option<&str>, body: Option<&[u8]>) -> (u16, Value) {
        let (status, raw) = http(self.addr, method, path, token, body);
        (status, serde_json::from_slice(&raw).unwrap_or(Value::Null))
    }

    fn decide(&self, body: &Value) -> (u16, Value) {
        self.req("POST", "/v1/decide", Some(AGENT), Some(body.to_string().as_bytes()))
    }

    fn review(&self, id: &str, action: &str, token: &str) -> (u16, Value) {
        self.req("POST", &format!("/v1/approvals/{id}/{action}"), Some(token), Some(br#"{"comment": "ok"}"#))
    }

    fn log_lines(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log).expect("read the log").lines().map(|l| serde_json::from_str(l).expect("a log line is JSON")).collect()
    }

    fn stop(mut self) -> tempfile::TempDir {
        let server = self.server.take().expect("running");
        self.rt.block_on(server.stop()).expect("stops cleanly");
        self.dir
    }
}

/// One request on a fresh connection; the status and the body.
fn http(addr: SocketAddr, method: &str, path: &str, token: Option<&str>, body: Option<&[u8]>) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(addr).expect("connect");
    let body = body.unwrap_or_default();
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).and_then(|()| s.write_all(body)).expect("send");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read the answer");
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("an HTTP answer");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status = head.split(' ').nth(1).and_then(|c| c.parse().ok()).expect("a status");
    (status, raw[split + 4..].to_vec())
}

fn forms(req: &Value) -> Vec<(&'static str, Value)> {
    let mut env = req.clone();
    let map = env.as_object_mut().expect("an object");
    let tool = map.remove("tool").expect("a tool");
    let args = map.remove("args").unwrap_or(json!({}));
    let with = |k: &str, v: Value| {
        let mut b = env.clone();
        b[k] = v;
        b
    };
    let name = tool.as_str().expect("a name").replace('.', "__");
    vec![
        ("envelope", req.clone()),
        ("mcp", with("mcp", json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": args}}))),
        ("openai", with("openai", json!({"id": "call_1", "type": "function", "function": {"name": name, "arguments": args.to_string()}}))),
        ("openai responses", with("openai", json!({"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": name, "arguments": args.to_string()}))),
        ("anthropic", with("anthropic", json!({"type": "tool_use", "id": "toolu_1", "name": name, "input": args}))),
    ]
}

#[test]
fn every_form_decides_like_the_envelope() {
    let s = start();
    for c in ["01_small_internal_transfer_allowed.json", "02_large_external_transfer_denied.json", "03_memo_ssn_redacted.json"] {
        let mut want = None;
        for (form, body) in forms(&case(c)) {
            let (status, d) = s.decide(&body);
            assert_eq!(status, 200, "{c} {form}: {d}");
            let key = (d["decision"].clone(), d["decided_by"].clone(), d["args"].clone(), d["tool"].clone());
            assert!(d["decision_id"].as_str().is_some_and(|i| i.len() == 36), "{d}");
            assert_eq!(want.get_or_insert(key.clone()), &key, "{c} {form}");
        }
    }
    s.stop();
}

#[test]
fn bad_bodies_are_denied_with_an_input_error() {
    let s = start();
    let allowed = case("01_small_internal_transfer_allowed.json");
    let mut two = allowed.clone();
    two["anthropic"] = json!({"type": "tool_use", "id": "t", "name": "payments__transfer", "input": {}});
    let mut bad_args = allowed.clone();
    bad_args.as_object_mut().expect("object").remove("args");
    bad_args.as_object_mut().expect("object").remove("tool");
    bad_args["openai"] = json!({"id": "c", "type": "function", "function": {"name": "payments__transfer", "arguments": "{\"amount\": "}});
    let huge = format!(r#"{{"tool": "payments.transfer", "args": {{"memo": "{}"}}}}"#, "x".repeat(2 << 20));
    for (name, body) in [("two forms", two.to_string()), ("bad arguments", bad_args.to_string()), ("not json", "{not json".into()), ("too large", huge)] {
        let (status, d) = s.req("POST", "/v1/decide", Some(AGENT), Some(body.as_bytes()));
        assert_eq!(status, 200, "{name}: {d}");
        assert_eq!(d["decision"], "deny", "{name}: {d}");
        assert_eq!(d["errors"][0]["kind"], "input", "{name}: {d}");
    }
    // Each was logged like any decision.
    assert_eq!(s.log_lines().iter().filter(|l| l["type"] == "decision" && l["decision"] == "deny").count(), 4);
    s.stop();
}

/// The status line's code of what the server answers to `bytes` sent raw (`None`: it closed
/// the connection without an answer).
fn raw_status(addr: SocketAddr, bytes: &[u8]) -> Option<u16> {
    let mut s = TcpStream::connect(addr).expect("connect");
    // A server that stops reading early may reset the connection under a large write.
    let _ = s.write_all(bytes);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    String::from_utf8_lossy(&raw).split(' ').nth(1).and_then(|c| c.parse().ok())
}

#[test]
fn huge_headers_and_stalled_clients_are_cut_off() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let o = Options { header_timeout: std::time::Duration::from_secs(1), ..options(dir.path(), example().join("policy.pol")) };
    let s = start_with(dir, o);
    let body = case("01_small_internal_transfer_allowed.json").to_string();
    let request = |extra: &str| {
        format!(
            "POST /v1/decide HTTP/1.1\r\nHost: test\r\nConnection: close\r\nAuthorization: Bearer {AGENT}\r\n{extra}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    assert_eq!(raw_status(s.addr, request("").as_bytes()), Some(200), "the request itself is fine");
    let huge = format!("X-Big: {}\r\n", "a".repeat(1 << 20));
    assert_eq!(raw_status(s.addr, request(&huge).as_bytes()), Some(431), "a 1 MiB header");
    let many: String = (0..200).map(|i| format!("X-H{i}: v\r\n")).collect();
    assert_eq!(raw_status(s.addr, request(&many).as_bytes()), Some(431), "200 headers");
    // A client that starts its headers and stops: the server closes the connection (with a
    // 408 or without a word) instead of holding it for ever. Before the header timeout this
    // read never returned.
    let mut stalled = TcpStream::connect(s.addr).expect("connect");
    stalled.set_read_timeout(Some(std::time::Duration::from_secs(120))).expect("a read timeout");
    stalled.write_all(b"POST /v1/decide HTTP/1.1\r\nHost: test\r\n").expect("send");
    let mut raw = Vec::new();
    let read = stalled.read_to_end(&mut raw);
    assert!(read.is_ok(), "the server closed the stalled connection: {read:?}");
    let answer = String::from_utf8_lossy(&raw);
    assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert_eq!(s.req("GET", "/healthz", None, None).0, 200, "and goes on serving");
    let decided = s.log_lines().iter().filter(|l| l.get("decision").is_some()).count();
    assert_eq!(decided, 1, "only the well-formed request was decided");
    s.stop();
}

#[test]
fn tokens_routes_and_methods() {
    let s = start();
    let body = case("01_small_internal_transfer_allowed.json").to_string();
    let b = Some(body.as_bytes());
    assert_eq!(s.req("POST", "/v1/decide", None, b).0, 401);
    assert_eq!(s.req("POST", "/v1/decide", Some("wrong-token-0123456789"), b).0, 401);
    assert_eq!(s.req("POST", "/v1/decide", Some(TREASURER), b).0, 403, "a reviewer token cannot decide");
    assert_eq!(s.req("POST", "/v1/decide", Some(AGENT), b).0, 200);
    assert_eq!(s.req("POST", "/v1/decide", Some(GATEWAY), b).0, 200, "any_agent speaks for pay-agent-1");
    let mut other = case("01_small_internal_transfer_allowed.json");
    other["agent"]["id"] = json!("someone-else");
    assert_eq!(s.decide(&other).0, 403, "an agent token may not speak for another agent");
    assert_eq!(s.req("GET", "/v1/approvals?status=pending", Some(AGENT), None).0, 403);
    assert_eq!(s.req("POST", "/v1/reload", Some(AGENT), None).0, 403);
    assert_eq!(s.req("GET", "/v1/approvals?status=pending", None, None).0, 401);
    assert_eq!(s.req("GET", "/v1/approvals?status=nope", Some(TREASURER), None).0, 400);
    assert_eq!(s.req("GET", "/healthz", None, None).0, 200);
    assert_eq!(s.req("GET", "/metrics", None, None).0, 401);
    assert_eq!(s.req("GET", "/v1/status", Some(AGENT), None).0, 200);
    for token in [None, Some(AGENT)] {
        assert_eq!(s.req("GET", "/v1/nothing", token, None).0, 404);
        assert_eq!(s.req("GET", "/v1/decide", token, None).0, 405);
        assert_eq!(s.req("DELETE", "/v1/status", token, None).0, 405);
    }
    s.stop();
}

#[test]
fn the_approval_flow() {
    let s = start();
    let call = case("09_null_optional_is_missing_needs_treasurer.json");
    let (status, d) = s.decide(&call);
    assert_eq!((status, d["decision"].as_str()), (200, Some("require_approval")), "{d}");
    let id = d["approval"]["id"].as_str().expect("an approval id").to_string();
    assert_eq!(d["approval"]["status"], "pending");

    let (_, listed) = s.req("GET", "/v1/approvals?status=pending", Some(TREASURER), None);
    assert!(listed["approvals"].as_array().expect("a list").iter().any(|a| a["id"] == id.as_str()), "{listed}");
    let (_, listed) = s.req("GET", "/v1/approvals?status=pending", Some(OBSERVER), None);
    assert!(listed["approvals"].as_array().expect("a list").is_empty(), "{listed}");
    assert_eq!(s.review(&id, "approve", OBSERVER).0, 403, "no treasurer role");
    assert_eq!(s.review(&id, "approve", TREASURER).0, 200);
    assert_eq!(s.review(&id, "approve", TREASURER).0, 409);
    assert_eq!(s.review("0190b5a8-0000-7000-8000-000000000000", "approve", TREASURER).0, 404);
    let (status, a) = s.req("GET", &format!("/v1/approvals/{id}"), Some(AGENT), None);
    assert_eq!((status, a["status"].as_str()), (200, Some("approved")));

    // A changed call does not pass and does not use the approval up.
    let mut changed = call.clone();
    changed["args"]["amount"] = json!(call["args"]["amount"].as_f64().expect("an amount") + 1.0);
    changed["approval_id"] = json!(id);
    assert_eq!(s.decide(&changed).1["decision"], "require_approval");
    let mut retry = call.clone();
    retry["approval_id"] = json!(id);
    let (_, d) = s.decide(&retry);
    assert_eq!(d["decision"], "allow", "{d}");
    assert_eq!(d["approval"]["status"], "consumed");
    assert_eq!(d["decided_by"], json!(["treasurer_sign_off"]));
    assert_eq!(s.decide(&retry).1["decision"], "require_approval", "consumed once");

    // Reject; no approving a rejected one.
    let (_, d) = s.decide(&call);
    let id2 = d["approval"]["id"].as_str().expect("an id").to_string();
    assert_eq!(s.review(&id2, "reject", TREASURER).0, 200);
    assert_eq!(s.review(&id2, "approve", TREASURER).0, 409);
    let mut retry2 = call.clone();
    retry2["approval_id"] = json!(id2);
    assert_eq!(s.decide(&retry2).1["decision"], "require_approval");

    let actions: Vec<(String, String)> = s
        .log_lines()
        .iter()
        .filter(|l| l["type"] == "approval")
        .map(|l| (l["approval_id"].as_str().unwrap_or_default().to_string(), l["action"].as_str().unwrap_or_default().to_string()))
        .collect();
    for (aid, action) in [(&id, "created"), (&id, "approved"), (&id, "consumed"), (&id2, "rejected")] {
        assert!(actions.contains(&(aid.clone(), action.to_string())), "{aid} {action}: {actions:?}");
    }
    s.stop();
}

#[test]
fn no_self_approval() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let o = options(dir.path(), example().join("policy.pol"));
    let s = start_with(dir, o);
    let mut call = case("09_null_optional_is_missing_needs_treasurer.json");
    call["user"]["id"] = json!("tess");
    let (_, d) = s.decide(&call);
    let id = d["approval"]["id"].as_str().expect("an id").to_string();
    assert_eq!(s.review(&id, "approve", TREASURER).0, 403, "tess asked for it");
    assert_eq!(s.review(&id, "reject", TREASURER).0, 403, "for reject too");
    s.stop();
}

#[test]
fn concurrent_retries_consume_once() {
    let s = start();
    let call = case("09_null_optional_is_missing_needs_treasurer.json");
    let id = s.decide(&call).1["approval"]["id"].as_str().expect("an id").to_string();
    assert_eq!(s.review(&id, "approve", TREASURER).0, 200);
    let mut retry = call.clone();
    retry["approval_id"] = json!(id);
    let body = retry.to_string();
    let barrier = std::sync::Barrier::new(16);
    let answers: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..16)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    let (_, raw) = http(s.addr, "POST", "/v1/decide", Some(AGENT), Some(body.as_bytes()));
                    serde_json::from_slice::<Value>(&raw).map(|d| d["decision"].as_str().unwrap_or("?").to_string()).unwrap_or_default()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a thread")).collect()
    });
    assert_eq!(answers.iter().filter(|a| *a == "allow").count(), 1, "{answers:?}");
    assert_eq!(answers.iter().filter(|a| *a == "require_approval").count(), 15, "{answers:?}");
    s.stop();
}

#[test]
fn every_answer_is_in_the_log_first_and_redactions_are_masked() {
    let s = start();
    let redacted = case("03_memo_ssn_redacted.json");
    let memo = redacted["args"]["memo"].as_str().expect("a memo").to_string();
    for (_, body) in forms(&redacted) {
        let (status, d) = s.decide(&body);
        assert_eq!(status, 200);
        // The line is there as soon as the answer is.
        let id = d["decision_id"].as_str().expect("an id");
        assert_eq!(s.log_lines().iter().filter(|l| l["decision_id"] == id).count(), 1);
    }
    // Denied (over the external cap): no modification applies, but the memo is still masked.
    let mut denied = redacted.clone();
    denied["args"]["amount"] = json!(25_000);
    for (_, body) in forms(&denied) {
        assert_eq!(s.decide(&body).1["decision"], "deny");
    }
    let text = std::fs::read_to_string(&s.log).expect("read the log");
    let ssn = memo.split(' ').next_back().expect("the memo ends with the number");
    assert!(ssn.len() == 11 && !text.contains(ssn), "the redacted {ssn} leaked into the log");
    s.stop();
}

#[test]
fn an_unwritable_log_answers_503_and_is_counted() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let o = Options { log: "/dev/full".into(), log_sync: LogSync::Group, ..options(dir.path(), example().join("policy.pol")) };
    let s = start_with(dir, o);
    for c in ["01_small_internal_transfer_allowed.json", "02_large_external_transfer_denied.json"] {
        let (status, d) = s.decide(&case(c));
        assert_eq!(status, 503, "{d}");
        assert!(d.get("decision").is_none(), "no decision leaves: {d}");
    }
    let (_, raw) = http(s.addr, "GET", "/metrics", Some(AGENT), None);
    let text = String::from_utf8_lossy(&raw).to_string();
    assert!(text.lines().any(|l| l == "gavel_log_errors_total 2"), "{text}");
    // Stopping flushes /dev/full, which fails: reported, not hidden.
    let mut s = s;
    let server = s.server.take().expect("running");
    assert!(s.rt.block_on(server.stop()).is_err());
}

#[test]
fn reload_good_and_bad() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let policy = dir.path().join("policy");
    std::fs::create_dir(&policy).expect("mkdir");
    let source = std::fs::read_to_string(example().join("policy.pol")).expect("read the policy");
    std::fs::write(policy.join("policy.pol"), &source).expect("write");
    let o = options(dir.path(), policy.clone());
    let s = start_with(dir, o);
    let call = case("09_null_optional_is_missing_needs_treasurer.json");
    let (_, before) = s.decide(&call);
    assert_eq!(before["decision"], "require_approval");

    std::fs::write(policy.join("policy.pol"), source.replace("let treasurer_threshold = 2_500", "let treasurer_threshold = 1_000_000_000")).expect("write");
    let (status, r) = s.req("POST", "/v1/reload", Some(TREASURER), None);
    assert_eq!((status, r["ok"].as_bool()), (200, Some(true)), "{r}");
    let (_, after) = s.decide(&call);
    assert_ne!(after["decision"], "require_approval", "{after}");
    assert_ne!(after["policy"]["digest"], before["policy"]["digest"]);

    std::fs::write(policy.join("policy.pol"), "rule broken:\n  deny when (\n").expect("write");
    let (status, r) = s.req("POST", "/v1/reload", Some(TREASURER), None);
    assert_eq!((status, r["ok"].as_bool()), (422, Some(false)), "{r}");
    let (_, still) = s.decide(&call);
    assert_eq!(still["policy"]["digest"], after["policy"]["digest"], "the last good policy serves");
    let (_, st) = s.req("GET", "/v1/status", Some(AGENT), None);
    assert_eq!(st["last_reload"]["ok"], false, "{st}");
    assert!(st["last_reload"]["error"].as_str().is_some_and(|e| !e.is_empty()), "{st}");
    assert_eq!(st["policy"]["digest"], after["policy"]["digest"]);
    let reloads: Vec<bool> = s.log_lines().iter().filter(|l| l["type"] == "reload").map(|l| l["ok"].as_bool().unwrap_or(true)).collect();
    assert_eq!(reloads, [true, false]);
    s.stop();
}

#[test]
fn reload_under_load_fails_no_request_and_mixes_no_policy() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let dir = tempfile::tempdir().expect("a temp dir");
    let policy = dir.path().join("policy");
    std::fs::create_dir(&policy).expect("mkdir");
    let strict = std::fs::read_to_string(example().join("policy.pol")).expect("read the policy");
    let lenient = strict.replace("let treasurer_threshold = 2_500", "let treasurer_threshold = 1_000_000_000");
    let file = policy.join("policy.pol");
    std::fs::write(&file, &strict).expect("write");
    let o = options(dir.path(), policy.clone());
    let s = start_with(dir, o);
    let call = case("09_null_optional_is_missing_needs_treasurer.json");
    let body = call.to_string();
    let reload = |text: &str| {
        std::fs::write(&file, text).expect("write");
        let (status, r) = s.req("POST", "/v1/reload", Some(TREASURER), None);
        assert_eq!((status, r["ok"].as_bool()), (200, Some(true)), "{r}");
    };
    // Each policy's digest and what it decides for the call, learnt before the load.
    let (_, a) = s.decide(&call);
    reload(&lenient);
    let (_, b) = s.decide(&call);
    assert_ne!(a["decision"], b["decision"], "the two policies decide the call differently");
    let expected = |digest: &Value| {
        if *digest == a["policy"]["digest"] {
            Some(&a["decision"])
        } else if *digest == b["policy"]["digest"] {
            Some(&b["decision"])
        } else {
            None
        }
    };

    const CLIENTS: usize = 4;
    let generation = AtomicUsize::new(0);
    let seen: Vec<AtomicUsize> = (0..CLIENTS).map(|_| AtomicUsize::new(0)).collect();
    let stop = AtomicBool::new(false);
    let answers: Vec<(u16, Value)> = std::thread::scope(|scope| {
        let clients: Vec<_> = (0..CLIENTS)
            .map(|c| {
                let (generation, seen, stop, body) = (&generation, &seen, &stop, &body);
                scope.spawn(move || {
                    let mut out = Vec::new();
                    while !stop.load(Ordering::SeqCst) {
                        let started_in = generation.load(Ordering::SeqCst);
                        let (status, raw) = http(s.addr, "POST", "/v1/decide", Some(AGENT), Some(body.as_bytes()));
                        out.push((status, serde_json::from_slice::<Value>(&raw).unwrap_or(Value::Null)));
                        seen[c].store(started_in, Ordering::SeqCst);
                    }
                    out
                })
            })
            .collect();
        for round in 1..=10 {
            reload(if round % 2 == 1 { &strict } else { &lenient });
            generation.store(round, Ordering::SeqCst);
            // Until every client has sent a request after this reload (so both policies serve
            // under load), whatever the speed of the machine.
            while seen.iter().any(|g| g.load(Ordering::SeqCst) < round) {
                std::thread::yield_now();
            }
        }
        stop.store(true, Ordering::SeqCst);
        clients.into_iter().flat_map(|h| h.join().expect("a client")).collect()
    });
    assert!(answers.len() >= CLIENTS * 10);
    for (status, d) in &answers {
        assert_eq!(*status, 200, "{d}");
        assert_eq!(expected(&d["policy"]["digest"]), Some(&d["decision"]), "a decision of one policy under another's name: {d}");
    }
    for digest in [&a["policy"]["digest"], &b["policy"]["digest"]] {
        assert!(answers.iter().any(|(_, d)| d["policy"]["digest"] == *digest), "both policies served");
    }
    s.stop();
}

#[test]
fn a_restart_keeps_pending_approvals() {
    let s = start();
    let call = case("09_null_optional_is_missing_needs_treasurer.json");
    let id = s.decide(&call).1["approval"]["id"].as_str().expect("an id").to_string();
    let dir = s.stop();
    let o = options(dir.path(), example().join("policy.pol"));
    let s = start_with(dir, o);
    let (status, a) = s.req("GET", &format!("/v1/approvals/{id}"), Some(TREASURER), None);
    assert_eq!((status, a["status"].as_str()), (200, Some("pending")), "{a}");
    assert_eq!(s.review(&id, "approve", TREASURER).0, 200);
    let mut retry = call.clone();
    retry["approval_id"] = json!(id);
    assert_eq!(s.decide(&retry).1["decision"], "allow");
    // The log was appended to, not started over.
    assert!(s.log_lines().iter().filter(|l| l["type"] == "decision").count() >= 2);
    s.stop();
}

#[test]
fn status_and_metrics() {
    let s = start();
    s.decide(&case("01_small_internal_transfer_allowed.json"));
    let (_, st) = s.req("GET", "/v1/status", Some(TREASURER), None);
    assert_eq!(st["policy"]["name"], "payments");
    assert!(st["log"]["entries"].as_u64().is_some_and(|n| n >= 1), "{st}");
    assert_eq!(st["store"]["kind"], "redb");
    let (status, raw) = http(s.addr, "GET", "/metrics", Some(AGENT), None);
    let text = String::from_utf8_lossy(&raw).to_string();
    assert_eq!(status, 200);
    for want in ["gavel_decisions_total{decision=\"allow\"} 1", "# TYPE gavel_decision_duration_seconds histogram", "gavel_reloads_total{result=\"ok\"} 0"] {
        assert!(text.contains(want), "{want} in {text}");
    }
    s.stop();
}

#[test]
fn a_call_allowed_by_its_approval_counts_as_allowed_in_windows() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let policy = dir.path().join("policy.pol");
    let source = "policy approved_counts\nversion \"1\"\ndefault allow\n\
                  tool pay(amount: number)\n\
                  request {\n  agent: { id: string },\n  user: { id: string },\n}\n\
                  window paid_1h = sum(amount) on pay over 1h by user.id when decision == allow\n\
                  rule big:\n  on pay\n  require approval from \"treasurer\" when amount > 100\n\
                  rule cap:\n  on pay\n  deny when paid_1h + amount > 150\n  because \"{user.id} paid {paid_1h} this hour\"\n";
    std::fs::write(&policy, source).expect("write the policy");
    let o = options(dir.path(), policy);
    let s = start_with(dir, o);
    let pay = |amount: u32| json!({"tool": "pay", "args": {"amount": amount}, "agent": {"id": "pay-agent-1"}, "user": {"id": "u-ana"}});
    let (_, d) = s.decide(&pay(120));
    assert_eq!(d["decision"], "require_approval", "{d}");
    let id = d["approval"]["id"].as_str().expect("an approval id").to_string();
    assert_eq!(s.review(&id, "approve", TREASURER).0, 200);
    let mut retry = pay(120);
    retry["approval_id"] = json!(id);
    assert_eq!(s.decide(&retry).1["decision"], "allow");
    // The 120 allowed by the approval is in `paid_1h`: 50 more is over the cap of 150.
    let (_, d) = s.decide(&pay(50));
    assert_eq!((d["decision"].as_str(), &d["decided_by"]), (Some("deny"), &json!(["cap"])), "{d}");
    s.stop();
}

#[test]
fn two_instances_on_one_redis_share_approvals_and_consume_once() {
    let Some(redis) = redis_server::Server::start() else { return };
    let instance = || {
        let dir = tempfile::tempdir().expect("a temp dir");
        let o = Options { redis: Some(redis.url.clone()), ..options(dir.path(), example().join("policy.pol")) };
        start_with(dir, o)
    };
    let (a, b) = (instance(), instance());
    let call = case("09_null_optional_is_missing_needs_treasurer.json");
    let (_, d) = a.decide(&call);
    let id = d["approval"]["id"].as_str().expect("an approval id").to_string();
    // Approved on the other instance, which sees it pending.
    assert_eq!(b.req("GET", &format!("/v1/approvals/{id}"), Some(TREASURER), None).1["status"], "pending");
    assert_eq!(b.review(&id, "approve", TREASURER).0, 200);
    let mut retry = call.clone();
    retry["approval_id"] = json!(id);
    let (_, d) = b.decide(&retry);
    assert_eq!((d["decision"].as_str(), d["approval"]["status"].as_str()), (Some("allow"), Some("consumed")), "{d}");
    assert_eq!(a.decide(&retry).1["decision"], "require_approval", "consumed once across instances");
    a.stop();
    b.stop();
}

#[test]
fn two_instances_on_one_redis_share_windows() {
    let Some(redis) = redis_server::Server::start() else { return };
    let finance = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/finance");
    let instance = || {
        let dir = tempfile::tempdir().expect("a temp dir");
        let o = Options { redis: Some(redis.url.clone()), ..options(dir.path(), finance.clone()) };
        start_with(dir, o)
    };
    let (a, b) = (instance(), instance());
    let text = std::fs::read_to_string(finance.join("requests/vetted_payee.json")).expect("read the request");
    let mut pay = serde_json::from_str::<Value>(&text).expect("JSON");
    pay["agent"]["id"] = json!("pay-agent-1");
    pay["args"]["amount"] = json!(6000);
    // 6,000 of a 10,000 USD daily cap on one instance; 6,000 more on the other is over it only
    // if the other sees the first in its window.
    assert_eq!(a.decide(&pay).1["decision"], "allow");
    let (_, d) = b.decide(&pay);
    assert_eq!(d["decision"], "deny", "{d}");
    assert_eq!(d["decided_by"], json!(["daily_cap"]), "{d}");
    assert!(d["rules"][0]["reason"].as_str().is_some_and(|r| r.contains("already paid 6000 USD")), "{d}");
    a.stop();
    b.stop();
}
