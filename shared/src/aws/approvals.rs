//! Co-pilot decisions against live state: the DynamoDB ledger that makes approval tokens single
//! use, and the approve and reject flows shared by the approver Lambda and the CLI.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Utc;

use super::error::{aws_error, error_code, AwsError};
use super::remediate::{RemediateError, RemediateOptions, Remediator};
use super::s3::SnapshotOptions;
use crate::action::{ActionContext, ActionRecord, Outcome, Review, Trigger};
use crate::approval::{self, ProposalError};
use crate::decide::Mode;
use crate::notify::{for_action, Notifier};
use crate::plan::{Change, PlanOptions};
use crate::store::{ActionStore, StoreError};

/// At most this many objects named by a proposal are re-read before it is applied.
pub const MAX_PROPOSAL_OBJECTS: usize = 100;

/// Used token nonces: `pk = token#<nonce>`, with `expires_at` for the table's TTL. A conditional
/// put wins exactly once per nonce. The table needs only a string `pk` (the dedupe table's shape,
/// so it can be shared).
#[derive(Debug, Clone)]
pub struct DynamoTokenLedger {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoTokenLedger {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    fn key(nonce: &str) -> AttributeValue {
        AttributeValue::S(format!("token#{nonce}"))
    }

    /// Records a nonce as used: true the first time, false for a replay. The item lives until
    /// `expires_at` (unix seconds), after which the token itself is refused as expired.
    pub async fn consume(&self, nonce: &str, expires_at: i64) -> Result<bool, AwsError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", Self::key(nonce))
            .item(
                "used_at",
                AttributeValue::N(Utc::now().timestamp().to_string()),
            )
            .item("expires_at", AttributeValue::N(expires_at.to_string()))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if error_code(&e) == "ConditionalCheckFailedException" => Ok(false),
            Err(e) => Err(aws_error("PutItem", e)),
        }
    }

    /// Forgets a used nonce, so that the same link works again: only for a decision that failed
    /// before changing anything.
    pub async fn release(&self, nonce: &str) -> Result<(), AwsError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", Self::key(nonce))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_error("DeleteItem", e))
    }
}

/// Who decides, and through what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reviewer {
    /// An IAM ARN, a user name, or `url-token`.
    pub by: String,
    /// `approval-link` or `cli`.
    pub via: String,
}

/// How an approved proposal is applied.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApproveOptions {
    /// The deployment's plan options; the allowance comes from the proposal.
    pub plan: PlanOptions,
    /// What the fresh snapshot reads (objects named by the proposal are always re-read).
    pub snapshot: SnapshotOptions,
}

/// Why a decision could not be made or recorded.
#[derive(Debug, thiserror::Error)]
pub enum DecisionError {
    #[error(transparent)]
    Proposal(#[from] ProposalError),
    #[error("could not read proposal `{action_id}`: {source}")]
    Load {
        action_id: String,
        #[source]
        source: StoreError,
    },
    #[error(transparent)]
    Remediate(#[from] RemediateError),
    /// The fix ran (see `applied_action_id`), but the proposal could not be marked approved.
    #[error("the fix was recorded as `{applied_action_id}`, but proposal `{action_id}` could not be marked approved: {source}")]
    MarkApproved {
        action_id: String,
        applied_action_id: String,
        #[source]
        source: StoreError,
    },
    /// Nothing changed: the proposal could not be marked rejected.
    #[error("could not mark proposal `{action_id}` rejected: {source}")]
    MarkRejected {
        action_id: String,
        #[source]
        source: StoreError,
    },
}

impl DecisionError {
    /// Whether the bucket and the records are exactly as before, so that the decision can be
    /// tried again (with the same link).
    pub fn changed_nothing(&self) -> bool {
        match self {
            Self::Proposal(_) | Self::Load { .. } | Self::MarkRejected { .. } => true,
            Self::Remediate(e) => matches!(e, RemediateError::Backup(_)),
            Self::MarkApproved { .. } => false,
        }
    }
}

/// An approved proposal and the action that applied it.
#[derive(Debug, Clone)]
pub struct Approval {
    /// The proposal, now `approved`, naming the applied action.
    pub proposal: ActionRecord,
    /// The fresh action: its outcome is the real result (fixed, nothing to do, failed, ...).
    pub applied: ActionRecord,
    /// Whether the steps applied differ from the steps proposed (the bucket changed since).
    pub replanned: bool,
    /// Whether a notification was published.
    pub notified: bool,
}

/// Publishes the notification for a record; a failure is logged, never fatal (the decision is
/// recorded already).
async fn notify(notifier: &impl Notifier, record: &ActionRecord) -> bool {
    match notifier.publish(&for_action(record)).await {
        Ok(()) => true,
        Err(e) => {
            tracing::error!(bucket = %record.bucket, action_id = %record.action_id, error = %e, "notification failed");
            false
        }
    }
}

async fn load_pending(
    store: &impl ActionStore,
    action_id: &str,
) -> Result<ActionRecord, DecisionError> {
    let record = store
        .load(action_id)
        .await
        .map_err(|source| DecisionError::Load {
            action_id: action_id.to_owned(),
            source,
        })?;
    Ok(approval::pending(action_id, record)?)
}

/// Approves a pending proposal: re-reads the bucket (its state may have changed), plans afresh
/// with the proposal's allowance, applies through the remediator (backup first, read-back
/// verified) as a new co-pilot action triggered by the approval, marks the proposal approved
/// with that action's id, and notifies about the action (unless there was nothing to change).
pub async fn approve_proposal(
    remediator: &Remediator,
    store: &impl ActionStore,
    notifier: &impl Notifier,
    action_id: &str,
    reviewer: &Reviewer,
    options: ApproveOptions,
) -> Result<Approval, DecisionError> {
    let proposal = load_pending(store, action_id).await?;
    let reader = remediator.reader();
    let region = proposal.before.region.as_deref();
    let mut snapshot = Box::pin(reader.snapshot(&proposal.bucket, region, options.snapshot)).await;
    // Objects the proposal would fix are read again, as the pipeline read them for the event.
    let keys: Vec<&String> = proposal
        .plan
        .steps
        .iter()
        .filter_map(|s| match &s.change {
            Change::FixObjectAcls { sampled_public } => Some(sampled_public),
            _ => None,
        })
        .flatten()
        .take(MAX_PROPOSAL_OBJECTS)
        .collect();
    for key in &keys {
        match reader
            .object(&proposal.bucket, snapshot.region.as_deref(), key)
            .await
        {
            Ok(object) => snapshot.objects.push(object),
            Err(e) => {
                tracing::warn!(bucket = %proposal.bucket, key = %key, error = %e, "object not re-read")
            }
        }
    }
    let remediate = RemediateOptions {
        plan: approval::replan_options(&proposal, options.plan),
        snapshot: options.snapshot,
        listed_objects_only: true,
        mode: Some(Mode::Copilot),
        ..RemediateOptions::default()
    };
    let mut context = ActionContext::from(Trigger::Approval {
        proposal_id: proposal.action_id.clone(),
        approved_by: reviewer.by.clone(),
    });
    context.severity = proposal.severity;
    context.classification.clone_from(&proposal.classification);
    context.exception.clone_from(&proposal.exception);
    let applied =
        Box::pin(remediator.remediate_snapshot(snapshot, &remediate, context, store)).await?;
    if matches!(applied.outcome, Outcome::NothingToDo | Outcome::Gone) {
        // The remediator keeps no record when there is nothing to change; the approval's
        // audit trail needs one.
        store
            .save(&applied)
            .await
            .map_err(|e| DecisionError::Remediate(RemediateError::Record(e)))?;
    }
    let summaries = |r: &ActionRecord| {
        r.plan
            .steps
            .iter()
            .map(|s| s.summary.clone())
            .collect::<Vec<_>>()
    };
    let replanned = summaries(&applied) != summaries(&proposal);
    let review = Review {
        by: reviewer.by.clone(),
        at: Utc::now(),
        via: reviewer.via.clone(),
        reason: None,
        as_exception: false,
        applied_action_id: Some(applied.action_id.clone()),
    };
    let proposal = approval::approved(proposal, review);
    store
        .save(&proposal)
        .await
        .map_err(|source| DecisionError::MarkApproved {
            action_id: action_id.to_owned(),
            applied_action_id: applied.action_id.clone(),
            source,
        })?;
    tracing::info!(
        proposal = %action_id,
        applied = %applied.action_id,
        bucket = %applied.bucket,
        outcome = ?applied.outcome,
        by = %reviewer.by,
        "proposal approved"
    );
    let notified = !matches!(applied.outcome, Outcome::NothingToDo | Outcome::Gone)
        && notify(notifier, &applied).await;
    Ok(Approval {
        proposal,
        applied,
        replanned,
        notified,
    })
}

/// Rejects a pending proposal: the bucket is left as it is, the proposal is marked rejected with
/// the reason (and whether the bucket is meant to be public, for an exception), and the
/// rejection is notified.
pub async fn reject_proposal(
    store: &impl ActionStore,
    notifier: &impl Notifier,
    action_id: &str,
    reviewer: &Reviewer,
    reason: Option<String>,
    as_exception: bool,
) -> Result<ActionRecord, DecisionError> {
    let proposal = load_pending(store, action_id).await?;
    let review = Review {
        by: reviewer.by.clone(),
        at: Utc::now(),
        via: reviewer.via.clone(),
        reason,
        as_exception,
        applied_action_id: None,
    };
    let proposal = approval::rejected(proposal, review);
    store
        .save(&proposal)
        .await
        .map_err(|source| DecisionError::MarkRejected {
            action_id: action_id.to_owned(),
            source,
        })?;
    tracing::info!(proposal = %action_id, bucket = %proposal.bucket, by = %reviewer.by, "proposal rejected");
    notify(notifier, &proposal).await;
    Ok(proposal)
}
