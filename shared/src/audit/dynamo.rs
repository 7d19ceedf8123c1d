//! The audit chain in DynamoDB.
//!
//! Items in the audit table (key `pk` string, `sk` number):
//! - `pk = chain#<account>`, `sk = <seq>`: one entry. `entry` holds the whole entry as canonical
//!   JSON (the authoritative copy, the one verified); `seq`, `hash`, `kind`, `time` and `bucket`
//!   are copies for queries and are not trusted.
//! - `pk = head#<account>`, `sk = 0`: the chain's head, `seq` and `hash` of the last entry.
//!
//! An append reads the head, seals the draft after it, and writes the entry and the new head in
//! one transaction, conditioned on the entry's slot being free and the head being unchanged (or
//! absent for the first entry). Of two writers that read the same head, one transaction wins and
//! the other is cancelled; the loser reads the new head and seals again. So the chain never forks
//! and never skips a seq, whatever the concurrency.
//!
//! The head is what shows a deletion of the last entries (see
//! [`verify_against_head`](super::verify_against_head)).

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, Put,
    ScalarAttributeType, TableStatus, TransactWriteItem,
};
use aws_smithy_types::error::operation::BuildError;

use super::canonical::to_canonical_string;
use super::chain::{seal_after, verify_against_head, verify_chain};
use super::entry::{format_time, AuditDraft, AuditEntry, ChainHead};
use super::{AuditError, AuditLog};
use crate::aws::error::{aws_error, error_code, AwsError};

/// How many times an append tries its transaction before giving up. Each lost race means another
/// writer appended meanwhile; a writer that keeps losing to busy writers is not starved unless
/// they win this many times in a row (8 writers appending in a tight loop against the emulator
/// need up to about 15).
pub const MAX_APPEND_ATTEMPTS: u32 = 50;
/// The longest pause between two attempts (the pause doubles from 10 ms, with jitter): about 7 s
/// of pauses in all before giving up, 9.3 s at most.
const MAX_BACKOFF: Duration = Duration::from_millis(200);

/// The audit chain of one account in a DynamoDB table.
#[derive(Clone)]
pub struct DynamoAuditLog {
    pub client: aws_sdk_dynamodb::Client,
    pub table: String,
    /// The account whose chain this is; drafts of other accounts are refused.
    pub account: String,
    /// The signing key (see [`audit_key_from_env`](super::audit_key_from_env)).
    pub key: Vec<u8>,
}

impl std::fmt::Debug for DynamoAuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamoAuditLog")
            .field("table", &self.table)
            .field("account", &self.account)
            .field("key", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// What one attempt at the append transaction came to.
enum Attempt {
    Written,
    /// Another writer moved the head (or took the slot) first.
    LostRace,
}

impl DynamoAuditLog {
    pub fn new(
        client: aws_sdk_dynamodb::Client,
        table: impl Into<String>,
        account: impl Into<String>,
        key: impl Into<Vec<u8>>,
    ) -> Self {
        Self {
            client,
            table: table.into(),
            account: account.into(),
            key: key.into(),
        }
    }

    fn chain_pk(&self) -> String {
        format!("chain#{}", self.account)
    }

    fn head_pk(&self) -> String {
        format!("head#{}", self.account)
    }

    /// The chain's head as stored (strongly consistent read), `None` before the first append.
    pub async fn head(&self) -> Result<Option<ChainHead>, AuditError> {
        let pk = self.head_pk();
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk.clone()))
            .key("sk", AttributeValue::N("0".to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| aws_error("GetItem", e))?;
        let Some(item) = out.item else {
            return Ok(None);
        };
        let name = format!("{pk}/0");
        let seq = number(&item, "seq", &name)?;
        let hash = string(&item, "hash", &name)?.to_owned();
        Ok(Some(ChainHead { seq, hash }))
    }

    /// Every entry, verified: the chain with [`verify_chain`], and its end with the head item
    /// ([`verify_against_head`]). The head is read first, so entries appended meanwhile (past
    /// it) are verified as part of the chain but not held against the head.
    pub async fn verified_entries(&self) -> Result<Vec<AuditEntry>, AuditError> {
        let head = self.head().await?;
        let entries = self.entries().await?;
        verify_chain(&entries, &self.key)?;
        let (head_seq, head_hash) = head.map_or((0, String::new()), |h| (h.seq, h.hash));
        // After verify_chain, entries[i].seq == i + 1.
        let upto = usize::try_from(head_seq).map_or(entries.len(), |n| n.min(entries.len()));
        verify_against_head(&entries[..upto], head_seq, &head_hash)?;
        Ok(entries)
    }

    /// Whether an entry item holds `seq` (strongly consistent read).
    async fn slot_taken(&self, seq: u64) -> Result<bool, AuditError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(self.chain_pk()))
            .key("sk", AttributeValue::N(seq.to_string()))
            .projection_expression("pk")
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| aws_error("GetItem", e))?;
        Ok(out.item.is_some())
    }

    /// One try: the entry and the head in a single conditional transaction.
    async fn try_write(
        &self,
        entry: &AuditEntry,
        head: Option<&ChainHead>,
    ) -> Result<Attempt, AuditError> {
        let mut item = HashMap::from([
            ("pk".to_owned(), AttributeValue::S(self.chain_pk())),
            ("sk".to_owned(), AttributeValue::N(entry.seq.to_string())),
            (
                "entry".to_owned(),
                AttributeValue::S(to_canonical_string(&entry.to_value())),
            ),
            ("seq".to_owned(), AttributeValue::N(entry.seq.to_string())),
            ("hash".to_owned(), AttributeValue::S(entry.hash.clone())),
            (
                "kind".to_owned(),
                AttributeValue::S(entry.kind.as_str().to_owned()),
            ),
            (
                "time".to_owned(),
                AttributeValue::S(format_time(&entry.time)),
            ),
        ]);
        if let Some(bucket) = &entry.bucket {
            item.insert("bucket".to_owned(), AttributeValue::S(bucket.clone()));
        }
        let put_entry = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(build_error)?;

        let mut put_head = Put::builder()
            .table_name(&self.table)
            .item("pk", AttributeValue::S(self.head_pk()))
            .item("sk", AttributeValue::N("0".to_owned()))
            .item("seq", AttributeValue::N(entry.seq.to_string()))
            .item("hash", AttributeValue::S(entry.hash.clone()))
            .item("time", AttributeValue::S(format_time(&entry.time)));
        put_head = match head {
            None => put_head.condition_expression("attribute_not_exists(pk)"),
            // `hash` is a reserved word in expressions.
            Some(h) => put_head
                .condition_expression("#seq = :seq AND #hash = :hash")
                .expression_attribute_names("#seq", "seq")
                .expression_attribute_names("#hash", "hash")
                .expression_attribute_values(":seq", AttributeValue::N(h.seq.to_string()))
                .expression_attribute_values(":hash", AttributeValue::S(h.hash.clone())),
        };
        let put_head = put_head.build().map_err(build_error)?;

        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put_entry).build())
            .transact_items(TransactWriteItem::builder().put(put_head).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(Attempt::Written),
            Err(e) if lost_race(e.as_service_error()) => Ok(Attempt::LostRace),
            Err(e) => Err(aws_error("TransactWriteItems", e).into()),
        }
    }
}

impl AuditLog for DynamoAuditLog {
    async fn append(&self, draft: AuditDraft) -> Result<AuditEntry, AuditError> {
        if draft.account != self.account {
            return Err(AuditError::WrongAccount {
                log: self.account.clone(),
                draft: draft.account,
            });
        }
        let mut head = self.head().await?;
        for attempt in 1..=MAX_APPEND_ATTEMPTS {
            let entry = seal_after(draft.clone(), head.as_ref(), &self.key);
            match self.try_write(&entry, head.as_ref()).await? {
                Attempt::Written => {
                    tracing::debug!(
                        account = %self.account,
                        seq = entry.seq,
                        kind = %entry.kind,
                        attempt,
                        "audit entry appended"
                    );
                    return Ok(entry);
                }
                Attempt::LostRace => {
                    tracing::debug!(
                        account = %self.account,
                        seq = entry.seq,
                        attempt,
                        "audit append lost a race; retrying"
                    );
                    if attempt == MAX_APPEND_ATTEMPTS {
                        break;
                    }
                    tokio::time::sleep(backoff(attempt)).await;
                    let next = self.head().await?;
                    // A lost race moves the head. If it did not move but the slot after it is
                    // taken, the table was changed outside an append: retrying cannot help.
                    if next == head
                        && self.slot_taken(entry.seq).await?
                        && self.head().await? == head
                    {
                        return Err(AuditError::HeadBehind {
                            account: self.account.clone(),
                            seq: entry.seq,
                            head: head.map_or(0, |h| h.seq),
                        });
                    }
                    head = next;
                }
            }
        }
        tracing::warn!(
            account = %self.account,
            attempts = MAX_APPEND_ATTEMPTS,
            "audit append gave up"
        );
        Err(AuditError::Contention {
            account: self.account.clone(),
            attempts: MAX_APPEND_ATTEMPTS,
        })
    }

    async fn entries(&self) -> Result<Vec<AuditEntry>, AuditError> {
        let mut entries = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", AttributeValue::S(self.chain_pk()))
                .consistent_read(true)
                .scan_index_forward(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| aws_error("Query", e))?;
            for item in out.items() {
                entries.push(decode_entry(item)?);
            }
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        Ok(entries)
    }
}

/// Whether a failed transaction was cancelled only because another writer got there first: a
/// condition failed (the head moved, the slot was taken) or DynamoDB saw a conflicting
/// transaction on the same items.
fn lost_race(error: Option<&TransactWriteItemsError>) -> bool {
    let Some(TransactWriteItemsError::TransactionCanceledException(e)) = error else {
        return false;
    };
    let codes: Vec<&str> = e
        .cancellation_reasons()
        .iter()
        .filter_map(|r| r.code())
        .filter(|c| *c != "None")
        .collect();
    !codes.is_empty()
        && codes
            .iter()
            .all(|c| *c == "ConditionalCheckFailed" || *c == "TransactionConflict")
}

/// Exponential backoff from 10 ms up to [`MAX_BACKOFF`], with "equal jitter": half fixed, half
/// random, so that writers that collided spread out.
fn backoff(attempt: u32) -> Duration {
    let ceiling = Duration::from_millis(10)
        .saturating_mul(1 << attempt.min(16))
        .min(MAX_BACKOFF);
    let half = ceiling / 2;
    let half_ms = u64::try_from(half.as_millis()).unwrap_or(1).max(1);
    let random = uuid::Uuid::new_v4().as_u128() % u128::from(half_ms);
    half + Duration::from_millis(u64::try_from(random).unwrap_or(0))
}

fn item_name(item: &HashMap<String, AttributeValue>) -> String {
    let pk = item
        .get("pk")
        .and_then(|v| v.as_s().ok())
        .map_or("?", String::as_str);
    let sk = item
        .get("sk")
        .and_then(|v| v.as_n().ok())
        .map_or("?", String::as_str);
    format!("{pk}/{sk}")
}

fn decode_entry(item: &HashMap<String, AttributeValue>) -> Result<AuditEntry, AuditError> {
    let name = item_name(item);
    let json = string(item, "entry", &name)?;
    serde_json::from_str(json).map_err(|source| AuditError::Decode { item: name, source })
}

fn string<'a>(
    item: &'a HashMap<String, AttributeValue>,
    attribute: &str,
    name: &str,
) -> Result<&'a str, AuditError> {
    match item.get(attribute) {
        Some(AttributeValue::S(s)) => Ok(s),
        _ => Err(AuditError::InvalidItem {
            item: name.to_owned(),
            reason: format!("no string attribute `{attribute}`"),
        }),
    }
}

fn number(
    item: &HashMap<String, AttributeValue>,
    attribute: &str,
    name: &str,
) -> Result<u64, AuditError> {
    match item.get(attribute) {
        Some(AttributeValue::N(n)) => n.parse().map_err(|_| AuditError::InvalidItem {
            item: name.to_owned(),
            reason: format!("attribute `{attribute}` is `{n}`, not a seq"),
        }),
        _ => Err(AuditError::InvalidItem {
            item: name.to_owned(),
            reason: format!("no number attribute `{attribute}`"),
        }),
    }
}

fn build_error(e: BuildError) -> AuditError {
    AuditError::Aws(AwsError {
        operation: "TransactWriteItems",
        code: "InvalidRequest".to_owned(),
        message: Some(e.to_string()),
        source: Box::new(e),
    })
}

/// How long [`create_table`] waits for a new table to become active.
const TABLE_ACTIVE_TIMEOUT: Duration = Duration::from_secs(120);

/// Creates the audit table (`pk` string, `sk` number, on-demand billing) and waits until it is
/// active. An existing table is left as it is. For tests, the demo and `bucketward init`; in AWS
/// the template creates it.
pub async fn create_table(client: &aws_sdk_dynamodb::Client, table: &str) -> Result<(), AwsError> {
    let create_error = |e: BuildError| AwsError {
        operation: "CreateTable",
        code: "InvalidRequest".to_owned(),
        message: Some(e.to_string()),
        source: Box::new(e),
    };
    let attribute = |name: &str, kind: ScalarAttributeType| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(kind)
            .build()
            .map_err(create_error)
    };
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .map_err(create_error)
    };
    let result = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute("pk", ScalarAttributeType::S)?)
        .attribute_definitions(attribute("sk", ScalarAttributeType::N)?)
        .key_schema(key("pk", KeyType::Hash)?)
        .key_schema(key("sk", KeyType::Range)?)
        .send()
        .await;
    match result {
        Ok(_) => {}
        Err(e) if error_code(&e) == "ResourceInUseException" => {}
        Err(e) => return Err(aws_error("CreateTable", e)),
    }
    let deadline = tokio::time::Instant::now() + TABLE_ACTIVE_TIMEOUT;
    loop {
        let out = client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| aws_error("DescribeTable", e))?;
        let status = out.table().and_then(|t| t.table_status());
        if status == Some(&TableStatus::Active) {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(AwsError {
                operation: "DescribeTable",
                code: "Timeout".to_owned(),
                message: Some(format!(
                    "table `{table}` is not active after {TABLE_ACTIVE_TIMEOUT:?}"
                )),
                source: format!("table status {status:?}").into(),
            });
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        for attempt in 1..=MAX_APPEND_ATTEMPTS {
            let ceiling = Duration::from_millis(10 << attempt).min(MAX_BACKOFF);
            let pause = backoff(attempt);
            assert!(
                pause >= ceiling / 2 && pause <= ceiling,
                "{attempt}: {pause:?}"
            );
        }
        assert!(backoff(40) <= MAX_BACKOFF);
    }

    #[test]
    fn the_key_is_not_in_debug_output() {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .build();
        let log = DynamoAuditLog::new(
            aws_sdk_dynamodb::Client::from_conf(config),
            "t",
            "1",
            b"super secret key bytes".to_vec(),
        );
        let text = format!("{log:?}");
        assert!(!text.contains("secret"), "{text}");
        assert!(text.contains("<redacted>"));
    }

    #[test]
    fn only_condition_failures_and_conflicts_are_races() {
        use aws_sdk_dynamodb::types::error::TransactionCanceledException;
        use aws_sdk_dynamodb::types::CancellationReason;
        let cancelled = |codes: &[&str]| {
            let mut e = TransactionCanceledException::builder();
            for code in codes {
                e = e.cancellation_reasons(CancellationReason::builder().code(*code).build());
            }
            TransactWriteItemsError::TransactionCanceledException(e.build())
        };
        assert!(lost_race(Some(&cancelled(&[
            "None",
            "ConditionalCheckFailed"
        ]))));
        assert!(lost_race(Some(&cancelled(&[
            "ConditionalCheckFailed",
            "ConditionalCheckFailed"
        ]))));
        assert!(lost_race(Some(&cancelled(&[
            "TransactionConflict",
            "None"
        ]))));
        assert!(!lost_race(Some(&cancelled(&[
            "ValidationError",
            "ConditionalCheckFailed"
        ]))));
        assert!(!lost_race(Some(&cancelled(&["None", "None"]))));
        assert!(!lost_race(None));
    }
}
