//! The GitHub REST API calls git mode makes: find the open pull request of a branch, open one,
//! update one. <https://docs.github.com/en/rest/pulls/pulls>

use serde::{Deserialize, Serialize};

use super::{GitError, Token};

/// A pull request, as much of it as bucketward reads.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PullRequest {
    pub number: u64,
    pub html_url: String,
    pub state: String,
}

#[derive(Serialize)]
struct NewPull<'a> {
    title: &'a str,
    head: &'a str,
    base: &'a str,
    body: &'a str,
    maintainer_can_modify: bool,
}

#[derive(Serialize)]
struct PullUpdate<'a> {
    title: &'a str,
    body: &'a str,
}

/// A client for one repository.
pub struct GitHub {
    client: reqwest::Client,
    api: String,
    /// `owner/name`.
    pub repository: String,
    token: Token,
}

impl std::fmt::Debug for GitHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHub")
            .field("api", &self.api)
            .field("repository", &self.repository)
            .finish_non_exhaustive()
    }
}

impl GitHub {
    pub fn new(api: &str, repository: &str, token: Token) -> Result<Self, GitError> {
        let client = reqwest::Client::builder()
            .user_agent(concat!("bucketward/", env!("CARGO_PKG_VERSION")))
            .timeout(std::time::Duration::from_secs(20))
            .build()
            .map_err(|e| GitError::GitHub {
                status: None,
                message: format!("cannot build the HTTP client: {e}"),
            })?;
        Ok(Self {
            client,
            api: api.trim_end_matches('/').to_owned(),
            repository: repository.to_owned(),
            token,
        })
    }

    fn owner(&self) -> &str {
        self.repository.split('/').next().unwrap_or_default()
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(
                method,
                format!("{}/repos/{}{path}", self.api, self.repository),
            )
            .bearer_auth(self.token.expose())
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28")
    }

    async fn send<T: serde::de::DeserializeOwned>(
        request: reqwest::RequestBuilder,
    ) -> Result<T, GitError> {
        let response = request.send().await.map_err(|e| GitError::GitHub {
            status: None,
            message: e.without_url().to_string(),
        })?;
        let status = response.status();
        let text = response.text().await.map_err(|e| GitError::GitHub {
            status: Some(status.as_u16()),
            message: e.without_url().to_string(),
        })?;
        if !status.is_success() {
            let message = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
                .unwrap_or_else(|| text.chars().take(300).collect());
            return Err(GitError::GitHub {
                status: Some(status.as_u16()),
                message,
            });
        }
        serde_json::from_str(&text).map_err(|e| GitError::GitHub {
            status: Some(status.as_u16()),
            message: format!("unexpected response: {e}"),
        })
    }

    /// The open pull request whose head is `branch` of this repository, if any.
    pub async fn open_pull(&self, branch: &str) -> Result<Option<PullRequest>, GitError> {
        let head = format!("{}:{branch}", self.owner());
        let pulls: Vec<PullRequest> = Self::send(
            self.request(reqwest::Method::GET, "/pulls")
                .query(&[("state", "open"), ("head", head.as_str())]),
        )
        .await?;
        Ok(pulls.into_iter().find(|p| p.state == "open"))
    }

    pub async fn create_pull(
        &self,
        title: &str,
        branch: &str,
        base: &str,
        body: &str,
    ) -> Result<PullRequest, GitError> {
        Self::send(
            self.request(reqwest::Method::POST, "/pulls")
                .json(&NewPull {
                    title,
                    head: branch,
                    base,
                    body,
                    maintainer_can_modify: true,
                }),
        )
        .await
    }

    pub async fn update_pull(
        &self,
        number: u64,
        title: &str,
        body: &str,
    ) -> Result<PullRequest, GitError> {
        Self::send(
            self.request(reqwest::Method::PATCH, &format!("/pulls/{number}"))
                .json(&PullUpdate { title, body }),
        )
        .await
    }
}
