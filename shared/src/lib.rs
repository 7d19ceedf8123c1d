//! bucketward: keeps S3 buckets from being public by accident.
//!
//! Data flows one way: event or schedule -> [`snapshot`] (I/O, in [`aws`]) -> [`exposure`]
//! verdict (pure) -> plan (pure) -> apply (I/O) -> audit and notify (I/O).

pub mod action;
pub mod approval;
pub mod audit;
pub mod aws;
pub mod classify;
pub mod config;
pub mod decide;
pub mod event;
pub mod exception;
pub mod exposure;
pub mod git;
pub mod html;
pub mod iac;
pub mod iam;
pub mod logging;
pub mod metrics;
pub mod notify;
pub mod pipeline;
pub mod plan;
pub mod policy;
pub mod report;
pub mod severity;
pub mod snapshot;
pub mod store;
pub mod sweep;

pub use exposure::{evaluate, Finding, Layer, Status, Verdict};
pub use snapshot::Snapshot;
