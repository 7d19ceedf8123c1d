//! The sweeper Lambda: on its schedule (or a continuation message), every bucket goes through the
//! shared pipeline. This file only wires: tracing, configuration, clients, then the runtime.

mod handler;

use bucketward::aws::{ClientOptions, Clients};
use bucketward::config::Config;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    bucketward::logging::init_lambda_logging();
    let config = Config::from_env()?;
    let approval_links = bucketward::pipeline::ApprovalLinks::from_env()?;
    let settings = handler::Settings::from_env()?;
    let clients = Clients::load(&ClientOptions::default()).await;
    let account_id = match &config.account_id {
        Some(id) => id.clone(),
        None => clients.account_id().await?,
    };
    let sqs = aws_sdk_sqs::Client::new(clients.sdk_config());
    let git = bucketward::aws::git::git_config_from_env(&clients).await;
    let state = handler::State {
        approval_links,
        git,
        clients,
        sqs,
        account_id,
        config,
        settings,
    };
    let state = &state;
    run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
        handler::handle(state, event).await
    }))
    .await
}
