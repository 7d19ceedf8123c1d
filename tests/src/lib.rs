//! The test harness: finds the running local AWS emulator (moto in server mode, started by
//! `make test`), builds the real SDK clients against it, and isolates tests from each other with
//! unique bucket names. Tests that change account-wide state live in their own test binary and
//! hold [`account_lock`].

use std::time::Duration;

use bucketward::aws::{ClientOptions, Clients};

/// The JSON fixtures of `tests/fixtures/<corpus>`, sorted by file name: (file name, document).
pub fn json_fixtures(corpus: &str) -> Vec<(String, serde_json::Value)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(corpus);
    let mut paths: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .expect("fixture dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let text = std::fs::read_to_string(&path).expect("readable fixture");
            let fixture = serde_json::from_str(&text).expect("fixture is JSON");
            (name, fixture)
        })
        .collect()
}

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

/// Builders for realistic bucket states.
pub mod scenario {
    use aws_sdk_s3::types::{
        AccessControlPolicy, Grant, Grantee, ObjectCannedAcl, ObjectOwnership, Owner,
        OwnershipControls, OwnershipControlsRule, Permission, Type,
    };

    pub const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
    pub const LOG_DELIVERY: &str = "http://acs.amazonaws.com/groups/s3/LogDelivery";
    /// A canonical user id of another account.
    pub const PARTNER_CANONICAL_ID: &str =
        "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

    /// One public statement, one cross-account statement, one Deny on insecure transport.
    pub fn mixed_policy(bucket: &str) -> String {
        format!(
            r#"{{
  "Version": "2012-10-17",
  "Statement": [
    {{"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::{bucket}/*"}},
    {{"Sid": "PartnerRead", "Effect": "Allow", "Principal": {{"AWS": "arn:aws:iam::111122223333:role/partner-reader"}}, "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": ["arn:aws:s3:::{bucket}", "arn:aws:s3:::{bucket}/*"]}},
    {{"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": ["arn:aws:s3:::{bucket}", "arn:aws:s3:::{bucket}/*"], "Condition": {{"Bool": {{"aws:SecureTransport": "false"}}}}}}
  ]
}}"#
        )
    }

    pub async fn owner_id(s3: &aws_sdk_s3::Client, bucket: &str) -> String {
        s3.get_bucket_acl()
            .bucket(bucket)
            .send()
            .await
            .expect("get acl")
            .owner()
            .and_then(|o| o.id())
            .expect("owner id")
            .to_owned()
    }

    fn grant(grantee: Grantee, permission: Permission) -> Grant {
        Grant::builder()
            .grantee(grantee)
            .permission(permission)
            .build()
    }

    fn group(uri: &str) -> Grantee {
        Grantee::builder()
            .r#type(Type::Group)
            .uri(uri)
            .build()
            .expect("grantee")
    }

    fn user(id: &str) -> Grantee {
        Grantee::builder()
            .r#type(Type::CanonicalUser)
            .id(id)
            .build()
            .expect("grantee")
    }

    /// Owner FULL_CONTROL, AllUsers READ, LogDelivery WRITE and READ_ACP, and optionally a
    /// cross-account READ grant.
    pub async fn put_legacy_acl(s3: &aws_sdk_s3::Client, bucket: &str, partner: bool) {
        let owner = owner_id(s3, bucket).await;
        let mut policy = AccessControlPolicy::builder()
            .owner(Owner::builder().id(&owner).build())
            .grants(grant(user(&owner), Permission::FullControl))
            .grants(grant(group(ALL_USERS), Permission::Read))
            .grants(grant(group(LOG_DELIVERY), Permission::Write))
            .grants(grant(group(LOG_DELIVERY), Permission::ReadAcp));
        if partner {
            policy = policy.grants(grant(user(PARTNER_CANONICAL_ID), Permission::Read));
        }
        s3.put_bucket_acl()
            .bucket(bucket)
            .access_control_policy(policy.build())
            .send()
            .await
            .expect("put acl");
    }

    pub async fn set_ownership(s3: &aws_sdk_s3::Client, bucket: &str, ownership: ObjectOwnership) {
        s3.put_bucket_ownership_controls()
            .bucket(bucket)
            .ownership_controls(
                OwnershipControls::builder()
                    .rules(
                        OwnershipControlsRule::builder()
                            .object_ownership(ownership)
                            .build()
                            .expect("rule"),
                    )
                    .build()
                    .expect("controls"),
            )
            .send()
            .await
            .expect("ownership");
    }

    pub async fn put_object(
        s3: &aws_sdk_s3::Client,
        bucket: &str,
        key: &str,
        content_type: &str,
        public: bool,
    ) {
        let mut put = s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .body(format!("contents of {key}").into_bytes().into());
        if public {
            put = put.acl(ObjectCannedAcl::PublicRead);
        }
        put.send().await.expect("put object");
    }
}

pub mod github;
pub mod infra;
pub mod lambda;
pub mod proxy;

/// The remediator's EventBridge pattern, read from `template.yaml`, so that the tests exercise
/// exactly the rule that is deployed.
pub fn template_event_pattern() -> serde_json::Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
    let text = std::fs::read_to_string(&path).expect("template.yaml");
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).expect("template.yaml parses");
    let events = &doc["Resources"]["RemediatorFunction"]["Properties"]["Events"];
    let mapping = events.as_mapping().expect("RemediatorFunction has Events");
    let pattern = mapping
        .values()
        .find_map(|e| e["Properties"].get("Pattern"))
        .expect("an EventBridge rule with a Pattern");
    serde_json::to_value(pattern).expect("pattern converts to JSON")
}
