//! One code path for the remediator Lambda, the sweeper and the CLI:
//! snapshot -> evaluate -> decide -> apply or propose -> record -> notify.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;

use crate::action::{ActionContext, ActionRecord, Outcome, Trigger};
use crate::aws::error::AwsError;
use crate::aws::remediate::{RemediateError, RemediateOptions, Remediator};
use crate::aws::s3::{SnapshotOptions, NO_SUCH_BUCKET};
use crate::classify::{classify, Intent};
use crate::decide::{decide, DecideConfig, Decided, Decision, DecisionInput};
use crate::evaluate;
use crate::event::{ApiCallEvent, Target};
use crate::exception::{self, Exception};
use crate::metrics::{emf_line, Metric};
use crate::notify::{for_action_with_link, Notifier};
use crate::plan::PlanOptions;
use crate::severity::{severity, Severity};
use crate::store::{ActionStore, EventDedupe, StoreError};

/// How the pipeline behaves.
#[derive(Debug, Clone, Copy, Default)]
pub struct PipelineConfig {
    pub decide: DecideConfig,
    pub plan: PlanOptions,
    pub snapshot: SnapshotOptions,
}

/// Why the pipeline could not handle an event (a transient failure worth a retry).
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("deduplication store: {0}")]
    Dedupe(#[source] StoreError),
    #[error(transparent)]
    Remediate(#[from] RemediateError),
    #[error(transparent)]
    Aws(#[from] AwsError),
}

/// What happened to one bucket.
#[derive(Debug, Clone, Serialize)]
pub struct BucketOutcome {
    pub bucket: String,
    pub public: bool,
    pub latent: bool,
    pub decision: Decision,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub applied: Vec<String>,
    /// Handling time minus the event time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detection_latency_ms: Option<i64>,
    /// Fixed time minus the event time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remediation_latency_ms: Option<i64>,
    /// Whether a notification was published.
    pub notified: bool,
    pub severity: Severity,
    pub intent: Intent,
    /// The exception applied, exceeded or expired.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exception: Option<String>,
    /// Git mode: the pull request carrying the fix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_request: Option<String>,
    /// Unreadable layers, by code (a finding, not a failure).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

impl BucketOutcome {
    /// The EMF metrics line for this outcome.
    pub fn metrics_line(&self, function: &str, now: DateTime<Utc>) -> String {
        let mut metrics = vec![Metric {
            name: "PublicFound",
            value: if self.public { 1.0 } else { 0.0 },
            unit: "Count",
        }];
        if let Some(ms) = self.detection_latency_ms {
            metrics.push(Metric {
                name: "DetectionLatency",
                value: ms as f64,
                unit: "Milliseconds",
            });
        }
        if let Some(ms) = self.remediation_latency_ms {
            metrics.push(Metric {
                name: "RemediationLatency",
                value: ms as f64,
                unit: "Milliseconds",
            });
        }
        emf_line(
            function,
            now.timestamp_millis(),
            &metrics,
            &[
                ("bucket", json!(self.bucket)),
                ("outcome", json!(self.outcome)),
                ("action_id", json!(self.action_id)),
            ],
        )
    }
}

/// What happened to one event.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum EventOutcome {
    /// A failed call, which changed nothing.
    Ignored { event_id: String, reason: String },
    /// Already handled (at-least-once delivery).
    Duplicate { event_id: String },
    /// A bucket was evaluated (and maybe fixed).
    Bucket {
        event_id: String,
        result: BucketOutcome,
    },
    /// The account setting changed: every bucket was re-evaluated.
    Account {
        event_id: String,
        summary: crate::sweep::SweepSummary,
    },
}

/// The pipeline and its ports.
pub struct Pipeline<S, D, N> {
    pub remediator: Remediator,
    pub store: S,
    pub dedupe: D,
    pub notifier: N,
    pub config: PipelineConfig,
    /// The exceptions in force, loaded once per invocation or sweep.
    pub exceptions: Vec<Exception>,
    /// Where co-pilot proposals link to for approval; without it, notifications name the
    /// `bucketward approve` command instead.
    pub approval_links: Option<ApprovalLinks>,
    /// Git mode's repository; without it, a bucket in git mode is reported as a failure.
    pub git: Option<crate::git::GitConfig>,
}

/// Signed, single-use approval links to the approver's Function URL.
#[derive(Clone)]
pub struct ApprovalLinks {
    pub base_url: String,
    pub key: Vec<u8>,
    pub ttl: std::time::Duration,
}

impl std::fmt::Debug for ApprovalLinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApprovalLinks")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// How long an approval link stays valid.
pub const APPROVAL_TTL: std::time::Duration = std::time::Duration::from_secs(72 * 3600);

impl ApprovalLinks {
    /// From `BUCKETWARD_APPROVER_URL` and `BUCKETWARD_APPROVAL_KEY`, when both are set.
    pub fn from_env() -> Result<Option<Self>, crate::approval::KeyError> {
        let url = std::env::var("BUCKETWARD_APPROVER_URL")
            .ok()
            .filter(|v| !v.is_empty());
        let key = std::env::var("BUCKETWARD_APPROVAL_KEY")
            .ok()
            .filter(|v| !v.is_empty());
        match (url, key) {
            (Some(base_url), Some(key)) => Ok(Some(Self {
                base_url,
                key: crate::approval::parse_key(&key)?,
                ttl: APPROVAL_TTL,
            })),
            _ => Ok(None),
        }
    }

    /// A fresh link for a proposal.
    pub fn link(&self, action_id: &str) -> Result<String, crate::approval::TokenError> {
        let token = crate::approval::issue(action_id, self.ttl, &self.key)?;
        Ok(crate::approval::approval_url(&self.base_url, &token))
    }
}

/// How many objects are sampled for content types when a public bucket is classified.
pub const CLASSIFY_SAMPLE: usize = 20;

/// Buckets re-evaluated at once after an account-level BPA change.
pub const ACCOUNT_SWEEP_CONCURRENCY: usize = 8;

/// Object ACLs fixed per action at most; the record says where to resume.
pub const OBJECT_BUDGET: u64 = 10_000;

impl<S: ActionStore, D: EventDedupe, N: Notifier> Pipeline<S, D, N> {
    /// Handles one CloudTrail event, exactly once per event id.
    pub async fn handle_event(&self, event: &ApiCallEvent) -> Result<EventOutcome, PipelineError> {
        let event_id = event.event_id.clone();
        if let Some(code) = &event.error_code {
            return Ok(EventOutcome::Ignored {
                event_id,
                reason: format!("the call failed ({code}) and changed nothing"),
            });
        }
        if !self
            .dedupe
            .first_time(&event_id)
            .await
            .map_err(PipelineError::Dedupe)?
        {
            return Ok(EventOutcome::Duplicate { event_id });
        }
        let result = self.dispatch(event).await;
        if result.is_err() {
            // Let the retry handle it.
            if let Err(e) = self.dedupe.forget(&event_id).await {
                tracing::warn!(event_id = %event_id, error = %e, "could not forget a failed event");
            }
        }
        result
    }

    async fn dispatch(&self, event: &ApiCallEvent) -> Result<EventOutcome, PipelineError> {
        let trigger = Trigger::Event {
            event_id: event.event_id.clone(),
            event_name: event.event_name.clone(),
            event_time: event.event_time,
            actor: event.actor.clone(),
        };
        let event_id = event.event_id.clone();
        let region = Some(event.region.as_str());
        let result = match &event.target {
            Target::Bucket { bucket } => self.process_bucket(bucket, region, None, trigger).await?,
            Target::Object { bucket, key } => {
                self.process_bucket(bucket, region, Some(key), trigger)
                    .await?
            }
            Target::AccessPoint { name, bucket } => {
                let bucket = match bucket {
                    Some(b) => b.clone(),
                    None => self.remediator.reader().access_point_bucket(name).await?,
                };
                self.process_bucket(&bucket, region, None, trigger).await?
            }
            Target::Account => {
                let options = crate::sweep::SweepOptions {
                    concurrency: ACCOUNT_SWEEP_CONCURRENCY,
                    trigger: Some(trigger),
                    ..crate::sweep::SweepOptions::default()
                };
                let summary = Box::pin(crate::sweep::sweep(self, &options, |_| {})).await?;
                return Ok(EventOutcome::Account { event_id, summary });
            }
        };
        Ok(EventOutcome::Bucket { event_id, result })
    }

    /// Snapshot, evaluate, decide, act, record and notify for one bucket.
    pub async fn process_bucket(
        &self,
        bucket: &str,
        region: Option<&str>,
        object_key: Option<&str>,
        trigger: Trigger,
    ) -> Result<BucketOutcome, PipelineError> {
        let reader = self.remediator.reader();
        // Boxed: the snapshot and remediation futures are large, and sweeps nest them.
        let mut snapshot = Box::pin(reader.snapshot(bucket, region, self.config.snapshot)).await;
        if let Some(key) = object_key {
            match reader.object(bucket, snapshot.region.as_deref(), key).await {
                Ok(object) => snapshot.objects.push(object),
                Err(e) => snapshot.errors.push(crate::snapshot::LayerError {
                    layer: "Objects".to_owned(),
                    code: e.code.clone(),
                    message: Some(e.to_string()),
                }),
            }
        }
        let detected_at = Utc::now();
        let mut verdict = evaluate(&snapshot);
        let gone = snapshot.errors.iter().any(|e| e.code == NO_SUCH_BUCKET);
        if !gone && (verdict.public || verdict.has_latent()) {
            // Only public buckets pay for the reads classification needs; the sampled object
            // ACLs can add findings, so evaluate again.
            Box::pin(reader.enrich_for_classification(&mut snapshot, CLASSIFY_SAMPLE)).await;
            verdict = evaluate(&snapshot);
        }
        let classification = classify(&snapshot);
        let severity = severity(&verdict, classification.intent);
        let exception = exception::find(&self.exceptions, bucket, detected_at);
        let decided = if gone {
            Decided {
                decision: Decision::NoAction {
                    reason: "the bucket no longer exists".to_owned(),
                },
                allowed: crate::policy::ExposureKinds::NONE,
                exception_note: None,
            }
        } else {
            decide(
                DecisionInput {
                    verdict: &verdict,
                    intent: classification.intent,
                    exception,
                },
                &self.config.decide,
            )
        };
        let decision = decided.decision.clone();
        let mut outcome = BucketOutcome {
            bucket: bucket.to_owned(),
            public: verdict.public,
            latent: verdict.has_latent(),
            decision: decision.clone(),
            action_id: None,
            outcome: None,
            applied: Vec::new(),
            detection_latency_ms: trigger
                .event_time()
                .map(|t| (detected_at - t).num_milliseconds()),
            remediation_latency_ms: None,
            notified: false,
            severity,
            intent: classification.intent,
            exception: decided.exception_note.clone(),
            pull_request: None,
            errors: snapshot
                .errors
                .iter()
                .map(|e| format!("{}: {}", e.layer, e.code))
                .collect(),
        };
        let options = RemediateOptions {
            plan: PlanOptions {
                allowed: decided.allowed,
                // The account setting is autopilot's alone (opt-in), and refused while an
                // exception needs a public bucket.
                account_bpa: self.config.plan.account_bpa
                    && matches!(decision, Decision::Remediate { .. }),
                account_has_public_exceptions: exception::any_allows_exposure(
                    &self.exceptions,
                    detected_at,
                ),
                ..self.config.plan
            },
            snapshot: self.config.snapshot,
            // Git mode plans as autopilot would, changes nothing, and records once the pull
            // request is open.
            dry_run: matches!(
                decision,
                Decision::Report { .. } | Decision::PullRequest { .. }
            ),
            object_budget: Some(OBJECT_BUDGET),
            listed_objects_only: object_key.is_some(),
            propose_only: matches!(decision, Decision::Propose { .. }),
            mode: match decision {
                Decision::PullRequest { .. } => None,
                _ => decision.mode(),
            },
        };
        if matches!(decision, Decision::NoAction { .. }) {
            tracing::info!(bucket = %bucket, public = verdict.public, decision = ?decision, "no action");
            return Ok(outcome);
        }
        if matches!(decision, Decision::Propose { .. }) {
            if let Some(open) = self
                .still_open_proposal(bucket, &verdict, &snapshot, &options.plan)
                .await
            {
                tracing::info!(bucket = %bucket, action_id = %open, "the same proposal is still open");
                outcome.action_id = Some(open);
                outcome.outcome = Some(Outcome::Proposed);
                return Ok(outcome);
            }
        }
        let context = ActionContext {
            trigger,
            severity: Some(severity),
            classification: Some(classification),
            exception: decided.exception_note,
        };
        let mut record =
            Box::pin(
                self.remediator
                    .remediate_snapshot(snapshot, &options, context, &self.store),
            )
            .await?;
        if record.outcome == Outcome::Proposed {
            if let Err(e) = self
                .store
                .set_open_proposal(&record.bucket, &record.action_id)
                .await
            {
                tracing::warn!(bucket = %record.bucket, error = %e, "could not index the open proposal");
            }
        }
        if let Decision::PullRequest { mode } = decision {
            if record.outcome == Outcome::DryRun {
                self.pull_request(&mut record, mode).await?;
                outcome.pull_request = record.pull_request.as_ref().map(|p| p.url.clone());
            }
        }
        self.finish(&mut outcome, &record).await;
        Ok(outcome)
    }

    /// The bucket's open co-pilot proposal, when it would propose the same steps and its
    /// approval link is still valid: a sweep then neither records nor announces it again. Any
    /// doubt (a store error, a decided or stale proposal, a different plan) means a new one.
    async fn still_open_proposal(
        &self,
        bucket: &str,
        verdict: &crate::exposure::Verdict,
        snapshot: &crate::snapshot::Snapshot,
        plan_options: &PlanOptions,
    ) -> Option<String> {
        let id = match self.store.open_proposal(bucket).await {
            Ok(id) => id?,
            Err(e) => {
                tracing::warn!(bucket = %bucket, error = %e, "could not read the open proposal");
                return None;
            }
        };
        let record = self.store.load(&id).await.ok()??;
        let ttl = chrono::Duration::from_std(APPROVAL_TTL).unwrap_or_default();
        let fresh = record.finished_at.is_some_and(|at| Utc::now() - at < ttl);
        let steps = |plan: &crate::plan::Plan| {
            plan.steps
                .iter()
                .map(|s| s.summary.clone())
                .collect::<Vec<_>>()
        };
        let same =
            steps(&record.plan) == steps(&crate::plan::plan(verdict, snapshot, plan_options));
        (record.outcome == Outcome::Proposed && fresh && same).then_some(id)
    }

    /// Git mode: opens or updates the pull request and records the action (a failure to reach
    /// the repository is recorded as a failed action, and notified).
    async fn pull_request(
        &self,
        record: &mut ActionRecord,
        mode: crate::decide::Mode,
    ) -> Result<(), PipelineError> {
        record.mode = Some(mode);
        let result = match &self.git {
            Some(config) => crate::git::propose(config, record)
                .await
                .map(|(pr, _)| pr)
                .map_err(|e| e.to_string()),
            None => Err(
                "git mode is selected but not configured: it needs BUCKETWARD_GIT_REPOSITORY and \
                 a token (see the start-up log for what is missing)"
                    .to_owned(),
            ),
        };
        match result {
            Ok(pr) => {
                record.outcome = Outcome::PullRequest;
                record.pull_request = Some(pr);
            }
            Err(message) => {
                tracing::error!(bucket = %record.bucket, error = %message, "git mode failed");
                record.outcome = Outcome::Failed;
                record.failure = Some(crate::action::StepFailure {
                    step: "open a pull request with the fix".to_owned(),
                    code: "GitMode".to_owned(),
                    message,
                    missing_permission: None,
                });
            }
        }
        record.finished_at = Some(Utc::now());
        self.store
            .save(record)
            .await
            .map_err(|e| PipelineError::Remediate(RemediateError::Record(e)))?;
        Ok(())
    }

    async fn finish(&self, outcome: &mut BucketOutcome, record: &ActionRecord) {
        outcome.action_id = Some(record.action_id.clone());
        outcome.outcome = Some(record.outcome);
        outcome.applied.clone_from(&record.applied);
        if record.outcome == Outcome::Fixed {
            if let (Some(event_time), Some(fixed)) =
                (record.trigger.event_time(), record.finished_at)
            {
                outcome.remediation_latency_ms = Some((fixed - event_time).num_milliseconds());
            }
        }
        tracing::info!(
            bucket = %record.bucket,
            action_id = %record.action_id,
            outcome = ?record.outcome,
            applied = ?record.applied,
            "action recorded"
        );
        // An open pull request that did not change is not news.
        let unchanged_pr = record.outcome == Outcome::PullRequest
            && record
                .pull_request
                .as_ref()
                .is_some_and(|p| !p.created && !p.pushed);
        if !matches!(record.outcome, Outcome::NothingToDo | Outcome::Gone) && !unchanged_pr {
            let link = match (&self.approval_links, record.outcome) {
                (Some(links), Outcome::Proposed) => match links.link(&record.action_id) {
                    Ok(link) => Some(link),
                    Err(e) => {
                        tracing::error!(error = %e, "could not sign an approval link");
                        None
                    }
                },
                _ => None,
            };
            match self
                .notifier
                .publish(&for_action_with_link(record, link.as_deref()))
                .await
            {
                Ok(()) => outcome.notified = true,
                Err(e) => {
                    tracing::error!(bucket = %record.bucket, error = %e, "notification failed")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approval_links_carry_a_token_the_approver_accepts() {
        let key = b"0123456789abcdef0123456789abcdef".to_vec();
        let links = ApprovalLinks {
            base_url: "https://abc.lambda-url.us-east-1.on.aws/".to_owned(),
            key: key.clone(),
            ttl: APPROVAL_TTL,
        };
        let link = links.link("act-1").unwrap();
        let token = link.split("token=").nth(1).unwrap();
        let claims = crate::approval::verify(token, &key, Utc::now()).unwrap();
        assert_eq!(claims.action_id, "act-1");
        assert!(
            format!("{links:?}").contains("base_url") && !format!("{links:?}").contains("0123")
        );
    }
}
