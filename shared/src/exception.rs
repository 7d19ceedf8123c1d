//! Exceptions: buckets allowed some public exposure, with an owner, a reason and an expiry.
//! Pure matching; the DynamoDB store is in `aws::dynamo`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::policy::{glob_match, ExposureKinds};

/// An allowance of public exposure for a bucket name or glob (`cdn-*`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exception {
    /// A bucket name, or a glob with `*` and `?`.
    pub bucket: String,
    /// The exposure kinds allowed: `read`, `list`, `write`, `read_acl`, `write_acl`.
    pub allows: Vec<String>,
    pub reason: String,
    /// The team or person accountable for the bucket.
    pub owner: String,
    pub approved_by: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Why an exception was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExceptionError {
    #[error("exception for `{bucket}`: unknown exposure kind `{kind}` (expected read, list, write, read_acl or write_acl)")]
    UnknownKind { bucket: String, kind: String },
    #[error("exception for `{bucket}`: `{field}` must not be empty")]
    Empty { bucket: String, field: &'static str },
    #[error("exception for `{bucket}`: it expires before it was created")]
    ExpiresBeforeCreated { bucket: String },
}

impl Exception {
    /// The allowed kinds, checked.
    pub fn allowed(&self) -> Result<ExposureKinds, ExceptionError> {
        let mut k = ExposureKinds::NONE;
        for kind in &self.allows {
            match kind.as_str() {
                "read" => k.read = true,
                "list" => k.list = true,
                "write" => k.write = true,
                "read_acl" => k.read_acl = true,
                "write_acl" => k.write_acl = true,
                other => {
                    return Err(ExceptionError::UnknownKind {
                        bucket: self.bucket.clone(),
                        kind: other.to_owned(),
                    })
                }
            }
        }
        Ok(k)
    }

    /// Checks every field a reviewer must fill in.
    pub fn validate(&self) -> Result<(), ExceptionError> {
        for (field, value) in [
            ("bucket", &self.bucket),
            ("reason", &self.reason),
            ("owner", &self.owner),
            ("approved_by", &self.approved_by),
        ] {
            if value.trim().is_empty() {
                return Err(ExceptionError::Empty {
                    bucket: self.bucket.clone(),
                    field,
                });
            }
        }
        if self.expires_at <= self.created_at {
            return Err(ExceptionError::ExpiresBeforeCreated {
                bucket: self.bucket.clone(),
            });
        }
        self.allowed().map(|_| ())
    }

    pub fn matches(&self, bucket: &str) -> bool {
        glob_match(&self.bucket, bucket)
    }

    /// One line for records and notifications.
    pub fn describe(&self) -> String {
        format!(
            "exception `{}` allows {} for {} ({}), approved by {}, expires {}",
            self.bucket,
            if self.allows.is_empty() {
                "nothing".to_owned()
            } else {
                self.allows.join("+")
            },
            self.owner,
            self.reason,
            self.approved_by,
            self.expires_at.format("%Y-%m-%d")
        )
    }
}

/// The exception that applies to a bucket now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExceptionMatch<'a> {
    None,
    Active(&'a Exception),
    /// Only expired exceptions match: they no longer apply, and that is recorded.
    Expired(&'a Exception),
}

/// Finds the exception for a bucket: an active one beats an expired one, then an exact name
/// beats a glob.
pub fn find<'a>(
    exceptions: &'a [Exception],
    bucket: &str,
    now: DateTime<Utc>,
) -> ExceptionMatch<'a> {
    let mut matching: Vec<&Exception> = exceptions.iter().filter(|e| e.matches(bucket)).collect();
    matching.sort_by_key(|e| (e.expires_at <= now, e.bucket != bucket));
    match matching.first() {
        None => ExceptionMatch::None,
        Some(e) if e.expires_at > now => ExceptionMatch::Active(e),
        Some(e) => ExceptionMatch::Expired(e),
    }
}

/// Whether an exception in force lets some bucket keep public exposure: account-level Block
/// Public Access would then break it, so it is refused.
pub fn any_allows_exposure(exceptions: &[Exception], now: DateTime<Utc>) -> bool {
    exceptions
        .iter()
        .any(|e| e.expires_at > now && e.allowed().is_ok_and(|k| k.any()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn only_an_active_exception_blocks_account_bpa() {
        let now = Utc::now();
        assert!(any_allows_exposure(&[exception("cdn-*", 10)], now));
        assert!(!any_allows_exposure(&[exception("cdn-*", -1)], now));
        assert!(!any_allows_exposure(&[], now));
    }

    fn exception(bucket: &str, days: i64) -> Exception {
        let now = Utc::now();
        Exception {
            bucket: bucket.to_owned(),
            allows: vec!["read".to_owned()],
            reason: "CDN origin".to_owned(),
            owner: "web".to_owned(),
            approved_by: "alice".to_owned(),
            created_at: now - Duration::days(30),
            expires_at: now + Duration::days(days),
        }
    }

    #[test]
    fn exact_beats_glob_and_expiry_is_reported() {
        let list = vec![exception("cdn-*", 10), exception("cdn-assets", -1)];
        let now = Utc::now();
        assert!(
            matches!(find(&list, "cdn-assets", now), ExceptionMatch::Active(e) if e.bucket == "cdn-*")
        );
        assert!(matches!(
            find(&list, "cdn-images", now),
            ExceptionMatch::Active(_)
        ));
        assert!(matches!(find(&list, "backups", now), ExceptionMatch::None));
        let expired = vec![exception("cdn-assets", -1)];
        assert!(matches!(
            find(&expired, "cdn-assets", now),
            ExceptionMatch::Expired(_)
        ));
    }

    #[test]
    fn validation_names_the_problem() {
        let mut e = exception("b", 5);
        e.approved_by = String::new();
        assert!(e
            .validate()
            .unwrap_err()
            .to_string()
            .contains("approved_by"));
        let mut e = exception("b", 5);
        e.allows = vec!["everything".to_owned()];
        assert!(e.validate().unwrap_err().to_string().contains("everything"));
    }
}
