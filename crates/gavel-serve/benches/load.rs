//! A load generator over loopback for `gavel serve` (issue 14, docs/performance.md "The
//! service under load"). In: nothing (the bundled examples; Redis from `redis-server` when it
//! is installed). Out: one table on stdout — decisions per second, p50 and p99 latency, and
//! the ratio to the floor measured in the same run.
//!
//! The floor is a bare axum handler that answers a constant JSON body to the same `POST`, on
//! the same runtime shape: what any Rust HTTP service costs here before it does any work.
//! Rounds alternate floor and scenario, and each ratio is of two runs next to each other
//! (this machine's speed drifts between states, so runs minutes apart do not compare); the
//! median of the rounds is printed. So is the CPU time per answer (the whole process's,
//! clients included, for the scenario and for the floor), which other load on the machine
//! moves far less than the rates.
//!
//! `cargo bench -p gavel-serve --bench load` (`LOAD_SECONDS`, `LOAD_ROUNDS`, `LOAD_CONNECTIONS`
//! change the defaults of 2 s, 3 rounds, 32 connections; `LOAD_ONLY=text` runs only the rows
//! whose name contains `text`, e.g. `LOAD_ONLY=redb` or `LOAD_ONLY='group fsync'`).

use bytes::Bytes;
use gavel_serve::{LogSync, Options, Server};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples").join(name)
}

/// What one scenario serves and is sent.
struct Scenario {
    name: &'static str,
    policy: PathBuf,
    /// The request bodies, sent in turn (several agents, so windows have several keys).
    bodies: Vec<Bytes>,
    log_dir: Option<PathBuf>,
    log_sync: LogSync,
    redis: Option<String>,
}

/// The answers of one run: how many, how long, and each latency in microseconds.
struct Run {
    answered: usize,
    failed: usize,
    elapsed: Duration,
    latencies_us: Vec<u32>,
    /// CPU time the whole process (clients included) spent, in clock ticks.
    cpu_ticks: u64,
}

impl Run {
    fn per_second(&self) -> f64 {
        self.answered as f64 / self.elapsed.as_secs_f64()
    }

    /// CPU time per answer (server and client together): unlike the rates, this barely moves
    /// when other processes share the machine.
    fn cpu_us(&self) -> f64 {
        self.cpu_ticks as f64 * 1e6 / TICKS_PER_SECOND / self.answered.max(1) as f64
    }

    fn percentile(&mut self, p: f64) -> u32 {
        self.latencies_us.sort_unstable();
        let i = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        self.latencies_us.get(i).copied().unwrap_or(0)
    }
}

/// `USER_HZ`, the unit of /proc's CPU times (100 on Linux everywhere).
const TICKS_PER_SECOND: f64 = 100.0;

/// This process's user + system CPU time so far, in clock ticks (0 where /proc is missing).
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // After the `(comm)` field: state is field 3, utime 14 and stime 15.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    field(14) + field(15)
}

/// `connections` clients, each on its own keep-alive connection, sending one request after
/// another for `seconds`.
async fn drive(addr: SocketAddr, bodies: &[Bytes], connections: usize, seconds: Duration) -> Run {
    let deadline = Instant::now() + seconds;
    let start = Instant::now();
    let cpu_start = cpu_ticks();
    let mut tasks = Vec::new();
    for c in 0..connections {
        let bodies: Vec<Bytes> = bodies.to_vec();
        tasks.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
            stream.set_nodelay(true).expect("nodelay");
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("handshake");
            tokio::spawn(conn);
            let (mut answered, mut failed, mut latencies) = (0usize, 0usize, Vec::with_capacity(1 << 16));
            let mut i = c;
            while Instant::now() < deadline {
                let body = bodies[i % bodies.len()].clone();
                i += 1;
                let req = hyper::Request::post("/v1/decide")
                    .header("host", "127.0.0.1")
                    .header("content-type", "application/json")
                    .body(Full::new(body))
                    .expect("a request");
                let sent = Instant::now();
                match sender.send_request(req).await {
                    Ok(resp) => {
                        let ok = resp.status().is_success();
                        let read = resp.into_body().collect().await.is_ok();
                        latencies.push(sent.elapsed().as_micros().min(u32::MAX as u128) as u32);
                        if ok && read {
                            answered += 1;
                        } else {
                            failed += 1;
                        }
                    }
                    Err(_) => {
                        failed += 1;
                        break;
                    }
                }
            }
            (answered, failed, latencies)
        }));
    }
    let mut run = Run { answered: 0, failed: 0, elapsed: Duration::ZERO, latencies_us: Vec::new(), cpu_ticks: 0 };
    for t in tasks {
        let (a, f, l) = t.await.expect("a client task");
        run.answered += a;
        run.failed += f;
        run.latencies_us.extend(l);
    }
    run.elapsed = start.elapsed();
    run.cpu_ticks = cpu_ticks().saturating_sub(cpu_start);
    run
}

/// The floor: a constant answer, nothing decided, nothing logged.
async fn floor_server() -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let app = axum::Router::new()
        .route("/v1/decide", axum::routing::post(|_body: Bytes| async { ([("content-type", "application/json")], r#"{"decision":"allow"}"#) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("an address");
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, task)
}

async fn gavel_server(s: &Scenario, dir: &Path) -> Server {
    let log_dir = s.log_dir.clone().unwrap_or_else(|| dir.to_path_buf());
    let options = Options {
        listen: "127.0.0.1:0".into(),
        config: None,
        log: log_dir.join(format!("load-{}.jsonl", std::process::id())),
        log_sync: s.log_sync,
        state: dir.join("state"),
        redis: s.redis.clone(),
        watch: false,
        ..Options::new(vec![s.policy.clone()])
    };
    Server::start(options).await.unwrap_or_else(|e| panic!("{}: the server does not start: {e}", s.name))
}

fn bodies(file: &Path, agents: usize) -> Vec<Bytes> {
    let text = std::fs::read_to_string(file).expect("a request file");
    let request: serde_json::Value = serde_json::from_str(&text).expect("a JSON request");
    (0..agents)
        .map(|i| {
            let mut r = request.clone();
            r["agent"] = serde_json::json!({"id": format!("agent-{i}")});
            Bytes::from(r.to_string())
        })
        .collect()
}

/// A `redis-server` on a free port, killed on drop; `None` when it is not installed.
struct Redis(Child, String);

impl Redis {
    fn start(dir: &Path) -> Option<Redis> {
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).ok()?.port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir)
            .stdout(Stdio::null())
            .spawn()
            .ok()?;
        // Wait until it accepts connections (start-up, not a measurement).
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(Redis(child, format!("redis://127.0.0.1:{port}/")))
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let seconds = Duration::from_secs(env_or("LOAD_SECONDS", 2));
    let rounds = env_or("LOAD_ROUNDS", 3) as usize;
    let connections = env_or("LOAD_CONNECTIONS", 32) as usize;
    let dir = tempfile::tempdir_in(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target")).expect("a temp dir on disk");
    let shm = Path::new("/dev/shm").is_dir().then(|| PathBuf::from("/dev/shm"));
    let redis = Redis::start(dir.path());
    if redis.is_none() {
        eprintln!("redis-server is not installed: the Redis row is left out (scripts/test-deps installs it)");
    }
    let payments = bodies(&example("payments/requests/small_internal_transfer.json"), 64);
    let finance = bodies(&example("finance/requests/vetted_payee.json"), 64);
    let gavel = |name, policy: &str, bodies: &Vec<Bytes>| Scenario {
        name,
        policy: example(policy),
        bodies: bodies.clone(),
        log_dir: None,
        log_sync: LogSync::Group,
        redis: None,
    };
    let mut scenarios = vec![
        gavel("payments, log on disk (group fsync)", "payments", &payments),
        Scenario { log_dir: shm.clone(), ..gavel("payments, log in memory (tmpfs)", "payments", &payments) },
        Scenario { log_sync: LogSync::Always, ..gavel("payments, log-sync always", "payments", &payments) },
        gavel("finance (4 windows), embedded store (redb)", "finance", &finance),
    ];
    if let Some(r) = &redis {
        scenarios.push(Scenario { redis: Some(r.1.clone()), ..gavel("finance (4 windows), Redis", "finance", &finance) });
    }
    if let Ok(only) = std::env::var("LOAD_ONLY") {
        scenarios.retain(|s| s.name.contains(only.as_str()));
    }

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
    println!("{connections} connections, {rounds} rounds of {} s per row, medians; floor = bare axum, constant answer", seconds.as_secs());
    println!("| scenario | decisions/s | p50 µs | p99 µs | floor/s | ÷ floor | CPU µs/req | floor CPU µs/req | failed |");
    println!("|---|---|---|---|---|---|---|---|---|");
    rt.block_on(async {
        for s in &scenarios {
            let server = gavel_server(s, dir.path()).await;
            let (floor_addr, floor_task) = floor_server().await;
            let (mut rates, mut floors, mut ratios, mut p50s, mut p99s, mut failed) = (vec![], vec![], vec![], vec![], vec![], 0);
            let (mut cpus, mut floor_cpus) = (vec![], vec![]);
            // A short warm-up (JIT-less interpreter, connections, the log file).
            drive(server.addr, &s.bodies, connections, Duration::from_millis(300)).await;
            for _ in 0..rounds {
                let floor = drive(floor_addr, &s.bodies, connections, seconds).await;
                let mut run = drive(server.addr, &s.bodies, connections, seconds).await;
                failed += run.failed + floor.failed;
                rates.push(run.per_second());
                floors.push(floor.per_second());
                ratios.push(run.per_second() / floor.per_second());
                cpus.push(run.cpu_us());
                floor_cpus.push(floor.cpu_us());
                p50s.push(run.percentile(0.50) as f64);
                p99s.push(run.percentile(0.99) as f64);
            }
            floor_task.abort();
            server.stop().await.expect("the server stops");
            println!(
                "| {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.2} | {:.1} | {:.1} | {failed} |",
                s.name,
                median(rates),
                median(p50s),
                median(p99s),
                median(floors),
                median(ratios),
                median(cpus),
                median(floor_cpus)
            );
        }
    });
}
