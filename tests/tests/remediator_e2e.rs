//! End to end: an S3 change, its CloudTrail event through the deployed EventBridge pattern to
//! SQS, then the real remediator binary through the Lambda Runtime API. The bucket is fixed, the
//! record is in DynamoDB, the notification reaches an SQS subscription, and a replay is a no-op.

use std::time::Duration;

use bucketward::aws::dynamo::DynamoActionStore;
use bucketward::aws::s3::{SnapshotOptions, SnapshotReader};
use bucketward::evaluate;
use bucketward::store::ActionStore;
use bucketward_tests::infra::{cloudtrail_event, Infra, RuleToQueue};
use bucketward_tests::lambda::LambdaProcess;
use bucketward_tests::scenario;
use bucketward_tests::{template_event_pattern, Emulator, ACCOUNT_ID};
use serde_json::{json, Value};

#[tokio::test]
async fn a_public_policy_event_is_fixed_by_the_remediator_binary() {
    let emu = Emulator::connect().await;
    let infra = Infra::create(&emu, "e2e").await;
    let rule = RuleToQueue::create(&emu, "e2e", &template_event_pattern()).await;

    // 1. Make a bucket public with the real SDK.
    let bucket = emu.create_bucket("bw-e2e").await;
    let policy = scenario::mixed_policy(&bucket);
    emu.clients
        .s3
        .put_bucket_policy()
        .bucket(&bucket)
        .policy(&policy)
        .send()
        .await
        .expect("policy");

    // 2-4. Build the CloudTrail event, route it through the template's rule, receive it.
    let event = cloudtrail_event("put_bucket_policy.json", &bucket);
    let event_id = event["detail"]["eventID"].as_str().expect("id").to_owned();
    rule.put(&event).await;
    let delivered = rule
        .delivered(std::slice::from_ref(&event_id), Duration::from_secs(3))
        .await;
    assert_eq!(
        delivered.len(),
        1,
        "the template's pattern routes the event"
    );

    // 5. Invoke the real binary.
    let mut lambda = LambdaProcess::spawn("remediator", &infra.lambda_env("autopilot")).await;
    let response = lambda
        .invoke(delivered[0].clone())
        .await
        .expect("handler succeeded");
    assert_eq!(response["status"], "bucket", "{response}");
    let result = &response["result"];
    assert_eq!(result["outcome"], "fixed", "{response}");
    assert!(result["detection_latency_ms"].as_i64().is_some());
    assert!(result["remediation_latency_ms"].as_i64().is_some());

    // 6. Fixed, recorded, notified, measured.
    let reader = SnapshotReader::new(emu.clients.clone(), ACCOUNT_ID);
    let after = reader
        .snapshot(&bucket, None, SnapshotOptions::default())
        .await;
    assert!(!evaluate(&after).public);
    assert!(after.public_access_block.expect("bpa").all_on());
    let action_id = result["action_id"].as_str().expect("action id");
    let store = DynamoActionStore::new(emu.clients.dynamodb.clone(), &infra.audit_table);
    let record = store
        .load(action_id)
        .await
        .expect("load")
        .expect("record in DynamoDB");
    assert_eq!(record.before.policy_text.as_deref(), Some(policy.as_str()));
    assert_eq!(
        record.trigger.event_time().map(|t| t.timestamp()),
        Some(
            chrono::DateTime::parse_from_rfc3339(
                event["detail"]["eventTime"].as_str().expect("time")
            )
            .expect("time")
            .timestamp()
        )
    );
    // The detection (with the backup) and the action are on the audit chain, which verifies.
    let chain = bucketward::audit::DynamoAuditLog::new(
        emu.clients.dynamodb.clone(),
        &infra.audit_table,
        ACCOUNT_ID,
        bucketward::audit::parse_audit_key(bucketward_tests::infra::AUDIT_KEY).expect("key"),
    );
    let entries = chain.verified_entries().await.expect("the chain verifies");
    let kinds: Vec<&str> = entries.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, vec!["detection", "action"]);
    assert_eq!(entries[1].event_id.as_deref(), Some(event_id.as_str()));
    let notes = infra.notifications(Duration::from_secs(2)).await;
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].0.contains(&bucket),
        "subject names the bucket: {}",
        notes[0].0
    );
    assert_eq!(notes[0].1["action_id"], action_id);
    assert!(
        notes[0].1["summary"]
            .as_str()
            .expect("summary")
            .contains("PublicRead")
            || !record.applied.is_empty()
    );
    let emf: Vec<Value> = lambda
        .stdout()
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("_aws").is_some())
        .collect();
    assert!(
        emf.iter()
            .any(|v| v["DetectionLatency"].is_number() && v["RemediationLatency"].is_number()),
        "{emf:?}"
    );

    // A replay of the same event changes nothing.
    let replay = lambda
        .invoke(delivered[0].clone())
        .await
        .expect("replay handled");
    assert_eq!(replay["status"], "duplicate", "{replay}");
    // The remediator's own change (PutBucketPublicAccessBlock) ends in a no-op re-evaluation.
    let own = cloudtrail_event("put_bucket_public_access_block.json", &bucket);
    let own_result = lambda.invoke(own).await.expect("own change handled");
    assert_eq!(
        own_result["result"]["decision"]["decision"], "no_action",
        "{own_result}"
    );
    let again = reader
        .snapshot(&bucket, None, SnapshotOptions::default())
        .await;
    assert_eq!(again.policy.map(|p| p.text), after.policy.map(|p| p.text));
    assert!(
        infra.notifications(Duration::from_secs(1)).await.is_empty(),
        "no second notification"
    );

    // A malformed event is rejected once, not retried.
    let rejected = lambda.invoke(json!({"source": "aws.s3", "detail-type": "AWS API Call via CloudTrail", "detail": {"eventName": "PutBucketPolicy"}})).await;
    let rejected = rejected.expect("a rejection is a response, not an error");
    assert_eq!(rejected["status"], "rejected");
    assert!(rejected["error"]
        .as_str()
        .expect("error")
        .contains("eventID"));
    lambda.stop().await;
}

#[tokio::test]
async fn the_template_pattern_matches_every_sample_event_and_drops_failed_calls() {
    let emu = Emulator::connect().await;
    let rule = RuleToQueue::create(&emu, "pattern", &template_event_pattern()).await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/events");
    let mut expected = Vec::new();
    let mut dropped = Vec::new();
    for entry in std::fs::read_dir(dir).expect("events") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        let event = cloudtrail_event(&name, "pattern-bucket");
        let id = event["detail"]["eventID"].as_str().expect("id").to_owned();
        if name.starts_with("failed_") {
            dropped.push(id)
        } else {
            expected.push(id)
        }
        rule.put(&event).await;
    }
    let mut all = expected.clone();
    all.extend(dropped.iter().cloned());
    let delivered = rule.delivered(&all, Duration::from_secs(3)).await;
    let ids: Vec<&str> = delivered
        .iter()
        .filter_map(|e| e["detail"]["eventID"].as_str())
        .collect();
    for id in &expected {
        assert!(ids.contains(&id.as_str()), "event {id} was not delivered");
    }
    for id in &dropped {
        assert!(
            !ids.contains(&id.as_str()),
            "failed call {id} was delivered"
        );
    }
    assert!(expected.len() >= 14);
    // The template's pattern is the reference pattern.
    let reference: Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fixtures/event-pattern.reference.json"),
        )
        .expect("reference"),
    )
    .expect("json");
    assert_eq!(template_event_pattern(), reference);
}
