//! Git mode's configuration in AWS: the token is read from Secrets Manager at run time
//! (`BUCKETWARD_GIT_TOKEN_SECRET_ARN`), so it is never in the function's configuration.

use std::collections::HashMap;

use super::Clients;
use crate::git::{GitConfig, GitError, Token};

/// Reads a secret's string value (a plain token, or JSON with a `token` field).
pub async fn secret_token(clients: &Clients, secret: &str) -> Result<Token, GitError> {
    let client = aws_sdk_secretsmanager::Client::new(clients.sdk_config());
    let out = client
        .get_secret_value()
        .secret_id(secret)
        .send()
        .await
        .map_err(|e| {
            GitError::Config(format!(
                "cannot read the git token from Secrets Manager ({secret}): {}",
                super::error::aws_error("GetSecretValue", e)
            ))
        })?;
    let value = out.secret_string().unwrap_or_default();
    let token = serde_json::from_str::<serde_json::Value>(value)
        .ok()
        .and_then(|v| v.get("token").and_then(|t| t.as_str()).map(str::to_owned))
        .unwrap_or_else(|| value.to_owned());
    if token.trim().is_empty() {
        return Err(GitError::Config(format!("the secret {secret} is empty")));
    }
    Ok(Token::new(token))
}

/// Git mode's configuration from the environment, `None` when no repository is set.
pub async fn git_config_from_vars(
    clients: &Clients,
    vars: &HashMap<String, String>,
) -> Result<Option<GitConfig>, GitError> {
    let repository = vars
        .get("BUCKETWARD_GIT_REPOSITORY")
        .is_some_and(|v| !v.is_empty());
    if !repository {
        return Ok(None);
    }
    let token = match vars
        .get("BUCKETWARD_GIT_TOKEN_SECRET_ARN")
        .filter(|v| !v.is_empty())
    {
        Some(secret) => Some(secret_token(clients, secret).await?),
        None => None,
    };
    GitConfig::from_vars(vars, token)
}

/// Git mode's configuration for a Lambda, from its environment, once per cold start. A git
/// mode that cannot be configured must not stop the other modes: the problem is logged, git
/// mode stays off, and buckets in git mode are recorded as failures that say why.
pub async fn git_config_from_env(clients: &Clients) -> Option<GitConfig> {
    let vars: HashMap<String, String> = std::env::vars().collect();
    match git_config_from_vars(clients, &vars).await {
        Ok(git) => git,
        Err(e) => {
            tracing::error!(error = %e, "git mode is not usable");
            None
        }
    }
}
