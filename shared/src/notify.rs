//! Notifications a person can read in email and a program can parse: a readable subject and a
//! JSON body that starts with a one-line summary.

use serde::Serialize;
use serde_json::{json, Value};

use crate::action::{ActionRecord, Outcome};
use crate::store::StoreError;

/// A message for the notification topic.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notification {
    /// At most 100 characters, one line (SNS's limit for email subjects).
    pub subject: String,
    pub body: Value,
    /// For subscription filter policies.
    pub attributes: Vec<(String, String)>,
}

/// Publishes notifications.
pub trait Notifier: Send + Sync {
    fn publish(
        &self,
        notification: &Notification,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
}

/// Keeps notifications in memory, for unit tests.
#[derive(Debug, Default)]
pub struct MemoryNotifier {
    pub sent: std::sync::Mutex<Vec<Notification>>,
}

impl Notifier for MemoryNotifier {
    async fn publish(&self, notification: &Notification) -> Result<(), StoreError> {
        self.sent
            .lock()
            .map_err(|e| StoreError::Backend(e.to_string().into()))?
            .push(notification.clone());
        Ok(())
    }
}

fn outcome_name(outcome: Outcome) -> String {
    serde_json::to_value(outcome)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Fits a subject into SNS's limit: one line, at most 100 characters.
fn subject_line(text: &str) -> String {
    let line: String = text.chars().filter(|c| !c.is_control()).collect();
    if line.chars().count() <= 100 {
        line
    } else {
        let cut: String = line.chars().take(99).collect();
        format!("{cut}…")
    }
}

fn severity_tag(record: &ActionRecord) -> String {
    record
        .severity
        .map_or_else(String::new, |s| format!(" ({s})"))
}

/// The notification for an action record.
pub fn for_action(record: &ActionRecord) -> Notification {
    for_action_with_link(record, None)
}

/// The notification for an action record; a co-pilot proposal carries its approval link.
pub fn for_action_with_link(record: &ActionRecord, approval_link: Option<&str>) -> Notification {
    let bucket = &record.bucket;
    let plan = record.plan.summary();
    let (subject, summary) = match record.outcome {
        Outcome::Fixed => (
            format!(
                "bucketward fixed public bucket {bucket}{}",
                severity_tag(record)
            ),
            format!(
                "Public bucket {bucket} was fixed: {}.",
                record.applied.join("; ")
            ),
        ),
        Outcome::Proposed => (
            format!("bucketward proposes a fix for public bucket {bucket}"),
            format!(
                "Public bucket detected: {bucket}. Proposed fix: {plan}. Approve: {}",
                approval_link.map_or_else(
                    || format!("bucketward approve {}", record.action_id),
                    str::to_owned
                )
            ),
        ),
        Outcome::PullRequest => {
            let url = record
                .pull_request
                .as_ref()
                .map_or("(no link)", |p| p.url.as_str());
            (
                format!(
                    "bucketward opened a pull request for public bucket {bucket}{}",
                    severity_tag(record)
                ),
                format!("Public bucket detected: {bucket}. The fix is in code review: {url}. Live plan: {plan}."),
            )
        }
        Outcome::DryRun => (
            format!("bucketward found public bucket {bucket} (dry run)"),
            format!("Public bucket detected: {bucket}. Would: {plan}."),
        ),
        Outcome::Failed | Outcome::Unverified => (
            format!("bucketward could not fully fix public bucket {bucket}"),
            format!(
                "Public bucket {bucket}: fix {}. Applied: {}. {}",
                outcome_name(record.outcome),
                if record.applied.is_empty() {
                    "nothing".to_owned()
                } else {
                    record.applied.join("; ")
                },
                record
                    .failure
                    .as_ref()
                    .map(|f| format!("Failed: {} ({}).", f.step, f.message))
                    .unwrap_or_else(|| record.lost.join("; "))
            ),
        ),
        Outcome::Approved | Outcome::Rejected => {
            let review = record.review.as_ref();
            let by = review.map(|r| format!(" by {}", r.by)).unwrap_or_default();
            let reason = review
                .and_then(|r| r.reason.as_deref())
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            (
                format!(
                    "bucketward: fix for {bucket} {}",
                    outcome_name(record.outcome)
                ),
                format!(
                    "The proposed fix for {bucket} was {}{by}{reason}.",
                    outcome_name(record.outcome)
                ),
            )
        }
        Outcome::NothingToDo | Outcome::Gone => (
            format!("bucketward: {bucket} needs nothing"),
            format!("Bucket {bucket}: {}.", outcome_name(record.outcome)),
        ),
    };
    let findings: Vec<Value> = record
        .verdict_before
        .findings
        .iter()
        .filter(|f| f.status != crate::exposure::Status::Info)
        .map(
            |f| json!({"layer": f.layer, "code": f.code, "status": f.status, "message": f.message}),
        )
        .collect();
    let body = json!({
        "summary": summary,
        "bucket": bucket,
        "account": record.account_id,
        "outcome": record.outcome,
        "severity": record.severity,
        "intent": record.classification.as_ref().map(|c| c.intent),
        "exception": record.exception,
        "mode": record.mode,
        "action_id": record.action_id,
        "exposure": record.verdict_before.exposure,
        "latent": record.verdict_before.latent,
        "findings": findings,
        "plan": record.plan.steps.iter().map(|s| &s.summary).collect::<Vec<_>>(),
        "applied": record.applied,
        "failure": record.failure,
        "trigger": record.trigger,
        "rollback": format!("bucketward rollback {}", record.action_id),
        "approve": approval_link,
    });
    Notification {
        subject: subject_line(&subject),
        body,
        attributes: vec![
            ("bucket".to_owned(), bucket.clone()),
            ("outcome".to_owned(), outcome_name(record.outcome)),
            (
                "severity".to_owned(),
                record
                    .severity
                    .map_or_else(|| "none".to_owned(), |s| s.to_string()),
            ),
        ],
    }
}
