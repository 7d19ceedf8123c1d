//! Continuing an unfinished sweep in a new invocation: the checkpoint goes to an SQS queue that
//! triggers the sweeper again.

use serde::{Deserialize, Serialize};

use super::error::{aws_error, AwsError};

/// The message that continues a sweep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Continuation {
    /// Continue after this bucket.
    pub start_after: String,
    /// How many invocations this sweep has taken so far.
    #[serde(default)]
    pub generation: u32,
}

/// Sends a continuation to the sweep queue.
pub async fn send_continuation(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    continuation: &Continuation,
) -> Result<(), AwsError> {
    let body = serde_json::to_string(continuation).map_err(|e| AwsError {
        operation: "SendMessage",
        code: "Encode".to_owned(),
        message: Some(e.to_string()),
        source: Box::new(e),
    })?;
    sqs.send_message()
        .queue_url(queue_url)
        .message_body(body)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| aws_error("SendMessage", e))
}
