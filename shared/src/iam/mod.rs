//! The fourth layer: who can weaken bucket security through IAM, and the guardrails that stop
//! them.
//!
//! - [`inventory`]: the account's users, groups, roles and managed policies (what
//!   `GetAccountAuthorizationDetails` returns; read by `aws::iam`).
//! - [`evaluate`]: inventory + approved principals -> [`IamReport`] (pure), with the same policy
//!   model as the exposure engine (`crate::policy`): action wildcards, `NotAction`,
//!   `Resource` / `NotResource` scoping, Deny precedence, permissions boundaries.
//! - [`scope`]: which buckets a grant reaches; [`condition`]: the conditions decided on the
//!   caller's identity.
//! - [`guardrail`]: the SCP and the IAM deny policy (pure JSON).
//! - [`proposal`]: co-pilot proposals to attach the deny policy, and their store.
//!
//! `docs/iam.md` states the rules.

pub mod condition;
pub mod evaluate;
pub mod guardrail;
pub mod inventory;
pub mod proposal;
pub mod scope;

pub use evaluate::{
    evaluate, Approved, Finding, IamReport, PrincipalKind, PrincipalReport, FINDING_ACTIONS,
    SENSITIVE_ACTIONS,
};
pub use inventory::Inventory;

use serde_json::{json, Value};

use crate::notify::Notification;
use proposal::GuardrailProposal;

/// The environment variable with the approved principals (comma-separated ARNs or patterns).
pub const APPROVED_ENV: &str = "BUCKETWARD_APPROVED_PRINCIPALS";
/// Opt-in: attach the deny policy without waiting for a person (off unless `true`).
pub const AUTOPILOT_ENV: &str = "BUCKETWARD_IAM_AUTOPILOT";

/// The audit payload of a finding: who, what, why, and the statements behind it.
pub fn finding_payload(report: &PrincipalReport, finding: &Finding) -> Value {
    let grants: Vec<Value> = report
        .actions
        .iter()
        .filter(|a| finding.actions.contains(&a.action))
        .flat_map(|a| {
            a.grants.iter().map(move |g| {
                json!({
                    "action": a.action,
                    "policy": g.policy.describe(),
                    "policy_arn": g.policy.arn,
                    "statement": g.statement,
                    "sid": g.sid,
                    "matched": g.matched,
                    "wildcard": g.wildcard,
                    "scope": g.scope.describe(),
                })
            })
        })
        .collect();
    json!({
        "layer": "iam",
        "principal_kind": report.kind,
        "principal": report.name,
        "principal_arn": report.arn,
        "severity": finding.severity,
        "actions": finding.actions,
        "reasons": finding.reasons,
        "grants": grants,
    })
}

/// The notification of a finding.
pub fn finding_notification(
    account: &str,
    report: &PrincipalReport,
    finding: &Finding,
) -> Notification {
    let subject = format!(
        "bucketward: {} {} can weaken bucket security ({})",
        report.kind, report.name, finding.severity
    );
    let mut body = finding_payload(report, finding);
    if let Value::Object(map) = &mut body {
        map.insert(
            "summary".to_owned(),
            Value::String(format!(
                "{} {} is not approved and can {} on all buckets: {}.",
                report.kind,
                report.arn,
                finding.actions.join(", "),
                finding.reasons.join("; ")
            )),
        );
        map.insert("account".to_owned(), Value::String(account.to_owned()));
    }
    Notification {
        subject: subject.chars().take(100).collect(),
        body,
        attributes: vec![
            ("layer".to_owned(), "iam".to_owned()),
            ("severity".to_owned(), finding.severity.to_string()),
        ],
    }
}

/// The audit payload of a proposal at any stage.
pub fn proposal_payload(proposal: &GuardrailProposal) -> Value {
    json!({
        "layer": "iam",
        "proposal_id": proposal.id,
        "status": proposal.status,
        "principal_kind": proposal.principal_kind,
        "principal": proposal.principal_name,
        "principal_arn": proposal.principal_arn,
        "severity": proposal.severity,
        "actions": proposal.actions,
        "policy_arn": proposal.policy_arn,
        "was_attached": proposal.was_attached,
        "decision": proposal.decision,
        "rolled_back": proposal.rolled_back,
    })
}

/// The notification of a proposal (or of its outcome).
pub fn proposal_notification(proposal: &GuardrailProposal) -> Notification {
    let who = format!("{} {}", proposal.principal_kind, proposal.principal_name);
    let (subject, summary) = match proposal.status {
        proposal::ProposalStatus::Proposed => (
            format!("bucketward proposes an IAM guardrail for {who}"),
            format!(
                "{who} can weaken bucket security ({}). Proposed: attach the deny policy. \
                 Approve: bucketward iam-guardrail approve {}",
                proposal.actions.join(", "),
                proposal.id
            ),
        ),
        proposal::ProposalStatus::Applied => (
            format!("bucketward attached the IAM guardrail to {who}"),
            format!(
                "The deny policy is attached to {who}. Undo: bucketward iam-guardrail rollback {}",
                proposal.id
            ),
        ),
        proposal::ProposalStatus::Rejected => (
            format!("bucketward: IAM guardrail for {who} rejected"),
            format!(
                "The guardrail proposal {} for {who} was rejected.",
                proposal.id
            ),
        ),
        proposal::ProposalStatus::RolledBack => (
            format!("bucketward detached the IAM guardrail from {who}"),
            format!(
                "The deny policy was detached from {who} (rollback of {}).",
                proposal.id
            ),
        ),
    };
    let mut body = proposal_payload(proposal);
    if let Value::Object(map) = &mut body {
        map.insert("summary".to_owned(), Value::String(summary));
    }
    Notification {
        subject: subject.chars().take(100).collect(),
        body,
        attributes: vec![
            ("layer".to_owned(), "iam".to_owned()),
            ("severity".to_owned(), proposal.severity.to_string()),
        ],
    }
}

#[cfg(test)]
mod tests;
