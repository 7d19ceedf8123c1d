//! Which condition keys pin the caller to fixed values ("The meaning of public").

use std::net::{IpAddr, Ipv4Addr};

use super::document::{ConditionBlock, ConditionValue};
use super::public::PolicyKind;

/// The first condition that pins a statement to fixed values, for the finding's explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionPin {
    pub operator: String,
    pub key: String,
}

/// Condition keys whose fixed values make a statement non-public, lower-cased.
const PINNING_KEYS: &[&str] = &[
    "aws:sourceip",
    "aws:sourcearn",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:sourceowner",
    "aws:sourceaccount",
    "s3:x-amz-server-side-encryption-aws-kms-key-id",
    "aws:userid",
    "s3:dataaccesspointarn",
    "s3:dataaccesspointaccount",
];

/// Operators that can pin, lower-cased, after any `ForAnyValue:` prefix.
const PINNING_OPERATORS: &[&str] = &[
    "stringequals",
    "stringequalsignorecase",
    "stringlike",
    "arnequals",
    "arnlike",
    "ipaddress",
];

/// Whether an operator, as written, can pin a key. Negated operators, `Null`, `Bool` and the
/// like pin nothing; neither does `IfExists` (an anonymous request lacks the key) nor
/// `ForAllValues:` (true when the key is absent).
fn operator_can_pin(operator: &str) -> bool {
    let op = operator.to_ascii_lowercase();
    if op.starts_with("forallvalues:") || op.ends_with("ifexists") {
        return false;
    }
    let base = op.strip_prefix("foranyvalue:").unwrap_or(&op);
    PINNING_OPERATORS.contains(&base)
}

/// Returns the first (operator, key) of the block that pins the statement to fixed values.
pub fn condition_pins(block: &ConditionBlock, kind: PolicyKind) -> Option<ConditionPin> {
    for (operator, keys) in block {
        if !operator_can_pin(operator) {
            continue;
        }
        for (key, values) in keys {
            let key_lc = key.to_ascii_lowercase();
            if !PINNING_KEYS.contains(&key_lc.as_str()) {
                continue;
            }
            let values = values.as_slice();
            if !values.is_empty() && values.iter().all(|v| value_is_fixed(&key_lc, v, kind)) {
                return Some(ConditionPin {
                    operator: operator.clone(),
                    key: key.clone(),
                });
            }
        }
    }
    None
}

fn has_wildcard_or_variable(s: &str) -> bool {
    s.contains(['*', '?']) || s.contains("${")
}

fn value_is_fixed(key_lc: &str, value: &ConditionValue, kind: PolicyKind) -> bool {
    let text = value.as_text();
    let text = text.as_ref();
    if text.is_empty() {
        return false;
    }
    match key_lc {
        "aws:sourceip" => source_ip_is_fixed(text),
        "aws:userid" => match text.split_once(':') {
            // `AROLEID:*`: a fixed unique id followed by any session name.
            Some((id, "*")) => !id.is_empty() && !has_wildcard_or_variable(id),
            _ => !has_wildcard_or_variable(text),
        },
        "s3:dataaccesspointarn" if kind == PolicyKind::Bucket => {
            // `arn:aws:s3:REGION:ACCOUNT:accesspoint/*` is fixed in a bucket policy when
            // everything but the access point name is.
            match text.strip_suffix("accesspoint/*") {
                Some(prefix) => {
                    let parts: Vec<&str> = prefix.split(':').collect();
                    parts.len() == 6
                        && parts[0] == "arn"
                        && parts[2] == "s3"
                        && parts[5].is_empty()
                        && parts[..5]
                            .iter()
                            .all(|p| !p.is_empty() && !has_wildcard_or_variable(p))
                }
                None => !has_wildcard_or_variable(text),
            }
        }
        _ => !has_wildcard_or_variable(text),
    }
}

/// RFC1918 private ranges.
const RFC1918: [(Ipv4Addr, u8); 3] = [
    (Ipv4Addr::new(10, 0, 0, 0), 8),
    (Ipv4Addr::new(172, 16, 0, 0), 12),
    (Ipv4Addr::new(192, 168, 0, 0), 16),
];

/// A CIDR (or bare address) pins the caller unless it is broader than /8 (IPv4) or /32 (IPv6),
/// RFC1918 ranges excepted. Anything that is not an address pins nothing.
fn source_ip_is_fixed(text: &str) -> bool {
    let (addr, prefix) = match text.trim().split_once('/') {
        Some((addr, prefix)) => match prefix.parse::<u8>() {
            Ok(p) => (addr, Some(p)),
            Err(_) => return false,
        },
        None => (text.trim(), None),
    };
    match addr.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => {
            let prefix = prefix.unwrap_or(32);
            if prefix > 32 {
                return false;
            }
            prefix >= 8
                || RFC1918
                    .iter()
                    .any(|&(net, len)| prefix >= len && mask_v4(v4, len) == net)
        }
        Ok(IpAddr::V6(_)) => {
            let prefix = prefix.unwrap_or(128);
            (32..=128).contains(&prefix)
        }
        Err(_) => false,
    }
}

fn mask_v4(addr: Ipv4Addr, len: u8) -> Ipv4Addr {
    let bits = u32::from(addr);
    let mask = if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len))
    };
    Ipv4Addr::from(bits & mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_ip_breadth() {
        for fixed in [
            "44.0.0.0/8",
            "203.0.113.0/24",
            "192.0.2.1",
            "10.0.0.0/8",
            "172.16.0.0/12",
            "2001:db8::/32",
            "2001:db8:1234::/48",
        ] {
            assert!(source_ip_is_fixed(fixed), "{fixed}");
        }
        for broad in [
            "0.0.0.0/0",
            "8.0.0.0/7",
            "::/0",
            "2001:db8::/16",
            "not-an-ip",
            "10.0.0.0/33",
            "1.2.3.4/x",
        ] {
            assert!(!source_ip_is_fixed(broad), "{broad}");
        }
    }

    #[test]
    fn operators() {
        assert!(operator_can_pin("StringEquals"));
        assert!(operator_can_pin("ForAnyValue:StringLike"));
        assert!(operator_can_pin("stringequalsignorecase"));
        assert!(!operator_can_pin("StringNotEquals"));
        assert!(!operator_can_pin("StringEqualsIfExists"));
        assert!(!operator_can_pin("ForAllValues:StringEquals"));
        assert!(!operator_can_pin("Null"));
        assert!(!operator_can_pin("Bool"));
    }
}
