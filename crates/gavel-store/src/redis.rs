//! The shared window store (`--redis URL`): several processes on one Redis see each other's
//! events.
//!
//! In: a Redis URL, the policy's windows and bounds at [`RedisStore::connect`]; reads and
//! events through [`WindowStore`]. Out: answers by the semantics of `gavel::store` (the
//! conformance property test runs against a real `redis-server`), or an `Unavailable`
//! [`StoreError`] with Redis's reason: never a panic, never a silent zero.
//!
//! Layout, per (window, key), three Redis keys sharing one hash tag (so a cluster keeps them
//! on one node): `gavel:{WINDOW:KEY}:h`, a hash of `newest`, `overflow` and, for `count`,
//! `sum` and `max`, one field per second (the bucket's number written with `%.17g`, which a
//! double survives exactly); `...:t`, a sorted set of the seconds held (score = second); and
//! for `distinct` and `values`, `...:e`, a sorted set of `SECOND:VALUE` entries (score =
//! second; a distinct value is its hash in hex). Every record refreshes an `EXPIRE` of the
//! longest window plus a day, so Redis forgets keys idle longer than that (wall clock; events
//! age out by request time first as long as request times follow the clock).
//!
//! Round trips: one call of `read` is one `EVALSHA` of [`READ_SCRIPT`] (every read of the
//! call, atomically), one call of `record` one `EVALSHA` of [`RECORD_SCRIPT`] (every event,
//! atomically): two per decision. A strict single round trip would need the record, which
//! depends on the decision, in the same script as the reads that the decision depends on.
//! Redis is the shared truth, so `sync` does nothing: a record has been applied when
//! `record` returns. [`RedisStore::round_trips`] counts every command sent (scripts reloaded
//! after a `NOSCRIPT` included).

use std::collections::HashSet;

use gavel::store::{check_events, check_reads, fold, Aggregate, Answer, Bounds, Event, EventValue, Read, Specs, StoreError, WindowSpec, WindowStore};
use redis::Value;

use crate::link::{bulk, Link, Script};

/// Extra expiry beyond the longest window, for keys nobody records into any more.
const EXPIRY_SLACK_SECS: i64 = 86_400;

/// How many members one `HDEL` or `HMGET` takes at most: Lua's `unpack` is bounded by its
/// stack (about 8,000).
const LUA_HELPERS: &str = r#"
local function chunked(cmd, key, items, out)
  for i = 1, #items, 1000 do
    local part = redis.call(cmd, key, unpack(items, i, math.min(i + 999, #items)))
    if out then for _, v in ipairs(part) do out[#out + 1] = v end end
  end
  return out
end
"#;

/// KEYS: h, t, e per event. ARGV: longest, max_buckets, max_values, expiry; then per event
/// its kind (`n` count/sum, `m` max, `e` entry), second and value. The semantics of
/// `gavel::store`, line by line as in `MemoryStore`.
pub const RECORD_SCRIPT: &str = r#"
local longest, maxb, maxv, expiry = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
for i = 0, #KEYS / 3 - 1 do
  local h, t, e = KEYS[3 * i + 1], KEYS[3 * i + 2], KEYS[3 * i + 3]
  local kind, ats, v = ARGV[5 + 3 * i], ARGV[6 + 3 * i], ARGV[7 + 3 * i]
  local at = tonumber(ats)
  local newest = tonumber(redis.call('HGET', h, 'newest'))
  if newest == nil or at > newest then
    newest = at
    redis.call('HSET', h, 'newest', ats)
  end
  local horizon = newest - longest
  if at > horizon then
    local hz = string.format('%.17g', horizon)
    local old = redis.call('ZRANGEBYSCORE', t, '-inf', hz)
    if #old > 0 then
      redis.call('ZREMRANGEBYSCORE', t, '-inf', hz)
      if kind == 'e' then redis.call('ZREMRANGEBYSCORE', e, '-inf', hz) else chunked('HDEL', h, old) end
    end
    local present = redis.call('ZSCORE', t, ats)
    local kept = true
    if kind == 'e' then
      local member = ats .. ':' .. v
      if not redis.call('ZSCORE', e, member) then
        if (not present and redis.call('ZCARD', t) >= maxb) or redis.call('ZCARD', e) >= maxv then
          kept = false
        else
          redis.call('ZADD', e, ats, member)
          if not present then redis.call('ZADD', t, ats, ats) end
        end
      end
    else
      local n = tonumber(v)
      if present then
        local b = tonumber(redis.call('HGET', h, ats))
        if kind == 'm' then
          if n > b then b = n end
        else
          b = b + n
        end
        redis.call('HSET', h, ats, string.format('%.17g', b))
      elseif redis.call('ZCARD', t) >= maxb then
        kept = false
      else
        if kind ~= 'm' then n = 0 + n end
        redis.call('HSET', h, ats, string.format('%.17g', n))
        redis.call('ZADD', t, ats, ats)
      end
    end
    if not kept then
      local o = tonumber(redis.call('HGET', h, 'overflow'))
      if o == nil or at > o then redis.call('HSET', h, 'overflow', ats) end
    end
  end
  redis.call('EXPIRE', h, expiry)
  redis.call('EXPIRE', t, expiry)
  redis.call('EXPIRE', e, expiry)
end
return #KEYS / 3
"#;

/// KEYS: h, t, e per read. ARGV per read: kind (`n` or `e`), `at - duration`, `at`. Answers
/// per read `{'overflow', second}` or `{'ok', items}`: the bucket numbers oldest first, or the
/// entries; the aggregate is folded in Rust, as `MemoryStore` folds it.
pub const READ_SCRIPT: &str = r#"
local out = {}
for i = 0, #KEYS / 3 - 1 do
  local h, t, e = KEYS[3 * i + 1], KEYS[3 * i + 2], KEYS[3 * i + 3]
  local kind, lo, at = ARGV[3 * i + 1], ARGV[3 * i + 2], ARGV[3 * i + 3]
  local o = redis.call('HGET', h, 'overflow')
  if o and tonumber(o) > tonumber(lo) then
    out[i + 1] = {'overflow', o}
  elseif kind == 'e' then
    out[i + 1] = {'ok', redis.call('ZRANGEBYSCORE', e, '(' .. lo, at)}
  else
    out[i + 1] = {'ok', chunked('HMGET', h, redis.call('ZRANGEBYSCORE', t, '(' .. lo, at), {})}
  end
end
return out
"#;

/// The window store in Redis (`--redis URL`): every instance on one Redis reads and records the same events.
pub struct RedisStore {
    specs: Specs,
    bounds: Bounds,
    link: Link,
    record: Script,
    read: Script,
}

impl RedisStore {
    /// Connects (within [`TIMEOUT`](crate::TIMEOUT)) and loads the scripts; an unreachable
    /// Redis is an `Unavailable` error.
    pub fn connect(url: &str, windows: &[WindowSpec], bounds: Bounds) -> Result<Self, StoreError> {
        let specs = Specs::new(windows)?;
        let store = RedisStore {
            specs,
            bounds,
            link: Link::new(url, "window store")?,
            record: Script::new(format!("{LUA_HELPERS}{RECORD_SCRIPT}")),
            read: Script::new(format!("{LUA_HELPERS}{READ_SCRIPT}")),
        };
        store.link.load_all(&[&store.record, &store.read])?;
        Ok(store)
    }

    /// Every command sent to Redis so far.
    pub fn round_trips(&self) -> u64 {
        self.link.round_trips()
    }

    fn keys_of(window: u64, key: u128, keys: &mut Vec<String>) {
        let tag = format!("gavel:{{{window:016x}:{key:032x}}}");
        keys.push(format!("{tag}:h"));
        keys.push(format!("{tag}:t"));
        keys.push(format!("{tag}:e"));
    }

    fn bad_reply(&self) -> StoreError {
        StoreError::corrupt(format!(
            "the window store at `{}` answered something that is not a window's state; check that no other program writes `gavel:*` keys",
            self.link.shown
        ))
    }

    fn answer(&self, spec: &WindowSpec, reply: &Value) -> Result<Result<Answer, StoreError>, StoreError> {
        let Value::Array(parts) = reply else { return Err(self.bad_reply()) };
        match (parts.first().map(bulk), parts.get(1)) {
            (Some(Some(b"overflow")), Some(second)) => {
                let second = bulk(second).and_then(|s| std::str::from_utf8(s).ok()?.parse().ok()).ok_or_else(|| self.bad_reply())?;
                Ok(Err(StoreError::bound(spec.id, second)))
            }
            (Some(Some(b"ok")), Some(Value::Array(items))) => {
                let items: Vec<&[u8]> = items.iter().map(bulk).collect::<Option<_>>().ok_or_else(|| self.bad_reply())?;
                let number = |item: &[u8]| std::str::from_utf8(item).ok().and_then(parse_lua_number).ok_or_else(|| self.bad_reply());
                Ok(Ok(match spec.aggregate {
                    Aggregate::Count | Aggregate::Sum => {
                        let mut total = 0.0;
                        for item in items {
                            total += number(item)?;
                        }
                        Answer::Number(total)
                    }
                    Aggregate::Max => {
                        let mut max: Option<f64> = None;
                        for item in items {
                            let b = number(item)?;
                            max = Some(max.map_or(b, |m| fold::greater(m, b)));
                        }
                        Answer::Max(max)
                    }
                    Aggregate::Distinct => {
                        let mut seen = HashSet::new();
                        for item in items {
                            seen.insert(entry_value(item).ok_or_else(|| self.bad_reply())?);
                        }
                        Answer::Number(seen.len() as f64)
                    }
                    Aggregate::Values => {
                        let mut values = Vec::with_capacity(items.len());
                        for item in items {
                            values.push(String::from_utf8(entry_value(item).ok_or_else(|| self.bad_reply())?.to_vec()).map_err(|_| self.bad_reply())?);
                        }
                        values.sort_unstable();
                        values.dedup();
                        Answer::Values(values)
                    }
                }))
            }
            _ => Err(self.bad_reply()),
        }
    }
}

/// The value of a `SECOND:VALUE` entry.
fn entry_value(item: &[u8]) -> Option<&[u8]> {
    item.iter().position(|&b| b == b':').map(|i| &item[i + 1..])
}

/// A number as Lua's `%.17g` wrote it (C's `inf`, `-inf`, `nan`, `-nan` included).
fn parse_lua_number(s: &str) -> Option<f64> {
    match s {
        "inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        "nan" | "-nan" => Some(f64::NAN),
        _ => s.parse().ok(),
    }
}

/// A number for Lua's `tonumber` (C's `strtod`): Rust's shortest round-trip form, which
/// `strtod` reads back to the same double (`inf`, `-inf`, `NaN` included).
fn lua_number(n: f64) -> String {
    format!("{n:?}")
}

impl WindowStore for RedisStore {
    fn read(&self, reads: &[Read], out: &mut Vec<Result<Answer, StoreError>>) -> Result<(), StoreError> {
        out.clear();
        check_reads(&self.specs, reads)?;
        if reads.is_empty() {
            return Ok(());
        }
        let (mut keys, mut args) = (Vec::with_capacity(reads.len() * 3), Vec::with_capacity(reads.len() * 3));
        for r in reads {
            // INVARIANT: check_reads found every window.
            let spec = self.specs.get(r.window).expect("a checked window");
            Self::keys_of(r.window, r.key, &mut keys);
            let kind = if matches!(spec.aggregate, Aggregate::Distinct | Aggregate::Values) { "e" } else { "n" };
            args.extend([kind.to_string(), (r.at - spec.duration_secs as i64).to_string(), r.at.to_string()]);
        }
        let reply = self.link.eval(&self.read, &keys, &args)?;
        let Value::Array(answers) = reply else { return Err(self.bad_reply()) };
        if answers.len() != reads.len() {
            return Err(self.bad_reply());
        }
        for (r, a) in reads.iter().zip(&answers) {
            // INVARIANT: check_reads found every window.
            out.push(self.answer(self.specs.get(r.window).expect("a checked window"), a)?);
        }
        Ok(())
    }

    fn record(&self, events: &[Event]) -> Result<(), StoreError> {
        check_events(&self.specs, events)?;
        if events.is_empty() {
            return Ok(());
        }
        let longest = self.specs.longest();
        let mut keys = Vec::with_capacity(events.len() * 3);
        let mut args = vec![
            longest.to_string(),
            self.bounds.max_buckets_per_key.to_string(),
            self.bounds.max_values_per_key.to_string(),
            (longest + EXPIRY_SLACK_SECS).to_string(),
        ];
        for e in events {
            Self::keys_of(e.window, e.key, &mut keys);
            let (kind, value) = match &e.value {
                EventValue::None => ("n", "1".to_string()),
                // INVARIANT: check_events found every window.
                EventValue::Number(n) if self.specs.get(e.window).expect("a checked window").aggregate == Aggregate::Max => ("m", lua_number(*n)),
                EventValue::Number(n) => ("n", lua_number(*n)),
                EventValue::Hash(h) => ("e", format!("{h:032x}")),
                EventValue::Text(t) => ("e", t.clone()),
            };
            args.extend([kind.to_string(), e.at.to_string(), value]);
        }
        self.link.eval(&self.record, &keys, &args)?;
        Ok(())
    }

    fn sync(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_survive_the_trip_through_lua_text() {
        for n in [0.1, 1.0 / 3.0, 1e300, -0.0, 5e-324, f64::INFINITY, f64::NEG_INFINITY, 123_456_789.125] {
            // What Lua's `%.17g` prints (Rust has no %g: the exponent form parses the same).
            let g = format!("{n:.16e}");
            assert_eq!(parse_lua_number(&g).map(f64::to_bits), Some(n.to_bits()), "{g}");
        }
        assert!(parse_lua_number("-nan").is_some_and(f64::is_nan));
        assert_eq!(lua_number(f64::NAN), "NaN");
    }
}
