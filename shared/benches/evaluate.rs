#![allow(clippy::expect_used, clippy::unwrap_used)]
//! Evaluate throughput on realistic snapshots, JSON parsing included.
//! Target (issue 3): 100k snapshots/s or better per core.

use bucketward::{evaluate, Snapshot};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use serde_json::json;

const OWNER: &str = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be";

/// A private bucket with a CloudFront OAC statement, a cross-account reader, a TLS-only Deny,
/// BPA on, ACLs disabled: the common case in a sweep.
fn private_cdn_origin() -> String {
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "AllowCloudFrontServicePrincipal", "Effect": "Allow",
             "Principal": {"Service": "cloudfront.amazonaws.com"},
             "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acme-web-origin/*",
             "Condition": {"StringEquals": {"AWS:SourceArn": "arn:aws:cloudfront::123456789012:distribution/EDFDVBD6EXAMPLE"}}},
            {"Sid": "PartnerRead", "Effect": "Allow",
             "Principal": {"AWS": "arn:aws:iam::111122223333:role/partner-reader"},
             "Action": ["s3:GetObject", "s3:ListBucket"],
             "Resource": ["arn:aws:s3:::acme-web-origin", "arn:aws:s3:::acme-web-origin/*"]},
            {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
             "Resource": ["arn:aws:s3:::acme-web-origin", "arn:aws:s3:::acme-web-origin/*"],
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
        ]
    });
    json!({
        "Bucket": "acme-web-origin", "AccountId": "123456789012", "Region": "eu-west-1",
        "Policy": policy.to_string(),
        "Acl": {"Owner": {"ID": OWNER}, "Grants": [{"Grantee": {"Type": "CanonicalUser", "ID": OWNER}, "Permission": "FULL_CONTROL"}]},
        "PublicAccessBlock": {"BlockPublicAcls": true, "IgnorePublicAcls": true, "BlockPublicPolicy": true, "RestrictPublicBuckets": true},
        "AccountPublicAccessBlock": null,
        "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
        "Tags": [{"Key": "team", "Value": "web"}, {"Key": "env", "Value": "prod"}],
        "Encryption": {"ServerSideEncryptionConfiguration": {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}}
    })
    .to_string()
}

/// A legacy bucket: a public-read policy, a public-read ACL, LogDelivery, objects with ACLs.
fn legacy_public() -> String {
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
             "Resource": "arn:aws:s3:::legacy-migration-2017/*"},
            {"Sid": "VpceOnly", "Effect": "Allow", "Principal": "*", "Action": "s3:*",
             "Resource": "arn:aws:s3:::legacy-migration-2017/*",
             "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}}
        ]
    });
    let grant =
        |uri: &str, p: &str| json!({"Grantee": {"Type": "Group", "URI": uri}, "Permission": p});
    json!({
        "Bucket": "legacy-migration-2017", "AccountId": "123456789012", "Region": "us-east-1",
        "Policy": policy.to_string(),
        "Acl": {"Owner": {"ID": OWNER}, "Grants": [
            {"Grantee": {"Type": "CanonicalUser", "ID": OWNER}, "Permission": "FULL_CONTROL"},
            grant("http://acs.amazonaws.com/groups/global/AllUsers", "READ"),
            grant("http://acs.amazonaws.com/groups/s3/LogDelivery", "WRITE"),
            grant("http://acs.amazonaws.com/groups/s3/LogDelivery", "READ_ACP")]},
        "PublicAccessBlock": null, "AccountPublicAccessBlock": null,
        "OwnershipControls": {"Rules": [{"ObjectOwnership": "ObjectWriter"}]},
        "Objects": [
            {"Key": "exports/2017/customers.csv", "ContentType": "text/csv",
             "Acl": {"Owner": {"ID": OWNER}, "Grants": [grant("http://acs.amazonaws.com/groups/global/AllUsers", "READ")]}},
            {"Key": "exports/2017/readme.txt", "ContentType": "text/plain",
             "Acl": {"Owner": {"ID": OWNER}, "Grants": []}}
        ]
    })
    .to_string()
}

/// A bucket with a default-off BPA and no policy: the minimal snapshot.
fn bare() -> String {
    json!({
        "Bucket": "team-scratch", "AccountId": "123456789012", "Region": "us-west-2",
        "Policy": null,
        "Acl": {"Owner": {"ID": OWNER}, "Grants": [{"Grantee": {"Type": "CanonicalUser", "ID": OWNER}, "Permission": "FULL_CONTROL"}]},
        "PublicAccessBlock": null, "AccountPublicAccessBlock": null, "OwnershipControls": null
    })
    .to_string()
}

fn bench(c: &mut Criterion) {
    let corpus = [
        ("private_cdn_origin", private_cdn_origin()),
        ("legacy_public", legacy_public()),
        ("bare", bare()),
    ];
    let mut group = c.benchmark_group("parse_and_evaluate");
    for (name, text) in &corpus {
        group.throughput(Throughput::Elements(1));
        group.bench_function(*name, |b| {
            b.iter(|| {
                let snapshot = Snapshot::from_json(black_box(text)).expect("bench snapshot parses");
                black_box(evaluate(&snapshot))
            });
        });
    }
    group.finish();

    let parsed: Vec<Snapshot> = corpus
        .iter()
        .map(|(_, t)| Snapshot::from_json(t).expect("bench snapshot parses"))
        .collect();
    let mut group = c.benchmark_group("evaluate_only");
    group.throughput(Throughput::Elements(parsed.len() as u64));
    group.bench_function("mix", |b| {
        b.iter(|| {
            for s in &parsed {
                black_box(evaluate(black_box(s)));
            }
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
