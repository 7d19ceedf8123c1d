//! Co-pilot for IAM: a proposal to attach the deny guardrail to one offending principal, its
//! life (proposed -> applied -> rolled back, or rejected), and where proposals are kept. The
//! transitions are pure; the AWS side is in `aws::iam`.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::evaluate::{PrincipalKind, PrincipalReport};
use crate::severity::Severity;
use crate::store::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProposalStatus {
    /// Waits for a person.
    Proposed,
    /// Approved and attached.
    Applied,
    Rejected,
    /// Attached, then detached again.
    RolledBack,
}

impl std::fmt::Display for ProposalStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Proposed => "proposed",
            Self::Applied => "applied",
            Self::Rejected => "rejected",
            Self::RolledBack => "rolled_back",
        })
    }
}

/// Who decided, when, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decided {
    pub by: String,
    pub at: DateTime<Utc>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// A proposal to attach the deny guardrail to one principal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuardrailProposal {
    pub id: String,
    pub account_id: String,
    pub created_at: DateTime<Utc>,
    /// `user` or `role`.
    pub principal_kind: String,
    pub principal_name: String,
    pub principal_arn: String,
    pub severity: Severity,
    pub actions: Vec<String>,
    pub reasons: Vec<String>,
    /// The deny policy's document as it will be (or was) written.
    pub document: String,
    pub status: ProposalStatus,
    #[serde(default)]
    pub decision: Option<Decided>,
    /// The managed policy attached, once applied.
    #[serde(default)]
    pub policy_arn: Option<String>,
    /// The policy was already attached before the approval: rollback leaves it.
    #[serde(default)]
    pub was_attached: bool,
    #[serde(default)]
    pub rolled_back: Option<Decided>,
}

/// A transition that the proposal's status does not allow.
#[derive(Debug, thiserror::Error)]
#[error("guardrail proposal `{id}` is {status}; it cannot be {wanted}")]
pub struct TransitionError {
    pub id: String,
    pub status: ProposalStatus,
    pub wanted: &'static str,
}

impl GuardrailProposal {
    /// A proposal for a finding (`None` for a principal without one, or a group).
    pub fn for_finding(
        report: &PrincipalReport,
        account_id: &str,
        document: &serde_json::Value,
        id: String,
        now: DateTime<Utc>,
    ) -> Option<Self> {
        let finding = report.finding.as_ref()?;
        if report.kind == PrincipalKind::Group {
            return None;
        }
        Some(Self {
            id,
            account_id: account_id.to_owned(),
            created_at: now,
            principal_kind: report.kind.to_string(),
            principal_name: report.name.clone(),
            principal_arn: report.arn.clone(),
            severity: finding.severity,
            actions: finding.actions.clone(),
            reasons: finding.reasons.clone(),
            document: document.to_string(),
            status: ProposalStatus::Proposed,
            decision: None,
            policy_arn: None,
            was_attached: false,
            rolled_back: None,
        })
    }

    fn check(&self, expected: ProposalStatus, wanted: &'static str) -> Result<(), TransitionError> {
        if self.status == expected {
            Ok(())
        } else {
            Err(TransitionError {
                id: self.id.clone(),
                status: self.status,
                wanted,
            })
        }
    }

    /// Can it be approved (and applied)?
    pub fn check_approvable(&self) -> Result<(), TransitionError> {
        self.check(ProposalStatus::Proposed, "approved")
    }

    /// Records the approval and the attachment.
    pub fn applied(
        &mut self,
        by: &str,
        at: DateTime<Utc>,
        policy_arn: &str,
        was_attached: bool,
    ) -> Result<(), TransitionError> {
        self.check_approvable()?;
        self.status = ProposalStatus::Applied;
        self.decision = Some(Decided {
            by: by.to_owned(),
            at,
            reason: None,
        });
        self.policy_arn = Some(policy_arn.to_owned());
        self.was_attached = was_attached;
        Ok(())
    }

    pub fn reject(
        &mut self,
        by: &str,
        at: DateTime<Utc>,
        reason: Option<String>,
    ) -> Result<(), TransitionError> {
        self.check(ProposalStatus::Proposed, "rejected")?;
        self.status = ProposalStatus::Rejected;
        self.decision = Some(Decided {
            by: by.to_owned(),
            at,
            reason,
        });
        Ok(())
    }

    pub fn check_rollbackable(&self) -> Result<(), TransitionError> {
        self.check(ProposalStatus::Applied, "rolled back")
    }

    pub fn rolled_back(&mut self, by: &str, at: DateTime<Utc>) -> Result<(), TransitionError> {
        self.check_rollbackable()?;
        self.status = ProposalStatus::RolledBack;
        self.rolled_back = Some(Decided {
            by: by.to_owned(),
            at,
            reason: None,
        });
        Ok(())
    }

    /// Still open for this principal (proposed or applied): a new proposal would repeat it.
    pub fn is_open(&self) -> bool {
        matches!(
            self.status,
            ProposalStatus::Proposed | ProposalStatus::Applied
        )
    }
}

/// Where proposals are kept.
pub trait ProposalStore: Send + Sync {
    fn save(
        &self,
        proposal: &GuardrailProposal,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
    fn load(
        &self,
        id: &str,
    ) -> impl std::future::Future<Output = Result<Option<GuardrailProposal>, StoreError>> + Send;
    fn list(
        &self,
    ) -> impl std::future::Future<Output = Result<Vec<GuardrailProposal>, StoreError>> + Send;
}

/// Keeps proposals in memory, for tests.
#[derive(Debug, Default)]
pub struct MemoryProposalStore {
    items: std::sync::Mutex<std::collections::BTreeMap<String, GuardrailProposal>>,
}

impl MemoryProposalStore {
    fn lock(
        &self,
    ) -> Result<
        std::sync::MutexGuard<'_, std::collections::BTreeMap<String, GuardrailProposal>>,
        StoreError,
    > {
        self.items
            .lock()
            .map_err(|e| StoreError::Backend(e.to_string().into()))
    }
}

impl ProposalStore for MemoryProposalStore {
    async fn save(&self, proposal: &GuardrailProposal) -> Result<(), StoreError> {
        self.lock()?.insert(proposal.id.clone(), proposal.clone());
        Ok(())
    }

    async fn load(&self, id: &str) -> Result<Option<GuardrailProposal>, StoreError> {
        Ok(self.lock()?.get(id).cloned())
    }

    async fn list(&self) -> Result<Vec<GuardrailProposal>, StoreError> {
        Ok(self.lock()?.values().cloned().collect())
    }
}

/// Keeps proposals as JSON files in a directory (the CLI's state directory).
#[derive(Debug, Clone)]
pub struct FileProposalStore {
    files: crate::store::JsonDir,
}

impl FileProposalStore {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            files: crate::store::JsonDir::new(dir),
        }
    }
}

impl ProposalStore for FileProposalStore {
    async fn save(&self, proposal: &GuardrailProposal) -> Result<(), StoreError> {
        self.files.save(&proposal.id, proposal).await
    }

    async fn load(&self, id: &str) -> Result<Option<GuardrailProposal>, StoreError> {
        self.files.load(id).await
    }

    async fn list(&self) -> Result<Vec<GuardrailProposal>, StoreError> {
        let mut out: Vec<GuardrailProposal> = self.files.list().await?;
        out.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        Ok(out)
    }
}
