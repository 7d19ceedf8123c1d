//! `iam-report` (who can weaken bucket security, the guardrail documents, co-pilot proposals)
//! and `iam-guardrail approve|reject|rollback|list` (decide and undo a proposal).

use std::path::PathBuf;

use anyhow::Context as _;
use bucketward::aws::iam::{read_inventory, IamGuardrails};
use bucketward::iam::guardrail::{self, MANAGED_POLICY_MAX_CHARS, SCP_MAX_CHARS};
use bucketward::iam::proposal::{FileProposalStore, ProposalStore as _};
use bucketward::iam::{evaluate, Approved, IamReport, APPROVED_ENV, AUTOPILOT_ENV};

use crate::context::{audit_log, AwsArgs, CliNotifier, Context};
use crate::exit;

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Output {
    Table,
    Json,
}

/// Where proposals, the audit chain and notifications go.
#[derive(clap::Args, Debug, Clone)]
pub struct RecordArgs {
    /// The DynamoDB audit table: with BUCKETWARD_AUDIT_KEY, findings and guardrail changes are
    /// appended to the tamper-evident chain.
    #[arg(long, env = "BUCKETWARD_AUDIT_TABLE")]
    pub audit_table: Option<String>,
    /// The SNS topic for notifications (else they are only logged).
    #[arg(long, env = "BUCKETWARD_TOPIC_ARN")]
    pub topic_arn: Option<String>,
    /// Where guardrail proposals are kept.
    #[arg(
        long,
        env = "BUCKETWARD_GUARDRAIL_DIR",
        default_value = ".bucketward/iam-guardrails"
    )]
    pub proposals_dir: PathBuf,
}

#[derive(clap::Args, Debug)]
pub struct IamReportArgs {
    #[arg(long, value_enum, default_value = "table")]
    pub output: Output,
    /// An approved principal: an ARN or an ArnLike pattern (repeatable). Added to the
    /// comma-separated list in BUCKETWARD_APPROVED_PRINCIPALS; bucketward's own roles
    /// (arn:aws:iam::*:role/bucketward/*) are always approved.
    #[arg(long = "approved", value_name = "ARN_OR_PATTERN")]
    pub approved: Vec<String>,
    /// Write the guardrails to this directory: scp.json and deny-policy.json.
    #[arg(long, value_name = "DIR")]
    pub guardrails: Option<PathBuf>,
    /// Record every finding in the audit trail and notify (implied by --propose).
    #[arg(long)]
    pub record: bool,
    /// Co-pilot: propose attaching the deny policy to each offending user or role.
    #[arg(long)]
    pub propose: bool,
    /// With --propose: apply the proposals at once, without approval. Off unless asked: IAM
    /// changes can lock people out.
    #[arg(long, env = AUTOPILOT_ENV)]
    pub autopilot: bool,
    /// Exit 3 when there is a finding.
    #[arg(long)]
    pub fail_on_findings: bool,
    #[command(flatten)]
    pub record_to: RecordArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(clap::Args, Debug)]
pub struct IamGuardrailArgs {
    #[command(subcommand)]
    pub command: GuardrailCommand,
    /// Who decides, for the record. Defaults to $USER.
    #[arg(long, global = true)]
    pub by: Option<String>,
    #[command(flatten)]
    pub record_to: RecordArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(clap::Subcommand, Debug)]
pub enum GuardrailCommand {
    /// List the proposals and their status.
    List,
    /// Approve a proposal: create or update the deny policy and attach it to the principal.
    Approve { id: String },
    /// Reject a proposal: nothing changes in IAM.
    Reject {
        id: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Detach what an approved proposal attached.
    Rollback { id: String },
}

/// The approved principals: BUCKETWARD_APPROVED_PRINCIPALS plus the flags.
pub fn approved_from(flags: &[String]) -> Approved {
    let env = std::env::var(APPROVED_ENV).unwrap_or_default();
    Approved::new(
        env.split(',')
            .map(str::to_owned)
            .chain(flags.iter().cloned()),
    )
}

fn by(name: Option<&String>) -> String {
    name.cloned()
        .or_else(|| std::env::var("USER").ok())
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

fn guardrails(
    ctx: &Context,
    args: &RecordArgs,
) -> anyhow::Result<IamGuardrails<FileProposalStore, bucketward::audit::DynamoAuditLog, CliNotifier>>
{
    Ok(IamGuardrails {
        client: ctx.clients.iam(),
        account_id: ctx.account_id.clone(),
        store: FileProposalStore::new(&args.proposals_dir),
        audit: audit_log(ctx, args.audit_table.as_ref())?,
        notifier: match &args.topic_arn {
            Some(t) => CliNotifier::Sns(bucketward::aws::sns::SnsNotifier::new(
                ctx.clients.sns.clone(),
                t,
            )),
            None => CliNotifier::Log,
        },
    })
}

fn write_guardrails(dir: &std::path::Path, approved: &Approved) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (file, doc, limit) in [
        ("scp.json", guardrail::scp(approved), SCP_MAX_CHARS),
        (
            "deny-policy.json",
            guardrail::deny_policy(approved),
            MANAGED_POLICY_MAX_CHARS,
        ),
    ] {
        let size = guardrail::policy_size(&doc);
        if size > limit {
            eprintln!("warning: {file} is {size} characters; AWS accepts at most {limit}");
        }
        let path = dir.join(file);
        std::fs::write(&path, serde_json::to_string_pretty(&doc)? + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

fn print_table(report: &IamReport) {
    println!(
        "account {}; approved: {}",
        report.account_id,
        report.approved.join(", ")
    );
    for p in &report.principals {
        let status = match (&p.finding, p.approved) {
            (Some(f), _) => format!("FINDING {}: {}", f.severity, f.reasons.join("; ")),
            (None, true) => "approved".to_owned(),
            (None, false) if p.can_perform() => "listed (not on all buckets)".to_owned(),
            (None, false) => "listed (blocked)".to_owned(),
        };
        println!("{} {}  [{status}]", p.kind, p.arn);
        for a in &p.actions {
            let grants: Vec<String> = a
                .grants
                .iter()
                .map(|g| {
                    format!(
                        "{} stmt {}{} `{}`{}",
                        g.policy.describe(),
                        g.statement,
                        g.sid
                            .as_ref()
                            .map(|s| format!(" ({s})"))
                            .unwrap_or_default(),
                        g.matched,
                        if g.conditional { " if condition" } else { "" }
                    )
                })
                .collect();
            let limits: Vec<String> = a
                .limits
                .iter()
                .map(|l| {
                    let kind = match l.kind {
                        bucketward::iam::evaluate::LimitKind::Boundary => "boundary",
                        bucketward::iam::evaluate::LimitKind::ExplicitDeny => "deny",
                    };
                    let effect = match l.effect {
                        bucketward::iam::evaluate::LimitEffect::Full => "full",
                        bucketward::iam::evaluate::LimitEffect::Partial => "partial",
                        bucketward::iam::evaluate::LimitEffect::Conditional => "conditional",
                    };
                    format!("{kind} {} ({effect})", l.policy.describe())
                })
                .collect();
            println!(
                "    {:<32} {:<10} {}{}{}",
                a.action,
                a.effective.describe(),
                if a.via_wildcard() { "wildcard; " } else { "" },
                grants.join("; "),
                if limits.is_empty() {
                    String::new()
                } else {
                    format!("; limited by {}", limits.join(", "))
                }
            );
        }
        for e in &p.errors {
            println!("    error: {e}");
        }
    }
    let findings = report.findings().count();
    println!(
        "{} principals can act on bucket security; {findings} findings",
        report.principals.len()
    );
}

pub async fn report(args: &IamReportArgs) -> anyhow::Result<u8> {
    let approved = approved_from(&args.approved);
    if let Some(dir) = &args.guardrails {
        write_guardrails(dir, &approved)?;
    }
    let ctx = Context::load(&args.aws).await?;
    let inventory = read_inventory(&ctx.clients.iam(), &ctx.account_id)
        .await
        .context("cannot read the account's IAM")?;
    let report = evaluate(&inventory, &approved);
    match args.output {
        Output::Table => print_table(&report),
        Output::Json => println!("{}", serde_json::to_string_pretty(&report)?),
    }
    if args.record || args.propose {
        let flows = guardrails(&ctx, &args.record_to)?;
        let recorded = flows.record_findings(&report).await?;
        eprintln!("{recorded} findings recorded and notified");
        if args.propose {
            for proposal in flows.propose(&report, &approved).await? {
                eprintln!(
                    "proposed {}: attach the deny policy to {} {}",
                    proposal.id, proposal.principal_kind, proposal.principal_name
                );
                if args.autopilot {
                    let applied = flows
                        .approve(&proposal.id, "bucketward (autopilot)")
                        .await?;
                    eprintln!(
                        "  applied (autopilot): {} attached; undo with `bucketward iam-guardrail rollback {}`",
                        applied.policy_arn.unwrap_or_default(),
                        applied.id
                    );
                }
            }
        }
    }
    if args.fail_on_findings && report.findings().next().is_some() {
        return Ok(exit::PUBLIC);
    }
    Ok(exit::OK)
}

pub async fn guardrail(args: &IamGuardrailArgs) -> anyhow::Result<u8> {
    let ctx = Context::load(&args.aws).await?;
    let flows = guardrails(&ctx, &args.record_to)?;
    let by = by(args.by.as_ref());
    let proposal = match &args.command {
        GuardrailCommand::List => {
            for p in flows.store.list().await? {
                println!(
                    "{}  {:<11} {} {} ({})",
                    p.id, p.status, p.principal_kind, p.principal_arn, p.severity
                );
            }
            return Ok(exit::OK);
        }
        GuardrailCommand::Approve { id } => flows.approve(id, &by).await?,
        GuardrailCommand::Reject { id, reason } => flows.reject(id, &by, reason.clone()).await?,
        GuardrailCommand::Rollback { id } => flows.rollback(id, &by).await?,
    };
    println!(
        "{}: {} for {} {}{}",
        proposal.id,
        proposal.status,
        proposal.principal_kind,
        proposal.principal_arn,
        proposal
            .policy_arn
            .as_ref()
            .map(|a| format!(" (policy {a})"))
            .unwrap_or_default()
    );
    Ok(exit::OK)
}
