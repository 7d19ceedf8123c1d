//! The secret key that signs audit records.
//!
//! In AWS the key is a SecureString parameter in SSM Parameter Store (or a Secrets Manager
//! secret) created by the template; the function's configuration hands its value to the process
//! as `BUCKETWARD_AUDIT_KEY`. Locally, export it yourself, e.g. `openssl rand -hex 32`.
//! Anyone holding the key can write records that verify, so only the writers and the auditors'
//! verification tooling may read it.

use super::AuditError;

/// The environment variable the key is read from.
pub const AUDIT_KEY_ENV: &str = "BUCKETWARD_AUDIT_KEY";

/// The shortest key accepted, in bytes.
pub const MIN_KEY_BYTES: usize = 16;

/// Reads the audit key from `BUCKETWARD_AUDIT_KEY` (see [`parse_audit_key`] for the format).
pub fn audit_key_from_env() -> Result<Vec<u8>, AuditError> {
    match std::env::var(AUDIT_KEY_ENV) {
        Ok(value) => parse_audit_key(&value),
        Err(std::env::VarError::NotPresent) => Err(AuditError::MissingKey),
        Err(std::env::VarError::NotUnicode(_)) => Err(AuditError::InvalidKey {
            reason: "it is not valid UTF-8".to_owned(),
        }),
    }
}

/// The key bytes from its text form: surrounding whitespace is ignored; a value made only of
/// hex digits, of even length, is hex (`openssl rand -hex 32`); anything else is taken as raw
/// UTF-8 bytes. At least [`MIN_KEY_BYTES`] bytes are required.
pub fn parse_audit_key(value: &str) -> Result<Vec<u8>, AuditError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(AuditError::MissingKey);
    }
    let is_hex = value.len().is_multiple_of(2) && value.bytes().all(|b| b.is_ascii_hexdigit());
    let key = if is_hex {
        hex::decode(value).map_err(|e| AuditError::InvalidKey {
            reason: e.to_string(),
        })?
    } else {
        value.as_bytes().to_vec()
    };
    if key.len() < MIN_KEY_BYTES {
        return Err(AuditError::InvalidKey {
            reason: format!(
                "it is {} bytes long, at least {MIN_KEY_BYTES} are needed",
                key.len()
            ),
        });
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_values_are_decoded() {
        let key = parse_audit_key(&"0aFf".repeat(8)).unwrap();
        assert_eq!(key.len(), 16);
        assert_eq!(&key[..2], &[0x0a, 0xff]);
    }

    #[test]
    fn other_values_are_raw_bytes_and_whitespace_is_trimmed() {
        let key = parse_audit_key("  correct horse battery staple\n").unwrap();
        assert_eq!(key, b"correct horse battery staple");
        // Odd-length hex digits are raw text, not hex.
        assert_eq!(parse_audit_key(&"a".repeat(33)).unwrap().len(), 33);
    }

    #[test]
    fn empty_and_short_keys_are_refused() {
        assert!(matches!(parse_audit_key("  "), Err(AuditError::MissingKey)));
        let short = parse_audit_key("0011223344").unwrap_err();
        assert!(matches!(short, AuditError::InvalidKey { .. }));
        assert!(short.to_string().contains("5 bytes"), "{short}");
        assert!(matches!(
            parse_audit_key("too short"),
            Err(AuditError::InvalidKey { .. })
        ));
    }
}
