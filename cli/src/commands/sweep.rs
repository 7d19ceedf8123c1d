//! `bucketward sweep` and `bucketward handle-event`: the Lambdas' code paths from a terminal.

use std::io::IsTerminal;
use std::path::PathBuf;

use bucketward::aws::s3::SnapshotOptions;
use bucketward::decide::{CategoryModes, DecideConfig, Mode};
use bucketward::event::ApiCallEvent;
use bucketward::pipeline::PipelineConfig;
use bucketward::sweep::{sweep, SweepOptions, SweepProgress, SweepSummary};

use crate::commands::live::PlanArgs;
use crate::context::{AwsArgs, Context, PipelineArgs};
use crate::exit;
use crate::input::{display_name, read_document};

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Output {
    Table,
    Json,
}

#[derive(clap::Args, Debug)]
pub struct SweepArgs {
    /// One mode for every bucket: autopilot (fix), copilot (propose) or dry-run (report).
    /// Without it, modes are per category (--by-category).
    #[arg(long, default_value = "dry-run")]
    pub mode: Mode,
    /// Use the per-category defaults instead of --mode: autopilot for sensitive data and any
    /// public write, co-pilot for public content and unknown buckets.
    #[arg(long, conflicts_with = "mode")]
    pub by_category: bool,
    /// Buckets handled at once.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Continue after this bucket (the checkpoint of an unfinished sweep).
    #[arg(long)]
    pub start_after: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    pub output: Output,
    /// Also act on buckets that lack bucket-level BPA but are not public.
    #[arg(long)]
    pub harden_bpa: bool,
    #[command(flatten)]
    pub plan: PlanArgs,
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
}

impl SweepArgs {
    fn modes(&self) -> CategoryModes {
        if self.by_category {
            CategoryModes::default()
        } else {
            CategoryModes::all(self.mode)
        }
    }
}

pub async fn run(args: &SweepArgs) -> anyhow::Result<u8> {
    let ctx = Context::load(&args.aws).await?;
    let config = PipelineConfig {
        decide: DecideConfig {
            modes: args.modes(),
            harden_missing_bpa: args.harden_bpa,
        },
        plan: args.plan.options()?,
        snapshot: SnapshotOptions {
            lean: true,
            access_points: true,
            ..SnapshotOptions::default()
        },
    };
    let pipeline = ctx.pipeline(&args.pipeline, config).await?;
    let options = SweepOptions {
        concurrency: args.concurrency,
        start_after: args.start_after.clone(),
        ..SweepOptions::default()
    };
    let bar =
        (std::io::stderr().is_terminal() && matches!(args.output, Output::Table)).then(|| {
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} {pos}/{len} buckets [{elapsed_precise}] {msg}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar
        });
    let summary = sweep(&pipeline, &options, |p| {
        if let Some(bar) = &bar {
            match p {
                SweepProgress::Listed(n) => bar.inc_length(n as u64),
                SweepProgress::Done { bucket, item } => {
                    bar.inc(1);
                    if let Some(item) = item {
                        bar.println(format!("{:<10} {bucket}", item.status));
                    }
                }
            }
        }
    })
    .await?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    match args.output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&summary)?),
        Output::Table => print!("{}", table(&summary, args.mode)),
    }
    Ok(exit::OK)
}

/// The summary as a table.
pub fn table(s: &SweepSummary, mode: Mode) -> String {
    let mut out = String::new();
    if !s.items.is_empty() {
        out.push_str(&format!("{:<40} {:<11} detail\n", "bucket", "status"));
        for item in &s.items {
            out.push_str(&format!(
                "{:<40} {:<11} {}\n",
                item.bucket, item.status, item.detail
            ));
        }
        out.push('\n');
    }
    out.push_str(&format!(
        "sweep ({mode}): {} buckets seen, {} public, {} fixed, {} proposed, {} reported, {} excepted, {} errors\n",
        s.seen, s.public, s.fixed, s.proposed, s.reported, s.excepted, s.errors
    ));
    out.push_str(&format!(
        "{:.1} buckets/s, {:.2} AWS calls per bucket, {} ms{}\n",
        s.buckets_per_second,
        s.calls_per_bucket,
        s.duration_ms,
        s.checkpoint
            .as_deref()
            .map(|c| format!("; incomplete, continue with --start-after {c}"))
            .unwrap_or_default()
    ));
    out
}

#[derive(clap::Args, Debug)]
pub struct HandleEventArgs {
    /// The EventBridge event (a CloudTrail API call), or `-` for stdin.
    pub event: PathBuf,
    #[arg(long, default_value = "autopilot")]
    pub mode: Mode,
    #[command(flatten)]
    pub plan: PlanArgs,
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
}

pub async fn handle_event(args: &HandleEventArgs) -> anyhow::Result<u8> {
    let name = display_name(&args.event);
    let event = match read_document(&args.event)
        .and_then(|t| ApiCallEvent::from_json(&t).map_err(|e| format!("{name}: {e}")))
    {
        Ok(e) => e,
        Err(message) => {
            eprintln!("error: {message}");
            return Ok(exit::INVALID_INPUT);
        }
    };
    let ctx = Context::load(&args.aws).await?;
    let config = PipelineConfig {
        decide: DecideConfig {
            modes: CategoryModes::all(args.mode),
            harden_missing_bpa: false,
        },
        plan: args.plan.options()?,
        snapshot: SnapshotOptions::default(),
    };
    let outcome = ctx
        .pipeline(&args.pipeline, config)
        .await?
        .handle_event(&event)
        .await?;
    println!("{}", serde_json::to_string_pretty(&outcome)?);
    Ok(exit::OK)
}
