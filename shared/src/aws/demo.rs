//! The demo account: the four ways buckets go public, next to buckets that must be left alone.
//! Used by `bucketward demo` and checked by a test.

use aws_sdk_s3::types::{
    BucketCannedAcl, IndexDocument, ObjectCannedAcl, ObjectOwnership, OwnershipControls,
    OwnershipControlsRule, PublicAccessBlockConfiguration, Tag, Tagging, WebsiteConfiguration,
};

use super::error::{aws_error, build_error, AwsError};

/// A bucket of the demo account and what should become of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoBucket {
    pub name: &'static str,
    pub story: &'static str,
    /// Whether bucketward should fix it (false: intended public, or private).
    pub should_fix: bool,
    /// Whether it is public when the demo starts.
    pub public_at_start: bool,
}

pub const DEV_PROMOTED: &str = "acme-dev-reports-prod";
pub const INTEGRATION: &str = "acme-partner-integration";
pub const CDN: &str = "acme-cdn-assets";
pub const WEBSITE: &str = "www.acme-example.com";
pub const CUSTOMER_DATA: &str = "acme-customer-data-backup";
pub const LEGACY: &str = "acme-legacy-migration-2017";
pub const PRIVATE_CROSS_ACCOUNT: &str = "acme-analytics-private";
pub const PRIVATE_PLAIN: &str = "acme-terraform-state";
/// Made public later, with no event: the sweep must catch it.
pub const SILENT: &str = "acme-ml-training-data";

pub const BUCKETS: &[DemoBucket] = &[
    DemoBucket { name: DEV_PROMOTED, story: "a dev bucket promoted to production with a public-read policy", should_fix: true, public_at_start: true },
    DemoBucket { name: INTEGRATION, story: "a third-party integration bucket: an over-broad cross-account policy plus a public statement", should_fix: true, public_at_start: true },
    DemoBucket { name: CDN, story: "CDN assets, meant to be public", should_fix: false, public_at_start: true },
    DemoBucket { name: WEBSITE, story: "a static website, meant to be public", should_fix: false, public_at_start: true },
    DemoBucket { name: CUSTOMER_DATA, story: "customer data that copied the CDN's public-read pattern", should_fix: true, public_at_start: true },
    DemoBucket { name: LEGACY, story: "a legacy migration with public-read ACLs on the bucket and its objects", should_fix: true, public_at_start: true },
    DemoBucket { name: PRIVATE_CROSS_ACCOUNT, story: "private, with cross-account and CloudFront OAC statements", should_fix: false, public_at_start: false },
    DemoBucket { name: PRIVATE_PLAIN, story: "private, BPA on", should_fix: false, public_at_start: false },
    DemoBucket { name: SILENT, story: "private now; made public later with no event delivered", should_fix: true, public_at_start: false },
];

fn public_read(bucket: &str, sid: &str) -> String {
    format!(
        r#"{{"Sid":"{sid}","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::{bucket}/*"}}"#
    )
}

fn policy(statements: &[String]) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
        statements.join(",")
    )
}

/// A public-read policy, as a copy-paste from a tutorial would have it.
pub fn public_read_policy(bucket: &str) -> String {
    policy(&[public_read(bucket, "PublicRead")])
}

/// Builds the demo account. Idempotent enough to run twice (an existing bucket is reused).
pub async fn build_account(s3: &aws_sdk_s3::Client, account_id: &str) -> Result<(), AwsError> {
    for b in BUCKETS {
        match s3.create_bucket().bucket(b.name).send().await {
            Ok(_) => {}
            Err(e)
                if matches!(
                    super::error::error_code(&e).as_str(),
                    "BucketAlreadyOwnedByYou" | "BucketAlreadyExists"
                ) => {}
            Err(e) => return Err(aws_error("CreateBucket", e)),
        }
        ownership(s3, b.name, ObjectOwnership::ObjectWriter).await?;
    }
    let put_policy = |bucket: &'static str, text: String| async move {
        s3.put_bucket_policy()
            .bucket(bucket)
            .policy(text)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_error("PutBucketPolicy", e))
    };
    put_policy(DEV_PROMOTED, public_read_policy(DEV_PROMOTED)).await?;
    put_policy(
        INTEGRATION,
        policy(&[
            format!(r#"{{"Sid":"PartnerFullAccess","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::444455556666:root"}},"Action":"s3:*","Resource":["arn:aws:s3:::{INTEGRATION}","arn:aws:s3:::{INTEGRATION}/*"]}}"#),
            format!(r#"{{"Sid":"DebugAnyone","Effect":"Allow","Principal":{{"AWS":["arn:aws:iam::444455556666:role/sync","*"]}},"Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::{INTEGRATION}","arn:aws:s3:::{INTEGRATION}/*"]}}"#),
        ]),
    )
    .await?;
    put_policy(CDN, public_read_policy(CDN)).await?;
    put_policy(WEBSITE, public_read_policy(WEBSITE)).await?;
    put_policy(CUSTOMER_DATA, public_read_policy(CUSTOMER_DATA)).await?;
    put_policy(
        PRIVATE_CROSS_ACCOUNT,
        policy(&[
            format!(r#"{{"Sid":"AllowCloudFrontServicePrincipal","Effect":"Allow","Principal":{{"Service":"cloudfront.amazonaws.com"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::{PRIVATE_CROSS_ACCOUNT}/*","Condition":{{"StringEquals":{{"AWS:SourceArn":"arn:aws:cloudfront::{account_id}:distribution/E2QWRUHAPOMQZL"}}}}}}"#),
            format!(r#"{{"Sid":"AnalyticsAccountRead","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::777788889999:role/analytics"}},"Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::{PRIVATE_CROSS_ACCOUNT}","arn:aws:s3:::{PRIVATE_CROSS_ACCOUNT}/*"]}}"#),
            format!(r#"{{"Sid":"DenyInsecureTransport","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::{PRIVATE_CROSS_ACCOUNT}","arn:aws:s3:::{PRIVATE_CROSS_ACCOUNT}/*"],"Condition":{{"Bool":{{"aws:SecureTransport":"false"}}}}}}"#),
        ]),
    )
    .await?;
    for private in [PRIVATE_CROSS_ACCOUNT, PRIVATE_PLAIN, SILENT] {
        s3.put_public_access_block()
            .bucket(private)
            .public_access_block_configuration(
                PublicAccessBlockConfiguration::builder()
                    .block_public_acls(true)
                    .ignore_public_acls(true)
                    .block_public_policy(true)
                    .restrict_public_buckets(true)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| aws_error("PutPublicAccessBlock", e))?;
    }
    // The website: hosting configuration, web content, tags.
    s3.put_bucket_website()
        .bucket(WEBSITE)
        .website_configuration(
            WebsiteConfiguration::builder()
                .index_document(
                    IndexDocument::builder()
                        .suffix("index.html")
                        .build()
                        .map_err(|e| build_error("PutBucketWebsite", e))?,
                )
                .build(),
        )
        .send()
        .await
        .map_err(|e| aws_error("PutBucketWebsite", e))?;
    tag(
        s3,
        CDN,
        &[
            ("team", "web-platform"),
            ("bucketward:intent", "public-content"),
        ],
    )
    .await?;
    tag(s3, WEBSITE, &[("team", "marketing")]).await?;
    tag(
        s3,
        CUSTOMER_DATA,
        &[("team", "billing"), ("data-classification", "confidential")],
    )
    .await?;
    for (bucket, key, ct) in [
        (CDN, "img/logo.png", "image/png"),
        (CDN, "css/site.css", "text/css"),
        (CDN, "js/app.js", "application/javascript"),
        (WEBSITE, "index.html", "text/html"),
        (WEBSITE, "about.html", "text/html"),
        (CUSTOMER_DATA, "exports/customers-2024.csv", "text/csv"),
        (CUSTOMER_DATA, "dumps/billing.sql", "application/sql"),
        (DEV_PROMOTED, "reports/q3.csv", "text/csv"),
        (
            SILENT,
            "datasets/train.parquet",
            "application/vnd.apache.parquet",
        ),
    ] {
        s3.put_object()
            .bucket(bucket)
            .key(key)
            .content_type(ct)
            .body(format!("demo {key}").into_bytes().into())
            .send()
            .await
            .map_err(|e| aws_error("PutObject", e))?;
    }
    // The legacy bucket: public-read on the bucket and on its objects.
    s3.put_bucket_acl()
        .bucket(LEGACY)
        .acl(BucketCannedAcl::PublicRead)
        .send()
        .await
        .map_err(|e| aws_error("PutBucketAcl", e))?;
    for key in [
        "2017/export-01.csv",
        "2017/export-02.csv",
        "2017/readme.txt",
    ] {
        s3.put_object()
            .bucket(LEGACY)
            .key(key)
            .content_type("text/csv")
            .acl(ObjectCannedAcl::PublicRead)
            .body(format!("legacy {key}").into_bytes().into())
            .send()
            .await
            .map_err(|e| aws_error("PutObject", e))?;
    }
    Ok(())
}

/// The change no event reports: the silent bucket loses its BPA and gets a public policy.
pub async fn silent_change(s3: &aws_sdk_s3::Client) -> Result<(), AwsError> {
    s3.delete_public_access_block()
        .bucket(SILENT)
        .send()
        .await
        .map_err(|e| aws_error("DeletePublicAccessBlock", e))?;
    s3.put_bucket_policy()
        .bucket(SILENT)
        .policy(public_read_policy(SILENT))
        .send()
        .await
        .map_err(|e| aws_error("PutBucketPolicy", e))?;
    Ok(())
}

async fn ownership(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    o: ObjectOwnership,
) -> Result<(), AwsError> {
    let rule = OwnershipControlsRule::builder()
        .object_ownership(o)
        .build()
        .map_err(|e| build_error("PutBucketOwnershipControls", e))?;
    let controls = OwnershipControls::builder()
        .rules(rule)
        .build()
        .map_err(|e| build_error("PutBucketOwnershipControls", e))?;
    s3.put_bucket_ownership_controls()
        .bucket(bucket)
        .ownership_controls(controls)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| aws_error("PutBucketOwnershipControls", e))
}

async fn tag(s3: &aws_sdk_s3::Client, bucket: &str, tags: &[(&str, &str)]) -> Result<(), AwsError> {
    let mut set = Vec::new();
    for (k, v) in tags {
        set.push(
            Tag::builder()
                .key(*k)
                .value(*v)
                .build()
                .map_err(|e| build_error("PutBucketTagging", e))?,
        );
    }
    s3.put_bucket_tagging()
        .bucket(bucket)
        .tagging(
            Tagging::builder()
                .set_tag_set(Some(set))
                .build()
                .map_err(|e| build_error("PutBucketTagging", e))?,
        )
        .send()
        .await
        .map(|_| ())
        .map_err(|e| aws_error("PutBucketTagging", e))
}
