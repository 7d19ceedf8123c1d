//! Co-pilot approvals: signed, expiring links that let a person decide one proposal, and the
//! pure changes a decision makes to the proposal record. Pure apart from [`issue`], which reads
//! the clock and the system's random source. Single use is enforced by the token ledger in
//! `aws::approvals`, which also holds the approve and reject flows.
//!
//! # Token text form
//!
//! `<payload>.<signature>`, where
//! - `payload` is the claims as compact JSON, base64url-encoded without padding:
//!   `{"action_id":"act-…","expires_at":1767225600,"nonce":"<32 hex digits>"}`;
//! - `signature` is the lowercase hex HMAC-SHA256 of the `payload` *text* under the approval key.
//!
//! Signing the encoded text (not the JSON re-serialized) means verification never depends on
//! how JSON is written. Every character is URL-safe (`A-Z a-z 0-9 - _ .`), so a token goes into
//! a query string as it is. A token lets its holder approve or reject the proposal it names, once,
//! until `expires_at`; it grants nothing else.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::action::{ActionRecord, Outcome, Review};
use crate::plan::PlanOptions;
use crate::policy::ExposureKinds;

type HmacSha256 = Hmac<Sha256>;

/// Random bytes in a nonce (128 bits).
pub const NONCE_BYTES: usize = 16;
/// The shortest approval key accepted, in bytes.
pub const MIN_KEY_BYTES: usize = 16;
/// Longer texts are not tokens (a cheap bound before any decoding).
const MAX_TOKEN_CHARS: usize = 2048;

/// What a valid token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claims {
    /// The proposal (a co-pilot action record) the token lets its holder decide.
    pub action_id: String,
    /// Unix seconds; the token is refused from this second on.
    pub expires_at: i64,
    /// 32 lowercase hex digits; the ledger records it when the token is used.
    pub nonce: String,
}

/// Why a token was refused (or could not be made).
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Not a token at all: truncated, wrong shape, bad encoding.
    #[error("the approval token is malformed: {0}")]
    Malformed(&'static str),
    /// Well-formed, but not signed with our key (forged or altered).
    #[error("the approval token's signature is not valid")]
    BadSignature,
    /// Genuine, but too late.
    #[error("the approval token expired at {}", expiry_text(*.expires_at))]
    Expired { expires_at: i64 },
    /// The system's random source failed while issuing.
    #[error("no randomness for the approval token's nonce: {0}")]
    Randomness(#[source] getrandom::Error),
}

fn expiry_text(expires_at: i64) -> String {
    DateTime::<Utc>::from_timestamp(expires_at, 0)
        .map_or_else(|| expires_at.to_string(), |t| t.to_rfc3339())
}

/// Why an approval key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the approval key is {bytes} bytes long; at least {MIN_KEY_BYTES} are needed (use `openssl rand -hex 32`)")]
    TooShort { bytes: usize },
}

/// Reads an approval key: an even number (at least 32) of hex digits is decoded as hex (`openssl
/// rand -hex 32` gives 32 bytes); anything else is used as raw UTF-8 bytes. Surrounding
/// whitespace is ignored. Whoever issues tokens must read the key the same way.
pub fn parse_key(text: &str) -> Result<Vec<u8>, KeyError> {
    let text = text.trim();
    let key = if text.len() >= 2 * MIN_KEY_BYTES && text.len().is_multiple_of(2) {
        hex::decode(text).unwrap_or_else(|_| text.as_bytes().to_vec())
    } else {
        text.as_bytes().to_vec()
    };
    if key.len() < MIN_KEY_BYTES {
        return Err(KeyError::TooShort { bytes: key.len() });
    }
    Ok(key)
}

/// Issues a token for `action_id`, valid for `ttl` from now, with a fresh random nonce.
pub fn issue(action_id: &str, ttl: std::time::Duration, key: &[u8]) -> Result<String, TokenError> {
    let mut nonce = [0u8; NONCE_BYTES];
    getrandom::fill(&mut nonce).map_err(TokenError::Randomness)?;
    let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
    let claims = Claims {
        action_id: action_id.to_owned(),
        expires_at: Utc::now().timestamp().saturating_add(ttl),
        nonce: hex::encode(nonce),
    };
    Ok(sign(&claims, key))
}

/// The token text for `claims` (deterministic: [`issue`] picks the nonce and the expiry).
pub fn sign(claims: &Claims, key: &[u8]) -> String {
    let json = serde_json::json!({
        "action_id": claims.action_id,
        "expires_at": claims.expires_at,
        "nonce": claims.nonce,
    });
    let payload = URL_SAFE_NO_PAD.encode(json.to_string());
    let signature = hex::encode(mac(key, &payload).finalize().into_bytes());
    format!("{payload}.{signature}")
}

/// Checks a token: its shape, then its signature (in constant time), then its claims and expiry.
/// Forged and altered tokens are [`TokenError::BadSignature`] whatever they claim.
pub fn verify(token: &str, key: &[u8], now: DateTime<Utc>) -> Result<Claims, TokenError> {
    let token = token.trim();
    if token.is_empty() || token.len() > MAX_TOKEN_CHARS {
        return Err(TokenError::Malformed("wrong length"));
    }
    let Some((payload, signature)) = token.split_once('.') else {
        return Err(TokenError::Malformed("no signature"));
    };
    let signature =
        hex::decode(signature).map_err(|_| TokenError::Malformed("the signature is not hex"))?;
    if signature.len() != <Sha256 as Digest>::output_size() {
        return Err(TokenError::Malformed("the signature has the wrong length"));
    }
    mac(key, payload)
        .verify_slice(&signature)
        .map_err(|_| TokenError::BadSignature)?;
    let json = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| TokenError::Malformed("the payload is not base64url"))?;
    let claims: Claims = serde_json::from_slice(&json)
        .map_err(|_| TokenError::Malformed("the payload is not valid claims"))?;
    let nonce_ok = claims.nonce.len() == 2 * NONCE_BYTES
        && claims
            .nonce
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if claims.action_id.is_empty() || !nonce_ok {
        return Err(TokenError::Malformed("the claims are incomplete"));
    }
    if now.timestamp() >= claims.expires_at {
        return Err(TokenError::Expired {
            expires_at: claims.expires_at,
        });
    }
    Ok(claims)
}

/// The link a person follows: `{base_url}?token=…` (or `&token=…` when the base has a query).
pub fn approval_url(base_url: &str, token: &str) -> String {
    let separator = if base_url.contains('?') { '&' } else { '?' };
    format!("{base_url}{separator}token={token}")
}

/// HMAC-SHA256 keyed with `key`, fed `message`. RFC 2104 brings the key to the block size first
/// (hashed when longer, zero-padded when shorter); doing it here makes building the MAC
/// infallible, with the same result as any HMAC-SHA256 (checked against RFC 4231 below).
fn mac(key: &[u8], message: &str) -> HmacSha256 {
    let mut block = hmac::digest::Key::<HmacSha256>::default();
    if key.len() > block.len() {
        let digest = Sha256::digest(key);
        block[..digest.len()].copy_from_slice(&digest);
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut mac = <HmacSha256 as KeyInit>::new(&block);
    mac.update(message.as_bytes());
    mac
}

/// Why a proposal cannot be decided.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProposalError {
    #[error("proposal `{0}` not found")]
    Unknown(String),
    #[error("`{action_id}` is no longer pending: it is {outcome}")]
    NotPending { action_id: String, outcome: String },
}

/// The record, if it is a proposal still waiting for a decision.
pub fn pending(
    action_id: &str,
    record: Option<ActionRecord>,
) -> Result<ActionRecord, ProposalError> {
    let record = record.ok_or_else(|| ProposalError::Unknown(action_id.to_owned()))?;
    if record.outcome != Outcome::Proposed {
        let outcome = serde_json::to_value(record.outcome)
            .ok()
            .and_then(|v| v.as_str().map(|s| s.replace('_', " ")))
            .unwrap_or_default();
        return Err(ProposalError::NotPending {
            action_id: action_id.to_owned(),
            outcome,
        });
    }
    Ok(record)
}

/// How an approved proposal is re-planned: `defaults` (the deployment's plan options), with the
/// exposure the proposal was told to keep (an exception's allowance). Records written before the
/// allowance was recorded re-plan with none allowed.
pub fn replan_options(proposal: &ActionRecord, defaults: PlanOptions) -> PlanOptions {
    PlanOptions {
        allowed: proposal.allowed.unwrap_or(ExposureKinds::NONE),
        // Proposals never include the account setting (autopilot alone applies it), so an
        // approval does not either.
        account_bpa: false,
        ..defaults
    }
}

/// The proposal, marked approved; `review.applied_action_id` names the action that applied it.
pub fn approved(mut proposal: ActionRecord, review: Review) -> ActionRecord {
    proposal.outcome = Outcome::Approved;
    proposal.review = Some(review);
    proposal
}

/// The proposal, marked rejected. Nothing else changes.
pub fn rejected(mut proposal: ActionRecord, review: Review) -> ActionRecord {
    proposal.outcome = Outcome::Rejected;
    proposal.review = Some(review);
    proposal
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";
    const OTHER_KEY: &[u8] = b"fedcba9876543210fedcba9876543210";

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn claims(expires_at: i64) -> Claims {
        Claims {
            action_id: "act-20260101T000000Z-0123abcd".to_owned(),
            expires_at,
            nonce: "00112233445566778899aabbccddeeff".to_owned(),
        }
    }

    fn valid() -> Claims {
        claims(now().timestamp() + 3600)
    }

    /// Re-encodes a token's payload with `change` applied, keeping the original signature.
    fn tampered(token: &str, change: impl FnOnce(&mut serde_json::Value)) -> String {
        let (payload, signature) = token.split_once('.').unwrap();
        let mut json: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        change(&mut json);
        format!("{}.{signature}", URL_SAFE_NO_PAD.encode(json.to_string()))
    }

    #[test]
    fn a_signed_token_round_trips_and_is_url_safe() {
        let token = sign(&valid(), KEY);
        assert!(token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)));
        assert_eq!(verify(&token, KEY, now()).unwrap(), valid());
        let url = approval_url("https://x.lambda-url.us-east-1.on.aws/", &token);
        assert_eq!(
            url,
            format!("https://x.lambda-url.us-east-1.on.aws/?token={token}")
        );
        assert!(approval_url("https://h/a?x=1", &token).starts_with("https://h/a?x=1&token="));
    }

    #[test]
    fn issued_tokens_verify_and_have_fresh_nonces() {
        let a = issue("act-1", std::time::Duration::from_secs(600), KEY).unwrap();
        let b = issue("act-1", std::time::Duration::from_secs(600), KEY).unwrap();
        let (ca, cb) = (
            verify(&a, KEY, Utc::now()).unwrap(),
            verify(&b, KEY, Utc::now()).unwrap(),
        );
        assert_eq!(ca.action_id, "act-1");
        assert_eq!(ca.nonce.len(), 32);
        assert_ne!(ca.nonce, cb.nonce);
        assert!((ca.expires_at - Utc::now().timestamp() - 600).abs() <= 2);
    }

    #[test]
    fn forged_tokens_are_refused_as_bad_signatures() {
        let token = sign(&valid(), KEY);
        let other_action = tampered(&token, |j| j["action_id"] = "act-someone-else".into());
        let later = tampered(&token, |j| {
            j["expires_at"] = (now().timestamp() + 99_999).into()
        });
        let (payload, signature) = token.split_once('.').unwrap();
        let mut flipped = signature.to_owned().into_bytes();
        flipped[0] = if flipped[0] == b'0' { b'1' } else { b'0' };
        let flipped = format!("{payload}.{}", String::from_utf8(flipped).unwrap());
        for forged in [
            other_action,
            later,
            flipped,
            sign(&valid(), OTHER_KEY),
            // Not even base64 once the signature is checked first.
            format!("!!!!.{signature}"),
        ] {
            assert!(
                matches!(verify(&forged, KEY, now()), Err(TokenError::BadSignature)),
                "{forged}"
            );
        }
    }

    #[test]
    fn expired_tokens_are_refused_from_their_expiry_second() {
        let at = now().timestamp();
        let token = sign(&claims(at), KEY);
        let err = verify(&token, KEY, now()).unwrap_err();
        assert!(matches!(err, TokenError::Expired { expires_at } if expires_at == at));
        assert!(err.to_string().contains("2026-01-01T00:00:00"), "{err}");
        assert!(verify(&sign(&claims(at + 1), KEY), KEY, now()).is_ok());
    }

    #[test]
    fn malformed_tokens_are_refused_as_malformed() {
        let token = sign(&valid(), KEY);
        let (payload, signature) = token.split_once('.').unwrap();
        let long = "a".repeat(3000);
        for bad in [
            "",
            "   ",
            "garbage",
            payload,
            &format!("{payload}."),
            &format!("{payload}.zz{}", &signature[2..]),
            &format!("{payload}.{}", &signature[..40]),
            &long,
        ] {
            assert!(
                matches!(verify(bad, KEY, now()), Err(TokenError::Malformed(_))),
                "{bad}"
            );
        }
        // Correctly signed, but not claims: still malformed, never accepted.
        let not_claims = |json: &str| {
            let payload = URL_SAFE_NO_PAD.encode(json);
            let signature = hex::encode(mac(KEY, &payload).finalize().into_bytes());
            format!("{payload}.{signature}")
        };
        for json in [
            "[]",
            r#"{"action_id":"a","expires_at":9999999999}"#,
            r#"{"action_id":"","expires_at":9999999999,"nonce":"00112233445566778899aabbccddeeff"}"#,
            r#"{"action_id":"a","expires_at":9999999999,"nonce":"short"}"#,
            r#"{"action_id":"a","expires_at":9999999999,"nonce":"00112233445566778899aabbccddeeff","admin":true}"#,
        ] {
            assert!(
                matches!(
                    verify(&not_claims(json), KEY, now()),
                    Err(TokenError::Malformed(_))
                ),
                "{json}"
            );
        }
    }

    #[test]
    fn keys_are_hex_or_raw_and_not_too_short() {
        let hex_key = "00".repeat(32);
        assert_eq!(parse_key(&format!(" {hex_key}\n")).unwrap(), vec![0u8; 32]);
        assert_eq!(
            parse_key("correct horse battery staple").unwrap(),
            b"correct horse battery staple"
        );
        assert_eq!(
            parse_key("short").unwrap_err(),
            KeyError::TooShort { bytes: 5 }
        );
        // A key given as hex and as its raw bytes signs the same tokens.
        let raw = parse_key(&hex::encode(KEY)).unwrap();
        assert_eq!(sign(&valid(), &raw), sign(&valid(), KEY));
    }

    /// A proposal as the pipeline stores it, read from JSON so that new optional fields of
    /// `ActionRecord` do not break the test.
    fn proposal(outcome: &str, allowed: Option<ExposureKinds>) -> ActionRecord {
        let snapshot = crate::Snapshot {
            bucket: "b".to_owned(),
            ..crate::Snapshot::default()
        };
        let mut json = serde_json::json!({
            "action_id": "act-1",
            "bucket": "b",
            "account_id": "123456789012",
            "started_at": now(),
            "finished_at": now(),
            "outcome": outcome,
            "before": crate::action::PreChangeState::of(&snapshot, "123456789012", now()),
            "verdict_before": crate::evaluate(&snapshot),
            "plan": crate::plan::Plan::default(),
            "applied": [],
        });
        if let Some(allowed) = allowed {
            json["allowed"] = serde_json::to_value(allowed).unwrap();
        }
        serde_json::from_value(json).unwrap()
    }

    fn review() -> Review {
        Review {
            by: "alice".to_owned(),
            at: now(),
            via: "cli".to_owned(),
            reason: Some("a public website".to_owned()),
            as_exception: true,
            applied_action_id: None,
        }
    }

    #[test]
    fn only_pending_proposals_can_be_decided() {
        assert_eq!(
            pending("act-1", None).unwrap_err(),
            ProposalError::Unknown("act-1".to_owned())
        );
        assert!(pending("act-1", Some(proposal("proposed", None))).is_ok());
        for (outcome, text) in [
            ("approved", "approved"),
            ("rejected", "rejected"),
            ("fixed", "fixed"),
            ("nothing_to_do", "nothing to do"),
        ] {
            let err = pending("act-1", Some(proposal(outcome, None))).unwrap_err();
            assert_eq!(
                err,
                ProposalError::NotPending {
                    action_id: "act-1".to_owned(),
                    outcome: text.to_owned()
                }
            );
        }
    }

    #[test]
    fn decisions_mark_the_proposal_and_keep_everything_else() {
        let before = proposal("proposed", None);
        let yes = approved(before.clone(), review());
        assert_eq!(yes.outcome, Outcome::Approved);
        assert_eq!(yes.review, Some(review()));
        assert_eq!(yes.plan, before.plan);
        let no = rejected(before.clone(), review());
        assert_eq!(no.outcome, Outcome::Rejected);
        assert_eq!(no.before, before.before);
        // The review survives a round trip through the stored JSON.
        let stored: ActionRecord =
            serde_json::from_str(&serde_json::to_string(&no).unwrap()).unwrap();
        assert_eq!(stored, no);
    }

    #[test]
    fn replanning_keeps_the_proposal_allowance() {
        let defaults = PlanOptions {
            enforce_ownership: true,
            ..PlanOptions::default()
        };
        let read = ExposureKinds {
            read: true,
            ..ExposureKinds::NONE
        };
        let options = replan_options(&proposal("proposed", Some(read)), defaults);
        assert_eq!(options.allowed, read);
        assert!(options.enforce_ownership);
        let old = replan_options(&proposal("proposed", None), defaults);
        assert_eq!(old.allowed, ExposureKinds::NONE);
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 2: a key shorter than the block; test case 6: a key longer than the block.
        let short = mac(b"Jefe", "what do ya want for nothing?")
            .finalize()
            .into_bytes();
        assert_eq!(
            hex::encode(short),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let long = mac(
            &[0xaa; 131],
            "Test Using Larger Than Block-Size Key - Hash Key First",
        )
        .finalize()
        .into_bytes();
        assert_eq!(
            hex::encode(long),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }
}
