//! Reading a live bucket into a [`Snapshot`]: every layer fetched concurrently, "not found"
//! answers mapped to absent values, any other failure recorded per layer in `Errors`.

use std::sync::Arc;

use aws_sdk_s3::types as s3t;
use futures::stream::{self, StreamExt};
use serde_json::{json, Value};
use tokio::sync::OnceCell;

use super::error::{absent_if, AwsError};
use super::Clients;
use crate::snapshot::{
    AccessPointSnapshot, Acl, BucketPolicy, Grant, Grantee, LayerError, ObjectSnapshot,
    OwnershipControls, OwnershipRule, PublicAccessBlock, Snapshot, Tag,
};

/// How many objects to sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ObjectSampling {
    #[default]
    None,
    First(usize),
    All,
}

/// What to read beyond the bucket's own layers.
#[derive(Debug, Clone, Copy, Default)]
pub struct SnapshotOptions {
    pub objects: ObjectSampling,
    pub access_points: bool,
    /// Skip the calls whose answer cannot change the verdict: the policy when account-level
    /// `RestrictPublicBuckets` is on, the ACL and ownership when account-level
    /// `IgnorePublicAcls` is on, and website, tags and encryption (read for classification
    /// only). Sweeps use this; a skipped layer is listed in `Skipped`.
    pub lean: bool,
}

/// Runs a call only when asked.
async fn maybe<F: std::future::Future>(run: bool, call: F) -> Option<F::Output> {
    if run {
        Some(call.await)
    } else {
        None
    }
}

/// Concurrency for per-object reads.
const OBJECT_CONCURRENCY: usize = 16;

pub const NO_SUCH_BUCKET: &str = "NoSuchBucket";

/// Reads live snapshots. Account-level BPA is read once per reader and cached.
#[derive(Clone)]
pub struct SnapshotReader {
    clients: Clients,
    account_id: String,
    account_bpa: Arc<OnceCell<Result<Option<PublicAccessBlock>, LayerError>>>,
}

fn layer_error(layer: &str, err: &AwsError) -> LayerError {
    LayerError {
        layer: layer.to_owned(),
        code: err.code.clone(),
        message: Some(if err.is_access_denied() {
            format!("access denied: the role needs `{}`", err.iam_action())
        } else {
            err.to_string()
        }),
    }
}

impl SnapshotReader {
    pub fn new(clients: Clients, account_id: impl Into<String>) -> Self {
        Self {
            clients,
            account_id: account_id.into(),
            account_bpa: Arc::default(),
        }
    }

    pub fn clients(&self) -> &Clients {
        &self.clients
    }

    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    /// Forgets the cached account BPA (after an account-level change).
    pub fn refresh_account(&mut self) {
        self.account_bpa = Arc::default();
    }

    /// The account's Block Public Access, read once.
    pub async fn account_bpa(&self) -> Result<Option<PublicAccessBlock>, LayerError> {
        self.account_bpa
            .get_or_init(|| async {
                let result = self
                    .clients
                    .s3control
                    .get_public_access_block()
                    .account_id(&self.account_id)
                    .send()
                    .await;
                absent_if(
                    "GetAccountPublicAccessBlock",
                    result,
                    &["NoSuchPublicAccessBlockConfiguration"],
                )
                .map(|out| {
                    out.and_then(|o| o.public_access_block_configuration)
                        .map(|c| PublicAccessBlock {
                            block_public_acls: c.block_public_acls.unwrap_or(false),
                            ignore_public_acls: c.ignore_public_acls.unwrap_or(false),
                            block_public_policy: c.block_public_policy.unwrap_or(false),
                            restrict_public_buckets: c.restrict_public_buckets.unwrap_or(false),
                        })
                })
                .map_err(|e| layer_error("AccountPublicAccessBlock", &e))
            })
            .await
            .clone()
    }

    /// The bucket's region, from `GetBucketLocation` (empty means us-east-1).
    pub async fn bucket_region(&self, bucket: &str) -> Result<String, AwsError> {
        let out = self
            .clients
            .s3
            .get_bucket_location()
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| super::error::aws_error("GetBucketLocation", e))?;
        Ok(match out.location_constraint() {
            None => "us-east-1".to_owned(),
            Some(c) if c.as_str().is_empty() => "us-east-1".to_owned(),
            Some(s3t::BucketLocationConstraint::Eu) => "eu-west-1".to_owned(),
            Some(c) => c.as_str().to_owned(),
        })
    }

    /// Reads every layer of a bucket. Never fails: unreadable layers go to `Errors`, and a
    /// bucket that no longer exists has a `NoSuchBucket` error on layer `Bucket`.
    pub async fn snapshot(
        &self,
        bucket: &str,
        region: Option<&str>,
        options: SnapshotOptions,
    ) -> Snapshot {
        let mut snapshot = Snapshot {
            bucket: bucket.to_owned(),
            account_id: Some(self.account_id.clone()),
            ..Snapshot::default()
        };
        let region = match region {
            Some(r) => r.to_owned(),
            None => match self.bucket_region(bucket).await {
                Ok(r) => r,
                Err(e) if e.is_no_such_bucket() => {
                    snapshot.errors.push(layer_error("Bucket", &e));
                    return snapshot;
                }
                Err(e) => {
                    snapshot.errors.push(layer_error("Location", &e));
                    self.clients.region().unwrap_or("us-east-1").to_owned()
                }
            },
        };
        snapshot.region = Some(region.clone());
        let s3 = self.clients.s3_in(Some(&region));

        let account = if options.lean {
            self.account_bpa().await.ok().flatten().unwrap_or_default()
        } else {
            PublicAccessBlock::default()
        };
        let read_policy = !(options.lean && account.restrict_public_buckets);
        let read_acl = !(options.lean && account.ignore_public_acls);
        let read_metadata = !options.lean;
        for (read, layer) in [
            (read_policy, "Policy"),
            (read_acl, "Acl"),
            (read_acl, "OwnershipControls"),
            (read_metadata, "Website"),
            (read_metadata, "Tags"),
            (read_metadata, "Encryption"),
        ] {
            if !read {
                snapshot.skipped.push(layer.to_owned());
            }
        }
        let (policy, acl, bpa, ownership, website, tags, encryption, account_bpa) = tokio::join!(
            maybe(read_policy, s3.get_bucket_policy().bucket(bucket).send()),
            maybe(read_acl, s3.get_bucket_acl().bucket(bucket).send()),
            s3.get_public_access_block().bucket(bucket).send(),
            maybe(
                read_acl,
                s3.get_bucket_ownership_controls().bucket(bucket).send()
            ),
            maybe(read_metadata, s3.get_bucket_website().bucket(bucket).send()),
            maybe(read_metadata, s3.get_bucket_tagging().bucket(bucket).send()),
            maybe(
                read_metadata,
                s3.get_bucket_encryption().bucket(bucket).send()
            ),
            self.account_bpa(),
        );
        let mut errors: Vec<LayerError> = Vec::new();

        if let Some(policy) = policy {
            match absent_if("GetBucketPolicy", policy, &["NoSuchBucketPolicy"]) {
                Ok(out) => {
                    if let Some(text) = out.and_then(|o| o.policy) {
                        match BucketPolicy::from_text(text) {
                            Ok(p) => snapshot.policy = Some(p),
                            Err(e) => errors.push(LayerError {
                                layer: "Policy".to_owned(),
                                code: "InvalidPolicyDocument".to_owned(),
                                message: Some(e.to_string()),
                            }),
                        }
                    }
                }
                Err(e) => errors.push(layer_error("Policy", &e)),
            }
        }
        if let Some(acl) = acl {
            match absent_if("GetBucketAcl", acl, &[]) {
                Ok(out) => {
                    snapshot.acl = out.map(|o| acl_from_sdk(o.owner.as_ref(), o.grants()));
                }
                Err(e) => errors.push(layer_error("Acl", &e)),
            }
        }
        match absent_if(
            "GetPublicAccessBlock",
            bpa,
            &["NoSuchPublicAccessBlockConfiguration"],
        ) {
            Ok(out) => {
                snapshot.public_access_block = out
                    .and_then(|o| o.public_access_block_configuration)
                    .map(|c| bpa_from_sdk(&c));
            }
            Err(e) => errors.push(layer_error("PublicAccessBlock", &e)),
        }
        if let Some(ownership) = ownership {
            match absent_if(
                "GetBucketOwnershipControls",
                ownership,
                &["OwnershipControlsNotFoundError"],
            ) {
                Ok(out) => {
                    snapshot.ownership_controls =
                        out.and_then(|o| o.ownership_controls)
                            .map(|c| OwnershipControls {
                                rules: c
                                    .rules()
                                    .iter()
                                    .map(|r| OwnershipRule {
                                        object_ownership: r.object_ownership().as_str().to_owned(),
                                    })
                                    .collect(),
                            });
                }
                Err(e) => errors.push(layer_error("OwnershipControls", &e)),
            }
        }
        if let Some(website) = website {
            match absent_if("GetBucketWebsite", website, &["NoSuchWebsiteConfiguration"]) {
                Ok(out) => snapshot.website = out.map(|o| website_json(&o)),
                Err(e) => errors.push(layer_error("Website", &e)),
            }
        }
        if let Some(tags) = tags {
            match absent_if(
                "GetBucketTagging",
                tags,
                &["NoSuchTagSet", "NoSuchTagSetError"],
            ) {
                Ok(out) => {
                    snapshot.tags = out
                        .map(|o| {
                            o.tag_set()
                                .iter()
                                .map(|t| Tag {
                                    key: t.key().to_owned(),
                                    value: t.value().to_owned(),
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                }
                Err(e) => errors.push(layer_error("Tags", &e)),
            }
        }
        if let Some(encryption) = encryption {
            match absent_if(
                "GetBucketEncryption",
                encryption,
                &["ServerSideEncryptionConfigurationNotFoundError"],
            ) {
                Ok(out) => {
                    snapshot.encryption = out
                        .and_then(|o| o.server_side_encryption_configuration)
                        .map(|c| encryption_json(&c));
                }
                Err(e) => errors.push(layer_error("Encryption", &e)),
            }
        }
        match account_bpa {
            Ok(a) => snapshot.account_public_access_block = a,
            Err(e) => errors.push(e),
        }
        if errors.iter().any(|e| e.code == NO_SUCH_BUCKET) {
            snapshot.errors = vec![LayerError {
                layer: "Bucket".to_owned(),
                code: NO_SUCH_BUCKET.to_owned(),
                message: Some("the bucket no longer exists".to_owned()),
            }];
            return snapshot;
        }
        snapshot.errors = errors;

        if options.objects != ObjectSampling::None {
            match self.objects(&s3, bucket, options.objects).await {
                Ok(objects) => snapshot.objects = objects,
                Err(e) => snapshot.errors.push(layer_error("Objects", &e)),
            }
        }
        if options.access_points {
            match self.access_points(bucket).await {
                Ok(aps) => snapshot.access_points = aps,
                Err(e) => snapshot.errors.push(layer_error("AccessPoints", &e)),
            }
        }
        snapshot
    }

    /// Adds what classification needs to a snapshot, for a bucket found public: website, tags
    /// and encryption when a lean read skipped them, and the content types and ACLs of up to
    /// `sample` objects when none were sampled. Failures only leave the snapshot poorer.
    pub async fn enrich_for_classification(&self, snapshot: &mut Snapshot, sample: usize) {
        let s3 = self.clients.s3_in(snapshot.region.as_deref());
        let bucket = snapshot.bucket.clone();
        let skipped_metadata = snapshot.skipped.iter().any(|l| l == "Website");
        let (website, tags, encryption, listing) = tokio::join!(
            maybe(
                skipped_metadata,
                s3.get_bucket_website().bucket(&bucket).send()
            ),
            maybe(
                skipped_metadata,
                s3.get_bucket_tagging().bucket(&bucket).send()
            ),
            maybe(
                skipped_metadata,
                s3.get_bucket_encryption().bucket(&bucket).send()
            ),
            maybe(
                snapshot.objects.is_empty() && sample > 0,
                s3.list_objects_v2()
                    .bucket(&bucket)
                    .max_keys(i32::try_from(sample).unwrap_or(20))
                    .send()
            ),
        );
        if let Some(Ok(o)) = website {
            snapshot.website = Some(website_json(&o));
        }
        if let Some(Ok(o)) = tags {
            snapshot.tags = o
                .tag_set()
                .iter()
                .map(|t| Tag {
                    key: t.key().to_owned(),
                    value: t.value().to_owned(),
                })
                .collect();
        }
        if let Some(Ok(o)) = encryption {
            snapshot.encryption = o
                .server_side_encryption_configuration
                .map(|c| encryption_json(&c));
        }
        snapshot
            .skipped
            .retain(|l| !matches!(l.as_str(), "Website" | "Tags" | "Encryption"));
        if let Some(Ok(listing)) = listing {
            let keys: Vec<String> = listing
                .contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned))
                .collect();
            snapshot.objects = read_objects(&s3, &bucket, keys).await;
        }
    }

    /// Reads one object's ACL and content type (for an event about that object).
    pub async fn object(
        &self,
        bucket: &str,
        region: Option<&str>,
        key: &str,
    ) -> Result<ObjectSnapshot, AwsError> {
        let s3 = self.clients.s3_in(region);
        let (acl, head) = tokio::join!(
            s3.get_object_acl().bucket(bucket).key(key).send(),
            s3.head_object().bucket(bucket).key(key).send(),
        );
        let acl = acl.map_err(|e| super::error::aws_error("GetObjectAcl", e))?;
        Ok(ObjectSnapshot {
            key: key.to_owned(),
            content_type: head.ok().and_then(|h| h.content_type),
            acl: Some(acl_from_sdk(acl.owner.as_ref(), acl.grants())),
        })
    }

    /// The bucket an access point belongs to.
    pub async fn access_point_bucket(&self, name: &str) -> Result<String, AwsError> {
        let out = self
            .clients
            .s3control
            .get_access_point()
            .account_id(&self.account_id)
            .name(name)
            .send()
            .await
            .map_err(|e| super::error::aws_error("GetAccessPoint", e))?;
        Ok(out.bucket.unwrap_or_default())
    }

    /// Samples objects with their ACLs and content types.
    async fn objects(
        &self,
        s3: &aws_sdk_s3::Client,
        bucket: &str,
        sampling: ObjectSampling,
    ) -> Result<Vec<ObjectSnapshot>, AwsError> {
        let limit = match sampling {
            ObjectSampling::None => return Ok(Vec::new()),
            ObjectSampling::First(n) => n,
            ObjectSampling::All => usize::MAX,
        };
        let mut keys = Vec::new();
        let mut token = None;
        loop {
            let page_size = i32::try_from((limit - keys.len()).min(1000)).unwrap_or(1000);
            let out = s3
                .list_objects_v2()
                .bucket(bucket)
                .max_keys(page_size)
                .set_continuation_token(token)
                .send()
                .await
                .map_err(|e| super::error::aws_error("ListObjectsV2", e))?;
            keys.extend(
                out.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
            token = out.next_continuation_token().map(str::to_owned);
            if token.is_none() || keys.len() >= limit {
                break;
            }
        }
        keys.truncate(limit);
        Ok(read_objects(s3, bucket, keys).await)
    }

    /// The bucket's access points with their policies and BPA.
    async fn access_points(&self, bucket: &str) -> Result<Vec<AccessPointSnapshot>, AwsError> {
        let control = &self.clients.s3control;
        let out = control
            .list_access_points()
            .account_id(&self.account_id)
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| super::error::aws_error("ListAccessPoints", e))?;
        let mut aps = Vec::new();
        for ap in out.access_point_list() {
            let name = ap.name().to_owned();
            let (details, policy) = tokio::join!(
                control
                    .get_access_point()
                    .account_id(&self.account_id)
                    .name(&name)
                    .send(),
                control
                    .get_access_point_policy()
                    .account_id(&self.account_id)
                    .name(&name)
                    .send(),
            );
            let details = details.ok();
            let policy = absent_if("GetAccessPointPolicy", policy, &["NoSuchAccessPointPolicy"])
                .ok()
                .flatten()
                .and_then(|p| p.policy)
                .and_then(|text| BucketPolicy::from_text(text).ok());
            aps.push(AccessPointSnapshot {
                name,
                network_origin: ap.network_origin().as_str().to_owned(),
                policy,
                public_access_block: details
                    .and_then(|d| d.public_access_block_configuration)
                    .map(|c| PublicAccessBlock {
                        block_public_acls: c.block_public_acls.unwrap_or(false),
                        ignore_public_acls: c.ignore_public_acls.unwrap_or(false),
                        block_public_policy: c.block_public_policy.unwrap_or(false),
                        restrict_public_buckets: c.restrict_public_buckets.unwrap_or(false),
                    }),
            });
        }
        Ok(aps)
    }
}

/// Each object's ACL and content type, with bounded concurrency; an unreadable part is absent.
async fn read_objects(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    keys: Vec<String>,
) -> Vec<ObjectSnapshot> {
    stream::iter(keys)
        .map(|key| async move {
            let (acl, head) = tokio::join!(
                s3.get_object_acl().bucket(bucket).key(&key).send(),
                s3.head_object().bucket(bucket).key(&key).send(),
            );
            ObjectSnapshot {
                content_type: head.ok().and_then(|h| h.content_type),
                acl: acl.ok().map(|o| acl_from_sdk(o.owner.as_ref(), o.grants())),
                key,
            }
        })
        .buffered(OBJECT_CONCURRENCY)
        .collect()
        .await
}

fn bpa_from_sdk(c: &s3t::PublicAccessBlockConfiguration) -> PublicAccessBlock {
    PublicAccessBlock {
        block_public_acls: c.block_public_acls.unwrap_or(false),
        ignore_public_acls: c.ignore_public_acls.unwrap_or(false),
        block_public_policy: c.block_public_policy.unwrap_or(false),
        restrict_public_buckets: c.restrict_public_buckets.unwrap_or(false),
    }
}

/// The SDK's ACL as a snapshot ACL.
pub fn acl_from_sdk(owner: Option<&s3t::Owner>, grants: &[s3t::Grant]) -> Acl {
    Acl {
        owner: owner.map(|o| crate::snapshot::Owner {
            id: o.id().map(str::to_owned),
            display_name: o.display_name().map(str::to_owned),
        }),
        grants: grants
            .iter()
            .filter_map(|g| {
                let grantee = g.grantee()?;
                Some(Grant {
                    grantee: Grantee {
                        kind: grantee.r#type().as_str().to_owned(),
                        id: grantee.id().map(str::to_owned),
                        uri: grantee.uri().map(str::to_owned),
                        display_name: grantee.display_name().map(str::to_owned),
                        email_address: grantee.email_address().map(str::to_owned),
                    },
                    permission: g.permission()?.as_str().to_owned(),
                })
            })
            .collect(),
    }
}

fn website_json(o: &aws_sdk_s3::operation::get_bucket_website::GetBucketWebsiteOutput) -> Value {
    let mut v = json!({});
    if let Some(i) = o.index_document() {
        v["IndexDocument"] = json!({"Suffix": i.suffix()});
    }
    if let Some(e) = o.error_document() {
        v["ErrorDocument"] = json!({"Key": e.key()});
    }
    if let Some(r) = o.redirect_all_requests_to() {
        v["RedirectAllRequestsTo"] = json!({"HostName": r.host_name()});
    }
    v
}

fn encryption_json(c: &s3t::ServerSideEncryptionConfiguration) -> Value {
    let rules: Vec<Value> = c
        .rules()
        .iter()
        .map(|r| {
            let mut rule = json!({});
            if let Some(d) = r.apply_server_side_encryption_by_default() {
                rule["ApplyServerSideEncryptionByDefault"] = json!({
                    "SSEAlgorithm": d.sse_algorithm().as_str(),
                    "KMSMasterKeyID": d.kms_master_key_id(),
                });
            }
            if let Some(b) = r.bucket_key_enabled() {
                rule["BucketKeyEnabled"] = json!(b);
            }
            rule
        })
        .collect();
    json!({"Rules": rules})
}
