//! The approver Lambda, behind a Function URL: a person follows a co-pilot approval link, and
//! the proposal it names is approved (re-evaluated, then fixed) or rejected, once. This file only
//! wires: tracing, configuration, clients, then the runtime.

mod config;
mod handler;
mod http;

use bucketward::audit::store::AuditedStore;
use bucketward::audit::DynamoAuditLog;
use bucketward::aws::approvals::DynamoTokenLedger;
use bucketward::aws::dynamo::DynamoActionStore;
use bucketward::aws::sns::SnsNotifier;
use bucketward::aws::{ClientOptions, Clients};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_current_span(false)
        .without_time()
        .init();
    let config = config::ApproverConfig::from_env()?;
    let clients = Clients::load(&ClientOptions::default()).await;
    let account_id = match &config.account_id {
        Some(id) => id.clone(),
        None => clients.account_id().await?,
    };
    let state = handler::State {
        store: AuditedStore {
            inner: DynamoActionStore::new(clients.dynamodb.clone(), &config.audit_table),
            audit: config.audit_key.as_ref().map(|key| {
                DynamoAuditLog::new(
                    clients.dynamodb.clone(),
                    &config.audit_table,
                    &account_id,
                    key.clone(),
                )
            }),
        },
        ledger: DynamoTokenLedger::new(clients.dynamodb.clone(), &config.token_table),
        notifier: match &config.topic_arn {
            Some(arn) => handler::TopicNotifier::Sns(SnsNotifier::new(clients.sns.clone(), arn)),
            None => handler::TopicNotifier::Off,
        },
        clients,
        account_id,
        config,
    };
    let state = &state;
    run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
        handler::handle(state, event).await
    }))
    .await
}
