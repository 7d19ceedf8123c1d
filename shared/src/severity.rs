//! How bad an exposure is, from what is exposed and what the bucket holds. Pure.

use serde::{Deserialize, Serialize};

use crate::classify::Intent;
use crate::exposure::Verdict;

/// Ordered from harmless to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Nothing public, nothing latent, BPA in place.
    None,
    /// Intended public content exposed read-only.
    Info,
    /// Latent public configuration neutralised only by BPA, or bucket BPA missing.
    Medium,
    /// Public read of data of unknown kind, or public ACL write.
    High,
    /// Public write, or public read of sensitive data.
    Critical,
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::None => "none",
            Self::Info => "info",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        })
    }
}

/// The severity of a verdict for a bucket of the given intent.
pub fn severity(verdict: &Verdict, intent: Intent) -> Severity {
    let e = verdict.exposure;
    if verdict.public {
        let reads = e.read || e.list;
        return if e.write || (reads && intent == Intent::SensitiveData) {
            Severity::Critical
        } else if e.write_acl || (reads && intent == Intent::Unknown) {
            Severity::High
        } else if reads {
            Severity::Info
        } else {
            // Public, but only ACL reads or actions outside the five kinds.
            Severity::Medium
        };
    }
    let bpa_missing = verdict
        .findings
        .iter()
        .any(|f| f.code == "bpa.bucket_incomplete");
    if verdict.has_latent() || bpa_missing {
        Severity::Medium
    } else {
        Severity::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{evaluate, Snapshot};

    fn verdict(policy_action: &str, bpa_on: bool) -> Verdict {
        let bpa = if bpa_on {
            r#"{"BlockPublicAcls":true,"IgnorePublicAcls":true,"BlockPublicPolicy":true,"RestrictPublicBuckets":true}"#
        } else {
            "null"
        };
        let doc = format!(
            r#"{{"Bucket":"b","Policy":{{"Statement":[{{"Effect":"Allow","Principal":"*","Action":"{policy_action}","Resource":"*"}}]}},"PublicAccessBlock":{bpa},"OwnershipControls":{{"Rules":[{{"ObjectOwnership":"BucketOwnerEnforced"}}]}}}}"#
        );
        evaluate(&Snapshot::from_json(&doc).unwrap())
    }

    #[test]
    fn the_ladder() {
        assert_eq!(
            severity(&verdict("s3:PutObject", false), Intent::PublicContent),
            Severity::Critical
        );
        assert_eq!(
            severity(&verdict("s3:GetObject", false), Intent::SensitiveData),
            Severity::Critical
        );
        assert_eq!(
            severity(&verdict("s3:GetObject", false), Intent::Unknown),
            Severity::High
        );
        assert_eq!(
            severity(&verdict("s3:PutBucketAcl", false), Intent::PublicContent),
            Severity::High
        );
        assert_eq!(
            severity(&verdict("s3:GetObject", false), Intent::PublicContent),
            Severity::Info
        );
        assert_eq!(
            severity(&verdict("s3:GetObject", true), Intent::SensitiveData),
            Severity::Medium
        );
    }
}
