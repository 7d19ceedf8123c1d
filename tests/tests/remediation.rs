//! Surgical remediation, verification, idempotency and rollback against the emulator.

use aws_sdk_s3::types::ObjectOwnership;
use bucketward::action::Outcome;
use bucketward::aws::remediate::{RemediateOptions, Remediator};
use bucketward::aws::s3::{ObjectSampling, SnapshotOptions, SnapshotReader};
use bucketward::plan::{Change, PlanOptions};
use bucketward::store::{ActionStore, MemoryActionStore};
use bucketward::{evaluate, Snapshot};
use bucketward_tests::scenario::{self, ALL_USERS, LOG_DELIVERY, PARTNER_CANONICAL_ID};
use bucketward_tests::{Emulator, ACCOUNT_ID};
use serde_json::Value;

fn remediator(emu: &Emulator) -> Remediator {
    Remediator::new(SnapshotReader::new(emu.clients.clone(), ACCOUNT_ID))
}

fn statements(text: &str) -> Vec<Value> {
    let v: Value = serde_json::from_str(text).expect("policy json");
    v["Statement"].as_array().expect("statement list").clone()
}

async fn read(emu: &Emulator, bucket: &str) -> Snapshot {
    SnapshotReader::new(emu.clients.clone(), ACCOUNT_ID)
        .snapshot(bucket, None, SnapshotOptions::default())
        .await
}

async fn legacy_bucket(emu: &Emulator, prefix: &str) -> (String, String) {
    let s3 = &emu.clients.s3;
    let bucket = emu.create_bucket(prefix).await;
    scenario::set_ownership(s3, &bucket, ObjectOwnership::ObjectWriter).await;
    let policy = scenario::mixed_policy(&bucket);
    s3.put_bucket_policy()
        .bucket(&bucket)
        .policy(&policy)
        .send()
        .await
        .expect("policy");
    scenario::put_legacy_acl(s3, &bucket, true).await;
    (bucket, policy)
}

#[tokio::test]
async fn remediation_removes_only_public_access_and_rollback_restores_it_exactly() {
    let emu = Emulator::connect().await;
    let (bucket, original_policy) = legacy_bucket(&emu, "bw-legacy").await;
    let store = MemoryActionStore::default();
    let r = remediator(&emu);

    let record = r
        .remediate(&bucket, &RemediateOptions::default(), &store)
        .await
        .expect("remediate");
    assert_eq!(record.outcome, Outcome::Fixed, "{record:#?}");
    assert!(record.lost.is_empty());
    assert_eq!(
        record.applied.len(),
        3,
        "BPA, policy, ACL: {:?}",
        record.applied
    );
    assert!(
        matches!(record.plan.steps[0].change, Change::PutBucketBpa { .. }),
        "BPA goes first"
    );
    // The backup holds the policy byte for byte.
    assert_eq!(
        record.before.policy_text.as_deref(),
        Some(original_policy.as_str())
    );

    let after = read(&emu, &bucket).await;
    assert!(!evaluate(&after).public);
    assert!(after.public_access_block.expect("bpa").all_on());
    // The cross-account statement and the Deny survive unchanged, in order; the public one is gone.
    let before = statements(&original_policy);
    let now = statements(&after.policy.as_ref().expect("policy kept").text);
    assert_eq!(now, vec![before[1].clone(), before[2].clone()]);
    // LogDelivery and the partner grant survive; AllUsers is gone.
    let grants = &after.acl.as_ref().expect("acl").grants;
    assert!(grants
        .iter()
        .all(|g| g.grantee.uri.as_deref() != Some(ALL_USERS)));
    assert_eq!(
        grants
            .iter()
            .filter(|g| g.grantee.uri.as_deref() == Some(LOG_DELIVERY))
            .count(),
        2
    );
    assert!(grants
        .iter()
        .any(|g| g.grantee.id.as_deref() == Some(PARTNER_CANONICAL_ID)));

    // Idempotent: a second run changes nothing.
    let again = r
        .remediate(&bucket, &RemediateOptions::default(), &store)
        .await
        .expect("again");
    assert_eq!(again.outcome, Outcome::NothingToDo);
    assert!(again.applied.is_empty());

    // Rollback restores the exact pre-change state.
    let report = r
        .rollback(&record.action_id, &store)
        .await
        .expect("rollback");
    assert!(report.differences.is_empty(), "{:?}", report.differences);
    let restored = read(&emu, &bucket).await;
    assert_eq!(
        restored.policy.as_ref().map(|p| p.text.as_str()),
        Some(original_policy.as_str())
    );
    assert!(restored.public_access_block.is_none());
    assert!(evaluate(&restored).public);
}

#[tokio::test]
async fn dry_run_changes_nothing() {
    let emu = Emulator::connect().await;
    let (bucket, original_policy) = legacy_bucket(&emu, "bw-dry").await;
    let store = MemoryActionStore::default();
    let options = RemediateOptions {
        dry_run: true,
        ..RemediateOptions::default()
    };
    let record = remediator(&emu)
        .remediate(&bucket, &options, &store)
        .await
        .expect("dry run");
    assert_eq!(record.outcome, Outcome::DryRun);
    assert!(!record.plan.is_empty());
    assert!(store.load(&record.action_id).await.expect("load").is_none());
    let after = read(&emu, &bucket).await;
    assert_eq!(after.policy.map(|p| p.text), Some(original_policy));
    assert!(after.public_access_block.is_none());
}

#[tokio::test]
async fn a_policy_changed_between_read_and_write_is_replanned() {
    let emu = Emulator::connect().await;
    let s3 = &emu.clients.s3;
    let (bucket, _) = legacy_bucket(&emu, "bw-race").await;
    let stale = SnapshotReader::new(emu.clients.clone(), ACCOUNT_ID)
        .snapshot(&bucket, None, SnapshotOptions::default())
        .await;
    // Someone adds a second public statement after our read.
    let newer = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"PublicList","Effect":"Allow","Principal":{{"AWS":"*"}},"Action":"s3:ListBucket","Resource":"arn:aws:s3:::{bucket}"}},{{"Sid":"Ops","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::123456789012:role/ops"}},"Action":"s3:*","Resource":"arn:aws:s3:::{bucket}/*"}}]}}"#
    );
    s3.put_bucket_policy()
        .bucket(&bucket)
        .policy(&newer)
        .send()
        .await
        .expect("policy");
    let store = MemoryActionStore::default();
    let record = remediator(&emu)
        .remediate_snapshot(
            stale,
            &RemediateOptions::default(),
            bucketward::action::Trigger::Manual.into(),
            &store,
        )
        .await
        .expect("remediate");
    assert!(record.replanned);
    assert_eq!(record.outcome, Outcome::Fixed, "{record:#?}");
    let after = read(&emu, &bucket).await;
    let now = statements(&after.policy.expect("policy").text);
    assert_eq!(now.len(), 1);
    assert_eq!(now[0]["Sid"], "Ops");
}

#[tokio::test]
async fn a_deleted_bucket_is_gone_not_an_error() {
    let emu = Emulator::connect().await;
    let bucket = emu.create_bucket("bw-vanish").await;
    emu.clients
        .s3
        .delete_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("delete");
    let record = remediator(&emu)
        .remediate(
            &bucket,
            &RemediateOptions::default(),
            &MemoryActionStore::default(),
        )
        .await
        .expect("remediate");
    assert_eq!(record.outcome, Outcome::Gone);
}

#[tokio::test]
async fn ownership_is_enforced_only_when_no_legitimate_grant_is_lost() {
    let emu = Emulator::connect().await;
    let (bucket, _) = legacy_bucket(&emu, "bw-own").await;
    let options = RemediateOptions {
        plan: PlanOptions {
            enforce_ownership: true,
            ..PlanOptions::default()
        },
        ..RemediateOptions::default()
    };
    let record = remediator(&emu)
        .remediate(&bucket, &options, &MemoryActionStore::default())
        .await
        .expect("remediate");
    assert_eq!(record.outcome, Outcome::Fixed, "{record:#?}");
    assert!(record
        .plan
        .steps
        .iter()
        .all(|s| !matches!(s.change, Change::PutOwnership { .. })));
    assert!(
        record
            .plan
            .notes
            .iter()
            .any(|n| n.contains("ownership left as it is")),
        "{:?}",
        record.plan.notes
    );

    // With only the owner left, ownership is enforced.
    let s3 = &emu.clients.s3;
    let plain = emu.create_bucket("bw-own-plain").await;
    scenario::set_ownership(s3, &plain, ObjectOwnership::ObjectWriter).await;
    s3.put_bucket_acl()
        .bucket(&plain)
        .acl(aws_sdk_s3::types::BucketCannedAcl::PublicRead)
        .send()
        .await
        .expect("canned acl");
    let record = remediator(&emu)
        .remediate(&plain, &options, &MemoryActionStore::default())
        .await
        .expect("remediate");
    assert_eq!(record.outcome, Outcome::Fixed, "{record:#?}");
    let after = read(&emu, &plain).await;
    assert!(after.acls_disabled());
}

#[tokio::test]
async fn object_acls_are_fixed_in_resumable_batches() {
    let emu = Emulator::connect().await;
    let s3 = &emu.clients.s3;
    let bucket = emu.create_bucket("bw-objects").await;
    scenario::set_ownership(s3, &bucket, ObjectOwnership::ObjectWriter).await;
    for i in 0..12 {
        scenario::put_object(
            s3,
            &bucket,
            &format!("exports/{i:02}.csv"),
            "text/csv",
            i % 2 == 0,
        )
        .await;
    }
    let options = RemediateOptions {
        snapshot: SnapshotOptions {
            objects: ObjectSampling::First(4),
            access_points: false,
            lean: false,
        },
        object_budget: Some(5),
        ..RemediateOptions::default()
    };
    let r = remediator(&emu);
    let record = r
        .remediate(&bucket, &options, &MemoryActionStore::default())
        .await
        .expect("remediate");
    let progress = record.object_acls.clone().expect("object ACL step ran");
    assert_eq!(progress.scanned, 5);
    assert_eq!(progress.fixed, 3, "00, 02, 04 are public");
    let resume = progress.resume_after.clone().expect("a resume point");
    assert_eq!(resume, "exports/04.csv");

    // Resume from the checkpoint: the rest is fixed.
    let rest = r
        .fix_object_acls(s3, &bucket, Some(resume), None)
        .await
        .expect("resume");
    assert_eq!(rest.scanned, 7);
    assert_eq!(rest.fixed, 3, "06, 08, 10");
    assert!(rest.resume_after.is_none());
    let all = SnapshotReader::new(emu.clients.clone(), ACCOUNT_ID)
        .snapshot(
            &bucket,
            None,
            SnapshotOptions {
                objects: ObjectSampling::All,
                access_points: false,
                lean: false,
            },
        )
        .await;
    assert_eq!(all.objects.len(), 12);
    assert!(all.objects.iter().all(|o| o
        .acl
        .as_ref()
        .is_some_and(|a| a.grants.iter().all(|g| !g.grantee.is_public()))));
}
