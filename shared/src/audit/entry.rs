//! What one audit record holds: the draft the pipeline writes, and the sealed entry that the
//! chain keeps.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditKind {
    /// A bucket was found public (from an event or a sweep).
    Detection,
    /// A remediation was proposed and waits for approval.
    Proposal,
    Approval,
    Rejection,
    /// A remediation was applied.
    Action,
    /// The read-back after an action.
    Verification,
    Rollback,
    /// An exception (allowed public bucket) was added, changed or removed.
    ExceptionChange,
    /// A pull request was opened for an infrastructure-as-code fix.
    Pr,
    /// An IAM principal can weaken bucket security and is not approved.
    IamFinding,
    /// Attaching the IAM deny guardrail to a principal was proposed.
    GuardrailProposal,
    /// A guardrail proposal was approved or rejected.
    GuardrailDecision,
    /// The IAM deny guardrail was attached to a principal.
    GuardrailAttach,
    /// The IAM deny guardrail was detached from a principal (a rollback).
    GuardrailDetach,
}

impl AuditKind {
    /// The name used in JSON, CSV and the `kind` attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Detection => "detection",
            Self::Proposal => "proposal",
            Self::Approval => "approval",
            Self::Rejection => "rejection",
            Self::Action => "action",
            Self::Verification => "verification",
            Self::Rollback => "rollback",
            Self::ExceptionChange => "exception_change",
            Self::Pr => "pr",
            Self::IamFinding => "iam_finding",
            Self::GuardrailProposal => "guardrail_proposal",
            Self::GuardrailDecision => "guardrail_decision",
            Self::GuardrailAttach => "guardrail_attach",
            Self::GuardrailDetach => "guardrail_detach",
        }
    }
}

impl std::fmt::Display for AuditKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A record the pipeline wants to append; the log gives it its place in the chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditDraft {
    /// When it happened (by the clock of the process that wrote it).
    #[serde(with = "rfc3339")]
    pub time: DateTime<Utc>,
    pub account: String,
    #[serde(default)]
    pub bucket: Option<String>,
    pub kind: AuditKind,
    /// The CloudTrail `eventID` that started it, if an event did.
    #[serde(default)]
    pub event_id: Option<String>,
    #[serde(default, with = "rfc3339_option")]
    pub event_time: Option<DateTime<Utc>>,
    /// Free-form details: finding, severity, mode, decision, approver, steps applied, before and
    /// after state, result.
    #[serde(default)]
    pub payload: Value,
}

impl AuditDraft {
    /// A draft timed now, with no bucket, no event and the given payload.
    pub fn new(account: impl Into<String>, kind: AuditKind, payload: Value) -> Self {
        Self {
            time: Utc::now(),
            account: account.into(),
            bucket: None,
            kind,
            event_id: None,
            event_time: None,
            payload,
        }
    }

    #[must_use]
    pub fn with_bucket(mut self, bucket: impl Into<String>) -> Self {
        self.bucket = Some(bucket.into());
        self
    }

    /// The CloudTrail event behind this record.
    #[must_use]
    pub fn with_event(mut self, event_id: impl Into<String>, event_time: DateTime<Utc>) -> Self {
        self.event_id = Some(event_id.into());
        self.event_time = Some(event_time);
        self
    }
}

/// A sealed record: its place in the chain, the hash of the record before it, its own hash and
/// the keyed signature over that hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// The position in the chain, from 1, without gaps.
    pub seq: u64,
    #[serde(with = "rfc3339")]
    pub time: DateTime<Utc>,
    pub account: String,
    pub bucket: Option<String>,
    pub kind: AuditKind,
    pub event_id: Option<String>,
    #[serde(with = "rfc3339_option")]
    pub event_time: Option<DateTime<Utc>>,
    pub payload: Value,
    /// Hex SHA-256 of the previous entry ([`GENESIS_HASH`](super::GENESIS_HASH) for seq 1).
    pub prev_hash: String,
    /// Hex SHA-256 of the canonical JSON of every field above (see [`AuditEntry::hashed_value`]).
    pub hash: String,
    /// Hex HMAC-SHA256 of `hash` (its 64 hex characters, as ASCII) with the audit key.
    pub signature: String,
}

impl AuditEntry {
    /// The JSON object the hash covers: every field except `hash` and `signature`, exactly as the
    /// entry serializes them (`None` as `null`, times as RFC 3339).
    pub fn hashed_value(&self) -> Value {
        let mut map = Map::new();
        map.insert("seq".to_owned(), Value::from(self.seq));
        map.insert("time".to_owned(), Value::String(format_time(&self.time)));
        map.insert("account".to_owned(), Value::String(self.account.clone()));
        map.insert("bucket".to_owned(), optional(self.bucket.clone()));
        map.insert(
            "kind".to_owned(),
            Value::String(self.kind.as_str().to_owned()),
        );
        map.insert("event_id".to_owned(), optional(self.event_id.clone()));
        map.insert(
            "event_time".to_owned(),
            optional(self.event_time.as_ref().map(format_time)),
        );
        map.insert("payload".to_owned(), self.payload.clone());
        map.insert(
            "prev_hash".to_owned(),
            Value::String(self.prev_hash.clone()),
        );
        Value::Object(map)
    }

    /// The whole entry as a JSON object (the hashed fields plus `hash` and `signature`); the
    /// same value `serde_json` makes of it.
    pub fn to_value(&self) -> Value {
        let mut value = self.hashed_value();
        if let Value::Object(map) = &mut value {
            map.insert("hash".to_owned(), Value::String(self.hash.clone()));
            map.insert(
                "signature".to_owned(),
                Value::String(self.signature.clone()),
            );
        }
        value
    }

    /// Where the chain stands after this entry.
    pub fn head(&self) -> ChainHead {
        ChainHead {
            seq: self.seq,
            hash: self.hash.clone(),
        }
    }
}

/// The last record of a chain: what the next record links to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    pub seq: u64,
    pub hash: String,
}

fn optional(s: Option<String>) -> Value {
    s.map_or(Value::Null, Value::String)
}

/// RFC 3339 in UTC with a `Z`, and as many fraction digits as needed (0, 3, 6 or 9).
pub fn format_time(time: &DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc))
}

/// Times as [`format_time`] writes them, so that the serialized entry and the hashed value agree.
mod rfc3339 {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(time: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_time(time))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(d)?;
        super::parse_time(&text).map_err(serde::de::Error::custom)
    }
}

mod rfc3339_option {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    // serde's `with` hands the field by reference.
    #[allow(clippy::ref_option)]
    pub fn serialize<S: Serializer>(time: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match time {
            Some(t) => s.serialize_str(&super::format_time(t)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| super::parse_time(&text).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn sample() -> AuditEntry {
        AuditEntry {
            seq: 7,
            time: parse_time("2024-05-01T12:00:00.123456Z").unwrap(),
            account: "123456789012".to_owned(),
            bucket: Some("reports".to_owned()),
            kind: AuditKind::ExceptionChange,
            event_id: None,
            event_time: Some(parse_time("2024-05-01T11:59:58+02:00").unwrap()),
            payload: json!({"b": [1, 2.5], "a": "x"}),
            prev_hash: "ab".repeat(32),
            hash: "cd".repeat(32),
            signature: "ef".repeat(32),
        }
    }

    #[test]
    fn the_hashed_value_is_what_serde_writes_less_hash_and_signature() {
        let entry = sample();
        let mut serde_value = serde_json::to_value(&entry).unwrap();
        assert_eq!(serde_value, entry.to_value());
        let map = serde_value.as_object_mut().unwrap();
        map.remove("hash");
        map.remove("signature");
        assert_eq!(serde_value, entry.hashed_value());
    }

    #[test]
    fn serializes_kinds_in_snake_case_and_times_in_utc() {
        let v = sample().to_value();
        assert_eq!(v["kind"], "exception_change");
        assert_eq!(v["time"], "2024-05-01T12:00:00.123456Z");
        assert_eq!(v["event_time"], "2024-05-01T09:59:58Z");
        assert_eq!(v["event_id"], Value::Null);
        for kind in [AuditKind::Detection, AuditKind::Pr, AuditKind::Rollback] {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
    }

    #[test]
    fn round_trips_through_json() {
        let entry = sample();
        let text = serde_json::to_string(&entry).unwrap();
        let back: AuditEntry = serde_json::from_str(&text).unwrap();
        assert_eq!(back, entry);
        assert_eq!(back.hashed_value(), entry.hashed_value());
    }

    #[test]
    fn a_draft_reads_from_pipeline_json() {
        let draft: AuditDraft = serde_json::from_str(
            r#"{"time":"2024-05-01T12:00:00Z","account":"123456789012","kind":"detection",
                "bucket":"b","event_id":"e-1","event_time":"2024-05-01T11:59:00Z",
                "payload":{"severity":"high"}}"#,
        )
        .unwrap();
        assert_eq!(draft.kind, AuditKind::Detection);
        assert_eq!(draft.bucket.as_deref(), Some("b"));
        let bare: AuditDraft =
            serde_json::from_str(r#"{"time":"2024-05-01T12:00:00Z","account":"1","kind":"pr"}"#)
                .unwrap();
        assert_eq!(bare.payload, Value::Null);
        assert_eq!(bare.event_time, None);
    }
}
