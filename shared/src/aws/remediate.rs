//! Applying a plan to a live bucket: backup first, then the steps in order, then a read-back
//! and re-evaluation. Rollback restores the backup exactly.

use aws_sdk_s3::types as s3t;
use chrono::Utc;
use futures::stream::{self, StreamExt};

use super::error::{aws_error, build_error, AwsError};
use super::s3::{acl_from_sdk, SnapshotOptions, SnapshotReader, NO_SUCH_BUCKET};
use crate::action::{
    verify, ActionContext, ActionRecord, ObjectAclProgress, Outcome, PreChangeState, StepFailure,
    Trigger,
};
use crate::evaluate;
use crate::plan::{plan, Change, PlanOptions};
use crate::snapshot::{Acl, PublicAccessBlock, Snapshot};
use crate::store::{ActionStore, StoreError};

/// Why a remediation could not start or be recorded.
#[derive(Debug, thiserror::Error)]
pub enum RemediateError {
    #[error("could not store the pre-change backup, so nothing was changed: {0}")]
    Backup(#[source] StoreError),
    #[error("could not record the action result: {0}")]
    Record(#[source] StoreError),
    #[error("action `{0}` not found")]
    UnknownAction(String),
    #[error(transparent)]
    Aws(#[from] AwsError),
}

/// How many object ACLs are fixed at once.
pub const OBJECT_ACL_CONCURRENCY: usize = 16;

/// What a remediation run is asked to do.
#[derive(Debug, Clone, Copy, Default)]
pub struct RemediateOptions {
    pub plan: PlanOptions,
    pub snapshot: SnapshotOptions,
    pub dry_run: bool,
    /// Stop the object ACL batch after this many objects (resume later); `None` for all.
    pub object_budget: Option<u64>,
    /// Fix only the objects the snapshot found public, not every object of the bucket (for an
    /// event about one object).
    pub listed_objects_only: bool,
    /// Stop after planning and store the record as a proposal (co-pilot).
    pub propose_only: bool,
    /// The mode that decided this action, for the record.
    pub mode: Option<crate::decide::Mode>,
}

/// Applies plans to live buckets.
#[derive(Clone)]
pub struct Remediator {
    reader: SnapshotReader,
}

impl Remediator {
    pub fn new(reader: SnapshotReader) -> Self {
        Self { reader }
    }

    pub fn reader(&self) -> &SnapshotReader {
        &self.reader
    }

    fn s3(&self, region: Option<&str>) -> aws_sdk_s3::Client {
        self.reader.clients().s3_in(region)
    }

    fn account(&self) -> &str {
        self.reader.account_id()
    }

    /// Snapshots, plans and (unless dry-run) fixes a bucket, recording the action.
    pub async fn remediate(
        &self,
        bucket: &str,
        options: &RemediateOptions,
        store: &impl ActionStore,
    ) -> Result<ActionRecord, RemediateError> {
        // Futures here are large (every layer at once); boxing keeps them off the stack.
        let snapshot = Box::pin(self.reader.snapshot(bucket, None, options.snapshot)).await;
        Box::pin(self.remediate_snapshot(snapshot, options, Trigger::Manual.into(), store)).await
    }

    /// As [`Self::remediate`], from a snapshot already read.
    pub async fn remediate_snapshot(
        &self,
        snapshot: Snapshot,
        options: &RemediateOptions,
        context: ActionContext,
        store: &impl ActionStore,
    ) -> Result<ActionRecord, RemediateError> {
        let started_at = Utc::now();
        let verdict = evaluate(&snapshot);
        let the_plan = plan(&verdict, &snapshot, &options.plan);
        let mut record = ActionRecord {
            action_id: new_action_id(),
            bucket: snapshot.bucket.clone(),
            account_id: self.account().to_owned(),
            started_at,
            finished_at: None,
            trigger: context.trigger,
            mode: options.mode,
            severity: context.severity,
            classification: context.classification,
            exception: context.exception,
            outcome: Outcome::NothingToDo,
            before: PreChangeState::of(&snapshot, self.account(), started_at),
            verdict_before: verdict,
            plan: the_plan,
            applied: Vec::new(),
            failure: None,
            verdict_after: None,
            lost: Vec::new(),
            object_acls: None,
            replanned: false,
            allowed: Some(options.plan.allowed),
            review: None,
            pull_request: None,
        };
        if is_gone(&snapshot) {
            record.outcome = Outcome::Gone;
            record.finished_at = Some(Utc::now());
            return Ok(record);
        }
        if record.plan.is_empty() {
            record.finished_at = Some(Utc::now());
            return Ok(record);
        }
        if options.dry_run {
            record.outcome = Outcome::DryRun;
            record.finished_at = Some(Utc::now());
            if options.mode.is_some() {
                // The pipeline keeps a record of every detection, dry runs included.
                store.save(&record).await.map_err(RemediateError::Record)?;
            }
            return Ok(record);
        }
        if options.propose_only {
            record.outcome = Outcome::Proposed;
            record.finished_at = Some(Utc::now());
            store.save(&record).await.map_err(RemediateError::Record)?;
            return Ok(record);
        }

        // The backup goes first: nothing changes unless it is stored.
        store.save(&record).await.map_err(RemediateError::Backup)?;

        let region = snapshot.region.clone();
        let mut current = snapshot;
        let mut steps = record.plan.steps.clone();
        let mut i = 0;
        while i < steps.len() {
            let step = &steps[i];
            // The policy may have changed since it was read: re-read it, and re-plan once.
            if matches!(step.change, Change::PutPolicy { .. } | Change::DeletePolicy) {
                match self.policy_text(&current.bucket, region.as_deref()).await {
                    Ok(text)
                        if text.as_deref() != current.policy.as_ref().map(|p| p.text.as_str()) =>
                    {
                        if record.replanned {
                            record.failure = Some(StepFailure {
                                step: step.summary.clone(),
                                code: "PolicyChanged".to_owned(),
                                message: "the bucket policy changed twice while being fixed; left as it is".to_owned(),
                                missing_permission: None,
                            });
                            break;
                        }
                        record.replanned = true;
                        current = Box::pin(self.reader.snapshot(
                            &current.bucket,
                            region.as_deref(),
                            options.snapshot,
                        ))
                        .await;
                        let verdict = evaluate(&current);
                        let replan = plan(&verdict, &current, &options.plan);
                        // Continue with the new plan's steps not yet applied.
                        steps = replan
                            .steps
                            .into_iter()
                            .filter(|s| !record.applied.contains(&s.summary))
                            .collect();
                        record.plan.steps.clone_from(&steps);
                        i = 0;
                        continue;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        record.failure = Some(failure(&step.summary, &e));
                        break;
                    }
                }
            }
            match self
                .apply(&current, &step.change, options, &mut record)
                .await
            {
                Ok(()) => record.applied.push(step.summary.clone()),
                Err(e) => {
                    if e.is_no_such_bucket() {
                        record.outcome = Outcome::Gone;
                    }
                    record.failure = Some(failure(&step.summary, &e));
                    break;
                }
            }
            i += 1;
        }

        // Read back and re-evaluate.
        let after = Box::pin(self.reader.snapshot(
            &current.bucket,
            region.as_deref(),
            options.snapshot,
        ))
        .await;
        let verdict_after = evaluate(&after);
        if is_gone(&after) {
            record.outcome = Outcome::Gone;
        } else if record.failure.is_some() {
            record.outcome = Outcome::Failed;
        } else {
            record.lost = verify(
                &record.plan,
                &current,
                &after,
                &verdict_after,
                options.plan.allowed,
            );
            record.outcome = if record.lost.is_empty() {
                Outcome::Fixed
            } else {
                Outcome::Unverified
            };
        }
        record.verdict_after = Some(verdict_after);
        record.finished_at = Some(Utc::now());
        store.save(&record).await.map_err(RemediateError::Record)?;
        Ok(record)
    }

    async fn policy_text(
        &self,
        bucket: &str,
        region: Option<&str>,
    ) -> Result<Option<String>, AwsError> {
        let result = self
            .s3(region)
            .get_bucket_policy()
            .bucket(bucket)
            .send()
            .await;
        super::error::absent_if("GetBucketPolicy", result, &["NoSuchBucketPolicy"])
            .map(|o| o.and_then(|o| o.policy))
    }

    async fn apply(
        &self,
        snapshot: &Snapshot,
        change: &Change,
        options: &RemediateOptions,
        record: &mut ActionRecord,
    ) -> Result<(), AwsError> {
        let bucket = snapshot.bucket.as_str();
        let s3 = self.s3(snapshot.region.as_deref());
        let owner = self.account();
        match change {
            Change::PutBucketBpa { config } => put_bpa(&s3, bucket, owner, *config).await?,
            Change::PutPolicy { text } => put_policy(&s3, bucket, owner, Some(text)).await?,
            Change::DeletePolicy => put_policy(&s3, bucket, owner, None).await?,
            Change::PutBucketAcl { acl } => put_acl(&s3, bucket, owner, acl).await?,
            Change::PutOwnership { object_ownership } => {
                put_ownership(&s3, bucket, owner, object_ownership).await?;
            }
            Change::FixObjectAcls { sampled_public } => {
                let progress = if options.listed_objects_only {
                    self.fix_listed_object_acls(&s3, bucket, sampled_public)
                        .await?
                } else {
                    self.fix_object_acls(&s3, bucket, None, options.object_budget)
                        .await?
                };
                record.object_acls = Some(progress);
            }
            Change::PutAccountBpa { config } => {
                self.reader
                    .clients()
                    .s3control
                    .put_public_access_block()
                    .account_id(owner)
                    .public_access_block_configuration(
                        aws_sdk_s3control::types::PublicAccessBlockConfiguration::builder()
                            .block_public_acls(config.block_public_acls)
                            .ignore_public_acls(config.ignore_public_acls)
                            .block_public_policy(config.block_public_policy)
                            .restrict_public_buckets(config.restrict_public_buckets)
                            .build(),
                    )
                    .send()
                    .await
                    .map_err(|e| {
                        let mut err = aws_error("PutAccountPublicAccessBlock", e);
                        if err.is_access_denied() {
                            err.message = Some(
                                "access denied: the account setting may be managed by an organization policy (SCP), or the role lacks s3:PutAccountPublicAccessBlock".to_owned(),
                            );
                        }
                        err
                    })?;
            }
        }
        Ok(())
    }

    /// Removes public grants from every object ACL, page by page, with bounded concurrency.
    /// Resumable: starts after `start_after`, and stops after `budget` objects with the key to
    /// resume after.
    pub async fn fix_object_acls(
        &self,
        s3: &aws_sdk_s3::Client,
        bucket: &str,
        start_after: Option<String>,
        budget: Option<u64>,
    ) -> Result<ObjectAclProgress, AwsError> {
        let mut progress = ObjectAclProgress::default();
        let mut token: Option<String> = None;
        let owner = self.account();
        loop {
            let out = s3
                .list_objects_v2()
                .bucket(bucket)
                .expected_bucket_owner(owner)
                .set_start_after(if token.is_none() {
                    start_after.clone()
                } else {
                    None
                })
                .set_continuation_token(token.clone())
                .send()
                .await
                .map_err(|e| aws_error("ListObjectsV2", e))?;
            let mut keys: Vec<String> = out
                .contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned))
                .collect();
            let mut exhausted = false;
            if let Some(budget) = budget {
                let left =
                    usize::try_from(budget.saturating_sub(progress.scanned)).unwrap_or(usize::MAX);
                if keys.len() >= left {
                    keys.truncate(left);
                    exhausted = true;
                }
            }
            let results: Vec<Result<bool, AwsError>> = stream::iter(keys.iter().cloned())
                .map(|key| async move { fix_one_object_acl(s3, bucket, &key, owner).await })
                .buffered(super::remediate::OBJECT_ACL_CONCURRENCY)
                .collect()
                .await;
            for result in results {
                progress.scanned += 1;
                match result {
                    Ok(true) => progress.fixed += 1,
                    Ok(false) => {}
                    Err(e) if e.is_no_such_bucket() => return Err(e),
                    Err(_) => progress.failed += 1,
                }
            }
            token = out.next_continuation_token().map(str::to_owned);
            if exhausted && (token.is_some() || keys.len() < out.contents().len()) {
                progress.resume_after = keys.last().cloned();
                return Ok(progress);
            }
            if token.is_none() {
                return Ok(progress);
            }
        }
    }

    /// Removes public grants from the named objects only.
    pub async fn fix_listed_object_acls(
        &self,
        s3: &aws_sdk_s3::Client,
        bucket: &str,
        keys: &[String],
    ) -> Result<ObjectAclProgress, AwsError> {
        let owner = self.account();
        let results: Vec<Result<bool, AwsError>> = stream::iter(keys.iter())
            .map(|key| fix_one_object_acl(s3, bucket, key, owner))
            .buffered(OBJECT_ACL_CONCURRENCY)
            .collect()
            .await;
        let mut progress = ObjectAclProgress::default();
        for result in results {
            progress.scanned += 1;
            match result {
                Ok(true) => progress.fixed += 1,
                Ok(false) => {}
                Err(e) if e.is_no_such_bucket() => return Err(e),
                Err(_) => progress.failed += 1,
            }
        }
        Ok(progress)
    }

    /// Restores the pre-change state of an action exactly, then reads it back to check.
    pub async fn rollback(
        &self,
        action_id: &str,
        store: &impl ActionStore,
    ) -> Result<RollbackReport, RemediateError> {
        let record = store
            .load(action_id)
            .await
            .map_err(RemediateError::Record)?
            .ok_or_else(|| RemediateError::UnknownAction(action_id.to_owned()))?;
        let state = &record.before;
        let bucket = state.bucket.as_str();
        let s3 = self.s3(state.region.as_deref());
        let owner = state.account_id.as_str();

        // BPA first, so that the policy and ACL below are accepted; then ownership, so that
        // ACLs are enabled again before the ACL is written.
        match state.public_access_block {
            Some(config) => put_bpa(&s3, bucket, owner, config).await?,
            None => s3
                .delete_public_access_block()
                .bucket(bucket)
                .expected_bucket_owner(owner)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| aws_error("DeletePublicAccessBlock", e))?,
        }
        match state
            .ownership_controls
            .as_ref()
            .and_then(|c| c.rules.first())
        {
            Some(rule) => put_ownership(&s3, bucket, owner, &rule.object_ownership).await?,
            None => {
                let result = s3
                    .delete_bucket_ownership_controls()
                    .bucket(bucket)
                    .expected_bucket_owner(owner)
                    .send()
                    .await;
                super::error::absent_if(
                    "DeleteBucketOwnershipControls",
                    result,
                    &["OwnershipControlsNotFoundError"],
                )?;
            }
        }
        if let Some(acl) = &state.acl {
            put_acl(&s3, bucket, owner, acl).await?;
        }
        put_policy(&s3, bucket, owner, state.policy_text.as_deref()).await?;
        let after = Box::pin(self.reader.snapshot(
            bucket,
            state.region.as_deref(),
            SnapshotOptions::default(),
        ))
        .await;
        Ok(RollbackReport {
            action_id: action_id.to_owned(),
            bucket: bucket.to_owned(),
            differences: state.differences(&after),
        })
    }
}

/// The result of a rollback: empty `differences` means restored exactly.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RollbackReport {
    pub action_id: String,
    pub bucket: String,
    pub differences: Vec<String>,
}

fn is_gone(snapshot: &Snapshot) -> bool {
    snapshot.errors.iter().any(|e| e.code == NO_SUCH_BUCKET)
}

fn failure(step: &str, e: &AwsError) -> StepFailure {
    StepFailure {
        step: step.to_owned(),
        code: e.code.clone(),
        message: e.to_string(),
        missing_permission: e.is_access_denied().then(|| e.iam_action()),
    }
}

/// A sortable, unique action id: `act-YYYYMMDDTHHMMSSZ-xxxxxxxx`.
pub fn new_action_id() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("act-{}-{}", Utc::now().format("%Y%m%dT%H%M%SZ"), &id[..8])
}

/// Writes the bucket's four BPA flags.
async fn put_bpa(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    owner: &str,
    config: PublicAccessBlock,
) -> Result<(), AwsError> {
    s3.put_public_access_block()
        .bucket(bucket)
        .expected_bucket_owner(owner)
        .public_access_block_configuration(bpa_to_sdk(config))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| aws_error("PutPublicAccessBlock", e))
}

/// Writes the bucket policy, or deletes it (`None`).
async fn put_policy(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    owner: &str,
    text: Option<&str>,
) -> Result<(), AwsError> {
    match text {
        Some(text) => s3
            .put_bucket_policy()
            .bucket(bucket)
            .expected_bucket_owner(owner)
            .policy(text)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_error("PutBucketPolicy", e)),
        None => s3
            .delete_bucket_policy()
            .bucket(bucket)
            .expected_bucket_owner(owner)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_error("DeleteBucketPolicy", e)),
    }
}

/// Writes the bucket ACL.
async fn put_acl(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    owner: &str,
    acl: &crate::snapshot::Acl,
) -> Result<(), AwsError> {
    s3.put_bucket_acl()
        .bucket(bucket)
        .expected_bucket_owner(owner)
        .access_control_policy(acl_to_sdk(acl))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| aws_error("PutBucketAcl", e))
}

async fn put_ownership(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    owner: &str,
    object_ownership: &str,
) -> Result<(), AwsError> {
    let rule = s3t::OwnershipControlsRule::builder()
        .object_ownership(s3t::ObjectOwnership::from(object_ownership))
        .build()
        .map_err(|e| build_error("PutBucketOwnershipControls", e))?;
    let controls = s3t::OwnershipControls::builder()
        .rules(rule)
        .build()
        .map_err(|e| build_error("PutBucketOwnershipControls", e))?;
    s3.put_bucket_ownership_controls()
        .bucket(bucket)
        .expected_bucket_owner(owner)
        .ownership_controls(controls)
        .send()
        .await
        .map_err(|e| aws_error("PutBucketOwnershipControls", e))?;
    Ok(())
}

/// Fixes one object's ACL; returns whether it had public grants.
async fn fix_one_object_acl(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    owner: &str,
) -> Result<bool, AwsError> {
    let out = s3
        .get_object_acl()
        .bucket(bucket)
        .key(key)
        .expected_bucket_owner(owner)
        .send()
        .await
        .map_err(|e| aws_error("GetObjectAcl", e))?;
    let acl = acl_from_sdk(out.owner(), out.grants());
    if !acl.grants.iter().any(|g| g.grantee.is_public()) {
        return Ok(false);
    }
    let private = Acl {
        owner: acl.owner.clone(),
        grants: acl
            .grants
            .into_iter()
            .filter(|g| !g.grantee.is_public())
            .collect(),
    };
    s3.put_object_acl()
        .bucket(bucket)
        .key(key)
        .expected_bucket_owner(owner)
        .access_control_policy(acl_to_sdk(&private))
        .send()
        .await
        .map_err(|e| aws_error("PutObjectAcl", e))?;
    Ok(true)
}

fn bpa_to_sdk(c: PublicAccessBlock) -> s3t::PublicAccessBlockConfiguration {
    s3t::PublicAccessBlockConfiguration::builder()
        .block_public_acls(c.block_public_acls)
        .ignore_public_acls(c.ignore_public_acls)
        .block_public_policy(c.block_public_policy)
        .restrict_public_buckets(c.restrict_public_buckets)
        .build()
}

/// A snapshot ACL as the SDK's access control policy.
pub fn acl_to_sdk(acl: &Acl) -> s3t::AccessControlPolicy {
    let grants = acl
        .grants
        .iter()
        .filter_map(|g| {
            let grantee = s3t::Grantee::builder()
                .r#type(s3t::Type::from(g.grantee.kind.as_str()))
                .set_id(g.grantee.id.clone())
                .set_uri(g.grantee.uri.clone())
                .set_email_address(g.grantee.email_address.clone())
                .set_display_name(g.grantee.display_name.clone())
                .build()
                .ok()?;
            Some(
                s3t::Grant::builder()
                    .grantee(grantee)
                    .permission(s3t::Permission::from(g.permission.as_str()))
                    .build(),
            )
        })
        .collect();
    s3t::AccessControlPolicy::builder()
        .set_owner(acl.owner.as_ref().map(|o| {
            s3t::Owner::builder()
                .set_id(o.id.clone())
                .set_display_name(o.display_name.clone())
                .build()
        }))
        .set_grants(Some(grants))
        .build()
}
