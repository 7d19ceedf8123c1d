//! Exceptions against the emulator: an intended public bucket within its allowance is left
//! alone; one beyond it is fixed down to the allowance; an expired exception no longer applies.

use bucketward::action::Outcome;
use bucketward::action::Trigger;
use bucketward::aws::dynamo::{ensure_table, DynamoExceptionStore};
use bucketward::aws::remediate::Remediator;
use bucketward::aws::s3::{SnapshotOptions, SnapshotReader};
use bucketward::decide::{CategoryModes, DecideConfig, Mode};
use bucketward::evaluate;
use bucketward::exception::Exception;
use bucketward::notify::MemoryNotifier;
use bucketward::pipeline::{Pipeline, PipelineConfig};
use bucketward::store::{MemoryActionStore, MemoryDedupe};
use bucketward_tests::{Emulator, ACCOUNT_ID};
use chrono::{Duration, Utc};

fn exception(bucket: &str, allows: &[&str], days: i64) -> Exception {
    Exception {
        bucket: bucket.to_owned(),
        allows: allows.iter().map(|s| (*s).to_owned()).collect(),
        reason: "CDN origin for the marketing site".to_owned(),
        owner: "web-platform".to_owned(),
        approved_by: "alice@example.com".to_owned(),
        created_at: Utc::now() - Duration::days(30),
        expires_at: Utc::now() + Duration::days(days),
    }
}

fn pipeline(
    emu: &Emulator,
    exceptions: Vec<Exception>,
) -> Pipeline<MemoryActionStore, MemoryDedupe, MemoryNotifier> {
    Pipeline {
        remediator: Remediator::new(SnapshotReader::new(emu.clients.clone(), ACCOUNT_ID)),
        store: MemoryActionStore::default(),
        dedupe: MemoryDedupe::default(),
        notifier: MemoryNotifier::default(),
        config: PipelineConfig {
            decide: DecideConfig {
                modes: CategoryModes::all(Mode::Autopilot),
                harden_missing_bpa: false,
            },
            ..PipelineConfig::default()
        },
        exceptions,
        approval_links: None,
        git: None,
    }
}

async fn cdn_bucket(emu: &Emulator, prefix: &str, with_write: bool) -> String {
    let bucket = emu.create_bucket(prefix).await;
    let mut statements = vec![format!(
        r#"{{"Sid":"PublicRead","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::{bucket}/*"}}"#
    )];
    if with_write {
        statements.push(format!(
            r#"{{"Sid":"PublicUpload","Effect":"Allow","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::{bucket}/uploads/*"}}"#
        ));
    }
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
        statements.join(",")
    );
    emu.clients
        .s3
        .put_bucket_policy()
        .bucket(&bucket)
        .policy(policy)
        .send()
        .await
        .expect("policy");
    bucket
}

#[tokio::test]
async fn an_excepted_bucket_within_its_allowance_is_left_alone() {
    let emu = Emulator::connect().await;
    let bucket = cdn_bucket(&emu, "cdn-assets", false).await;
    let p = pipeline(&emu, vec![exception("cdn-assets-*", &["read"], 60)]);
    let outcome = p
        .process_bucket(&bucket, None, None, Trigger::Sweep)
        .await
        .expect("processed");
    assert!(outcome.public);
    assert!(outcome.decision.is_excepted(), "{:?}", outcome.decision);
    assert!(outcome.action_id.is_none());
    let after = SnapshotReader::new(emu.clients.clone(), ACCOUNT_ID)
        .snapshot(&bucket, None, SnapshotOptions::default())
        .await;
    assert!(evaluate(&after).exposure.read, "still public-read");
    assert!(after.public_access_block.is_none(), "BPA untouched");
}

#[tokio::test]
async fn exposure_beyond_the_exception_is_fixed_down_to_the_allowance() {
    let emu = Emulator::connect().await;
    let bucket = cdn_bucket(&emu, "cdn-uploads", true).await;
    let p = pipeline(&emu, vec![exception(&bucket, &["read"], 60)]);
    let outcome = p
        .process_bucket(&bucket, None, None, Trigger::Sweep)
        .await
        .expect("processed");
    assert_eq!(outcome.outcome, Some(Outcome::Fixed), "{outcome:?}");
    assert!(outcome
        .exception
        .as_deref()
        .is_some_and(|e| e.contains("allows read")));
    let after = SnapshotReader::new(emu.clients.clone(), ACCOUNT_ID)
        .snapshot(&bucket, None, SnapshotOptions::default())
        .await;
    let verdict = evaluate(&after);
    assert!(
        verdict.exposure.read && !verdict.exposure.write,
        "{:?}",
        verdict.exposure
    );
    let text = after.policy.expect("policy kept").text;
    assert!(text.contains("PublicRead") && !text.contains("PublicUpload"));
}

#[tokio::test]
async fn an_expired_exception_no_longer_applies_and_the_expiry_is_recorded() {
    let emu = Emulator::connect().await;
    let bucket = cdn_bucket(&emu, "cdn-expired", false).await;
    let p = pipeline(&emu, vec![exception(&bucket, &["read"], -1)]);
    let outcome = p
        .process_bucket(&bucket, None, None, Trigger::Sweep)
        .await
        .expect("processed");
    assert_eq!(outcome.outcome, Some(Outcome::Fixed));
    assert!(
        outcome
            .exception
            .as_deref()
            .is_some_and(|e| e.starts_with("expired")),
        "{:?}",
        outcome.exception
    );
    let record =
        bucketward::store::ActionStore::load(&p.store, outcome.action_id.as_deref().expect("id"))
            .await
            .expect("load")
            .expect("record");
    assert!(record
        .exception
        .as_deref()
        .is_some_and(|e| e.starts_with("expired")));
    let after = SnapshotReader::new(emu.clients.clone(), ACCOUNT_ID)
        .snapshot(&bucket, None, SnapshotOptions::default())
        .await;
    assert!(!evaluate(&after).public);
}

#[tokio::test]
async fn the_exception_store_round_trips() {
    let emu = Emulator::connect().await;
    let table = format!(
        "exceptions-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    ensure_table(&emu.clients.dynamodb, &table, false, false)
        .await
        .expect("table");
    let store = DynamoExceptionStore::new(emu.clients.dynamodb.clone(), &table);
    let e = exception("static-site-*", &["read", "list"], 30);
    store.put(&e).await.expect("put");
    assert_eq!(store.list().await.expect("list"), vec![e.clone()]);
    assert!(store.remove("static-site-*").await.expect("remove"));
    assert!(!store.remove("static-site-*").await.expect("remove again"));
    assert!(store.list().await.expect("list").is_empty());
}

#[tokio::test]
async fn a_sweep_does_not_propose_again_while_the_same_proposal_is_open() {
    use bucketward::store::ActionStore as _;
    let emu = Emulator::connect().await;
    let bucket = emu.create_bucket("copilot-open").await;
    emu.clients
        .s3
        .put_bucket_policy()
        .bucket(&bucket)
        .policy(bucketward_tests::scenario::mixed_policy(&bucket))
        .send()
        .await
        .unwrap();
    let mut p = pipeline(&emu, Vec::new());
    p.config.decide.modes = CategoryModes::all(Mode::Copilot);
    let sweep = || p.process_bucket(&bucket, None, None, Trigger::Sweep);

    let first = sweep().await.unwrap();
    assert_eq!(first.outcome, Some(Outcome::Proposed));
    assert!(first.notified);
    let id = first.action_id.clone().unwrap();

    // The next sweep finds the same proposal open: no new record, no new notification.
    let again = sweep().await.unwrap();
    assert_eq!(again.outcome, Some(Outcome::Proposed));
    assert_eq!(again.action_id.as_deref(), Some(id.as_str()));
    assert!(!again.notified);
    assert_eq!(p.notifier.sent.lock().unwrap().len(), 1);

    // A different exposure is a different proposal.
    bucketward_tests::scenario::put_legacy_acl(&emu.clients.s3, &bucket, false).await;
    let changed = sweep().await.unwrap();
    assert_ne!(changed.action_id.as_deref(), Some(id.as_str()));
    assert!(changed.notified);
    let changed_id = changed.action_id.clone().unwrap();

    // Once decided (here: rejected), the next detection proposes again.
    let mut record = p.store.load(&changed_id).await.unwrap().unwrap();
    record.outcome = Outcome::Rejected;
    p.store.save(&record).await.unwrap();
    let after_decision = sweep().await.unwrap();
    assert_eq!(after_decision.outcome, Some(Outcome::Proposed));
    assert_ne!(
        after_decision.action_id.as_deref(),
        Some(changed_id.as_str())
    );
    assert_eq!(p.notifier.sent.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn open_proposals_are_indexed_per_bucket_in_every_store() {
    use bucketward::store::{ActionStore, FileActionStore};
    async fn round_trip(store: &impl ActionStore) {
        assert_eq!(store.open_proposal("a.b").await.unwrap(), None);
        store.set_open_proposal("a.b", "act-1").await.unwrap();
        store.set_open_proposal("ab", "act-2").await.unwrap();
        store.set_open_proposal("a.b", "act-3").await.unwrap();
        assert_eq!(
            store.open_proposal("a.b").await.unwrap().as_deref(),
            Some("act-3")
        );
        assert_eq!(
            store.open_proposal("ab").await.unwrap().as_deref(),
            Some("act-2")
        );
    }
    let emu = Emulator::connect().await;
    let table = Emulator::unique_bucket("audit");
    ensure_table(&emu.clients.dynamodb, &table, true, false)
        .await
        .unwrap();
    round_trip(&bucketward::aws::dynamo::DynamoActionStore::new(
        emu.clients.dynamodb.clone(),
        &table,
    ))
    .await;
    let dir = tempfile::tempdir().unwrap();
    round_trip(&FileActionStore::new(dir.path())).await;
    round_trip(&MemoryActionStore::default()).await;
}
