//! The approval stores: one conformance property test (a naive model, random sequences of
//! create/decide/consume/get/list with a moving clock and restarts) run on the memory, redb
//! and Redis stores; the exact messages on each; concurrent consumes (exactly one wins,
//! also for two Redis stores on one `redis-server`); damaged records; durability across a
//! restart and a `kill -9`; an unreachable Redis.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::Barrier;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{lock_ports, Server};
use gavel::store::StoreErrorKind;
use gavel_store::approvals::{Approval, ApprovalError, ApprovalStatus, ApprovalStore, MemoryApprovals, RedbApprovals, RedisApprovals, Reviewer, RETAIN_SECS};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// 2100-01-01T00:00:00Z: the tests' clock starts here, so Redis's own clock (which expires
/// keys `RETAIN_SECS` after `expires_at`) never removes an approval during a test.
const BASE_SECS: u64 = 4_102_444_800;

fn at(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(BASE_SECS) + Duration::from_millis(ms)
}

fn rfc3339(ms: u64) -> String {
    // INVARIANT: the tests' times are well within RFC 3339's years.
    OffsetDateTime::from(at(ms)).format(&Rfc3339).expect("an RFC 3339 time")
}

const AGENTS: [&str; 2] = ["bot-a", "bot-b"];
const USERS: [&str; 2] = ["ana", "bob"];
const DIGESTS: [&str; 2] = ["sha256:aa", "sha256:bb"];
const APPROVERS: [&[&str]; 3] = [&[], &["finance"], &["ops", "legal"]];
/// Reviewers: with roles, without, and named like a user and an agent (self-approval).
const REVIEWERS: [(&str, &[&str]); 5] =
    [("rita", &["finance"]), ("omar", &["ops", "hr"]), ("bob", &["finance", "ops"]), ("bot-a", &["finance"]), ("nora", &[])];
const COMMENTS: [Option<&str>; 4] = [None, Some("ok"), Some(""), Some("é \"quoted\"\n")];
const TTLS: [u64; 5] = [0, 250, 500, 1000, 2000];

fn approval(id: &str, created_ms: u64, ttl_ms: u64, agent: &str, user: &str, approvers: &[&str], digest: &str) -> Approval {
    Approval {
        id: id.to_string(),
        digest: digest.to_string(),
        status: ApprovalStatus::Pending,
        tool: "payments.transfer".to_string(),
        args: serde_json::json!({"amount": 1e2, "to": "é", "n": [1, 2.5, null], "nested": {"z": true, "a": ""}}),
        agent: agent.to_string(),
        user: user.to_string(),
        rules: vec!["large_transfer".to_string()],
        approvers: approvers.iter().map(|s| s.to_string()).collect(),
        reason: "transfers over 1000 need finance".to_string(),
        created_at: rfc3339(created_ms),
        expires_at: rfc3339(created_ms + ttl_ms),
        decided_by: None,
        comment: None,
    }
}

fn roles(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

// ---------------------------------------------------------------------------------------------
// The conformance property test.

#[derive(Debug, Clone)]
enum Op {
    Create { slot: usize, ttl: usize, agent: usize, user: usize, approvers: usize, digest: usize },
    Decide { slot: usize, reviewer: usize, approve: bool, comment: usize },
    Consume { slot: usize, digest: usize, agent: usize },
    Get { slot: usize },
    List { status: Option<usize> },
    Advance { ms: u64 },
    Restart,
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    let slot = 0usize..4;
    let op = prop_oneof![
        3 => (slot.clone(), 0..TTLS.len(), 0..2usize, 0..2usize, 0..APPROVERS.len(), 0..2usize)
            .prop_map(|(slot, ttl, agent, user, approvers, digest)| Op::Create { slot, ttl, agent, user, approvers, digest }),
        3 => (slot.clone(), 0..REVIEWERS.len(), any::<bool>(), 0..COMMENTS.len()).prop_map(|(slot, reviewer, approve, comment)| Op::Decide { slot, reviewer, approve, comment }),
        3 => (slot.clone(), 0..2usize, 0..2usize).prop_map(|(slot, digest, agent)| Op::Consume { slot, digest, agent }),
        1 => slot.prop_map(|slot| Op::Get { slot }),
        1 => prop::option::of(0..ApprovalStatus::ALL.len()).prop_map(|status| Op::List { status }),
        2 => (0u64..9).prop_map(|n| Op::Advance { ms: n * 125 }),
        1 => Just(Op::Restart),
    ];
    prop::collection::vec(op, 1..40)
}

/// What a call answered, as the model can predict it: `Forbidden` by which reason.
#[derive(Debug, PartialEq)]
enum Outcome {
    Done,
    One(Box<Approval>),
    Many(Vec<Approval>),
    NotFound,
    NotPending(ApprovalStatus),
    Forbidden(Why),
    Store(StoreErrorKind),
}

#[derive(Debug, PartialEq)]
enum Why {
    Own,
    Role,
    Agent,
    Changed,
    Other(String),
}

fn outcome<T>(result: Result<T, ApprovalError>, ok: impl FnOnce(T) -> Outcome) -> Outcome {
    match result {
        Ok(v) => ok(v),
        Err(ApprovalError::NotFound) => Outcome::NotFound,
        Err(ApprovalError::NotPending(s)) => Outcome::NotPending(s),
        Err(ApprovalError::Forbidden(m)) => Outcome::Forbidden(if m.contains("made the call") {
            Why::Own
        } else if m.contains("none of the roles") {
            Why::Role
        } else if m.contains("another agent") {
            Why::Agent
        } else if m.contains("digest differs") {
            Why::Changed
        } else {
            Why::Other(m)
        }),
        Err(ApprovalError::Store(e)) => Outcome::Store(e.kind),
    }
}

/// The naive model: a map of approvals, each with the millisecond it expires at.
#[derive(Default)]
struct Model {
    approvals: BTreeMap<String, (Approval, u64)>,
}

impl Model {
    /// Expires whatever is due at `now` (the model's rule: from `expires_at` on).
    fn tick(&mut self, now: u64) {
        for (a, expires) in self.approvals.values_mut() {
            if now >= *expires && matches!(a.status, ApprovalStatus::Pending | ApprovalStatus::Approved) {
                a.status = ApprovalStatus::Expired;
            }
        }
    }

    fn apply(&mut self, op: &Op, now: u64) -> Outcome {
        self.tick(now);
        match *op {
            Op::Create { slot, ttl, agent, user, approvers, digest } => {
                let id = id(slot);
                if self.approvals.contains_key(&id) {
                    return Outcome::Store(StoreErrorKind::Invalid);
                }
                let a = approval(&id, now, TTLS[ttl], AGENTS[agent], USERS[user], APPROVERS[approvers], DIGESTS[digest]);
                self.approvals.insert(id, (a, now + TTLS[ttl]));
                Outcome::Done
            }
            Op::Decide { slot, reviewer, approve, comment } => {
                let Some((a, _)) = self.approvals.get_mut(&id(slot)) else { return Outcome::NotFound };
                let (name, has) = REVIEWERS[reviewer];
                if name == a.agent || name == a.user {
                    return Outcome::Forbidden(Why::Own);
                }
                if !a.approvers.is_empty() && !has.iter().any(|r| a.approvers.iter().any(|x| x == r)) {
                    return Outcome::Forbidden(Why::Role);
                }
                if a.status != ApprovalStatus::Pending {
                    return Outcome::NotPending(a.status);
                }
                a.status = if approve { ApprovalStatus::Approved } else { ApprovalStatus::Rejected };
                a.decided_by = Some(name.to_string());
                a.comment = COMMENTS[comment].map(str::to_string);
                Outcome::One(Box::new(a.clone()))
            }
            Op::Consume { slot, digest, agent } => {
                let Some((a, _)) = self.approvals.get_mut(&id(slot)) else { return Outcome::NotFound };
                if a.agent != AGENTS[agent] {
                    return Outcome::Forbidden(Why::Agent);
                }
                if a.digest != DIGESTS[digest] {
                    return Outcome::Forbidden(Why::Changed);
                }
                if a.status != ApprovalStatus::Approved {
                    return Outcome::NotPending(a.status);
                }
                a.status = ApprovalStatus::Consumed;
                Outcome::One(Box::new(a.clone()))
            }
            Op::Get { slot } => match self.approvals.get(&id(slot)) {
                Some((a, _)) => Outcome::One(Box::new(a.clone())),
                None => Outcome::NotFound,
            },
            Op::List { status } => {
                let status = status.map(|s| ApprovalStatus::ALL[s]);
                Outcome::Many(self.approvals.values().map(|(a, _)| a.clone()).filter(|a| status.is_none_or(|s| s == a.status)).collect())
            }
            Op::Advance { .. } | Op::Restart => Outcome::Done,
        }
    }
}

fn id(slot: usize) -> String {
    format!("0190a1b2-0000-7000-8000-00000000000{slot}")
}

/// Opens the store under test.
trait Harness {
    type Store: ApprovalStore;
    /// A store with nothing in it.
    fn open(&mut self) -> Self::Store;
    /// The same store after a restart (or a second process on it).
    fn restart(&mut self, store: Self::Store) -> Self::Store {
        store
    }
}

fn run<S: ApprovalStore>(store: &S, op: &Op, now: u64) -> Outcome {
    let t = at(now);
    match *op {
        Op::Create { slot, ttl, agent, user, approvers, digest } => {
            outcome(store.create(&approval(&id(slot), now, TTLS[ttl], AGENTS[agent], USERS[user], APPROVERS[approvers], DIGESTS[digest])), |()| Outcome::Done)
        }
        Op::Decide { slot, reviewer, approve, comment } => {
            let (name, has) = REVIEWERS[reviewer];
            let has = roles(has);
            outcome(store.decide(&id(slot), &Reviewer { name, roles: &has }, approve, COMMENTS[comment], t), |a| Outcome::One(Box::new(a)))
        }
        Op::Consume { slot, digest, agent } => outcome(store.consume(&id(slot), DIGESTS[digest], AGENTS[agent], t), |a| Outcome::One(Box::new(a))),
        Op::Get { slot } => outcome(store.get(&id(slot), t), |a| Outcome::One(Box::new(a))),
        Op::List { status } => outcome(store.list(status.map(|s| ApprovalStatus::ALL[s]), t), Outcome::Many),
        Op::Advance { .. } | Op::Restart => Outcome::Done,
    }
}

fn check_case<H: Harness>(harness: &mut H, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut model = Model::default();
    let mut store = harness.open();
    let mut now = 0;
    for (i, op) in ops.iter().enumerate() {
        match op {
            Op::Advance { ms } => now += ms,
            Op::Restart => store = harness.restart(store),
            _ => {}
        }
        let expected = model.apply(op, now);
        let got = run(&store, op, now);
        prop_assert_eq!(got, expected, "op {} ({:?}) at {} ms", i, op, now);
    }
    // Whatever happened, the store ends where the model does.
    let end = now + 10_000;
    model.tick(end);
    let expected: Vec<Approval> = model.approvals.values().map(|(a, _)| a.clone()).collect();
    prop_assert_eq!(store.list(None, at(end)).map_err(|e| TestCaseError::fail(e.to_string()))?, expected);
    Ok(())
}

struct Memory;

impl Harness for Memory {
    type Store = MemoryApprovals;
    fn open(&mut self) -> MemoryApprovals {
        MemoryApprovals::new()
    }
}

struct Redb {
    dir: Option<tempfile::TempDir>,
}

impl Redb {
    fn file(&self) -> std::path::PathBuf {
        // INVARIANT: open sets the directory before any restart.
        self.dir.as_ref().expect("an open store").path().join("state/approvals.redb")
    }
}

impl Harness for Redb {
    type Store = RedbApprovals;
    fn open(&mut self) -> RedbApprovals {
        self.dir = Some(tempfile::tempdir().expect("a temporary directory"));
        RedbApprovals::open(&self.file()).expect("the store opens")
    }
    fn restart(&mut self, store: RedbApprovals) -> RedbApprovals {
        drop(store);
        RedbApprovals::open(&self.file()).expect("the store opens again")
    }
}

struct Redis<'a> {
    server: &'a Server,
}

impl Harness for Redis<'_> {
    type Store = RedisApprovals;
    fn open(&mut self) -> RedisApprovals {
        self.server.flush();
        RedisApprovals::connect(&self.server.url).expect("the store connects")
    }
    /// Another store on the same Redis: it sees everything the first did.
    fn restart(&mut self, _store: RedisApprovals) -> RedisApprovals {
        RedisApprovals::connect(&self.server.url).expect("the store connects again")
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]
    #[test]
    fn the_memory_store_does_what_the_model_does(ops in ops()) {
        check_case(&mut Memory, &ops)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 150, ..ProptestConfig::default() })]
    #[test]
    fn the_redb_store_does_what_the_model_does(ops in ops()) {
        check_case(&mut Redb { dir: None }, &ops)?;
    }
}

#[test]
fn the_redis_store_does_what_the_model_does() {
    let Some(server) = Server::start() else { return };
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig { cases: 150, ..ProptestConfig::default() });
    runner.run(&ops(), |ops| check_case(&mut Redis { server: &server }, &ops)).unwrap();
}

// ---------------------------------------------------------------------------------------------
// The same messages from every store.

fn messages_are_the_same(store: &impl ApprovalStore) {
    let finance = roles(&["finance"]);
    let none: Vec<String> = Vec::new();
    store.create(&approval("m1", 0, 1000, "bot-a", "ana", &["finance", "ops"], "sha256:aa")).unwrap();
    let message = |r: Result<Approval, ApprovalError>| r.map(|_| ()).unwrap_err().to_string();
    assert_eq!(message(store.get("nope", at(0))), "no approval has this id");
    assert_eq!(
        message(store.decide("m1", &Reviewer { name: "ana", roles: &finance }, false, None, at(0))),
        "`ana` made the call that asks for this approval and may not decide it"
    );
    assert_eq!(
        message(store.decide("m1", &Reviewer { name: "rita", roles: &none }, true, None, at(0))),
        "`rita` has none of the roles that may decide this approval: `finance`, `ops`"
    );
    assert_eq!(message(store.consume("m1", "sha256:aa", "bot-a", at(0))), "the approval is still pending");
    let approved = store.decide("m1", &Reviewer { name: "rita", roles: &finance }, true, Some("fine"), at(1)).unwrap();
    assert_eq!((approved.status, approved.decided_by.as_deref(), approved.comment.as_deref()), (ApprovalStatus::Approved, Some("rita"), Some("fine")));
    assert_eq!(message(store.decide("m1", &Reviewer { name: "rita", roles: &finance }, true, None, at(2))), "the approval is approved");
    assert_eq!(message(store.consume("m1", "sha256:aa", "bot-b", at(2))), "the approval was asked for by another agent");
    assert_eq!(message(store.consume("m1", "sha256:ab", "bot-a", at(2))), "the call changed since it was approved: its digest differs");
    assert_eq!(store.consume("m1", "sha256:aa", "bot-a", at(2)).unwrap().status, ApprovalStatus::Consumed);
    assert_eq!(message(store.consume("m1", "sha256:aa", "bot-a", at(3))), "the approval is consumed");
    // Expired from `expires_at` on, and it stays expired (persisted) even for an earlier clock.
    store.create(&approval("m2", 0, 1000, "bot-a", "ana", &[], "sha256:aa")).unwrap();
    assert_eq!(store.get("m2", at(999)).unwrap().status, ApprovalStatus::Pending);
    assert_eq!(message(store.decide("m2", &Reviewer { name: "nora", roles: &none }, true, None, at(1000))), "the approval is expired");
    assert_eq!(store.get("m2", at(0)).unwrap().status, ApprovalStatus::Expired);
    let err = store.create(&approval("m2", 0, 1000, "bot-a", "ana", &[], "sha256:aa")).unwrap_err();
    assert_eq!(err.to_string(), "an approval `m2` exists already; give each approval a new id");
    let mut bad = approval("m3", 0, 1000, "bot-a", "ana", &[], "sha256:aa");
    bad.status = ApprovalStatus::Approved;
    assert!(matches!(store.create(&bad), Err(ApprovalError::Store(e)) if e.kind == StoreErrorKind::Invalid));
    bad.status = ApprovalStatus::Pending;
    bad.expires_at = "in five minutes".into();
    assert!(matches!(store.create(&bad), Err(ApprovalError::Store(e)) if e.kind == StoreErrorKind::Invalid));
    assert_eq!(store.get("m3", at(0)), Err(ApprovalError::NotFound), "nothing invalid is stored");
}

#[test]
fn the_memory_store_says_why() {
    messages_are_the_same(&MemoryApprovals::new());
}

#[test]
fn the_redb_store_says_why() {
    let dir = tempfile::tempdir().unwrap();
    messages_are_the_same(&RedbApprovals::open(&dir.path().join("approvals.redb")).unwrap());
}

#[test]
fn the_redis_store_says_why() {
    let Some(server) = Server::start() else { return };
    messages_are_the_same(&RedisApprovals::connect(&server.url).unwrap());
}

// ---------------------------------------------------------------------------------------------
// Concurrent consumes: exactly one wins.

const THREADS: usize = 8;

fn approved(store: &impl ApprovalStore, id: &str) {
    store.create(&approval(id, 0, 60_000, "bot-a", "ana", &[], "sha256:aa")).unwrap();
    store.decide(id, &Reviewer { name: "rita", roles: &[] }, true, None, at(1)).unwrap();
}

/// `THREADS` threads consume `id` at once, thread `i` on `stores[i % len]`; the outcomes.
fn race(stores: &[&(dyn ApprovalStore + Sync)], id: &str) -> Vec<Result<Approval, ApprovalError>> {
    let barrier = Barrier::new(THREADS);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|i| {
                let (store, barrier) = (stores[i % stores.len()], &barrier);
                s.spawn(move || {
                    barrier.wait();
                    store.consume(id, "sha256:aa", "bot-a", at(2))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a consuming thread")).collect()
    })
}

fn exactly_one_wins(outcomes: &[Result<Approval, ApprovalError>]) {
    assert_eq!(outcomes.iter().filter(|r| r.is_ok()).count(), 1, "{outcomes:?}");
    assert!(outcomes.iter().filter(|r| r.is_err()).all(|r| r == &Err(ApprovalError::NotPending(ApprovalStatus::Consumed))), "{outcomes:?}");
}

#[test]
fn concurrent_consumes_of_one_approval_in_memory_let_one_through() {
    let store = MemoryApprovals::new();
    for round in 0..20 {
        let id = format!("race-{round}");
        approved(&store, &id);
        exactly_one_wins(&race(&[&store], &id));
    }
}

#[test]
fn concurrent_consumes_of_one_approval_in_redb_let_one_through() {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbApprovals::open(&dir.path().join("approvals.redb")).unwrap();
    for round in 0..20 {
        let id = format!("race-{round}");
        approved(&store, &id);
        exactly_one_wins(&race(&[&store], &id));
    }
}

#[test]
fn two_redis_stores_consuming_one_approval_let_one_through() {
    let Some(server) = Server::start() else { return };
    let a = RedisApprovals::connect(&server.url).unwrap();
    let b = RedisApprovals::connect(&server.url).unwrap();
    for round in 0..20 {
        let id = format!("race-{round}");
        approved(&a, &id);
        let outcomes = race(&[&a, &b], &id);
        exactly_one_wins(&outcomes);
        assert_eq!(b.get(&id, at(3)).unwrap().status, ApprovalStatus::Consumed);
    }
}

// ---------------------------------------------------------------------------------------------
// Damaged records, durability, Redis's keys and faults.

fn is_corrupt<T: std::fmt::Debug>(r: Result<T, ApprovalError>) -> String {
    match r {
        Err(ApprovalError::Store(e)) if e.kind == StoreErrorKind::Corrupt => e.message,
        other => panic!("not a corrupt-store error: {other:?}"),
    }
}

#[test]
fn a_damaged_redb_record_is_a_store_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("approvals.redb");
    RedbApprovals::open(&file).unwrap().create(&approval("ok", 0, 1000, "bot-a", "ana", &[], "sha256:aa")).unwrap();
    {
        let db = redb::Database::create(&file).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let table: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("approvals");
            let mut table = txn.open_table(table).unwrap();
            table.insert("junk", b"{\"id\": \"junk\", not json".as_slice()).unwrap();
            let mut timeless = serde_json::to_value(approval("timeless", 0, 1000, "bot-a", "ana", &[], "sha256:aa")).unwrap();
            timeless["expires_at"] = "soon".into();
            table.insert("timeless", serde_json::to_vec(&timeless).unwrap().as_slice()).unwrap();
        }
        txn.commit().unwrap();
    }
    let store = RedbApprovals::open(&file).unwrap();
    let message = is_corrupt(store.get("junk", at(0)));
    assert!(
        message.starts_with("the approval `junk` in `")
            && message.ends_with("approvals.redb` is damaged (key must be a string at line 1 column 16); remove it"),
        "{message}"
    );
    assert!(is_corrupt(store.consume("timeless", "sha256:aa", "bot-a", at(0))).contains("`expires_at` that is not RFC 3339"));
    is_corrupt(store.list(None, at(0)));
    assert_eq!(store.get("ok", at(0)).unwrap().status, ApprovalStatus::Pending, "the others are still there");
}

#[test]
fn redb_approvals_survive_a_restart_and_one_process_owns_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state/approvals.redb");
    {
        let store = RedbApprovals::open(&file).unwrap();
        approved(&store, "kept");
        store.create(&approval("waiting", 0, 1000, "bot-a", "ana", &[], "sha256:aa")).unwrap();
        let err = RedbApprovals::open(&file).err().unwrap();
        assert!(err.to_string().contains("open in another process"), "{err}");
    }
    let store = RedbApprovals::open(&file).unwrap();
    assert_eq!(store.get("waiting", at(5)).unwrap().status, ApprovalStatus::Pending);
    assert_eq!(store.consume("kept", "sha256:aa", "bot-a", at(5)).unwrap().status, ApprovalStatus::Consumed);
    std::fs::write(dir.path().join("other.redb"), b"not a database, certainly not").unwrap();
    let err = RedbApprovals::open(&dir.path().join("other.redb")).err().unwrap();
    assert!(matches!(&err, ApprovalError::Store(e) if e.kind == StoreErrorKind::Unavailable && e.message.contains("other.redb")), "{err}");
}

/// The child of `a_kill_9_loses_no_created_or_decided_approval`: creates approvals and
/// approves every other one, saying so after each call returns, until it is killed.
#[test]
#[ignore = "run by a_kill_9_loses_no_created_or_decided_approval as a child process"]
fn child_creates_until_killed() {
    let Ok(file) = std::env::var("GAVEL_APPROVALS_KILL_FILE") else { return };
    let store = RedbApprovals::open(file.as_ref()).expect("the child opens the store");
    for i in 0.. {
        let id = format!("k{i}");
        store.create(&approval(&id, 0, 60_000, "bot-a", "ana", &[], "sha256:aa")).expect("the child creates");
        if i % 2 == 0 {
            store.decide(&id, &Reviewer { name: "rita", roles: &[] }, true, None, at(1)).expect("the child approves");
        }
        println!("done {i}");
    }
}

#[test]
fn a_kill_9_loses_no_created_or_decided_approval() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("approvals.redb");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_creates_until_killed", "--ignored", "--nocapture", "--test-threads=1"])
        .env("GAVEL_APPROVALS_KILL_FILE", &file)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut done = 0;
    while done < 30 {
        let line = lines.next().expect("the child printed a line before it ended").unwrap();
        if let Some(n) = line.strip_prefix("done ") {
            done = n.parse().unwrap();
        }
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    let store = RedbApprovals::open(&file).unwrap();
    for i in 0..=done {
        let want = if i % 2 == 0 { ApprovalStatus::Approved } else { ApprovalStatus::Pending };
        assert_eq!(store.get(&format!("k{i}"), at(2)).unwrap().status, want, "k{i}");
    }
}

#[test]
fn redis_keys_expire_a_day_after_the_approval_and_the_index_follows() {
    let Some(server) = Server::start() else { return };
    let store = RedisApprovals::connect(&server.url).unwrap();
    store.create(&approval("t1", 0, 1500, "bot-a", "ana", &[], "sha256:aa")).unwrap();
    let mut conn = server.connection().unwrap();
    let key = "gavel:{approvals}:a:t1";
    let expire_at: i64 = redis::cmd("PEXPIRETIME").arg(key).query(&mut conn).unwrap();
    assert_eq!(expire_at, (BASE_SECS as i64 + RETAIN_SECS) * 1000 + 1500);
    // A decision keeps the expiry.
    store.decide("t1", &Reviewer { name: "rita", roles: &[] }, false, None, at(1)).unwrap();
    let after: i64 = redis::cmd("PEXPIRETIME").arg(key).query(&mut conn).unwrap();
    assert_eq!(after, expire_at);
    // Once Redis forgot the approval, it is unknown, and list drops it from the index.
    redis::cmd("DEL").arg(key).query::<()>(&mut conn).unwrap();
    assert_eq!(store.get("t1", at(2)), Err(ApprovalError::NotFound));
    assert_eq!(store.list(None, at(2)).unwrap(), vec![]);
    let members: Vec<String> = redis::cmd("ZRANGE").arg("gavel:{approvals}:index").arg(0).arg(-1).query(&mut conn).unwrap();
    assert!(members.is_empty(), "{members:?}");
    // An approval already past its retention (by Redis's clock) is gone at once, and create
    // drops index entries older than the retention.
    redis::cmd("ZADD").arg("gavel:{approvals}:index").arg(0).arg("ancient").query::<()>(&mut conn).unwrap();
    let mut old = approval("old", 0, 1000, "bot-a", "ana", &[], "sha256:aa");
    old.expires_at = "2001-01-01T00:00:00Z".into();
    store.create(&old).unwrap();
    assert_eq!(store.get("old", at(0)), Err(ApprovalError::NotFound));
    let members: Vec<String> = redis::cmd("ZRANGE").arg("gavel:{approvals}:index").arg(0).arg(-1).query(&mut conn).unwrap();
    assert!(!members.contains(&"ancient".to_string()), "{members:?}");
}

#[test]
fn a_damaged_redis_record_is_a_store_error() {
    let Some(server) = Server::start() else { return };
    let store = RedisApprovals::connect(&server.url).unwrap();
    let mut conn = server.connection().unwrap();
    for (id, field, value) in [("r1", "record", "{not json"), ("r2", "exp", "soon"), ("r3", "status", "maybe"), ("r4", "approvers", "[unclosed")] {
        store.create(&approval(id, 0, 1000, "bot-a", "ana", &[], "sha256:aa")).unwrap();
        redis::cmd("HSET").arg(format!("gavel:{{approvals}}:a:{id}")).arg(field).arg(value).query::<()>(&mut conn).unwrap();
    }
    assert!(is_corrupt(store.get("r1", at(0))).starts_with("the approval `r1` in the approval store at `redis://127.0.0.1:"));
    is_corrupt(store.consume("r2", "sha256:aa", "bot-a", at(0)));
    is_corrupt(store.get("r3", at(0)));
    is_corrupt(store.decide("r4", &Reviewer { name: "rita", roles: &[] }, true, None, at(0)));
    is_corrupt(store.list(None, at(0)));
}

#[test]
fn an_unreachable_redis_is_a_store_error_with_the_reason() {
    let _ports = lock_ports();
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port(); // closed once dropped
    let err = RedisApprovals::connect(&format!("redis://127.0.0.1:{port}/")).err().unwrap();
    assert_eq!(
        err,
        ApprovalError::Store(gavel::store::StoreError::unavailable(format!(
            "the approval store at `redis://127.0.0.1:{port}/` cannot be reached: connection refused; check `--redis`"
        )))
    );
    assert!(RedisApprovals::connect("http://example.com").err().unwrap().to_string().contains("is not a Redis URL"));
}

#[test]
fn a_redis_that_goes_away_fails_every_call() {
    let Some(mut server) = Server::start() else { return };
    let store = RedisApprovals::connect(&server.url).unwrap();
    approved(&store, "gone");
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let unavailable = |r: Result<Approval, ApprovalError>| matches!(r, Err(ApprovalError::Store(e)) if e.kind == StoreErrorKind::Unavailable && e.message.ends_with("check `--redis`"));
    assert!(unavailable(store.consume("gone", "sha256:aa", "bot-a", at(2))), "never a made-up consume");
    assert!(unavailable(store.get("gone", at(2))));
    assert!(matches!(store.list(None, at(2)), Err(ApprovalError::Store(_))));
}
