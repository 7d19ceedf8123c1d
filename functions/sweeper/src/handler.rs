//! Adapts a schedule or continuation event to a sweep, and the summary back to JSON.

use std::time::{Duration, Instant};

use bucketward::aws::dynamo::load_exceptions;
use bucketward::aws::remediate::Remediator;
use bucketward::aws::s3::{SnapshotOptions, SnapshotReader};
use bucketward::aws::sns::SnsNotifier;
use bucketward::aws::sqs::{send_continuation, Continuation};
use bucketward::aws::Clients;
use bucketward::config::{Config, ConfigError};
use bucketward::pipeline::{Pipeline, PipelineConfig};
use bucketward::store::MemoryDedupe;
use bucketward::sweep::{sweep, SweepOptions};
use chrono::Utc;
use lambda_runtime::{Error, LambdaEvent};
use serde_json::{json, Value};
use tracing::Instrument;

/// Sweep-specific settings.
pub struct Settings {
    pub concurrency: usize,
    /// Stop starting buckets this long before the Lambda deadline.
    pub margin: Duration,
    /// The queue that continues an unfinished sweep.
    pub queue_url: Option<String>,
    /// Buckets per invocation at most (tests use this to force a continuation).
    pub max_buckets: Option<usize>,
}

impl Settings {
    pub fn from_env() -> Result<Self, ConfigError> {
        let number = |name: &'static str, default: u64| -> Result<u64, ConfigError> {
            match std::env::var(name) {
                Ok(v) if !v.is_empty() => v.parse().map_err(|_| ConfigError::Invalid {
                    name,
                    value: v.clone(),
                    reason: "expected a whole number".to_owned(),
                }),
                _ => Ok(default),
            }
        };
        let max = number("BUCKETWARD_SWEEP_MAX_BUCKETS", 0)?;
        Ok(Self {
            concurrency: usize::try_from(number("BUCKETWARD_SWEEP_CONCURRENCY", 16)?).unwrap_or(16),
            margin: Duration::from_secs(number("BUCKETWARD_SWEEP_MARGIN_SECONDS", 60)?),
            queue_url: std::env::var("BUCKETWARD_SWEEP_QUEUE_URL")
                .ok()
                .filter(|v| !v.is_empty()),
            max_buckets: (max > 0).then(|| usize::try_from(max).unwrap_or(usize::MAX)),
        })
    }
}

/// Built once per cold start.
pub struct State {
    /// Signed approval links for co-pilot proposals, when the approver is deployed.
    pub approval_links: Option<bucketward::pipeline::ApprovalLinks>,
    /// Git mode's repository and token, when configured.
    pub git: Option<bucketward::git::GitConfig>,
    pub clients: Clients,
    pub sqs: aws_sdk_sqs::Client,
    pub account_id: String,
    pub config: Config,
    pub settings: Settings,
}

/// Where to start: a continuation (SQS record or direct payload), or the beginning.
fn continuation_of(payload: &Value) -> Result<Option<Continuation>, String> {
    if let Some(records) = payload.get("Records").and_then(Value::as_array) {
        let Some(body) = records.first().and_then(|r| r["body"].as_str()) else {
            return Err("an SQS event without a message body".to_owned());
        };
        return serde_json::from_str(body)
            .map(Some)
            .map_err(|e| format!("the continuation message is not valid: {e}"));
    }
    if payload.get("start_after").is_some() {
        return serde_json::from_value(payload.clone())
            .map(Some)
            .map_err(|e| format!("the continuation is not valid: {e}"));
    }
    Ok(None)
}

pub async fn handle(state: &State, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let span = tracing::info_span!("sweep", request_id = %event.context.request_id);
    let remaining = event
        .context
        .deadline()
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default();
    run(state, &event.payload, remaining).instrument(span).await
}

async fn run(state: &State, payload: &Value, remaining: Duration) -> Result<Value, Error> {
    let continuation = match continuation_of(payload) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "rejected event");
            return Ok(json!({"status": "rejected", "error": e}));
        }
    };
    let clients = &state.clients;
    let exceptions =
        load_exceptions(&clients.dynamodb, state.config.exceptions_table.as_deref()).await?;
    let pipeline = Pipeline {
        remediator: Remediator::new(SnapshotReader::new(clients.clone(), &state.account_id)),
        store: state
            .config
            .action_store(&clients.dynamodb, &state.account_id),
        dedupe: MemoryDedupe::default(),
        notifier: SnsNotifier::new(clients.sns.clone(), &state.config.topic_arn),
        config: PipelineConfig {
            snapshot: SnapshotOptions {
                lean: true,
                ..state.config.pipeline.snapshot
            },
            ..state.config.pipeline
        },
        exceptions,
        approval_links: state.approval_links.clone(),
        git: state.git.clone(),
    };
    let options = SweepOptions {
        concurrency: state.settings.concurrency,
        start_after: continuation.as_ref().map(|c| c.start_after.clone()),
        deadline: Some(Instant::now() + remaining.saturating_sub(state.settings.margin)),
        max_buckets: state.settings.max_buckets,
        trigger: None,
    };
    tracing::info!(start_after = ?options.start_after, "sweep starting");
    let summary = sweep(&pipeline, &options, |_| {}).await?;
    println!(
        "{}",
        summary.metrics_line("sweeper", Utc::now().timestamp_millis())
    );
    tracing::info!(
        seen = summary.seen,
        public = summary.public,
        fixed = summary.fixed,
        errors = summary.errors,
        complete = summary.complete,
        "sweep finished"
    );
    let mut continued = false;
    if let (Some(checkpoint), Some(queue)) = (&summary.checkpoint, &state.settings.queue_url) {
        let next = Continuation {
            start_after: checkpoint.clone(),
            generation: continuation.map_or(1, |c| c.generation + 1),
        };
        send_continuation(&state.sqs, queue, &next).await?;
        continued = true;
    }
    Ok(json!({"status": "swept", "summary": summary, "continued": continued}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_continuations_from_sqs_or_directly() {
        let sqs = json!({"Records": [{"body": "{\"start_after\":\"b-0042\",\"generation\":2}"}]});
        assert_eq!(
            continuation_of(&sqs).unwrap().unwrap().start_after,
            "b-0042"
        );
        assert_eq!(
            continuation_of(&json!({"start_after": "x"}))
                .unwrap()
                .unwrap()
                .generation,
            0
        );
        assert!(continuation_of(
            &json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}})
        )
        .unwrap()
        .is_none());
        assert!(continuation_of(&json!({"Records": [{"body": "nope"}]})).is_err());
    }
}
