//! IAM: reading the account's principals and policies (`GetAccountAuthorizationDetails`, with
//! pagination, and `ListAccessKeys`), and the co-pilot flows that attach the deny guardrail to an
//! offending principal after approval, and detach it again on rollback. Every finding, proposal,
//! decision, attach and detach goes to the audit trail and the notification topic.

use chrono::Utc;
use serde_json::json;

use super::error::{aws_error, error_code, AwsError};
use crate::audit::{AuditDraft, AuditError, AuditKind, AuditLog};
use crate::iam::guardrail::{self, DENY_POLICY_NAME, DENY_POLICY_PATH};
use crate::iam::inventory::{
    decode_document, AttachedPolicy, Group, InlinePolicy, Inventory, ManagedPolicy, Role, User,
};
use crate::iam::proposal::{GuardrailProposal, ProposalStore, TransitionError};
use crate::iam::{
    finding_notification, finding_payload, proposal_notification, proposal_payload, Approved,
    IamReport,
};
use crate::notify::Notifier;
use crate::store::StoreError;

/// Why an IAM flow stopped.
#[derive(Debug, thiserror::Error)]
pub enum IamError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error("no guardrail proposal `{0}`")]
    NotFound(String),
    #[error("guardrail proposal `{id}` names a {kind}; only users and roles can be guarded")]
    UnsupportedPrincipal { id: String, kind: String },
}

fn inline(list: &[aws_sdk_iam::types::PolicyDetail]) -> Vec<InlinePolicy> {
    list.iter()
        .map(|p| InlinePolicy {
            name: p.policy_name().unwrap_or_default().to_owned(),
            document: decode_document(p.policy_document().unwrap_or("{}")),
        })
        .collect()
}

fn attached(list: &[aws_sdk_iam::types::AttachedPolicy]) -> Vec<AttachedPolicy> {
    list.iter()
        .map(|p| AttachedPolicy {
            name: p.policy_name().unwrap_or_default().to_owned(),
            arn: p.policy_arn().unwrap_or_default().to_owned(),
        })
        .collect()
}

/// Reads every user, group, role and managed policy of the account, page by page, and counts
/// each user's active access keys.
pub async fn read_inventory(
    client: &aws_sdk_iam::Client,
    account_id: &str,
) -> Result<Inventory, AwsError> {
    let mut inventory = Inventory {
        account_id: account_id.to_owned(),
        ..Inventory::default()
    };
    let mut marker: Option<String> = None;
    loop {
        let page = client
            .get_account_authorization_details()
            .set_marker(marker.take())
            .send()
            .await
            .map_err(|e| aws_error("GetAccountAuthorizationDetails", e))?;
        for u in page.user_detail_list() {
            inventory.users.push(User {
                name: u.user_name().unwrap_or_default().to_owned(),
                arn: u.arn().unwrap_or_default().to_owned(),
                groups: u.group_list().to_vec(),
                inline: inline(u.user_policy_list()),
                attached: attached(u.attached_managed_policies()),
                boundary: u
                    .permissions_boundary()
                    .and_then(|b| b.permissions_boundary_arn())
                    .map(str::to_owned),
                active_access_keys: 0,
            });
        }
        for g in page.group_detail_list() {
            inventory.groups.push(Group {
                name: g.group_name().unwrap_or_default().to_owned(),
                arn: g.arn().unwrap_or_default().to_owned(),
                inline: inline(g.group_policy_list()),
                attached: attached(g.attached_managed_policies()),
            });
        }
        for r in page.role_detail_list() {
            inventory.roles.push(Role {
                name: r.role_name().unwrap_or_default().to_owned(),
                arn: r.arn().unwrap_or_default().to_owned(),
                trust_policy: r.assume_role_policy_document().map(decode_document),
                inline: inline(r.role_policy_list()),
                attached: attached(r.attached_managed_policies()),
                boundary: r
                    .permissions_boundary()
                    .and_then(|b| b.permissions_boundary_arn())
                    .map(str::to_owned),
            });
        }
        for p in page.policies() {
            let default = p
                .policy_version_list()
                .iter()
                .find(|v| v.is_default_version() || v.version_id() == p.default_version_id());
            inventory.policies.push(ManagedPolicy {
                name: p.policy_name().unwrap_or_default().to_owned(),
                arn: p.arn().unwrap_or_default().to_owned(),
                document: default.and_then(|v| v.document()).map(decode_document),
            });
        }
        match page.marker() {
            Some(m) if page.is_truncated() => marker = Some(m.to_owned()),
            _ => break,
        }
    }
    for user in &mut inventory.users {
        user.active_access_keys = active_access_keys(client, &user.name).await?;
    }
    Ok(inventory)
}

async fn active_access_keys(client: &aws_sdk_iam::Client, user: &str) -> Result<u32, AwsError> {
    let mut count = 0;
    let mut marker: Option<String> = None;
    loop {
        let page = client
            .list_access_keys()
            .user_name(user)
            .set_marker(marker.take())
            .send()
            .await
            .map_err(|e| aws_error("ListAccessKeys", e))?;
        count += page
            .access_key_metadata()
            .iter()
            .filter(|k| k.status() == Some(&aws_sdk_iam::types::StatusType::Active))
            .count();
        match page.marker() {
            Some(m) if page.is_truncated() => marker = Some(m.to_owned()),
            _ => break,
        }
    }
    Ok(u32::try_from(count).unwrap_or(u32::MAX))
}

/// The deny guardrail's ARN in an account.
pub fn deny_policy_arn(account_id: &str) -> String {
    format!("arn:aws:iam::{account_id}:policy{DENY_POLICY_PATH}{DENY_POLICY_NAME}")
}

fn same_document(a: &str, b: &str) -> bool {
    match (
        serde_json::from_str::<serde_json::Value>(a),
        serde_json::from_str::<serde_json::Value>(b),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Creates the deny guardrail policy, or makes `document` its default version; returns its ARN.
pub async fn ensure_deny_policy(
    client: &aws_sdk_iam::Client,
    account_id: &str,
    document: &str,
) -> Result<String, AwsError> {
    let arn = deny_policy_arn(account_id);
    let existing = match client.get_policy().policy_arn(&arn).send().await {
        Ok(out) => out.policy,
        Err(e) if error_code(&e) == "NoSuchEntity" => None,
        Err(e) => return Err(aws_error("GetPolicy", e)),
    };
    let Some(policy) = existing else {
        client
            .create_policy()
            .policy_name(DENY_POLICY_NAME)
            .path(DENY_POLICY_PATH)
            .description("bucketward: denies changes to bucket security to unapproved principals")
            .policy_document(document)
            .send()
            .await
            .map_err(|e| aws_error("CreatePolicy", e))?;
        return Ok(arn);
    };
    let current = client
        .get_policy_version()
        .policy_arn(&arn)
        .version_id(policy.default_version_id().unwrap_or("v1"))
        .send()
        .await
        .map_err(|e| aws_error("GetPolicyVersion", e))?;
    let current = current
        .policy_version()
        .and_then(|v| v.document())
        .map(decode_document)
        .unwrap_or_default();
    if same_document(&current, document) {
        return Ok(arn);
    }
    // A policy keeps at most five versions: drop the oldest non-default one first.
    let versions = client
        .list_policy_versions()
        .policy_arn(&arn)
        .send()
        .await
        .map_err(|e| aws_error("ListPolicyVersions", e))?;
    let mut old: Vec<_> = versions
        .versions()
        .iter()
        .filter(|v| !v.is_default_version())
        .collect();
    if versions.versions().len() >= 5 {
        old.sort_by_key(|v| v.create_date().map(|d| d.secs()));
        if let Some(oldest) = old.first().and_then(|v| v.version_id()) {
            client
                .delete_policy_version()
                .policy_arn(&arn)
                .version_id(oldest)
                .send()
                .await
                .map_err(|e| aws_error("DeletePolicyVersion", e))?;
        }
    }
    client
        .create_policy_version()
        .policy_arn(&arn)
        .policy_document(document)
        .set_as_default(true)
        .send()
        .await
        .map_err(|e| aws_error("CreatePolicyVersion", e))?;
    Ok(arn)
}

/// The managed policy ARNs attached to a user or role.
pub async fn attached_policies(
    client: &aws_sdk_iam::Client,
    kind: &str,
    name: &str,
) -> Result<Vec<String>, AwsError> {
    let mut out = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let (arns, next) = if kind == "role" {
            let page = client
                .list_attached_role_policies()
                .role_name(name)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| aws_error("ListAttachedRolePolicies", e))?;
            (
                attached(page.attached_policies()),
                page.is_truncated()
                    .then(|| page.marker().map(str::to_owned))
                    .flatten(),
            )
        } else {
            let page = client
                .list_attached_user_policies()
                .user_name(name)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| aws_error("ListAttachedUserPolicies", e))?;
            (
                attached(page.attached_policies()),
                page.is_truncated()
                    .then(|| page.marker().map(str::to_owned))
                    .flatten(),
            )
        };
        out.extend(arns.into_iter().map(|a| a.arn));
        match next {
            Some(m) => marker = Some(m),
            None => break,
        }
    }
    Ok(out)
}

async fn attach(
    client: &aws_sdk_iam::Client,
    kind: &str,
    name: &str,
    policy_arn: &str,
) -> Result<(), AwsError> {
    if kind == "role" {
        client
            .attach_role_policy()
            .role_name(name)
            .policy_arn(policy_arn)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_error("AttachRolePolicy", e))
    } else {
        client
            .attach_user_policy()
            .user_name(name)
            .policy_arn(policy_arn)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_error("AttachUserPolicy", e))
    }
}

/// Detaches; `false` when it was not attached (any more).
async fn detach(
    client: &aws_sdk_iam::Client,
    kind: &str,
    name: &str,
    policy_arn: &str,
) -> Result<bool, AwsError> {
    let result = if kind == "role" {
        client
            .detach_role_policy()
            .role_name(name)
            .policy_arn(policy_arn)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| (error_code(&e), aws_error("DetachRolePolicy", e)))
    } else {
        client
            .detach_user_policy()
            .user_name(name)
            .policy_arn(policy_arn)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| (error_code(&e), aws_error("DetachUserPolicy", e)))
    };
    match result {
        Ok(()) => Ok(true),
        Err((code, _)) if code == "NoSuchEntity" => Ok(false),
        Err((_, e)) => Err(e),
    }
}

/// The IAM co-pilot: findings, proposals, approval, rejection and rollback, each recorded.
pub struct IamGuardrails<S, A, N> {
    pub client: aws_sdk_iam::Client,
    pub account_id: String,
    pub store: S,
    /// The audit chain (none: records are only kept in the proposal store).
    pub audit: Option<A>,
    pub notifier: N,
}

impl<S: ProposalStore, A: AuditLog, N: Notifier> IamGuardrails<S, A, N> {
    async fn record(&self, kind: AuditKind, payload: serde_json::Value) -> Result<(), IamError> {
        if let Some(audit) = &self.audit {
            audit
                .append(AuditDraft::new(&self.account_id, kind, payload))
                .await?;
        }
        Ok(())
    }

    /// Every finding of the report to the audit trail and the notification topic; returns how
    /// many there were.
    pub async fn record_findings(&self, report: &IamReport) -> Result<usize, IamError> {
        let mut count = 0;
        for (principal, finding) in report.findings() {
            self.record(AuditKind::IamFinding, finding_payload(principal, finding))
                .await?;
            self.notifier
                .publish(&finding_notification(&self.account_id, principal, finding))
                .await?;
            count += 1;
        }
        Ok(count)
    }

    /// A proposal per finding (users and roles) without an open one, recorded and announced.
    pub async fn propose(
        &self,
        report: &IamReport,
        approved: &Approved,
    ) -> Result<Vec<GuardrailProposal>, IamError> {
        let document = guardrail::deny_policy(approved);
        let open: Vec<String> = self
            .store
            .list()
            .await?
            .into_iter()
            .filter(GuardrailProposal::is_open)
            .map(|p| p.principal_arn)
            .collect();
        let mut made = Vec::new();
        for (principal, _) in report.findings() {
            if open.contains(&principal.arn) {
                continue;
            }
            let id = format!(
                "iamg-{}-{}",
                Utc::now().format("%Y%m%dT%H%M%SZ"),
                &uuid::Uuid::new_v4().simple().to_string()[..8]
            );
            let Some(proposal) = GuardrailProposal::for_finding(
                principal,
                &self.account_id,
                &document,
                id,
                Utc::now(),
            ) else {
                continue;
            };
            self.store.save(&proposal).await?;
            self.record(AuditKind::GuardrailProposal, proposal_payload(&proposal))
                .await?;
            self.notifier
                .publish(&proposal_notification(&proposal))
                .await?;
            made.push(proposal);
        }
        Ok(made)
    }

    async fn load(&self, id: &str) -> Result<GuardrailProposal, IamError> {
        let proposal = self
            .store
            .load(id)
            .await?
            .ok_or_else(|| IamError::NotFound(id.to_owned()))?;
        if proposal.principal_kind != "role" && proposal.principal_kind != "user" {
            return Err(IamError::UnsupportedPrincipal {
                id: id.to_owned(),
                kind: proposal.principal_kind,
            });
        }
        Ok(proposal)
    }

    /// Approves a proposal and applies it: the deny policy is created (or updated to the
    /// proposal's document) and attached to the principal. Records the decision and the attach.
    pub async fn approve(&self, id: &str, by: &str) -> Result<GuardrailProposal, IamError> {
        let mut proposal = self.load(id).await?;
        proposal.check_approvable()?;
        let policy_arn =
            ensure_deny_policy(&self.client, &self.account_id, &proposal.document).await?;
        let kind = proposal.principal_kind.clone();
        let name = proposal.principal_name.clone();
        let was_attached = attached_policies(&self.client, &kind, &name)
            .await?
            .contains(&policy_arn);
        if !was_attached {
            attach(&self.client, &kind, &name, &policy_arn).await?;
        }
        proposal.applied(by, Utc::now(), &policy_arn, was_attached)?;
        self.store.save(&proposal).await?;
        self.record(
            AuditKind::GuardrailDecision,
            json!({"layer": "iam", "proposal_id": id, "decision": "approved", "by": by}),
        )
        .await?;
        self.record(AuditKind::GuardrailAttach, proposal_payload(&proposal))
            .await?;
        self.notifier
            .publish(&proposal_notification(&proposal))
            .await?;
        Ok(proposal)
    }

    /// Rejects a proposal: nothing changes in IAM; the decision is recorded.
    pub async fn reject(
        &self,
        id: &str,
        by: &str,
        reason: Option<String>,
    ) -> Result<GuardrailProposal, IamError> {
        let mut proposal = self.load(id).await?;
        proposal.reject(by, Utc::now(), reason.clone())?;
        self.store.save(&proposal).await?;
        self.record(
            AuditKind::GuardrailDecision,
            json!({"layer": "iam", "proposal_id": id, "decision": "rejected", "by": by, "reason": reason}),
        )
        .await?;
        self.notifier
            .publish(&proposal_notification(&proposal))
            .await?;
        Ok(proposal)
    }

    /// Undoes an applied proposal: detaches what its approval attached (a policy that was
    /// already attached before is left in place). Records the detach.
    pub async fn rollback(&self, id: &str, by: &str) -> Result<GuardrailProposal, IamError> {
        let mut proposal = self.load(id).await?;
        proposal.check_rollbackable()?;
        let policy_arn = proposal
            .policy_arn
            .clone()
            .unwrap_or_else(|| deny_policy_arn(&self.account_id));
        let detached = if proposal.was_attached {
            false
        } else {
            detach(
                &self.client,
                &proposal.principal_kind,
                &proposal.principal_name,
                &policy_arn,
            )
            .await?
        };
        proposal.rolled_back(by, Utc::now())?;
        self.store.save(&proposal).await?;
        let mut payload = proposal_payload(&proposal);
        if let serde_json::Value::Object(map) = &mut payload {
            map.insert("detached".to_owned(), serde_json::Value::Bool(detached));
        }
        self.record(AuditKind::GuardrailDetach, payload).await?;
        self.notifier
            .publish(&proposal_notification(&proposal))
            .await?;
        Ok(proposal)
    }
}
