//! Adapts a Function URL request to the shared approve and reject flows, and their results to
//! an HTML page. Every answer is an HTTP response (never a Lambda error, which the Function URL
//! would turn into a bare 502).
//!
//! A request carries `token` (query or body), and optionally `decision=approve|reject`
//! (default approve), `reason` and `as_exception=true` for a rejection. The token is checked
//! (403 when forged or expired, 400 when damaged), then used up (403 when used before), and
//! only then is the proposal decided (404 unknown, 409 already decided). A refused token changes
//! nothing; a decision that failed before changing anything gives the token back.

use bucketward::action::{ActionRecord, Outcome};
use bucketward::approval::{self, Claims, ProposalError, TokenError};
use bucketward::audit::store::AuditedStore;
use bucketward::audit::DynamoAuditLog;
use bucketward::aws::approvals::{
    approve_proposal, reject_proposal, Approval, DecisionError, DynamoTokenLedger, Reviewer,
};
use bucketward::aws::dynamo::DynamoActionStore;
use bucketward::aws::remediate::Remediator;
use bucketward::aws::s3::SnapshotReader;
use bucketward::aws::sns::SnsNotifier;
use bucketward::aws::Clients;
use bucketward::notify::{Notification, Notifier};
use bucketward::store::{ActionStore, StoreError};
use chrono::{DateTime, Utc};
use lambda_runtime::{Error, LambdaEvent};
use serde_json::Value;
use tracing::Instrument;

use crate::config::ApproverConfig;
use crate::http::{escape, page, Request};

/// Built once per cold start.
pub struct State {
    pub clients: Clients,
    pub account_id: String,
    /// Proposals and actions, each saved record also appended to the audit chain (when keyed).
    pub store: AuditedStore<DynamoActionStore, DynamoAuditLog>,
    pub ledger: DynamoTokenLedger,
    pub notifier: TopicNotifier,
    pub config: ApproverConfig,
}

/// Decisions are notified when a topic is configured.
pub enum TopicNotifier {
    Sns(SnsNotifier),
    Off,
}

impl Notifier for TopicNotifier {
    async fn publish(&self, n: &Notification) -> Result<(), StoreError> {
        match self {
            Self::Sns(s) => s.publish(n).await,
            Self::Off => Ok(()),
        }
    }
}

pub async fn handle(state: &State, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let span = tracing::info_span!("request", request_id = %event.context.request_id);
    let request = Request::from_payload(&event.payload);
    Ok(respond(state, &request).instrument(span).await)
}

enum Decision {
    Approve,
    Reject {
        reason: Option<String>,
        as_exception: bool,
    },
}

async fn respond(state: &State, request: &Request) -> Value {
    if !matches!(request.method.as_str(), "GET" | "POST") {
        return page(
            405,
            "Method not allowed",
            "<p>Open the approval link, or use its form.</p>",
        );
    }
    let Some(token) = request.param("token") else {
        return page(
            400,
            "No approval token",
            "<p>This address decides co-pilot proposals, and needs the <code>token</code> of an \
             approval link. Nothing was changed.</p>",
        );
    };
    let decision = match request.param("decision").unwrap_or("approve") {
        "approve" => Decision::Approve,
        "reject" => Decision::Reject {
            reason: request.text_param("reason"),
            as_exception: request
                .param("as_exception")
                .is_some_and(|v| matches!(v, "true" | "1" | "yes" | "on")),
        },
        _ => {
            return page(
                400,
                "Unknown decision",
                "<p>The decision must be <code>approve</code> or <code>reject</code>. Nothing \
                 was changed.</p>",
            )
        }
    };
    let claims = match approval::verify(token, &state.config.key, Utc::now()) {
        Ok(claims) => claims,
        Err(e) => {
            tracing::warn!(error = %e, "approval token refused");
            return refused(&e);
        }
    };
    if state.config.confirm_get && request.method == "GET" {
        return confirm(state, &claims, token).await;
    }
    match state.ledger.consume(&claims.nonce, claims.expires_at).await {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!(proposal = %claims.action_id, "approval link replayed");
            return page(
                403,
                "This approval link was already used",
                "<p>Each approval link works once, and this one was used before. Nothing was \
                 changed now.</p>",
            );
        }
        Err(e) => {
            tracing::error!(proposal = %claims.action_id, error = %e, "token ledger unavailable");
            return page(
                503,
                "Please try again",
                "<p>The link could not be checked just now. Nothing was changed, and the link \
                 still works.</p>",
            );
        }
    }
    let reviewer = Reviewer {
        by: request.approver(),
        via: "approval-link".to_owned(),
    };
    tracing::info!(proposal = %claims.action_id, by = %reviewer.by, "deciding");
    let result = match decision {
        Decision::Approve => Box::pin(approve_proposal(
            // A fresh reader per request: account BPA is cached per reader.
            &Remediator::new(SnapshotReader::new(
                state.clients.clone(),
                &state.account_id,
            )),
            &state.store,
            &state.notifier,
            &claims.action_id,
            &reviewer,
            state.config.approve,
        ))
        .await
        .map(|a| approved_page(&a)),
        Decision::Reject {
            reason,
            as_exception,
        } => reject_proposal(
            &state.store,
            &state.notifier,
            &claims.action_id,
            &reviewer,
            reason,
            as_exception,
        )
        .await
        .map(|r| rejected_page(&r)),
    };
    match result {
        Ok(page) => page,
        Err(e) => failed(state, &claims, &e).await,
    }
}

/// The page for a token that [`approval::verify`] refused.
fn refused(e: &TokenError) -> Value {
    match e {
        TokenError::Malformed(_) => page(
            400,
            "This approval link is damaged",
            "<p>The link is incomplete or damaged (mail programs sometimes break long links). \
             Open the whole link from the notification. Nothing was changed.</p>",
        ),
        TokenError::BadSignature => page(
            403,
            "This approval link is not valid",
            "<p>The link was not issued by bucketward, or it was altered. Nothing was \
             changed.</p>",
        ),
        TokenError::Expired { expires_at } => page(
            403,
            "This approval link has expired",
            &format!(
                "<p>The link expired at {}. Nothing was changed; the proposal can still be \
                 decided with <code>bucketward approve</code> or <code>bucketward \
                 reject</code>.</p>",
                escape(&time_text(*expires_at))
            ),
        ),
        TokenError::Randomness(_) => page(500, "Internal error", "<p>Nothing was changed.</p>"),
    }
}

fn time_text(unix: i64) -> String {
    DateTime::<Utc>::from_timestamp(unix, 0).map_or_else(|| unix.to_string(), |t| t.to_rfc2822())
}

fn proposal_error_page(e: &ProposalError) -> Value {
    match e {
        ProposalError::Unknown(id) => page(
            404,
            "Unknown proposal",
            &format!(
                "<p>There is no proposal <code>{}</code>. Nothing was changed.</p>",
                escape(id)
            ),
        ),
        ProposalError::NotPending { action_id, outcome } => page(
            409,
            "This proposal was already decided",
            &format!(
                "<p>Proposal <code>{}</code> is no longer waiting for a decision: it is {}. \
                 Nothing was changed.</p>",
                escape(action_id),
                escape(outcome)
            ),
        ),
    }
}

/// The page for a decision that failed after the token was used up.
async fn failed(state: &State, claims: &Claims, e: &DecisionError) -> Value {
    if let DecisionError::Proposal(p) = e {
        tracing::warn!(proposal = %claims.action_id, error = %e, "proposal not decidable");
        return proposal_error_page(p);
    }
    tracing::error!(proposal = %claims.action_id, error = %e, "decision failed");
    if !e.changed_nothing() {
        return page(
            500,
            "The decision was only partly recorded",
            &format!(
                "<p>The fix ran, but proposal <code>{}</code> could not be marked as decided. \
                 Check the audit table before deciding again.</p>",
                escape(&claims.action_id)
            ),
        );
    }
    // Nothing changed: give the token back, so that the same link can be tried again.
    match state.ledger.release(&claims.nonce).await {
        Ok(()) => page(
            503,
            "Please try again",
            "<p>The decision could not be made just now. Nothing was changed, and the link \
             still works.</p>",
        ),
        Err(release) => {
            tracing::error!(proposal = %claims.action_id, error = %release, "token not released");
            page(
                503,
                "Please try again later",
                &format!(
                    "<p>The decision could not be made just now, and nothing was changed. This \
                     link cannot be used again: decide with <code>bucketward approve {}</code> \
                     or <code>bucketward reject {}</code>.</p>",
                    escape(&claims.action_id),
                    escape(&claims.action_id)
                ),
            )
        }
    }
}

/// A GET in confirm mode: the proposal, and buttons that POST the decision.
async fn confirm(state: &State, claims: &Claims, token: &str) -> Value {
    let proposal = match state.store.load(&claims.action_id).await {
        Ok(record) => match approval::pending(&claims.action_id, record) {
            Ok(p) => p,
            Err(e) => return proposal_error_page(&e),
        },
        Err(e) => {
            tracing::error!(proposal = %claims.action_id, error = %e, "proposal not readable");
            return page(
                503,
                "Please try again",
                "<p>The proposal could not be read just now. Nothing was changed.</p>",
            );
        }
    };
    let token = escape(token);
    let body = format!(
        "<p>bucketward proposes to fix public bucket <code>{bucket}</code>:</p>\n{steps}\n\
         <p>The bucket is read again before anything is applied.</p>\n\
         <form method=\"post\"><input type=\"hidden\" name=\"token\" value=\"{token}\">\
         <input type=\"hidden\" name=\"decision\" value=\"approve\">\
         <button type=\"submit\">Approve and apply</button></form>\n\
         <form method=\"post\"><input type=\"hidden\" name=\"token\" value=\"{token}\">\
         <input type=\"hidden\" name=\"decision\" value=\"reject\">\
         <p><label>Reason <input name=\"reason\" required maxlength=\"500\"></label> \
         <label><input type=\"checkbox\" name=\"as_exception\" value=\"true\"> the bucket is \
         meant to be public</label></p><button type=\"submit\">Reject</button></form>\n\
         <p>Proposal <code>{id}</code>. The link works once.</p>",
        bucket = escape(&proposal.bucket),
        steps = list(proposal.plan.steps.iter().map(|s| s.summary.as_str())),
        id = escape(&proposal.action_id),
    );
    page(200, "Approve this fix?", &body)
}

fn outcome_text(outcome: Outcome) -> String {
    serde_json::to_value(outcome)
        .ok()
        .and_then(|v| v.as_str().map(|s| s.replace('_', " ")))
        .unwrap_or_default()
}

fn list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let items: Vec<String> = items.map(|i| format!("<li>{}</li>", escape(i))).collect();
    if items.is_empty() {
        "<p>(no step)</p>".to_owned()
    } else {
        format!("<ol>{}</ol>", items.concat())
    }
}

fn approved_page(a: &Approval) -> Value {
    let applied = &a.applied;
    let bucket = escape(&applied.bucket);
    let (status, title) = match applied.outcome {
        Outcome::Fixed => (200, format!("Approved: {} is fixed", applied.bucket)),
        Outcome::NothingToDo => (
            200,
            format!("Approved: nothing left to change on {}", applied.bucket),
        ),
        Outcome::Gone => (
            200,
            format!("Approved: {} no longer exists", applied.bucket),
        ),
        _ => (
            500,
            format!(
                "Approved, but the fix did not fully work on {}",
                applied.bucket
            ),
        ),
    };
    let mut body = format!(
        "<p>Bucket <code>{bucket}</code>: <strong>{}</strong>.</p>\n",
        escape(&outcome_text(applied.outcome))
    );
    if applied.applied.is_empty() {
        body.push_str("<p>No step was applied.</p>\n");
    } else {
        body.push_str("<p>Steps applied:</p>\n");
        body.push_str(&list(applied.applied.iter().map(String::as_str)));
        body.push('\n');
    }
    if a.replanned {
        body.push_str(
            "<p>The bucket had changed since the proposal, so the fix was planned again from \
             its current state.</p>\n",
        );
    }
    if let Some(f) = &applied.failure {
        body.push_str(&format!(
            "<p>Failed step: {} ({}): {}</p>\n",
            escape(&f.step),
            escape(&f.code),
            escape(&f.message)
        ));
    }
    for lost in &applied.lost {
        body.push_str(&format!("<p>Problem: {}</p>\n", escape(lost)));
    }
    let by = a
        .proposal
        .review
        .as_ref()
        .map(|r| r.by.as_str())
        .unwrap_or_default();
    body.push_str(&format!(
        "<p>Approved by <code>{}</code>. Proposal <code>{}</code>, applied as action \
         <code>{}</code>.</p>\n",
        escape(by),
        escape(&a.proposal.action_id),
        escape(&applied.action_id)
    ));
    if !applied.applied.is_empty() {
        body.push_str(&format!(
            "<p>To undo: <code>bucketward rollback {}</code></p>\n",
            escape(&applied.action_id)
        ));
    }
    page(status, &title, &body)
}

fn rejected_page(proposal: &ActionRecord) -> Value {
    let review = proposal.review.as_ref();
    let reason = review
        .and_then(|r| r.reason.as_deref())
        .map(|r| format!("<p>Reason: {}</p>\n", escape(r)))
        .unwrap_or_default();
    let exception = if review.is_some_and(|r| r.as_exception) {
        "<p>Recorded as meant to be public.</p>\n"
    } else {
        ""
    };
    let body = format!(
        "<p>Bucket <code>{}</code> was left as it is; nothing was changed.</p>\n{reason}{exception}\
         <p>Rejected by <code>{}</code>. Proposal <code>{}</code>.</p>",
        escape(&proposal.bucket),
        escape(review.map(|r| r.by.as_str()).unwrap_or_default()),
        escape(&proposal.action_id)
    );
    page(
        200,
        &format!("Rejected: {} left as it is", proposal.bucket),
        &body,
    )
}
