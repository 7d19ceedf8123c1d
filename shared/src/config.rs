//! Configuration from the environment, read once at start-up; a bad value fails fast with a
//! message naming the variable.

use std::collections::HashMap;

use crate::decide::{CategoryModes, DecideConfig, Mode};
use crate::pipeline::PipelineConfig;
use crate::plan::PlanOptions;

/// Why the configuration was rejected.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable `{0}` is required")]
    Missing(&'static str),
    #[error("environment variable `{name}` has an invalid value `{value}`: {reason}")]
    Invalid {
        name: &'static str,
        value: String,
        reason: String,
    },
}

/// The Lambdas' configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub audit_table: String,
    pub dedupe_table: String,
    pub topic_arn: String,
    pub account_id: Option<String>,
    /// Exceptions (optional: without a table, no bucket is excepted).
    pub exceptions_table: Option<String>,
    /// The audit chain's signing key (`BUCKETWARD_AUDIT_KEY`); without it, action records are
    /// kept but not chained.
    pub audit_key: Option<Vec<u8>>,
    pub pipeline: PipelineConfig,
}

/// Reads a boolean variable value: true/1/yes or false/0/no/empty.
pub fn parse_bool(name: &'static str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" | "" => Ok(false),
        _ => Err(ConfigError::Invalid {
            name,
            value: value.to_owned(),
            reason: "expected true or false".to_owned(),
        }),
    }
}

impl Config {
    /// The action store of the Lambdas: records in the audit table, each also appended to the
    /// account's audit chain when a key is configured.
    pub fn action_store(
        &self,
        client: &aws_sdk_dynamodb::Client,
        account_id: &str,
    ) -> crate::audit::store::AuditedStore<
        crate::aws::dynamo::DynamoActionStore,
        crate::audit::DynamoAuditLog,
    > {
        crate::audit::store::AuditedStore {
            inner: crate::aws::dynamo::DynamoActionStore::new(client.clone(), &self.audit_table),
            audit: self.audit_key.as_ref().map(|key| {
                crate::audit::DynamoAuditLog::new(
                    client.clone(),
                    &self.audit_table,
                    account_id,
                    key.clone(),
                )
            }),
        }
    }

    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(&std::env::vars().collect())
    }

    /// Reads a set of variables (testable without touching the process environment).
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let get = |name: &'static str| vars.get(name).map(String::as_str).filter(|v| !v.is_empty());
        let required = |name: &'static str| {
            get(name)
                .map(str::to_owned)
                .ok_or(ConfigError::Missing(name))
        };
        let flag = |name: &'static str| get(name).map_or(Ok(false), |v| parse_bool(name, v));
        let mode_var = |name: &'static str| -> Result<Option<Mode>, ConfigError> {
            get(name)
                .map(|v| {
                    v.parse().map_err(|reason| ConfigError::Invalid {
                        name,
                        value: v.to_owned(),
                        reason,
                    })
                })
                .transpose()
        };
        // A JSON document first, then one variable per category, then one mode for all.
        let mut modes = match get("BUCKETWARD_MODES") {
            None => CategoryModes::default(),
            Some(v) => serde_json::from_str(v).map_err(|e| ConfigError::Invalid {
                name: "BUCKETWARD_MODES",
                value: v.to_owned(),
                reason: e.to_string(),
            })?,
        };
        if let Some(m) = mode_var("BUCKETWARD_MODE_SENSITIVE")? {
            modes.sensitive = m;
        }
        if let Some(m) = mode_var("BUCKETWARD_MODE_PUBLIC_CONTENT")? {
            modes.public_content = m;
        }
        if let Some(m) = mode_var("BUCKETWARD_MODE_UNKNOWN")? {
            modes.unknown = m;
        }
        if let Some(m) = mode_var("BUCKETWARD_MODE_PUBLIC_WRITE")? {
            modes.public_write = m;
        }
        if let Some(m) = mode_var("BUCKETWARD_MODE")? {
            modes = CategoryModes::all(m);
        }
        if flag("BUCKETWARD_DRY_RUN")? {
            modes = CategoryModes::all(Mode::DryRun);
        }
        let (plan, snapshot) = plan_and_snapshot_from_vars(vars)?;
        Ok(Self {
            audit_table: required("BUCKETWARD_AUDIT_TABLE")?,
            dedupe_table: required("BUCKETWARD_DEDUPE_TABLE")?,
            topic_arn: required("BUCKETWARD_TOPIC_ARN")?,
            account_id: get("BUCKETWARD_ACCOUNT_ID").map(str::to_owned),
            exceptions_table: get("BUCKETWARD_EXCEPTIONS_TABLE").map(str::to_owned),
            audit_key: audit_key_from_vars(vars)?,
            pipeline: PipelineConfig {
                decide: DecideConfig {
                    modes,
                    harden_missing_bpa: flag("BUCKETWARD_HARDEN_BPA")?,
                },
                plan,
                snapshot,
            },
        })
    }
}

fn lookup<'a>(vars: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    vars.get(name).map(String::as_str).filter(|v| !v.is_empty())
}

/// How every function plans and reads a bucket: `BUCKETWARD_ENFORCE_OWNERSHIP` and
/// `BUCKETWARD_ENFORCE_ACCOUNT_BPA` (default off) and `BUCKETWARD_ACCESS_POINTS` (default on:
/// one more call per bucket). Shared so that an
/// approved fix is planned the way the remediator plans it.
pub fn plan_and_snapshot_from_vars(
    vars: &HashMap<String, String>,
) -> Result<(PlanOptions, crate::aws::s3::SnapshotOptions), ConfigError> {
    let flag = |name: &'static str, default: bool| {
        lookup(vars, name).map_or(Ok(default), |v| parse_bool(name, v))
    };
    Ok((
        PlanOptions {
            enforce_ownership: flag("BUCKETWARD_ENFORCE_OWNERSHIP", false)?,
            // Applied by autopilot only (the pipeline decides), refused while an exception
            // needs a public bucket.
            account_bpa: flag("BUCKETWARD_ENFORCE_ACCOUNT_BPA", false)?,
            ..PlanOptions::default()
        },
        crate::aws::s3::SnapshotOptions {
            objects: crate::aws::s3::ObjectSampling::None,
            access_points: flag("BUCKETWARD_ACCESS_POINTS", true)?,
            lean: false,
        },
    ))
}

/// The audit chain's key from `BUCKETWARD_AUDIT_KEY`, if set; the error never shows the key.
pub fn audit_key_from_vars(vars: &HashMap<String, String>) -> Result<Option<Vec<u8>>, ConfigError> {
    lookup(vars, crate::audit::AUDIT_KEY_ENV)
        .map(|v| {
            crate::audit::parse_audit_key(v).map_err(|e| ConfigError::Invalid {
                name: crate::audit::AUDIT_KEY_ENV,
                value: "(hidden)".to_owned(),
                reason: e.to_string(),
            })
        })
        .transpose()
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
        ("BUCKETWARD_DEDUPE_TABLE", "dedupe"),
        (
            "BUCKETWARD_TOPIC_ARN",
            "arn:aws:sns:us-east-1:123456789012:t",
        ),
    ];

    #[test]
    fn names_the_missing_variable() {
        let err = Config::from_vars(&vars(&BASE[..2])).unwrap_err();
        assert!(err.to_string().contains("BUCKETWARD_TOPIC_ARN"));
    }

    #[test]
    fn dry_run_overrides_the_mode_and_bad_values_fail() {
        let mut v = vars(&BASE);
        v.insert("BUCKETWARD_MODE".into(), "autopilot".into());
        v.insert("BUCKETWARD_DRY_RUN".into(), "true".into());
        assert_eq!(
            Config::from_vars(&v).unwrap().pipeline.decide.modes,
            CategoryModes::all(Mode::DryRun)
        );
        v.insert("BUCKETWARD_MODE".into(), "yolo".into());
        assert!(Config::from_vars(&v)
            .unwrap_err()
            .to_string()
            .contains("yolo"));
    }

    #[test]
    fn modes_per_category_from_json_and_variables() {
        let mut v = vars(&BASE);
        assert_eq!(
            Config::from_vars(&v).unwrap().pipeline.decide.modes,
            CategoryModes::default()
        );
        v.insert("BUCKETWARD_MODES".into(), r#"{"sensitive":"copilot","public_content":"dry-run","unknown":"copilot","public_write":"autopilot"}"#.into());
        v.insert("BUCKETWARD_MODE_UNKNOWN".into(), "autopilot".into());
        let modes = Config::from_vars(&v).unwrap().pipeline.decide.modes;
        assert_eq!(
            (modes.sensitive, modes.public_content, modes.unknown),
            (Mode::Copilot, Mode::DryRun, Mode::Autopilot)
        );
    }
}
