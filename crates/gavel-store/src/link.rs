//! One connection to Redis shared by the Redis stores (windows, approvals): connect on
//! first use within [`TIMEOUT`], `EVALSHA` with a reload on `NOSCRIPT`, a failed connection
//! dropped so the next call connects afresh, and every fault a [`StoreError`] naming the
//! store, the URL (password hidden) and the reason.
//!
//! In: a URL and what the store is called in messages ("window store", "approval store").
//! Out: script replies, or `Unavailable` errors: never a panic, never a made-up answer.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use gavel::store::StoreError;
use redis::{Connection, ErrorKind, ServerErrorKind, Value};

/// How long a connect, a write or a reply may take before the call fails (closed).
pub const TIMEOUT: Duration = Duration::from_secs(2);

/// A Lua script and its SHA-1, for `EVALSHA`.
pub(crate) struct Script {
    source: String,
    hash: String,
}

impl Script {
    pub fn new(source: String) -> Self {
        let hash = redis::Script::new(&source).get_hash().to_string();
        Script { source, hash }
    }
}

pub(crate) struct Link {
    client: redis::Client,
    /// The URL without its password, for messages.
    pub shown: String,
    /// The store, in messages: "window store", "approval store".
    what: &'static str,
    connection: Mutex<Option<Connection>>,
    round_trips: AtomicU64,
}

impl Link {
    /// Parses the URL (an `Invalid` error if it is not a Redis URL); connects on first use.
    pub fn new(url: &str, what: &'static str) -> Result<Self, StoreError> {
        let shown = hide_password(url);
        let client = redis::Client::open(url).map_err(|e| StoreError::invalid(format!("the {what} URL `{shown}` is not a Redis URL: {e}; check `--redis`")))?;
        Ok(Link { client, shown, what, connection: Mutex::new(None), round_trips: AtomicU64::new(0) })
    }

    /// Every command sent to Redis so far.
    pub fn round_trips(&self) -> u64 {
        self.round_trips.load(Ordering::Relaxed)
    }

    fn unreachable(&self, e: &redis::RedisError) -> StoreError {
        let reason = if e.is_connection_refusal() {
            "connection refused".to_string()
        } else if e.is_timeout() {
            format!("no answer within {} s", TIMEOUT.as_secs())
        } else {
            e.to_string()
        };
        StoreError::unavailable(format!("the {} at `{}` cannot be reached: {reason}; check `--redis`", self.what, self.shown))
    }

    /// `SCRIPT LOAD`s the scripts (at connect, so a Redis without scripting fails early).
    pub fn load_all(&self, scripts: &[&Script]) -> Result<(), StoreError> {
        self.with_connection(|this, conn| scripts.iter().try_for_each(|s| this.load(conn, s)))
    }

    fn load(&self, conn: &mut Connection, script: &Script) -> redis::RedisResult<()> {
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        let _: String = redis::cmd("SCRIPT").arg("LOAD").arg(&script.source).query(conn)?;
        Ok(())
    }

    /// Runs `f` on the connection, connecting first if there is none; a connection that
    /// failed is dropped, so the next call connects afresh.
    fn with_connection<T>(&self, f: impl FnOnce(&Self, &mut Connection) -> redis::RedisResult<T>) -> Result<T, StoreError> {
        let mut guard = self
            .connection
            .lock()
            .map_err(|_| StoreError::unavailable(format!("the Redis {} was left inconsistent by a panic; restart the process", self.what)))?;
        if guard.is_none() {
            let conn = self.client.get_connection_with_timeout(TIMEOUT).map_err(|e| self.unreachable(&e))?;
            conn.set_read_timeout(Some(TIMEOUT)).and_then(|()| conn.set_write_timeout(Some(TIMEOUT))).map_err(|e| self.unreachable(&e))?;
            *guard = Some(conn);
        }
        // INVARIANT: set just above when it was empty.
        let conn = guard.as_mut().expect("a connection");
        match f(self, conn) {
            Ok(v) => Ok(v),
            Err(e) => {
                *guard = None;
                Err(match e.kind() {
                    ErrorKind::Server(_) | ErrorKind::Extension => StoreError::unavailable(format!(
                        "the {} at `{}` refused a script: {e}; check that it is Redis 7 or later with scripting enabled",
                        self.what, self.shown
                    )),
                    _ => self.unreachable(&e),
                })
            }
        }
    }

    /// `EVALSHA`, loading the script again if Redis forgot it (a restart, `SCRIPT FLUSH`).
    pub fn eval(&self, script: &Script, keys: &[String], args: &[String]) -> Result<Value, StoreError> {
        self.with_connection(|this, conn| {
            let mut cmd = redis::cmd("EVALSHA");
            cmd.arg(&script.hash).arg(keys.len()).arg(keys).arg(args);
            this.round_trips.fetch_add(1, Ordering::Relaxed);
            match cmd.query::<Value>(conn) {
                Err(e) if e.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
                    this.load(conn, script)?;
                    this.round_trips.fetch_add(1, Ordering::Relaxed);
                    cmd.query(conn)
                }
                other => other,
            }
        })
    }
}

/// A bulk or simple string's bytes.
pub(crate) fn bulk(v: &Value) -> Option<&[u8]> {
    match v {
        Value::BulkString(b) => Some(b),
        Value::SimpleString(s) => Some(s.as_bytes()),
        _ => None,
    }
}

/// `redis://user:secret@host` shown as `redis://user:***@host`.
fn hide_password(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!("{}{}:***{}", &url[..scheme + 3], &userinfo[..colon], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(hide_password("redis://:s3cret@host:6379/0"), "redis://:***@host:6379/0");
        assert_eq!(hide_password("redis://user:s3cret@host"), "redis://user:***@host");
        assert_eq!(hide_password("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
    }
}
