//! The test harness: finds the running local AWS emulator (moto in server mode, started by
//! `make test`), builds the real SDK clients against it, and isolates tests from each other with
//! unique bucket names. Tests that change account-wide state live in their own test binary and
//! hold [`account_lock`].

use std::time::Duration;

use bucketward::aws::{ClientOptions, Clients};

/// moto's only account.
pub const ACCOUNT_ID: &str = "123456789012";
pub const REGION: &str = "us-east-1";

/// A connection to the running emulator.
pub struct Emulator {
    pub endpoint: String,
    pub clients: Clients,
}

impl Emulator {
    /// Connects to the emulator named by `AWS_ENDPOINT_URL`, failing with instructions when it is
    /// not set or not answering.
    pub async fn connect() -> Self {
        let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
        assert!(
            !endpoint.is_empty(),
            "AWS_ENDPOINT_URL is not set: these tests need the local AWS emulator. \
             Run them with `make test`, or `make emulator-up` and export \
             AWS_ENDPOINT_URL=http://127.0.0.1:5055"
        );
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .expect("http client");
        let health = client.get(format!("{endpoint}/moto-api/")).send().await;
        assert!(
            health.as_ref().is_ok_and(|r| r.status().is_success()),
            "the local AWS emulator at {endpoint} is not answering ({health:?}); \
             start it with `make emulator-up`"
        );
        let clients = Clients::load(&ClientOptions {
            endpoint_url: Some(endpoint.clone()),
            region: Some(REGION.to_owned()),
        })
        .await;
        Self { endpoint, clients }
    }

    /// A bucket name no other test uses.
    pub fn unique_bucket(prefix: &str) -> String {
        let id = uuid::Uuid::new_v4().simple().to_string();
        format!("{prefix}-{}", &id[..12])
    }

    /// Creates a bucket and returns its name.
    pub async fn create_bucket(&self, prefix: &str) -> String {
        let name = Self::unique_bucket(prefix);
        self.clients
            .s3
            .create_bucket()
            .bucket(&name)
            .send()
            .await
            .expect("create bucket");
        name
    }

    /// Clears all emulator state (only for tests that run serially in their own binary).
    pub async fn reset(&self) {
        reqwest::Client::new()
            .post(format!("{}/moto-api/reset", self.endpoint))
            .send()
            .await
            .expect("reset the emulator");
    }
}

/// Serialises the tests of one binary that change account-wide state.
pub fn account_lock() -> &'static tokio::sync::Mutex<()> {
    static LOCK: std::sync::OnceLock<tokio::sync::Mutex<()>> = std::sync::OnceLock::new();
    LOCK.get_or_init(|| tokio::sync::Mutex::new(()))
}
