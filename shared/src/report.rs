//! The SOC 2 evidence report: figures computed from the audit trail, for auditors. Pure: the
//! caller reads the chain, the exceptions and the clock.
//!
//! [`build_report`] turns audit entries (the payloads written by
//! [`draft_for`](crate::audit::store::draft_for)) and the exceptions into an [`EvidenceReport`];
//! [`render_markdown`] and [`render_html`] lay it out, and `serde_json` writes it as JSON.
//!
//! # How the figures are counted
//!
//! The trail is read in chain order, bucket by bucket (per account). An *exposure* starts at the
//! first detection or proposal for a bucket and ends when a record says it is fixed, gone, left
//! as it is by a rejection, or no longer needs a change; the next detection starts a new one.
//!
//! - **MTTR**: from the earliest known moment of the exposure that a fix closed (the CloudTrail
//!   event time when an event triggered it, else when bucketward first detected it, the record's
//!   `started_at`) to the `finished_at` of the action whose decision is `fixed`. Counted for fixes
//!   finished in the period, overall and by the fixing action's mode; a fix with no mode is a
//!   manual `bucketward remediate`.
//! - **Detection latency**: `started_at` of the first detection or proposal of an action minus
//!   its CloudTrail event time, for event-triggered actions detected in the period.
//! - **Recurrence**: buckets fixed in the period that were detected public again afterwards (a
//!   detection or proposal of another action), over the buckets fixed in the period.
//! - **False positives**: proposals rejected as meant to be public (the rejection's `review`
//!   says `as_exception`) over the proposals reviewed (approved or rejected) in the period.
//! - **Open proposals**: every proposal in the trail with no approval or rejection, whatever its
//!   age.
//! - **Percentiles** are nearest-rank ([`nearest_rank`]): the value at rank ⌈p/100 · n⌉ of the
//!   sorted samples, always one of the samples. Durations below zero (clock skew between
//!   CloudTrail and the function) count as zero.

mod html;
mod markdown;
mod svg;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::action::Outcome;
use crate::audit::{AuditEntry, AuditKind};
use crate::classify::Intent;
use crate::decide::Mode;
use crate::exception::Exception;
use crate::severity::Severity;

pub use html::render_html;
pub use markdown::render_markdown;

/// Exceptions expiring within this many days are listed for renewal or removal.
pub const EXPIRY_WARNING_DAYS: i64 = 14;

/// Whether the audit chain verified when the report was built.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainStatus {
    pub verified: bool,
    /// The records read from the chain (all of them, not only the period's).
    pub records: usize,
    /// Why it did not verify (the first bad record), or `None`.
    pub detail: Option<String>,
}

/// Everything the report says, in the order the renderers show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvidenceReport {
    pub generated_at: DateTime<Utc>,
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    /// The accounts whose records were read.
    pub accounts: Vec<String>,
    /// Audit records written in the period.
    pub records_in_period: usize,
    /// The same, by kind (every kind, zeros included).
    pub records_by_kind: Vec<Count>,
    pub chain: ChainStatus,
    /// Preventive (CC6.1, CC6.6): the exceptions, and fixes that turned Block Public Access on.
    pub exceptions: ExceptionSummary,
    pub fixes_enabling_bpa: usize,
    /// Detective (CC7.1, CC7.2).
    pub detection: DetectionSummary,
    /// Exposures first detected in the period, by their worst severity.
    pub by_severity: Vec<Count>,
    /// Exposures first detected in the period, by intent category.
    pub by_intent: Vec<Count>,
    /// Corrective (CC7.3, CC7.4).
    pub mttr: Mttr,
    /// Action records in the period, by decision.
    pub outcomes: Vec<Count>,
    pub rollbacks: usize,
    pub recurrence: Recurrence,
    /// Fixes per UTC day, every day of the period (zeros included).
    pub fixes_per_day: Vec<DayCount>,
    /// Change management (CC8.1).
    pub false_positives: FalsePositives,
    pub open_proposals: Vec<OpenProposal>,
    /// What a reader must know to weigh the figures (gaps in the data).
    pub notes: Vec<String>,
}

/// A count of samples and their nearest-rank p50 and p90, in seconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stat {
    pub count: usize,
    pub p50_seconds: Option<f64>,
    pub p90_seconds: Option<f64>,
}

/// Time to remediate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mttr {
    /// Fixes finished in the period.
    pub fixes: usize,
    pub overall: Stat,
    /// autopilot, copilot and dry-run always (dry-run never fixes), then manual when present.
    pub by_mode: Vec<ModeStat>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModeStat {
    pub mode: String,
    #[serde(flatten)]
    pub stat: Stat,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DetectionSummary {
    /// Exposures first detected in the period.
    pub exposures: usize,
    /// Of those, detected from a CloudTrail event.
    pub from_events: usize,
    /// Of those, detected without an event: the scheduled sweep or a manual run.
    pub from_sweeps: usize,
    /// CloudTrail event to detection, for event-triggered actions.
    pub latency: Stat,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recurrence {
    /// Buckets with a fix in the period.
    pub fixed_buckets: usize,
    /// Of those, buckets detected public again after such a fix.
    pub recurred_buckets: usize,
    pub rate: Option<f64>,
    /// The recurring buckets (`account/bucket` when the trail spans several accounts).
    pub buckets: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FalsePositives {
    /// Proposals approved or rejected in the period.
    pub reviewed: usize,
    pub approved: usize,
    pub rejected: usize,
    /// Rejections saying the bucket is meant to be public.
    pub rejected_as_intended: usize,
    /// Rejections whose record does not say either way (counted as not false positives).
    pub rejections_without_review: usize,
    /// `rejected_as_intended / reviewed`.
    pub rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Count {
    pub name: String,
    pub count: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayCount {
    pub day: NaiveDate,
    pub fixes: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenProposal {
    pub action_id: String,
    pub account: String,
    pub bucket: String,
    pub proposed_at: DateTime<Utc>,
    pub severity: Option<String>,
    pub age_seconds: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExceptionSummary {
    pub total: usize,
    /// Not expired.
    pub active: usize,
    /// Expiring within [`EXPIRY_WARNING_DAYS`] days, soonest first.
    pub expiring_soon: Vec<ExceptionRow>,
    /// Expired but still in the table, most recently expired first.
    pub expired: Vec<ExceptionRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExceptionRow {
    pub bucket: String,
    pub allows: Vec<String>,
    pub owner: String,
    pub approved_by: String,
    pub reason: String,
    pub expires_at: DateTime<Utc>,
    /// Whole days from the report's time to the expiry (negative once expired).
    pub days_left: i64,
}

/// The nearest-rank percentile of sorted values: the value at 1-based rank ⌈p/100 · n⌉, i.e. the
/// smallest value with at least `p` % of the values at or below it. `None` for no values; `p` is
/// capped at 100.
pub fn nearest_rank(sorted: &[i64], p: usize) -> Option<i64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let rank = (p.min(100) * n).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

impl Stat {
    /// The statistics of durations in milliseconds.
    fn of_millis(mut millis: Vec<i64>) -> Self {
        millis.sort_unstable();
        let seconds = |p| nearest_rank(&millis, p).map(|ms| ms as f64 / 1000.0);
        Self {
            count: millis.len(),
            p50_seconds: seconds(50),
            p90_seconds: seconds(90),
        }
    }
}

/// Builds the report for records written from `since` to `now` (both included).
pub fn build_report(
    entries: &[AuditEntry],
    exceptions: &[Exception],
    chain: ChainStatus,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> EvidenceReport {
    let mut trail = Trail::new(since, now);
    let mut ordered: Vec<&AuditEntry> = entries.iter().collect();
    ordered.sort_by_key(|e| e.seq);
    for entry in ordered {
        trail.read(entry);
    }
    trail.finish(exceptions, chain)
}

/// The fields of a payload the report reads.
struct Fields<'a> {
    action_id: Option<&'a str>,
    decision: Option<Outcome>,
    mode: Option<Mode>,
    severity: Option<Severity>,
    intent: Option<Intent>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
}

impl<'a> Fields<'a> {
    fn of(payload: &'a Value) -> Self {
        Self {
            action_id: payload.get("action_id").and_then(Value::as_str),
            decision: field(payload, "decision"),
            mode: field(payload, "mode"),
            severity: field(payload, "severity"),
            intent: field(payload, "intent"),
            started_at: field(payload, "started_at"),
            finished_at: field(payload, "finished_at"),
        }
    }
}

/// A payload field as a typed value; `None` when absent, null or not understood.
fn field<T: DeserializeOwned>(payload: &Value, name: &str) -> Option<T> {
    payload
        .get(name)
        .filter(|v| !v.is_null())
        .and_then(|v| T::deserialize(v).ok())
}

/// The name serde gives a value (`public-content`, `dry-run`, `nothing_to_do`).
fn name_of<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// What a rejection says about the bucket being meant to be public: `None` when it does not say.
fn rejected_as_intended(payload: &Value) -> Option<bool> {
    payload
        .get("review")
        .and_then(|r| r.get("as_exception"))
        .or_else(|| payload.get("as_exception"))
        .and_then(Value::as_bool)
}

fn millis_between(from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    (to - from).num_milliseconds().max(0)
}

/// One exposure of one bucket.
struct Exposure {
    /// The earliest known moment of the change that made the bucket public.
    start: DateTime<Utc>,
    /// First detected in the period.
    in_period: bool,
    from_event: bool,
    severity: Option<Severity>,
    intent: Option<Intent>,
}

#[derive(Default)]
struct BucketState {
    /// The exposure still open, as an index into `Trail::exposures`.
    open: Option<usize>,
    /// The action of the last fix in the period, while no detection has followed it.
    fixed_by: Option<String>,
    fixed_in_period: bool,
    recurred: bool,
}

/// The walk through the trail: what has been seen so far.
struct Trail {
    since: DateTime<Utc>,
    now: DateTime<Utc>,
    accounts: BTreeSet<String>,
    records_by_kind: HashMap<AuditKind, usize>,
    buckets: BTreeMap<(String, String), BucketState>,
    exposures: Vec<Exposure>,
    /// Actions whose detection latency was taken (the first detection or proposal only).
    detected_actions: HashSet<String>,
    detection_latency: Vec<i64>,
    /// Fix durations by mode name.
    fixes: Vec<(String, i64)>,
    fix_days: BTreeMap<NaiveDate, usize>,
    fixes_enabling_bpa: usize,
    /// Action records in the period by decision name (`Outcome` is not `Hash`).
    outcomes: HashMap<String, usize>,
    rollbacks: usize,
    /// Proposals: action id -> (account, bucket, time, severity).
    proposals: BTreeMap<String, (String, String, DateTime<Utc>, Option<Severity>)>,
    decided: HashSet<String>,
    approved_in_period: BTreeSet<String>,
    rejected_in_period: BTreeSet<String>,
    rejected_as_intended: BTreeSet<String>,
    rejections_without_review: BTreeSet<String>,
}

impl Trail {
    fn new(since: DateTime<Utc>, now: DateTime<Utc>) -> Self {
        Self {
            since,
            now,
            accounts: BTreeSet::new(),
            records_by_kind: HashMap::new(),
            buckets: BTreeMap::new(),
            exposures: Vec::new(),
            detected_actions: HashSet::new(),
            detection_latency: Vec::new(),
            fixes: Vec::new(),
            fix_days: BTreeMap::new(),
            fixes_enabling_bpa: 0,
            outcomes: HashMap::new(),
            rollbacks: 0,
            proposals: BTreeMap::new(),
            decided: HashSet::new(),
            approved_in_period: BTreeSet::new(),
            rejected_in_period: BTreeSet::new(),
            rejected_as_intended: BTreeSet::new(),
            rejections_without_review: BTreeSet::new(),
        }
    }

    fn in_period(&self, time: DateTime<Utc>) -> bool {
        self.since <= time && time <= self.now
    }

    fn read(&mut self, entry: &AuditEntry) {
        self.accounts.insert(entry.account.clone());
        let in_period = self.in_period(entry.time);
        if in_period {
            *self.records_by_kind.entry(entry.kind).or_default() += 1;
        }
        let fields = Fields::of(&entry.payload);
        match entry.kind {
            AuditKind::Detection | AuditKind::Proposal => self.detection(entry, &fields),
            // A git-mode pull request is the detection and the outcome: the bucket stays
            // public until the change is merged and applied.
            AuditKind::Pr => {
                self.detection(entry, &fields);
                if let (true, Some(decision)) = (in_period, fields.decision) {
                    *self.outcomes.entry(name_of(&decision)).or_default() += 1;
                }
            }
            AuditKind::Action => self.action(entry, &fields),
            AuditKind::Approval | AuditKind::Rejection => self.review(entry, &fields),
            AuditKind::Rollback if in_period => self.rollbacks += 1,
            _ => {}
        }
    }

    fn bucket(&mut self, entry: &AuditEntry) -> Option<&mut BucketState> {
        bucket_state(&mut self.buckets, entry)
    }

    fn detection(&mut self, entry: &AuditEntry, fields: &Fields<'_>) {
        let detected_at = fields.started_at.unwrap_or(entry.time);
        let detected_in_period = self.in_period(detected_at);
        if let Some(action_id) = fields.action_id {
            if entry.kind == AuditKind::Proposal {
                self.proposals.insert(
                    action_id.to_owned(),
                    (
                        entry.account.clone(),
                        entry.bucket.clone().unwrap_or_default(),
                        entry.time,
                        fields.severity,
                    ),
                );
            }
            if self.detected_actions.insert(action_id.to_owned()) && detected_in_period {
                if let Some(event_time) = entry.event_time {
                    self.detection_latency
                        .push(millis_between(event_time, detected_at));
                }
            }
        }
        let start = entry.event_time.unwrap_or(detected_at).min(detected_at);
        let next = self.exposures.len();
        let Some(state) = bucket_state(&mut self.buckets, entry) else {
            return;
        };
        if state
            .fixed_by
            .as_deref()
            .is_some_and(|fix| Some(fix) != fields.action_id)
        {
            state.recurred = true;
            state.fixed_by = None;
        }
        let index = match state.open {
            Some(index) => index,
            None => {
                state.open = Some(next);
                self.exposures.push(Exposure {
                    start,
                    in_period: detected_in_period,
                    from_event: entry.event_time.is_some(),
                    severity: None,
                    intent: None,
                });
                next
            }
        };
        if let Some(exposure) = self.exposures.get_mut(index) {
            exposure.start = exposure.start.min(start);
            exposure.severity = exposure.severity.max(fields.severity);
            exposure.intent = exposure.intent.or(fields.intent);
        }
    }

    fn action(&mut self, entry: &AuditEntry, fields: &Fields<'_>) {
        let Some(decision) = fields.decision else {
            return;
        };
        if self.in_period(entry.time) {
            *self.outcomes.entry(name_of(&decision)).or_default() += 1;
        }
        let fixed_at = fields.finished_at.unwrap_or(entry.time);
        let fix_in_period = decision == Outcome::Fixed && self.in_period(fixed_at);
        if fix_in_period {
            let applied = entry.payload.get("steps_applied").and_then(Value::as_array);
            if applied.is_some_and(|steps| {
                steps
                    .iter()
                    .filter_map(Value::as_str)
                    .any(|s| s.contains("Block Public Access"))
            }) {
                self.fixes_enabling_bpa += 1;
            }
            *self.fix_days.entry(fixed_at.date_naive()).or_default() += 1;
        }
        let fallback_start = fields.started_at.unwrap_or(entry.time);
        let Some(state) = bucket_state(&mut self.buckets, entry) else {
            return;
        };
        let open = state
            .open
            .and_then(|i| self.exposures.get(i))
            .map(|e| e.start);
        match decision {
            Outcome::Fixed => {
                let start = [entry.event_time, open]
                    .into_iter()
                    .flatten()
                    .min()
                    .unwrap_or(fallback_start);
                state.open = None;
                if fix_in_period {
                    state.fixed_by = fields.action_id.map(str::to_owned);
                    state.fixed_in_period = true;
                    let mode = fields
                        .mode
                        .map_or_else(|| "manual".to_owned(), |m| name_of(&m));
                    self.fixes.push((mode, millis_between(start, fixed_at)));
                }
            }
            Outcome::Gone | Outcome::NothingToDo => state.open = None,
            _ => {}
        }
    }

    fn review(&mut self, entry: &AuditEntry, fields: &Fields<'_>) {
        let Some(action_id) = fields.action_id else {
            return;
        };
        self.decided.insert(action_id.to_owned());
        let in_period = self.in_period(entry.time);
        if entry.kind == AuditKind::Rejection {
            if let Some(state) = self.bucket(entry) {
                state.open = None;
            }
        }
        if !in_period {
            return;
        }
        if entry.kind == AuditKind::Approval {
            self.approved_in_period.insert(action_id.to_owned());
            return;
        }
        self.rejected_in_period.insert(action_id.to_owned());
        match rejected_as_intended(&entry.payload) {
            Some(true) => {
                self.rejected_as_intended.insert(action_id.to_owned());
            }
            Some(false) => {}
            None => {
                self.rejections_without_review.insert(action_id.to_owned());
            }
        }
    }

    fn finish(self, exceptions: &[Exception], chain: ChainStatus) -> EvidenceReport {
        let now = self.now;
        let multi_account = self.accounts.len() > 1;

        let mut by_mode = Vec::new();
        for mode in [Mode::Autopilot, Mode::Copilot, Mode::DryRun] {
            by_mode.push(name_of(&mode));
        }
        if self.fixes.iter().any(|(m, _)| m == "manual") {
            by_mode.push("manual".to_owned());
        }
        let by_mode = by_mode
            .into_iter()
            .map(|mode| {
                let millis = self
                    .fixes
                    .iter()
                    .filter(|(m, _)| *m == mode)
                    .map(|(_, ms)| *ms)
                    .collect();
                ModeStat {
                    mode,
                    stat: Stat::of_millis(millis),
                }
            })
            .collect();
        let mttr = Mttr {
            fixes: self.fixes.len(),
            overall: Stat::of_millis(self.fixes.iter().map(|(_, ms)| *ms).collect()),
            by_mode,
        };

        let exposures: Vec<&Exposure> = self.exposures.iter().filter(|e| e.in_period).collect();
        let from_events = exposures.iter().filter(|e| e.from_event).count();
        let detection = DetectionSummary {
            exposures: exposures.len(),
            from_events,
            from_sweeps: exposures.len() - from_events,
            latency: Stat::of_millis(self.detection_latency),
        };
        let by_severity = counts(
            &[
                Severity::Critical,
                Severity::High,
                Severity::Medium,
                Severity::Info,
            ],
            exposures.iter().map(|e| e.severity),
            "unrecorded",
        );
        let by_intent = counts(
            &[
                Intent::PublicContent,
                Intent::SensitiveData,
                Intent::Unknown,
            ],
            exposures.iter().map(|e| e.intent),
            "unclassified",
        );

        let fixed: Vec<_> = self
            .buckets
            .iter()
            .filter(|(_, s)| s.fixed_in_period)
            .collect();
        let recurred: Vec<String> = fixed
            .iter()
            .filter(|(_, s)| s.recurred)
            .map(|((account, bucket), _)| {
                if multi_account {
                    format!("{account}/{bucket}")
                } else {
                    bucket.clone()
                }
            })
            .collect();
        let recurrence = Recurrence {
            fixed_buckets: fixed.len(),
            recurred_buckets: recurred.len(),
            rate: ratio(recurred.len(), fixed.len()),
            buckets: recurred,
        };

        let reviewed = self
            .approved_in_period
            .union(&self.rejected_in_period)
            .count();
        let false_positives = FalsePositives {
            reviewed,
            approved: self.approved_in_period.len(),
            rejected: self.rejected_in_period.len(),
            rejected_as_intended: self.rejected_as_intended.len(),
            rejections_without_review: self.rejections_without_review.len(),
            rate: ratio(self.rejected_as_intended.len(), reviewed),
        };

        let mut open_proposals: Vec<OpenProposal> = self
            .proposals
            .into_iter()
            .filter(|(id, (_, _, at, _))| !self.decided.contains(id) && *at <= now)
            .map(
                |(action_id, (account, bucket, at, severity))| OpenProposal {
                    action_id,
                    account,
                    bucket,
                    proposed_at: at,
                    severity: severity.map(|s| name_of(&s)),
                    age_seconds: (now - at).num_seconds().max(0),
                },
            )
            .collect();
        open_proposals.sort_by_key(|p| p.proposed_at);

        let mut fixes_per_day = Vec::new();
        let mut day = self.since.date_naive();
        while day <= now.date_naive() {
            fixes_per_day.push(DayCount {
                day,
                fixes: self.fix_days.get(&day).copied().unwrap_or(0),
            });
            let Some(next) = day.succ_opt() else { break };
            day = next;
        }

        // Pull requests (git mode) are listed only where there are some.
        let outcomes = [
            Outcome::Fixed,
            Outcome::Unverified,
            Outcome::Failed,
            Outcome::Gone,
            Outcome::NothingToDo,
            Outcome::PullRequest,
        ]
        .iter()
        .map(|o| {
            let name = name_of(o);
            let count = self.outcomes.get(&name).copied().unwrap_or(0);
            Count { name, count }
        })
        .filter(|c| c.count > 0 || c.name != name_of(&Outcome::PullRequest))
        .collect();
        let records_by_kind: Vec<Count> = [
            AuditKind::Detection,
            AuditKind::Proposal,
            AuditKind::Approval,
            AuditKind::Rejection,
            AuditKind::Action,
            AuditKind::Verification,
            AuditKind::Rollback,
            AuditKind::ExceptionChange,
            AuditKind::Pr,
        ]
        .iter()
        .map(|k| Count {
            name: k.as_str().to_owned(),
            count: self.records_by_kind.get(k).copied().unwrap_or(0),
        })
        .collect();

        let mut notes = Vec::new();
        if !chain.verified {
            notes.push(format!(
                "The audit chain did not verify ({}). The figures are computed from the records \
                 as stored and are not evidence until the break is explained.",
                chain.detail.as_deref().unwrap_or("no detail")
            ));
        }
        let unknown = false_positives.rejections_without_review;
        if unknown > 0 {
            notes.push(format!(
                "{unknown} rejection record(s) do not say whether the bucket is meant to be public \
                 (no `review.as_exception` in the payload); they count as reviewed but not as \
                 false positives."
            ));
        }

        EvidenceReport {
            generated_at: now,
            since: self.since,
            until: now,
            accounts: self.accounts.into_iter().collect(),
            records_in_period: records_by_kind.iter().map(|c| c.count).sum(),
            records_by_kind,
            chain,
            exceptions: summarize_exceptions(exceptions, now),
            fixes_enabling_bpa: self.fixes_enabling_bpa,
            detection,
            by_severity,
            by_intent,
            mttr,
            outcomes,
            rollbacks: self.rollbacks,
            recurrence,
            fixes_per_day,
            false_positives,
            open_proposals,
            notes,
        }
    }
}

/// The state of the entry's bucket, `None` for records about no bucket.
fn bucket_state<'a>(
    buckets: &'a mut BTreeMap<(String, String), BucketState>,
    entry: &AuditEntry,
) -> Option<&'a mut BucketState> {
    let bucket = entry.bucket.clone()?;
    Some(buckets.entry((entry.account.clone(), bucket)).or_default())
}

/// Counts of `values` for each of `names` (zeros included), then the others by name and the
/// missing ones under `missing`, when there are any.
fn counts<T: Serialize + Copy + PartialEq>(
    names: &[T],
    values: impl Iterator<Item = Option<T>>,
    missing: &str,
) -> Vec<Count> {
    let mut out: Vec<Count> = names
        .iter()
        .map(|n| Count {
            name: name_of(n),
            count: 0,
        })
        .collect();
    let mut absent = 0;
    for value in values {
        let Some(value) = value else {
            absent += 1;
            continue;
        };
        let name = name_of(&value);
        match out.iter_mut().find(|c| c.name == name) {
            Some(count) => count.count += 1,
            None => out.push(Count { name, count: 1 }),
        }
    }
    if absent > 0 {
        out.push(Count {
            name: missing.to_owned(),
            count: absent,
        });
    }
    out
}

fn ratio(numerator: usize, denominator: usize) -> Option<f64> {
    (denominator > 0).then(|| numerator as f64 / denominator as f64)
}

fn summarize_exceptions(exceptions: &[Exception], now: DateTime<Utc>) -> ExceptionSummary {
    let warn_until = now + Duration::days(EXPIRY_WARNING_DAYS);
    let row = |e: &Exception| ExceptionRow {
        bucket: e.bucket.clone(),
        allows: e.allows.clone(),
        owner: e.owner.clone(),
        approved_by: e.approved_by.clone(),
        reason: e.reason.clone(),
        expires_at: e.expires_at,
        days_left: (e.expires_at - now).num_days(),
    };
    let mut expiring_soon: Vec<ExceptionRow> = exceptions
        .iter()
        .filter(|e| e.expires_at > now && e.expires_at <= warn_until)
        .map(row)
        .collect();
    expiring_soon.sort_by_key(|e| e.expires_at);
    let mut expired: Vec<ExceptionRow> = exceptions
        .iter()
        .filter(|e| e.expires_at <= now)
        .map(row)
        .collect();
    expired.sort_by_key(|e| std::cmp::Reverse(e.expires_at));
    ExceptionSummary {
        total: exceptions.len(),
        active: exceptions.iter().filter(|e| e.expires_at > now).count(),
        expiring_soon,
        expired,
    }
}

/// A duration for people: `850 ms`, `42 s`, `3 min 05 s`, `2 h 04 min`, `3 d 4 h`.
pub fn human_duration(seconds: f64) -> String {
    if seconds < 1.0 {
        return format!("{:.0} ms", seconds * 1000.0);
    }
    if seconds < 10.0 {
        return format!("{seconds:.1} s");
    }
    let total = seconds.round() as i64;
    let (d, h, m, s) = (
        total / 86_400,
        total % 86_400 / 3600,
        total % 3600 / 60,
        total % 60,
    );
    if total < 60 {
        format!("{s} s")
    } else if total < 3600 {
        format!("{m} min {s:02} s")
    } else if total < 86_400 {
        format!("{h} h {m:02} min")
    } else {
        format!("{d} d {h} h")
    }
}

/// Seconds as a plain number: `180`, `0.25`.
pub fn plain_seconds(seconds: f64) -> String {
    let text = format!("{seconds:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// A duration with its exact seconds: `3 min 00 s (180 s)`, or `n/a` without data.
fn duration_cell(seconds: Option<f64>) -> String {
    seconds.map_or_else(
        || "n/a".to_owned(),
        |s| format!("{} ({} s)", human_duration(s), plain_seconds(s)),
    )
}

/// A rate as a percentage with one decimal, or `n/a`.
/// The preventive-control figures, as both renderings list them.
fn preventive_facts(r: &EvidenceReport) -> Vec<(&'static str, String)> {
    let e = &r.exceptions;
    vec![
        ("Exceptions on record", e.total.to_string()),
        ("In force (not expired)", e.active.to_string()),
        ("Expiring within 14 days", e.expiring_soon.len().to_string()),
        ("Expired, still on record", e.expired.len().to_string()),
        (
            "Fixes in the period that turned Block Public Access on",
            r.fixes_enabling_bpa.to_string(),
        ),
    ]
}

/// The detective-control figures, as both renderings list them.
fn detective_facts(r: &EvidenceReport) -> Vec<(&'static str, String)> {
    let d = &r.detection;
    vec![
        (
            "Exposures first detected in the period",
            d.exposures.to_string(),
        ),
        ("…from a CloudTrail event", d.from_events.to_string()),
        (
            "…without an event (scheduled sweep or manual run)",
            d.from_sweeps.to_string(),
        ),
        (
            "Event-triggered detections measured",
            d.latency.count.to_string(),
        ),
        (
            "Detection latency p50 (event to detection)",
            duration_cell(d.latency.p50_seconds),
        ),
        (
            "Detection latency p90 (event to detection)",
            duration_cell(d.latency.p90_seconds),
        ),
    ]
}

fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "n/a".to_owned(), |r| format!("{:.1}%", r * 100.0))
}

/// A name for people: `public-content` -> `public content`, `nothing_to_do` -> `nothing to do`.
fn label(name: &str) -> String {
    name.replace(['-', '_'], " ")
}

/// A time for people: `2026-03-31 14:05 UTC`.
fn when(time: &DateTime<Utc>) -> String {
    time.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// The length of the period in whole days (at least 1 when it is not empty).
fn period_days(report: &EvidenceReport) -> i64 {
    let secs = (report.until - report.since).num_seconds().max(0);
    (secs + 86_399) / 86_400
}

/// The criteria each section evidences, as the report maps them.
pub const CRITERIA: [(&str, &[&str], &str); 4] = [
    (
        "preventive",
        &["CC6.1", "CC6.6"],
        "Preventive: public exposure only under an owned, approved, expiring exception; fixes \
         turn on Block Public Access",
    ),
    (
        "detective",
        &["CC7.1", "CC7.2"],
        "Detective: CloudTrail-driven detection and scheduled sweeps find public buckets",
    ),
    (
        "corrective",
        &["CC7.3", "CC7.4"],
        "Corrective: exposures are evaluated, contained and fixed; time to fix, outcomes, \
         rollbacks, recurrence",
    ),
    (
        "change",
        &["CC8.1"],
        "Change management: fixes go through a controlled process (approvals, rejections) and \
         every change is in a tamper-evident audit chain",
    ),
];
