//! Approvals in a map behind one lock: for tests and a process that needs nothing to survive.
//!
//! In: the [`ApprovalStore`] calls. Out: the state machine of `mod.rs` applied under the lock,
//! so every transition (consume included) is atomic among threads. Nothing survives the
//! process.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::SystemTime;

use gavel::store::StoreError;

use super::{check_new, exists, observe, Approval, ApprovalError, ApprovalStatus, ApprovalStore, Reviewer};

/// Approvals in memory, for tests and one process: lost on exit.
#[derive(Default)]
pub struct MemoryApprovals {
    /// By id, so `list` is in id order.
    approvals: Mutex<BTreeMap<String, Approval>>,
}

impl MemoryApprovals {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `f` on the approval `id` as of `now` (expired first if due, which stays even when
    /// `f` fails) under the lock.
    fn with(&self, id: &str, now: SystemTime, f: impl FnOnce(&mut Approval) -> Result<(), ApprovalError>) -> Result<Approval, ApprovalError> {
        let mut approvals = self.lock()?;
        let approval = approvals.get_mut(id).ok_or(ApprovalError::NotFound)?;
        observe(approval, now)?;
        f(approval)?;
        Ok(approval.clone())
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, BTreeMap<String, Approval>>, ApprovalError> {
        self.approvals
            .lock()
            .map_err(|_| ApprovalError::Store(StoreError::unavailable("the approval store was left inconsistent by a panic; restart the process")))
    }
}

impl ApprovalStore for MemoryApprovals {
    fn create(&self, approval: &Approval) -> Result<(), ApprovalError> {
        check_new(approval)?;
        let mut approvals = self.lock()?;
        if approvals.contains_key(&approval.id) {
            return Err(exists(&approval.id).into());
        }
        approvals.insert(approval.id.clone(), approval.clone());
        Ok(())
    }

    fn get(&self, id: &str, now: SystemTime) -> Result<Approval, ApprovalError> {
        self.with(id, now, |_| Ok(()))
    }

    fn list(&self, status: Option<ApprovalStatus>, now: SystemTime) -> Result<Vec<Approval>, ApprovalError> {
        let mut approvals = self.lock()?;
        let mut out = Vec::new();
        for approval in approvals.values_mut() {
            observe(approval, now)?;
            if status.is_none_or(|s| s == approval.status) {
                out.push(approval.clone());
            }
        }
        Ok(out)
    }

    fn decide(&self, id: &str, reviewer: &Reviewer, approve: bool, comment: Option<&str>, now: SystemTime) -> Result<Approval, ApprovalError> {
        self.with(id, now, |a| super::decide(a, reviewer, approve, comment))
    }

    fn consume(&self, id: &str, digest: &str, agent: &str, now: SystemTime) -> Result<Approval, ApprovalError> {
        self.with(id, now, |a| super::consume(a, digest, agent))
    }
}
