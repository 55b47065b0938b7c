//! Window stores that live outside the process's memory, kept out of the core library so
//! that an embedder of `gavel` compiles neither redb nor a Redis client.
//!
//! In: the windows and bounds of `gavel::store`; out: [`RedbStore`] (embedded, persistent,
//! `--state DIR`) and [`RedisStore`] (shared by several processes, `--redis URL`), both
//! [`gavel::store::WindowStore`]s that answer what the reference model answers (the
//! conformance property test of `gavel::store::conformance` runs on both, in `tests/`).
//! Also the approval stores of the service ([`approvals`]: memory, redb, Redis).

pub mod approvals;
mod codec;
mod link;
mod redb;
mod redis;

pub use crate::link::TIMEOUT;
pub use crate::redb::RedbStore;
pub use crate::redis::{RedisStore, READ_SCRIPT, RECORD_SCRIPT};
