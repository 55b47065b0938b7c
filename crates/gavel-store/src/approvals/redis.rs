//! Skeleton: being built on branch `approvals`.

use std::time::SystemTime;

use gavel::store::StoreError;

use super::{Approval, ApprovalError, ApprovalStatus, ApprovalStore, Reviewer};

pub struct RedisApprovals {}

impl RedisApprovals {
    pub fn connect(url: &str) -> Result<Self, ApprovalError> {
        let _ = url;
        Err(Self::todo())
    }
    fn todo() -> ApprovalError {
        ApprovalError::Store(StoreError::unavailable("this approval store is not built yet"))
    }
}

impl ApprovalStore for RedisApprovals {
    fn create(&self, _: &Approval) -> Result<(), ApprovalError> {
        Err(Self::todo())
    }
    fn get(&self, _: &str, _: SystemTime) -> Result<Approval, ApprovalError> {
        Err(Self::todo())
    }
    fn list(&self, _: Option<ApprovalStatus>, _: SystemTime) -> Result<Vec<Approval>, ApprovalError> {
        Err(Self::todo())
    }
    fn decide(&self, _: &str, _: &Reviewer, _: bool, _: Option<&str>, _: SystemTime) -> Result<Approval, ApprovalError> {
        Err(Self::todo())
    }
    fn consume(&self, _: &str, _: &str, _: &str, _: SystemTime) -> Result<Approval, ApprovalError> {
        Err(Self::todo())
    }
}

pub const RETAIN_SECS: i64 = 86_400;
pub const CREATE_SCRIPT: &str = "";
pub const GET_SCRIPT: &str = "";
pub const LIST_SCRIPT: &str = "";
pub const DECIDE_SCRIPT: &str = "";
pub const CONSUME_SCRIPT: &str = "";
