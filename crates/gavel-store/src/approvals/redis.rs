//! Approvals in Redis (`--redis URL`): several service processes share them, and a consume
//! is atomic across processes.
//!
//! In: a Redis URL at [`RedisApprovals::connect`], then the [`ApprovalStore`] calls. Out: the
//! state machine of `mod.rs`, each call one `EVALSHA` of one Lua script (Redis runs a script
//! alone, so a transition is atomic), or a `Store` error with Redis's reason: never a panic,
//! never a made-up answer.
//!
//! Layout, under one hash tag (so a cluster keeps them on one node): `gavel:{approvals}:a:ID`,
//! a hash of `record` (the approval's JSON as created, read back by Rust only), `status`,
//! `by`, `comment` (once decided), and what the scripts check: `exp` (`expires_at` in
//! microseconds since the epoch), `digest`, `agent`, `user`, `approvers` (a JSON array);
//! `gavel:{approvals}:index`, a sorted set of the ids (score = `exp`) for `list`. Each
//! approval key gets a `PEXPIREAT` of `expires_at` plus [`RETAIN_SECS`] (Redis's clock), so
//! Redis forgets decided and expired approvals; `create` drops index entries older than that,
//! `list` drops those whose approval is gone.

use std::time::SystemTime;

use redis::Value;

use super::{check_new, damaged, exists, forbidden, micros, Approval, ApprovalError, ApprovalStatus, ApprovalStore, Reviewer};
use crate::link::{bulk, Link, Script};

/// How long Redis keeps an approval after its `expires_at`: its final status stays readable.
pub const RETAIN_SECS: i64 = 86_400;

const KEY_PREFIX: &str = "gavel:{approvals}:a:";
const INDEX: &str = "gavel:{approvals}:index";

/// Shared by the scripts: the status of approval `h` as of `now` (µs), an expiry that is due
/// written first; nil for an unknown approval, and a second result `'corrupt'` when `exp` is
/// not a number. `reply` answers a code and every field of `h`.
const LUA_HELPERS: &str = r#"
local function observe(h, now)
  local st = redis.call('HGET', h, 'status')
  if not st then return nil end
  if st == 'pending' or st == 'approved' then
    local exp = tonumber(redis.call('HGET', h, 'exp'))
    if exp == nil then return st, 'corrupt' end
    if tonumber(now) >= exp then
      st = 'expired'
      redis.call('HSET', h, 'status', st)
    end
  end
  return st
end
local function reply(code, h)
  local out = redis.call('HGETALL', h)
  table.insert(out, 1, code)
  return out
end
"#;

/// KEYS: the approval, the index. ARGV: id, record, digest, agent, user, approvers, exp,
/// the key's expiry (ms since the epoch), the retention (µs).
pub const CREATE_SCRIPT: &str = r#"
local h, index = KEYS[1], KEYS[2]
if redis.call('EXISTS', h) == 1 then return {'exists'} end
redis.call('HSET', h, 'record', ARGV[2], 'status', 'pending', 'digest', ARGV[3], 'agent', ARGV[4], 'user', ARGV[5], 'approvers', ARGV[6], 'exp', ARGV[7])
redis.call('PEXPIREAT', h, ARGV[8])
local t = redis.call('TIME')
local cutoff = tonumber(t[1]) * 1000000 + tonumber(t[2]) - tonumber(ARGV[9])
redis.call('ZREMRANGEBYSCORE', index, '-inf', '(' .. string.format('%.0f', cutoff))
redis.call('ZADD', index, ARGV[7], ARGV[1])
return {'ok'}
"#;

/// KEYS: the approval. ARGV: now (µs).
pub const GET_SCRIPT: &str = r#"
local st, bad = observe(KEYS[1], ARGV[1])
if st == nil then return {'not_found'} end
return reply(bad or 'ok', KEYS[1])
"#;

/// KEYS: the index. ARGV: now (µs), the key prefix. Answers the id and the reply of each
/// approval, in turn.
pub const LIST_SCRIPT: &str = r#"
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local h = ARGV[2] .. id
  local st, bad = observe(h, ARGV[1])
  if st == nil then
    redis.call('ZREM', KEYS[1], id)
  else
    out[#out + 1] = id
    out[#out + 1] = reply(bad or 'ok', h)
  end
end
return out
"#;

/// KEYS: the approval. ARGV: now (µs), the new status, the reviewer's name, `1` if there is a
/// comment, the comment, then the reviewer's roles. The checks in the order of `mod.rs`.
pub const DECIDE_SCRIPT: &str = r#"
local h = KEYS[1]
local st, bad = observe(h, ARGV[1])
if st == nil then return {'not_found'} end
if bad then return reply(bad, h) end
local by = ARGV[3]
if by == redis.call('HGET', h, 'agent') or by == redis.call('HGET', h, 'user') then return reply('own', h) end
local ok, approvers = pcall(cjson.decode, redis.call('HGET', h, 'approvers') or '')
if not ok or type(approvers) ~= 'table' then return reply('corrupt', h) end
if #approvers > 0 then
  local has = false
  for _, a in ipairs(approvers) do
    for i = 6, #ARGV do
      if ARGV[i] == a then has = true end
    end
  end
  if not has then return reply('role', h) end
end
if st ~= 'pending' then return reply('not_pending', h) end
redis.call('HSET', h, 'status', ARGV[2], 'by', by)
if ARGV[4] == '1' then redis.call('HSET', h, 'comment', ARGV[5]) end
return reply('ok', h)
"#;

/// KEYS: the approval. ARGV: now (µs), the call's digest, the agent. The checks in the order
/// of `mod.rs`; `approved` becomes `consumed` here, once.
pub const CONSUME_SCRIPT: &str = r#"
local h = KEYS[1]
local st, bad = observe(h, ARGV[1])
if st == nil then return {'not_found'} end
if bad then return reply(bad, h) end
if ARGV[3] ~= redis.call('HGET', h, 'agent') then return reply('agent', h) end
if ARGV[2] ~= redis.call('HGET', h, 'digest') then return reply('changed', h) end
if st ~= 'approved' then return reply('not_pending', h) end
redis.call('HSET', h, 'status', 'consumed')
return reply('ok', h)
"#;

/// Approvals in Redis (`--redis URL`): shared by instances, consumed at most once across them.
pub struct RedisApprovals {
    link: Link,
    create: Script,
    get: Script,
    list: Script,
    decide: Script,
    consume: Script,
}

impl RedisApprovals {
    /// Connects (within [`TIMEOUT`](crate::TIMEOUT)) and loads the scripts; an unreachable
    /// Redis is an `Unavailable` store error.
    pub fn connect(url: &str) -> Result<Self, ApprovalError> {
        let script = |body: &str| Script::new(format!("{LUA_HELPERS}{body}"));
        let store = RedisApprovals {
            link: Link::new(url, "approval store")?,
            create: script(CREATE_SCRIPT),
            get: script(GET_SCRIPT),
            list: script(LIST_SCRIPT),
            decide: script(DECIDE_SCRIPT),
            consume: script(CONSUME_SCRIPT),
        };
        store.link.load_all(&[&store.create, &store.get, &store.list, &store.decide, &store.consume])?;
        Ok(store)
    }

    /// Every command sent to Redis so far.
    pub fn round_trips(&self) -> u64 {
        self.link.round_trips()
    }

    fn where_(&self) -> String {
        format!("the approval store at `{}`", self.link.shown)
    }

    fn bad_reply(&self) -> ApprovalError {
        ApprovalError::Store(gavel::store::StoreError::corrupt(format!(
            "{} answered something that is not an approval; check that no other program writes `gavel:{{approvals}}:*` keys",
            self.where_()
        )))
    }

    /// A script's reply `{code, field, value, ...}`: the code, and the approval its fields
    /// hold (none for `not_found` and `exists`).
    fn parse(&self, id: &str, reply: &Value) -> Result<(Vec<u8>, Option<Approval>), ApprovalError> {
        let Value::Array(parts) = reply else { return Err(self.bad_reply()) };
        let Some((code, fields)) = parts.split_first() else { return Err(self.bad_reply()) };
        let code = bulk(code).ok_or_else(|| self.bad_reply())?.to_vec();
        if fields.is_empty() {
            return Ok((code, None));
        }
        let (mut record, mut status, mut by, mut comment) = (None, None, None, None);
        for pair in fields.chunks(2) {
            let [name, value] = pair else { return Err(self.bad_reply()) };
            let (name, value) = (bulk(name).ok_or_else(|| self.bad_reply())?, bulk(value).ok_or_else(|| self.bad_reply())?);
            match name {
                b"record" => record = Some(value),
                b"status" => status = Some(value),
                b"by" => by = Some(value),
                b"comment" => comment = Some(value),
                _ => {}
            }
        }
        let what = self.where_();
        let text = |v: &[u8]| String::from_utf8(v.to_vec()).map_err(|e| ApprovalError::Store(damaged(id, &what, e)));
        let mut approval: Approval = serde_json::from_slice(record.ok_or_else(|| damaged(id, &what, "no `record`"))?).map_err(|e| damaged(id, &what, e))?;
        let status = status.ok_or_else(|| damaged(id, &what, "no `status`"))?;
        approval.status = std::str::from_utf8(status)
            .ok()
            .and_then(ApprovalStatus::parse)
            .ok_or_else(|| damaged(id, &what, format!("status `{}`", String::from_utf8_lossy(status))))?;
        approval.decided_by = by.map(text).transpose()?;
        approval.comment = comment.map(text).transpose()?;
        Ok((code, Some(approval)))
    }

    /// The answer a transition's reply means, for the reviewer `name` when deciding.
    fn outcome(&self, id: &str, reply: &Value, name: &str) -> Result<Approval, ApprovalError> {
        let (code, approval) = self.parse(id, reply)?;
        let approval = match (code.as_slice(), approval) {
            (b"not_found", _) => return Err(ApprovalError::NotFound),
            (_, Some(a)) => a,
            _ => return Err(self.bad_reply()),
        };
        match code.as_slice() {
            b"ok" => Ok(approval),
            b"not_pending" => Err(ApprovalError::NotPending(approval.status)),
            b"own" => Err(forbidden::own(name)),
            b"role" => Err(forbidden::role(name, &approval.approvers)),
            b"agent" => Err(forbidden::agent()),
            b"changed" => Err(forbidden::changed()),
            b"corrupt" => Err(damaged(id, &self.where_(), "its `exp` or `approvers` field").into()),
            _ => Err(self.bad_reply()),
        }
    }

    fn key(id: &str) -> String {
        format!("{KEY_PREFIX}{id}")
    }
}

impl ApprovalStore for RedisApprovals {
    fn create(&self, approval: &Approval) -> Result<(), ApprovalError> {
        let exp = check_new(approval)?;
        // INVARIANT: an `Approval` (and a list of strings) always serializes.
        let record = serde_json::to_string(approval).expect("an approval serializes");
        let approvers = serde_json::to_string(&approval.approvers).expect("strings serialize");
        // At least 1: Redis refuses a negative time (an `expires_at` before 1970).
        let expire_ms = exp.div_euclid(1000).saturating_add(RETAIN_SECS * 1000).max(1);
        let args = [
            approval.id.clone(),
            record,
            approval.digest.clone(),
            approval.agent.clone(),
            approval.user.clone(),
            approvers,
            exp.to_string(),
            expire_ms.to_string(),
            (RETAIN_SECS * 1_000_000).to_string(),
        ];
        let reply = self.link.eval(&self.create, &[Self::key(&approval.id), INDEX.to_string()], &args)?;
        match self.parse(&approval.id, &reply)?.0.as_slice() {
            b"ok" => Ok(()),
            b"exists" => Err(exists(&approval.id).into()),
            _ => Err(self.bad_reply()),
        }
    }

    fn get(&self, id: &str, now: SystemTime) -> Result<Approval, ApprovalError> {
        let reply = self.link.eval(&self.get, &[Self::key(id)], &[micros(now).to_string()])?;
        self.outcome(id, &reply, "")
    }

    fn list(&self, status: Option<ApprovalStatus>, now: SystemTime) -> Result<Vec<Approval>, ApprovalError> {
        let reply = self.link.eval(&self.list, &[INDEX.to_string()], &[micros(now).to_string(), KEY_PREFIX.to_string()])?;
        let Value::Array(replies) = reply else { return Err(self.bad_reply()) };
        let mut out = Vec::with_capacity(replies.len() / 2);
        for pair in replies.chunks(2) {
            let [id, r] = pair else { return Err(self.bad_reply()) };
            let id = bulk(id).map(String::from_utf8_lossy).ok_or_else(|| self.bad_reply())?;
            let approval = self.outcome(&id, r, "")?;
            if status.is_none_or(|s| s == approval.status) {
                out.push(approval);
            }
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    fn decide(&self, id: &str, reviewer: &Reviewer, approve: bool, comment: Option<&str>, now: SystemTime) -> Result<Approval, ApprovalError> {
        let status = if approve { ApprovalStatus::Approved } else { ApprovalStatus::Rejected };
        let mut args = vec![
            micros(now).to_string(),
            status.as_str().to_string(),
            reviewer.name.to_string(),
            if comment.is_some() { "1" } else { "0" }.to_string(),
            comment.unwrap_or_default().to_string(),
        ];
        args.extend(reviewer.roles.iter().cloned());
        let reply = self.link.eval(&self.decide, &[Self::key(id)], &args)?;
        self.outcome(id, &reply, reviewer.name)
    }

    fn consume(&self, id: &str, digest: &str, agent: &str, now: SystemTime) -> Result<Approval, ApprovalError> {
        let reply = self.link.eval(&self.consume, &[Self::key(id)], &[micros(now).to_string(), digest.to_string(), agent.to_string()])?;
        self.outcome(id, &reply, "")
    }
}
