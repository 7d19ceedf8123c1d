//! Remediation under faults, injected by a proxy in front of the emulator: 503 SlowDown is
//! retried with backoff; AccessDenied on one step names the missing IAM action, stops there,
//! and leaves the bucket no more exposed than before (the steps before it stay applied).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use aws_sdk_s3::types::ObjectOwnership;
use bucketward::action::Outcome;
use bucketward::aws::remediate::{RemediateOptions, Remediator};
use bucketward::aws::s3::{SnapshotOptions, SnapshotReader};
use bucketward::aws::{ClientOptions, Clients};
use bucketward::evaluate;
use bucketward::store::MemoryActionStore;
use bucketward_tests::proxy::{proxy, s3_error};
use bucketward_tests::{scenario, Emulator, ACCOUNT_ID, REGION};

#[tokio::test]
async fn slowdown_is_retried_and_access_denied_names_the_missing_action() {
    let emu = Emulator::connect().await;
    let s3 = &emu.clients.s3;
    let bucket = emu.create_bucket("bw-faults").await;
    scenario::set_ownership(s3, &bucket, ObjectOwnership::ObjectWriter).await;
    let policy = scenario::mixed_policy(&bucket);
    s3.put_bucket_policy()
        .bucket(&bucket)
        .policy(&policy)
        .send()
        .await
        .expect("policy");
    scenario::put_legacy_acl(s3, &bucket, false).await;

    // The first two PutBucketPolicy attempts are throttled; every PutBucketAcl is denied.
    let throttled = Arc::new(AtomicU32::new(0));
    let counter = throttled.clone();
    // Path-style requests: `PUT /BUCKET/?policy HTTP/1.1`.
    let target = format!("/{bucket}/?policy");
    let acl = format!("/{bucket}/?acl");
    let endpoint = proxy(
        &emu.endpoint,
        false,
        Arc::new(move |line: &str| {
            if line.starts_with("PUT ")
                && line.contains(&target)
                && counter.fetch_add(1, Ordering::SeqCst) < 2
            {
                return Some(s3_error(
                    "503 Slow Down",
                    "SlowDown",
                    "Please reduce your request rate.",
                ));
            }
            if line.starts_with("PUT ") && line.contains(&acl) {
                return Some(s3_error("403 Forbidden", "AccessDenied", "Access Denied"));
            }
            None
        }),
    )
    .await;
    let clients = Clients::load(&ClientOptions {
        endpoint_url: Some(endpoint),
        region: Some(REGION.to_owned()),
    })
    .await;
    let remediator = Remediator::new(SnapshotReader::new(clients, ACCOUNT_ID));
    let record = remediator
        .remediate(
            &bucket,
            &RemediateOptions::default(),
            &MemoryActionStore::default(),
        )
        .await
        .expect("remediate");

    assert!(
        throttled.load(Ordering::SeqCst) >= 3,
        "SlowDown was retried until the write went through"
    );
    assert_eq!(record.outcome, Outcome::Failed, "{record:#?}");
    let failure = record
        .failure
        .as_ref()
        .expect("the failed step is reported");
    assert_eq!(failure.code, "AccessDenied");
    assert_eq!(
        failure.missing_permission.as_deref(),
        Some("s3:PutBucketAcl")
    );
    assert_eq!(
        record.applied.len(),
        2,
        "BPA and the policy were applied before the ACL step: {:?}",
        record.applied
    );

    // Never worse than before: BPA on, the public statement gone, nothing else changed.
    let after = SnapshotReader::new(emu.clients.clone(), ACCOUNT_ID)
        .snapshot(&bucket, None, SnapshotOptions::default())
        .await;
    assert!(after.public_access_block.expect("bpa").all_on());
    assert!(!after
        .policy
        .as_ref()
        .expect("policy")
        .text
        .contains("PublicRead"));
    let before = record
        .verdict_before
        .exposure
        .union(record.verdict_before.latent);
    let now = evaluate(&after);
    assert!(
        !now.public,
        "IgnorePublicAcls neutralises the ACL that could not be fixed"
    );
    assert!(!now.exposure.beyond(before).any());
}
