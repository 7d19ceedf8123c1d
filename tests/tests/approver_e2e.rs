//! End to end, co-pilot: the real remediator binary proposes a fix (the bucket is left public),
//! then the real approver binary, invoked with Lambda Function URL payloads, applies it from a
//! signed link, exactly once. Forged, expired, replayed and damaged links change nothing; a
//! rejection leaves the bucket public and records why.

use std::collections::HashMap;
use std::time::Duration;

use bucketward::action::{ActionRecord, Outcome, Trigger};
use bucketward::approval::{self, Claims};
use bucketward::aws::dynamo::{ensure_table, DynamoActionStore};
use bucketward::aws::s3::{SnapshotOptions, SnapshotReader};
use bucketward::decide::Mode;
use bucketward::evaluate;
use bucketward::store::ActionStore;
use bucketward_tests::infra::{cloudtrail_event, Infra, AUDIT_KEY};
use bucketward_tests::lambda::LambdaProcess;
use bucketward_tests::{scenario, Emulator, ACCOUNT_ID};
use serde_json::{json, Value};

/// The approval key of these tests, as the template would inject it (hex).
const KEY: &str = "8f2d5c1a9e7b3f604d1c8a2e5b9f7d3c1a6e4b8d2f0c9a7e5b3d1f8c6a4e2b0d";
const OTHER_KEY: &str = "the key of somebody else, not ours";
const TTL: Duration = Duration::from_secs(900);

fn key() -> Vec<u8> {
    approval::parse_key(KEY).expect("key")
}

/// A Lambda Function URL request (payload format 2.0), as Lambda delivers it.
fn url_request(method: &str, query: &str, body: Option<&str>) -> Value {
    let mut event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/",
        "rawQueryString": query,
        "headers": {
            "host": "abcdefghij.lambda-url.us-east-1.on.aws",
            "user-agent": "Mozilla/5.0",
            "x-bucketward-approver": "alice@example.com",
        },
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "abcdefghij",
            "domainName": "abcdefghij.lambda-url.us-east-1.on.aws",
            "domainPrefix": "abcdefghij",
            "http": {"method": method, "path": "/", "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7", "userAgent": "Mozilla/5.0"},
            "requestId": uuid::Uuid::new_v4().to_string(),
            "routeKey": "$default",
            "stage": "$default",
            "time": "04/Dec/2026:17:00:00 +0000",
            "timeEpoch": 1_796_403_600_000_i64,
        },
        "isBase64Encoded": false,
    });
    if let Some(body) = body {
        event["headers"]["content-type"] = "application/x-www-form-urlencoded".into();
        event["body"] = body.into();
    }
    event
}

fn get(query: &str) -> Value {
    url_request("GET", query, None)
}

struct Setup {
    emu: Emulator,
    infra: Infra,
    token_table: String,
    store: DynamoActionStore,
    reader: SnapshotReader,
}

impl Setup {
    async fn new(prefix: &str) -> Self {
        let emu = Emulator::connect().await;
        let infra = Infra::create(&emu, prefix).await;
        let token_table = format!("{}-tokens", infra.dedupe_table);
        ensure_table(&emu.clients.dynamodb, &token_table, false, true)
            .await
            .expect("token table");
        let store = DynamoActionStore::new(emu.clients.dynamodb.clone(), &infra.audit_table);
        let reader = SnapshotReader::new(emu.clients.clone(), ACCOUNT_ID);
        Self {
            emu,
            infra,
            token_table,
            store,
            reader,
        }
    }

    fn approver_env(&self, extra: &[(&str, &str)]) -> HashMap<String, String> {
        let mut env = HashMap::from([
            (
                "BUCKETWARD_AUDIT_TABLE".to_owned(),
                self.infra.audit_table.clone(),
            ),
            (
                "BUCKETWARD_TOKEN_TABLE".to_owned(),
                self.token_table.clone(),
            ),
            ("BUCKETWARD_APPROVAL_KEY".to_owned(), KEY.to_owned()),
            (
                "BUCKETWARD_TOPIC_ARN".to_owned(),
                self.infra.topic_arn.clone(),
            ),
            ("BUCKETWARD_ACCOUNT_ID".to_owned(), ACCOUNT_ID.to_owned()),
            ("BUCKETWARD_AUDIT_KEY".to_owned(), AUDIT_KEY.to_owned()),
            ("RUST_LOG".to_owned(), "warn".to_owned()),
        ]);
        env.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        env
    }

    /// A bucket made public with the real SDK, and the remediator's co-pilot proposal for it.
    async fn proposal(&self, remediator: &mut LambdaProcess) -> (String, String, String) {
        let bucket = self.emu.create_bucket("bw-approve").await;
        let policy = scenario::mixed_policy(&bucket);
        self.emu
            .clients
            .s3
            .put_bucket_policy()
            .bucket(&bucket)
            .policy(&policy)
            .send()
            .await
            .expect("policy");
        let response = remediator
            .invoke(cloudtrail_event("put_bucket_policy.json", &bucket))
            .await
            .expect("remediator succeeded");
        assert_eq!(response["result"]["outcome"], "proposed", "{response}");
        let id = response["result"]["action_id"]
            .as_str()
            .expect("action id")
            .to_owned();
        assert!(self.public(&bucket).await, "a proposal changes nothing");
        (bucket, policy, id)
    }

    /// The bucket as it is now (boxed: a snapshot future is large for a 2 MB test thread).
    async fn snapshot(&self, bucket: &str) -> bucketward::Snapshot {
        Box::pin(
            self.reader
                .snapshot(bucket, None, SnapshotOptions::default()),
        )
        .await
    }

    async fn public(&self, bucket: &str) -> bool {
        evaluate(&self.snapshot(bucket).await).public
    }

    async fn policy(&self, bucket: &str) -> Option<String> {
        self.snapshot(bucket).await.policy.map(|p| p.text)
    }

    async fn record(&self, id: &str) -> ActionRecord {
        self.store
            .load(id)
            .await
            .expect("load")
            .expect("record in DynamoDB")
    }
}

/// The status and the HTML of a Function URL response.
fn answer(response: &Value) -> (u64, &str) {
    assert_eq!(
        response["headers"]["content-type"], "text/html; charset=utf-8",
        "{response}"
    );
    assert_eq!(response["headers"]["cache-control"], "no-store");
    (
        response["statusCode"].as_u64().expect("statusCode"),
        response["body"].as_str().expect("body"),
    )
}

#[tokio::test]
async fn an_approval_link_applies_a_proposal_once_and_bad_links_change_nothing() {
    let setup = Setup::new("appr").await;
    let mut remediator =
        LambdaProcess::spawn("remediator", &setup.infra.lambda_env("copilot")).await;
    let (bucket, policy, proposal_id) = setup.proposal(&mut remediator).await;
    let mut approver = LambdaProcess::spawn("approver", &setup.approver_env(&[])).await;

    // Links that must change nothing.
    let forged = approval::issue(&proposal_id, TTL, OTHER_KEY.as_bytes()).expect("token");
    let expired = approval::sign(
        &Claims {
            action_id: proposal_id.clone(),
            expires_at: chrono::Utc::now().timestamp() - 60,
            nonce: "0123456789abcdef0123456789abcdef".to_owned(),
        },
        &key(),
    );
    let genuine = approval::issue(&proposal_id, TTL, &key()).expect("token");
    let cases = [
        (get(&format!("token={forged}")), 403, "not valid"),
        (get(&format!("token={expired}")), 403, "expired"),
        (
            get(&format!("token={}", &genuine[..genuine.len() - 6])),
            400,
            "damaged",
        ),
        (get(""), 400, "No approval token"),
        (
            get(&format!("token={genuine}&decision=maybe")),
            400,
            "Unknown decision",
        ),
        (
            url_request("DELETE", &format!("token={genuine}"), None),
            405,
            "not allowed",
        ),
    ];
    for (request, status, text) in cases {
        let response = approver
            .invoke(request)
            .await
            .expect("a refusal is a response");
        let (got, body) = answer(&response);
        assert_eq!(got, status, "{body}");
        assert!(body.contains(text), "{body}");
    }
    assert!(setup.public(&bucket).await, "refused links changed nothing");
    assert_eq!(setup.record(&proposal_id).await.outcome, Outcome::Proposed);

    // A link for a proposal that does not exist.
    let unknown = approval::issue("act-20260101T000000Z-deadbeef", TTL, &key()).expect("token");
    let response = approver
        .invoke(get(&format!("token={unknown}")))
        .await
        .expect("response");
    let (status, body) = answer(&response);
    assert_eq!(status, 404, "{body}");

    // The genuine link: re-evaluated, fixed, recorded, notified.
    let request = get(&format!("token={genuine}"));
    let response = approver.invoke(request.clone()).await.expect("approved");
    let (status, body) = answer(&response);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(&bucket) && body.contains("fixed"), "{body}");
    assert!(!setup.public(&bucket).await, "the approved fix was applied");
    let after = setup.policy(&bucket).await;
    let proposal = setup.record(&proposal_id).await;
    assert_eq!(proposal.outcome, Outcome::Approved);
    let review = proposal.review.clone().expect("review");
    assert_eq!(review.by, "alice@example.com");
    assert_eq!(review.via, "approval-link");
    let applied_id = review.applied_action_id.clone().expect("applied action");
    assert!(body.contains(&applied_id), "{body}");
    let applied = setup.record(&applied_id).await;
    assert_eq!(applied.outcome, Outcome::Fixed, "{applied:#?}");
    assert_eq!(applied.mode, Some(Mode::Copilot));
    assert_eq!(
        applied.trigger,
        Trigger::Approval {
            proposal_id: proposal_id.clone(),
            approved_by: "alice@example.com".to_owned()
        }
    );
    assert_eq!(
        applied.before.policy_text.as_deref(),
        Some(policy.as_str()),
        "the backup is the state at approval"
    );
    assert!(!applied.applied.is_empty());

    // The same link again: refused, nothing changes.
    let replay = approver.invoke(request).await.expect("replay answered");
    let (status, body) = answer(&replay);
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("already used"), "{body}");
    assert_eq!(setup.policy(&bucket).await, after);
    assert_eq!(
        setup.record(&proposal_id).await,
        proposal,
        "the proposal is unchanged"
    );

    // A new link for a proposal already decided.
    let again = approval::issue(&proposal_id, TTL, &key()).expect("token");
    let response = approver
        .invoke(get(&format!("token={again}")))
        .await
        .expect("response");
    let (status, body) = answer(&response);
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("approved"), "{body}");

    // A rejection (posted from a form): the bucket stays public, the reason is kept.
    let (rejected_bucket, rejected_policy, rejected_id) = setup.proposal(&mut remediator).await;
    let token = approval::issue(&rejected_id, TTL, &key()).expect("token");
    let form =
        format!("token={token}&decision=reject&reason=the+public+website%21&as_exception=true");
    let response = approver
        .invoke(url_request("POST", "", Some(&form)))
        .await
        .expect("rejected");
    let (status, body) = answer(&response);
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("Rejected") && body.contains(&rejected_bucket),
        "{body}"
    );
    assert!(
        setup.public(&rejected_bucket).await,
        "a rejection changes no bucket"
    );
    assert_eq!(
        setup.policy(&rejected_bucket).await.as_deref(),
        Some(rejected_policy.as_str())
    );
    let rejected = setup.record(&rejected_id).await;
    assert_eq!(rejected.outcome, Outcome::Rejected);
    let review = rejected.review.expect("review");
    assert_eq!(review.reason.as_deref(), Some("the public website!"));
    assert!(review.as_exception);
    assert_eq!(review.applied_action_id, None);

    // The decisions were announced: the applied fix, and the rejection.
    let notes = setup.infra.notifications(Duration::from_secs(2)).await;
    assert!(
        notes
            .iter()
            .any(|(_, m)| m["action_id"] == applied_id.as_str() && m["outcome"] == "fixed"),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|(_, m)| m["action_id"] == rejected_id.as_str() && m["outcome"] == "rejected"),
        "{notes:?}"
    );

    // The decisions are on the audit chain, which verifies.
    let chain = bucketward::audit::DynamoAuditLog::new(
        setup.emu.clients.dynamodb.clone(),
        &setup.infra.audit_table,
        ACCOUNT_ID,
        bucketward::audit::parse_audit_key(AUDIT_KEY).expect("key"),
    );
    let entries = chain.verified_entries().await.expect("the chain verifies");
    let entry = |kind: &str, id: &str| {
        entries
            .iter()
            .find(|e| e.kind.as_str() == kind && e.payload["action_id"] == id)
            .unwrap_or_else(|| panic!("no {kind} entry for {id}"))
    };
    assert_eq!(
        entry("approval", &proposal_id).payload["approver"],
        "alice@example.com"
    );
    assert_eq!(
        entry("action", &applied_id).payload["result"]["outcome"],
        "fixed"
    );
    assert_eq!(
        entry("rejection", &rejected_id).payload["approver"],
        "alice@example.com"
    );
    approver.stop().await;
    remediator.stop().await;
}

#[tokio::test]
async fn in_confirm_mode_a_get_only_shows_the_proposal_and_a_post_decides() {
    let setup = Setup::new("apprc").await;
    let mut remediator =
        LambdaProcess::spawn("remediator", &setup.infra.lambda_env("copilot")).await;
    let (bucket, _, proposal_id) = setup.proposal(&mut remediator).await;
    let env = setup.approver_env(&[("BUCKETWARD_APPROVAL_CONFIRM", "true")]);
    let mut approver = LambdaProcess::spawn("approver", &env).await;
    let token = approval::issue(&proposal_id, TTL, &key()).expect("token");

    // A mail scanner following the link twice: a page with buttons, nothing decided or used up.
    for _ in 0..2 {
        let response = approver
            .invoke(get(&format!("token={token}")))
            .await
            .expect("page");
        let (status, body) = answer(&response);
        assert_eq!(status, 200, "{body}");
        assert!(
            body.contains("<form method=\"post\"") && body.contains(&bucket),
            "{body}"
        );
    }
    assert!(setup.public(&bucket).await);
    assert_eq!(setup.record(&proposal_id).await.outcome, Outcome::Proposed);

    // The person presses Approve.
    let response = approver
        .invoke(url_request(
            "POST",
            &format!("token={token}"),
            Some(&format!("token={token}&decision=approve")),
        ))
        .await
        .expect("approved");
    let (status, body) = answer(&response);
    assert_eq!(status, 200, "{body}");
    assert!(!setup.public(&bucket).await);
    assert_eq!(setup.record(&proposal_id).await.outcome, Outcome::Approved);
    approver.stop().await;
    remediator.stop().await;
}
