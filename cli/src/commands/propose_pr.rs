//! `bucketward propose-pr BUCKET --repo ...`: git mode for one bucket. The same pipeline path
//! as the Lambdas in git mode: snapshot, evaluate, plan as autopilot would, then open (or
//! update) the pull request with the fix to the infrastructure code, and record it.

use bucketward::action::{Outcome, Trigger};
use bucketward::aws::s3::SnapshotOptions;
use bucketward::decide::{CategoryModes, DecideConfig, Mode};
use bucketward::pipeline::PipelineConfig;

use crate::commands::live::PlanArgs;
use crate::commands::sweep::Output;
use crate::context::{AwsArgs, Context, PipelineArgs};
use crate::exit;

#[derive(clap::Args, Debug)]
pub struct ProposePrArgs {
    /// The bucket.
    pub bucket: String,
    #[arg(long, value_enum, default_value = "table")]
    pub output: Output,
    #[command(flatten)]
    pub plan: PlanArgs,
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
}

pub async fn run(args: &ProposePrArgs) -> anyhow::Result<u8> {
    if args.pipeline.git.repo.is_none() {
        anyhow::bail!("propose-pr needs the repository: --repo URL (or BUCKETWARD_GIT_REPOSITORY)");
    }
    let ctx = Context::load(&args.aws).await?;
    let config = PipelineConfig {
        decide: DecideConfig {
            modes: CategoryModes::all(Mode::Git),
            harden_missing_bpa: true,
        },
        plan: args.plan.options()?,
        snapshot: SnapshotOptions {
            access_points: true,
            ..SnapshotOptions::default()
        },
    };
    let pipeline = ctx.pipeline(&args.pipeline, config).await?;
    let outcome = pipeline
        .process_bucket(&args.bucket, None, None, Trigger::Manual)
        .await?;
    match args.output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&outcome)?),
        Output::Table => match (&outcome.outcome, &outcome.pull_request) {
            (Some(Outcome::PullRequest), Some(url)) => {
                println!("pull request: {url}");
                if let Some(id) = &outcome.action_id {
                    println!("action: {id}");
                }
            }
            (Some(Outcome::Failed), _) => {
                println!(
                    "no pull request for {}: see action {}",
                    args.bucket,
                    outcome.action_id.as_deref().unwrap_or("-")
                );
            }
            _ => println!(
                "{}: nothing to propose ({:?})",
                args.bucket, outcome.decision
            ),
        },
    }
    Ok(match outcome.outcome {
        Some(Outcome::PullRequest) => exit::OK,
        Some(Outcome::Failed) => exit::FAILURE,
        _ => exit::OK,
    })
}
