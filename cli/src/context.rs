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
    #[arg(
        long,
        global = true,
        env = "BUCKETWARD_STATE_DIR",
        default_value = ".bucketward/actions"
    )]
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

/// Where the CLI keeps action records: the DynamoDB audit table when `--audit-table` (or
/// BUCKETWARD_AUDIT_TABLE) is set, local files otherwise.
pub enum CliStore {
    Files(FileActionStore),
    Dynamo(
        bucketward::audit::store::AuditedStore<
            bucketward::aws::dynamo::DynamoActionStore,
            bucketward::audit::DynamoAuditLog,
        >,
    ),
}

impl bucketward::store::ActionStore for CliStore {
    async fn save(
        &self,
        record: &bucketward::action::ActionRecord,
    ) -> Result<(), bucketward::store::StoreError> {
        match self {
            Self::Files(s) => s.save(record).await,
            Self::Dynamo(s) => s.save(record).await,
        }
    }

    async fn load(
        &self,
        action_id: &str,
    ) -> Result<Option<bucketward::action::ActionRecord>, bucketward::store::StoreError> {
        match self {
            Self::Files(s) => s.load(action_id).await,
            Self::Dynamo(s) => s.load(action_id).await,
        }
    }

    async fn open_proposal(
        &self,
        bucket: &str,
    ) -> Result<Option<String>, bucketward::store::StoreError> {
        match self {
            Self::Files(s) => s.open_proposal(bucket).await,
            Self::Dynamo(s) => s.open_proposal(bucket).await,
        }
    }

    async fn set_open_proposal(
        &self,
        bucket: &str,
        action_id: &str,
    ) -> Result<(), bucketward::store::StoreError> {
        match self {
            Self::Files(s) => s.set_open_proposal(bucket, action_id).await,
            Self::Dynamo(s) => s.set_open_proposal(bucket, action_id).await,
        }
    }
}

/// Notifications go to SNS when a topic is configured, else only to the log.
pub enum CliNotifier {
    Sns(bucketward::aws::sns::SnsNotifier),
    Log,
}

impl bucketward::notify::Notifier for CliNotifier {
    async fn publish(
        &self,
        n: &bucketward::notify::Notification,
    ) -> Result<(), bucketward::store::StoreError> {
        match self {
            Self::Sns(s) => s.publish(n).await,
            Self::Log => {
                tracing::info!(subject = %n.subject, "notification (no topic configured)");
                Ok(())
            }
        }
    }
}

/// Where the pipeline's records, dedupe and notifications go.
#[derive(clap::Args, Debug, Clone)]
pub struct PipelineArgs {
    /// The DynamoDB audit table for action records (else local files under --state-dir).
    #[arg(long, env = "BUCKETWARD_AUDIT_TABLE")]
    pub audit_table: Option<String>,
    /// The SNS topic for notifications (else they are only logged).
    #[arg(long, env = "BUCKETWARD_TOPIC_ARN")]
    pub topic_arn: Option<String>,
    /// The DynamoDB dedupe table for event ids (else in memory, for this run).
    #[arg(long, env = "BUCKETWARD_DEDUPE_TABLE")]
    pub dedupe_table: Option<String>,
    /// The DynamoDB exceptions table (else no bucket is excepted).
    #[arg(long, env = "BUCKETWARD_EXCEPTIONS_TABLE")]
    pub exceptions_table: Option<String>,
    /// The audit chain's signing key: with an audit table, every action record is also
    /// appended to the tamper-evident chain.
    #[arg(long, env = "BUCKETWARD_AUDIT_KEY", hide_env_values = true)]
    pub audit_key: Option<String>,
    #[command(flatten)]
    pub git: GitArgs,
}

/// Git mode: where pull requests go. The token comes from `BUCKETWARD_GIT_TOKEN` or a Secrets
/// Manager secret, never from an argument (arguments are visible to other processes).
#[derive(clap::Args, Debug, Clone)]
pub struct GitArgs {
    /// The infrastructure repository (a clone URL, or a path to a local repository).
    #[arg(long = "repo", env = "BUCKETWARD_GIT_REPOSITORY")]
    pub repo: Option<String>,
    /// The branch pull requests target.
    #[arg(
        long = "repo-branch",
        env = "BUCKETWARD_GIT_BRANCH",
        default_value = "main"
    )]
    pub branch: String,
    /// The folder of the repository that holds the infrastructure code.
    #[arg(long = "repo-path", env = "BUCKETWARD_GIT_PATH", default_value = "")]
    pub path: String,
    /// `owner/name` on GitHub (read from a github.com URL when not given).
    #[arg(long = "github-repo", env = "BUCKETWARD_GITHUB_REPOSITORY")]
    pub github_repo: Option<String>,
    /// The GitHub REST API root (GitHub Enterprise: `https://HOST/api/v3`).
    #[arg(
        long = "github-api",
        env = "BUCKETWARD_GITHUB_API_URL",
        default_value = "https://api.github.com"
    )]
    pub github_api: String,
    /// A Secrets Manager secret holding the token (else `BUCKETWARD_GIT_TOKEN`).
    #[arg(long = "token-secret", env = "BUCKETWARD_GIT_TOKEN_SECRET_ARN")]
    pub token_secret: Option<String>,
    /// A link to the audit record for pull request bodies; `{action_id}` is replaced.
    #[arg(long = "audit-link", env = "BUCKETWARD_AUDIT_LINK")]
    pub audit_link: Option<String>,
}

impl Default for GitArgs {
    /// No repository: git mode off.
    fn default() -> Self {
        Self {
            repo: None,
            branch: "main".to_owned(),
            path: String::new(),
            github_repo: None,
            github_api: "https://api.github.com".to_owned(),
            token_secret: None,
            audit_link: None,
        }
    }
}

impl PipelineArgs {
    /// Git mode's configuration, when a repository is given.
    pub async fn git_config(
        &self,
        ctx: &Context,
    ) -> anyhow::Result<Option<bucketward::git::GitConfig>> {
        let git = &self.git;
        let mut vars = std::collections::HashMap::new();
        let mut set = |name: &str, value: Option<&String>| {
            if let Some(v) = value {
                vars.insert(name.to_owned(), v.clone());
            }
        };
        set("BUCKETWARD_GIT_REPOSITORY", git.repo.as_ref());
        set("BUCKETWARD_GIT_BRANCH", Some(&git.branch));
        set("BUCKETWARD_GIT_PATH", Some(&git.path));
        set("BUCKETWARD_GITHUB_REPOSITORY", git.github_repo.as_ref());
        set("BUCKETWARD_GITHUB_API_URL", Some(&git.github_api));
        set("BUCKETWARD_GIT_TOKEN_SECRET_ARN", git.token_secret.as_ref());
        set("BUCKETWARD_AUDIT_LINK", git.audit_link.as_ref());
        set(
            "BUCKETWARD_GIT_TOKEN",
            std::env::var("BUCKETWARD_GIT_TOKEN").ok().as_ref(),
        );
        Ok(bucketward::aws::git::git_config_from_vars(&ctx.clients, &vars).await?)
    }
}

/// Event ids: DynamoDB when a table is configured, else memory.
pub enum CliDedupe {
    Dynamo(bucketward::aws::dynamo::DynamoDedupe),
    Memory(bucketward::store::MemoryDedupe),
}

impl bucketward::store::EventDedupe for CliDedupe {
    async fn first_time(&self, event_id: &str) -> Result<bool, bucketward::store::StoreError> {
        match self {
            Self::Dynamo(d) => d.first_time(event_id).await,
            Self::Memory(d) => d.first_time(event_id).await,
        }
    }

    async fn forget(&self, event_id: &str) -> Result<(), bucketward::store::StoreError> {
        match self {
            Self::Dynamo(d) => d.forget(event_id).await,
            Self::Memory(d) => d.forget(event_id).await,
        }
    }
}

impl Context {
    /// The shared pipeline, wired for the terminal.
    pub async fn pipeline(
        &self,
        args: &PipelineArgs,
        config: bucketward::pipeline::PipelineConfig,
    ) -> anyhow::Result<bucketward::pipeline::Pipeline<CliStore, CliDedupe, CliNotifier>> {
        let dynamodb = &self.clients.dynamodb;
        let exceptions =
            bucketward::aws::dynamo::load_exceptions(dynamodb, args.exceptions_table.as_deref())
                .await
                .context("cannot read the exceptions table")?;
        Ok(bucketward::pipeline::Pipeline {
            remediator: self.remediator(),
            store: match &args.audit_table {
                Some(t) => {
                    let audit = match &args.audit_key {
                        Some(k) => Some(bucketward::audit::DynamoAuditLog::new(
                            dynamodb.clone(),
                            t,
                            &self.account_id,
                            bucketward::audit::parse_audit_key(k)?,
                        )),
                        None => None,
                    };
                    CliStore::Dynamo(bucketward::audit::store::AuditedStore {
                        inner: bucketward::aws::dynamo::DynamoActionStore::new(dynamodb.clone(), t),
                        audit,
                    })
                }
                None => CliStore::Files(self.store.clone()),
            },
            dedupe: match &args.dedupe_table {
                Some(t) => CliDedupe::Dynamo(bucketward::aws::dynamo::DynamoDedupe::new(
                    dynamodb.clone(),
                    t,
                )),
                None => CliDedupe::Memory(bucketward::store::MemoryDedupe::default()),
            },
            notifier: match &args.topic_arn {
                Some(t) => CliNotifier::Sns(bucketward::aws::sns::SnsNotifier::new(
                    self.clients.sns.clone(),
                    t,
                )),
                None => CliNotifier::Log,
            },
            config,
            exceptions,
            approval_links: None,
            git: args.git_config(self).await?,
        })
    }
}

/// The audit chain for CLI changes (rollbacks, exception changes): when an audit table is named
/// and `BUCKETWARD_AUDIT_KEY` is set.
pub fn audit_log(
    ctx: &Context,
    table: Option<&String>,
) -> anyhow::Result<Option<bucketward::audit::DynamoAuditLog>> {
    let (Some(table), Ok(key)) = (table, std::env::var(bucketward::audit::AUDIT_KEY_ENV)) else {
        return Ok(None);
    };
    Ok(Some(bucketward::audit::DynamoAuditLog::new(
        ctx.clients.dynamodb.clone(),
        table,
        &ctx.account_id,
        bucketward::audit::parse_audit_key(&key)?,
    )))
}

/// Appends one entry to the audit chain, when there is one.
pub async fn record_audit(
    log: Option<&bucketward::audit::DynamoAuditLog>,
    draft: bucketward::audit::AuditDraft,
) -> anyhow::Result<()> {
    use bucketward::audit::AuditLog as _;
    if let Some(log) = log {
        log.append(draft).await?;
    }
    Ok(())
}
