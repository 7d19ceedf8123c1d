//! `bucketward audit verify|export`: the tamper-evident trail, for auditors.

use anyhow::Context as _;
use bucketward::audit::{audit_key_from_env, export_csv, export_jsonl, AuditLog, DynamoAuditLog};

use crate::context::{AwsArgs, Context};
use crate::exit;

#[derive(clap::Args, Debug)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: AuditCommand,
    /// The DynamoDB audit table.
    #[arg(long, env = "BUCKETWARD_AUDIT_TABLE", global = true)]
    pub audit_table: Option<String>,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(clap::Subcommand, Debug)]
pub enum AuditCommand {
    /// Walk the chain; exit 1 naming the first bad record if any was modified, deleted,
    /// reordered or inserted.
    Verify,
    /// Print every record, for auditors.
    Export {
        #[arg(long, value_enum, default_value = "jsonl")]
        format: ExportFormat,
    },
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum ExportFormat {
    Jsonl,
    Csv,
}

pub async fn run(args: &AuditArgs) -> anyhow::Result<u8> {
    let ctx = Context::load(&args.aws).await?;
    let table = args
        .audit_table
        .as_ref()
        .context("no audit table: pass --audit-table or set BUCKETWARD_AUDIT_TABLE")?;
    let key = audit_key_from_env()?;
    let log = DynamoAuditLog::new(ctx.clients.dynamodb.clone(), table, &ctx.account_id, key);
    match args.command {
        AuditCommand::Verify => match log.verified_entries().await {
            Ok(entries) => {
                println!(
                    "the audit chain of account {} verifies: {} records, head {}",
                    ctx.account_id,
                    entries.len(),
                    entries.last().map_or("(empty)", |e| e.hash.as_str())
                );
                Ok(exit::OK)
            }
            Err(e) => {
                println!("the audit chain does NOT verify: {e}");
                Ok(exit::FAILURE)
            }
        },
        AuditCommand::Export { format } => {
            let entries = log.entries().await?;
            match format {
                ExportFormat::Jsonl => print!("{}", export_jsonl(&entries)),
                ExportFormat::Csv => print!("{}", export_csv(&entries)),
            }
            Ok(exit::OK)
        }
    }
}
