//! What the window stores cost a decision: the reads of three windows (a 1 h count, a 24 h sum, a 10 min max)
//! in one call and their three events in another, for MemoryStore, RedbStore (a durable sync
//! every 100 and every 1,000 decisions, amortized) and RedisStore on loopback (when `redis-server` is
//! installed; started here on a free port). 1,000 keys in turn, time advancing one second
//! every 10 decisions, so each key holds a realistic few buckets.
//! `cargo bench -p gavel-store --bench stores`.

use std::hint::black_box;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gavel::store::{Aggregate, Answer, Bounds, Event, EventValue, MemoryStore, Read, StoreError, WindowSpec, WindowStore};
use gavel_store::{RedbStore, RedisStore};

const WINDOWS: [WindowSpec; 3] = [
    WindowSpec { id: 1, aggregate: Aggregate::Count, duration_secs: 3600 },
    WindowSpec { id: 2, aggregate: Aggregate::Sum, duration_secs: 86_400 },
    WindowSpec { id: 3, aggregate: Aggregate::Max, duration_secs: 600 },
];

struct Decisions {
    i: u64,
    /// Decisions per second of request time.
    rate: u64,
    reads: [Read; 3],
    events: [Event; 3],
    out: Vec<Result<Answer, StoreError>>,
}

impl Decisions {
    fn new() -> Self {
        let read = Read { window: 0, key: 0, at: 0 };
        let event = Event { window: 0, key: 0, at: 0, value: EventValue::None };
        Decisions { i: 0, rate: 10, reads: [read; 3], events: [event.clone(), event.clone(), event], out: Vec::with_capacity(3) }
    }

    /// One decision's store work: read three windows, record three events.
    fn decide(&mut self, store: &dyn WindowStore) {
        self.i += 1;
        let key = u128::from(self.i % 1000).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c834);
        let at = 1_700_000_000 + (self.i / self.rate) as i64;
        for (r, w) in self.reads.iter_mut().zip(&WINDOWS) {
            *r = Read { window: w.id, key, at };
        }
        store.read(&self.reads, &mut self.out).unwrap();
        black_box(&self.out);
        let amount = (self.i % 97) as f64;
        for (e, w) in self.events.iter_mut().zip(&WINDOWS) {
            e.window = w.id;
            e.key = key;
            e.at = at;
            e.value = if w.aggregate == Aggregate::Count { EventValue::None } else { EventValue::Number(amount) };
        }
        store.record(&self.events).unwrap();
    }
}

fn stores(c: &mut Criterion) {
    let mut group = c.benchmark_group("window_stores");
    group.throughput(Throughput::Elements(1));

    let memory = MemoryStore::new(&WINDOWS, Bounds::default()).unwrap();
    let mut d = Decisions::new();
    group.bench_function("memory_3_windows_read_and_recorded", |b| b.iter(|| d.decide(&memory)));
    // The floor: every key's events in one second (one bucket a window).
    let memory = MemoryStore::new(&WINDOWS, Bounds::default()).unwrap();
    let mut d = Decisions { rate: u64::MAX, ..Decisions::new() };
    group.bench_function("memory_3_windows_one_bucket", |b| b.iter(|| d.decide(&memory)));

    // A durable commit every `batch` decisions: the command line syncs once per batch of
    // input lines, the service once per group of concurrent answers.
    for batch in [100, 1000] {
        for (name, rate) in [("", 10), ("_one_bucket", u64::MAX)] {
            let dir = tempfile::tempdir().unwrap();
            let redb = RedbStore::open(dir.path(), &WINDOWS, Bounds::default()).unwrap();
            let mut d = Decisions { rate, ..Decisions::new() };
            group.bench_function(format!("redb_3_windows{name}_sync_every_{batch}"), |b| {
                b.iter(|| {
                    d.decide(&redb);
                    if d.i.is_multiple_of(batch) {
                        redb.sync().unwrap();
                    }
                })
            });
        }
    }

    if let Some((mut server, url)) = redis_server() {
        let redis = RedisStore::connect(&url, &WINDOWS, Bounds::default()).unwrap();
        let mut d = Decisions::new();
        group.bench_function("redis_3_windows_loopback", |b| b.iter(|| d.decide(&redis)));
        let _ = server.kill();
        let _ = server.wait();
    } else {
        eprintln!("redis-server is not installed: the Redis bench is skipped (scripts/test-deps installs it)");
    }
    group.finish();
}

fn redis_server() -> Option<(std::process::Child, String)> {
    let port = TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", "/tmp"])
        .stdout(Stdio::null())
        .spawn()
        .ok()?;
    let url = format!("redis://127.0.0.1:{port}/");
    let deadline = Instant::now() + Duration::from_secs(20);
    while RedisStore::connect(&url, &WINDOWS, Bounds::default()).is_err() {
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Some((child, url))
}

criterion_group!(benches, stores);
criterion_main!(benches);
