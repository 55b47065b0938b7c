//! Approvals in their own redb file (`--state DIR`: `DIR/approvals.redb`): they survive
//! restarts and `kill -9`.
//!
//! In: a file path at [`RedbApprovals::open`], then the [`ApprovalStore`] calls. Out: the
//! state machine of `mod.rs`, each call in one redb write transaction (redb admits one writer
//! at a time, so a consume is atomic among threads; one process owns the file). A call that
//! changed something (a transition, or an expiry it observed) commits durably (fsync) before
//! it returns; one that changed nothing aborts. Rows: id → the approval's JSON.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use gavel::store::StoreError;
use redb::{Database, ReadableTable, TableDefinition};

use super::{check_new, damaged, exists, observe, Approval, ApprovalError, ApprovalStatus, ApprovalStore, Reviewer};

/// Approval id → the approval as JSON.
const APPROVALS: TableDefinition<&str, &[u8]> = TableDefinition::new("approvals");

/// Approvals in the embedded store (redb) under `--state DIR`: they survive a restart.
pub struct RedbApprovals {
    db: Database,
    file: PathBuf,
}

impl RedbApprovals {
    /// Opens (or creates) the file, and its directory. Fails when the directory cannot be
    /// created, the file is held by another process, or it is not a redb file.
    pub fn open(path: &Path) -> Result<Self, ApprovalError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::unavailable(format!("the approval store directory `{}` cannot be created: {e}; check `--state`", dir.display())))?;
        }
        let db = Database::create(path).map_err(|e| {
            let why = match e {
                redb::DatabaseError::DatabaseAlreadyOpen => "it is open in another process; give each process its own `--state` or use `--redis`".to_string(),
                e => format!("{e}; check `--state`"),
            };
            StoreError::unavailable(format!("the approval store `{}` cannot be opened: {why}", path.display()))
        })?;
        Ok(RedbApprovals { db, file: path.to_path_buf() })
    }

    fn fault(&self, e: impl Into<redb::Error>) -> ApprovalError {
        ApprovalError::Store(StoreError::unavailable(format!(
            "the approval store `{}` cannot be read or written: {}; check the disk",
            self.file.display(),
            e.into()
        )))
    }

    fn decode(&self, id: &str, bytes: &[u8]) -> Result<Approval, ApprovalError> {
        serde_json::from_slice(bytes).map_err(|e| damaged(id, &format!("`{}`", self.file.display()), e).into())
    }

    fn encode(approval: &Approval) -> Vec<u8> {
        // INVARIANT: an `Approval` is strings, lists and a JSON value: it always serializes.
        serde_json::to_vec(approval).expect("an approval serializes")
    }

    /// Commits (durably) what changed; a transaction that changed nothing is aborted, so a
    /// read costs no fsync.
    fn finish(&self, txn: redb::WriteTransaction, changed: bool) -> Result<(), ApprovalError> {
        if changed {
            txn.commit().map_err(|e| self.fault(e))
        } else {
            txn.abort().map_err(|e| self.fault(e))
        }
    }

    /// Runs `f` on the approval `id` as of `now` in one write transaction, committed when the
    /// approval changed (an observed expiry stays even when `f` fails).
    fn with(&self, id: &str, now: SystemTime, f: impl FnOnce(&mut Approval) -> Result<(), ApprovalError>) -> Result<Approval, ApprovalError> {
        let txn = self.db.begin_write().map_err(|e| self.fault(e))?;
        let (approval, result, changed) = {
            let mut table = txn.open_table(APPROVALS).map_err(|e| self.fault(e))?;
            let stored = match table.get(id).map_err(|e| self.fault(e))? {
                Some(bytes) => self.decode(id, bytes.value())?,
                None => return Err(ApprovalError::NotFound),
            };
            let mut approval = stored.clone();
            observe(&mut approval, now)?;
            let result = f(&mut approval);
            let changed = approval != stored;
            if changed {
                table.insert(id, Self::encode(&approval).as_slice()).map_err(|e| self.fault(e))?;
            }
            (approval, result, changed)
        };
        self.finish(txn, changed)?;
        result.map(|()| approval)
    }
}

impl ApprovalStore for RedbApprovals {
    fn create(&self, approval: &Approval) -> Result<(), ApprovalError> {
        check_new(approval)?;
        let txn = self.db.begin_write().map_err(|e| self.fault(e))?;
        {
            let mut table = txn.open_table(APPROVALS).map_err(|e| self.fault(e))?;
            if table.get(approval.id.as_str()).map_err(|e| self.fault(e))?.is_some() {
                return Err(exists(&approval.id).into());
            }
            table.insert(approval.id.as_str(), Self::encode(approval).as_slice()).map_err(|e| self.fault(e))?;
        }
        txn.commit().map_err(|e| self.fault(e))
    }

    fn get(&self, id: &str, now: SystemTime) -> Result<Approval, ApprovalError> {
        self.with(id, now, |_| Ok(()))
    }

    fn list(&self, status: Option<ApprovalStatus>, now: SystemTime) -> Result<Vec<Approval>, ApprovalError> {
        let txn = self.db.begin_write().map_err(|e| self.fault(e))?;
        let mut out = Vec::new();
        let changed = {
            let mut table = txn.open_table(APPROVALS).map_err(|e| self.fault(e))?;
            let mut expired = Vec::new();
            for row in table.iter().map_err(|e| self.fault(e))? {
                let (k, v) = row.map_err(|e| self.fault(e))?;
                let mut approval = self.decode(k.value(), v.value())?;
                if observe(&mut approval, now)? {
                    expired.push(approval.clone());
                }
                if status.is_none_or(|s| s == approval.status) {
                    out.push(approval);
                }
            }
            for approval in &expired {
                table.insert(approval.id.as_str(), Self::encode(approval).as_slice()).map_err(|e| self.fault(e))?;
            }
            !expired.is_empty()
        };
        self.finish(txn, changed)?;
        Ok(out)
    }

    fn decide(&self, id: &str, reviewer: &Reviewer, approve: bool, comment: Option<&str>, now: SystemTime) -> Result<Approval, ApprovalError> {
        self.with(id, now, |a| super::decide(a, reviewer, approve, comment))
    }

    fn consume(&self, id: &str, digest: &str, agent: &str, now: SystemTime) -> Result<Approval, ApprovalError> {
        self.with(id, now, |a| super::consume(a, digest, agent))
    }
}
