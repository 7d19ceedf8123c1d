//! Publishing notifications to the SNS topic.

use aws_sdk_sns::types::MessageAttributeValue;

use super::error::aws_error;
use crate::notify::{Notification, Notifier};
use crate::store::StoreError;

#[derive(Debug, Clone)]
pub struct SnsNotifier {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl SnsNotifier {
    pub fn new(client: aws_sdk_sns::Client, topic_arn: impl Into<String>) -> Self {
        Self {
            client,
            topic_arn: topic_arn.into(),
        }
    }
}

impl Notifier for SnsNotifier {
    async fn publish(&self, n: &Notification) -> Result<(), StoreError> {
        let message =
            serde_json::to_string_pretty(&n.body).map_err(|e| StoreError::Backend(Box::new(e)))?;
        let mut publish = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(&n.subject)
            .message(message);
        for (name, value) in &n.attributes {
            let attribute = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|e| StoreError::Backend(Box::new(e)))?;
            publish = publish.message_attributes(name, attribute);
        }
        publish
            .send()
            .await
            .map(|_| ())
            .map_err(|e| StoreError::Backend(Box::new(aws_error("Publish", e))))
    }
}
