//! `approve` and `reject`: decide a co-pilot proposal from the terminal, through the same flows
//! as the approver Lambda (which adds the signed single-use link on top).

use bucketward::action::Outcome;
use bucketward::aws::approvals::{approve_proposal, reject_proposal, ApproveOptions, Reviewer};
use bucketward::pipeline::PipelineConfig;

use crate::context::{AwsArgs, Context, PipelineArgs};
use crate::exit;

#[derive(clap::Args, Debug)]
pub struct ApproveArgs {
    /// The proposal's action id (from the notification).
    pub proposal_id: String,
    /// Who approves, for the record. Defaults to $USER.
    #[arg(long)]
    pub approver: Option<String>,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub pipeline: PipelineArgs,
}

#[derive(clap::Args, Debug)]
pub struct RejectArgs {
    /// The proposal's action id (from the notification).
    pub proposal_id: String,
    /// Why the fix is not wanted (kept in the proposal record).
    #[arg(long)]
    pub reason: String,
    /// The bucket is meant to be public: record the rejection as an exception request.
    #[arg(long)]
    pub as_exception: bool,
    /// Who rejects, for the record. Defaults to $USER.
    #[arg(long)]
    pub approver: Option<String>,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub pipeline: PipelineArgs,
}

fn reviewer(name: Option<&String>) -> Reviewer {
    let by = name
        .cloned()
        .or_else(|| std::env::var("USER").ok())
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| "unknown".to_owned());
    Reviewer {
        by,
        via: "cli".to_owned(),
    }
}

fn outcome_text(outcome: Outcome) -> String {
    serde_json::to_value(outcome)
        .ok()
        .and_then(|v| v.as_str().map(|s| s.replace('_', " ")))
        .unwrap_or_default()
}

/// Re-reads the bucket, applies a fresh plan (with the proposal's allowance) and marks the
/// proposal approved. The plan options are the defaults, as for the remediator without
/// `BUCKETWARD_ENFORCE_OWNERSHIP`.
pub async fn approve(args: &ApproveArgs) -> anyhow::Result<u8> {
    let ctx = Context::load(&args.aws).await?;
    let config = PipelineConfig::default();
    let pipeline = ctx.pipeline(&args.pipeline, config).await?;
    let options = ApproveOptions {
        plan: config.plan,
        snapshot: config.snapshot,
    };
    let reviewer = reviewer(args.approver.as_ref());
    let approval = Box::pin(approve_proposal(
        &pipeline.remediator,
        &pipeline.store,
        &pipeline.notifier,
        &args.proposal_id,
        &reviewer,
        options,
    ))
    .await?;
    let applied = &approval.applied;
    println!("proposal {} approved by {}", args.proposal_id, reviewer.by);
    println!("bucket   {}", applied.bucket);
    println!("action   {}", applied.action_id);
    println!("outcome  {}", outcome_text(applied.outcome));
    if approval.replanned {
        println!("note:    the bucket changed since the proposal; the fix was planned again");
    }
    for step in &applied.applied {
        println!("applied: {step}");
    }
    if let Some(f) = &applied.failure {
        println!("failed:  {} ({}): {}", f.step, f.code, f.message);
    }
    for lost in &applied.lost {
        println!("problem: {lost}");
    }
    if !applied.applied.is_empty() {
        println!("rollback: bucketward rollback {}", applied.action_id);
    }
    Ok(match applied.outcome {
        Outcome::Fixed | Outcome::NothingToDo | Outcome::Gone => exit::OK,
        _ => exit::FAILURE,
    })
}

/// Marks the proposal rejected; the bucket is left as it is.
pub async fn reject(args: &RejectArgs) -> anyhow::Result<u8> {
    let ctx = Context::load(&args.aws).await?;
    let pipeline = ctx
        .pipeline(&args.pipeline, PipelineConfig::default())
        .await?;
    let reviewer = reviewer(args.approver.as_ref());
    let proposal = reject_proposal(
        &pipeline.store,
        &pipeline.notifier,
        &args.proposal_id,
        &reviewer,
        Some(args.reason.clone()),
        args.as_exception,
    )
    .await?;
    println!(
        "proposal {} rejected by {}",
        proposal.action_id, reviewer.by
    );
    println!("bucket   {} (left as it is)", proposal.bucket);
    if args.as_exception {
        println!("recorded as meant to be public");
    }
    Ok(exit::OK)
}
