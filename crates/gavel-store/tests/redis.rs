//! The Redis store against a real `redis-server`, started here on a free port and stopped
//! after: the conformance property test, two stores on one Redis, round trips counted, and
//! an unreachable Redis. A missing `redis-server` fails these tests (in CI always; elsewhere
//! unless `GAVEL_SKIP_REDIS=1`), never a silent skip.

mod common;

use std::net::TcpListener;

use common::{lock_ports, Server};
use gavel::store::conformance::{cases, check_case, Harness};
use gavel::store::{Aggregate, Answer, Bounds, Event, EventValue, Read, StoreErrorKind, WindowSpec, WindowStore};
use gavel_store::RedisStore;
use proptest::prelude::*;

struct Redis<'a> {
    server: &'a Server,
}

impl Harness for Redis<'_> {
    type Store = RedisStore;
    fn open(&mut self, specs: &[WindowSpec], bounds: Bounds) -> RedisStore {
        self.server.flush();
        RedisStore::connect(&self.server.url, specs, bounds).expect("the store connects")
    }
    /// Another store on the same Redis: it sees everything the first recorded.
    fn restart(&mut self, _store: RedisStore, specs: &[WindowSpec], bounds: Bounds) -> RedisStore {
        RedisStore::connect(&self.server.url, specs, bounds).expect("the store connects again")
    }
}

#[test]
fn the_redis_store_answers_what_the_model_answers() {
    let Some(server) = Server::start() else { return };
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig { cases: 150, ..ProptestConfig::default() });
    runner.run(&cases(true), |case| check_case(&mut Redis { server: &server }, &case)).unwrap();
}

const DENIALS: WindowSpec = WindowSpec { id: 0xd1, aggregate: Aggregate::Count, duration_secs: 3600 };
const SPEND: WindowSpec = WindowSpec { id: 0xd2, aggregate: Aggregate::Sum, duration_secs: 86_400 };
const PAYEES: WindowSpec = WindowSpec { id: 0xd3, aggregate: Aggregate::Values, duration_secs: 90 * 86_400 };
const WINDOWS: [WindowSpec; 3] = [DENIALS, SPEND, PAYEES];

fn reads(at: i64) -> [Read; 3] {
    WINDOWS.map(|w| Read { window: w.id, key: 42, at })
}

fn events(at: i64, amount: f64, payee: &str) -> [Event; 3] {
    [
        Event { window: DENIALS.id, key: 42, at, value: EventValue::None },
        Event { window: SPEND.id, key: 42, at, value: EventValue::Number(amount) },
        Event { window: PAYEES.id, key: 42, at, value: EventValue::Text(payee.into()) },
    ]
}

#[test]
fn two_stores_on_one_redis_see_each_others_events_in_two_round_trips_a_decision() {
    let Some(server) = Server::start() else { return };
    let a = RedisStore::connect(&server.url, &WINDOWS, Bounds::default()).unwrap();
    let b = RedisStore::connect(&server.url, &WINDOWS, Bounds::default()).unwrap();
    let mut out = Vec::new();
    let (before_a, before_b) = (a.round_trips(), b.round_trips());
    // A decision on each: read the request's windows, then record it.
    a.read(&reads(1000), &mut out).unwrap();
    a.record(&events(1000, 0.1, "p1")).unwrap();
    b.read(&reads(1001), &mut out).unwrap();
    assert_eq!(out, vec![Ok(Answer::Number(1.0)), Ok(Answer::Number(0.1)), Ok(Answer::Values(vec!["p1".into()]))]);
    b.record(&events(1001, 0.2, "p0")).unwrap();
    assert_eq!((a.round_trips() - before_a, b.round_trips() - before_b), (2, 2));
    a.read(&reads(1001), &mut out).unwrap();
    assert_eq!(out, vec![Ok(Answer::Number(2.0)), Ok(Answer::Number(0.1 + 0.2)), Ok(Answer::Values(vec!["p0".into(), "p1".into()]))]);
    // Redis forgot the scripts (a restart, SCRIPT FLUSH): loaded again, counted.
    redis::cmd("SCRIPT").arg("FLUSH").query::<()>(&mut server.connection().unwrap()).unwrap();
    let before = a.round_trips();
    a.read(&reads(1001), &mut out).unwrap();
    assert_eq!(out[0], Ok(Answer::Number(2.0)));
    assert_eq!(a.round_trips() - before, 3, "EVALSHA, SCRIPT LOAD, EVALSHA");
}

#[test]
fn a_key_beyond_its_bound_fails_closed_on_redis() {
    let Some(server) = Server::start() else { return };
    let store = RedisStore::connect(&server.url, &WINDOWS, Bounds { max_buckets_per_key: 2, max_values_per_key: 2 }).unwrap();
    for at in [1, 2, 3] {
        store.record(&events(at, 1.0, "p")).unwrap();
    }
    let mut out = Vec::new();
    store.read(&reads(3), &mut out).unwrap();
    assert!(out.iter().all(|a| a.as_ref().is_err_and(|e| e.kind == StoreErrorKind::Bound)), "{out:?}");
}

#[test]
fn an_unreachable_redis_is_an_error_with_the_reason() {
    let _ports = lock_ports();
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port(); // closed once dropped
    let err = RedisStore::connect(&format!("redis://127.0.0.1:{port}/"), &WINDOWS, Bounds::default()).err().unwrap();
    assert_eq!(err.kind, StoreErrorKind::Unavailable);
    assert_eq!(err.message, format!("the window store at `redis://127.0.0.1:{port}/` cannot be reached: connection refused; check `--redis`"));
    let err = RedisStore::connect("http://example.com", &WINDOWS, Bounds::default()).err().unwrap();
    assert!(err.message.contains("is not a Redis URL"), "{err}");
}

#[test]
fn a_redis_that_goes_away_fails_every_call() {
    let Some(mut server) = Server::start() else { return };
    let store = RedisStore::connect(&server.url, &WINDOWS, Bounds::default()).unwrap();
    store.record(&events(5, 1.0, "p")).unwrap();
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let mut out = Vec::new();
    let err = store.read(&reads(5), &mut out).unwrap_err();
    assert_eq!(err.kind, StoreErrorKind::Unavailable);
    assert!(err.message.starts_with("the window store at `redis://127.0.0.1:") && err.message.ends_with("check `--redis`"), "{err}");
    assert!(out.is_empty(), "no answer is made up");
    assert_eq!(store.record(&events(6, 1.0, "p")).unwrap_err().kind, StoreErrorKind::Unavailable);
}
