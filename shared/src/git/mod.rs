//! Git mode, the edges: clone the infrastructure repository, patch the bucket's resources
//! ([`crate::iac`]), commit on `bucketward/<bucket>`, push, and open the pull request through
//! the GitHub REST API, or update the one already open for that bucket.
//!
//! Needs a `git` binary on `PATH` (in Lambda, from a layer; see docs/deploy.md).

pub mod body;
pub mod github;
pub mod repo;

use std::collections::HashMap;
use std::path::Path;

use crate::action::{ActionRecord, PullRequestRef};
use crate::iac::{self, FixRequest, IacFix, SourceFile};
use crate::policy::ExposureKinds;

/// A secret token: never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into().trim().to_owned())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(***)")
    }
}

/// Why git mode could not open or update a pull request.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("git mode needs the `git` command on PATH (in Lambda, add a layer that provides it)")]
    NoGit,
    #[error("cannot run git: {0}")]
    Spawn(String),
    #[error("git {command} failed: {message}")]
    Command { command: String, message: String },
    #[error("GitHub API{}: {message}", status.map(|s| format!(" ({s})")).unwrap_or_default())]
    GitHub {
        status: Option<u16>,
        message: String,
    },
    #[error(transparent)]
    Iac(#[from] iac::IacError),
    #[error("cannot read the repository: {0}")]
    Io(String),
    #[error(
        "the repository already configures `{bucket}` without public access: the live bucket \
         drifted from its code; apply the code or run `bucketward remediate`"
    )]
    NothingToChange { bucket: String },
    #[error("git mode is not configured: {0}")]
    Config(String),
}

/// Where the infrastructure code lives and how to reach it.
#[derive(Debug, Clone)]
pub struct GitConfig {
    /// The clone URL (`https://github.com/owner/name.git`, or a path for a local repository).
    pub repository: String,
    /// The branch pull requests target.
    pub base_branch: String,
    /// The folder holding the infrastructure code (`""` for the whole repository).
    pub path: String,
    /// `owner/name` on GitHub.
    pub github_repository: String,
    /// The REST API root (`https://api.github.com`, or a GitHub Enterprise one).
    pub api_url: String,
    pub token: Token,
    /// A link to the audit record, `{action_id}` replaced.
    pub audit_link: Option<String>,
}

/// `owner/name` from a GitHub clone URL.
pub fn github_repository_of(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("https://github.com/")
        .or_else(|| url.strip_prefix("git@github.com:"))?;
    let rest = rest.trim_end_matches('/').trim_end_matches(".git");
    let mut parts = rest.split('/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(owner), Some(name), None) if !owner.is_empty() && !name.is_empty() => {
            Some(format!("{owner}/{name}"))
        }
        _ => None,
    }
}

impl GitConfig {
    /// From `BUCKETWARD_GIT_*` variables; `None` when no repository is set. The token is given
    /// separately (an environment variable, or read from Secrets Manager by the caller).
    pub fn from_vars(
        vars: &HashMap<String, String>,
        token: Option<Token>,
    ) -> Result<Option<Self>, GitError> {
        let get = |name: &str| vars.get(name).map(String::as_str).filter(|v| !v.is_empty());
        let Some(repository) = get("BUCKETWARD_GIT_REPOSITORY") else {
            return Ok(None);
        };
        let github_repository = get("BUCKETWARD_GITHUB_REPOSITORY")
            .map(str::to_owned)
            .or_else(|| github_repository_of(repository))
            .ok_or_else(|| {
                GitError::Config(format!(
                    "cannot tell the GitHub repository of `{repository}`: set \
                     BUCKETWARD_GITHUB_REPOSITORY=owner/name"
                ))
            })?;
        let token = token
            .or_else(|| get("BUCKETWARD_GIT_TOKEN").map(Token::new))
            .ok_or_else(|| {
                GitError::Config(
                    "no token: set BUCKETWARD_GIT_TOKEN_SECRET_ARN (Secrets Manager) or \
                     BUCKETWARD_GIT_TOKEN"
                        .to_owned(),
                )
            })?;
        Ok(Some(Self {
            repository: repository.to_owned(),
            base_branch: get("BUCKETWARD_GIT_BRANCH").unwrap_or("main").to_owned(),
            path: get("BUCKETWARD_GIT_PATH")
                .unwrap_or("")
                .trim_matches('/')
                .to_owned(),
            github_repository,
            api_url: get("BUCKETWARD_GITHUB_API_URL")
                .unwrap_or("https://api.github.com")
                .to_owned(),
            token,
            audit_link: get("BUCKETWARD_AUDIT_LINK").map(str::to_owned),
        }))
    }
}

/// The branch that carries a bucket's fix.
pub fn branch_for(bucket: &str) -> String {
    format!("bucketward/{bucket}")
}

/// Infrastructure files are small; anything larger is not one.
const MAX_FILE_BYTES: u64 = 1 << 20;

/// The infrastructure files under `root/sub`, with paths relative to `root`.
fn read_files(root: &Path, sub: &str) -> Result<Vec<SourceFile>, GitError> {
    let mut files = Vec::new();
    let mut stack = vec![root.join(sub)];
    while let Some(dir) = stack.pop() {
        let entries =
            std::fs::read_dir(&dir).map_err(|e| GitError::Io(format!("{}: {e}", dir.display())))?;
        for entry in entries {
            let entry = entry.map_err(|e| GitError::Io(e.to_string()))?;
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let kind = entry.file_type().map_err(|e| GitError::Io(e.to_string()))?;
            if kind.is_dir() {
                if !name.starts_with('.') && name != "node_modules" {
                    stack.push(path);
                }
                continue;
            }
            let relevant = name.ends_with(".tf") || iac::cloudformation::is_template_path(&name);
            let small = entry.metadata().is_ok_and(|m| m.len() <= MAX_FILE_BYTES);
            if !kind.is_file() || !relevant || !small {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let relative = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            files.push(SourceFile {
                path: relative,
                text,
            });
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// Opens (or updates) the pull request that fixes `record`'s bucket in code.
pub async fn propose(
    config: &GitConfig,
    record: &ActionRecord,
) -> Result<(PullRequestRef, IacFix), GitError> {
    let github = github::GitHub::new(
        &config.api_url,
        &config.github_repository,
        config.token.clone(),
    )?;
    let workdir = tempfile::tempdir().map_err(|e| GitError::Io(e.to_string()))?;
    let dir = workdir.path().join("repo");
    let clone = repo::Clone::new(
        &config.repository,
        &config.base_branch,
        &dir,
        Some(config.token.clone()),
    )
    .await?;
    let files = read_files(&dir, &config.path)?;
    let request = FixRequest {
        bucket: &record.bucket,
        account_id: &record.account_id,
        plan: &record.plan,
        allowed: record.allowed.unwrap_or(ExposureKinds::NONE),
    };
    let mut fix = iac::fix_repository(&files, &request)?;
    if fix.is_empty() {
        return Err(GitError::NothingToChange {
            bucket: record.bucket.clone(),
        });
    }
    // New files go in the configured folder.
    for edit in &mut fix.edits {
        if edit.before.is_none() && !config.path.is_empty() {
            edit.path = format!("{}/{}", config.path, edit.path);
        }
        let target = dir.join(&edit.path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| GitError::Io(e.to_string()))?;
        }
        std::fs::write(&target, &edit.after).map_err(|e| GitError::Io(e.to_string()))?;
    }
    let paths: Vec<String> = fix.edits.iter().map(|e| e.path.clone()).collect();
    let branch = branch_for(&record.bucket);
    let commit = clone
        .commit(&branch, &paths, &body::commit_message(record, &fix))
        .await?;
    let existing = github.open_pull(&branch).await?;
    let remote = clone.remote_head(&branch).await?;
    let unchanged = match (&existing, &remote) {
        (Some(_), Some(head)) => clone.same_tree_as(&branch, head).await?,
        _ => false,
    };
    let (commit, pushed) = match (unchanged, remote) {
        (true, Some(head)) => (head, false),
        _ => {
            clone.push(&branch).await?;
            (commit, true)
        }
    };
    let audit_link = config
        .audit_link
        .as_ref()
        .map(|l| l.replace("{action_id}", &record.action_id));
    let text = body::body(&body::BodyInput {
        record,
        fix: &fix,
        audit_link: audit_link.as_deref(),
    });
    let title = body::title(record);
    let (pull, created) = match existing {
        Some(open) => (github.update_pull(open.number, &title, &text).await?, false),
        None => (
            github
                .create_pull(&title, &branch, &config.base_branch, &text)
                .await?,
            true,
        ),
    };
    tracing::info!(
        bucket = %record.bucket,
        pull_request = %pull.html_url,
        created,
        pushed,
        "pull request ready"
    );
    Ok((
        PullRequestRef {
            repository: config.github_repository.clone(),
            number: pull.number,
            url: pull.html_url,
            branch,
            commit,
            created,
            pushed,
            files: paths,
        },
        fix,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_repository_comes_from_the_url() {
        assert_eq!(
            github_repository_of("https://github.com/acme/infra.git").as_deref(),
            Some("acme/infra")
        );
        assert_eq!(
            github_repository_of("git@github.com:acme/infra").as_deref(),
            Some("acme/infra")
        );
        assert_eq!(github_repository_of("/srv/git/infra.git"), None);
    }

    #[test]
    fn config_needs_a_token_and_a_repository_name_and_never_prints_the_token() {
        let mut vars = HashMap::new();
        assert!(GitConfig::from_vars(&vars, None).unwrap().is_none());
        vars.insert(
            "BUCKETWARD_GIT_REPOSITORY".to_owned(),
            "/srv/git/infra.git".to_owned(),
        );
        let err = GitConfig::from_vars(&vars, None).unwrap_err();
        assert!(err.to_string().contains("BUCKETWARD_GITHUB_REPOSITORY"));
        vars.insert(
            "BUCKETWARD_GITHUB_REPOSITORY".to_owned(),
            "acme/infra".to_owned(),
        );
        assert!(GitConfig::from_vars(&vars, None)
            .unwrap_err()
            .to_string()
            .contains("no token"));
        vars.insert("BUCKETWARD_GIT_TOKEN".to_owned(), "ghp_secret".to_owned());
        let config = GitConfig::from_vars(&vars, None).unwrap().unwrap();
        assert_eq!(config.base_branch, "main");
        assert!(!format!("{config:?}").contains("ghp_secret"));
    }
}
