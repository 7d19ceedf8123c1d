//! `snapshot`, `plan`, `remediate` and `rollback`: the commands that read or change live buckets.

use std::str::FromStr;

use bucketward::action::{ActionRecord, Outcome};
use bucketward::aws::remediate::RemediateOptions;
use bucketward::aws::s3::{ObjectSampling, SnapshotOptions};
use bucketward::evaluate;
use bucketward::plan::{plan, PlanOptions};
use bucketward::policy::ExposureKinds;

use crate::context::{AwsArgs, Context};
use crate::exit;

/// `--objects N|all`.
#[derive(Debug, Clone, Copy)]
pub struct Objects(pub ObjectSampling);

impl FromStr for Objects {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "all" => Ok(Self(ObjectSampling::All)),
            "0" | "none" => Ok(Self(ObjectSampling::None)),
            n => n
                .parse::<usize>()
                .map(|n| Self(ObjectSampling::First(n)))
                .map_err(|_| format!("`{s}` is not a number or `all`")),
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct SnapshotArgs {
    pub bucket: String,
    /// Sample objects with their ACLs and content types: a count, or `all`.
    #[arg(long, default_value = "0")]
    pub objects: Objects,
    /// Skip the bucket's access points.
    #[arg(long)]
    pub no_access_points: bool,
    #[command(flatten)]
    pub aws: AwsArgs,
}

impl SnapshotArgs {
    fn options(&self) -> SnapshotOptions {
        SnapshotOptions {
            objects: self.objects.0,
            access_points: !self.no_access_points,
            lean: false,
        }
    }
}

/// What the plan may do, from the command line.
#[derive(clap::Args, Debug, Clone)]
pub struct PlanArgs {
    /// Exposure kinds the bucket may keep (an exception), comma-separated:
    /// read,write,list,read_acl,write_acl.
    #[arg(long, value_delimiter = ',')]
    pub allow: Vec<String>,
    /// Also set BucketOwnerEnforced (disables ACLs) when only the owner is left in the ACL.
    #[arg(long)]
    pub enforce_ownership: bool,
    /// With --enforce-ownership: even when cross-account or LogDelivery grants would be lost.
    #[arg(long)]
    pub force_ownership: bool,
    /// Also turn on account-level Block Public Access.
    #[arg(long)]
    pub account_bpa: bool,
}

impl PlanArgs {
    pub fn options(&self) -> anyhow::Result<PlanOptions> {
        let mut allowed = ExposureKinds::NONE;
        for kind in &self.allow {
            match kind.trim() {
                "read" => allowed.read = true,
                "write" => allowed.write = true,
                "list" => allowed.list = true,
                "read_acl" => allowed.read_acl = true,
                "write_acl" => allowed.write_acl = true,
                "" => {}
                other => anyhow::bail!("unknown exposure kind `{other}` in --allow"),
            }
        }
        Ok(PlanOptions {
            allowed,
            enforce_ownership: self.enforce_ownership,
            force_ownership: self.force_ownership,
            account_bpa: self.account_bpa,
            account_has_public_exceptions: false,
        })
    }
}

#[derive(clap::Args, Debug)]
pub struct PlanCmdArgs {
    #[command(flatten)]
    pub target: SnapshotArgs,
    #[command(flatten)]
    pub plan: PlanArgs,
    /// Print JSON instead of the human view.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct RemediateArgs {
    #[command(flatten)]
    pub target: SnapshotArgs,
    #[command(flatten)]
    pub plan: PlanArgs,
    /// Compute the plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Stop the object ACL batch after this many objects (the record says where to resume).
    #[arg(long)]
    pub object_budget: Option<u64>,
    /// Print the action record as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct RollbackArgs {
    pub action_id: String,
    /// Read the action from this DynamoDB audit table (else from --state-dir).
    #[arg(long, env = "BUCKETWARD_AUDIT_TABLE")]
    pub audit_table: Option<String>,
    #[command(flatten)]
    pub aws: AwsArgs,
}

pub async fn snapshot(args: &SnapshotArgs) -> anyhow::Result<u8> {
    let ctx = Context::load(&args.aws).await?;
    let snapshot = ctx
        .reader()
        .snapshot(&args.bucket, None, args.options())
        .await;
    println!("{}", serde_json::to_string_pretty(&snapshot)?);
    Ok(exit::OK)
}

pub async fn plan_cmd(args: &PlanCmdArgs) -> anyhow::Result<u8> {
    let ctx = Context::load(&args.target.aws).await?;
    let snapshot = ctx
        .reader()
        .snapshot(&args.target.bucket, None, args.target.options())
        .await;
    let verdict = evaluate(&snapshot);
    let plan = plan(&verdict, &snapshot, &args.plan.options()?);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&plan)?);
        return Ok(exit::OK);
    }
    println!(
        "bucket {}: {}",
        plan.bucket,
        if verdict.public {
            "PUBLIC"
        } else {
            "not public"
        }
    );
    if plan.steps.is_empty() {
        println!("nothing to change");
    }
    for (i, step) in plan.steps.iter().enumerate() {
        println!("\n{}. {}", i + 1, step.summary);
        print!("{}", step.diff);
    }
    for note in &plan.notes {
        println!("note: {note}");
    }
    Ok(exit::OK)
}

pub async fn remediate(args: &RemediateArgs) -> anyhow::Result<u8> {
    let ctx = Context::load(&args.target.aws).await?;
    let mut plan = args.plan.options()?;
    if plan.account_bpa {
        // Account BPA would break every excepted public bucket: refused while one is in force.
        let table = std::env::var("BUCKETWARD_EXCEPTIONS_TABLE")
            .ok()
            .filter(|t| !t.is_empty());
        let exceptions =
            bucketward::aws::dynamo::load_exceptions(&ctx.clients.dynamodb, table.as_deref())
                .await?;
        plan.account_has_public_exceptions =
            bucketward::exception::any_allows_exposure(&exceptions, chrono::Utc::now());
    }
    let options = RemediateOptions {
        plan,
        snapshot: args.target.options(),
        dry_run: args.dry_run,
        object_budget: args.object_budget,
        ..RemediateOptions::default()
    };
    let record = ctx
        .remediator()
        .remediate(&args.target.bucket, &options, &ctx.store)
        .await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&record)?);
    } else {
        print_record(&record);
    }
    Ok(match record.outcome {
        Outcome::Fixed
        | Outcome::NothingToDo
        | Outcome::DryRun
        | Outcome::Gone
        | Outcome::Proposed
        | Outcome::Approved
        | Outcome::Rejected
        | Outcome::PullRequest => exit::OK,
        Outcome::Unverified | Outcome::Failed => exit::FAILURE,
    })
}

fn print_record(record: &ActionRecord) {
    let outcome = serde_json::to_value(record.outcome)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    println!("action   {}", record.action_id);
    println!("bucket   {}", record.bucket);
    println!("outcome  {outcome}");
    match record.outcome {
        Outcome::NothingToDo => {
            println!("nothing to change: no public access beyond what is allowed")
        }
        Outcome::DryRun => {
            for step in &record.plan.steps {
                println!("would: {}", step.summary);
            }
        }
        _ => {
            for step in &record.applied {
                println!("applied: {step}");
            }
        }
    }
    if let Some(f) = &record.failure {
        println!("failed:  {} ({}): {}", f.step, f.code, f.message);
        if let Some(p) = &f.missing_permission {
            println!("         the role needs `{p}`");
        }
    }
    for lost in &record.lost {
        println!("problem: {lost}");
    }
    if let Some(p) = &record.object_acls {
        println!(
            "objects: {} scanned, {} fixed, {} failed{}",
            p.scanned,
            p.fixed,
            p.failed,
            p.resume_after
                .as_deref()
                .map(|k| format!(", resume after `{k}`"))
                .unwrap_or_default()
        );
    }
    if matches!(
        record.outcome,
        Outcome::Fixed | Outcome::Failed | Outcome::Unverified
    ) {
        println!("rollback: bucketward rollback {}", record.action_id);
    }
}

pub async fn rollback(args: &RollbackArgs) -> anyhow::Result<u8> {
    let ctx = Context::load(&args.aws).await?;
    let report = match &args.audit_table {
        Some(table) => {
            let store = bucketward::aws::dynamo::DynamoActionStore::new(
                ctx.clients.dynamodb.clone(),
                table,
            );
            ctx.remediator().rollback(&args.action_id, &store).await?
        }
        None => {
            ctx.remediator()
                .rollback(&args.action_id, &ctx.store)
                .await?
        }
    };
    let log = crate::context::audit_log(&ctx, args.audit_table.as_ref())?;
    let draft = bucketward::audit::AuditDraft::new(
        ctx.account_id.clone(),
        bucketward::audit::AuditKind::Rollback,
        serde_json::json!({
            "action_id": report.action_id,
            "restored_exactly": report.differences.is_empty(),
            "differences": report.differences,
            "approver": std::env::var("USER").unwrap_or_default(),
        }),
    )
    .with_bucket(report.bucket.clone());
    crate::context::record_audit(log.as_ref(), draft).await?;
    if report.differences.is_empty() {
        println!(
            "restored {} to its state before {}",
            report.bucket, report.action_id
        );
        Ok(exit::OK)
    } else {
        for d in &report.differences {
            println!("difference: {d}");
        }
        Ok(exit::FAILURE)
    }
}
