//! Verdict -> what to do about it. Pure. The classification and exception issues extend the
//! input; the pipeline only sees a [`Decision`].

use serde::{Deserialize, Serialize};

use crate::exposure::Verdict;

/// How bucketward acts on a public bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Fix at once.
    #[default]
    Autopilot,
    /// Propose a fix and wait for an approval.
    Copilot,
    /// Report only.
    DryRun,
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "autopilot" => Ok(Self::Autopilot),
            "copilot" | "co-pilot" => Ok(Self::Copilot),
            "dry-run" | "dryrun" | "dry_run" => Ok(Self::DryRun),
            other => Err(format!(
                "unknown mode `{other}` (expected autopilot, copilot or dry-run)"
            )),
        }
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Autopilot => "autopilot",
            Self::Copilot => "copilot",
            Self::DryRun => "dry-run",
        })
    }
}

/// What the configuration says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecideConfig {
    pub mode: Mode,
    /// Also act on buckets that are not public but lack bucket-level BPA.
    pub harden_missing_bpa: bool,
}

/// What the pipeline does with one bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    /// Nothing to do, and why.
    NoAction { reason: String },
    /// Apply the plan now.
    Remediate { mode: Mode },
    /// Propose the plan and wait for an approval.
    Propose { mode: Mode },
    /// Report what would be done.
    Report { mode: Mode },
}

impl Decision {
    pub fn mode(&self) -> Option<Mode> {
        match self {
            Self::NoAction { .. } => None,
            Self::Remediate { mode } | Self::Propose { mode } | Self::Report { mode } => {
                Some(*mode)
            }
        }
    }
}

/// Decides what to do with a bucket.
pub fn decide(verdict: &Verdict, config: &DecideConfig) -> Decision {
    let bpa_missing = verdict
        .findings
        .iter()
        .any(|f| f.code == "bpa.bucket_incomplete");
    let needs_action =
        verdict.public || verdict.has_latent() || (config.harden_missing_bpa && bpa_missing);
    if !needs_action {
        return Decision::NoAction {
            reason: "not public, nothing latent".to_owned(),
        };
    }
    match config.mode {
        Mode::Autopilot => Decision::Remediate {
            mode: Mode::Autopilot,
        },
        Mode::Copilot => Decision::Propose {
            mode: Mode::Copilot,
        },
        Mode::DryRun => Decision::Report { mode: Mode::DryRun },
    }
}
