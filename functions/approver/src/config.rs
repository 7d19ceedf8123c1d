//! The approver's configuration, read once at start-up; a bad value fails fast with a message
//! naming the variable (never the key itself).

use std::collections::HashMap;

use bucketward::approval::parse_key;
use bucketward::aws::approvals::ApproveOptions;
use bucketward::config::{
    audit_key_from_vars, parse_bool, plan_and_snapshot_from_vars, ConfigError,
};

/// What the approver needs.
///
/// - `BUCKETWARD_AUDIT_TABLE` (required): where proposals are kept.
/// - `BUCKETWARD_TOKEN_TABLE` (required): used token nonces (a table keyed by a string `pk`
///   with TTL on `expires_at`; the dedupe table will do).
/// - `BUCKETWARD_APPROVAL_KEY` (required): the HMAC key approval links are signed with: 64 hex
///   digits (`openssl rand -hex 32`), or at least 16 raw bytes. The template injects it from a
///   Secrets Manager secret (`{{resolve:secretsmanager:…}}`); the same key signs the links.
/// - `BUCKETWARD_TOPIC_ARN` (optional): notifications of the decisions.
/// - `BUCKETWARD_AUDIT_KEY` (optional): as for the other Lambdas, every record saved (the
///   applied action, the approved or rejected proposal) is also appended to the audit chain.
/// - `BUCKETWARD_ACCOUNT_ID` (optional, else STS).
/// - `BUCKETWARD_ENFORCE_OWNERSHIP`, `BUCKETWARD_ACCESS_POINTS` (optional): as for the
///   remediator, so that an approved fix is planned the way the remediator plans.
/// - `BUCKETWARD_APPROVAL_CONFIRM` (optional): `true` makes a GET show the proposal with
///   approve and reject buttons, and only a POST decides, so that mail scanners that follow
///   links cannot approve (or use up) a link.
pub struct ApproverConfig {
    pub audit_table: String,
    pub token_table: String,
    pub topic_arn: Option<String>,
    pub account_id: Option<String>,
    pub key: Vec<u8>,
    pub audit_key: Option<Vec<u8>>,
    pub confirm_get: bool,
    pub approve: ApproveOptions,
}

impl std::fmt::Debug for ApproverConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApproverConfig")
            .field("audit_table", &self.audit_table)
            .field("token_table", &self.token_table)
            .field("topic_arn", &self.topic_arn)
            .field("account_id", &self.account_id)
            .field("key", &"(hidden)")
            .field("audit_key", &self.audit_key.as_ref().map(|_| "(hidden)"))
            .field("confirm_get", &self.confirm_get)
            .field("approve", &self.approve)
            .finish()
    }
}

impl ApproverConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(&std::env::vars().collect())
    }

    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let get = |name: &'static str| vars.get(name).map(String::as_str).filter(|v| !v.is_empty());
        let required = |name: &'static str| {
            get(name)
                .map(str::to_owned)
                .ok_or(ConfigError::Missing(name))
        };
        let flag = |name: &'static str| get(name).map_or(Ok(false), |v| parse_bool(name, v));
        let (plan, snapshot) = plan_and_snapshot_from_vars(vars)?;
        let key = parse_key(
            get("BUCKETWARD_APPROVAL_KEY")
                .ok_or(ConfigError::Missing("BUCKETWARD_APPROVAL_KEY"))?,
        )
        .map_err(|e| ConfigError::Invalid {
            name: "BUCKETWARD_APPROVAL_KEY",
            value: "(hidden)".to_owned(),
            reason: e.to_string(),
        })?;
        Ok(Self {
            audit_table: required("BUCKETWARD_AUDIT_TABLE")?,
            token_table: required("BUCKETWARD_TOKEN_TABLE")?,
            topic_arn: get("BUCKETWARD_TOPIC_ARN").map(str::to_owned),
            account_id: get("BUCKETWARD_ACCOUNT_ID").map(str::to_owned),
            key,
            audit_key: audit_key_from_vars(vars)?,
            confirm_get: flag("BUCKETWARD_APPROVAL_CONFIRM")?,
            approve: ApproveOptions { plan, snapshot },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    const BASE: [(&str, &str); 3] = [
        ("BUCKETWARD_AUDIT_TABLE", "audit"),
        ("BUCKETWARD_TOKEN_TABLE", "tokens"),
        (
            "BUCKETWARD_APPROVAL_KEY",
            "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
        ),
    ];

    #[test]
    fn reads_the_key_as_hex_and_never_prints_it() {
        let config = ApproverConfig::from_vars(&vars(&BASE)).unwrap();
        assert_eq!(config.key.len(), 32);
        assert!(!config.confirm_get);
        assert!(!format!("{config:?}").contains("00112233"));
    }

    #[test]
    fn names_missing_and_bad_variables_without_the_key() {
        let err = ApproverConfig::from_vars(&vars(&BASE[..2])).unwrap_err();
        assert!(err.to_string().contains("BUCKETWARD_APPROVAL_KEY"), "{err}");
        let mut short = vars(&BASE);
        short.insert("BUCKETWARD_APPROVAL_KEY".into(), "tiny-secret".into());
        let err = ApproverConfig::from_vars(&short).unwrap_err().to_string();
        assert!(err.contains("at least 16"), "{err}");
        assert!(!err.contains("tiny-secret"), "{err}");
        let mut bad = vars(&BASE);
        bad.insert("BUCKETWARD_APPROVAL_CONFIRM".into(), "maybe".into());
        assert!(ApproverConfig::from_vars(&bad).is_err());
    }
}
