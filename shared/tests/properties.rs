#![allow(clippy::expect_used, clippy::unwrap_used)]
//! Property tests of the evaluator's invariants.

use bucketward::exposure::policy_is_public;
use bucketward::policy::{PolicyDocument, PolicyKind};
use bucketward::snapshot::PublicAccessBlock;
use bucketward::{evaluate, Snapshot};
use proptest::prelude::*;
use serde_json::{json, Value};

fn principal() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!("*")),
        Just(json!({"AWS": "*"})),
        Just(json!({"AWS": ["*"]})),
        Just(json!({"AWS": "111122223333"})),
        Just(json!({"AWS": ["arn:aws:iam::111122223333:root", "*"]})),
        Just(json!({"AWS": "arn:aws:iam::*:root"})),
        Just(json!({"Service": "cloudfront.amazonaws.com"})),
        Just(
            json!({"CanonicalUser": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"})
        ),
        Just(
            json!({"AWS": "arn:aws:iam::111122223333:role/reader", "Service": "logging.s3.amazonaws.com"})
        ),
    ]
}

fn action() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!("s3:GetObject")),
        Just(json!(["s3:GetObject", "s3:ListBucket"])),
        Just(json!("s3:*")),
        Just(json!("*")),
        Just(json!("s3:Put*")),
        Just(json!(["s3:PutObject", "s3:PutObjectAcl"])),
        Just(json!("s3:GetBucketLocation")),
    ]
}

fn condition() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        Just(None),
        Just(Some(json!({"Bool": {"aws:SecureTransport": "false"}}))),
        Just(Some(
            json!({"StringEquals": {"aws:SourceAccount": "111122223333"}})
        )),
        Just(Some(
            json!({"StringLike": {"aws:SourceArn": "arn:aws:cloudfront::*"}})
        )),
        Just(Some(json!({"IpAddress": {"aws:SourceIp": ["0.0.0.0/0"]}}))),
        Just(Some(
            json!({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}})
        )),
        Just(Some(
            json!({"StringNotEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}})
        )),
        Just(Some(
            json!({"StringEqualsIfExists": {"aws:SourceVpc": "vpc-111bbb22"}})
        )),
        Just(Some(
            json!({"ForAnyValue:StringEquals": {"AWS:SourceVpce": ["vpce-1", "vpce-2"]}})
        )),
    ]
}

fn statement(effect: &'static str) -> impl Strategy<Value = Value> {
    (
        principal(),
        action(),
        condition(),
        any::<bool>(),
        proptest::option::of("[A-Za-z0-9]{1,12}"),
    )
        .prop_map(move |(principal, action, condition, not_principal, sid)| {
            let mut s = json!({
                "Effect": effect,
                "Action": action,
                "Resource": ["arn:aws:s3:::prop-bucket", "arn:aws:s3:::prop-bucket/*"],
            });
            let key = if not_principal && effect == "Deny" {
                "NotPrincipal"
            } else {
                "Principal"
            };
            s[key] = principal;
            if let Some(c) = condition {
                s["Condition"] = c;
            }
            if let Some(sid) = sid {
                s["Sid"] = json!(sid);
            }
            s
        })
}

fn any_statement() -> impl Strategy<Value = Value> {
    prop_oneof![statement("Allow"), statement("Deny")]
}

fn document(statements: &[Value]) -> PolicyDocument {
    let text = json!({"Version": "2012-10-17", "Statement": statements}).to_string();
    PolicyDocument::parse(&text).expect("generated policies parse")
}

fn grant() -> impl Strategy<Value = Value> {
    let grantee = prop_oneof![
        Just(json!({"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"})),
        Just(
            json!({"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"})
        ),
        Just(json!({"Type": "Group", "URI": "http://acs.amazonaws.com/groups/s3/LogDelivery"})),
        Just(
            json!({"Type": "CanonicalUser", "ID": "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"})
        ),
    ];
    let permission = prop_oneof![
        Just("READ"),
        Just("WRITE"),
        Just("READ_ACP"),
        Just("WRITE_ACP"),
        Just("FULL_CONTROL")
    ];
    (grantee, permission).prop_map(|(g, p)| json!({"Grantee": g, "Permission": p}))
}

fn bpa() -> impl Strategy<Value = Value> {
    (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
        |(present, a, b, c, d)| {
            if present {
                json!({"BlockPublicAcls": a, "IgnorePublicAcls": b, "BlockPublicPolicy": c, "RestrictPublicBuckets": d})
            } else {
                Value::Null
            }
        },
    )
}

fn snapshot() -> impl Strategy<Value = Value> {
    (
        proptest::collection::vec(any_statement(), 0..5),
        proptest::collection::vec(grant(), 0..4),
        proptest::collection::vec(grant(), 0..3),
        bpa(),
        bpa(),
        prop_oneof![Just("ObjectWriter"), Just("BucketOwnerPreferred"), Just("BucketOwnerEnforced")],
        proptest::option::of((any_statement(), any::<bool>())),
    )
        .prop_map(|(statements, bucket_grants, object_grants, bucket_bpa, account_bpa, ownership, ap)| {
            let policy = if statements.is_empty() {
                Value::Null
            } else {
                json!(json!({"Version": "2012-10-17", "Statement": statements}).to_string())
            };
            let access_points = match ap {
                Some((statement, vpc)) => json!([{
                    "Name": "prop-ap",
                    "NetworkOrigin": if vpc { "VPC" } else { "Internet" },
                    "Policy": {"Version": "2012-10-17", "Statement": [statement]},
                    "PublicAccessBlock": {"BlockPublicAcls": false, "IgnorePublicAcls": false, "BlockPublicPolicy": false, "RestrictPublicBuckets": false}
                }]),
                None => json!([]),
            };
            json!({
                "Bucket": "prop-bucket",
                "AccountId": "123456789012",
                "Region": "us-east-1",
                "Policy": policy,
                "Acl": {"Owner": {"ID": "owner"}, "Grants": bucket_grants},
                "PublicAccessBlock": bucket_bpa,
                "AccountPublicAccessBlock": account_bpa,
                "OwnershipControls": {"Rules": [{"ObjectOwnership": ownership}]},
                "Objects": [{"Key": "a.txt", "ContentType": "text/plain", "Acl": {"Grants": object_grants}}],
                "AccessPoints": access_points,
            })
        })
}

proptest! {
    #[test]
    fn adding_a_deny_never_makes_a_policy_public(
        statements in proptest::collection::vec(any_statement(), 0..6),
        deny in statement("Deny"),
    ) {
        let before = policy_is_public(&document(&statements), PolicyKind::Bucket);
        let mut more = statements.clone();
        more.push(deny);
        let after = policy_is_public(&document(&more), PolicyKind::Bucket);
        prop_assert_eq!(before, after);
    }

    #[test]
    fn adding_a_statement_never_makes_a_public_policy_private(
        statements in proptest::collection::vec(any_statement(), 1..6),
        extra in any_statement(),
        at in any::<prop::sample::Index>(),
    ) {
        let before = policy_is_public(&document(&statements), PolicyKind::Bucket);
        let mut more = statements.clone();
        more.insert(at.index(more.len() + 1), extra);
        let after = policy_is_public(&document(&more), PolicyKind::Bucket);
        prop_assert!(!before || after);
    }

    #[test]
    fn all_four_flags_at_either_level_means_not_public(doc in snapshot(), account_level in any::<bool>()) {
        let mut doc = doc;
        let key = if account_level { "AccountPublicAccessBlock" } else { "PublicAccessBlock" };
        doc[key] = serde_json::to_value(PublicAccessBlock::ALL_ON).expect("encodes");
        let snapshot = Snapshot::from_json(&doc.to_string()).expect("generated snapshots parse");
        let verdict = evaluate(&snapshot);
        prop_assert!(!verdict.public, "{:#?}", verdict.findings);
        prop_assert!(!verdict.exposure.any());
    }

    #[test]
    fn policy_parse_serialize_parse_is_stable(statements in proptest::collection::vec(any_statement(), 1..6)) {
        let first = document(&statements);
        let text = serde_json::to_string(&first).expect("encodes");
        let second = PolicyDocument::parse(&text).expect("reparses");
        prop_assert_eq!(&first, &second);
        prop_assert_eq!(text, serde_json::to_string(&second).expect("encodes"));
    }

    #[test]
    fn snapshot_round_trip_keeps_the_verdict(doc in snapshot()) {
        let snapshot = Snapshot::from_json(&doc.to_string()).expect("parses");
        let again = Snapshot::from_json(&serde_json::to_string(&snapshot).expect("encodes")).expect("reparses");
        prop_assert_eq!(&snapshot, &again);
        prop_assert_eq!(evaluate(&snapshot), evaluate(&again));
    }

    #[test]
    fn evaluation_never_panics_on_arbitrary_policy_json(text in "\\PC{0,200}") {
        // Whatever the policy text, reading it either fails cleanly or evaluates.
        let doc = json!({"Bucket": "b", "Policy": text});
        if let Ok(snapshot) = Snapshot::from_json(&doc.to_string()) {
            let _ = evaluate(&snapshot);
        }
    }
}
