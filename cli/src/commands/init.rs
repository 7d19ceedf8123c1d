//! `bucketward init`: creates bucketward's tables and topic (for the local emulator and for
//! trying the CLI without the SAM stack). Idempotent.

use bucketward::aws::dynamo::ensure_table;

use crate::context::{AwsArgs, Context};
use crate::exit;

#[derive(clap::Args, Debug)]
pub struct InitArgs {
    /// Prefix of the resource names.
    #[arg(long, default_value = "bucketward")]
    pub prefix: String,
    #[command(flatten)]
    pub aws: AwsArgs,
}

pub async fn run(args: &InitArgs) -> anyhow::Result<u8> {
    let ctx = Context::load(&args.aws).await?;
    let db = &ctx.clients.dynamodb;
    let p = &args.prefix;
    let audit = format!("{p}-audit");
    let exceptions = format!("{p}-exceptions");
    let dedupe = format!("{p}-dedupe");
    let tokens = format!("{p}-tokens");
    ensure_table(db, &audit, true, false).await?;
    ensure_table(db, &exceptions, false, false).await?;
    ensure_table(db, &dedupe, false, true).await?;
    ensure_table(db, &tokens, false, true).await?;
    let topic = ctx
        .clients
        .sns
        .create_topic()
        .name(format!("{p}-notifications"))
        .send()
        .await?
        .topic_arn
        .unwrap_or_default();
    println!("export BUCKETWARD_AUDIT_TABLE={audit}");
    println!("export BUCKETWARD_EXCEPTIONS_TABLE={exceptions}");
    println!("export BUCKETWARD_DEDUPE_TABLE={dedupe}");
    println!("export BUCKETWARD_TOKEN_TABLE={tokens}");
    println!("export BUCKETWARD_TOPIC_ARN={topic}");
    Ok(exit::OK)
}
