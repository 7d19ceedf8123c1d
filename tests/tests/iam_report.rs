//! The IAM layer against the emulator: principals seeded through the IAM API, read back with
//! `GetAccountAuthorizationDetails`, evaluated; then the co-pilot guardrail: proposed, approved
//! (attached), recorded, and rolled back (detached).
//!
//! IAM is account-wide and other tests share the emulator, so every principal carries a prefix
//! unique to the run and the assertions look only at those.

use std::collections::BTreeMap;

use aws_sdk_iam::Client;
use bucketward::audit::{AuditKind, AuditLog as _, MemoryAuditLog};
use bucketward::aws::iam::{attached_policies, deny_policy_arn, read_inventory, IamGuardrails};
use bucketward::iam::proposal::{MemoryProposalStore, ProposalStatus};
use bucketward::iam::{evaluate, Approved, IamReport};
use bucketward::notify::MemoryNotifier;
use bucketward::severity::Severity;
use bucketward_tests::{account_lock, Emulator, ACCOUNT_ID};
use serde_json::json;

fn doc(statements: serde_json::Value) -> String {
    json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

fn allow_all(action: &str) -> String {
    doc(json!([{"Effect": "Allow", "Action": action, "Resource": "*"}]))
}

fn trust(principal: serde_json::Value) -> String {
    doc(json!([{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}]))
}

fn ec2_trust() -> String {
    trust(json!({"Service": "ec2.amazonaws.com"}))
}

fn prefix() -> String {
    format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
}

async fn user(iam: &Client, name: &str, inline: Option<(&str, String)>, access_key: bool) {
    iam.create_user().user_name(name).send().await.unwrap();
    if let Some((policy, document)) = inline {
        iam.put_user_policy()
            .user_name(name)
            .policy_name(policy)
            .policy_document(document)
            .send()
            .await
            .unwrap();
    }
    if access_key {
        iam.create_access_key()
            .user_name(name)
            .send()
            .await
            .unwrap();
    }
}

async fn role(iam: &Client, name: &str, trust: String, boundary: Option<&str>) {
    iam.create_role()
        .role_name(name)
        .assume_role_policy_document(trust)
        .set_permissions_boundary(boundary.map(str::to_owned))
        .send()
        .await
        .unwrap();
}

async fn role_inline(iam: &Client, name: &str, policy: &str, document: String) {
    iam.put_role_policy()
        .role_name(name)
        .policy_name(policy)
        .policy_document(document)
        .send()
        .await
        .unwrap();
}

async fn managed(iam: &Client, name: &str, document: String) -> String {
    iam.create_policy()
        .policy_name(name)
        .policy_document(document)
        .send()
        .await
        .unwrap()
        .policy
        .and_then(|p| p.arn)
        .unwrap()
}

/// An AWS-managed policy when the emulator ships them (moto does with
/// `MOTO_IAM_LOAD_MANAGED_POLICIES=true`), else a customer-managed copy of its document.
async fn aws_managed(iam: &Client, p: &str, name: &str, document: serde_json::Value) -> String {
    let arn = format!("arn:aws:iam::aws:policy/{name}");
    if iam.get_policy().policy_arn(&arn).send().await.is_ok() {
        return arn;
    }
    eprintln!("the emulator has no AWS-managed {name}; using a customer-managed copy");
    managed(iam, &format!("{p}-{name}"), doc(document)).await
}

/// Seeds the principals; returns the approved list used.
async fn seed(iam: &Client, p: &str) -> Approved {
    // A user with access keys and an inline s3:*.
    user(
        iam,
        &format!("{p}-ci-bot"),
        Some(("s3-everything", allow_all("s3:*"))),
        true,
    )
    .await;
    // A user whose group's managed policy grants s3:Put*.
    let put_all = managed(iam, &format!("{p}-put-all"), allow_all("s3:Put*")).await;
    iam.create_group()
        .group_name(format!("{p}-writers"))
        .send()
        .await
        .unwrap();
    iam.attach_group_policy()
        .group_name(format!("{p}-writers"))
        .policy_arn(&put_all)
        .send()
        .await
        .unwrap();
    user(iam, &format!("{p}-dev"), None, false).await;
    iam.add_user_to_group()
        .group_name(format!("{p}-writers"))
        .user_name(format!("{p}-dev"))
        .send()
        .await
        .unwrap();
    // Roles with AWS-managed policies.
    let admin = aws_managed(
        iam,
        p,
        "AdministratorAccess",
        json!([{"Effect": "Allow", "Action": "*", "Resource": "*"}]),
    )
    .await;
    let s3_full = aws_managed(
        iam,
        p,
        "AmazonS3FullAccess",
        json!([{"Effect": "Allow", "Action": ["s3:*", "s3-object-lambda:*"], "Resource": "*"}]),
    )
    .await;
    for (name, arn) in [("admin", &admin), ("s3-full", &s3_full)] {
        role(iam, &format!("{p}-{name}"), ec2_trust(), None).await;
        iam.attach_role_policy()
            .role_name(format!("{p}-{name}"))
            .policy_arn(arn)
            .send()
            .await
            .unwrap();
    }
    // A role limited to one bucket.
    role(iam, &format!("{p}-one-bucket"), ec2_trust(), None).await;
    role_inline(
        iam,
        &format!("{p}-one-bucket"),
        "reports-only",
        doc(json!([{"Effect": "Allow", "Action": "s3:*",
                    "Resource": ["arn:aws:s3:::acme-reports", "arn:aws:s3:::acme-reports/*"]}])),
    )
    .await;
    // A role whose permissions boundary excludes bucket policies and BPA.
    let boundary = managed(
        iam,
        &format!("{p}-boundary"),
        doc(json!([{"Effect": "Allow",
                    "NotAction": ["s3:PutBucketPolicy", "s3:PutBucketPublicAccessBlock", "s3:PutAccountPublicAccessBlock"],
                    "Resource": "*"}])),
    )
    .await;
    role(iam, &format!("{p}-bounded"), ec2_trust(), Some(&boundary)).await;
    role_inline(iam, &format!("{p}-bounded"), "s3", allow_all("s3:*")).await;
    // A user with an explicit Deny.
    user(
        iam,
        &format!("{p}-denied"),
        Some((
            "s3-but-not-policies",
            doc(json!([
                {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
                {"Sid": "NoPolicyNoBpa", "Effect": "Deny",
                 "Action": ["s3:PutBucketPolicy", "s3:PutBucketPublicAccessBlock", "s3:PutAccountPublicAccessBlock"],
                 "Resource": "*"}
            ])),
        )),
        true,
    )
    .await;
    // An approved role.
    role(iam, &format!("{p}-SecurityAdmin"), ec2_trust(), None).await;
    role_inline(iam, &format!("{p}-SecurityAdmin"), "s3", allow_all("s3:*")).await;
    // A role another account can assume.
    role(
        iam,
        &format!("{p}-partner"),
        trust(json!({"AWS": "arn:aws:iam::999988887777:root"})),
        None,
    )
    .await;
    role_inline(
        iam,
        &format!("{p}-partner"),
        "policies",
        doc(json!([{"Effect": "Allow", "Action": "s3:PutBucketPolicy", "Resource": "arn:aws:s3:::*"}])),
    )
    .await;
    // A reader: nothing sensitive.
    user(
        iam,
        &format!("{p}-reader"),
        Some(("read", allow_all("s3:Get*"))),
        true,
    )
    .await;
    Approved::new([format!("arn:aws:iam::{ACCOUNT_ID}:role/{p}-SecurityAdmin")])
}

/// The report restricted to this run's principals.
fn ours(report: &IamReport, p: &str) -> IamReport {
    let mut mine = report.clone();
    mine.principals
        .retain(|r| r.name.starts_with(&format!("{p}-")));
    mine
}

async fn report(emu: &Emulator, p: &str, approved: &Approved) -> IamReport {
    let inventory = read_inventory(&emu.clients.iam(), ACCOUNT_ID)
        .await
        .unwrap();
    ours(&evaluate(&inventory, approved), p)
}

#[tokio::test]
async fn reports_exactly_who_can_weaken_bucket_security() {
    let emu = Emulator::connect().await;
    let iam = emu.clients.iam();
    let p = prefix();
    let approved = seed(&iam, &p).await;
    let report = report(&emu, &p, &approved).await;

    let listed: Vec<String> = report
        .principals
        .iter()
        .map(|r| format!("{} {}", r.kind, r.name.trim_start_matches(&format!("{p}-"))))
        .collect();
    assert_eq!(
        listed,
        [
            "user ci-bot",
            "user dev",
            "user denied",
            "group writers",
            "role admin",
            "role s3-full",
            "role one-bucket",
            "role bounded",
            "role SecurityAdmin",
            "role partner",
        ]
    );
    let findings: BTreeMap<String, Severity> = report
        .findings()
        .map(|(r, f)| {
            (
                r.name.trim_start_matches(&format!("{p}-")).to_owned(),
                f.severity,
            )
        })
        .collect();
    assert_eq!(
        findings,
        BTreeMap::from([
            ("ci-bot".to_owned(), Severity::High),
            ("dev".to_owned(), Severity::Medium),
            ("admin".to_owned(), Severity::Medium),
            ("s3-full".to_owned(), Severity::Medium),
            ("partner".to_owned(), Severity::High),
        ])
    );

    let find = |name: &str| {
        report
            .principals
            .iter()
            .find(|r| r.name == format!("{p}-{name}"))
            .unwrap()
    };
    let bot = find("ci-bot");
    assert_eq!(bot.active_access_keys, Some(1));
    let grant = &bot.action("s3:PutBucketPublicAccessBlock").unwrap().grants[0];
    assert_eq!(
        (
            grant.policy.name.as_str(),
            grant.matched.as_str(),
            grant.wildcard
        ),
        ("s3-everything", "s3:*", true)
    );
    let dev = find("dev");
    let grant = &dev.action("s3:PutBucketPolicy").unwrap().grants[0];
    assert_eq!(
        grant.policy.via_group.as_deref(),
        Some(format!("{p}-writers").as_str())
    );
    assert_eq!(grant.matched, "s3:Put*");
    assert!(find("one-bucket")
        .action("s3:PutBucketPolicy")
        .unwrap()
        .effective
        .describe()
        .contains("acme-reports"));
    let bounded = find("bounded").action("s3:PutBucketPolicy").unwrap();
    assert!(bounded.effective.is_none());
    assert_eq!(
        bounded.limits[0].kind,
        bucketward::iam::evaluate::LimitKind::Boundary
    );
    let denied = find("denied").action("s3:PutBucketPolicy").unwrap();
    assert_eq!(denied.limits[0].sid.as_deref(), Some("NoPolicyNoBpa"));
    assert!(find("SecurityAdmin").approved);
    assert_eq!(
        find("partner").external_trust,
        ["arn:aws:iam::999988887777:root"]
    );
}

#[tokio::test]
async fn the_guardrail_is_attached_only_after_approval_recorded_and_rolled_back() {
    let _lock = account_lock().lock().await;
    let emu = Emulator::connect().await;
    let iam = emu.clients.iam();
    let p = prefix();
    role(&iam, &format!("{p}-ops"), ec2_trust(), None).await;
    role_inline(&iam, &format!("{p}-ops"), "s3", allow_all("s3:*")).await;
    role(&iam, &format!("{p}-SecurityAdmin"), ec2_trust(), None).await;
    role_inline(&iam, &format!("{p}-SecurityAdmin"), "s3", allow_all("s3:*")).await;
    let approved = Approved::new([format!("arn:aws:iam::*:role/{p}-Security*")]);

    let guardrails = IamGuardrails {
        client: iam.clone(),
        account_id: ACCOUNT_ID.to_owned(),
        store: MemoryProposalStore::default(),
        audit: Some(MemoryAuditLog::new(
            b"0123456789abcdef0123456789abcdef".to_vec(),
        )),
        notifier: MemoryNotifier::default(),
    };
    let before = report(&emu, &p, &approved).await;
    assert_eq!(before.findings().count(), 1);
    assert_eq!(guardrails.record_findings(&before).await.unwrap(), 1);
    let proposals = guardrails.propose(&before, &approved).await.unwrap();
    assert_eq!(proposals.len(), 1);
    let id = proposals[0].id.clone();
    assert_eq!(proposals[0].principal_name, format!("{p}-ops"));
    // Proposing again does not repeat an open proposal.
    assert!(guardrails
        .propose(&before, &approved)
        .await
        .unwrap()
        .is_empty());

    let policy_arn = deny_policy_arn(ACCOUNT_ID);
    let attached = |name: String| {
        let iam = iam.clone();
        async move { attached_policies(&iam, "role", &name).await.unwrap() }
    };
    assert!(
        !attached(format!("{p}-ops")).await.contains(&policy_arn),
        "nothing before approval"
    );

    let applied = guardrails.approve(&id, "jane@acme.example").await.unwrap();
    assert_eq!(applied.status, ProposalStatus::Applied);
    assert!(attached(format!("{p}-ops")).await.contains(&policy_arn));
    // Read back: the policy IAM holds is ours, and the principal is no longer a finding while
    // the approved role keeps its rights.
    let after = report(&emu, &p, &approved).await;
    assert_eq!(after.findings().count(), 0, "{:#?}", after.principals);
    let ops = after
        .principals
        .iter()
        .find(|r| r.name == format!("{p}-ops"))
        .unwrap();
    assert!(!ops.can_perform());
    // Approving twice is refused.
    assert!(guardrails.approve(&id, "jane@acme.example").await.is_err());

    let rolled = guardrails.rollback(&id, "jane@acme.example").await.unwrap();
    assert_eq!(rolled.status, ProposalStatus::RolledBack);
    assert!(!attached(format!("{p}-ops")).await.contains(&policy_arn));
    assert_eq!(report(&emu, &p, &approved).await.findings().count(), 1);

    let kinds: Vec<AuditKind> = guardrails
        .audit
        .as_ref()
        .unwrap()
        .entries()
        .await
        .unwrap()
        .iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            AuditKind::IamFinding,
            AuditKind::GuardrailProposal,
            AuditKind::GuardrailDecision,
            AuditKind::GuardrailAttach,
            AuditKind::GuardrailDetach,
        ]
    );
    let entries = guardrails.audit.as_ref().unwrap().entries().await.unwrap();
    assert_eq!(entries[3].payload["policy_arn"], policy_arn.as_str());
    assert_eq!(entries[4].payload["detached"], true);
    let subjects: Vec<String> = guardrails
        .notifier
        .sent
        .lock()
        .unwrap()
        .iter()
        .map(|n| n.subject.clone())
        .collect();
    assert_eq!(subjects.len(), 4, "{subjects:?}");
    assert!(subjects[1].contains("proposes"));
}

#[tokio::test]
async fn a_rejected_proposal_changes_nothing() {
    let emu = Emulator::connect().await;
    let iam = emu.clients.iam();
    let p = prefix();
    user(
        &iam,
        &format!("{p}-ops"),
        Some(("s3", allow_all("s3:*"))),
        false,
    )
    .await;
    let approved = Approved::new(Vec::<String>::new());
    let guardrails = IamGuardrails {
        client: iam.clone(),
        account_id: ACCOUNT_ID.to_owned(),
        store: MemoryProposalStore::default(),
        audit: Some(MemoryAuditLog::new(
            b"0123456789abcdef0123456789abcdef".to_vec(),
        )),
        notifier: MemoryNotifier::default(),
    };
    let report = report(&emu, &p, &approved).await;
    let proposals = guardrails.propose(&report, &approved).await.unwrap();
    assert_eq!(proposals.len(), 1);
    let rejected = guardrails
        .reject(
            &proposals[0].id,
            "jane@acme.example",
            Some("break-glass user".into()),
        )
        .await
        .unwrap();
    assert_eq!(rejected.status, ProposalStatus::Rejected);
    assert!(attached_policies(&iam, "user", &format!("{p}-ops"))
        .await
        .unwrap()
        .is_empty());
    assert!(guardrails.rollback(&proposals[0].id, "jane").await.is_err());
}
