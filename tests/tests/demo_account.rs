//! The demo's scenario builder: every bucket starts as its story says, and a sweep in the
//! default per-category modes fixes the mistakes, proposes for the unknown, and leaves intended
//! and private buckets alone. Account-wide, so it resets the emulator and runs alone here.

use bucketward::aws::demo::{self, BUCKETS};
use bucketward::aws::remediate::Remediator;
use bucketward::aws::s3::{SnapshotOptions, SnapshotReader};
use bucketward::decide::DecideConfig;
use bucketward::evaluate;
use bucketward::exception::Exception;
use bucketward::notify::MemoryNotifier;
use bucketward::pipeline::{Pipeline, PipelineConfig};
use bucketward::store::{MemoryActionStore, MemoryDedupe};
use bucketward::sweep::{sweep, SweepOptions};
use bucketward_tests::{account_lock, Emulator, ACCOUNT_ID};
use chrono::{Duration, Utc};

fn exception(bucket: &str) -> Exception {
    Exception {
        bucket: bucket.to_owned(),
        allows: vec!["read".to_owned()],
        reason: "intended public content".to_owned(),
        owner: "web".to_owned(),
        approved_by: "reviewer".to_owned(),
        created_at: Utc::now(),
        expires_at: Utc::now() + Duration::days(30),
    }
}

#[tokio::test]
async fn the_demo_account_starts_as_told_and_ends_as_promised() {
    let _serial = account_lock().lock().await;
    let emu = Emulator::connect().await;
    emu.reset().await;
    demo::build_account(&emu.clients.s3, ACCOUNT_ID)
        .await
        .expect("build");
    let reader = SnapshotReader::new(emu.clients.clone(), ACCOUNT_ID);
    for b in BUCKETS {
        let v = evaluate(
            &reader
                .snapshot(b.name, None, SnapshotOptions::default())
                .await,
        );
        assert_eq!(v.public, b.public_at_start, "{}: {}", b.name, b.story);
    }
    demo::silent_change(&emu.clients.s3)
        .await
        .expect("silent change");

    let pipeline = Pipeline {
        remediator: Remediator::new(reader.clone()),
        store: MemoryActionStore::default(),
        dedupe: MemoryDedupe::default(),
        notifier: MemoryNotifier::default(),
        config: PipelineConfig {
            decide: DecideConfig::default(),
            ..PipelineConfig::default()
        },
        exceptions: vec![exception(demo::CDN), exception(demo::WEBSITE)],
        approval_links: None,
        git: None,
    };
    let summary = sweep(
        &pipeline,
        &SweepOptions {
            concurrency: 4,
            ..SweepOptions::default()
        },
        |_| {},
    )
    .await
    .expect("sweep");
    assert_eq!(summary.errors, 0, "{summary:#?}");
    assert_eq!(summary.excepted, 2, "{summary:#?}");
    assert_eq!(
        summary.proposed, 1,
        "the integration bucket (unknown intent) waits for an approval: {summary:#?}"
    );
    for b in BUCKETS {
        let v = evaluate(
            &reader
                .snapshot(b.name, None, SnapshotOptions::default())
                .await,
        );
        let expected_public = matches!(b.name, demo::CDN | demo::WEBSITE | demo::INTEGRATION);
        assert_eq!(v.public, expected_public, "{}: {}", b.name, b.story);
    }
    // The private bucket with cross-account and CloudFront statements kept its policy.
    let private = reader
        .snapshot(
            demo::PRIVATE_CROSS_ACCOUNT,
            None,
            SnapshotOptions::default(),
        )
        .await;
    let text = private.policy.expect("policy kept").text;
    assert!(
        text.contains("AllowCloudFrontServicePrincipal") && text.contains("AnalyticsAccountRead")
    );
    emu.reset().await;
}

fn bucketward(args: &[&str]) -> std::process::Output {
    std::process::Command::new(bucketward_tests::lambda::binary("bucketward"))
        .args(args)
        .env("BUCKETWARD_ACCOUNT_ID", ACCOUNT_ID)
        .env("BUCKETWARD_AUDIT_KEY", bucketward_tests::infra::AUDIT_KEY)
        .output()
        .expect("run bucketward")
}

#[tokio::test]
async fn baseline_proposes_exceptions_that_import_only_once_reviewed() {
    let _serial = account_lock().lock().await;
    let emu = Emulator::connect().await;
    emu.reset().await;
    demo::build_account(&emu.clients.s3, ACCOUNT_ID)
        .await
        .expect("build");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("baseline.json");
    let file_arg = file.to_string_lossy().into_owned();

    let init = bucketward(&["init", "--prefix", "bl"]);
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let out = bucketward(&["baseline", "--output", &file_arg]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let baseline: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("file")).expect("json");
    let mut proposed: Vec<&str> = baseline["proposed_exceptions"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|e| e["bucket"].as_str())
        .collect();
    proposed.sort_unstable();
    assert_eq!(proposed, vec![demo::CDN, demo::WEBSITE]);
    let to_fix: Vec<&str> = baseline["to_fix"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|e| e["bucket"].as_str())
        .collect();
    assert!(
        to_fix.contains(&demo::CUSTOMER_DATA) && to_fix.contains(&demo::LEGACY),
        "{to_fix:?}"
    );
    assert!(baseline["proposed_exceptions"][0]["approved_by"]
        .as_str()
        .is_some_and(str::is_empty));

    // Unreviewed: refused, nothing written.
    let refused = bucketward(&[
        "exceptions",
        "import",
        &file_arg,
        "--exceptions-table",
        "bl-exceptions",
    ]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("approved_by"));
    let none = bucketward(&[
        "exceptions",
        "list",
        "--json",
        "--exceptions-table",
        "bl-exceptions",
    ]);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&none.stdout).expect("json"),
        serde_json::json!([])
    );

    // Reviewed: imported.
    let ok = bucketward(&[
        "exceptions",
        "import",
        &file_arg,
        "--approved-by",
        "alice",
        "--exceptions-table",
        "bl-exceptions",
        "--audit-table",
        "bl-audit",
    ]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let list = bucketward(&[
        "exceptions",
        "list",
        "--json",
        "--exceptions-table",
        "bl-exceptions",
    ]);
    let list: serde_json::Value = serde_json::from_slice(&list.stdout).expect("json");
    assert_eq!(list.as_array().map(Vec::len), Some(2));
    assert_eq!(list[0]["approved_by"], "alice");
    // Both imports are on the audit chain, which verifies.
    let verify = bucketward(&["audit", "verify", "--audit-table", "bl-audit"]);
    let text = String::from_utf8_lossy(&verify.stdout);
    assert!(
        verify.status.success() && text.contains("2 records"),
        "{text}"
    );
    emu.reset().await;
}
