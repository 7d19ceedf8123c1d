//! bucketward's own resources in the emulator: tables, topic with an SQS subscription, and the
//! EventBridge rule routed to SQS. Names are unique per test.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_eventbridge::types::{PutEventsRequestEntry, Target};
use aws_sdk_sqs::types::QueueAttributeName;
use bucketward::aws::dynamo::ensure_table;
use serde_json::Value;

use crate::Emulator;

/// The audit chain key the test Lambdas sign with.
pub const AUDIT_KEY: &str = "0123456789abcdef0123456789abcdef";

/// Tables, topic and the queue subscribed to it.
pub struct Infra {
    pub audit_table: String,
    pub dedupe_table: String,
    pub topic_arn: String,
    pub notifications_queue: String,
    pub sqs: aws_sdk_sqs::Client,
}

impl Infra {
    pub async fn create(emu: &Emulator, prefix: &str) -> Self {
        let id = &uuid::Uuid::new_v4().simple().to_string()[..10];
        let audit_table = format!("{prefix}-audit-{id}");
        let dedupe_table = format!("{prefix}-dedupe-{id}");
        let dynamodb = &emu.clients.dynamodb;
        ensure_table(dynamodb, &audit_table, true, false)
            .await
            .expect("audit table");
        ensure_table(dynamodb, &dedupe_table, false, true)
            .await
            .expect("dedupe table");
        let topic_arn = emu
            .clients
            .sns
            .create_topic()
            .name(format!("{prefix}-topic-{id}"))
            .send()
            .await
            .expect("topic")
            .topic_arn
            .expect("topic arn");
        let sqs = aws_sdk_sqs::Client::new(emu.clients.sdk_config());
        let (notifications_queue, queue_arn) = queue(&sqs, &format!("{prefix}-notify-{id}")).await;
        emu.clients
            .sns
            .subscribe()
            .topic_arn(&topic_arn)
            .protocol("sqs")
            .endpoint(queue_arn)
            .send()
            .await
            .expect("subscribe");
        Self {
            audit_table,
            dedupe_table,
            topic_arn,
            notifications_queue,
            sqs,
        }
    }

    /// The Lambda environment pointing at these resources.
    pub fn lambda_env(&self, mode: &str) -> HashMap<String, String> {
        HashMap::from([
            (
                "BUCKETWARD_AUDIT_TABLE".to_owned(),
                self.audit_table.clone(),
            ),
            (
                "BUCKETWARD_DEDUPE_TABLE".to_owned(),
                self.dedupe_table.clone(),
            ),
            ("BUCKETWARD_TOPIC_ARN".to_owned(), self.topic_arn.clone()),
            ("BUCKETWARD_MODE".to_owned(), mode.to_owned()),
            (
                "BUCKETWARD_ACCOUNT_ID".to_owned(),
                crate::ACCOUNT_ID.to_owned(),
            ),
            ("RUST_LOG".to_owned(), "warn".to_owned()),
            ("BUCKETWARD_AUDIT_KEY".to_owned(), AUDIT_KEY.to_owned()),
        ])
    }

    /// Notifications received so far: (subject, message JSON).
    pub async fn notifications(&self, wait: Duration) -> Vec<(String, Value)> {
        receive(&self.sqs, &self.notifications_queue, wait)
            .await
            .into_iter()
            .filter_map(|body| {
                let envelope: Value = serde_json::from_str(&body).ok()?;
                let subject = envelope["Subject"].as_str().unwrap_or_default().to_owned();
                let message = serde_json::from_str(envelope["Message"].as_str()?).ok()?;
                Some((subject, message))
            })
            .collect()
    }
}

/// Creates a queue; returns its URL and ARN.
pub async fn queue(sqs: &aws_sdk_sqs::Client, name: &str) -> (String, String) {
    let url = sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .expect("queue")
        .queue_url
        .expect("url");
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("queue attributes")
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .expect("queue arn");
    (url, arn)
}

/// Receives message bodies until `wait` passes without a new one.
pub async fn receive(sqs: &aws_sdk_sqs::Client, url: &str, wait: Duration) -> Vec<String> {
    let mut bodies = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    while tokio::time::Instant::now() < deadline {
        let out = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receive");
        for m in out.messages() {
            bodies.extend(m.body().map(str::to_owned));
            if let Some(handle) = m.receipt_handle() {
                let _ = sqs
                    .delete_message()
                    .queue_url(url)
                    .receipt_handle(handle)
                    .send()
                    .await;
            }
        }
    }
    bodies
}

/// An EventBridge rule on the default bus with `pattern`, delivering to a new SQS queue.
pub struct RuleToQueue {
    pub queue_url: String,
    pub events: aws_sdk_eventbridge::Client,
    pub sqs: aws_sdk_sqs::Client,
}

impl RuleToQueue {
    pub async fn create(emu: &Emulator, prefix: &str, pattern: &Value) -> Self {
        let id = &uuid::Uuid::new_v4().simple().to_string()[..10];
        let events = aws_sdk_eventbridge::Client::new(emu.clients.sdk_config());
        let sqs = aws_sdk_sqs::Client::new(emu.clients.sdk_config());
        let (queue_url, queue_arn) = queue(&sqs, &format!("{prefix}-rule-{id}")).await;
        let rule = format!("{prefix}-rule-{id}");
        events
            .put_rule()
            .name(&rule)
            .event_pattern(pattern.to_string())
            .send()
            .await
            .expect("put rule");
        events
            .put_targets()
            .rule(&rule)
            .targets(
                Target::builder()
                    .id("queue")
                    .arn(queue_arn)
                    .build()
                    .expect("target"),
            )
            .send()
            .await
            .expect("put targets");
        Self {
            queue_url,
            events,
            sqs,
        }
    }

    /// Puts an EventBridge event (envelope + detail) on the default bus.
    pub async fn put(&self, event: &Value) {
        let entry = PutEventsRequestEntry::builder()
            .source(event["source"].as_str().unwrap_or_default())
            .detail_type(event["detail-type"].as_str().unwrap_or_default())
            .detail(event["detail"].to_string())
            .build();
        let out = self
            .events
            .put_events()
            .entries(entry)
            .send()
            .await
            .expect("put events");
        assert_eq!(out.failed_entry_count, 0, "put events failed");
    }

    /// The events delivered to the queue, whose `detail.eventID` is among `ids`.
    pub async fn delivered(&self, ids: &[String], wait: Duration) -> Vec<Value> {
        receive(&self.sqs, &self.queue_url, wait)
            .await
            .into_iter()
            .filter_map(|b| serde_json::from_str::<Value>(&b).ok())
            .filter(|e| {
                e["detail"]["eventID"]
                    .as_str()
                    .is_some_and(|id| ids.iter().any(|i| i == id))
            })
            .collect()
    }
}

/// A CloudTrail event from a fixture, re-targeted at `bucket`, with a fresh id and time.
pub fn cloudtrail_event(fixture: &str, bucket: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/events")
        .join(fixture);
    let mut event: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json");
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    event["time"] = Value::String(now.clone());
    event["account"] = Value::String(crate::ACCOUNT_ID.to_owned());
    event["region"] = Value::String(crate::REGION.to_owned());
    let detail = &mut event["detail"];
    detail["eventID"] = Value::String(uuid::Uuid::new_v4().to_string());
    detail["eventTime"] = Value::String(now);
    detail["awsRegion"] = Value::String(crate::REGION.to_owned());
    detail["recipientAccountId"] = Value::String(crate::ACCOUNT_ID.to_owned());
    if detail["requestParameters"].get("bucketName").is_some() {
        detail["requestParameters"]["bucketName"] = Value::String(bucket.to_owned());
    }
    event
}
