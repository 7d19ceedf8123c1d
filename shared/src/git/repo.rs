//! The git CLI: clone, branch, commit and push. Authentication over HTTPS is an
//! `Authorization` header passed through git's environment configuration
//! (`GIT_CONFIG_COUNT`), so the token is never in a URL, an argument list or a log line.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use tokio::process::Command;

use super::{GitError, Token};

/// Who commits.
const AUTHOR_NAME: &str = "bucketward";
const AUTHOR_EMAIL: &str = "bucketward@users.noreply.github.com";

/// A clone in a working directory.
pub struct Clone {
    pub dir: PathBuf,
    url: String,
    token: Option<Token>,
}

impl Clone {
    /// Clones `branch` of `url` into `dir` (shallow).
    pub async fn new(
        url: &str,
        branch: &str,
        dir: &Path,
        token: Option<Token>,
    ) -> Result<Self, GitError> {
        let clone = Self {
            dir: dir.to_path_buf(),
            url: url.to_owned(),
            token,
        };
        clone
            .run(
                None,
                &[
                    "clone",
                    "--quiet",
                    "--depth",
                    "1",
                    "--single-branch",
                    "--branch",
                    branch,
                    "--",
                    url,
                    &dir.to_string_lossy(),
                ],
            )
            .await?;
        Ok(clone)
    }

    /// Runs git in the clone (or, with `cwd` `None`, where the process is).
    async fn run(&self, cwd: Option<&Path>, args: &[&str]) -> Result<String, GitError> {
        let mut command = Command::new("git");
        command
            .args(["-c", &format!("user.name={AUTHOR_NAME}")])
            .args(["-c", &format!("user.email={AUTHOR_EMAIL}")])
            .args(["-c", "commit.gpgsign=false"])
            .args(args)
            .env("GIT_TERMINAL_PROMPT", "0")
            .kill_on_drop(true);
        if let Some(dir) = cwd {
            command.current_dir(dir);
        }
        if let (Some(token), true) = (&self.token, self.url.starts_with("https://")) {
            let basic = base64::engine::general_purpose::STANDARD
                .encode(format!("x-access-token:{}", token.expose()));
            command
                .env("GIT_CONFIG_COUNT", "1")
                .env("GIT_CONFIG_KEY_0", "http.extraHeader")
                .env(
                    "GIT_CONFIG_VALUE_0",
                    format!("Authorization: Basic {basic}"),
                );
        }
        let output = command.output().await.map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                GitError::NoGit
            } else {
                GitError::Spawn(e.to_string())
            }
        })?;
        let scrub = |bytes: &[u8]| {
            let text = String::from_utf8_lossy(bytes).trim().to_owned();
            match &self.token {
                Some(t) if !t.expose().is_empty() => text.replace(t.expose(), "***"),
                _ => text,
            }
        };
        if output.status.success() {
            Ok(scrub(&output.stdout))
        } else {
            Err(GitError::Command {
                command: args.first().copied().unwrap_or("git").to_owned(),
                message: scrub(&output.stderr),
            })
        }
    }

    async fn here(&self, args: &[&str]) -> Result<String, GitError> {
        self.run(Some(&self.dir), args).await
    }

    /// The commit a remote branch points at, if it exists.
    pub async fn remote_head(&self, branch: &str) -> Result<Option<String>, GitError> {
        let out = self
            .here(&[
                "ls-remote",
                "--heads",
                "origin",
                &format!("refs/heads/{branch}"),
            ])
            .await?;
        Ok(out.split_whitespace().next().map(str::to_owned))
    }

    /// Commits `files` (paths relative to the clone) on a new local `branch` from the checked
    /// out base. Returns the commit id.
    pub async fn commit(
        &self,
        branch: &str,
        files: &[String],
        message: &str,
    ) -> Result<String, GitError> {
        self.here(&["checkout", "--quiet", "-B", branch]).await?;
        let mut add = vec!["add", "--"];
        add.extend(files.iter().map(String::as_str));
        self.here(&add).await?;
        self.here(&["commit", "--quiet", "--no-verify", "-m", message])
            .await?;
        self.here(&["rev-parse", "HEAD"]).await
    }

    /// Whether the tree of `HEAD` equals the tree of the remote branch at `commit`.
    pub async fn same_tree_as(&self, branch: &str, commit: &str) -> Result<bool, GitError> {
        self.here(&["fetch", "--quiet", "--depth", "1", "origin", branch])
            .await?;
        let theirs = self
            .here(&["rev-parse", &format!("{commit}^{{tree}}")])
            .await?;
        let ours = self.here(&["rev-parse", "HEAD^{tree}"]).await?;
        Ok(theirs == ours)
    }

    /// Pushes the local branch, replacing the remote one (bucketward owns its branches).
    pub async fn push(&self, branch: &str) -> Result<(), GitError> {
        self.here(&[
            "push",
            "--quiet",
            "--force",
            "origin",
            &format!("{branch}:refs/heads/{branch}"),
        ])
        .await
        .map(|_| ())
    }
}
