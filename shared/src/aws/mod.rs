//! The only place that talks to AWS. Clients are built here, once, from the standard
//! configuration chain; `AWS_ENDPOINT_URL` (or an explicit endpoint) points them all at a local
//! emulator.

pub mod approvals;
pub mod demo;
pub mod dynamo;
pub mod error;
pub mod git;
pub mod iam;
pub mod remediate;
pub mod s3;
pub mod sns;
pub mod sqs;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::endpoint::EndpointFuture;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::endpoint::Endpoint;

/// How many times the SDK tries a call (standard retry mode: exponential backoff with jitter,
/// retrying throttling such as 503 SlowDown and transient errors).
pub const MAX_ATTEMPTS: u32 = 5;

/// Where the clients point, and in which region.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// An endpoint URL for every service (a local emulator). Falls back to `AWS_ENDPOINT_URL`.
    pub endpoint_url: Option<String>,
    /// The region. Falls back to the standard chain (`AWS_REGION`, profile, IMDS).
    pub region: Option<String>,
}

/// The SDK clients bucketward uses, built once per process.
#[derive(Clone, Debug)]
pub struct Clients {
    config: SdkConfig,
    endpoint_url: Option<String>,
    pub s3: aws_sdk_s3::Client,
    pub s3control: aws_sdk_s3control::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sns: aws_sdk_sns::Client,
    pub sts: aws_sdk_sts::Client,
    regional_s3: Arc<Mutex<HashMap<String, aws_sdk_s3::Client>>>,
    calls: CallCounter,
}

/// Counts the S3 and S3 Control requests sent (every attempt, retries included), so that
/// sweeps and benchmarks can report AWS calls per bucket.
#[derive(Debug, Clone, Default)]
pub struct CallCounter(Arc<AtomicU64>);

impl CallCounter {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "bucketward::CallCounter"
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// S3 Control puts the account id in the host name (`123456789012.127.0.0.1`), which a local
/// emulator cannot serve. With an endpoint URL set, every S3 Control call goes to it as is.
#[derive(Debug)]
struct FixedEndpoint(String);

impl aws_sdk_s3control::config::endpoint::ResolveEndpoint for FixedEndpoint {
    fn resolve_endpoint<'a>(
        &'a self,
        _params: &'a aws_sdk_s3control::config::endpoint::Params,
    ) -> EndpointFuture<'a> {
        EndpointFuture::ready(Ok(Endpoint::builder().url(self.0.clone()).build()))
    }
}

impl Clients {
    /// Loads the configuration from the standard chain and builds every client.
    pub async fn load(options: &ClientOptions) -> Self {
        let endpoint_url = options
            .endpoint_url
            .clone()
            .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
            .filter(|u| !u.is_empty());
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS));
        if let Some(region) = &options.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(url) = &endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let config = loader.load().await;
        Self::from_config(config, endpoint_url)
    }

    fn from_config(config: SdkConfig, endpoint_url: Option<String>) -> Self {
        let calls = CallCounter::default();
        let s3 =
            aws_sdk_s3::Client::from_conf(s3_config(&config, endpoint_url.is_some(), None, &calls));
        let mut control =
            aws_sdk_s3control::config::Builder::from(&config).interceptor(calls.clone());
        if let Some(url) = &endpoint_url {
            control = control.endpoint_resolver(FixedEndpoint(url.clone()));
        }
        Self {
            s3control: aws_sdk_s3control::Client::from_conf(control.build()),
            dynamodb: aws_sdk_dynamodb::Client::new(&config),
            sns: aws_sdk_sns::Client::new(&config),
            sts: aws_sdk_sts::Client::new(&config),
            s3,
            config,
            endpoint_url,
            regional_s3: Arc::default(),
            calls,
        }
    }

    /// S3 and S3 Control requests sent so far by these clients.
    pub fn calls(&self) -> u64 {
        self.calls.get()
    }

    /// The account these credentials belong to: `BUCKETWARD_ACCOUNT_ID`, or STS.
    pub async fn account_id(&self) -> Result<String, error::AwsError> {
        if let Ok(id) = std::env::var("BUCKETWARD_ACCOUNT_ID") {
            if !id.is_empty() {
                return Ok(id);
            }
        }
        let out = self
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| error::aws_error("GetCallerIdentity", e))?;
        Ok(out.account.unwrap_or_default())
    }

    /// The configured region, if any.
    pub fn region(&self) -> Option<&str> {
        self.config.region().map(Region::as_ref)
    }

    /// Whether the clients point at a custom endpoint (the local emulator).
    pub fn endpoint_url(&self) -> Option<&str> {
        self.endpoint_url.as_deref()
    }

    /// An IAM client (a global service; built on demand, only the IAM commands use it).
    pub fn iam(&self) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::new(&self.config)
    }

    /// The shared SDK configuration, for clients of other services.
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.config
    }

    /// An S3 client for a bucket's own region (cached), so that calls are not redirected.
    pub fn s3_in(&self, region: Option<&str>) -> aws_sdk_s3::Client {
        let Some(region) = region.filter(|r| Some(*r) != self.region()) else {
            return self.s3.clone();
        };
        let Ok(mut cache) = self.regional_s3.lock() else {
            return self.s3.clone();
        };
        cache
            .entry(region.to_owned())
            .or_insert_with(|| {
                aws_sdk_s3::Client::from_conf(s3_config(
                    &self.config,
                    self.endpoint_url.is_some(),
                    Some(region),
                    &self.calls,
                ))
            })
            .clone()
    }
}

fn s3_config(
    config: &SdkConfig,
    emulator: bool,
    region: Option<&str>,
    calls: &CallCounter,
) -> aws_sdk_s3::Config {
    let mut builder = aws_sdk_s3::config::Builder::from(config).interceptor(calls.clone());
    if emulator {
        builder = builder.force_path_style(true);
    }
    if let Some(region) = region {
        builder = builder.region(Region::new(region.to_owned()));
    }
    builder.build()
}
