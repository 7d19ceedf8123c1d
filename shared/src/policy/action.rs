//! Action wildcard matching, and what a set of actions lets the public do.

use serde::{Deserialize, Serialize};

/// What the public can do with a bucket: the exposure kinds of the verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExposureKinds {
    /// Read object data.
    pub read: bool,
    /// Create, overwrite or delete objects.
    pub write: bool,
    /// List the objects.
    pub list: bool,
    /// Read the bucket or object ACL, or the bucket policy.
    pub read_acl: bool,
    /// Change the bucket or object ACL, or the bucket policy.
    pub write_acl: bool,
}

impl ExposureKinds {
    pub const NONE: Self = Self {
        read: false,
        write: false,
        list: false,
        read_acl: false,
        write_acl: false,
    };

    pub fn any(self) -> bool {
        self.read || self.write || self.list || self.read_acl || self.write_acl
    }

    #[must_use]
    pub fn union(self, other: Self) -> Self {
        Self {
            read: self.read || other.read,
            write: self.write || other.write,
            list: self.list || other.list,
            read_acl: self.read_acl || other.read_acl,
            write_acl: self.write_acl || other.write_acl,
        }
    }

    /// The kinds set here and not in `allowed`.
    #[must_use]
    pub fn beyond(self, allowed: Self) -> Self {
        Self {
            read: self.read && !allowed.read,
            write: self.write && !allowed.write,
            list: self.list && !allowed.list,
            read_acl: self.read_acl && !allowed.read_acl,
            write_acl: self.write_acl && !allowed.write_acl,
        }
    }

    /// The names of the kinds that are set, for messages.
    pub fn names(self) -> Vec<&'static str> {
        [
            (self.read, "read"),
            (self.write, "write"),
            (self.list, "list"),
            (self.read_acl, "read_acl"),
            (self.write_acl, "write_acl"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect()
    }
}

/// Representative S3 actions for each exposure kind.
const READ: &[&str] = &["s3:getobject", "s3:getobjectversion"];
const WRITE: &[&str] = &[
    "s3:putobject",
    "s3:deleteobject",
    "s3:deleteobjectversion",
    "s3:restoreobject",
];
const LIST: &[&str] = &[
    "s3:listbucket",
    "s3:listbucketversions",
    "s3:listbucketmultipartuploads",
];
const READ_ACL: &[&str] = &["s3:getbucketacl", "s3:getobjectacl", "s3:getbucketpolicy"];
const WRITE_ACL: &[&str] = &[
    "s3:putbucketacl",
    "s3:putobjectacl",
    "s3:putbucketpolicy",
    "s3:deletebucketpolicy",
];

/// Glob match with `*` (any run) and `?` (one character), ASCII case-insensitive, as IAM matches
/// action names.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    glob(pattern, text, true)
}

/// Glob match with `*` and `?`, case-sensitive, as IAM matches resource ARNs and
/// `ArnLike`/`StringLike` condition values.
pub fn glob_match_case_sensitive(pattern: &str, text: &str) -> bool {
    glob(pattern, text, false)
}

fn glob(pattern: &str, text: &str, fold_case: bool) -> bool {
    let p = pattern.as_bytes();
    let t = text.as_bytes();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some(b'*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c)
                if c == b'?' || c == t[ti] || (fold_case && c.eq_ignore_ascii_case(&t[ti])) =>
            {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// What a statement's `Action` (or, negated, `NotAction`) grants.
///
/// With `Action`, a kind is granted when any of its actions matches a pattern. With
/// `NotAction`, when any of its actions is *not* matched by the listed patterns.
pub fn actions_grant<'a>(
    patterns: impl Iterator<Item = &'a str> + Clone,
    negated: bool,
) -> ExposureKinds {
    let granted = |actions: &[&str]| {
        actions.iter().any(|action| {
            let matched = patterns.clone().any(|p| glob_match(p, action));
            matched != negated
        })
    };
    ExposureKinds {
        read: granted(READ),
        write: granted(WRITE),
        list: granted(LIST),
        read_acl: granted(READ_ACL),
        write_acl: granted(WRITE_ACL),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches_like_iam() {
        assert!(glob_match("s3:*", "s3:getobject"));
        assert!(glob_match("*", "s3:putobject"));
        assert!(glob_match("S3:Get*", "s3:getobject"));
        assert!(glob_match("s3:GetObjec?", "s3:getobject"));
        assert!(glob_match("s3:*Object", "s3:putobject"));
        assert!(!glob_match("s3:Get*", "s3:putobject"));
        assert!(!glob_match("s3:GetObject", "s3:getobjectversion"));
        assert!(glob_match("s3:*Obj*Ver*", "s3:deleteobjectversion"));
    }

    #[test]
    fn not_action_grants_what_it_does_not_name() {
        let kinds = actions_grant(["s3:GetObject", "s3:GetObjectVersion"].into_iter(), true);
        assert!(!kinds.read);
        assert!(kinds.write && kinds.list && kinds.read_acl && kinds.write_acl);
    }

    #[test]
    fn put_star_gives_write() {
        let kinds = actions_grant(["s3:Put*"].into_iter(), false);
        assert!(kinds.write && kinds.write_acl && !kinds.read && !kinds.list);
    }
}
