//! The audit chain in DynamoDB against the emulator: appends verify, tampering done directly in
//! the table is caught at the right seq, and concurrent writers never fork the chain.

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use bucketward::audit::{
    self, AuditDraft, AuditEntry, AuditError, AuditLog, ChainError, DynamoAuditLog,
};
use bucketward_tests::{Emulator, ACCOUNT_ID};
use serde_json::{json, Value};

const KEY: &[u8] = b"emulator audit key: 32 bytes min";

async fn new_log(emu: &Emulator) -> DynamoAuditLog {
    let table = format!("bw-audit-{}", uuid::Uuid::new_v4().simple());
    audit::create_table(&emu.clients.dynamodb, &table)
        .await
        .expect("create table");
    DynamoAuditLog::new(emu.clients.dynamodb.clone(), table, ACCOUNT_ID, KEY)
}

fn draft(i: u64) -> AuditDraft {
    serde_json::from_value(json!({
        "time": "2024-05-01T12:00:00.250Z",
        "account": ACCOUNT_ID,
        "bucket": format!("bucket-{i}"),
        "kind": if i.is_multiple_of(3) { "detection" } else { "action" },
        "event_id": format!("event-{i}"),
        "event_time": "2024-05-01T11:59:59Z",
        "payload": {"i": i, "severity": "high", "steps": ["put_bucket_bpa", "delete_policy_statement"]}
    }))
    .expect("draft")
}

async fn log_with(emu: &Emulator, n: u64) -> DynamoAuditLog {
    let log = new_log(emu).await;
    for i in 1..=n {
        let entry = log.append(draft(i)).await.expect("append");
        assert_eq!(entry.seq, i);
    }
    log
}

fn key(log: &DynamoAuditLog, seq: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (
            "pk".to_owned(),
            AttributeValue::S(format!("chain#{}", log.account)),
        ),
        ("sk".to_owned(), AttributeValue::N(seq.to_owned())),
    ])
}

async fn raw_entry(log: &DynamoAuditLog, seq: u64) -> String {
    let out = log
        .client
        .get_item()
        .table_name(&log.table)
        .set_key(Some(key(log, &seq.to_string())))
        .send()
        .await
        .expect("get item");
    out.item.expect("item")["entry"]
        .as_s()
        .expect("entry string")
        .clone()
}

async fn put_raw_entry(log: &DynamoAuditLog, sk: &str, entry: String) {
    let mut item = key(log, sk);
    item.insert("entry".to_owned(), AttributeValue::S(entry));
    log.client
        .put_item()
        .table_name(&log.table)
        .set_item(Some(item))
        .send()
        .await
        .expect("put item");
}

/// The chain error that verification reports.
async fn chain_error(log: &DynamoAuditLog) -> ChainError {
    match log.verified_entries().await {
        Err(AuditError::Chain(e)) => e,
        other => panic!("expected a chain error, got {other:?}"),
    }
}

#[tokio::test]
async fn appended_entries_verify_and_export() {
    let emu = Emulator::connect().await;
    let log = log_with(&emu, 20).await;

    let entries = log.entries().await.expect("entries");
    assert_eq!(entries.len(), 20);
    assert_eq!(audit::verify_chain(&entries, KEY), Ok(()));
    let verified = log.verified_entries().await.expect("verifies");
    assert_eq!(verified, entries);
    let head = log.head().await.expect("head").expect("a head");
    assert_eq!(head, entries[19].head());
    assert_eq!(entries[0].prev_hash, audit::GENESIS_HASH);
    assert_eq!(entries[4].payload["i"], 5);
    assert_eq!(entries[4].bucket.as_deref(), Some("bucket-5"));

    // The query attributes mirror the entry.
    let item = log
        .client
        .get_item()
        .table_name(&log.table)
        .set_key(Some(key(&log, "5")))
        .send()
        .await
        .expect("get")
        .item
        .expect("item");
    assert_eq!(item["hash"].as_s().expect("hash"), &entries[4].hash);
    assert_eq!(item["seq"].as_n().expect("seq"), "5");
    assert_eq!(item["kind"].as_s().expect("kind"), "action");
    assert_eq!(item["bucket"].as_s().expect("bucket"), "bucket-5");
    assert_eq!(
        item["time"].as_s().expect("time"),
        "2024-05-01T12:00:00.250Z"
    );

    // The export parses back to the same, verifiable chain.
    let jsonl = audit::export_jsonl(&entries);
    let back: Vec<AuditEntry> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).expect("line"))
        .collect();
    assert_eq!(back, entries);
    assert_eq!(audit::export_csv(&entries).split("\r\n").count(), 22);

    // Another key does not verify it; another account's log is empty and refuses our drafts.
    let wrong = DynamoAuditLog::new(
        log.client.clone(),
        log.table.clone(),
        ACCOUNT_ID,
        b"wrong key".to_vec(),
    );
    assert!(matches!(
        wrong.verified_entries().await,
        Err(AuditError::Chain(ChainError::BadSignature { seq: 1 }))
    ));
    let other = DynamoAuditLog::new(log.client.clone(), log.table.clone(), "210987654321", KEY);
    assert!(other.entries().await.expect("entries").is_empty());
    assert!(other
        .verified_entries()
        .await
        .expect("empty chain")
        .is_empty());
    assert!(matches!(
        other.append(draft(1)).await,
        Err(AuditError::WrongAccount { .. })
    ));
}

#[tokio::test]
async fn a_modified_entry_attribute_is_caught() {
    let emu = Emulator::connect().await;
    let log = log_with(&emu, 20).await;
    let mut entry: Value = serde_json::from_str(&raw_entry(&log, 5).await).expect("json");
    entry["payload"]["severity"] = json!("low");
    put_raw_entry(&log, "5", entry.to_string()).await;

    let e = chain_error(&log).await;
    assert_eq!(e, ChainError::Modified { seq: 5 });
    assert_eq!(e.seq(), 5);
}

#[tokio::test]
async fn a_modified_and_rehashed_entry_is_caught_by_its_signature() {
    let emu = Emulator::connect().await;
    let log = log_with(&emu, 20).await;
    let mut entry: AuditEntry = serde_json::from_str(&raw_entry(&log, 5).await).expect("json");
    entry.payload["severity"] = json!("low");
    entry.hash = audit::content_hash(&entry);
    put_raw_entry(&log, "5", serde_json::to_string(&entry).expect("json")).await;

    assert_eq!(chain_error(&log).await, ChainError::BadSignature { seq: 5 });
}

#[tokio::test]
async fn a_deleted_entry_is_caught() {
    let emu = Emulator::connect().await;
    let log = log_with(&emu, 20).await;
    log.client
        .delete_item()
        .table_name(&log.table)
        .set_key(Some(key(&log, "7")))
        .send()
        .await
        .expect("delete");

    let e = chain_error(&log).await;
    assert_eq!(
        e,
        ChainError::Gap {
            missing: 7,
            found: 8,
            after: 6
        }
    );
    assert_eq!(e.seq(), 7);
}

#[tokio::test]
async fn a_deleted_last_entry_is_caught_by_the_head() {
    let emu = Emulator::connect().await;
    let log = log_with(&emu, 20).await;
    log.client
        .delete_item()
        .table_name(&log.table)
        .set_key(Some(key(&log, "20")))
        .send()
        .await
        .expect("delete");

    // The entries alone still form a valid chain...
    let entries = log.entries().await.expect("entries");
    assert_eq!(audit::verify_chain(&entries, KEY), Ok(()));
    // ...which the head shows is cut short.
    let e = chain_error(&log).await;
    assert_eq!(e, ChainError::Truncated { head: 20, last: 19 });
    assert_eq!(e.seq(), 20);
}

#[tokio::test]
async fn swapped_entries_are_caught() {
    let emu = Emulator::connect().await;
    let log = log_with(&emu, 20).await;
    let (third, eighth) = (raw_entry(&log, 3).await, raw_entry(&log, 8).await);
    put_raw_entry(&log, "3", eighth).await;
    put_raw_entry(&log, "8", third).await;

    let e = chain_error(&log).await;
    assert_eq!(
        e,
        ChainError::OutOfOrder {
            expected: 3,
            found: 8
        }
    );
    assert_eq!(e.seq(), 3);
}

#[tokio::test]
async fn a_forged_inserted_entry_is_caught() {
    let emu = Emulator::connect().await;
    let log = log_with(&emu, 20).await;
    // A well-formed entry claiming seq 11 after seq 10, sealed with a made-up key, slipped in
    // between the items of seq 10 and 11 (sk 10.5 sorts between them).
    let tenth: AuditEntry = serde_json::from_str(&raw_entry(&log, 10).await).expect("json");
    let forged = audit::seal(draft(99), Some(&tenth), b"the forger's own key");
    assert_eq!(forged.seq, 11);
    put_raw_entry(&log, "10.5", serde_json::to_string(&forged).expect("json")).await;

    let e = chain_error(&log).await;
    assert_eq!(e, ChainError::BadSignature { seq: 11 });
    assert_eq!(e.seq(), 11);
}

#[tokio::test]
async fn an_entry_the_head_does_not_know_stops_appends() {
    let emu = Emulator::connect().await;
    let log = log_with(&emu, 3).await;
    // Written outside an append: seq 4 is taken, the head still says 3.
    put_raw_entry(&log, "4", "{}".to_owned()).await;

    let e = log.append(draft(4)).await.expect_err("cannot append");
    assert!(
        matches!(
            e,
            AuditError::HeadBehind {
                seq: 4,
                head: 3,
                ..
            }
        ),
        "{e:?}"
    );
}

/// A proxy in front of the emulator that lets one request through at a time.
///
/// moto applies a `TransactWriteItems` step by step and, when a condition fails, puts back a copy
/// of the table taken when the call started, erasing what other request threads committed
/// meanwhile; DynamoDB's transactions are atomic. Handing moto one request at a time gives the
/// atomicity DynamoDB has, while each writer's head read, seal and transaction still interleave
/// with the other writers' (that race is what the test exercises).
async fn one_request_at_a_time(upstream: &str) -> String {
    bucketward_tests::proxy::proxy(upstream, true, Arc::new(|_: &str| None)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_never_fork_the_chain() {
    let emu = Emulator::connect().await;
    let mut log = new_log(&emu).await;
    let proxy = one_request_at_a_time(&emu.endpoint).await;
    log.client = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(emu.clients.sdk_config())
            .endpoint_url(proxy)
            .build(),
    );
    let mut tasks = Vec::new();
    for task in 0..8_u64 {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for i in 0..10_u64 {
                let mut d = draft(task * 100 + i);
                d.payload["writer"] = json!(task);
                seqs.push(log.append(d).await.expect("append").seq);
            }
            seqs
        }));
    }
    let mut returned = Vec::new();
    for task in tasks {
        returned.extend(task.await.expect("task"));
    }
    returned.sort_unstable();
    assert_eq!(
        returned,
        (1..=80).collect::<Vec<u64>>(),
        "every append got its own seq"
    );

    let entries = log.verified_entries().await.expect("the chain verifies");
    assert_eq!(entries.len(), 80);
    let seqs: Vec<u64> = entries.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=80).collect::<Vec<u64>>());
    for writer in 0..8 {
        let mine = entries
            .iter()
            .filter(|e| e.payload["writer"] == writer)
            .count();
        assert_eq!(mine, 10, "writer {writer}");
    }
    let head = log.head().await.expect("head").expect("a head");
    assert_eq!(head, entries[79].head());
}
