//! The remediator Lambda: EventBridge delivers CloudTrail S3 calls; each is sent through the
//! shared pipeline. This file only wires: tracing, configuration, clients, then the runtime.
//!
//! `remediator --invoke EVENT.json` runs the same handler once on a file, without the Lambda
//! Runtime API (the local demo uses it).

mod handler;

use bucketward::aws::{ClientOptions, Clients};
use bucketward::config::Config;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    bucketward::logging::init_lambda_logging();
    let config = Config::from_env()?;
    let approval_links = bucketward::pipeline::ApprovalLinks::from_env()?;
    let clients = Clients::load(&ClientOptions::default()).await;
    let account_id = match &config.account_id {
        Some(id) => id.clone(),
        None => clients.account_id().await?,
    };
    let git = bucketward::aws::git::git_config_from_env(&clients).await;
    let state = handler::State {
        approval_links,
        git,
        clients,
        account_id,
        config,
    };
    let state = &state;
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, path] = args.as_slice() {
        if flag == "--invoke" {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("cannot read `{path}`: {e}"))?;
            let payload: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| format!("`{path}` is not JSON: {e}"))?;
            let result = handler::handle(
                state,
                LambdaEvent::new(payload, lambda_runtime::Context::default()),
            )
            .await?;
            println!("{result}");
            return Ok(());
        }
    }
    run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
        handler::handle(state, event).await
    }))
    .await
}
