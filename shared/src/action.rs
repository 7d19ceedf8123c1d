//! What a remediation did: the pre-change backup, the steps applied, and the check that the fix
//! worked without losing anything legitimate. Pure data and pure checks.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::exposure::Verdict;
use crate::plan::{Change, Plan};
use crate::policy::ExposureKinds;
use crate::snapshot::{Acl, OwnershipControls, PublicAccessBlock, Snapshot};

/// The state of a bucket before bucketward changed it: enough to restore it exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreChangeState {
    pub bucket: String,
    pub account_id: String,
    #[serde(default)]
    pub region: Option<String>,
    /// The policy text byte for byte, or `None` when the bucket had no policy.
    pub policy_text: Option<String>,
    pub acl: Option<Acl>,
    pub public_access_block: Option<PublicAccessBlock>,
    pub ownership_controls: Option<OwnershipControls>,
    /// Only read back when the plan changes account BPA.
    #[serde(default)]
    pub account_public_access_block: Option<PublicAccessBlock>,
    pub taken_at: DateTime<Utc>,
}

impl PreChangeState {
    pub fn of(snapshot: &Snapshot, account_id: &str, taken_at: DateTime<Utc>) -> Self {
        Self {
            bucket: snapshot.bucket.clone(),
            account_id: account_id.to_owned(),
            region: snapshot.region.clone(),
            policy_text: snapshot.policy.as_ref().map(|p| p.text.clone()),
            acl: snapshot.acl.clone(),
            public_access_block: snapshot.public_access_block,
            ownership_controls: snapshot.ownership_controls.clone(),
            account_public_access_block: snapshot.account_public_access_block,
            taken_at,
        }
    }

    /// Differences between this state and a snapshot, for the rollback check.
    pub fn differences(&self, snapshot: &Snapshot) -> Vec<String> {
        let mut out = Vec::new();
        let policy = snapshot.policy.as_ref().map(|p| p.text.as_str());
        if policy != self.policy_text.as_deref() {
            out.push("the policy text differs from the backup".to_owned());
        }
        if !same_grants(self.acl.as_ref(), snapshot.acl.as_ref()) {
            out.push("the bucket ACL grants differ from the backup".to_owned());
        }
        if snapshot.public_access_block.unwrap_or_default()
            != self.public_access_block.unwrap_or_default()
        {
            out.push("bucket Block Public Access differs from the backup".to_owned());
        }
        if ownership(snapshot.ownership_controls.as_ref())
            != ownership(self.ownership_controls.as_ref())
        {
            out.push("object ownership differs from the backup".to_owned());
        }
        out
    }
}

fn ownership(c: Option<&OwnershipControls>) -> Option<String> {
    c.and_then(|c| c.rules.first())
        .map(|r| r.object_ownership.clone())
}

/// Whether two ACLs hold the same grants, in any order.
fn same_grants(a: Option<&Acl>, b: Option<&Acl>) -> bool {
    let key = |acl: Option<&Acl>| {
        let mut grants: Vec<String> = acl
            .map(|a| {
                a.grants
                    .iter()
                    .map(|g| {
                        format!(
                            "{}|{}|{}|{}",
                            g.grantee.kind,
                            g.grantee.id.as_deref().unwrap_or(""),
                            g.grantee.uri.as_deref().unwrap_or(""),
                            g.permission
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        grants.sort();
        grants
    };
    key(a) == key(b)
}

/// How a remediation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Nothing was public beyond what is allowed: no change.
    NothingToDo,
    /// Every step applied, and the bucket read back non-public with nothing legitimate lost.
    Fixed,
    /// Steps applied, but the read-back still shows exposure or a loss.
    Unverified,
    /// A step failed; the steps before it stay applied (each only removes public access).
    Failed,
    /// The bucket no longer exists.
    Gone,
    /// Dry run: the plan was computed, nothing was changed.
    DryRun,
    /// Co-pilot: the plan waits for an approval.
    Proposed,
    /// Co-pilot: a person approved the proposal; `review.applied_action_id` holds the action
    /// that applied it (with the real result).
    Approved,
    /// Co-pilot: a person rejected the proposal; nothing was changed.
    Rejected,
    /// Git mode: the fix is a pull request to the infrastructure code; the bucket is unchanged
    /// until it is merged and applied.
    PullRequest,
}

/// What started an action.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Trigger {
    /// A CloudTrail API call delivered by EventBridge.
    Event {
        event_id: String,
        event_name: String,
        event_time: DateTime<Utc>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        actor: Option<String>,
    },
    /// The scheduled sweep.
    Sweep,
    /// A person at the command line.
    #[default]
    Manual,
    /// A person approved a co-pilot proposal.
    Approval {
        proposal_id: String,
        approved_by: String,
    },
}

/// What the pipeline knows about an action beyond the bucket itself.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActionContext {
    pub trigger: Trigger,
    pub severity: Option<crate::severity::Severity>,
    pub classification: Option<crate::classify::Classification>,
    pub exception: Option<String>,
}

impl From<Trigger> for ActionContext {
    fn from(trigger: Trigger) -> Self {
        Self {
            trigger,
            ..Self::default()
        }
    }
}

impl Trigger {
    /// When the change that triggered this happened, if known.
    pub fn event_time(&self) -> Option<DateTime<Utc>> {
        match self {
            Self::Event { event_time, .. } => Some(*event_time),
            _ => None,
        }
    }
}

/// A step that failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepFailure {
    pub step: String,
    pub code: String,
    pub message: String,
    /// For AccessDenied: the IAM action the role lacks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing_permission: Option<String>,
}

/// Everything bucketward did to one bucket in one action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionRecord {
    pub action_id: String,
    pub bucket: String,
    pub account_id: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub trigger: Trigger,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<crate::decide::Mode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<crate::severity::Severity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classification: Option<crate::classify::Classification>,
    /// The exception that shaped the plan (or expired), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exception: Option<String>,
    pub outcome: Outcome,
    pub before: PreChangeState,
    pub verdict_before: Verdict,
    pub plan: Plan,
    /// Summaries of the steps applied, in order.
    pub applied: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<StepFailure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict_after: Option<Verdict>,
    /// Legitimate access the read-back shows missing (should be empty).
    #[serde(default)]
    pub lost: Vec<String>,
    /// Object ACL batch progress, when that step ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_acls: Option<ObjectAclProgress>,
    /// Whether the policy changed under us and the plan was redone.
    #[serde(default)]
    pub replanned: bool,
    /// The exposure the plan was told to leave in place (an exception's allowance), so that
    /// approving a proposal re-plans with the same allowance. `None` in older records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed: Option<ExposureKinds>,
    /// Co-pilot: who approved or rejected this proposal, when, and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<Review>,
    /// Git mode: the pull request that carries the fix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_request: Option<PullRequestRef>,
}

/// A pull request opened (or updated) in git mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRequestRef {
    /// `owner/name` of the repository.
    pub repository: String,
    pub number: u64,
    pub url: String,
    pub branch: String,
    /// The commit at the head of the branch.
    pub commit: String,
    /// Whether this action opened it (else it was open already and was updated).
    pub created: bool,
    /// Whether the branch changed (a new commit was pushed).
    pub pushed: bool,
    /// The files the fix writes.
    pub files: Vec<String>,
}

/// A person's decision on a co-pilot proposal (the outcome says which: approved or rejected).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    /// Who decided: an IAM ARN, a user name, or `url-token` when the link was all we had.
    pub by: String,
    pub at: DateTime<Utc>,
    /// How: `approval-link` or `cli`.
    pub via: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A rejection saying the bucket is meant to be public (to become an exception).
    #[serde(default)]
    pub as_exception: bool,
    /// The action that applied an approved proposal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_action_id: Option<String>,
}

/// Progress of the object ACL batch fixer; `resume_after` is where to continue.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectAclProgress {
    pub scanned: u64,
    pub fixed: u64,
    pub failed: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume_after: Option<String>,
}

/// Checks the read-back: the bucket exposes nothing beyond `allowed`, and nothing the plan meant
/// to keep is missing. Returns the problems found.
pub fn verify(
    plan: &Plan,
    before: &Snapshot,
    after: &Snapshot,
    verdict_after: &Verdict,
    allowed: ExposureKinds,
) -> Vec<String> {
    let mut problems = Vec::new();
    let beyond = verdict_after.exposure.beyond(allowed);
    if beyond.any() || (verdict_after.public && !allowed.any()) {
        problems.push(format!(
            "the bucket is still public ({})",
            verdict_after
                .public_findings()
                .map(|f| f.code.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    // The policy: exactly what the plan wrote (or left alone).
    let planned_policy: Option<Option<Value>> =
        plan.steps.iter().rev().find_map(|s| match &s.change {
            Change::PutPolicy { text } => Some(serde_json::from_str(text).ok()),
            Change::DeletePolicy => Some(None),
            _ => None,
        });
    let expected_policy = match planned_policy {
        Some(p) => p,
        None => before
            .policy
            .as_ref()
            .and_then(|p| serde_json::from_str(&p.text).ok()),
    };
    let actual_policy: Option<Value> = after
        .policy
        .as_ref()
        .and_then(|p| serde_json::from_str(&p.text).ok());
    if expected_policy != actual_policy {
        problems.push("the bucket policy read back differs from the planned policy".to_owned());
    }
    // The ACL: every grant the plan kept.
    let planned_acl = plan.steps.iter().rev().find_map(|s| match &s.change {
        Change::PutBucketAcl { acl } => Some(acl.clone()),
        _ => None,
    });
    let ownership_enforced = plan
        .steps
        .iter()
        .any(|s| matches!(s.change, Change::PutOwnership { .. }));
    if !ownership_enforced {
        if let Some(expected) = planned_acl.as_ref().or(before.acl.as_ref()) {
            let actual = after.acl.clone().unwrap_or_default();
            for grant in &expected.grants {
                if !actual.grants.contains(grant) {
                    problems.push(format!(
                        "ACL grant {} {} is missing",
                        grant.grantee.label(),
                        grant.permission
                    ));
                }
            }
        }
    }
    problems
}
