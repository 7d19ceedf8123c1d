//! Sweeps over a whole (emulated) account. Sweeps see every bucket, so these tests run
//! serially, in their own test binary, from a reset emulator.

use std::time::Duration;

use aws_sdk_s3::types::{ObjectOwnership, PublicAccessBlockConfiguration};
use bucketward::aws::remediate::Remediator;
use bucketward::aws::s3::{SnapshotOptions, SnapshotReader};
use bucketward::decide::{CategoryModes, DecideConfig, Mode};
use bucketward::notify::MemoryNotifier;
use bucketward::pipeline::{Pipeline, PipelineConfig};
use bucketward::store::{MemoryActionStore, MemoryDedupe};
use bucketward::sweep::{sweep, SweepOptions};
use bucketward_tests::infra::{cloudtrail_event, receive, Infra};
use bucketward_tests::lambda::LambdaProcess;
use bucketward_tests::{account_lock, scenario, Emulator, ACCOUNT_ID};
use serde_json::json;

fn pipeline(
    emu: &Emulator,
    mode: Mode,
) -> Pipeline<MemoryActionStore, MemoryDedupe, MemoryNotifier> {
    Pipeline {
        remediator: Remediator::new(SnapshotReader::new(emu.clients.clone(), ACCOUNT_ID)),
        store: MemoryActionStore::default(),
        dedupe: MemoryDedupe::default(),
        notifier: MemoryNotifier::default(),
        config: PipelineConfig {
            decide: DecideConfig {
                modes: CategoryModes::all(mode),
                harden_missing_bpa: false,
            },
            snapshot: SnapshotOptions {
                lean: true,
                ..SnapshotOptions::default()
            },
            ..PipelineConfig::default()
        },
        exceptions: Vec::new(),
        approval_links: None,
        git: None,
    }
}

/// Sweeps every bucket, eight at a time.
async fn sweep_all(
    p: &Pipeline<MemoryActionStore, MemoryDedupe, MemoryNotifier>,
) -> bucketward::sweep::SweepSummary {
    sweep(
        p,
        &SweepOptions {
            concurrency: 8,
            ..SweepOptions::default()
        },
        |_| {},
    )
    .await
    .expect("sweep")
}

/// 12 private buckets (BPA on), 2 public by policy, 2 by ACL, 1 latent (public policy under
/// RestrictPublicBuckets), 3 private without BPA. Returns the names of the 5 needing action.
async fn mixed_account(emu: &Emulator) -> Vec<String> {
    let s3 = &emu.clients.s3;
    let all_on = PublicAccessBlockConfiguration::builder()
        .block_public_acls(true)
        .ignore_public_acls(true)
        .block_public_policy(true)
        .restrict_public_buckets(true)
        .build();
    for i in 0..12 {
        let b = format!("acct-private-{i:02}");
        s3.create_bucket().bucket(&b).send().await.expect("create");
        s3.put_public_access_block()
            .bucket(&b)
            .public_access_block_configuration(all_on.clone())
            .send()
            .await
            .expect("bpa");
    }
    for i in 0..3 {
        s3.create_bucket()
            .bucket(format!("acct-nobpa-{i}"))
            .send()
            .await
            .expect("create");
    }
    let mut needing = Vec::new();
    for i in 0..2 {
        let b = format!("acct-policy-{i}");
        s3.create_bucket().bucket(&b).send().await.expect("create");
        s3.put_bucket_policy()
            .bucket(&b)
            .policy(scenario::mixed_policy(&b))
            .send()
            .await
            .expect("policy");
        needing.push(b);
    }
    for i in 0..2 {
        let b = format!("acct-acl-{i}");
        s3.create_bucket().bucket(&b).send().await.expect("create");
        scenario::set_ownership(s3, &b, ObjectOwnership::ObjectWriter).await;
        scenario::put_legacy_acl(s3, &b, false).await;
        needing.push(b);
    }
    let latent = "acct-latent".to_owned();
    s3.create_bucket()
        .bucket(&latent)
        .send()
        .await
        .expect("create");
    s3.put_bucket_policy()
        .bucket(&latent)
        .policy(scenario::mixed_policy(&latent))
        .send()
        .await
        .expect("policy");
    s3.put_public_access_block()
        .bucket(&latent)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .expect("bpa");
    needing.push(latent);
    needing
}

#[tokio::test]
async fn sweeps_find_and_handle_every_public_bucket_in_dry_run_then_autopilot() {
    let _serial = account_lock().lock().await;
    let emu = Emulator::connect().await;
    emu.reset().await;
    let mut needing = mixed_account(&emu).await;
    needing.sort();

    let dry = pipeline(&emu, Mode::DryRun);
    let summary = sweep_all(&dry).await;
    assert_eq!(summary.seen, 20);
    assert_eq!(summary.public, 4, "{summary:#?}");
    assert_eq!(summary.latent, 1);
    assert_eq!(summary.reported, 5);
    assert_eq!(summary.fixed, 0);
    assert!(summary.complete);
    let mut reported: Vec<String> = summary
        .items
        .iter()
        .filter(|i| i.status == "reported")
        .map(|i| i.bucket.clone())
        .collect();
    reported.sort();
    assert_eq!(reported, needing);
    // Dry run changed nothing.
    let reader = SnapshotReader::new(emu.clients.clone(), ACCOUNT_ID);
    assert!(
        bucketward::evaluate(
            &reader
                .snapshot("acct-policy-0", None, SnapshotOptions::default())
                .await
        )
        .public
    );

    let auto = pipeline(&emu, Mode::Autopilot);
    let summary = sweep_all(&auto).await;
    assert_eq!(summary.fixed, 5, "{summary:#?}");
    assert_eq!(summary.errors, 0, "{summary:#?}");
    assert!(summary.calls_per_bucket > 0.0);
    let again = sweep_all(&auto).await;
    assert_eq!(
        (again.public, again.latent, again.fixed),
        (0, 0, 0),
        "{again:#?}"
    );
    for b in &needing {
        let s = reader.snapshot(b, None, SnapshotOptions::default()).await;
        assert!(
            !bucketward::evaluate(&s).public && !bucketward::evaluate(&s).has_latent(),
            "{b}"
        );
    }
}

#[tokio::test]
async fn account_bpa_makes_sweeps_cheaper_and_an_account_event_re_sweeps() {
    let _serial = account_lock().lock().await;
    let emu = Emulator::connect().await;
    emu.reset().await;
    mixed_account(&emu).await;
    let dry = pipeline(&emu, Mode::DryRun);
    let full = sweep_all(&dry).await;

    emu.clients
        .s3control
        .put_public_access_block()
        .account_id(ACCOUNT_ID)
        .public_access_block_configuration(
            aws_sdk_s3control::types::PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .expect("account bpa");
    let dry = pipeline(&emu, Mode::DryRun);
    let lean = sweep_all(&dry).await;
    assert_eq!(lean.public, 0, "account BPA neutralises everything");
    assert!(
        lean.calls_per_bucket < full.calls_per_bucket,
        "lean {} vs full {}",
        lean.calls_per_bucket,
        full.calls_per_bucket
    );

    // Turning account BPA off again: the account event re-sweeps every bucket.
    emu.clients
        .s3control
        .delete_public_access_block()
        .account_id(ACCOUNT_ID)
        .send()
        .await
        .expect("delete");
    let p = pipeline(&emu, Mode::DryRun);
    let event = bucketward::event::ApiCallEvent::from_value(&cloudtrail_event(
        "delete_account_public_access_block.json",
        "-",
    ))
    .expect("event");
    let outcome = p.handle_event(&event).await.expect("handled");
    let value = serde_json::to_value(&outcome).expect("json");
    assert_eq!(value["status"], "account");
    assert_eq!(value["summary"]["seen"], 20, "{value}");
    assert_eq!(value["summary"]["public"], 4, "{value}");
    emu.reset().await;
}

#[tokio::test]
async fn the_sweeper_binary_continues_from_a_checkpoint_through_sqs() {
    let _serial = account_lock().lock().await;
    let emu = Emulator::connect().await;
    emu.reset().await;
    mixed_account(&emu).await;
    let infra = Infra::create(&emu, "sweep").await;
    let (queue_url, _) = bucketward_tests::infra::queue(&infra.sqs, "sweep-continuation").await;
    let mut env = infra.lambda_env("autopilot");
    env.insert("BUCKETWARD_SWEEP_QUEUE_URL".into(), queue_url.clone());
    env.insert("BUCKETWARD_SWEEP_MAX_BUCKETS".into(), "12".into());
    // One bucket at a time: moto applies TransactWriteItems non-atomically, so concurrent audit
    // appends could race in the emulator (real DynamoDB transactions are atomic).
    env.insert("BUCKETWARD_SWEEP_CONCURRENCY".into(), "1".into());
    let mut lambda = LambdaProcess::spawn("sweeper", &env).await;
    let scheduled = json!({"version": "0", "id": "s-1", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": ACCOUNT_ID, "time": "2026-12-04T00:00:00Z", "region": "us-east-1", "resources": [], "detail": {}});
    let first = lambda.invoke(scheduled).await.expect("first invocation");
    assert_eq!(first["continued"], true, "{first}");
    assert_eq!(first["summary"]["seen"], 12);
    let messages = receive(&infra.sqs, &queue_url, Duration::from_secs(2)).await;
    assert_eq!(messages.len(), 1);
    let sqs_event =
        json!({"Records": [{"messageId": "m-1", "eventSource": "aws:sqs", "body": messages[0]}]});
    let second = lambda.invoke(sqs_event).await.expect("second invocation");
    assert_eq!(second["continued"], false, "{second}");
    assert_eq!(second["summary"]["seen"], 8);
    let fixed = first["summary"]["fixed"].as_u64().unwrap_or(0)
        + second["summary"]["fixed"].as_u64().unwrap_or(0);
    assert_eq!(fixed, 5);
    assert!(lambda
        .stdout()
        .iter()
        .any(|l| l.contains("BucketsPerSecond")));
    lambda.stop().await;
    emu.reset().await;
}

async fn account_bpa(emu: &Emulator) -> Option<bool> {
    emu.clients
        .s3control
        .get_public_access_block()
        .account_id(ACCOUNT_ID)
        .send()
        .await
        .ok()
        .and_then(|o| o.public_access_block_configuration)
        .map(|c| {
            c.block_public_acls == Some(true)
                && c.ignore_public_acls == Some(true)
                && c.block_public_policy == Some(true)
                && c.restrict_public_buckets == Some(true)
        })
}

#[tokio::test]
async fn enforce_account_bpa_is_applied_by_autopilot_and_refused_while_an_exception_needs_a_public_bucket(
) {
    let _serial = account_lock().lock().await;
    let emu = Emulator::connect().await;
    emu.reset().await;
    let bucket = emu.create_bucket("acct-bpa").await;
    emu.clients
        .s3
        .put_bucket_policy()
        .bucket(&bucket)
        .policy(scenario::mixed_policy(&bucket))
        .send()
        .await
        .expect("policy");

    // The setting as the functions read it.
    let vars = [("BUCKETWARD_ENFORCE_ACCOUNT_BPA", "true")]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let (plan, _) = bucketward::config::plan_and_snapshot_from_vars(&vars).expect("config");
    assert!(plan.account_bpa);

    // An exception in force elsewhere: the account setting is refused, the bucket still fixed.
    let mut p = pipeline(&emu, Mode::Autopilot);
    p.config.plan = plan;
    let now = chrono::Utc::now();
    p.exceptions = vec![bucketward::exception::Exception {
        bucket: "cdn-*".to_owned(),
        allows: vec!["read".to_owned()],
        reason: "CDN origin".to_owned(),
        owner: "web".to_owned(),
        approved_by: "alice".to_owned(),
        created_at: now,
        expires_at: now + chrono::Duration::days(30),
    }];
    let out = p
        .process_bucket(&bucket, None, None, bucketward::action::Trigger::Sweep)
        .await
        .expect("handled");
    assert_eq!(out.outcome, Some(bucketward::action::Outcome::Fixed));
    assert_ne!(
        account_bpa(&emu).await,
        Some(true),
        "refused while excepted"
    );

    // Without exceptions, autopilot turns the account setting on with the fix.
    emu.clients
        .s3
        .put_bucket_policy()
        .bucket(&bucket)
        .policy(scenario::mixed_policy(&bucket))
        .send()
        .await
        .expect("policy again");
    p.exceptions.clear();
    let out = p
        .process_bucket(&bucket, None, None, bucketward::action::Trigger::Sweep)
        .await
        .expect("handled");
    assert!(
        out.applied
            .iter()
            .any(|s| s.contains("account-level Block Public Access")),
        "{out:?}"
    );
    assert_eq!(account_bpa(&emu).await, Some(true));
    emu.reset().await;
}
