//! CloudTrail API calls delivered by EventBridge, read leniently: field shapes vary between
//! captures (`publicAccessBlock` as `[""]` or `""`, `Grant` as an object or a list,
//! `sessionContext` with or without `attributes`), so only the fields bucketward needs are read,
//! from the JSON value, and everything else is ignored.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What an event is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Target {
    /// A bucket-level change.
    Bucket { bucket: String },
    /// An object ACL change (a data event).
    Object { bucket: String, key: String },
    /// An access point; its bucket when the event names it.
    AccessPoint {
        name: String,
        bucket: Option<String>,
    },
    /// Account-level Block Public Access.
    Account,
}

/// The CloudTrail calls bucketward reacts to, and what each is about.
const BUCKET_EVENTS: &[&str] = &[
    "PutBucketPolicy",
    "DeleteBucketPolicy",
    "PutBucketAcl",
    "PutBucketPublicAccessBlock",
    "DeleteBucketPublicAccessBlock",
    "PutBucketOwnershipControls",
    "DeleteBucketOwnershipControls",
    "CreateBucket",
    "PutBucketWebsite",
];
const ACCOUNT_EVENTS: &[&str] = &[
    "PutAccountPublicAccessBlock",
    "DeleteAccountPublicAccessBlock",
];
const ACCESS_POINT_EVENTS: &[&str] = &["CreateAccessPoint", "PutAccessPointPolicy"];
const OBJECT_EVENTS: &[&str] = &["PutObjectAcl"];

/// Every event name handled, as in the EventBridge rule.
pub fn handled_event_names() -> impl Iterator<Item = &'static str> {
    BUCKET_EVENTS
        .iter()
        .chain(ACCOUNT_EVENTS)
        .chain(ACCESS_POINT_EVENTS)
        .chain(OBJECT_EVENTS)
        .copied()
}

/// A CloudTrail API call, as much as bucketward needs of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiCallEvent {
    /// `detail.eventID`: the deduplication key.
    pub event_id: String,
    pub event_name: String,
    /// `detail.eventTime`: when the call was made.
    pub event_time: DateTime<Utc>,
    pub region: String,
    pub account: String,
    /// Who made the call (`userIdentity.arn`), when present.
    pub actor: Option<String>,
    pub target: Target,
    /// `detail.errorCode`: the call failed and changed nothing.
    pub error_code: Option<String>,
}

/// Why an event was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("the event is not valid JSON: {0}")]
    Json(String),
    #[error("the event is not a JSON object")]
    NotAnObject,
    #[error(
        "not a CloudTrail API call event (source `{event_source}`, detail-type `{detail_type}`)"
    )]
    NotApiCall {
        event_source: String,
        detail_type: String,
    },
    #[error("the event has no `{0}`")]
    Missing(&'static str),
    #[error("`{field}` is not a valid time: `{value}`")]
    BadTime { field: &'static str, value: String },
    #[error("event `{0}` is not one bucketward handles")]
    UnknownEventName(String),
}

/// A string field, or the first string of a list (CloudTrail writes some both ways).
fn text<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut v = value;
    for key in path {
        v = v.get(key)?;
    }
    match v {
        Value::String(s) if !s.is_empty() => Some(s),
        Value::Array(items) => items
            .iter()
            .find_map(|i| i.as_str().filter(|s| !s.is_empty())),
        _ => None,
    }
}

fn time(
    value: &Value,
    path: &[&str],
    field: &'static str,
) -> Result<Option<DateTime<Utc>>, EventError> {
    match text(value, path) {
        None => Ok(None),
        Some(s) => DateTime::parse_from_rfc3339(s)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| EventError::BadTime {
                field,
                value: s.to_owned(),
            }),
    }
}

impl ApiCallEvent {
    /// Reads an EventBridge event from its JSON text.
    pub fn from_json(text: &str) -> Result<Self, EventError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| EventError::Json(e.to_string()))?;
        Self::from_value(&value)
    }

    /// Reads an EventBridge event.
    pub fn from_value(event: &Value) -> Result<Self, EventError> {
        if !event.is_object() {
            return Err(EventError::NotAnObject);
        }
        let source = text(event, &["source"]).unwrap_or_default();
        let detail_type = text(event, &["detail-type"]).unwrap_or_default();
        if detail_type != "AWS API Call via CloudTrail" || source != "aws.s3" {
            return Err(EventError::NotApiCall {
                event_source: source.to_owned(),
                detail_type: detail_type.to_owned(),
            });
        }
        let detail = event
            .get("detail")
            .filter(|d| d.is_object())
            .ok_or(EventError::Missing("detail"))?;
        let event_name =
            text(detail, &["eventName"]).ok_or(EventError::Missing("detail.eventName"))?;
        let event_id = text(detail, &["eventID"])
            .or_else(|| text(event, &["id"]))
            .ok_or(EventError::Missing("detail.eventID"))?;
        let event_time = match time(detail, &["eventTime"], "detail.eventTime")? {
            Some(t) => t,
            None => {
                time(event, &["time"], "time")?.ok_or(EventError::Missing("detail.eventTime"))?
            }
        };
        let region = text(detail, &["awsRegion"])
            .or_else(|| text(event, &["region"]))
            .ok_or(EventError::Missing("detail.awsRegion"))?;
        let account = text(detail, &["recipientAccountId"])
            .or_else(|| text(event, &["account"]))
            .ok_or(EventError::Missing("detail.recipientAccountId"))?;
        let params = detail.get("requestParameters").unwrap_or(&Value::Null);
        let bucket = || {
            text(params, &["bucketName"])
                .or_else(|| text(params, &["bucket"]))
                .or_else(|| text(params, &["Bucket"]))
                .map(str::to_owned)
        };
        let target = if BUCKET_EVENTS.contains(&event_name) {
            Target::Bucket {
                bucket: bucket()
                    .ok_or(EventError::Missing("detail.requestParameters.bucketName"))?,
            }
        } else if OBJECT_EVENTS.contains(&event_name) {
            Target::Object {
                bucket: bucket()
                    .ok_or(EventError::Missing("detail.requestParameters.bucketName"))?,
                key: text(params, &["key"])
                    .ok_or(EventError::Missing("detail.requestParameters.key"))?
                    .to_owned(),
            }
        } else if ACCESS_POINT_EVENTS.contains(&event_name) {
            Target::AccessPoint {
                name: text(params, &["name"])
                    .ok_or(EventError::Missing("detail.requestParameters.name"))?
                    .to_owned(),
                bucket: bucket().or_else(|| {
                    text(params, &["CreateAccessPointRequest", "Bucket"]).map(str::to_owned)
                }),
            }
        } else if ACCOUNT_EVENTS.contains(&event_name) {
            Target::Account
        } else {
            return Err(EventError::UnknownEventName(event_name.to_owned()));
        };
        Ok(Self {
            event_id: event_id.to_owned(),
            event_name: event_name.to_owned(),
            event_time,
            region: region.to_owned(),
            account: account.to_owned(),
            actor: text(detail, &["userIdentity", "arn"]).map(str::to_owned),
            target,
            error_code: text(detail, &["errorCode"]).map(str::to_owned),
        })
    }

    /// The bucket the event concerns, when it names one.
    pub fn bucket(&self) -> Option<&str> {
        match &self.target {
            Target::Bucket { bucket } | Target::Object { bucket, .. } => Some(bucket),
            Target::AccessPoint { bucket, .. } => bucket.as_deref(),
            Target::Account => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_what_is_not_an_api_call() {
        let scheduled = r#"{"source":"aws.events","detail-type":"Scheduled Event","detail":{}}"#;
        assert!(matches!(
            ApiCallEvent::from_json(scheduled),
            Err(EventError::NotApiCall { .. })
        ));
        assert!(matches!(
            ApiCallEvent::from_json("[1]"),
            Err(EventError::NotAnObject)
        ));
        assert!(matches!(
            ApiCallEvent::from_json("{"),
            Err(EventError::Json(_))
        ));
    }

    #[test]
    fn names_the_missing_field() {
        let e = r#"{"source":"aws.s3","detail-type":"AWS API Call via CloudTrail","detail":{"eventName":"PutBucketPolicy","eventID":"x","eventTime":"2024-01-01T00:00:00Z","awsRegion":"us-east-1","recipientAccountId":"123456789012","requestParameters":{}}}"#;
        let err = ApiCallEvent::from_json(e).unwrap_err();
        assert_eq!(
            err,
            EventError::Missing("detail.requestParameters.bucketName")
        );
        assert!(err.to_string().contains("bucketName"));
    }

    #[test]
    fn unknown_event_names_are_rejected() {
        let e = r#"{"source":"aws.s3","detail-type":"AWS API Call via CloudTrail","detail":{"eventName":"GetObject","eventID":"x","eventTime":"2024-01-01T00:00:00Z","awsRegion":"us-east-1","recipientAccountId":"1"}}"#;
        assert_eq!(
            ApiCallEvent::from_json(e).unwrap_err(),
            EventError::UnknownEventName("GetObject".into())
        );
    }
}
