//! Logging set-up for the Lambdas: JSON lines (CloudWatch's JSON log format), `RUST_LOG`
//! respected, `info` by default, no timestamps (Lambda adds its own).

/// Installs the JSON subscriber; a second call does nothing.
pub fn init_lambda_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .without_time()
        .try_init();
}
