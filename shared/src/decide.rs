//! Verdict -> what to do about it. Pure. The classification and exception issues extend the
//! input; the pipeline only sees a [`Decision`].

use serde::{Deserialize, Serialize};

use crate::classify::Intent;
use crate::exception::ExceptionMatch;
use crate::exposure::Verdict;
use crate::policy::ExposureKinds;

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
    /// Open a pull request with the fix to the infrastructure code.
    Git,
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "autopilot" => Ok(Self::Autopilot),
            "copilot" | "co-pilot" => Ok(Self::Copilot),
            "dry-run" | "dryrun" | "dry_run" => Ok(Self::DryRun),
            "git" => Ok(Self::Git),
            other => Err(format!(
                "unknown mode `{other}` (expected autopilot, copilot, dry-run or git)"
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
            Self::Git => "git",
        })
    }
}

/// The mode for each kind of bucket. The defaults: autopilot for sensitive data and for any
/// public write; co-pilot for public content and for buckets of unknown purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryModes {
    pub sensitive: Mode,
    pub public_content: Mode,
    pub unknown: Mode,
    /// Any public write, whatever the category.
    pub public_write: Mode,
}

impl Default for CategoryModes {
    fn default() -> Self {
        Self {
            sensitive: Mode::Autopilot,
            public_content: Mode::Copilot,
            unknown: Mode::Copilot,
            public_write: Mode::Autopilot,
        }
    }
}

impl CategoryModes {
    /// One mode for everything (`--mode`, or `BUCKETWARD_MODE`).
    pub fn all(mode: Mode) -> Self {
        Self {
            sensitive: mode,
            public_content: mode,
            unknown: mode,
            public_write: mode,
        }
    }
}

/// What the configuration says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecideConfig {
    pub modes: CategoryModes,
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
    /// Open (or update) a pull request with the fix to the infrastructure code.
    PullRequest { mode: Mode },
}

impl Decision {
    pub fn mode(&self) -> Option<Mode> {
        match self {
            Self::NoAction { .. } => None,
            Self::Remediate { mode }
            | Self::Propose { mode }
            | Self::Report { mode }
            | Self::PullRequest { mode } => Some(*mode),
        }
    }

    fn for_mode(mode: Mode) -> Self {
        match mode {
            Mode::Autopilot => Self::Remediate { mode },
            Mode::Copilot => Self::Propose { mode },
            Mode::DryRun => Self::Report { mode },
            Mode::Git => Self::PullRequest { mode },
        }
    }

    /// Whether this decision is an exception's allowance.
    pub fn is_excepted(&self) -> bool {
        matches!(self, Self::NoAction { reason } if reason.starts_with("excepted"))
    }
}

/// Everything the decision looks at.
#[derive(Debug, Clone, Copy)]
pub struct DecisionInput<'a> {
    pub verdict: &'a Verdict,
    pub intent: Intent,
    pub exception: ExceptionMatch<'a>,
}

/// The decision, and the exposure the plan must leave in place (an exception's allowance).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decided {
    pub decision: Decision,
    pub allowed: ExposureKinds,
    /// What happened with an exception: applied, exceeded or expired.
    pub exception_note: Option<String>,
}

/// Decides what to do with a bucket.
pub fn decide(input: DecisionInput<'_>, config: &DecideConfig) -> Decided {
    let verdict = input.verdict;
    let (allowed, exception_note) = match input.exception {
        ExceptionMatch::Active(e) => match e.allowed() {
            Ok(kinds) => (kinds, Some(e.describe())),
            Err(err) => (
                ExposureKinds::NONE,
                Some(format!("exception ignored: {err}")),
            ),
        },
        ExceptionMatch::Expired(e) => (
            ExposureKinds::NONE,
            Some(format!("expired {}", e.describe())),
        ),
        ExceptionMatch::None => (ExposureKinds::NONE, None),
    };
    let beyond = verdict.exposure.union(verdict.latent).beyond(allowed);
    let excepted = matches!(input.exception, ExceptionMatch::Active(_)) && allowed.any();
    let bpa_missing = verdict
        .findings
        .iter()
        .any(|f| f.code == "bpa.bucket_incomplete");
    let exposed = verdict.public || verdict.has_latent();
    if excepted && !beyond.any() {
        return Decided {
            decision: Decision::NoAction {
                reason: format!("excepted: {}", exception_note.clone().unwrap_or_default()),
            },
            allowed,
            exception_note,
        };
    }
    let harden = config.harden_missing_bpa && bpa_missing && !excepted;
    if !exposed && !harden {
        return Decided {
            decision: Decision::NoAction {
                reason: "not public, nothing latent".to_owned(),
            },
            allowed,
            exception_note,
        };
    }
    let modes = config.modes;
    let mode = if verdict.exposure.write {
        modes.public_write
    } else {
        match input.intent {
            Intent::SensitiveData => modes.sensitive,
            Intent::PublicContent => modes.public_content,
            Intent::Unknown => modes.unknown,
        }
    };
    Decided {
        decision: Decision::for_mode(mode),
        allowed,
        exception_note,
    }
}
