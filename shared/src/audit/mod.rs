//! The tamper-evident audit trail: every detection, proposal, decision, action, verification,
//! rollback, exception change and pull request, as a hash chain signed with a secret key.
//!
//! - [`entry`]: the record ([`AuditDraft`] in, [`AuditEntry`] out).
//! - [`canonical`]: the deterministic JSON the hashes are computed over.
//! - [`chain`]: sealing and verification (pure): [`seal`], [`verify_chain`],
//!   [`verify_against_head`].
//! - [`export`]: JSON Lines and CSV for auditors.
//! - [`key`]: the signing key, from `BUCKETWARD_AUDIT_KEY`.
//! - [`AuditLog`]: where the chain is kept; [`MemoryAuditLog`] for tests, [`DynamoAuditLog`] in
//!   AWS (one chain per account, appended with a conditional transaction so concurrent writers
//!   never fork it).

pub mod canonical;
pub mod chain;
pub mod dynamo;
pub mod entry;
pub mod export;
pub mod key;
pub mod memory;
pub mod store;

pub use chain::{
    content_hash, seal, seal_after, verify_against_head, verify_chain, ChainError, GENESIS_HASH,
};
pub use dynamo::{create_table, DynamoAuditLog};
pub use entry::{AuditDraft, AuditEntry, AuditKind, ChainHead};
pub use export::{export_csv, export_jsonl};
pub use key::{audit_key_from_env, parse_audit_key, AUDIT_KEY_ENV};
pub use memory::MemoryAuditLog;

use crate::aws::error::AwsError;

/// Why the audit log could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(
        "the audit key is not set: set `BUCKETWARD_AUDIT_KEY` (hex, or at least 16 characters)"
    )]
    MissingKey,
    #[error("the audit key in `BUCKETWARD_AUDIT_KEY` is not usable: {reason}")]
    InvalidKey { reason: String },
    #[error("this audit log keeps the chain of account `{log}`, not of `{draft}`")]
    WrongAccount { log: String, draft: String },
    #[error(
        "could not append to the audit chain of account `{account}`: {attempts} attempts lost \
         the race to other writers"
    )]
    Contention { account: String, attempts: u32 },
    #[error(
        "the audit chain of account `{account}` is inconsistent: an entry already holds seq {seq} \
         but the head is at seq {head}; the table was changed outside bucketward, verify the chain"
    )]
    HeadBehind {
        account: String,
        seq: u64,
        head: u64,
    },
    #[error("audit item `{item}` is not valid: {reason}")]
    InvalidItem { item: String, reason: String },
    #[error("audit item `{item}` does not hold a valid entry: {source}")]
    Decode {
        item: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("audit chain does not verify: {0}")]
    Chain(#[from] ChainError),
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error("audit log error: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Where the chain is kept. Implementations seal each draft after the current last entry and
/// never let two appends take the same seq.
pub trait AuditLog: Send + Sync {
    /// Seals a draft as the next entry and stores it; returns the stored entry.
    fn append(
        &self,
        draft: AuditDraft,
    ) -> impl std::future::Future<Output = Result<AuditEntry, AuditError>> + Send;
    /// Every entry, in storage order (ascending seq when untampered).
    fn entries(
        &self,
    ) -> impl std::future::Future<Output = Result<Vec<AuditEntry>, AuditError>> + Send;
}
