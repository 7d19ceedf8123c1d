//! What the account's IAM looks like: users, groups, roles and managed policies, as
//! `GetAccountAuthorizationDetails` (plus `ListAccessKeys`) describes them. Policy documents are
//! kept as their decoded JSON text and parsed when evaluated.

use serde::{Deserialize, Serialize};

/// A policy embedded in a user, group or role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InlinePolicy {
    pub name: String,
    /// The policy document, decoded JSON text.
    pub document: String,
}

/// A managed policy attached to a user, group or role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachedPolicy {
    pub name: String,
    pub arn: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub name: String,
    pub arn: String,
    /// The names of the groups the user belongs to.
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub inline: Vec<InlinePolicy>,
    #[serde(default)]
    pub attached: Vec<AttachedPolicy>,
    /// The ARN of the permissions boundary, if any.
    #[serde(default)]
    pub boundary: Option<String>,
    /// How many of the user's access keys are active.
    #[serde(default)]
    pub active_access_keys: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub name: String,
    pub arn: String,
    #[serde(default)]
    pub inline: Vec<InlinePolicy>,
    #[serde(default)]
    pub attached: Vec<AttachedPolicy>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    pub name: String,
    pub arn: String,
    /// The trust policy (`AssumeRolePolicyDocument`), decoded JSON text.
    #[serde(default)]
    pub trust_policy: Option<String>,
    #[serde(default)]
    pub inline: Vec<InlinePolicy>,
    #[serde(default)]
    pub attached: Vec<AttachedPolicy>,
    #[serde(default)]
    pub boundary: Option<String>,
}

/// A managed policy (customer or AWS managed) and its default version's document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagedPolicy {
    pub name: String,
    pub arn: String,
    /// The default version's document, decoded JSON text (`None` when it was not returned).
    #[serde(default)]
    pub document: Option<String>,
}

/// The account's IAM principals and policies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    pub account_id: String,
    #[serde(default)]
    pub users: Vec<User>,
    #[serde(default)]
    pub groups: Vec<Group>,
    #[serde(default)]
    pub roles: Vec<Role>,
    #[serde(default)]
    pub policies: Vec<ManagedPolicy>,
}

impl Inventory {
    pub fn policy(&self, arn: &str) -> Option<&ManagedPolicy> {
        self.policies.iter().find(|p| p.arn == arn)
    }

    pub fn group(&self, name: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.name == name)
    }
}

/// Decodes a policy document as IAM returns it: URL-encoded JSON (RFC 3986). Text that is
/// already JSON (it starts with `{`) is returned unchanged, so that a document decoded once is
/// not decoded again.
pub fn decode_document(text: &str) -> String {
    if text.trim_start().starts_with('{') {
        return text.to_owned();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                match (hex_value(bytes[i + 1]), hex_value(bytes[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push(h * 16 + l);
                        i += 3;
                    }
                    _ => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                // Form encoding writes spaces as `+`; a literal plus arrives as `%2B`.
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_url_encoded_documents_once() {
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3A%2A%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D";
        let decoded = decode_document(encoded);
        assert_eq!(
            decoded,
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#
        );
        assert_eq!(decode_document(&decoded), decoded);
        assert_eq!(
            decode_document("%7B%22a%22%3A%22b%2Bc+d%25%22%7D"),
            r#"{"a":"b+c d%"}"#
        );
        assert_eq!(decode_document("%7"), "%7");
    }
}
