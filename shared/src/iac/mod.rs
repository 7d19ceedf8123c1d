//! Git mode, the pure part: find a bucket's resources in a Terraform or CloudFormation
//! repository and patch them with the same surgery autopilot applies to the live bucket.
//!
//! Nothing here touches git or AWS: the input is the repository's files, the output is the
//! edited files, what was changed and why, and the patched configuration as a [`Snapshot`] that
//! the exposure engine evaluates (so a pull request says whether its result is still public).
//!
//! Edits splice only the text that changes: comments, layout and everything the fix does not
//! touch stay byte for byte (CloudFormation JSON, which has no comments, is re-serialised).

pub mod cloudformation;
mod edit;
pub mod terraform;

use serde::Serialize;

use crate::plan::{Change, Plan};
use crate::policy::ExposureKinds;
use crate::snapshot::{Acl, Grant, Grantee, Snapshot, ALL_USERS, AUTHENTICATED_USERS};

/// One file of the repository: its path relative to the repository root, and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    pub path: String,
    pub text: String,
}

/// The format the bucket was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IacFormat {
    Terraform,
    CloudFormation,
}

/// A file the fix writes: `before` is `None` for a new file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileEdit {
    pub path: String,
    pub before: Option<String>,
    pub after: String,
}

/// What git mode should change, from the autopilot plan.
#[derive(Debug, Clone, Copy)]
pub struct FixRequest<'a> {
    pub bucket: &'a str,
    pub account_id: &'a str,
    /// The autopilot plan for the live bucket.
    pub plan: &'a Plan,
    /// Exposure the bucket may keep (an exception).
    pub allowed: ExposureKinds,
}

impl FixRequest<'_> {
    /// Turn on all four BPA flags (unless an exception allows some exposure).
    pub fn wants_bpa(&self) -> bool {
        !self.allowed.any()
    }

    /// Disable ACLs: only when the autopilot plan does (it checks no grant would be lost).
    pub fn wants_ownership(&self) -> bool {
        self.plan
            .steps
            .iter()
            .any(|s| matches!(s.change, Change::PutOwnership { .. }))
    }

    /// Drop public ACL grants (unless an exception allows some exposure and the plan keeps the
    /// ACL too).
    pub fn wants_private_acl(&self) -> bool {
        !self.allowed.any()
            || self
                .plan
                .steps
                .iter()
                .any(|s| matches!(s.change, Change::PutBucketAcl { .. }))
    }

    /// What the live plan does that has no place in the bucket's IaC.
    fn live_only_notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        for step in &self.plan.steps {
            match &step.change {
                Change::FixObjectAcls { sampled_public } => notes.push(format!(
                    "Object ACLs are not managed by infrastructure code: {} sampled public \
                     object(s) need `bucketward remediate` (or turning on the access block \
                     below, whose IgnorePublicAcls neutralises them).",
                    sampled_public.len()
                )),
                Change::PutAccountBpa { .. } => notes.push(
                    "Account-level Block Public Access is an account setting, outside this \
                     repository; it is left to the account's own configuration."
                        .to_owned(),
                ),
                _ => {}
            }
        }
        notes
    }
}

/// The fix for one bucket's infrastructure code.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IacFix {
    /// The format the bucket was found in; `None` when no resource defines it.
    pub format: Option<IacFormat>,
    /// Where the bucket's resources are (`main.tf: aws_s3_bucket.assets`).
    pub located: Vec<String>,
    pub edits: Vec<FileEdit>,
    /// What the edits change, one line each.
    pub changes: Vec<String>,
    /// What the fix could not do in code, and why.
    pub notes: Vec<String>,
    /// The patched configuration of the bucket, for the evaluator (`None` when not found).
    #[serde(skip)]
    pub after: Option<Snapshot>,
    /// The configuration as it was, for the evaluator.
    #[serde(skip)]
    pub before: Option<Snapshot>,
}

impl IacFix {
    pub fn is_empty(&self) -> bool {
        self.edits.is_empty()
    }

    /// The fix for a bucket no resource defines: one new file, or none when it would change
    /// nothing.
    pub(crate) fn new_file(
        path: String,
        text: String,
        changes: Vec<String>,
        notes: Vec<String>,
    ) -> Self {
        Self {
            format: None,
            located: Vec::new(),
            edits: if changes.is_empty() {
                Vec::new()
            } else {
                vec![FileEdit {
                    path,
                    before: None,
                    after: text,
                }]
            },
            changes,
            notes,
            after: None,
            before: None,
        }
    }
}

/// Why a repository could not be patched.
#[derive(Debug, thiserror::Error)]
pub enum IacError {
    #[error("`{path}` does not parse: {reason}")]
    Parse { path: String, reason: String },
    #[error("the patched `{path}` does not parse ({reason}); nothing was proposed")]
    PatchedInvalid { path: String, reason: String },
    #[error("bucket `{bucket}` is defined {count} times ({places}); refusing to guess which")]
    Ambiguous {
        bucket: String,
        count: usize,
        places: String,
    },
}

/// Finds the bucket in the repository (Terraform first, then CloudFormation) and patches it.
/// When no resource defines it, the fix is a new file holding the resources that can be added
/// for an unmanaged bucket, in the repository's format.
pub fn fix_repository(files: &[SourceFile], request: &FixRequest<'_>) -> Result<IacFix, IacError> {
    let tf: Vec<&SourceFile> = files.iter().filter(|f| f.path.ends_with(".tf")).collect();
    if let Some(fix) = terraform::fix(&tf, request)? {
        return Ok(fix);
    }
    let cfn: Vec<&SourceFile> = files
        .iter()
        .filter(|f| cloudformation::is_template_path(&f.path))
        .collect();
    if let Some(fix) = cloudformation::fix(&cfn, request)? {
        return Ok(fix);
    }
    let prefer_cfn = tf.is_empty() && cloudformation::any_template(&cfn);
    Ok(if prefer_cfn {
        cloudformation::new_file(request)
    } else {
        terraform::new_file(request)
    })
}

/// The grants a canned ACL gives beyond the owner.
pub(crate) fn canned_acl(name: &str) -> Acl {
    let group = |uri: &str, permission: &str| Grant {
        grantee: Grantee {
            kind: "Group".to_owned(),
            uri: Some(uri.to_owned()),
            ..Grantee::default()
        },
        permission: permission.to_owned(),
    };
    let grants = match name.to_ascii_lowercase().replace('_', "-").as_str() {
        "public-read" | "publicread" => vec![group(ALL_USERS, "READ")],
        "public-read-write" | "publicreadwrite" => {
            vec![group(ALL_USERS, "READ"), group(ALL_USERS, "WRITE")]
        }
        "authenticated-read" | "authenticatedread" => vec![group(AUTHENTICATED_USERS, "READ")],
        _ => Vec::new(),
    };
    Acl {
        owner: None,
        grants,
    }
}

/// Whether a canned ACL name grants the public anything.
pub(crate) fn canned_acl_is_public(name: &str) -> bool {
    canned_acl(name)
        .grants
        .iter()
        .any(|g| g.grantee.is_public())
}

/// A JSON policy rendering for the evaluator: `${...}` references replaced with what they
/// stand for when known (the bucket's name and ARN, the account), kept as text otherwise.
pub(crate) fn substitute(text: &str, pairs: &[(String, String)]) -> String {
    let mut out = text.to_owned();
    for (from, to) in pairs {
        out = out.replace(from.as_str(), to);
    }
    out
}

/// The four BPA flags, in the order the formats list them.
pub(crate) const BPA_FLAGS: [(&str, &str); 4] = [
    ("block_public_acls", "BlockPublicAcls"),
    ("block_public_policy", "BlockPublicPolicy"),
    ("ignore_public_acls", "IgnorePublicAcls"),
    ("restrict_public_buckets", "RestrictPublicBuckets"),
];

#[cfg(test)]
mod tests;
