//! The redb store: the conformance property test (with restarts), durability across a
//! `kill -9`, and its errors.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use gavel::store::conformance::{cases, check_case, Harness};
use gavel::store::{Aggregate, Answer, Bounds, Event, EventValue, Read, StoreErrorKind, WindowSpec, WindowStore};
use gavel_store::RedbStore;
use proptest::prelude::*;

struct Redb {
    dirs: Vec<tempfile::TempDir>,
}

impl Harness for Redb {
    type Store = RedbStore;
    fn open(&mut self, specs: &[WindowSpec], bounds: Bounds) -> RedbStore {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = RedbStore::open(dir.path(), specs, bounds).expect("the store opens");
        self.dirs.push(dir);
        store
    }
    fn restart(&mut self, store: RedbStore, specs: &[WindowSpec], bounds: Bounds) -> RedbStore {
        store.sync().expect("the store syncs");
        drop(store);
        // INVARIANT: open pushed the directory of the store being restarted last.
        let dir = self.dirs.last().expect("the store's directory");
        RedbStore::open(dir.path(), specs, bounds).expect("the store opens again")
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn the_redb_store_answers_what_the_model_answers(case in cases(true)) {
        check_case(&mut Redb { dirs: Vec::new() }, &case)?;
    }
}

const COUNT: WindowSpec = WindowSpec { id: 0xc0, aggregate: Aggregate::Count, duration_secs: 1_000_000 };
const VALUES: WindowSpec = WindowSpec { id: 0xc1, aggregate: Aggregate::Values, duration_secs: 1_000_000 };
const BATCH: i64 = 50;

fn count(store: &RedbStore, at: i64) -> f64 {
    let mut out = Vec::new();
    store.read(&[Read { window: COUNT.id, key: 1, at }], &mut out).expect("a read");
    match out.pop() {
        Some(Ok(Answer::Number(n))) => n,
        other => panic!("not a count: {other:?}"),
    }
}

/// The child of `a_kill_9_loses_nothing_synced`: records batches of events, syncs each and says
/// so, then records forever without syncing until it is killed.
#[test]
#[ignore = "run by a_kill_9_loses_nothing_synced as a child process"]
fn child_records_until_killed() {
    let Ok(dir) = std::env::var("GAVEL_STORE_KILL_DIR") else { return };
    let store = RedbStore::open(&dir, &[COUNT, VALUES], Bounds::default()).expect("the child opens the store");
    let mut stdout = std::io::stdout();
    for batch in 0.. {
        let events: Vec<Event> = (0..BATCH)
            .flat_map(|i| {
                let at = batch * BATCH + i;
                [
                    Event { window: COUNT.id, key: 1, at, value: EventValue::None },
                    Event { window: VALUES.id, key: 1, at, value: EventValue::Text(format!("v{at}")) },
                ]
            })
            .collect();
        store.record(&events).expect("the child records");
        if batch < 20 {
            store.sync().expect("the child syncs");
            writeln!(stdout, "synced {}", (batch + 1) * BATCH).and_then(|()| stdout.flush()).expect("the child writes");
        }
    }
}

#[test]
fn a_kill_9_loses_nothing_synced() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_records_until_killed", "--ignored", "--nocapture", "--test-threads=1"])
        .env("GAVEL_STORE_KILL_DIR", dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut synced = 0;
    // Kill it after the 10th sync, while it goes on recording.
    while synced < 10 * BATCH {
        let line = lines.next().expect("the child printed a line before it ended").unwrap();
        if let Some(n) = line.strip_prefix("synced ") {
            synced = n.parse().unwrap();
        }
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    let store = RedbStore::open(dir.path(), &[COUNT, VALUES], Bounds::default()).unwrap();
    let at = 1_000_000 - 1;
    let n = count(&store, at);
    // Everything synced is there; what was not may be, in whole batches of its syncs.
    assert!(n >= synced as f64 && n % BATCH as f64 == 0.0, "{n} events after {synced} synced");
    let mut out = Vec::new();
    store.read(&[Read { window: VALUES.id, key: 1, at }], &mut out).unwrap();
    let Some(Ok(Answer::Values(values))) = out.pop() else { panic!("no values") };
    assert_eq!(values.len() as f64, n);
}

#[test]
fn a_store_survives_a_restart_and_forgets_changed_windows() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = RedbStore::open(dir.path(), &[COUNT, VALUES], Bounds::default()).unwrap();
        store.record(&[Event { window: COUNT.id, key: 1, at: 10, value: EventValue::None }]).unwrap();
        store.sync().unwrap();
    }
    let store = RedbStore::open(dir.path(), &[COUNT], Bounds::default()).unwrap();
    assert_eq!(count(&store, 10), 1.0);
    drop(store);
    // COUNT's definition changed: a new id, nothing recorded.
    let changed = WindowSpec { id: 0xc2, ..COUNT };
    let store = RedbStore::open(dir.path(), &[changed], Bounds::default()).unwrap();
    let mut out = Vec::new();
    store.read(&[Read { window: changed.id, key: 1, at: 10 }], &mut out).unwrap();
    assert_eq!(out, vec![Ok(Answer::Number(0.0))]);
    drop(store);
    let store = RedbStore::open(dir.path(), &[COUNT], Bounds::default()).unwrap();
    assert_eq!(count(&store, 10), 0.0, "the events of a window that is gone are dropped at open");
}

#[test]
fn a_second_process_on_one_directory_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let _first = RedbStore::open(dir.path(), &[COUNT], Bounds::default()).unwrap();
    let err = RedbStore::open(dir.path(), &[COUNT], Bounds::default()).err().unwrap();
    assert_eq!(err.kind, StoreErrorKind::Unavailable);
    assert!(err.message.contains("open in another process"), "{err}");
}

#[test]
fn a_damaged_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("windows.redb"), b"not a database, certainly not").unwrap();
    let err = RedbStore::open(dir.path(), &[COUNT], Bounds::default()).err().unwrap();
    assert_eq!(err.kind, StoreErrorKind::Unavailable);
    assert!(err.message.contains("windows.redb"), "{err}");
}
