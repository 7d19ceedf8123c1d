//! Sealing records into the chain and verifying it. Pure: no clock, no I/O.
//!
//! Each entry's `hash` is the SHA-256 of the canonical JSON (see [`super::canonical`]) of every
//! field except `hash` and `signature` -- including `seq` and `prev_hash`, so an entry is bound to
//! its place. `signature` is HMAC-SHA256, with the audit key, of the 64 ASCII hex characters of
//! `hash`. Without the key nobody can write an entry that verifies, so changing a record (even
//! with its hash recomputed), inserting one or renumbering the ones after a deletion all show.
//!
//! What the entries alone cannot show is a cut at the end: deleting the last records leaves a
//! shorter chain that is still valid. The store keeps a separate head item (seq and hash of the
//! last entry), and [`verify_against_head`] catches the cut. Rewriting the head too (a rollback of
//! the whole log to an earlier state) needs a copy of the head kept elsewhere.

use std::collections::HashSet;

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use super::canonical::to_canonical_string;
use super::entry::{AuditDraft, AuditEntry, ChainHead};

/// `prev_hash` of the first entry: 64 zeros.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

type HmacSha256 = Hmac<Sha256>;

/// Why a chain does not verify: the first record at which it goes wrong, and how.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error("the chain does not start at seq 1: its first record is seq {seq}")]
    NotStartingAtOne { seq: u64 },
    #[error("record seq {seq} was modified: its hash does not match its contents")]
    Modified { seq: u64 },
    #[error(
        "record seq {seq} has a bad signature: its hash was rewritten without the audit key, or \
         it was signed with another key"
    )]
    BadSignature { seq: u64 },
    #[error(
        "seq {missing} is missing: record seq {found} follows seq {after} (records were deleted)"
    )]
    Gap {
        missing: u64,
        found: u64,
        after: u64,
    },
    #[error("seq {seq} appears twice (a fork, or an inserted record)")]
    Duplicate { seq: u64 },
    #[error("record seq {found} is out of order: seq {expected} was expected at its place (records were reordered)")]
    OutOfOrder { expected: u64, found: u64 },
    #[error(
        "record seq {seq} does not link to the record before it: its prev_hash is `{found}`, \
         expected `{expected}` (a record was replaced, inserted or spliced in)"
    )]
    BrokenLink {
        seq: u64,
        expected: String,
        found: String,
    },
    #[error("the chain ends at seq {last} but its head is at seq {head} (records after seq {last} were deleted)")]
    Truncated { head: u64, last: u64 },
    #[error("the chain goes on to seq {last} past its head at seq {head} (records were appended without the head)")]
    PastHead { head: u64, last: u64 },
    #[error("record seq {seq} is not the one the head names: its hash differs from the head's")]
    HeadMismatch { seq: u64 },
}

impl ChainError {
    /// The first seq at which the chain is wrong: the bad record's seq, the missing seq for a
    /// gap, the seq expected at the place of a reordered record, the first seq past the end for a
    /// cut.
    pub fn seq(&self) -> u64 {
        match self {
            Self::NotStartingAtOne { .. } => 1,
            Self::Modified { seq }
            | Self::BadSignature { seq }
            | Self::Duplicate { seq }
            | Self::BrokenLink { seq, .. }
            | Self::HeadMismatch { seq } => *seq,
            Self::Gap { missing, .. } => *missing,
            Self::OutOfOrder { expected, .. } => *expected,
            Self::Truncated { last, .. } => last.saturating_add(1),
            Self::PastHead { head, .. } => head.saturating_add(1),
        }
    }
}

/// Seals a draft as the entry after `prev` (the first entry when `None`).
pub fn seal(draft: AuditDraft, prev: Option<&AuditEntry>, key: &[u8]) -> AuditEntry {
    seal_after(draft, prev.map(AuditEntry::head).as_ref(), key)
}

/// Seals a draft as the entry after the chain's head (the first entry when `None`).
pub fn seal_after(draft: AuditDraft, head: Option<&ChainHead>, key: &[u8]) -> AuditEntry {
    let (seq, prev_hash) = match head {
        Some(h) => (h.seq.saturating_add(1), h.hash.clone()),
        None => (1, GENESIS_HASH.to_owned()),
    };
    let mut entry = AuditEntry {
        seq,
        time: draft.time,
        account: draft.account,
        bucket: draft.bucket,
        kind: draft.kind,
        event_id: draft.event_id,
        event_time: draft.event_time,
        payload: draft.payload,
        prev_hash,
        hash: String::new(),
        signature: String::new(),
    };
    entry.hash = content_hash(&entry);
    entry.signature = hex::encode(mac(key, &entry.hash).finalize().into_bytes());
    entry
}

/// The hex SHA-256 of an entry's canonical hashed value (its `hash` when untampered).
pub fn content_hash(entry: &AuditEntry) -> String {
    let canonical = to_canonical_string(&entry.hashed_value());
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

/// Whether `signature` is the audit key's HMAC of `hash` (compared in constant time).
pub fn signature_is_valid(entry: &AuditEntry, key: &[u8]) -> bool {
    hex::decode(&entry.signature).is_ok_and(|sig| mac(key, &entry.hash).verify_slice(&sig).is_ok())
}

/// HMAC-SHA256 keyed with `key`, fed `message`.
///
/// RFC 2104 first brings the key to the block size (64 bytes): a longer key is replaced by its
/// SHA-256, a shorter one is padded with zeros. Doing that here lets the MAC be built from a
/// block-sized key, which cannot fail, and gives the same MAC as any HMAC-SHA256 implementation
/// (checked against RFC 4231 in the tests).
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

/// Verifies a chain given in storage order, which must be ascending seq from 1 (the order is
/// part of what is proven, so it is not sorted here). Reports the first record that is wrong.
///
/// For each record, in this order: its hash matches its contents ([`ChainError::Modified`]), its
/// signature matches its hash ([`ChainError::BadSignature`]), its seq follows the previous one
/// ([`ChainError::NotStartingAtOne`], [`ChainError::Duplicate`], [`ChainError::OutOfOrder`] when
/// the expected seq comes later in the list, [`ChainError::Gap`] when it does not), and its
/// `prev_hash` is the previous record's hash ([`ChainError::BrokenLink`]). An empty chain is
/// valid; whether records are missing at the end is for [`verify_against_head`].
pub fn verify_chain(entries: &[AuditEntry], key: &[u8]) -> Result<(), ChainError> {
    let all_seqs: HashSet<u64> = entries.iter().map(|e| e.seq).collect();
    let mut prev: Option<&AuditEntry> = None;
    for entry in entries {
        let seq = entry.seq;
        if content_hash(entry) != entry.hash {
            return Err(ChainError::Modified { seq });
        }
        if !signature_is_valid(entry, key) {
            return Err(ChainError::BadSignature { seq });
        }
        let expected_prev = match prev {
            None => {
                if seq != 1 {
                    return Err(ChainError::NotStartingAtOne { seq });
                }
                GENESIS_HASH
            }
            Some(p) => {
                // Up to here the chain was exactly 1..=p.seq, so every smaller seq was seen.
                let expected = p.seq.saturating_add(1);
                if seq <= p.seq {
                    return Err(ChainError::Duplicate { seq });
                }
                if seq > expected {
                    return Err(if all_seqs.contains(&expected) {
                        ChainError::OutOfOrder {
                            expected,
                            found: seq,
                        }
                    } else {
                        ChainError::Gap {
                            missing: expected,
                            found: seq,
                            after: p.seq,
                        }
                    });
                }
                p.hash.as_str()
            }
        };
        if entry.prev_hash != expected_prev {
            return Err(ChainError::BrokenLink {
                seq,
                expected: expected_prev.to_owned(),
                found: entry.prev_hash.clone(),
            });
        }
        prev = Some(entry);
    }
    Ok(())
}

/// Checks that a chain (already checked by [`verify_chain`]) ends exactly at the head the store
/// keeps beside it: this is what shows that the last records were deleted. `head_seq` 0 means
/// the store has no head, so the chain must be empty.
pub fn verify_against_head(
    entries: &[AuditEntry],
    head_seq: u64,
    head_hash: &str,
) -> Result<(), ChainError> {
    let last = entries.last().map_or(0, |e| e.seq);
    if last < head_seq {
        return Err(ChainError::Truncated {
            head: head_seq,
            last,
        });
    }
    if last > head_seq {
        return Err(ChainError::PastHead {
            head: head_seq,
            last,
        });
    }
    match entries.last() {
        Some(e) if e.hash != head_hash => Err(ChainError::HeadMismatch { seq: e.seq }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use serde_json::json;

    use super::*;
    use crate::audit::AuditKind;

    const KEY: &[u8] = b"test audit key, 32 bytes or more";

    fn draft(i: u64) -> AuditDraft {
        AuditDraft {
            time: Utc
                .with_ymd_and_hms(2024, 5, 1, 12, 0, 0)
                .unwrap()
                .checked_add_signed(chrono::Duration::seconds(i64::try_from(i).unwrap()))
                .unwrap(),
            account: "123456789012".to_owned(),
            bucket: Some(format!("bucket-{i}")),
            kind: if i.is_multiple_of(2) {
                AuditKind::Detection
            } else {
                AuditKind::Action
            },
            event_id: Some(format!("event-{i}")),
            event_time: None,
            payload: json!({"i": i, "severity": "high", "steps": ["put_bucket_bpa"]}),
        }
    }

    fn chain(n: u64, key: &[u8]) -> Vec<AuditEntry> {
        let mut out: Vec<AuditEntry> = Vec::new();
        for i in 1..=n {
            let entry = seal(draft(i), out.last(), key);
            out.push(entry);
        }
        out
    }

    fn err(entries: &[AuditEntry]) -> ChainError {
        verify_chain(entries, KEY).unwrap_err()
    }

    #[test]
    fn sealed_chains_verify() {
        assert_eq!(verify_chain(&[], KEY), Ok(()));
        let entries = chain(10, KEY);
        assert_eq!(verify_chain(&entries, KEY), Ok(()));
        assert_eq!(entries[0].seq, 1);
        assert_eq!(entries[0].prev_hash, GENESIS_HASH);
        for pair in entries.windows(2) {
            assert_eq!(pair[1].seq, pair[0].seq + 1);
            assert_eq!(pair[1].prev_hash, pair[0].hash);
        }
        let last = entries.last().unwrap();
        assert_eq!(verify_against_head(&entries, last.seq, &last.hash), Ok(()));
        assert_eq!(verify_against_head(&[], 0, ""), Ok(()));
    }

    #[test]
    fn seals_are_deterministic_and_hex() {
        let a = seal(draft(1), None, KEY);
        let b = seal(draft(1), None, KEY);
        assert_eq!(a, b);
        assert_eq!(a.hash.len(), 64);
        assert_eq!(a.signature.len(), 64);
        assert!(a
            .hash
            .chars()
            .chain(a.signature.chars())
            .all(|c| c.is_ascii_hexdigit()));
        assert_eq!(a.hash, a.hash.to_lowercase());
    }

    #[test]
    fn the_hash_is_sha256_of_the_canonical_json_of_the_serialized_entry() {
        // What an auditor's script would do with one line of the export.
        let entry = seal(draft(3), None, KEY);
        let mut v: serde_json::Value = serde_json::to_value(&entry).unwrap();
        let map = v.as_object_mut().unwrap();
        map.remove("hash");
        map.remove("signature");
        let text = to_canonical_string(&v);
        assert!(
            text.starts_with(r#"{"account":"123456789012","bucket":"bucket-3","#),
            "{text}"
        );
        assert_eq!(hex::encode(Sha256::digest(text.as_bytes())), entry.hash);
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 2: a short key.
        assert_eq!(
            hex::encode(
                mac(b"Jefe", "what do ya want for nothing?")
                    .finalize()
                    .into_bytes()
            ),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6: a key longer than the block size is hashed first.
        assert_eq!(
            hex::encode(
                mac(
                    &[0xaa; 131],
                    "Test Using Larger Than Block-Size Key - Hash Key First"
                )
                .finalize()
                .into_bytes()
            ),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
        // A key of exactly the block size is used as it is.
        let mut reference = <HmacSha256 as KeyInit>::new_from_slice(&[7; 64]).unwrap();
        reference.update(b"m");
        assert_eq!(
            mac(&[7; 64], "m").finalize().into_bytes(),
            reference.finalize().into_bytes()
        );
    }

    #[test]
    fn a_modified_payload_is_caught_by_its_hash() {
        let mut entries = chain(10, KEY);
        entries[4].payload["severity"] = json!("low");
        assert_eq!(err(&entries), ChainError::Modified { seq: 5 });
        assert_eq!(err(&entries).seq(), 5);
    }

    #[test]
    fn a_modified_field_is_caught_by_its_hash() {
        let mut entries = chain(10, KEY);
        entries[2].bucket = Some("another-bucket".to_owned());
        assert_eq!(err(&entries), ChainError::Modified { seq: 3 });
        let mut entries = chain(10, KEY);
        entries[2].time += chrono::Duration::milliseconds(1);
        assert_eq!(err(&entries), ChainError::Modified { seq: 3 });
    }

    #[test]
    fn a_consistently_rehashed_record_is_caught_by_its_signature() {
        let mut entries = chain(10, KEY);
        entries[4].payload["severity"] = json!("low");
        entries[4].hash = content_hash(&entries[4]);
        assert_eq!(err(&entries), ChainError::BadSignature { seq: 5 });
        // Re-signing with a guessed key does not help either.
        entries[4].signature = hex::encode(mac(b"guess", &entries[4].hash).finalize().into_bytes());
        assert_eq!(err(&entries), ChainError::BadSignature { seq: 5 });
        // Nor does garbage.
        entries[4].signature = "not hex".to_owned();
        assert_eq!(err(&entries), ChainError::BadSignature { seq: 5 });
    }

    #[test]
    fn another_key_fails_every_record() {
        let entries = chain(3, KEY);
        assert_eq!(
            verify_chain(&entries, b"another key"),
            Err(ChainError::BadSignature { seq: 1 })
        );
    }

    #[test]
    fn a_deleted_middle_record_is_a_gap() {
        let mut entries = chain(10, KEY);
        entries.remove(6);
        let e = err(&entries);
        assert_eq!(
            e,
            ChainError::Gap {
                missing: 7,
                found: 8,
                after: 6
            }
        );
        assert_eq!(e.seq(), 7);
        assert_eq!(
            e.to_string(),
            "seq 7 is missing: record seq 8 follows seq 6 (records were deleted)"
        );
    }

    #[test]
    fn a_deleted_first_record_is_caught() {
        let mut entries = chain(5, KEY);
        entries.remove(0);
        assert_eq!(err(&entries), ChainError::NotStartingAtOne { seq: 2 });
        assert_eq!(err(&entries).seq(), 1);
    }

    #[test]
    fn a_deleted_last_record_is_caught_only_by_the_head() {
        let mut entries = chain(10, KEY);
        let head = entries.last().unwrap().head();
        entries.pop();
        // The shorter chain is valid on its own...
        assert_eq!(verify_chain(&entries, KEY), Ok(()));
        // ...but does not reach the head.
        let e = verify_against_head(&entries, head.seq, &head.hash).unwrap_err();
        assert_eq!(e, ChainError::Truncated { head: 10, last: 9 });
        assert_eq!(e.seq(), 10);
        // Everything deleted.
        assert_eq!(
            verify_against_head(&[], head.seq, &head.hash),
            Err(ChainError::Truncated { head: 10, last: 0 })
        );
    }

    #[test]
    fn a_head_that_names_another_record_is_caught() {
        let entries = chain(4, KEY);
        assert_eq!(
            verify_against_head(&entries, 4, &entries[2].hash),
            Err(ChainError::HeadMismatch { seq: 4 })
        );
        assert_eq!(
            verify_against_head(&entries, 3, &entries[2].hash),
            Err(ChainError::PastHead { head: 3, last: 4 })
        );
    }

    #[test]
    fn reordered_records_are_caught() {
        // Two swapped far apart.
        let mut entries = chain(10, KEY);
        entries.swap(2, 7);
        let e = err(&entries);
        assert_eq!(
            e,
            ChainError::OutOfOrder {
                expected: 3,
                found: 8
            }
        );
        assert_eq!(e.seq(), 3);
        // Two neighbours.
        let mut entries = chain(10, KEY);
        entries.swap(4, 5);
        assert_eq!(
            err(&entries),
            ChainError::OutOfOrder {
                expected: 5,
                found: 6
            }
        );
        // Swapped and renumbered to hide it: the seq is hashed.
        let mut entries = chain(10, KEY);
        entries.swap(4, 5);
        entries[4].seq = 5;
        entries[5].seq = 6;
        assert_eq!(err(&entries), ChainError::Modified { seq: 5 });
    }

    #[test]
    fn a_forged_record_without_the_key_is_caught() {
        let mut entries = chain(10, KEY);
        // A well-formed record after seq 5, sealed with a key the forger made up.
        let forged = seal(draft(99), Some(&entries[4]), b"forger's key");
        assert_eq!(forged.seq, 6);
        entries.insert(5, forged);
        assert_eq!(err(&entries), ChainError::BadSignature { seq: 6 });
    }

    #[test]
    fn an_inserted_record_with_renumbering_is_caught() {
        let mut entries = chain(10, KEY);
        let forged = seal(draft(99), Some(&entries[4]), b"forger's key");
        entries.insert(5, forged);
        for (i, e) in entries.iter_mut().enumerate().skip(6) {
            e.seq = u64::try_from(i).unwrap() + 1;
        }
        assert_eq!(err(&entries), ChainError::BadSignature { seq: 6 });
    }

    #[test]
    fn a_fork_is_a_duplicate_seq() {
        // Two writers both appended after seq 5, with the real key.
        let mut entries = chain(10, KEY);
        let fork = seal(draft(42), Some(&entries[4]), KEY);
        assert_eq!(fork.seq, 6);
        entries.insert(5, fork);
        assert_eq!(err(&entries), ChainError::Duplicate { seq: 6 });
        // The very same record twice.
        let mut entries = chain(5, KEY);
        entries.insert(3, entries[2].clone());
        assert_eq!(err(&entries), ChainError::Duplicate { seq: 3 });
    }

    #[test]
    fn a_record_spliced_from_another_history_breaks_the_link() {
        // Validly signed records whose predecessor is not the one before them: the first 5 of one
        // history followed by the rest of another (same key, same seqs, different contents).
        let ours = chain(10, KEY);
        let mut theirs: Vec<AuditEntry> = Vec::new();
        for i in 1..=10 {
            let mut d = draft(i);
            d.payload["other"] = json!(true);
            let e = seal(d, theirs.last(), KEY);
            theirs.push(e);
        }
        let mut spliced: Vec<AuditEntry> = ours[..5].to_vec();
        spliced.extend_from_slice(&theirs[5..]);
        let e = err(&spliced);
        assert!(
            matches!(&e, ChainError::BrokenLink { seq: 6, expected, found }
                if *expected == ours[4].hash && *found == theirs[4].hash),
            "{e:?}"
        );
        // The first record must link to the genesis hash.
        let mut first = seal(draft(1), None, KEY);
        first.prev_hash = "11".repeat(32);
        first.hash = content_hash(&first);
        first.signature = hex::encode(mac(KEY, &first.hash).finalize().into_bytes());
        assert!(matches!(
            verify_chain(&[first], KEY),
            Err(ChainError::BrokenLink { seq: 1, .. })
        ));
    }

    #[test]
    fn the_first_bad_record_is_reported() {
        let mut entries = chain(10, KEY);
        entries[7].payload = json!("later");
        entries[2].payload = json!("earlier");
        assert_eq!(err(&entries), ChainError::Modified { seq: 3 });
    }

    #[test]
    fn messages_are_lowercase_and_name_the_seq() {
        let errors = [
            ChainError::NotStartingAtOne { seq: 2 },
            ChainError::Modified { seq: 5 },
            ChainError::BadSignature { seq: 5 },
            ChainError::Duplicate { seq: 6 },
            ChainError::OutOfOrder {
                expected: 3,
                found: 8,
            },
            ChainError::Truncated { head: 10, last: 9 },
        ];
        for e in errors {
            let text = e.to_string();
            assert!(text.starts_with(|c: char| c.is_lowercase()), "{text}");
            assert!(text.contains(&format!("seq {}", e.seq())), "{text}");
        }
    }
}
