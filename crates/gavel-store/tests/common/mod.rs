//! What several test binaries share: a real `redis-server` on a free port ([`Server`]), and
//! the lock that keeps a closed port closed while a test relies on it ([`lock_ports`]). Each
//! binary uses part of it.
#![allow(dead_code)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Held while a test picks a free port and until that port is in use (or no longer needed),
/// so that the unreachable-Redis test's closed port is not handed to a parallel test's
/// `redis-server` (or its port probe) in between: that race turned "connection refused"
/// into "connection reset by peer".
pub static PORTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub fn lock_ports() -> std::sync::MutexGuard<'static, ()> {
    PORTS.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A `redis-server` on a free port in a temporary directory, killed on drop.
pub struct Server {
    pub child: Child,
    pub url: String,
    _dir: tempfile::TempDir,
}

impl Server {
    /// `None` only when `redis-server` is missing and `GAVEL_SKIP_REDIS=1` outside CI.
    pub fn start() -> Option<Server> {
        let installed = Command::new("redis-server").arg("--version").stdout(Stdio::null()).status().is_ok_and(|s| s.success());
        if !installed {
            let how = "install it with `apt-get install -y redis-server` (or run scripts/test-deps)";
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("redis-server is not installed, and CI must run the Redis tests: {how}");
            }
            if std::env::var("GAVEL_SKIP_REDIS").is_ok_and(|v| v == "1") {
                eprintln!("SKIPPED: redis-server is not installed (GAVEL_SKIP_REDIS=1)");
                return None;
            }
            panic!("redis-server is not installed: {how}, or set GAVEL_SKIP_REDIS=1 to skip the Redis tests");
        }
        let dir = tempfile::tempdir().expect("a temporary directory");
        let ports = lock_ports();
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        let server = Server { child, url: format!("redis://127.0.0.1:{port}/"), _dir: dir };
        // Wait until it accepts connections (a start-up, not a timing assertion).
        let deadline = Instant::now() + Duration::from_secs(20);
        while server.connection().is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start on port {port}");
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(ports);
        Some(server)
    }

    pub fn connection(&self) -> redis::RedisResult<redis::Connection> {
        let mut conn = redis::Client::open(self.url.as_str())?.get_connection()?;
        redis::cmd("PING").query::<String>(&mut conn)?;
        Ok(conn)
    }

    pub fn flush(&self) {
        redis::cmd("FLUSHALL").query::<()>(&mut self.connection().expect("a connection")).expect("FLUSHALL");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
