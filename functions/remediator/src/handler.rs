//! Adapts an EventBridge event to the pipeline and the result back to JSON.

use bucketward::aws::dynamo::{load_exceptions, DynamoDedupe};
use bucketward::aws::remediate::Remediator;
use bucketward::aws::s3::SnapshotReader;
use bucketward::aws::sns::SnsNotifier;
use bucketward::aws::Clients;
use bucketward::config::Config;
use bucketward::event::ApiCallEvent;
use bucketward::pipeline::{EventOutcome, Pipeline};
use chrono::Utc;
use lambda_runtime::{Error, LambdaEvent};
use serde_json::{json, Value};
use tracing::Instrument;

/// Built once per cold start.
pub struct State {
    /// Signed approval links for co-pilot proposals, when the approver is deployed.
    pub approval_links: Option<bucketward::pipeline::ApprovalLinks>,
    /// Git mode's repository and token, when configured.
    pub git: Option<bucketward::git::GitConfig>,
    pub clients: Clients,
    pub account_id: String,
    pub config: Config,
}

pub async fn handle(state: &State, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let span = tracing::info_span!("event", request_id = %event.context.request_id);
    handle_payload(state, &event.payload).instrument(span).await
}

async fn handle_payload(state: &State, payload: &Value) -> Result<Value, Error> {
    let event = match ApiCallEvent::from_value(payload) {
        Ok(e) => e,
        Err(e) => {
            // A malformed or unknown event is rejected once, never retried.
            tracing::error!(error = %e, "rejected event");
            return Ok(json!({"status": "rejected", "error": e.to_string()}));
        }
    };
    tracing::info!(event_id = %event.event_id, event_name = %event.event_name, bucket = ?event.bucket(), "handling");
    // A fresh reader per invocation: account BPA is read at most once per event.
    let clients = &state.clients;
    // Without its exceptions the pipeline could break an intended public bucket: fail (and
    // retry) rather than act without them.
    let exceptions =
        load_exceptions(&clients.dynamodb, state.config.exceptions_table.as_deref()).await?;
    let pipeline = Pipeline {
        remediator: Remediator::new(SnapshotReader::new(clients.clone(), &state.account_id)),
        store: state
            .config
            .action_store(&clients.dynamodb, &state.account_id),
        dedupe: DynamoDedupe::new(clients.dynamodb.clone(), &state.config.dedupe_table),
        notifier: SnsNotifier::new(clients.sns.clone(), &state.config.topic_arn),
        config: state.config.pipeline,
        exceptions,
        approval_links: state.approval_links.clone(),
        git: state.git.clone(),
    };
    let outcome = pipeline.handle_event(&event).await?;
    let now = Utc::now();
    match &outcome {
        EventOutcome::Bucket { result, .. } => {
            println!("{}", result.metrics_line("remediator", now))
        }
        EventOutcome::Account { summary, .. } => {
            println!(
                "{}",
                summary.metrics_line("remediator", now.timestamp_millis())
            );
        }
        EventOutcome::Ignored { .. } | EventOutcome::Duplicate { .. } => {}
    }
    Ok(serde_json::to_value(&outcome)?)
}
