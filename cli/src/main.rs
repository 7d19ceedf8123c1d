//! `bucketward`: the same pipeline as the Lambdas, driven from a terminal.

mod commands;
mod context;
mod input;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Keeps S3 buckets from being public by accident.
#[derive(Parser)]
#[command(name = "bucketward", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Evaluate a snapshot file (or `-` for stdin) and print the verdict.
    Evaluate(commands::evaluate::Args),
    /// Classify a snapshot's intent (public content, sensitive data, unknown) with reasons.
    Classify(commands::classify::Args),
    /// Read a live bucket into a snapshot (every layer, concurrently).
    Snapshot(commands::live::SnapshotArgs),
    /// Show the ordered remediation steps for a bucket, with diffs. Changes nothing.
    Plan(commands::live::PlanCmdArgs),
    /// Fix a bucket: backup, apply the plan, read back and verify. Prints an action id.
    Remediate(commands::live::RemediateArgs),
    /// Restore the exact pre-change state recorded by an action.
    Rollback(commands::live::RollbackArgs),
    /// Re-evaluate every bucket through the pipeline (the scheduled Lambda's path).
    Sweep(commands::sweep::SweepArgs),
    /// Run one EventBridge event through the pipeline (the remediator Lambda's path).
    HandleEvent(commands::sweep::HandleEventArgs),
    /// Manage exceptions: buckets allowed some public exposure, with owner, reason and expiry.
    Exceptions(commands::exceptions::ExceptionsArgs),
    /// Scan everything, classify public buckets, write a reviewable file of proposed exceptions.
    Baseline(commands::exceptions::BaselineArgs),
    /// Create bucketward's tables and topic (idempotent).
    Init(commands::init::InitArgs),
    /// The whole story on the local emulator (`make demo`).
    Demo(commands::demo::DemoArgs),
    /// Verify or export the tamper-evident audit trail.
    Audit(commands::audit::AuditArgs),
    /// Approve a co-pilot proposal: re-read the bucket, apply a fresh fix, record who approved.
    Approve(commands::approve::ApproveArgs),
    /// Reject a co-pilot proposal: leave the bucket as it is, record who rejected and why.
    Reject(commands::approve::RejectArgs),
    /// Write the SOC 2 evidence report from the audit trail.
    Report(commands::report::ReportArgs),
    /// Git mode for one bucket: open (or update) a pull request with the IaC fix.
    ProposePr(commands::propose_pr::ProposePrArgs),
    /// Who can weaken bucket security through IAM; the guardrails; co-pilot proposals.
    IamReport(commands::iam::IamReportArgs),
    /// Decide or undo an IAM guardrail proposal: list, approve, reject, rollback.
    IamGuardrail(commands::iam::IamGuardrailArgs),
}

/// Exit codes, stable for pipelines.
pub mod exit {
    pub const OK: u8 = 0;
    pub const FAILURE: u8 = 1;
    pub const INVALID_INPUT: u8 = 2;
    pub const PUBLIC: u8 = 3;
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    if let Command::Evaluate(args) = &cli.command {
        return ExitCode::from(commands::evaluate::run(args));
    }
    if let Command::Classify(args) = &cli.command {
        return ExitCode::from(commands::classify::run(args));
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::FAILURE);
        }
    };
    let result = runtime.block_on(async {
        match &cli.command {
            Command::Evaluate(_) | Command::Classify(_) => Ok(exit::OK),
            Command::Snapshot(args) => commands::live::snapshot(args).await,
            Command::Plan(args) => commands::live::plan_cmd(args).await,
            Command::Remediate(args) => commands::live::remediate(args).await,
            Command::Rollback(args) => commands::live::rollback(args).await,
            Command::Sweep(args) => commands::sweep::run(args).await,
            Command::HandleEvent(args) => commands::sweep::handle_event(args).await,
            Command::Exceptions(args) => commands::exceptions::run(args).await,
            Command::Baseline(args) => commands::exceptions::baseline(args).await,
            Command::Init(args) => commands::init::run(args).await,
            Command::Demo(args) => commands::demo::run(args).await,
            Command::Audit(args) => commands::audit::run(args).await,
            Command::Approve(args) => commands::approve::approve(args).await,
            Command::Reject(args) => commands::approve::reject(args).await,
            Command::Report(args) => commands::report::run(args).await,
            Command::ProposePr(args) => commands::propose_pr::run(args).await,
            Command::IamReport(args) => commands::iam::report(args).await,
            Command::IamGuardrail(args) => commands::iam::guardrail(args).await,
        }
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit::FAILURE)
        }
    }
}

/// Logs to stderr, quiet by default (`RUST_LOG=bucketward=debug` for more).
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
