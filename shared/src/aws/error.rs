//! AWS errors, kept with their cause, and the helpers that read their codes.

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::result::SdkError;

/// An AWS call that failed.
#[derive(Debug, thiserror::Error)]
#[error("{operation} failed: {code}{}", message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
pub struct AwsError {
    /// The API operation, e.g. `PutBucketPolicy`.
    pub operation: &'static str,
    /// The AWS error code, or the kind of failure when the service did not answer.
    pub code: String,
    pub message: Option<String>,
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

impl AwsError {
    pub fn is_access_denied(&self) -> bool {
        self.code == "AccessDenied" || self.code == "AccessDeniedException"
    }

    pub fn is_no_such_bucket(&self) -> bool {
        self.code == "NoSuchBucket"
    }

    /// The IAM action an operation needs, for AccessDenied messages.
    pub fn iam_action(&self) -> String {
        iam_action_for(self.operation)
    }
}

/// The IAM action behind an S3 API operation (they differ for a few).
pub fn iam_action_for(operation: &str) -> String {
    let action = match operation {
        "GetPublicAccessBlock" => "GetBucketPublicAccessBlock",
        "PutPublicAccessBlock" => "PutBucketPublicAccessBlock",
        "DeletePublicAccessBlock" => "PutBucketPublicAccessBlock",
        "GetAccountPublicAccessBlock" => "GetAccountPublicAccessBlock",
        "GetBucketEncryption" => "GetEncryptionConfiguration",
        "HeadObject" => "GetObject",
        "ListObjectsV2" => "ListBucket",
        "ListBuckets" => "ListAllMyBuckets",
        "DeleteBucketOwnershipControls" => "PutBucketOwnershipControls",
        "DeleteBucketWebsite" => "DeleteBucketWebsite",
        other => other,
    };
    format!("s3:{action}")
}

/// The error code of an SDK error: the service's code, or the kind of failure.
pub fn error_code<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> String {
    match err {
        SdkError::ServiceError(e) => e
            .err()
            .code()
            .map_or_else(|| "Unknown".to_owned(), str::to_owned),
        SdkError::TimeoutError(_) => "Timeout".to_owned(),
        SdkError::DispatchFailure(_) => "DispatchFailure".to_owned(),
        SdkError::ResponseError(_) => "ResponseError".to_owned(),
        SdkError::ConstructionFailure(_) => "ConstructionFailure".to_owned(),
        _ => "Unknown".to_owned(),
    }
}

/// Wraps an SDK error with its operation name, keeping the cause.
pub fn aws_error<E, R>(operation: &'static str, err: SdkError<E, R>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let code = error_code(&err);
    let message = err.message().map(str::to_owned);
    AwsError {
        operation,
        code,
        message,
        source: Box::new(err),
    }
}

/// Turns S3's "not found" answers into `None`, keeping every other error.
pub fn absent_if<T, E, R>(
    operation: &'static str,
    result: Result<T, SdkError<E, R>>,
    not_found: &[&str],
) -> Result<Option<T>, AwsError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Ok(v) => Ok(Some(v)),
        Err(err) if not_found.contains(&error_code(&err).as_str()) => Ok(None),
        Err(err) => Err(aws_error(operation, err)),
    }
}

/// A request that could not be built (a required field missing), as an [`AwsError`].
pub fn build_error(
    operation: &'static str,
    e: aws_smithy_types::error::operation::BuildError,
) -> AwsError {
    AwsError {
        operation,
        code: "InvalidRequest".to_owned(),
        message: Some(e.to_string()),
        source: Box::new(e),
    }
}
