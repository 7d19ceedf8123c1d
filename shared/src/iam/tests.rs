//! The evaluation rules, on an inventory written as JSON.

use serde_json::json;

use super::evaluate::{LimitEffect, LimitKind};
use super::scope::Scope;
use super::*;
use crate::severity::Severity;

const ACCOUNT: &str = "123456789012";

fn doc(statements: serde_json::Value) -> String {
    json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

fn allow(action: serde_json::Value, resource: &str) -> serde_json::Value {
    json!({"Effect": "Allow", "Action": action, "Resource": resource})
}

fn trust(principal: serde_json::Value) -> String {
    doc(json!([{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}]))
}

fn inventory() -> Inventory {
    let user = |name: &str| format!("arn:aws:iam::{ACCOUNT}:user/{name}");
    let role = |name: &str| format!("arn:aws:iam::{ACCOUNT}:role/{name}");
    let policy = |name: &str| format!("arn:aws:iam::{ACCOUNT}:policy/{name}");
    let local = json!({"Service": "ec2.amazonaws.com"});
    serde_json::from_value(json!({
        "account_id": ACCOUNT,
        "users": [
            {"name": "ci-bot", "arn": user("ci-bot"), "active_access_keys": 1,
             "inline": [{"name": "s3-everything", "document": doc(json!([allow(json!("s3:*"), "*")]))}]},
            {"name": "dev", "arn": user("dev"), "groups": ["writers"]},
            {"name": "denied", "arn": user("denied"),
             "inline": [{"name": "mixed", "document": doc(json!([
                allow(json!("s3:*"), "*"),
                {"Sid": "NoBpaNoPolicy", "Effect": "Deny",
                 "Action": ["s3:PutBucketPolicy", "s3:PutBucketPublicAccessBlock", "s3:PutAccountPublicAccessBlock"],
                 "Resource": "*"}
             ]))}]},
            {"name": "partly-denied", "arn": user("partly-denied"),
             "inline": [{"name": "mixed", "document": doc(json!([
                allow(json!(["s3:PutBucketPolicy"]), "arn:aws:s3:::*"),
                {"Effect": "Deny", "Action": "s3:PutBucketPolicy", "Resource": "arn:aws:s3:::prod-*"},
                {"Effect": "Deny", "Action": "s3:PutBucketPolicy", "Resource": "*",
                 "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}
             ]))}]},
            {"name": "reader", "arn": user("reader"), "active_access_keys": 2,
             "inline": [{"name": "read", "document": doc(json!([allow(json!("s3:Get*"), "*")]))}]}
        ],
        "groups": [
            {"name": "writers", "arn": format!("arn:aws:iam::{ACCOUNT}:group/writers"),
             "attached": [{"name": "put-all", "arn": policy("put-all")}]}
        ],
        "roles": [
            {"name": "admin", "arn": role("admin"), "trust_policy": trust(local.clone()),
             "attached": [{"name": "AdministratorAccess", "arn": "arn:aws:iam::aws:policy/AdministratorAccess"}]},
            {"name": "one-bucket", "arn": role("one-bucket"), "trust_policy": trust(local.clone()),
             "inline": [{"name": "one", "document": doc(json!([allow(json!("s3:*"), "arn:aws:s3:::reports")]))}]},
            {"name": "bounded", "arn": role("bounded"), "trust_policy": trust(local.clone()),
             "boundary": policy("no-policy-writes"),
             "inline": [{"name": "all", "document": doc(json!([allow(json!("s3:*"), "*")]))}]},
            {"name": "SecurityAdmin", "arn": role("SecurityAdmin"), "trust_policy": trust(local.clone()),
             "inline": [{"name": "all", "document": doc(json!([allow(json!("s3:*"), "*")]))}]},
            {"name": "partner", "arn": role("partner"),
             "trust_policy": trust(json!({"AWS": "arn:aws:iam::999988887777:root"})),
             "inline": [{"name": "not-iam", "document": doc(json!([
                {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}
             ]))}]},
            {"name": "objects-only", "arn": role("objects-only"), "trust_policy": trust(local),
             "inline": [{"name": "objs", "document": doc(json!([allow(json!("s3:*"), "arn:aws:s3:::*/*")]))}]}
        ],
        "policies": [
            {"name": "put-all", "arn": policy("put-all"), "document": doc(json!([allow(json!("s3:Put*"), "*")]))},
            {"name": "no-policy-writes", "arn": policy("no-policy-writes"), "document": doc(json!([
                {"Effect": "Allow", "NotAction": ["s3:PutBucketPolicy", "s3:PutBucketPublicAccessBlock", "s3:PutAccountPublicAccessBlock"], "Resource": "*"}
            ]))},
            {"name": "AdministratorAccess", "arn": "arn:aws:iam::aws:policy/AdministratorAccess",
             "document": doc(json!([allow(json!("*"), "*")]))}
        ]
    }))
    .unwrap()
}

fn approved() -> Approved {
    Approved::new([format!("arn:aws:iam::{ACCOUNT}:role/Security*")])
}

fn find<'a>(report: &'a IamReport, name: &str) -> &'a PrincipalReport {
    report
        .principals
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("{name} is listed"))
}

#[test]
fn reports_exactly_who_can_and_who_is_a_finding() {
    let report = evaluate(&inventory(), &approved());
    let listed: Vec<&str> = report.principals.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        listed,
        [
            "ci-bot",
            "dev",
            "denied",
            "partly-denied",
            "writers",
            "admin",
            "one-bucket",
            "bounded",
            "SecurityAdmin",
            "partner",
            "objects-only"
        ]
    );
    let findings: Vec<(&str, Severity)> = report
        .findings()
        .map(|(p, f)| (p.name.as_str(), f.severity))
        .collect();
    assert_eq!(
        findings,
        [
            ("ci-bot", Severity::High),
            ("dev", Severity::Medium),
            ("partly-denied", Severity::Medium),
            ("admin", Severity::Medium),
            ("partner", Severity::High),
        ]
    );
}

#[test]
fn grants_name_their_policy_statement_and_wildcard() {
    let report = evaluate(&inventory(), &approved());
    let bot = find(&report, "ci-bot");
    let put_policy = bot.action("s3:PutBucketPolicy").unwrap();
    assert_eq!(put_policy.grants[0].matched, "s3:*");
    assert!(put_policy.via_wildcard());
    assert_eq!(put_policy.grants[0].policy.name, "s3-everything");
    assert_eq!(put_policy.grants[0].statement, 0);
    assert!(put_policy.effective.is_all());
    assert_eq!(bot.actions.len(), 8);

    let dev = find(&report, "dev");
    let g = &dev.action("s3:PutBucketAcl").unwrap().grants[0];
    assert_eq!(g.policy.via_group.as_deref(), Some("writers"));
    assert_eq!(g.matched, "s3:Put*");
    // s3:Put* does not reach DeleteBucketPolicy or CreateAccessPoint.
    assert!(dev.action("s3:DeleteBucketPolicy").is_none());
    assert!(dev.action("s3:CreateAccessPoint").is_none());

    let admin = find(&report, "admin");
    let g = &admin
        .action("s3:PutAccountPublicAccessBlock")
        .unwrap()
        .grants[0];
    assert_eq!(g.policy.origin, evaluate::PolicyOrigin::AwsManaged);
    assert_eq!(g.matched, "*");

    let partner = find(&report, "partner");
    assert_eq!(
        partner.action("s3:PutBucketPolicy").unwrap().grants[0].matched,
        "NotAction"
    );
    assert_eq!(partner.external_trust, ["arn:aws:iam::999988887777:root"]);
}

#[test]
fn resource_scoping_boundaries_and_denies() {
    let report = evaluate(&inventory(), &approved());
    let one = find(&report, "one-bucket");
    assert!(one.finding.is_none());
    assert_eq!(
        one.action("s3:PutBucketPolicy")
            .unwrap()
            .effective
            .describe(),
        "only arn:aws:s3:::reports"
    );
    // No resource-level permissions: a bucket ARN does not grant it.
    assert!(one.action("s3:PutAccountPublicAccessBlock").is_none());
    // A bucket ARN does not reach objects.
    assert!(one.action("s3:PutObjectAcl").is_none());

    let objects = find(&report, "objects-only");
    assert!(objects.finding.is_none());
    assert!(objects.action("s3:PutBucketPolicy").is_none());
    assert!(objects
        .action("s3:PutObjectAcl")
        .unwrap()
        .effective
        .is_all());

    let bounded = find(&report, "bounded");
    assert!(bounded.finding.is_none());
    let policy = bounded.action("s3:PutBucketPolicy").unwrap();
    assert_eq!(policy.effective, Scope::None);
    assert_eq!(policy.limits[0].kind, LimitKind::Boundary);
    assert_eq!(policy.limits[0].effect, LimitEffect::Full);
    assert!(bounded
        .action("s3:PutBucketAcl")
        .unwrap()
        .effective
        .is_all());

    let denied = find(&report, "denied");
    assert!(denied.finding.is_none());
    let limit = &denied
        .action("s3:PutBucketPublicAccessBlock")
        .unwrap()
        .limits[0];
    assert_eq!(
        (limit.kind, limit.effect, limit.sid.as_deref()),
        (
            LimitKind::ExplicitDeny,
            LimitEffect::Full,
            Some("NoBpaNoPolicy")
        )
    );
    assert!(denied.can_perform(), "PutBucketAcl is still allowed");

    let partly = find(&report, "partly-denied");
    let put = partly.action("s3:PutBucketPolicy").unwrap();
    assert_eq!(put.effective.describe(), "all except arn:aws:s3:::prod-*");
    let effects: Vec<LimitEffect> = put.limits.iter().map(|l| l.effect).collect();
    assert_eq!(effects, [LimitEffect::Partial, LimitEffect::Conditional]);
    assert!(
        partly.finding.is_some(),
        "all buckets but a few is still broad"
    );

    let approved_role = find(&report, "SecurityAdmin");
    assert!(approved_role.approved && approved_role.finding.is_none());
    assert!(!find(&report, "writers").approved);
}

#[test]
fn the_attached_deny_guardrail_removes_the_finding() {
    let mut inv = inventory();
    let arn = format!("arn:aws:iam::{ACCOUNT}:policy/bucketward/bucketward-iam-guardrail");
    inv.policies.push(inventory::ManagedPolicy {
        name: guardrail::DENY_POLICY_NAME.to_owned(),
        arn: arn.clone(),
        document: Some(guardrail::deny_policy(&approved()).to_string()),
    });
    for role in &mut inv.roles {
        role.attached.push(inventory::AttachedPolicy {
            name: guardrail::DENY_POLICY_NAME.to_owned(),
            arn: arn.clone(),
        });
    }
    let report = evaluate(&inv, &approved());
    let admin = find(&report, "admin");
    assert!(admin.finding.is_none());
    assert!(!admin.can_perform());
    // The approved role keeps its rights: the condition excludes it.
    let security = find(&report, "SecurityAdmin");
    assert!(security
        .action("s3:PutBucketPolicy")
        .unwrap()
        .effective
        .is_all());
    let findings: Vec<&str> = report.findings().map(|(p, _)| p.name.as_str()).collect();
    assert_eq!(findings, ["ci-bot", "dev", "partly-denied"]);
}

#[test]
fn trust_outside_the_account() {
    let t = |p: serde_json::Value| evaluate::external_trust(&trust(p), ACCOUNT);
    assert!(t(json!({"AWS": format!("arn:aws:iam::{ACCOUNT}:root")})).is_empty());
    assert!(t(json!({"AWS": ACCOUNT})).is_empty());
    assert_eq!(t(json!({"AWS": "*"})), ["*"]);
    assert_eq!(t(json!("*")), ["*"]);
    assert_eq!(t(json!({"AWS": "111122223333"})), ["111122223333"]);
    assert_eq!(
        t(
            json!({"Federated": "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"})
        ),
        ["arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"]
    );
    assert!(t(json!({"Service": "lambda.amazonaws.com"})).is_empty());
}

#[test]
fn approved_patterns_from_a_list() {
    let a = Approved::from_list(" arn:aws:iam::*:role/Admin*, ,arn:aws:iam::1:user/x ");
    assert_eq!(
        a.patterns(),
        [
            evaluate::BUCKETWARD_ROLE_PATTERN,
            "arn:aws:iam::*:role/Admin*",
            "arn:aws:iam::1:user/x"
        ]
    );
    assert!(a.matches("arn:aws:iam::123456789012:role/AdminOps"));
    assert!(a.matches("arn:aws:iam::123456789012:role/bucketward/bucketward-Remediator-1"));
    assert!(!a.matches("arn:aws:iam::123456789012:role/ops/AdminOps"));
}

#[test]
fn notification_and_audit_payloads_name_the_grant() {
    let report = evaluate(&inventory(), &approved());
    let (p, f) = report.findings().next().unwrap();
    let n = finding_notification(ACCOUNT, p, f);
    assert!(n.subject.contains("ci-bot") && n.subject.contains("high"));
    assert_eq!(n.body["grants"][0]["matched"], "s3:*");
    assert_eq!(n.body["layer"], "iam");
    assert!(n.subject.chars().count() <= 100);
}
