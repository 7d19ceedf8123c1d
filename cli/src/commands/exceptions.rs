//! `bucketward exceptions add|list|remove|import` and `bucketward baseline`.

use std::path::PathBuf;

use anyhow::Context as _;
use bucketward::aws::dynamo::DynamoExceptionStore;
use bucketward::aws::s3::SnapshotOptions;
use bucketward::classify::{classify, Intent};
use bucketward::evaluate;
use bucketward::exception::Exception;
use bucketward::pipeline::CLASSIFY_SAMPLE;
use bucketward::severity::severity;
use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::context::{AwsArgs, Context};
use crate::exit;
use crate::input::{display_name, read_document};

#[derive(clap::Args, Debug)]
pub struct ExceptionsArgs {
    #[command(subcommand)]
    pub command: ExceptionsCommand,
    /// The DynamoDB exceptions table.
    #[arg(long, env = "BUCKETWARD_EXCEPTIONS_TABLE", global = true)]
    pub exceptions_table: Option<String>,
    /// The audit table: every change is also recorded on the audit chain (with
    /// BUCKETWARD_AUDIT_KEY).
    #[arg(long, env = "BUCKETWARD_AUDIT_TABLE", global = true)]
    pub audit_table: Option<String>,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(clap::Subcommand, Debug)]
pub enum ExceptionsCommand {
    /// Allow a bucket (or glob) some public exposure, with an owner, a reason and an expiry.
    Add {
        /// A bucket name or a glob such as `cdn-*`.
        bucket: String,
        /// Allowed exposure kinds, comma-separated: read,list,write,read_acl,write_acl.
        #[arg(long, value_delimiter = ',', required = true)]
        allow: Vec<String>,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        owner: String,
        #[arg(long)]
        approved_by: String,
        /// Days until the exception expires.
        #[arg(long, default_value_t = 90)]
        days: i64,
    },
    /// List every exception, with whether it has expired.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove the exception for a bucket name or glob.
    Remove { bucket: String },
    /// Load a reviewed baseline file (its `proposed_exceptions`).
    Import {
        file: PathBuf,
        /// Who reviewed the file; fills every empty `approved_by`.
        #[arg(long)]
        approved_by: Option<String>,
    },
}

fn store(ctx: &Context, table: Option<&String>) -> anyhow::Result<DynamoExceptionStore> {
    let table = table.context(
        "no exceptions table: pass --exceptions-table or set BUCKETWARD_EXCEPTIONS_TABLE",
    )?;
    Ok(DynamoExceptionStore::new(
        ctx.clients.dynamodb.clone(),
        table,
    ))
}

pub async fn run(args: &ExceptionsArgs) -> anyhow::Result<u8> {
    let ctx = Context::load(&args.aws).await?;
    let store = store(&ctx, args.exceptions_table.as_ref())?;
    let log = crate::context::audit_log(&ctx, args.audit_table.as_ref())?;
    let change = |action: &str, e: serde_json::Value, bucket: &str| {
        bucketward::audit::AuditDraft::new(
            ctx.account_id.clone(),
            bucketward::audit::AuditKind::ExceptionChange,
            serde_json::json!({"change": action, "exception": e}),
        )
        .with_bucket(bucket.to_owned())
    };
    match &args.command {
        ExceptionsCommand::Add {
            bucket,
            allow,
            reason,
            owner,
            approved_by,
            days,
        } => {
            let now = Utc::now();
            let e = Exception {
                bucket: bucket.clone(),
                allows: allow.iter().map(|s| s.trim().to_owned()).collect(),
                reason: reason.clone(),
                owner: owner.clone(),
                approved_by: approved_by.clone(),
                created_at: now,
                expires_at: now + Duration::days(*days),
            };
            e.validate()?;
            store.put(&e).await?;
            crate::context::record_audit(
                log.as_ref(),
                change("add", serde_json::to_value(&e)?, &e.bucket),
            )
            .await?;
            println!("added: {}", e.describe());
        }
        ExceptionsCommand::List { json } => {
            let list = store.list().await?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else if list.is_empty() {
                println!("no exceptions");
            } else {
                let now = Utc::now();
                for e in &list {
                    let state = if e.expires_at <= now {
                        "EXPIRED"
                    } else {
                        "active"
                    };
                    println!("{state:<8} {}", e.describe());
                }
            }
        }
        ExceptionsCommand::Remove { bucket } => {
            if store.remove(bucket).await? {
                crate::context::record_audit(
                    log.as_ref(),
                    change("remove", serde_json::json!({"bucket": bucket}), bucket),
                )
                .await?;
                println!("removed the exception for `{bucket}`");
            } else {
                println!("no exception for `{bucket}`");
                return Ok(exit::FAILURE);
            }
        }
        ExceptionsCommand::Import { file, approved_by } => {
            let name = display_name(file);
            let text = read_document(file).map_err(anyhow::Error::msg)?;
            let baseline: Baseline = serde_json::from_str(&text)
                .with_context(|| format!("{name} is not a baseline file"))?;
            let mut imported = Vec::new();
            for mut e in baseline.proposed_exceptions {
                if e.approved_by.trim().is_empty() {
                    if let Some(by) = approved_by {
                        e.approved_by.clone_from(by);
                    }
                }
                e.validate()
                    .with_context(|| format!("{name}: not imported, nothing was written"))?;
                imported.push(e);
            }
            for e in &imported {
                store.put(e).await?;
                crate::context::record_audit(
                    log.as_ref(),
                    change("import", serde_json::to_value(e)?, &e.bucket),
                )
                .await?;
            }
            println!("imported {} exception(s) from {name}", imported.len());
        }
    }
    Ok(exit::OK)
}

/// The reviewable file `baseline` writes and `exceptions import` reads.
#[derive(Debug, Serialize, Deserialize)]
pub struct Baseline {
    pub generated_at: chrono::DateTime<Utc>,
    pub account_id: String,
    /// Buckets that look intended public: proposed exceptions (a reviewer fills `approved_by`).
    pub proposed_exceptions: Vec<Exception>,
    /// Public buckets that do not look intended: bucketward will fix these.
    pub to_fix: Vec<ToFix>,
    /// Buckets scanned.
    pub scanned: usize,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ToFix {
    pub bucket: String,
    pub severity: bucketward::severity::Severity,
    pub intent: Intent,
    pub exposure: Vec<String>,
    pub reasons: Vec<String>,
}

#[derive(clap::Args, Debug)]
pub struct BaselineArgs {
    /// Where to write the reviewable file.
    #[arg(long, default_value = "bucketward-baseline.json")]
    pub output: PathBuf,
    /// Days the proposed exceptions last.
    #[arg(long, default_value_t = 90)]
    pub days: i64,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Scans every bucket, classifies the public ones and proposes exceptions for those that look
/// intended. Changes nothing.
pub async fn baseline(args: &BaselineArgs) -> anyhow::Result<u8> {
    let ctx = Context::load(&args.aws).await?;
    let reader = ctx.reader();
    let buckets = ctx
        .clients
        .s3
        .list_buckets()
        .send()
        .await
        .context("cannot list buckets")?;
    let now = Utc::now();
    let mut file = Baseline {
        generated_at: now,
        account_id: ctx.account_id.clone(),
        proposed_exceptions: Vec::new(),
        to_fix: Vec::new(),
        scanned: 0,
    };
    for b in buckets.buckets() {
        let Some(name) = b.name() else { continue };
        file.scanned += 1;
        let mut snapshot =
            Box::pin(reader.snapshot(name, b.bucket_region(), SnapshotOptions::default())).await;
        let verdict = evaluate(&snapshot);
        if !verdict.public && !verdict.has_latent() {
            continue;
        }
        Box::pin(reader.enrich_for_classification(&mut snapshot, CLASSIFY_SAMPLE)).await;
        let c = classify(&snapshot);
        let exposure = verdict.exposure.union(verdict.latent);
        let reasons: Vec<String> = c.reasons.iter().map(|r| r.detail.clone()).collect();
        // Only read-only exposure is proposed: writes and ACL changes are never excepted here.
        let read_only: Vec<String> = [("read", exposure.read), ("list", exposure.list)]
            .into_iter()
            .filter(|(_, on)| *on)
            .map(|(k, _)| k.to_owned())
            .collect();
        if c.intent == Intent::PublicContent && !read_only.is_empty() {
            file.proposed_exceptions.push(Exception {
                bucket: name.to_owned(),
                allows: read_only,
                reason: format!(
                    "classified public-content ({:.0}% confidence): {}",
                    c.confidence * 100.0,
                    reasons.join("; ")
                ),
                owner: snapshot
                    .tag("owner")
                    .or_else(|| snapshot.tag("team"))
                    .unwrap_or("unassigned")
                    .to_owned(),
                approved_by: String::new(),
                created_at: now,
                expires_at: now + Duration::days(args.days),
            });
        } else {
            file.to_fix.push(ToFix {
                bucket: name.to_owned(),
                severity: severity(&verdict, c.intent),
                intent: c.intent,
                exposure: exposure.names().into_iter().map(str::to_owned).collect(),
                reasons,
            });
        }
    }
    std::fs::write(&args.output, serde_json::to_string_pretty(&file)?)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    println!(
        "scanned {} buckets: {} look intended public (proposed exceptions), {} to fix",
        file.scanned,
        file.proposed_exceptions.len(),
        file.to_fix.len()
    );
    for e in &file.proposed_exceptions {
        println!("  intended  {:<40} allows {}", e.bucket, e.allows.join("+"));
    }
    for f in &file.to_fix {
        println!(
            "  fix       {:<40} {} ({:?}, {})",
            f.bucket,
            f.severity,
            f.intent,
            f.exposure.join("+")
        );
    }
    println!(
        "review {}, fill in approved_by, then: bucketward exceptions import {}",
        args.output.display(),
        args.output.display()
    );
    Ok(exit::OK)
}
