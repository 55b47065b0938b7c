//! The embedded, persistent window store (`--state DIR`): a [`MemoryStore`] answers every
//! read; redb (`DIR/windows.redb`) makes it survive restarts and `kill -9`.
//!
//! In: a directory, the policy's windows and bounds at [`RedbStore::open`]; reads, events and
//! syncs through [`WindowStore`]. Out: the in-memory store's answers (so it answers what the
//! reference model answers by construction) and a file. `record` applies the events in memory
//! and appends their bytes to a pending batch, in the same order (one lock), so replaying the
//! batches rebuilds the same state; `sync` writes the pending batch as one row of the `log`
//! table in one write transaction and commits it durably (one fsync for everything since the
//! last sync). Every 100,000 logged events, and at every open, the store compacts: in one
//! transaction the `log` is emptied and the `states` table rewritten with every (window, key)
//! state, so the file follows the live events, not the history. Opening loads the states,
//! replays the log, and drops what belongs to windows it was not opened with (a changed
//! definition has a new id: its events are never read).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use gavel::store::{Answer, Bounds, Event, MemoryStore, Read, StoreError, WindowSpec, WindowStore};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use crate::codec;

/// Batch number → the bytes of the events recorded between two syncs.
const LOG: TableDefinition<u64, &[u8]> = TableDefinition::new("log");
/// (window id, key) → that key's whole state, as of the last compaction.
const STATES: TableDefinition<(u64, u128), &[u8]> = TableDefinition::new("states");

/// Logged events after which a sync compacts.
const COMPACT_AFTER: usize = 100_000;

/// The window store under `--state DIR`: a `MemoryStore` that answers reads, with every record logged in redb and made durable by `sync`.
pub struct RedbStore {
    memory: MemoryStore,
    db: Database,
    file: PathBuf,
    /// Held while a batch is committed, so that a sync returns only once every event recorded
    /// before it is durable (also those a concurrent sync took).
    sync: Mutex<SyncState>,
    pending: Mutex<Pending>,
}

struct SyncState {
    next_batch: u64,
    logged: usize,
}

#[derive(Default)]
struct Pending {
    bytes: Vec<u8>,
    events: usize,
}

impl RedbStore {
    /// Opens (or creates) the store in `dir`. Fails when the directory cannot be created, the
    /// file is held by another process, or its contents are damaged.
    pub fn open(dir: impl AsRef<Path>, windows: &[WindowSpec], bounds: Bounds) -> Result<Self, StoreError> {
        let dir = dir.as_ref();
        let memory = MemoryStore::new(windows, bounds)?;
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::unavailable(format!("the window store directory `{}` cannot be created: {e}; check `--state`", dir.display())))?;
        let file = dir.join("windows.redb");
        let db = Database::create(&file).map_err(|e| {
            let why = match e {
                redb::DatabaseError::DatabaseAlreadyOpen => "it is open in another process; give each process its own `--state` or use `--redis`".to_string(),
                e => format!("{e}; check `--state`"),
            };
            StoreError::unavailable(format!("the window store `{}` cannot be opened: {why}", file.display()))
        })?;
        let store = RedbStore { memory, db, file, sync: Mutex::new(SyncState { next_batch: 0, logged: 0 }), pending: Mutex::new(Pending::default()) };
        store.load()?;
        store.compact()?;
        Ok(store)
    }

    fn fault(&self, e: impl Into<redb::Error>) -> StoreError {
        StoreError::unavailable(format!("the window store `{}` cannot be read or written: {}; check the disk", self.file.display(), e.into()))
    }

    fn poisoned(&self) -> StoreError {
        StoreError::unavailable("the window store was left inconsistent by a panic; restart the process")
    }

    /// The states, then the log's batches in order, into memory.
    fn load(&self) -> Result<(), StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.fault(e))?;
        match txn.open_table(STATES) {
            Ok(table) => {
                let mut snapshots = Vec::new();
                for row in table.iter().map_err(|e| self.fault(e))? {
                    let (k, v) = row.map_err(|e| self.fault(e))?;
                    let (window, key) = k.value();
                    snapshots.push(codec::snapshot(window, key, v.value())?);
                }
                self.memory.restore(snapshots)?;
            }
            Err(redb::TableError::TableDoesNotExist(_)) => {}
            Err(e) => return Err(self.fault(e)),
        }
        match txn.open_table(LOG) {
            Ok(table) => {
                for row in table.iter().map_err(|e| self.fault(e))? {
                    let (_, v) = row.map_err(|e| self.fault(e))?;
                    let mut events = codec::events(v.value())?;
                    events.retain(|e| self.memory.specs().get(e.window).is_ok());
                    self.memory.record(&events)?;
                }
            }
            Err(redb::TableError::TableDoesNotExist(_)) => {}
            Err(e) => return Err(self.fault(e)),
        }
        Ok(())
    }

    /// Rewrites the states from memory and empties the log, in one durable transaction. The
    /// pending batch is taken under the same lock as the snapshot, so the snapshot holds
    /// exactly the events recorded so far and none is logged twice.
    fn compact(&self) -> Result<(), StoreError> {
        let mut sync = self.sync.lock().map_err(|_| self.poisoned())?;
        let (taken, snapshots) = {
            let mut pending = self.pending.lock().map_err(|_| self.poisoned())?;
            (std::mem::take(&mut *pending), self.memory.snapshot()?)
        };
        let write = || -> Result<(), redb::Error> {
            let txn = self.db.begin_write()?;
            txn.delete_table(LOG)?;
            txn.delete_table(STATES)?;
            {
                let mut table = txn.open_table(STATES)?;
                let mut bytes = Vec::new();
                for s in &snapshots {
                    bytes.clear();
                    codec::put_snapshot(&mut bytes, s);
                    table.insert((s.window, s.key), bytes.as_slice())?;
                }
                txn.open_table(LOG)?;
            }
            txn.commit()?;
            Ok(())
        };
        if let Err(e) = write() {
            self.put_back(taken)?;
            return Err(self.fault(e));
        }
        *sync = SyncState { next_batch: 0, logged: 0 };
        Ok(())
    }

    /// A batch whose commit failed goes back before what was recorded since, so the next sync
    /// writes it.
    fn put_back(&self, taken: Pending) -> Result<(), StoreError> {
        let mut pending = self.pending.lock().map_err(|_| self.poisoned())?;
        let newer = std::mem::replace(&mut *pending, taken);
        pending.bytes.extend_from_slice(&newer.bytes);
        pending.events += newer.events;
        Ok(())
    }
}

impl WindowStore for RedbStore {
    fn read(&self, reads: &[Read], out: &mut Vec<Result<Answer, StoreError>>) -> Result<(), StoreError> {
        self.memory.read(reads, out)
    }

    fn record(&self, events: &[Event]) -> Result<(), StoreError> {
        let mut pending = self.pending.lock().map_err(|_| self.poisoned())?;
        self.memory.record(events)?;
        for e in events {
            codec::put_event(&mut pending.bytes, e);
        }
        pending.events += events.len();
        Ok(())
    }

    fn sync(&self) -> Result<(), StoreError> {
        let mut sync = self.sync.lock().map_err(|_| self.poisoned())?;
        if sync.logged >= COMPACT_AFTER {
            drop(sync);
            return self.compact();
        }
        let taken = std::mem::take(&mut *self.pending.lock().map_err(|_| self.poisoned())?);
        if taken.events == 0 {
            return Ok(());
        }
        let write = || -> Result<(), redb::Error> {
            let txn = self.db.begin_write()?;
            txn.open_table(LOG)?.insert(sync.next_batch, taken.bytes.as_slice())?;
            txn.commit()?;
            Ok(())
        };
        match write() {
            Ok(()) => {
                sync.next_batch += 1;
                sync.logged += taken.events;
                Ok(())
            }
            Err(e) => {
                self.put_back(taken)?;
                Err(self.fault(e))
            }
        }
    }
}

impl Drop for RedbStore {
    /// A store dropped in an orderly way keeps what it recorded; after a crash, only what was
    /// synced is there (`sync` is the promise).
    fn drop(&mut self) {
        let _ = self.sync();
    }
}
