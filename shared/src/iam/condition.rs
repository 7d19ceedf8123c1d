//! The conditions the IAM evaluator can decide: those on the caller's own identity
//! (`aws:PrincipalArn`, `aws:PrincipalAccount`), the keys the guardrails use. Anything else
//! depends on the request (source IP, MFA, tags, time...) and is reported as unknown.

use serde::Serialize;

use crate::policy::{glob_match_case_sensitive, ConditionBlock};

/// The result of a condition that may depend on what we cannot see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Truth {
    True,
    False,
    /// Depends on the request (a key or operator the evaluator does not decide).
    Unknown,
}

/// Who is calling: what the evaluator knows of every request the principal makes.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    /// `aws:PrincipalArn`: the user or role ARN (for a role session, the role's ARN).
    pub arn: &'a str,
    /// `aws:PrincipalAccount`.
    pub account: &'a str,
}

impl Caller<'_> {
    fn value(&self, key_lc: &str) -> Option<&str> {
        match key_lc {
            "aws:principalarn" => Some(self.arn),
            "aws:principalaccount" => Some(self.account),
            _ => None,
        }
    }
}

/// `ArnLike` / `ArnEquals`: the six colon-separated parts are matched one by one, each with
/// `*` and `?` wildcards (a `*` never crosses a colon, except in the last part, which holds the
/// rest of the ARN). Case-sensitive.
pub fn arn_like(pattern: &str, arn: &str) -> bool {
    let p: Vec<&str> = pattern.splitn(6, ':').collect();
    let a: Vec<&str> = arn.splitn(6, ':').collect();
    if p.len() != 6 || a.len() != 6 {
        // Not an ARN on one side: AWS compares them as plain wildcard strings.
        return glob_match_case_sensitive(pattern, arn);
    }
    p.iter()
        .zip(&a)
        .all(|(p, a)| glob_match_case_sensitive(p, a))
}

/// Evaluates a `Condition` block for a caller: every operator and key must hold (AND), any of a
/// key's values may match (OR; for negated operators, none may).
pub fn evaluate(block: &ConditionBlock, caller: &Caller<'_>) -> Truth {
    let mut result = Truth::True;
    for (operator, keys) in block {
        for (key, values) in keys {
            let values: Vec<String> = values.iter().map(|v| v.as_text().into_owned()).collect();
            match evaluate_one(operator, key, &values, caller) {
                Truth::False => return Truth::False,
                Truth::Unknown => result = Truth::Unknown,
                Truth::True => {}
            }
        }
    }
    result
}

fn evaluate_one(operator: &str, key: &str, values: &[String], caller: &Caller<'_>) -> Truth {
    let op = operator.to_ascii_lowercase();
    // Single-valued keys: the set operators behave as the plain ones when the key is present.
    let op = op
        .strip_prefix("foranyvalue:")
        .or_else(|| op.strip_prefix("forallvalues:"))
        .unwrap_or(&op);
    // Both keys we decide are always present, so `IfExists` changes nothing for them.
    let op = op.strip_suffix("ifexists").unwrap_or(op);
    let Some(actual) = caller.value(&key.to_ascii_lowercase()) else {
        return Truth::Unknown;
    };
    if values.iter().any(|v| v.contains("${")) {
        return Truth::Unknown;
    }
    let any = |f: &dyn Fn(&str) -> bool| values.iter().any(|v| f(v));
    let held = match op {
        "stringequals" => any(&|v| v == actual),
        "stringnotequals" => !any(&|v| v == actual),
        "stringequalsignorecase" => any(&|v| v.eq_ignore_ascii_case(actual)),
        "stringnotequalsignorecase" => !any(&|v| v.eq_ignore_ascii_case(actual)),
        "stringlike" => any(&|v| glob_match_case_sensitive(v, actual)),
        "stringnotlike" => !any(&|v| glob_match_case_sensitive(v, actual)),
        "arnequals" | "arnlike" => any(&|v| arn_like(v, actual)),
        "arnnotequals" | "arnnotlike" => !any(&|v| arn_like(v, actual)),
        "null" => {
            // `Null: true` holds when the key is absent; ours never are.
            !any(&|v| v.eq_ignore_ascii_case("true"))
        }
        _ => return Truth::Unknown,
    };
    if held {
        Truth::True
    } else {
        Truth::False
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(json: &str) -> ConditionBlock {
        serde_json::from_str(json).unwrap()
    }

    const ALICE: Caller<'static> = Caller {
        arn: "arn:aws:iam::123456789012:role/ops/Admin-alice",
        account: "123456789012",
    };

    #[test]
    fn arn_like_matches_part_by_part() {
        assert!(arn_like(
            "arn:aws:iam::*:role/ops/*",
            "arn:aws:iam::123456789012:role/ops/x"
        ));
        assert!(arn_like(
            "arn:aws:iam::*:role/*",
            "arn:aws:iam::123456789012:role/ops/x"
        ));
        assert!(!arn_like(
            "arn:aws:iam::*:role/Ops/*",
            "arn:aws:iam::123456789012:role/ops/x"
        ));
        // A `*` in the account part does not reach into the resource part.
        assert!(!arn_like(
            "arn:aws:iam::*:role/x",
            "arn:aws:iam::123:456:role/x"
        ));
        assert!(arn_like("*", "arn:aws:iam::123456789012:role/x"));
    }

    #[test]
    fn decides_principal_conditions_and_leaves_the_rest_unknown() {
        let not_approved = block(
            r#"{"ArnNotLike": {"aws:PrincipalArn": ["arn:aws:iam::*:role/bucketward/*", "arn:aws:iam::*:role/ops/Admin-*"]}}"#,
        );
        assert_eq!(evaluate(&not_approved, &ALICE), Truth::False);
        let bob = Caller {
            arn: "arn:aws:iam::123456789012:user/bob",
            account: "123456789012",
        };
        assert_eq!(evaluate(&not_approved, &bob), Truth::True);
        let account = block(r#"{"StringEquals": {"aws:PrincipalAccount": "123456789012"}}"#);
        assert_eq!(evaluate(&account, &bob), Truth::True);
        let ip = block(r#"{"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}"#);
        assert_eq!(evaluate(&ip, &bob), Truth::Unknown);
        let both = block(
            r#"{"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}, "StringEquals": {"aws:PrincipalAccount": "999999999999"}}"#,
        );
        assert_eq!(evaluate(&both, &bob), Truth::False);
        let var = block(r#"{"StringLike": {"aws:PrincipalArn": "${aws:username}"}}"#);
        assert_eq!(evaluate(&var, &bob), Truth::Unknown);
        let ifexists =
            block(r#"{"ArnNotLikeIfExists": {"aws:PrincipalArn": "arn:aws:iam::*:user/bob"}}"#);
        assert_eq!(evaluate(&ifexists, &bob), Truth::False);
    }
}
