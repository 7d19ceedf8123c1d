//! Action records that also go to the audit chain: the first save of an action (the backup,
//! before anything changes) is a detection; the last says what was proposed, applied or
//! reported, with the before and after state.

use serde_json::json;

use super::{AuditDraft, AuditKind, AuditLog};
use crate::action::{ActionRecord, Outcome};
use crate::exposure::Status;
use crate::store::{ActionStore, StoreError};

/// An action store that appends every saved record to an audit log, when there is one.
pub struct AuditedStore<S, A> {
    pub inner: S,
    pub audit: Option<A>,
}

/// The audit entry for a saved action record.
pub fn draft_for(record: &ActionRecord) -> AuditDraft {
    let kind = match (record.finished_at, record.outcome) {
        (None, _) | (Some(_), Outcome::DryRun) => AuditKind::Detection,
        (Some(_), Outcome::Proposed) => AuditKind::Proposal,
        (Some(_), Outcome::Approved) => AuditKind::Approval,
        (Some(_), Outcome::Rejected) => AuditKind::Rejection,
        (Some(_), Outcome::PullRequest) => AuditKind::Pr,
        (Some(_), _) => AuditKind::Action,
    };
    let findings: Vec<_> = record
        .verdict_before
        .findings
        .iter()
        .filter(|f| f.status != Status::Info)
        .map(|f| json!({"code": f.code, "layer": f.layer, "status": f.status, "statement": f.statement, "grant": f.grant}))
        .collect();
    let payload = json!({
        "action_id": record.action_id,
        "finding": findings,
        "exposure": record.verdict_before.exposure,
        "severity": record.severity,
        "intent": record.classification.as_ref().map(|c| c.intent),
        "mode": record.mode,
        "decision": record.outcome,
        "exception": record.exception,
        "approver": record.review.as_ref().map(|r| r.by.clone()),
        "review": record.review,
        "pull_request": record.pull_request,
        "steps_planned": record.plan.steps.iter().map(|s| &s.summary).collect::<Vec<_>>(),
        "steps_applied": record.applied,
        "before": record.before,
        "after_public": record.verdict_after.as_ref().map(|v| v.public),
        "result": {"outcome": record.outcome, "failure": record.failure, "lost": record.lost},
        "started_at": record.started_at,
        "finished_at": record.finished_at,
    });
    let mut draft = AuditDraft::new(record.account_id.clone(), kind, payload)
        .with_bucket(record.bucket.clone());
    if let crate::action::Trigger::Event {
        event_id,
        event_time,
        ..
    } = &record.trigger
    {
        draft = draft.with_event(event_id.clone(), *event_time);
    }
    draft
}

impl<S: ActionStore, A: AuditLog> ActionStore for AuditedStore<S, A> {
    async fn save(&self, record: &ActionRecord) -> Result<(), StoreError> {
        self.inner.save(record).await?;
        if let Some(audit) = &self.audit {
            audit
                .append(draft_for(record))
                .await
                .map_err(|e| StoreError::Backend(Box::new(e)))?;
        }
        Ok(())
    }

    async fn load(&self, action_id: &str) -> Result<Option<ActionRecord>, StoreError> {
        self.inner.load(action_id).await
    }

    async fn open_proposal(&self, bucket: &str) -> Result<Option<String>, StoreError> {
        self.inner.open_proposal(bucket).await
    }

    async fn set_open_proposal(&self, bucket: &str, action_id: &str) -> Result<(), StoreError> {
        self.inner.set_open_proposal(bucket, action_id).await
    }
}
