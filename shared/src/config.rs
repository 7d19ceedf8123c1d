//! Configuration from the environment, read once at start-up; a bad value fails fast with a
//! message naming the variable.

use std::collections::HashMap;

use crate::decide::{DecideConfig, Mode};
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
    pub pipeline: PipelineConfig,
}

fn parse_bool(name: &'static str, value: &str) -> Result<bool, ConfigError> {
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
        let mode = match get("BUCKETWARD_MODE") {
            None => Mode::Copilot,
            Some(v) => v.parse().map_err(|reason| ConfigError::Invalid {
                name: "BUCKETWARD_MODE",
                value: v.to_owned(),
                reason,
            })?,
        };
        let mode = if flag("BUCKETWARD_DRY_RUN")? {
            Mode::DryRun
        } else {
            mode
        };
        Ok(Self {
            audit_table: required("BUCKETWARD_AUDIT_TABLE")?,
            dedupe_table: required("BUCKETWARD_DEDUPE_TABLE")?,
            topic_arn: required("BUCKETWARD_TOPIC_ARN")?,
            account_id: get("BUCKETWARD_ACCOUNT_ID").map(str::to_owned),
            pipeline: PipelineConfig {
                decide: DecideConfig {
                    mode,
                    harden_missing_bpa: flag("BUCKETWARD_HARDEN_BPA")?,
                },
                plan: PlanOptions {
                    enforce_ownership: flag("BUCKETWARD_ENFORCE_OWNERSHIP")?,
                    ..PlanOptions::default()
                },
                snapshot: crate::aws::s3::SnapshotOptions {
                    objects: crate::aws::s3::ObjectSampling::None,
                    access_points: flag("BUCKETWARD_ACCESS_POINTS")?,
                    lean: false,
                },
            },
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
            Config::from_vars(&v).unwrap().pipeline.decide.mode,
            Mode::DryRun
        );
        v.insert("BUCKETWARD_MODE".into(), "yolo".into());
        assert!(Config::from_vars(&v)
            .unwrap_err()
            .to_string()
            .contains("yolo"));
    }
}
