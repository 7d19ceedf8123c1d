//! Which resources a grant reaches: every bucket, every bucket but some, or only some. Resource
//! patterns are compared as wildcard strings, without listing the account's buckets.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::policy::{glob_match_case_sensitive, Statement};

/// The kind of resource an action applies to, which decides what `Resource` must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceType {
    /// `arn:aws:s3:::BUCKET`.
    Bucket,
    /// `arn:aws:s3:::BUCKET/KEY`.
    Object,
    /// `arn:aws:s3:REGION:ACCOUNT:accesspoint/NAME`.
    AccessPoint,
    /// No resource-level permissions: only `"Resource": "*"` grants it.
    Account,
}

impl ResourceType {
    /// A pattern standing for every resource of the type.
    fn template(self) -> &'static str {
        match self {
            Self::Bucket => "arn:aws:s3:::*",
            Self::Object => "arn:aws:s3:::*/*",
            Self::AccessPoint => "arn:aws:s3:*:*:accesspoint/*",
            Self::Account => "*",
        }
    }

    /// Whether a resource pattern covers every resource of the type.
    pub fn covered_by(self, pattern: &str) -> bool {
        match self {
            Self::Account => !pattern.is_empty() && pattern.bytes().all(|b| b == b'*'),
            // Bucket ARNs hold no `/`: a pattern with one names objects.
            Self::Bucket if pattern.contains('/') => false,
            _ => glob_match_case_sensitive(pattern, self.template()),
        }
    }

    /// Whether a resource pattern can match some resource of the type.
    pub fn overlaps(self, pattern: &str) -> bool {
        match self {
            Self::Account => self.covered_by(pattern),
            Self::Bucket if pattern.contains('/') => false,
            _ => globs_overlap(pattern, self.template()),
        }
    }
}

/// Whether some string matches both wildcard patterns (`*` and `?`), case-sensitive.
pub fn globs_overlap(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (n, m) = (a.len(), b.len());
    // dp[i][j]: a[i..] and b[j..] have a common match.
    let mut dp = vec![vec![false; m + 1]; n + 1];
    for i in (0..=n).rev() {
        for j in (0..=m).rev() {
            if i == n && j == m {
                dp[i][j] = true;
                continue;
            }
            let (x, y) = (a.get(i).copied(), b.get(j).copied());
            let mut v = false;
            if x == Some(b'*') {
                v |= dp[i + 1][j] || (j < m && dp[i][j + 1]);
            }
            if y == Some(b'*') {
                v |= dp[i][j + 1] || (i < n && dp[i + 1][j]);
            }
            if let (Some(x), Some(y)) = (x, y) {
                if x != b'*' && y != b'*' && (x == y || x == b'?' || y == b'?') {
                    v |= dp[i + 1][j + 1];
                }
            }
            dp[i][j] = v;
        }
    }
    dp[0][0]
}

/// Whether every string `inner` matches is matched by `outer` (a sufficient test: `outer`
/// matches `inner`'s text with its wildcards taken as plain characters).
fn covers(outer: &str, inner: &str) -> bool {
    glob_match_case_sensitive(outer, inner)
}

/// The resources of one type that a grant, a limit or a capability reaches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reach", content = "patterns", rename_all = "snake_case")]
pub enum Scope {
    None,
    /// Only the resources these patterns match.
    Only(BTreeSet<String>),
    /// Every resource except those these patterns match (all of them when empty).
    AllExcept(BTreeSet<String>),
}

impl Scope {
    pub const ALL: Scope = Scope::AllExcept(BTreeSet::new());

    pub fn is_none(&self) -> bool {
        matches!(self, Scope::None)
    }

    /// Every resource, or every resource but a few.
    pub fn is_broad(&self) -> bool {
        matches!(self, Scope::AllExcept(_))
    }

    pub fn is_all(&self) -> bool {
        matches!(self, Scope::AllExcept(e) if e.is_empty())
    }

    fn only(patterns: BTreeSet<String>) -> Self {
        if patterns.is_empty() {
            Scope::None
        } else {
            Scope::Only(patterns)
        }
    }

    /// What a statement's `Resource` / `NotResource` reaches among resources of `kind`.
    pub fn of_statement(statement: &Statement, kind: ResourceType) -> Self {
        if let Some(resources) = &statement.resource {
            if resources.iter().any(|r| kind.covered_by(r)) {
                return Scope::ALL;
            }
            return Self::only(
                resources
                    .iter()
                    .filter(|r| kind.overlaps(r))
                    .cloned()
                    .collect(),
            );
        }
        if let Some(excluded) = &statement.not_resource {
            if excluded.iter().any(|r| kind.covered_by(r)) {
                return Scope::None;
            }
            return Scope::AllExcept(
                excluded
                    .iter()
                    .filter(|r| kind.overlaps(r))
                    .cloned()
                    .collect(),
            );
        }
        // An identity policy statement without either is invalid; it grants nothing.
        Scope::None
    }

    /// Resources reached by either.
    #[must_use]
    pub fn union(&self, other: &Scope) -> Scope {
        match (self, other) {
            (Scope::None, x) | (x, Scope::None) => x.clone(),
            (Scope::Only(a), Scope::Only(b)) => Scope::Only(a.union(b).cloned().collect()),
            (Scope::AllExcept(e), Scope::Only(o)) | (Scope::Only(o), Scope::AllExcept(e)) => {
                Scope::AllExcept(
                    e.iter()
                        .filter(|x| !o.iter().any(|p| covers(p, x)))
                        .cloned()
                        .collect(),
                )
            }
            (Scope::AllExcept(a), Scope::AllExcept(b)) => {
                Scope::AllExcept(a.intersection(b).cloned().collect())
            }
        }
    }

    /// Resources reached by both (patterns that only partly overlap are dropped: an
    /// approximation that can only under-report a narrow grant).
    #[must_use]
    pub fn intersect(&self, other: &Scope) -> Scope {
        match (self, other) {
            (Scope::None, _) | (_, Scope::None) => Scope::None,
            (Scope::AllExcept(a), Scope::AllExcept(b)) => {
                Scope::AllExcept(a.union(b).cloned().collect())
            }
            (Scope::AllExcept(e), Scope::Only(o)) | (Scope::Only(o), Scope::AllExcept(e)) => {
                Self::only(
                    o.iter()
                        .filter(|p| !e.iter().any(|x| covers(x, p)))
                        .cloned()
                        .collect(),
                )
            }
            (Scope::Only(a), Scope::Only(b)) => {
                let mut kept: BTreeSet<String> = a
                    .iter()
                    .filter(|p| b.iter().any(|q| covers(q, p)))
                    .cloned()
                    .collect();
                kept.extend(b.iter().filter(|q| a.iter().any(|p| covers(p, q))).cloned());
                Self::only(kept)
            }
        }
    }

    /// Resources not reached.
    #[must_use]
    pub fn complement(&self) -> Scope {
        match self {
            Scope::None => Scope::ALL,
            Scope::Only(o) => Scope::AllExcept(o.clone()),
            Scope::AllExcept(e) => Self::only(e.clone()),
        }
    }

    /// Resources reached by `self` and not by `other`.
    #[must_use]
    pub fn minus(&self, other: &Scope) -> Scope {
        self.intersect(&other.complement())
    }

    /// A short description: `all`, `all except a, b`, `only a, b`, `none`.
    pub fn describe(&self) -> String {
        let list = |s: &BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>().join(", ");
        match self {
            Scope::None => "none".to_owned(),
            Scope::AllExcept(e) if e.is_empty() => "all".to_owned(),
            Scope::AllExcept(e) => format!("all except {}", list(e)),
            Scope::Only(o) => format!("only {}", list(o)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn overlap_of_two_globs() {
        assert!(globs_overlap("arn:aws:s3:::b", "arn:aws:s3:::*"));
        assert!(globs_overlap("arn:aws:s3:::b*", "arn:aws:s3:::*x"));
        assert!(globs_overlap("*", "anything"));
        assert!(globs_overlap("a*c", "ab*"));
        assert!(!globs_overlap("arn:aws:dynamodb:*", "arn:aws:s3:::*"));
        assert!(!globs_overlap("a?", "abc"));
    }

    #[test]
    fn resource_types() {
        use ResourceType::*;
        assert!(Bucket.covered_by("*"));
        assert!(Bucket.covered_by("arn:aws:s3:::*"));
        assert!(Bucket.covered_by("arn:*"));
        assert!(!Bucket.covered_by("arn:aws:s3:::*/*"));
        assert!(!Bucket.overlaps("arn:aws:s3:::*/*"));
        assert!(!Bucket.covered_by("arn:aws:s3:::prod-*"));
        assert!(Bucket.overlaps("arn:aws:s3:::prod-*"));
        assert!(Object.covered_by("arn:aws:s3:::*"));
        assert!(Object.covered_by("arn:aws:s3:::*/*"));
        assert!(!Object.covered_by("arn:aws:s3:::b/*"));
        assert!(Object.overlaps("arn:aws:s3:::b/*"));
        assert!(!Object.overlaps("arn:aws:s3:::b"));
        assert!(Account.covered_by("*"));
        assert!(!Account.covered_by("arn:aws:s3:::*"));
        assert!(AccessPoint.covered_by("arn:aws:s3:*:*:accesspoint/*"));
        assert!(AccessPoint.overlaps("arn:aws:s3:us-east-1:123456789012:accesspoint/*"));
    }

    #[test]
    fn algebra() {
        let only = Scope::Only(set(&["arn:aws:s3:::a", "arn:aws:s3:::b"]));
        assert_eq!(Scope::ALL.minus(&Scope::ALL), Scope::None);
        assert_eq!(
            Scope::ALL.minus(&Scope::Only(set(&["arn:aws:s3:::a"]))),
            Scope::AllExcept(set(&["arn:aws:s3:::a"]))
        );
        assert_eq!(
            only.minus(&Scope::Only(set(&["arn:aws:s3:::a*"]))),
            Scope::Only(set(&["arn:aws:s3:::b"]))
        );
        assert_eq!(only.intersect(&Scope::ALL), only);
        assert_eq!(
            Scope::AllExcept(set(&["arn:aws:s3:::a"])).union(&only),
            Scope::ALL
        );
        assert_eq!(
            Scope::ALL.minus(&Scope::AllExcept(set(&["arn:aws:s3:::a"]))),
            Scope::Only(set(&["arn:aws:s3:::a"]))
        );
        assert!(Scope::AllExcept(set(&["x"])).is_broad());
        assert!(!Scope::AllExcept(set(&["x"])).is_all());
        assert_eq!(Scope::ALL.describe(), "all");
    }
}
