//! DynamoDB adapters: event deduplication and action records (with their pre-change backups).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType, TimeToLiveSpecification,
};
use chrono::Utc;

use super::error::{aws_error, build_error, error_code, AwsError};
use crate::action::ActionRecord;
use crate::store::{ActionStore, EventDedupe, StoreError};

fn backend(e: AwsError) -> StoreError {
    StoreError::Backend(Box::new(e))
}

/// Event ids seen recently, with a TTL: a conditional put wins exactly once per event id.
#[derive(Debug, Clone)]
pub struct DynamoDedupe {
    client: aws_sdk_dynamodb::Client,
    table: String,
    ttl_seconds: i64,
}

/// How long an event id is remembered (EventBridge retries for up to 24 hours).
pub const DEDUPE_TTL_SECONDS: i64 = 2 * 24 * 3600;

impl DynamoDedupe {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            ttl_seconds: DEDUPE_TTL_SECONDS,
        }
    }
}

impl EventDedupe for DynamoDedupe {
    async fn first_time(&self, event_id: &str) -> Result<bool, StoreError> {
        let now = Utc::now().timestamp();
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", AttributeValue::S(format!("event#{event_id}")))
            .item("seen_at", AttributeValue::N(now.to_string()))
            .item(
                "expires_at",
                AttributeValue::N((now + self.ttl_seconds).to_string()),
            )
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if error_code(&e) == "ConditionalCheckFailedException" => Ok(false),
            Err(e) => Err(backend(aws_error("PutItem", e))),
        }
    }

    async fn forget(&self, event_id: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(format!("event#{event_id}")))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| backend(aws_error("DeleteItem", e)))
    }
}

/// Action records in the audit table: `pk = action#<id>`, `sk = 0`, the record as JSON.
#[derive(Debug, Clone)]
pub struct DynamoActionStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoActionStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// The key of a single item: `pk`, `sk = 0`.
    fn item_key(pk: String) -> HashMap<String, AttributeValue> {
        HashMap::from([
            ("pk".to_owned(), AttributeValue::S(pk)),
            ("sk".to_owned(), AttributeValue::N("0".to_owned())),
        ])
    }

    fn key(action_id: &str) -> HashMap<String, AttributeValue> {
        Self::item_key(format!("action#{action_id}"))
    }

    /// A bucket's open proposal: `pk = open-proposal#<bucket>`, `sk = 0`, `action_id`.
    fn open_key(bucket: &str) -> HashMap<String, AttributeValue> {
        Self::item_key(format!("open-proposal#{bucket}"))
    }

    async fn get(
        &self,
        key: HashMap<String, AttributeValue>,
    ) -> Result<Option<HashMap<String, AttributeValue>>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| backend(aws_error("GetItem", e)))?;
        Ok(out.item)
    }

    async fn put(&self, item: HashMap<String, AttributeValue>) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| backend(aws_error("PutItem", e)))
    }
}

impl ActionStore for DynamoActionStore {
    async fn save(&self, record: &ActionRecord) -> Result<(), StoreError> {
        let json = serde_json::to_string(record).map_err(|e| StoreError::Backend(Box::new(e)))?;
        let outcome = serde_json::to_value(record.outcome)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let mut item = Self::key(&record.action_id);
        item.insert("record".to_owned(), AttributeValue::S(json));
        item.insert(
            "bucket".to_owned(),
            AttributeValue::S(record.bucket.clone()),
        );
        item.insert("outcome".to_owned(), AttributeValue::S(outcome));
        item.insert(
            "started_at".to_owned(),
            AttributeValue::S(record.started_at.to_rfc3339()),
        );
        self.put(item).await
    }

    async fn load(&self, action_id: &str) -> Result<Option<ActionRecord>, StoreError> {
        let Some(item) = self.get(Self::key(action_id)).await? else {
            return Ok(None);
        };
        let Some(AttributeValue::S(json)) = item.get("record") else {
            return Err(StoreError::Backend(
                format!("action `{action_id}` has no `record` attribute").into(),
            ));
        };
        serde_json::from_str(json)
            .map(Some)
            .map_err(|e| StoreError::Backend(Box::new(e)))
    }

    async fn open_proposal(&self, bucket: &str) -> Result<Option<String>, StoreError> {
        let item = self.get(Self::open_key(bucket)).await?;
        Ok(item.and_then(|item| match item.get("action_id") {
            Some(AttributeValue::S(id)) => Some(id.clone()),
            _ => None,
        }))
    }

    async fn set_open_proposal(&self, bucket: &str, action_id: &str) -> Result<(), StoreError> {
        let mut item = Self::open_key(bucket);
        item.insert(
            "action_id".to_owned(),
            AttributeValue::S(action_id.to_owned()),
        );
        self.put(item).await
    }
}

/// Creates a table keyed `pk` (string) and, when `with_sort_key`, `sk` (number); on-demand
/// billing; TTL on `expires_at` when asked. An existing table is left as it is.
pub async fn ensure_table(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    with_sort_key: bool,
    ttl: bool,
) -> Result<(), AwsError> {
    let mut create = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute("pk", ScalarAttributeType::S)?)
        .key_schema(key("pk", KeyType::Hash)?);
    if with_sort_key {
        create = create
            .attribute_definitions(attribute("sk", ScalarAttributeType::N)?)
            .key_schema(key("sk", KeyType::Range)?);
    }
    match create.send().await {
        Ok(_) => {}
        Err(e) if error_code(&e) == "ResourceInUseException" => return Ok(()),
        Err(e) => return Err(aws_error("CreateTable", e)),
    }
    if ttl {
        client
            .update_time_to_live()
            .table_name(table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .enabled(true)
                    .attribute_name("expires_at")
                    .build()
                    .map_err(|e| build_error("UpdateTimeToLive", e))?,
            )
            .send()
            .await
            .map_err(|e| aws_error("UpdateTimeToLive", e))?;
    }
    Ok(())
}

fn attribute(name: &str, kind: ScalarAttributeType) -> Result<AttributeDefinition, AwsError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(kind)
        .build()
        .map_err(|e| build_error("CreateTable", e))
}

fn key(name: &str, kind: KeyType) -> Result<KeySchemaElement, AwsError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .map_err(|e| build_error("CreateTable", e))
}

/// Exceptions in their own table: `pk = <bucket name or glob>`, the exception as JSON, and
/// `expires_at` (a number) so that expired exceptions are visible until removed.
#[derive(Debug, Clone)]
pub struct DynamoExceptionStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoExceptionStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Every exception, expired ones included.
    pub async fn list(&self) -> Result<Vec<crate::exception::Exception>, StoreError> {
        let mut out = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| backend(aws_error("Scan", e)))?;
            for item in page.items() {
                if let Some(AttributeValue::S(json)) = item.get("exception") {
                    out.push(
                        serde_json::from_str(json).map_err(|e| StoreError::Backend(Box::new(e)))?,
                    );
                }
            }
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        out.sort_by(|a: &crate::exception::Exception, b| a.bucket.cmp(&b.bucket));
        Ok(out)
    }

    /// Adds or replaces the exception for its bucket pattern.
    pub async fn put(&self, exception: &crate::exception::Exception) -> Result<(), StoreError> {
        let json =
            serde_json::to_string(exception).map_err(|e| StoreError::Backend(Box::new(e)))?;
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", AttributeValue::S(exception.bucket.clone()))
            .item("exception", AttributeValue::S(json))
            .item(
                "expires_at",
                AttributeValue::N(exception.expires_at.timestamp().to_string()),
            )
            .send()
            .await
            .map(|_| ())
            .map_err(|e| backend(aws_error("PutItem", e)))
    }

    /// Removes the exception for a bucket pattern; returns whether there was one.
    pub async fn remove(&self, bucket: &str) -> Result<bool, StoreError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(bucket.to_owned()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| backend(aws_error("DeleteItem", e)))?;
        Ok(out.attributes.is_some_and(|a| !a.is_empty()))
    }
}

/// The exceptions in force: all of them from the table when one is configured, none otherwise.
pub async fn load_exceptions(
    client: &aws_sdk_dynamodb::Client,
    table: Option<&str>,
) -> Result<Vec<crate::exception::Exception>, StoreError> {
    match table {
        Some(t) => DynamoExceptionStore::new(client.clone(), t).list().await,
        None => Ok(Vec::new()),
    }
}
