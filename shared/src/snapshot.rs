//! What a bucket looks like: every layer that decides public access, in the field names of the
//! AWS API and `aws s3api` outputs, so a snapshot can be assembled from CLI output.

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::policy::PolicyDocument;

/// A bucket and everything that decides who can reach it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Snapshot {
    pub bucket: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default)]
    pub policy: Option<BucketPolicy>,
    #[serde(default)]
    pub acl: Option<Acl>,
    #[serde(default)]
    pub public_access_block: Option<PublicAccessBlock>,
    #[serde(default)]
    pub account_public_access_block: Option<PublicAccessBlock>,
    #[serde(default)]
    pub ownership_controls: Option<OwnershipControls>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<Value>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "tag_set"
    )]
    pub tags: Vec<Tag>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<ObjectSnapshot>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access_points: Vec<AccessPointSnapshot>,
    /// Layers that could not be read, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<LayerError>,
    /// Layers deliberately not read because account-level BPA neutralises them (lean sweeps).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<String>,
}

/// A bucket policy: its text exactly as stored (for byte-identical backups) and its document.
#[derive(Debug, Clone, PartialEq)]
pub struct BucketPolicy {
    pub text: String,
    pub document: PolicyDocument,
}

impl BucketPolicy {
    /// Parses policy text as `GetBucketPolicy` returns it.
    pub fn from_text(text: impl Into<String>) -> Result<Self, crate::policy::PolicyError> {
        let text = text.into();
        let document = PolicyDocument::parse(&text)?;
        Ok(Self { text, document })
    }
}

impl Serialize for BucketPolicy {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for BucketPolicy {
    /// Accepts the JSON string `get-bucket-policy` returns, or the document as an object.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PolicyVisitor;
        impl<'de> de::Visitor<'de> for PolicyVisitor {
            type Value = BucketPolicy;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a policy document, as a JSON string or an object")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<BucketPolicy, E> {
                BucketPolicy::from_text(text).map_err(E::custom)
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<BucketPolicy, A::Error> {
                let document =
                    PolicyDocument::deserialize(de::value::MapAccessDeserializer::new(map))?;
                let text = serde_json::to_string(&document).map_err(de::Error::custom)?;
                Ok(BucketPolicy { text, document })
            }
        }
        deserializer.deserialize_any(PolicyVisitor)
    }
}

/// `get-bucket-acl` / `get-object-acl` output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Acl {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Owner>,
    #[serde(default)]
    pub grants: Vec<Grant>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Owner {
    #[serde(default, rename = "ID", skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Grant {
    pub grantee: Grantee,
    pub permission: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Grantee {
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(default, rename = "ID", skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, rename = "URI", skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_address: Option<String>,
}

pub const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
pub const AUTHENTICATED_USERS: &str = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";
pub const LOG_DELIVERY: &str = "http://acs.amazonaws.com/groups/s3/LogDelivery";

impl Grantee {
    /// AllUsers or AuthenticatedUsers (any AWS account holder): a public grantee.
    pub fn is_public(&self) -> bool {
        self.uri
            .as_deref()
            .is_some_and(|uri| uri == ALL_USERS || uri == AUTHENTICATED_USERS)
    }

    /// A short name for messages: the group's last path segment, or the id.
    pub fn label(&self) -> String {
        match (&self.uri, &self.id, &self.email_address) {
            (Some(uri), _, _) => uri.rsplit('/').next().unwrap_or(uri).to_owned(),
            (None, Some(id), _) => format!("canonical user {id}"),
            (None, None, Some(email)) => format!("email {email}"),
            _ => self.kind.clone(),
        }
    }
}

/// The four Block Public Access flags; a missing flag is off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PublicAccessBlock {
    pub block_public_acls: bool,
    pub ignore_public_acls: bool,
    pub block_public_policy: bool,
    pub restrict_public_buckets: bool,
}

impl PublicAccessBlock {
    pub const ALL_ON: Self = Self {
        block_public_acls: true,
        ignore_public_acls: true,
        block_public_policy: true,
        restrict_public_buckets: true,
    };

    pub fn all_on(self) -> bool {
        self == Self::ALL_ON
    }

    /// The most restrictive combination of two levels, flag by flag.
    #[must_use]
    pub fn or(self, other: Self) -> Self {
        Self {
            block_public_acls: self.block_public_acls || other.block_public_acls,
            ignore_public_acls: self.ignore_public_acls || other.ignore_public_acls,
            block_public_policy: self.block_public_policy || other.block_public_policy,
            restrict_public_buckets: self.restrict_public_buckets || other.restrict_public_buckets,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OwnershipControls {
    #[serde(default)]
    pub rules: Vec<OwnershipRule>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OwnershipRule {
    pub object_ownership: String,
}

pub const BUCKET_OWNER_ENFORCED: &str = "BucketOwnerEnforced";

impl OwnershipControls {
    /// Whether ACLs are disabled (`BucketOwnerEnforced`).
    pub fn acls_disabled(&self) -> bool {
        self.rules
            .iter()
            .any(|r| r.object_ownership == BUCKET_OWNER_ENFORCED)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub key: String,
    #[serde(default)]
    pub value: String,
}

/// Accepts a TagSet list, or `get-bucket-tagging` output (`{"TagSet": [...]}`), or null.
fn tag_set<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Tag>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Tags {
        List(Vec<Tag>),
        Wrapped {
            #[serde(rename = "TagSet")]
            tag_set: Vec<Tag>,
        },
    }
    match Option::<Tags>::deserialize(deserializer).map_err(|_| {
        de::Error::custom("tags must be a TagSet list of {Key, Value} or {\"TagSet\": [...]}")
    })? {
        None => Ok(Vec::new()),
        Some(Tags::List(tags) | Tags::Wrapped { tag_set: tags }) => Ok(tags),
    }
}

/// A sampled object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ObjectSnapshot {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acl: Option<Acl>,
}

/// An access point on the bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccessPointSnapshot {
    pub name: String,
    #[serde(default = "internet")]
    pub network_origin: String,
    #[serde(default)]
    pub policy: Option<BucketPolicy>,
    #[serde(default, alias = "PublicAccessBlockConfiguration")]
    pub public_access_block: Option<PublicAccessBlock>,
}

fn internet() -> String {
    "Internet".to_owned()
}

impl AccessPointSnapshot {
    /// An access point with VPC network origin is never public.
    pub fn is_vpc(&self) -> bool {
        self.network_origin.eq_ignore_ascii_case("vpc")
    }
}

/// A layer that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LayerError {
    pub layer: String,
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Why a snapshot document was rejected, with the JSON path of the problem.
#[derive(Debug, thiserror::Error)]
#[error("invalid snapshot at `{path}`: {message}")]
pub struct SnapshotError {
    pub path: String,
    pub message: String,
}

impl Snapshot {
    /// Reads a snapshot document, naming the JSON path of any problem.
    pub fn from_json(text: &str) -> Result<Self, SnapshotError> {
        // The direct path first; the path-tracking one only to explain a failure.
        let snapshot: Self = match serde_json::from_str(text) {
            Ok(s) => s,
            Err(_) => {
                let de = &mut serde_json::Deserializer::from_str(text);
                serde_path_to_error::deserialize(de).map_err(|e| SnapshotError {
                    path: e.path().to_string(),
                    message: e.inner().to_string(),
                })?
            }
        };
        if snapshot.bucket.is_empty() {
            return Err(SnapshotError {
                path: "Bucket".to_owned(),
                message: "the bucket name is empty".to_owned(),
            });
        }
        Ok(snapshot)
    }

    /// Whether ACLs are disabled by `BucketOwnerEnforced`.
    pub fn acls_disabled(&self) -> bool {
        self.ownership_controls
            .as_ref()
            .is_some_and(OwnershipControls::acls_disabled)
    }

    /// The effective Block Public Access of the bucket: bucket OR account, flag by flag.
    pub fn effective_bpa(&self) -> PublicAccessBlock {
        self.public_access_block
            .unwrap_or_default()
            .or(self.account_public_access_block.unwrap_or_default())
    }

    /// The value of a tag, by key, case-insensitively.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|t| t.key.eq_ignore_ascii_case(key))
            .map(|t| t.value.as_str())
    }
}
