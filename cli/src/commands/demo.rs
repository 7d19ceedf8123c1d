//! `bucketward demo`: the story on the local emulator, printed step by step.

use std::time::Instant;

use anyhow::Context as _;
use bucketward::audit::{parse_audit_key, AuditLog, DynamoAuditLog};
use bucketward::aws::approvals::{approve_proposal, ApproveOptions, Reviewer};
use bucketward::aws::demo::{self, BUCKETS};
use bucketward::aws::dynamo::{ensure_table, DynamoExceptionStore};
use bucketward::aws::s3::SnapshotOptions;
use bucketward::classify::{classify, Intent};
use bucketward::decide::{CategoryModes, DecideConfig};
use bucketward::evaluate;
use bucketward::event::ApiCallEvent;
use bucketward::exception::Exception;
use bucketward::pipeline::{ApprovalLinks, EventOutcome, PipelineConfig, CLASSIFY_SAMPLE};
use bucketward::report::{build_report, render_html, ChainStatus};
use bucketward::severity::severity;
use bucketward::sweep::{sweep, SweepOptions};
use chrono::{Duration, Utc};
use serde_json::json;

use crate::context::{AwsArgs, Context, PipelineArgs};
use crate::exit;

#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Keys for the demo only (a deployment generates its own in Secrets Manager).
const DEMO_AUDIT_KEY: &str = "demo-audit-key-0123456789abcdef";
const DEMO_APPROVAL_KEY: &[u8] = b"demo-approval-key-0123456789abcdef";

fn step(n: u32, title: &str) {
    println!("\n\x1b[1m== {n}. {title}\x1b[0m");
}

pub async fn run(args: &DemoArgs) -> anyhow::Result<u8> {
    let ctx = Context::load(&args.aws).await?;
    anyhow::ensure!(
        ctx.clients.endpoint_url().is_some(),
        "the demo builds buckets and changes them: it only runs against the local emulator (set AWS_ENDPOINT_URL, or use `make demo`)"
    );
    let s3 = &ctx.clients.s3;
    let db = &ctx.clients.dynamodb;

    step(
        0,
        "Setup: bucketward's tables and topic, and a realistic account",
    );
    for (table, sort, ttl) in [
        ("demo-audit", true, false),
        ("demo-exceptions", false, false),
        ("demo-dedupe", false, true),
    ] {
        ensure_table(db, table, sort, ttl).await?;
    }
    let topic = ctx
        .clients
        .sns
        .create_topic()
        .name("demo-notifications")
        .send()
        .await?
        .topic_arn
        .unwrap_or_default();
    demo::build_account(s3, &ctx.account_id)
        .await
        .context("building the demo account")?;
    for b in BUCKETS {
        println!("  {:<30} {}", b.name, b.story);
    }
    let pipeline_args = PipelineArgs {
        audit_table: Some("demo-audit".to_owned()),
        topic_arn: Some(topic),
        dedupe_table: Some("demo-dedupe".to_owned()),
        exceptions_table: Some("demo-exceptions".to_owned()),
        audit_key: Some(DEMO_AUDIT_KEY.to_owned()),
        git: crate::context::GitArgs::default(),
    };

    step(
        1,
        "Baseline: scan, classify, propose exceptions for the intended public buckets",
    );
    let reader = ctx.reader();
    let exceptions = DynamoExceptionStore::new(db.clone(), "demo-exceptions");
    println!(
        "  {:<30} {:<7} {:<15} {:<9} exposure",
        "bucket", "public", "intent", "severity"
    );
    for b in BUCKETS {
        let mut snapshot =
            Box::pin(reader.snapshot(b.name, None, SnapshotOptions::default())).await;
        let verdict = evaluate(&snapshot);
        Box::pin(reader.enrich_for_classification(&mut snapshot, CLASSIFY_SAMPLE)).await;
        let c = classify(&snapshot);
        let sev = severity(&verdict, c.intent);
        let intent = serde_json::to_value(c.intent)?
            .as_str()
            .unwrap_or_default()
            .to_owned();
        println!(
            "  {:<30} {:<7} {:<15} {:<9} {}",
            b.name,
            if verdict.public { "YES" } else { "no" },
            intent,
            sev.to_string(),
            verdict.exposure.union(verdict.latent).names().join("+")
        );
        if verdict.public && c.intent == Intent::PublicContent {
            let now = Utc::now();
            let e = Exception {
                bucket: b.name.to_owned(),
                allows: vec!["read".to_owned()],
                reason: format!(
                    "classified public-content: {}",
                    c.reasons
                        .iter()
                        .map(|r| r.detail.as_str())
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
                owner: snapshot.tag("team").unwrap_or("unassigned").to_owned(),
                approved_by: "demo-reviewer".to_owned(),
                created_at: now,
                expires_at: now + Duration::days(90),
            };
            exceptions.put(&e).await?;
            println!("      -> exception imported: {}", e.describe());
        }
    }

    let config = PipelineConfig {
        decide: DecideConfig {
            modes: CategoryModes::default(),
            harden_missing_bpa: false,
        },
        ..PipelineConfig::default()
    };
    let pipeline = ctx.pipeline(&pipeline_args, config).await?;

    step(
        2,
        "Autopilot: a CloudTrail PutBucketPolicy event for the customer-data bucket",
    );
    let event_json = cloudtrail_event("PutBucketPolicy", demo::CUSTOMER_DATA, &ctx.account_id);
    let binary = std::path::Path::new("target/debug/remediator");
    let started = Instant::now();
    if binary.exists() {
        // The real remediator binary, on the event as EventBridge would deliver it.
        std::fs::create_dir_all(".demo")?;
        let path = std::path::Path::new(".demo/put-bucket-policy-event.json");
        std::fs::write(path, serde_json::to_string_pretty(&event_json)?)?;
        let out = tokio::process::Command::new(binary)
            .arg("--invoke")
            .arg(path)
            .env("BUCKETWARD_AUDIT_TABLE", "demo-audit")
            .env("BUCKETWARD_DEDUPE_TABLE", "demo-dedupe")
            .env("BUCKETWARD_EXCEPTIONS_TABLE", "demo-exceptions")
            .env(
                "BUCKETWARD_TOPIC_ARN",
                pipeline_args.topic_arn.clone().unwrap_or_default(),
            )
            .env("BUCKETWARD_AUDIT_KEY", DEMO_AUDIT_KEY)
            .env("BUCKETWARD_ACCOUNT_ID", &ctx.account_id)
            .env("RUST_LOG", "warn")
            .output()
            .await
            .context("running the remediator binary")?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        anyhow::ensure!(
            out.status.success(),
            "the remediator binary failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let result: serde_json::Value = stdout
            .lines()
            .last()
            .and_then(|l| serde_json::from_str(l).ok())
            .context("the remediator printed no result")?;
        print_event(&result);
        if let Some(emf) = stdout
            .lines()
            .find(|l| l.contains("\"RemediationLatency\""))
        {
            println!("  EMF metrics line: {}...", &emf[..emf.len().min(110)]);
        }
        println!("  the real remediator binary (target/debug/remediator --invoke) handled it in {} ms, process start included", started.elapsed().as_millis());
    } else {
        let outcome = pipeline
            .handle_event(&ApiCallEvent::from_value(&event_json)?)
            .await?;
        print_event(&serde_json::to_value(&outcome)?);
        println!(
            "  handled in-process in {} ms (build target/debug/remediator to use the real binary)",
            started.elapsed().as_millis()
        );
    }

    step(
        3,
        "Co-pilot: the integration bucket (unknown intent) gets a proposal, then an approval",
    );
    let event = ApiCallEvent::from_value(&cloudtrail_event(
        "PutBucketPolicy",
        demo::INTEGRATION,
        &ctx.account_id,
    ))?;
    let outcome = pipeline.handle_event(&event).await?;
    print_event(&serde_json::to_value(&outcome)?);
    if let EventOutcome::Bucket { result, .. } = &outcome {
        if let Some(proposal_id) = &result.action_id {
            let links = ApprovalLinks {
                base_url: "https://<approver-function-url>/".to_owned(),
                key: DEMO_APPROVAL_KEY.to_vec(),
                ttl: bucketward::pipeline::APPROVAL_TTL,
            };
            let link = links.link(proposal_id)?;
            println!(
                "  approval link (signed, single-use, expires in 72 h): {}...",
                &link[..link.len().min(90)]
            );
            // What the approver Lambda does with the link: verify the token, re-read the bucket,
            // apply a fresh plan, record who approved.
            let token = link.split("token=").nth(1).unwrap_or_default();
            let claims = bucketward::approval::verify(token, DEMO_APPROVAL_KEY, Utc::now())?;
            let approval = approve_proposal(
                &pipeline.remediator,
                &pipeline.store,
                &pipeline.notifier,
                &claims.action_id,
                &Reviewer {
                    by: "jane@acme.example (security)".to_owned(),
                    via: "approval-link".to_owned(),
                },
                ApproveOptions::default(),
            )
            .await?;
            println!(
                "  approved by jane@acme.example; applied action {} ({:?})",
                approval.applied.action_id, approval.applied.outcome
            );
            for a in &approval.applied.applied {
                println!("    applied: {a}");
            }
        }
    }

    step(4, "Sweep: a change no event reported");
    demo::silent_change(s3).await?;
    println!(
        "  {} lost its BPA and got a public-read policy; no CloudTrail event was delivered",
        demo::SILENT
    );
    let summary = sweep(
        &pipeline,
        &SweepOptions {
            concurrency: 8,
            ..SweepOptions::default()
        },
        |_| {},
    )
    .await?;
    print!(
        "{}",
        crate::commands::sweep::table(&summary, bucketward::decide::Mode::Autopilot)
    );

    step(5, "Where things stand");
    println!("  {:<30} {:<7} why", "bucket", "public");
    for b in BUCKETS {
        let snapshot = Box::pin(reader.snapshot(b.name, None, SnapshotOptions::default())).await;
        let v = evaluate(&snapshot);
        let why = match (v.public, b.should_fix) {
            (false, true) => "fixed".to_owned(),
            (true, false) => "left alone: intended public, within its exception".to_owned(),
            (false, false) => "left alone: private".to_owned(),
            (true, true) => "still public: waiting for an approval (co-pilot)".to_owned(),
        };
        println!(
            "  {:<30} {:<7} {why}",
            b.name,
            if v.public { "YES" } else { "no" }
        );
    }

    step(6, "Audit: the tamper-evident chain");
    let log = DynamoAuditLog::new(
        db.clone(),
        "demo-audit",
        &ctx.account_id,
        parse_audit_key(DEMO_AUDIT_KEY)?,
    );
    let (entries, chain) = match log.verified_entries().await {
        Ok(entries) => {
            println!(
                "  chain verified: {} records, every hash, link and signature intact",
                entries.len()
            );
            let status = ChainStatus {
                verified: true,
                records: entries.len(),
                detail: None,
            };
            (entries, status)
        }
        Err(e) => {
            println!("  chain does NOT verify: {e}");
            let entries = log.entries().await?;
            let status = ChainStatus {
                verified: false,
                records: entries.len(),
                detail: Some(e.to_string()),
            };
            (entries, status)
        }
    };

    step(7, "Evidence: the SOC 2 report");
    let now = Utc::now();
    let report = build_report(
        &entries,
        &exceptions.list().await?,
        chain,
        now - Duration::days(30),
        now,
    );
    let dir = std::path::Path::new(".demo");
    std::fs::create_dir_all(dir)?;
    let path = dir.join("evidence-report.html");
    std::fs::write(&path, render_html(&report))?;
    println!("  written to {}", path.display());
    println!(
        "  {}",
        crate::commands::report::headline(&report).replace('\n', "\n  ")
    );
    println!("\nRecords are in the `demo-audit` table; `bucketward rollback <action id> --audit-table demo-audit` restores any change.");
    Ok(exit::OK)
}

fn print_event(outcome: &serde_json::Value) {
    let r = &outcome["result"];
    if r.is_null() {
        println!("  {outcome}");
        return;
    }
    println!(
        "  {} is {}; intent {}, severity {}; decision {}",
        r["bucket"].as_str().unwrap_or_default(),
        if r["public"] == true {
            "PUBLIC"
        } else {
            "not public"
        },
        r["intent"].as_str().unwrap_or_default(),
        r["severity"].as_str().unwrap_or_default(),
        r["decision"]["decision"].as_str().unwrap_or_default()
    );
    for a in r["applied"].as_array().into_iter().flatten() {
        println!("    applied: {}", a.as_str().unwrap_or_default());
    }
    if let Some(id) = r["action_id"].as_str() {
        println!(
            "    action {id} ({})",
            r["outcome"].as_str().unwrap_or_default()
        );
    }
    if let Some(ms) = r["remediation_latency_ms"].as_i64() {
        println!("    fixed {ms} ms after the API call");
    }
}

/// A CloudTrail API call event as EventBridge delivers it.
fn cloudtrail_event(name: &str, bucket: &str, account: &str) -> serde_json::Value {
    let now = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    json!({
        "version": "0", "id": uuid_like(), "detail-type": "AWS API Call via CloudTrail", "source": "aws.s3",
        "account": account, "time": now, "region": "us-east-1", "resources": [],
        "detail": {
            "eventVersion": "1.09", "eventSource": "s3.amazonaws.com", "eventName": name, "awsRegion": "us-east-1",
            "eventTime": now, "eventID": uuid_like(), "recipientAccountId": account,
            "userIdentity": {"type": "AssumedRole", "arn": format!("arn:aws:sts::{account}:assumed-role/developer/jane")},
            "requestParameters": {"bucketName": bucket, "policy": [""]},
        }
    })
}

fn uuid_like() -> String {
    uuid::Uuid::new_v4().to_string()
}
