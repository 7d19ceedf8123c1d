//! An audit log in memory, for unit tests of the pipeline.

use std::sync::Mutex;

use super::chain::seal;
use super::entry::{AuditDraft, AuditEntry};
use super::{AuditError, AuditLog};

/// One chain kept in memory; appends are serialized by a lock, so they never fork.
#[derive(Debug)]
pub struct MemoryAuditLog {
    key: Vec<u8>,
    entries: Mutex<Vec<AuditEntry>>,
}

impl MemoryAuditLog {
    pub fn new(key: impl Into<Vec<u8>>) -> Self {
        Self {
            key: key.into(),
            entries: Mutex::default(),
        }
    }
}

impl AuditLog for MemoryAuditLog {
    async fn append(&self, draft: AuditDraft) -> Result<AuditEntry, AuditError> {
        let mut entries = self
            .entries
            .lock()
            .map_err(|e| AuditError::Backend(e.to_string().into()))?;
        let entry = seal(draft, entries.last(), &self.key);
        entries.push(entry.clone());
        Ok(entry)
    }

    async fn entries(&self) -> Result<Vec<AuditEntry>, AuditError> {
        Ok(self
            .entries
            .lock()
            .map_err(|e| AuditError::Backend(e.to_string().into()))?
            .clone())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::audit::{verify_chain, AuditKind};

    const KEY: &[u8] = b"memory log test key 0123456789";

    #[tokio::test]
    async fn appends_chain_and_verify() {
        let log = MemoryAuditLog::new(KEY);
        assert!(log.entries().await.unwrap().is_empty());
        for i in 0..5 {
            let entry = log
                .append(
                    AuditDraft::new("123456789012", AuditKind::Detection, json!({"i": i}))
                        .with_bucket("b"),
                )
                .await
                .unwrap();
            assert_eq!(entry.seq, i + 1);
        }
        let entries = log.entries().await.unwrap();
        assert_eq!(entries.len(), 5);
        assert_eq!(verify_chain(&entries, KEY), Ok(()));
    }

    #[tokio::test]
    async fn concurrent_appends_do_not_fork() {
        let log = std::sync::Arc::new(MemoryAuditLog::new(KEY));
        let mut tasks = Vec::new();
        for t in 0..4 {
            let log = log.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..10 {
                    log.append(AuditDraft::new("1", AuditKind::Action, json!([t, i])))
                        .await
                        .unwrap();
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let entries = log.entries().await.unwrap();
        assert_eq!(entries.len(), 40);
        assert_eq!(verify_chain(&entries, KEY), Ok(()));
    }
}
