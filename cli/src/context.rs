//! What every AWS-facing command needs: clients, the account id, the action store.

use std::path::PathBuf;

use anyhow::Context as _;
use bucketward::aws::remediate::Remediator;
use bucketward::aws::s3::SnapshotReader;
use bucketward::aws::{ClientOptions, Clients};
use bucketward::store::FileActionStore;

/// Options shared by the commands that talk to AWS.
#[derive(clap::Args, Debug, Clone)]
pub struct AwsArgs {
    /// Send every AWS call to this endpoint (a local emulator). Defaults to AWS_ENDPOINT_URL.
    #[arg(long, global = true, env = "AWS_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
    /// The AWS region. Defaults to the standard chain (AWS_REGION, profile).
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// The account id. Defaults to BUCKETWARD_ACCOUNT_ID, then STS GetCallerIdentity.
    #[arg(long, global = true)]
    pub account_id: Option<String>,
    /// Where action records and pre-change backups are kept.
    #[arg(long, global = true, env = "BUCKETWARD_STATE_DIR", default_value = ".bucketward/actions")]
    pub state_dir: PathBuf,
}

/// Clients and helpers built once per command.
pub struct Context {
    pub clients: Clients,
    pub account_id: String,
    pub store: FileActionStore,
}

impl Context {
    pub async fn load(args: &AwsArgs) -> anyhow::Result<Self> {
        let clients = Clients::load(&ClientOptions {
            endpoint_url: args.endpoint_url.clone(),
            region: args.region.clone(),
        })
        .await;
        anyhow::ensure!(
            clients.region().is_some(),
            "no AWS region configured: pass --region or set AWS_REGION"
        );
        let account_id = match &args.account_id {
            Some(id) => id.clone(),
            None => clients
                .account_id()
                .await
                .context("cannot find the account id (pass --account-id)")?,
        };
        Ok(Self {
            clients,
            account_id,
            store: FileActionStore::new(&args.state_dir),
        })
    }

    pub fn reader(&self) -> SnapshotReader {
        SnapshotReader::new(self.clients.clone(), &self.account_id)
    }

    pub fn remediator(&self) -> Remediator {
        Remediator::new(self.reader())
    }
}
