//! Verdict -> ordered remediation steps. Pure: nothing is changed here.
//!
//! Every step removes public access and nothing else: Deny, cross-account and service
//! statements, Sids, conditions and statement order survive policy surgery; owner, LogDelivery
//! and cross-account grants survive ACL surgery.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::exposure::{Status, Verdict};
use crate::policy::{
    analyze_statement, principal_value_is_fixed, ExposureKinds, PolicyKind, PrincipalForm,
    StatementEntry,
};
use crate::snapshot::{Acl, PublicAccessBlock, Snapshot, BUCKET_OWNER_ENFORCED};

/// What the plan may and may not do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanOptions {
    /// Exposure this bucket is allowed to keep (an exception); nothing by default. A bucket
    /// allowed any exposure keeps its bucket BPA as it is.
    pub allowed: ExposureKinds,
    /// Set `BucketOwnerEnforced` (disables ACLs) once the bucket ACL holds only the owner.
    pub enforce_ownership: bool,
    /// With `enforce_ownership`: also when cross-account or LogDelivery grants would be lost.
    pub force_ownership: bool,
    /// Turn on account-level BPA (opt-in).
    pub account_bpa: bool,
    /// An exception somewhere in the account needs a public bucket: account BPA is refused.
    pub account_has_public_exceptions: bool,
}

/// What a step changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Change {
    PutBucketBpa { config: PublicAccessBlock },
    PutPolicy { text: String },
    DeletePolicy,
    PutBucketAcl { acl: Acl },
    PutOwnership { object_ownership: String },
    FixObjectAcls { sampled_public: Vec<String> },
    PutAccountBpa { config: PublicAccessBlock },
}

/// One ordered step, with its before and after state and a human diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub change: Change,
    pub summary: String,
    pub before: Value,
    pub after: Value,
    pub diff: String,
}

/// The remediation plan for one bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub bucket: String,
    pub steps: Vec<Step>,
    /// What the plan would not do, and why.
    pub notes: Vec<String>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// One line per step, for notifications.
    pub fn summary(&self) -> String {
        if self.steps.is_empty() {
            return "nothing to change".to_owned();
        }
        self.steps
            .iter()
            .map(|s| s.summary.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Plans the remediation of a bucket from its snapshot and verdict.
pub fn plan(verdict: &Verdict, snapshot: &Snapshot, options: &PlanOptions) -> Plan {
    let mut plan = Plan {
        bucket: snapshot.bucket.clone(),
        ..Plan::default()
    };
    let exposed = verdict.exposure.union(verdict.latent);

    // 1. Bucket BPA.
    let current = snapshot.public_access_block.unwrap_or_default();
    if options.allowed.any() {
        if !current.all_on() {
            plan.notes.push(format!(
                "bucket BPA left as it is: the bucket is allowed {} exposure",
                options.allowed.names().join("+")
            ));
        }
    } else if !current.all_on() {
        plan.steps.push(step(
            Change::PutBucketBpa {
                config: PublicAccessBlock::ALL_ON,
            },
            "Enable Block Public Access (all four flags)".to_owned(),
            json_of(&snapshot.public_access_block),
            json_of(&PublicAccessBlock::ALL_ON),
        ));
    }

    // 2. Policy surgery.
    if let Some(policy) = &snapshot.policy {
        match strip_public_statements(&policy.text, PolicyKind::Bucket, options.allowed) {
            Ok(Some(surgery)) => {
                let before = pretty(&policy.text);
                let summary = format!(
                    "{} {}",
                    if surgery.text.is_some() {
                        "Edit the bucket policy:"
                    } else {
                        "Delete the bucket policy:"
                    },
                    surgery.describe()
                );
                let (change, after) = match surgery.text {
                    Some(text) => {
                        let after = pretty(&text);
                        (Change::PutPolicy { text }, after)
                    }
                    None => (Change::DeletePolicy, Value::Null),
                };
                plan.steps.push(step(change, summary, before, after));
            }
            Ok(None) => {}
            Err(e) => plan.notes.push(format!("bucket policy left as it is: {e}")),
        }
    }

    // 3. Bucket ACL.
    let acls_disabled = snapshot.acls_disabled();
    let mut acl_after = snapshot.acl.clone();
    if let Some(acl) = &snapshot.acl {
        let keep_public = |permission: &str| {
            !crate::exposure::acl_permission_kinds(permission, false)
                .beyond(options.allowed)
                .any()
        };
        let removed: Vec<String> = acl
            .grants
            .iter()
            .filter(|g| g.grantee.is_public() && !keep_public(&g.permission))
            .map(|g| format!("{} {}", g.grantee.label(), g.permission))
            .collect();
        if !removed.is_empty() {
            let new = Acl {
                owner: acl.owner.clone(),
                grants: acl
                    .grants
                    .iter()
                    .filter(|g| !g.grantee.is_public() || keep_public(&g.permission))
                    .cloned()
                    .collect(),
            };
            plan.steps.push(step(
                Change::PutBucketAcl { acl: new.clone() },
                format!("Remove public bucket ACL grants ({})", removed.join(", ")),
                json_of(acl),
                json_of(&new),
            ));
            acl_after = Some(new);
        }
    }

    // 4. Ownership (opt-in).
    if options.enforce_ownership && !acls_disabled {
        let owner_id = acl_after
            .as_ref()
            .and_then(|a| a.owner.as_ref())
            .and_then(|o| o.id.clone());
        let others: Vec<String> = acl_after
            .iter()
            .flat_map(|a| a.grants.iter())
            .filter(|g| g.grantee.id.is_none() || g.grantee.id != owner_id)
            .map(|g| format!("{} {}", g.grantee.label(), g.permission))
            .collect();
        if others.is_empty() || options.force_ownership {
            if !others.is_empty() {
                if let Some(acl) = &acl_after {
                    let owner_only = Acl {
                        owner: acl.owner.clone(),
                        grants: acl
                            .grants
                            .iter()
                            .filter(|g| g.grantee.id.is_some() && g.grantee.id == owner_id)
                            .cloned()
                            .collect(),
                    };
                    plan.steps.push(step(
                        Change::PutBucketAcl {
                            acl: owner_only.clone(),
                        },
                        format!(
                            "Reset the bucket ACL to the owner only, dropping {} (forced)",
                            others.join(", ")
                        ),
                        json_of(acl),
                        json_of(&owner_only),
                    ));
                }
            }
            plan.steps.push(step(
                Change::PutOwnership {
                    object_ownership: BUCKET_OWNER_ENFORCED.to_owned(),
                },
                "Set object ownership to BucketOwnerEnforced (disables ACLs)".to_owned(),
                json_of(&snapshot.ownership_controls),
                serde_json::json!({"Rules": [{"ObjectOwnership": BUCKET_OWNER_ENFORCED}]}),
            ));
        } else {
            plan.notes.push(format!(
                "ownership left as it is: BucketOwnerEnforced would drop {}",
                others.join(", ")
            ));
        }
    }

    // 5. Object ACLs, where ACLs stay enabled.
    let enforcing = plan
        .steps
        .iter()
        .any(|s| matches!(s.change, Change::PutOwnership { .. }));
    let public_objects: Vec<String> = verdict
        .findings
        .iter()
        .filter(|f| f.status != Status::Info && f.exposes.beyond(options.allowed).any())
        .filter_map(|f| f.object.clone())
        .collect();
    if !public_objects.is_empty() && !acls_disabled && !enforcing {
        plan.steps.push(step(
            Change::FixObjectAcls {
                sampled_public: public_objects.clone(),
            },
            format!(
                "Remove public grants from object ACLs ({} found in the sample; all objects are scanned)",
                public_objects.len()
            ),
            serde_json::json!({"public_objects": public_objects}),
            serde_json::json!({"public_objects": []}),
        ));
    }

    // 6. Account BPA (opt-in).
    if options.account_bpa {
        let account = snapshot.account_public_access_block.unwrap_or_default();
        if options.account_has_public_exceptions {
            plan.notes.push(
                "account BPA refused: an exception needs a public bucket in this account"
                    .to_owned(),
            );
        } else if !account.all_on() {
            plan.steps.push(step(
                Change::PutAccountBpa {
                    config: PublicAccessBlock::ALL_ON,
                },
                "Enable account-level Block Public Access".to_owned(),
                json_of(&snapshot.account_public_access_block),
                json_of(&PublicAccessBlock::ALL_ON),
            ));
        }
    }
    let _ = exposed;
    plan
}

/// The result of policy surgery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Surgery {
    /// The new policy text, or `None` when nothing is left (delete the policy).
    pub text: Option<String>,
    /// Statements dropped whole: (index, Sid).
    pub dropped: Vec<(usize, Option<String>)>,
    /// Statements narrowed to their fixed principals: (index, Sid).
    pub narrowed: Vec<(usize, Option<String>)>,
}

impl Surgery {
    pub fn describe(&self) -> String {
        let name = |(i, sid): &(usize, Option<String>)| match sid {
            Some(s) if !s.is_empty() => s.clone(),
            _ => format!("#{i}"),
        };
        let mut parts = Vec::new();
        if !self.dropped.is_empty() {
            let names: Vec<String> = self.dropped.iter().map(name).collect();
            parts.push(format!("remove statement {}", names.join(", ")));
        }
        if !self.narrowed.is_empty() {
            let names: Vec<String> = self.narrowed.iter().map(name).collect();
            parts.push(format!(
                "narrow statement {} to its fixed principals",
                names.join(", ")
            ));
        }
        parts.join("; ")
    }
}

/// Why policy surgery could not run.
#[derive(Debug, thiserror::Error)]
pub enum SurgeryError {
    #[error("the policy text is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Policy(#[from] crate::policy::PolicyError),
    #[error("the policy has no `Statement`")]
    NoStatement,
}

/// Removes only what is public from a policy, editing its JSON so that everything else is kept
/// as written. Returns `None` when nothing is public (beyond `allowed`).
pub fn strip_public_statements(
    text: &str,
    kind: PolicyKind,
    allowed: ExposureKinds,
) -> Result<Option<Surgery>, SurgeryError> {
    let Some(mut surgery) = public_statement_surgery(text, kind, allowed)? else {
        return Ok(None);
    };
    let mut raw: Value = serde_json::from_str(text)?;
    if apply_surgery(&mut raw, &surgery)? {
        surgery.text = Some(if text.contains('\n') {
            serde_json::to_string_pretty(&raw)?
        } else {
            serde_json::to_string(&raw)?
        });
    }
    Ok(Some(surgery))
}

/// Which statements surgery drops or narrows, without editing anything (`text` stays `None`).
/// Git mode runs this on an evaluable rendering of an IaC policy, then applies the result to
/// the document as written (with its interpolations) through [`apply_surgery`].
pub fn public_statement_surgery(
    text: &str,
    kind: PolicyKind,
    allowed: ExposureKinds,
) -> Result<Option<Surgery>, SurgeryError> {
    let document = crate::policy::PolicyDocument::parse(text)?;
    let raw: Value = serde_json::from_str(text)?;
    let statements: Vec<&Value> = match raw.get("Statement") {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(single) => vec![single],
        None => return Err(SurgeryError::NoStatement),
    };
    let mut surgery = Surgery {
        text: None,
        dropped: Vec::new(),
        narrowed: Vec::new(),
    };
    for (index, entry) in document.entries().iter().enumerate() {
        let StatementEntry::Valid(statement) = entry else {
            continue;
        };
        let analysis = analyze_statement(statement, kind);
        if !analysis.public || (allowed.any() && !analysis.kinds.beyond(allowed).any()) {
            continue;
        }
        let id = (index, statement.sid.clone());
        let narrowable = matches!(analysis.principal, PrincipalForm::Wildcard)
            && statements
                .get(index)
                .and_then(|s| s.get("Principal"))
                .cloned()
                .as_mut()
                .is_some_and(narrow_principal);
        if narrowable {
            surgery.narrowed.push(id);
        } else {
            surgery.dropped.push(id);
        }
    }
    if surgery.dropped.is_empty() && surgery.narrowed.is_empty() {
        return Ok(None);
    }
    Ok(Some(surgery))
}

/// Applies a surgery's drops and narrowings to a policy's JSON, which may be another rendering
/// of the same statements (an IaC document whose values hold interpolations). Returns whether
/// any statement is left; when none is, `raw` is unchanged and the policy should go.
pub fn apply_surgery(raw: &mut Value, surgery: &Surgery) -> Result<bool, SurgeryError> {
    let Some(statement_value) = raw.get_mut("Statement") else {
        return Err(SurgeryError::NoStatement);
    };
    let was_single = statement_value.is_object();
    let mut statements: Vec<Value> = match statement_value.clone() {
        Value::Array(list) => list,
        single => vec![single],
    };
    for (index, _) in &surgery.narrowed {
        if let Some(principal) = statements
            .get_mut(*index)
            .and_then(|s| s.get_mut("Principal"))
        {
            narrow_principal(principal);
        }
    }
    let remaining: Vec<Value> = statements
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !surgery.dropped.iter().any(|(d, _)| d == i))
        .map(|(_, s)| s)
        .collect();
    if remaining.is_empty() {
        return Ok(false);
    }
    *statement_value = if was_single && remaining.len() == 1 {
        remaining.into_iter().next().unwrap_or(Value::Null)
    } else {
        Value::Array(remaining)
    };
    Ok(true)
}

/// Removes the wildcard values of a principal map, keeping its fixed ones in their form.
/// Returns false when nothing fixed is left (the statement must go).
fn narrow_principal(principal: &mut Value) -> bool {
    let Some(map) = principal.as_object_mut() else {
        return false;
    };
    for (kind, values) in map.iter_mut() {
        match values {
            Value::String(s) if !principal_value_is_fixed(kind, s) => *values = Value::Null,
            Value::Array(list) => {
                // A value that is not a string is an IaC reference (`!GetAtt`, say): kept.
                list.retain(|v| v.as_str().is_none_or(|s| principal_value_is_fixed(kind, s)));
                if list.is_empty() {
                    *values = Value::Null;
                }
            }
            _ => {}
        }
    }
    map.retain(|_, v| !v.is_null());
    !map.is_empty()
}

fn json_of<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// Policy text as a JSON value for before/after (the text itself when it is not JSON).
fn pretty(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

fn step(change: Change, summary: String, before: Value, after: Value) -> Step {
    let diff = unified_diff(&before, &after);
    Step {
        change,
        summary,
        before,
        after,
        diff,
    }
}

/// A unified diff of two JSON values, pretty-printed.
pub fn unified_diff(before: &Value, after: &Value) -> String {
    let render = |v: &Value| match v {
        Value::Null => String::new(),
        v => serde_json::to_string_pretty(v).unwrap_or_default() + "\n",
    };
    let (a, b) = (render(before), render(after));
    similar::TextDiff::from_lines(&a, &b)
        .unified_diff()
        .context_radius(3)
        .header("before", "after")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIXED: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"PublicRead","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"},{"Sid":"Partner","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"},{"Sid":"TLS","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}"#;

    #[test]
    fn surgery_drops_only_the_public_statement() {
        let s = strip_public_statements(MIXED, PolicyKind::Bucket, ExposureKinds::NONE)
            .unwrap()
            .unwrap();
        assert_eq!(s.dropped, vec![(0, Some("PublicRead".to_owned()))]);
        let text = s.text.unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        let orig: Value = serde_json::from_str(MIXED).unwrap();
        assert_eq!(v["Statement"][0], orig["Statement"][1]);
        assert_eq!(v["Statement"][1], orig["Statement"][2]);
        assert_eq!(v["Statement"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn surgery_narrows_mixed_principals_keeping_their_form() {
        let text = r#"{"Statement":{"Sid":"Mixed","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:root","*"],"Service":"*"},"Action":"s3:GetObject","Resource":"*"}}"#;
        let s = strip_public_statements(text, PolicyKind::Bucket, ExposureKinds::NONE)
            .unwrap()
            .unwrap();
        assert_eq!(s.narrowed.len(), 1);
        let v: Value = serde_json::from_str(&s.text.unwrap()).unwrap();
        assert!(v["Statement"].is_object());
        assert_eq!(
            v["Statement"]["Principal"],
            serde_json::json!({"AWS": ["arn:aws:iam::111122223333:root"]})
        );
    }

    #[test]
    fn surgery_deletes_a_policy_with_nothing_left() {
        let text =
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]}"#;
        let s = strip_public_statements(text, PolicyKind::Bucket, ExposureKinds::NONE)
            .unwrap()
            .unwrap();
        assert!(s.text.is_none());
    }

    #[test]
    fn surgery_leaves_a_private_policy_alone() {
        let text = r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":"cloudfront.amazonaws.com"},"Action":"s3:GetObject","Resource":"*"}]}"#;
        assert!(
            strip_public_statements(text, PolicyKind::Bucket, ExposureKinds::NONE)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn allowed_read_keeps_a_read_only_public_statement() {
        let allowed = ExposureKinds {
            read: true,
            ..ExposureKinds::NONE
        };
        assert!(strip_public_statements(MIXED, PolicyKind::Bucket, allowed)
            .unwrap()
            .is_none());
        let write = r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:PutObject","Resource":"*"}]}"#;
        assert!(strip_public_statements(write, PolicyKind::Bucket, allowed)
            .unwrap()
            .is_some());
    }
}
