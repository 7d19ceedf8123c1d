//! The preventive controls, as policy documents: a service control policy for AWS
//! Organizations and an equivalent IAM policy with an explicit Deny, both denying the sensitive
//! actions to every principal but the approved ones. Pure.

use serde_json::{json, Value};

use super::evaluate::{Approved, SENSITIVE_ACTIONS};

/// The IAM policy's name, when bucketward creates it to attach it to offending principals.
pub const DENY_POLICY_NAME: &str = "bucketward-iam-guardrail";
/// Its path (bucketward's own resources live under `/bucketward/`).
pub const DENY_POLICY_PATH: &str = "/bucketward/";
/// AWS limits: an SCP's text, a managed policy's text (whitespace excluded).
pub const SCP_MAX_CHARS: usize = 5120;
pub const MANAGED_POLICY_MAX_CHARS: usize = 6144;

/// The sensitive actions, as the guardrails name them.
pub fn guarded_actions() -> Vec<&'static str> {
    SENSITIVE_ACTIONS.iter().map(|(a, _)| *a).collect()
}

fn deny_statement(sid: &str, approved: &Approved) -> Value {
    json!({
        "Sid": sid,
        "Effect": "Deny",
        "Action": guarded_actions(),
        "Resource": "*",
        "Condition": {
            "ArnNotLike": {"aws:PrincipalArn": approved.patterns()}
        }
    })
}

/// The SCP: attach it to the organization root, an OU or accounts. `aws:PrincipalArn` is the
/// role's ARN for a role session, so the approved patterns name roles, not sessions.
pub fn scp(approved: &Approved) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [deny_statement("BucketwardDenyBucketSecurityChanges", approved)]
    })
}

/// The IAM policy, for accounts without Organizations: attached to a user, group or role, it
/// denies the same actions unless the principal is approved.
pub fn deny_policy(approved: &Approved) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [deny_statement("BucketwardDenyBucketSecurityChangesUnlessApproved", approved)]
    })
}

/// The length AWS counts against its size limits (whitespace excluded).
pub fn policy_size(document: &Value) -> usize {
    document
        .to_string()
        .chars()
        .filter(|c| !c.is_whitespace())
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iam::condition::Caller;
    use crate::iam::evaluate::{decide, denies, Decision, Request, SENSITIVE_ACTIONS};
    use crate::iam::scope::ResourceType;
    use crate::policy::PolicyDocument;

    const ACCOUNT: &str = "123456789012";

    fn approved() -> Approved {
        Approved::new([
            "arn:aws:iam::123456789012:role/SecurityAdmin",
            "arn:aws:iam::*:role/platform/Deployer-*",
        ])
    }

    fn parse(v: &Value) -> PolicyDocument {
        PolicyDocument::parse(&v.to_string()).unwrap()
    }

    fn resource(kind: ResourceType) -> &'static str {
        match kind {
            ResourceType::Bucket => "arn:aws:s3:::acme-data",
            ResourceType::Object => "arn:aws:s3:::acme-data/report.csv",
            ResourceType::AccessPoint => "arn:aws:s3:us-east-1:123456789012:accesspoint/ap",
            ResourceType::Account => "*",
        }
    }

    const ADMIN: &str =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

    #[test]
    fn both_guardrails_parse_and_deny_exactly_the_unapproved() {
        let admin = PolicyDocument::parse(ADMIN).unwrap();
        let approved_callers = [
            "arn:aws:iam::123456789012:role/SecurityAdmin",
            "arn:aws:iam::123456789012:role/platform/Deployer-prod",
            "arn:aws:iam::123456789012:role/bucketward/bucketward-RemediatorRole-X",
        ];
        let other_callers = [
            "arn:aws:iam::123456789012:user/alice",
            "arn:aws:iam::123456789012:role/SecurityAdmin2",
            "arn:aws:iam::123456789012:role/Deployer-prod",
            "arn:aws:iam::123456789012:role/platform/sub/x",
        ];
        for guardrail in [scp(&approved()), deny_policy(&approved())] {
            let doc = parse(&guardrail);
            assert!(policy_size(&guardrail) < SCP_MAX_CHARS);
            for (action, kind) in SENSITIVE_ACTIONS {
                for arn in approved_callers {
                    let request = Request {
                        action,
                        resource: resource(kind),
                        caller: Caller {
                            arn,
                            account: ACCOUNT,
                        },
                    };
                    assert!(!denies(&doc, &request), "{action} {arn}");
                    assert_eq!(decide(&[&admin, &doc], &request), Decision::Allow);
                }
                for arn in other_callers {
                    let request = Request {
                        action,
                        resource: resource(kind),
                        caller: Caller {
                            arn,
                            account: ACCOUNT,
                        },
                    };
                    assert!(denies(&doc, &request), "{action} {arn}");
                    assert_eq!(decide(&[&admin, &doc], &request), Decision::ExplicitDeny);
                }
            }
            // Everything else stays allowed.
            let get = Request {
                action: "s3:GetObject",
                resource: "arn:aws:s3:::acme-data/x",
                caller: Caller {
                    arn: other_callers[0],
                    account: ACCOUNT,
                },
            };
            assert_eq!(decide(&[&admin, &doc], &get), Decision::Allow);
        }
    }

    #[test]
    fn bucketward_roles_are_always_approved() {
        let doc = deny_policy(&Approved::new(Vec::<String>::new()));
        let patterns = &doc["Statement"][0]["Condition"]["ArnNotLike"]["aws:PrincipalArn"];
        assert_eq!(patterns, &json!(["arn:aws:iam::*:role/bucketward/*"]));
        assert_eq!(doc["Statement"][0]["Action"].as_array().unwrap().len(), 8);
    }
}
