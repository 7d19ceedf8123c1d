//! Serde model of an IAM policy document, lenient the way AWS is.

use indexmap::IndexMap;
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A value that policies write either alone or as a list (`"s3:GetObject"` or `["s3:GetObject"]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

/// Reads one value or a list without buffering (an untagged enum would copy the input into an
/// intermediate tree first, which dominated parse time).
impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
        use serde::de::IntoDeserializer;

        struct Visitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> de::Visitor<'de> for Visitor<T> {
            type Value = OneOrMany<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a value or a list of values")
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                Vec::<T>::deserialize(SeqAccessDeserializer::new(seq)).map(OneOrMany::Many)
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(OneOrMany::One)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                T::deserialize(v.into_deserializer()).map(OneOrMany::One)
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                T::deserialize(v.into_deserializer()).map(OneOrMany::One)
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                T::deserialize(v.into_deserializer()).map(OneOrMany::One)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                T::deserialize(v.into_deserializer()).map(OneOrMany::One)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                T::deserialize(v.into_deserializer()).map(OneOrMany::One)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                T::deserialize(v.into_deserializer()).map(OneOrMany::One)
            }
        }
        deserializer.deserialize_any(Visitor(std::marker::PhantomData))
    }
}

impl<T> OneOrMany<T> {
    /// The values, whichever form the document used.
    pub fn as_slice(&self) -> &[T] {
        match self {
            OneOrMany::One(v) => std::slice::from_ref(v),
            OneOrMany::Many(v) => v,
        }
    }

    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.as_slice().iter()
    }
}

/// `Allow` or `Deny`; AWS accepts no other spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Effect {
    Allow,
    Deny,
}

/// `Principal` / `NotPrincipal`: `"*"` or a map of kinds (`AWS`, `Service`, `CanonicalUser`,
/// `Federated`), several kinds at once being valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// The string `"*"`.
    Star,
    /// `{"AWS": ..., "Service": ...}` in document order.
    Map(IndexMap<String, OneOrMany<String>>),
}

impl Serialize for Principal {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Principal::Star => serializer.serialize_str("*"),
            Principal::Map(map) => map.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Principal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Str(String),
            Map(IndexMap<String, OneOrMany<String>>),
        }
        match Raw::deserialize(deserializer).map_err(|_| {
            de::Error::custom("a principal must be `\"*\"` or a map of principal kinds to strings")
        })? {
            Raw::Str(s) if s == "*" => Ok(Principal::Star),
            Raw::Str(s) => Err(de::Error::custom(format!(
                "a principal string must be `\"*\"`, found `{s}`"
            ))),
            Raw::Map(map) => Ok(Principal::Map(map)),
        }
    }
}

/// A condition value: policies write strings, but booleans and numbers occur too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ConditionValue {
    String(String),
    Bool(bool),
    Number(serde_json::Number),
}

impl ConditionValue {
    /// The value as IAM compares it: booleans and numbers as their text.
    pub fn as_text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            ConditionValue::String(s) => std::borrow::Cow::Borrowed(s),
            ConditionValue::Bool(b) => std::borrow::Cow::Owned(b.to_string()),
            ConditionValue::Number(n) => std::borrow::Cow::Owned(n.to_string()),
        }
    }
}

/// `Condition`: operator -> key -> value(s), in document order.
pub type ConditionBlock = IndexMap<String, IndexMap<String, OneOrMany<ConditionValue>>>;

/// One statement, typed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Statement {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    pub effect: Effect,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<Principal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_principal: Option<Principal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<OneOrMany<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_action: Option<OneOrMany<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<OneOrMany<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_resource: Option<OneOrMany<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<ConditionBlock>,
}

/// A statement as found in the document: typed when it could be read, kept raw (with the reason)
/// when it could not, so that one bad statement does not hide the others.
#[derive(Debug, Clone, PartialEq)]
pub enum StatementEntry {
    Valid(Box<Statement>),
    Invalid { raw: Value, error: String },
}

impl StatementEntry {
    pub fn valid(&self) -> Option<&Statement> {
        match self {
            StatementEntry::Valid(s) => Some(s),
            StatementEntry::Invalid { .. } => None,
        }
    }
}

impl Serialize for StatementEntry {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            StatementEntry::Valid(s) => s.serialize(serializer),
            StatementEntry::Invalid { raw, .. } => raw.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for StatementEntry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Value::deserialize(deserializer)?;
        if raw.is_array() {
            // Lets `OneOrMany<StatementEntry>` fall through to its list form.
            return Err(de::Error::custom("a statement cannot be a list"));
        }
        if !raw.is_object() {
            return Ok(StatementEntry::Invalid {
                raw,
                error: "a statement must be a JSON object".to_owned(),
            });
        }
        match Statement::deserialize(&raw) {
            Ok(statement) => Ok(StatementEntry::Valid(Box::new(statement))),
            Err(e) => Ok(StatementEntry::Invalid {
                raw,
                error: e.to_string(),
            }),
        }
    }
}

/// A policy document. `Statement` may be one object or a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyDocument {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub statement: OneOrMany<StatementEntry>,
}

/// Why a policy document could not be read at all.
#[derive(Debug, thiserror::Error)]
#[error("invalid policy document: {0}")]
pub struct PolicyError(#[from] serde_json::Error);

impl PolicyDocument {
    /// Parses a policy from its JSON text, as `GetBucketPolicy` returns it. Well-formed
    /// policies take a direct path; a policy with an unreadable statement is read again,
    /// statement by statement, so that the others still count.
    pub fn parse(text: &str) -> Result<Self, PolicyError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Strict {
            #[serde(default)]
            version: Option<String>,
            #[serde(default)]
            id: Option<String>,
            statement: OneOrMany<Statement>,
        }
        if let Ok(strict) = serde_json::from_str::<Strict>(text) {
            let statement = match strict.statement {
                OneOrMany::One(s) => OneOrMany::One(StatementEntry::Valid(Box::new(s))),
                OneOrMany::Many(list) => OneOrMany::Many(
                    list.into_iter()
                        .map(|s| StatementEntry::Valid(Box::new(s)))
                        .collect(),
                ),
            };
            return Ok(Self {
                version: strict.version,
                id: strict.id,
                statement,
            });
        }
        Ok(serde_json::from_str(text)?)
    }

    /// The statements in document order, valid or not.
    pub fn entries(&self) -> &[StatementEntry] {
        self.statement.as_slice()
    }
}
