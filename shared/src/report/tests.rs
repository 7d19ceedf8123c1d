//! The report against a seeded trail whose figures are worked out by hand below. Records are
//! built from JSON (so new optional fields of `ActionRecord` do not break them), turned into
//! audit drafts by the pipeline's own `draft_for`, and sealed into a chain with a test key.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::*;
use crate::action::{ActionRecord, PreChangeState};
use crate::audit::store::draft_for;
use crate::audit::{seal, verify_chain, AuditDraft};

const KEY: &[u8] = b"report test key 0123456789abcdef";
const ACCOUNT: &str = "123456789012";

fn t(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn since() -> DateTime<Utc> {
    t("2026-03-01T00:00:00Z")
}

fn now() -> DateTime<Utc> {
    t("2026-03-31T00:00:00Z")
}

/// One action record, as the remediator would save it.
struct Rec<'a> {
    id: &'a str,
    bucket: &'a str,
    mode: Option<&'a str>,
    severity: &'a str,
    intent: &'a str,
    /// The CloudTrail event time, or `None` for a sweep.
    event: Option<&'a str>,
    started: &'a str,
    applied: &'a [&'a str],
}

impl Rec<'_> {
    fn record(&self, outcome: &str, finished: Option<&str>) -> ActionRecord {
        let snapshot = crate::Snapshot {
            bucket: self.bucket.to_owned(),
            ..crate::Snapshot::default()
        };
        let trigger = match self.event {
            Some(time) => json!({"kind": "event", "event_id": format!("ev-{}", self.id),
                                 "event_name": "PutBucketPolicy", "event_time": time}),
            None => json!({"kind": "sweep"}),
        };
        serde_json::from_value(json!({
            "action_id": self.id,
            "bucket": self.bucket,
            "account_id": ACCOUNT,
            "started_at": self.started,
            "finished_at": finished,
            "trigger": trigger,
            "mode": self.mode,
            "severity": self.severity,
            "classification": {"intent": self.intent, "confidence": 0.8, "reasons": []},
            "outcome": outcome,
            "before": PreChangeState::of(&snapshot, ACCOUNT, t(self.started)),
            "verdict_before": crate::evaluate(&snapshot),
            "plan": crate::plan::Plan::default(),
            "applied": if finished.is_some() { self.applied } else { &[] },
        }))
        .unwrap()
    }
}

fn review(by: &str, at: &str, as_exception: bool, applied: Option<&str>) -> Value {
    json!({"by": by, "at": at, "via": "cli", "as_exception": as_exception,
           "applied_action_id": applied})
}

/// A chain being written.
#[derive(Default)]
struct Trail {
    entries: Vec<AuditEntry>,
}

impl Trail {
    fn push(&mut self, mut draft: AuditDraft, time: &str) {
        draft.time = t(time);
        let entry = seal(draft, self.entries.last(), KEY);
        self.entries.push(entry);
    }

    fn save(&mut self, record: &ActionRecord, time: &str) {
        self.push(draft_for(record), time);
    }

    /// An applied action: the backup (a detection), then the result.
    fn act(&mut self, rec: &Rec<'_>, outcome: &str, finished: &str) {
        self.save(&rec.record("nothing_to_do", None), rec.started);
        self.save(&rec.record(outcome, Some(finished)), finished);
    }

    fn propose(&mut self, rec: &Rec<'_>, finished: &str) {
        self.save(&rec.record("proposed", Some(finished)), finished);
    }

    fn decide(&mut self, rec: &Rec<'_>, finished: &str, outcome: &str, review: Value, at: &str) {
        let mut record = serde_json::to_value(rec.record(outcome, Some(finished))).unwrap();
        record["review"] = review.clone();
        let record: ActionRecord = serde_json::from_value(record).unwrap();
        let mut draft = draft_for(&record);
        // `draft_for` keeps only the reviewer's name; a trail that also holds the review says
        // there whether a rejected bucket is meant to be public.
        draft.payload["review"] = review;
        self.push(draft, at);
    }
}

fn rec<'a>(
    id: &'a str,
    bucket: &'a str,
    severity: &'a str,
    intent: &'a str,
    event: Option<&'a str>,
    started: &'a str,
) -> Rec<'a> {
    Rec {
        id,
        bucket,
        mode: Some("autopilot"),
        severity,
        intent,
        event,
        started,
        applied: &["Delete the bucket policy: remove statement PublicRead"],
    }
}

const BPA: &[&str] = &[
    "Enable Block Public Access (all four flags)",
    "Delete the bucket policy: remove statement PublicRead",
];

/// The seeded trail. By hand, for the period 2026-03-01 to 2026-03-31:
///
/// | fix | mode      | change (event or detection) | fixed    | MTTR   |
/// |-----|-----------|-----------------------------|----------|--------|
/// | a1  | autopilot | 03-02 10:00:00 (event)      | 10:01:00 | 60 s   |
/// | a2  | autopilot | 03-03 10:00:00 (event)      | 10:02:00 | 120 s  |
/// | a3  | autopilot | 03-03 12:00:00 (event)      | 12:03:00 | 180 s  |
/// | a4  | autopilot | 03-05 08:00:00 (sweep)      | 08:04:00 | 240 s  |
/// | c1  | copilot   | 03-06 09:00:00 (event, P1)  | 10:00:00 | 3600 s |
///
/// MTTR overall [60, 120, 180, 240, 3600]: p50 = rank ⌈2.5⌉ = 3rd = 180, p90 = rank ⌈4.5⌉ = 5th
/// = 3600. Autopilot [60, 120, 180, 240]: p50 = 2nd = 120, p90 = rank ⌈3.6⌉ = 4th = 240.
/// Copilot: 3600 and 3600. `old1` was fixed in February: outside the period.
///
/// Detection latencies (event-triggered): a1 30, a2 60, a3 10, P1 20, a2 again 50, P3 90, P4 15
/// -> sorted [10, 15, 20, 30, 50, 60, 90]: p50 = rank ⌈3.5⌉ = 4th = 30, p90 = rank ⌈6.3⌉ = 7th
/// = 90.
///
/// a2 is public again on 03-12 (its fix fails): recurrence 1 of 5 fixed buckets. Proposals P1
/// (approved), P2 (rejected as meant to be public), P3 (rejected, to be fixed elsewhere), P4
/// (open): false positives 1 of 3 reviewed.
fn seeded() -> Vec<AuditEntry> {
    let mut trail = Trail::default();
    let old = rec(
        "act-old1",
        "old1",
        "high",
        "unknown",
        Some("2026-02-20T10:00:00Z"),
        "2026-02-20T10:00:05Z",
    );
    trail.act(&old, "fixed", "2026-02-20T10:00:35Z");

    let a1 = Rec {
        applied: BPA,
        ..rec(
            "act-a1",
            "a1",
            "high",
            "unknown",
            Some("2026-03-02T10:00:00Z"),
            "2026-03-02T10:00:30Z",
        )
    };
    trail.act(&a1, "fixed", "2026-03-02T10:01:00Z");
    let a2 = Rec {
        applied: BPA,
        ..rec(
            "act-a2",
            "a2",
            "critical",
            "sensitive-data",
            Some("2026-03-03T10:00:00Z"),
            "2026-03-03T10:01:00Z",
        )
    };
    trail.act(&a2, "fixed", "2026-03-03T10:02:00Z");
    let a3 = rec(
        "act-a3",
        "a3",
        "high",
        "unknown",
        Some("2026-03-03T12:00:00Z"),
        "2026-03-03T12:00:10Z",
    );
    trail.act(&a3, "fixed", "2026-03-03T12:03:00Z");
    let a4 = rec(
        "act-a4",
        "a4",
        "medium",
        "unknown",
        None,
        "2026-03-05T08:00:00Z",
    );
    trail.act(&a4, "fixed", "2026-03-05T08:04:00Z");

    // Co-pilot: proposed on an event, approved an hour later; the approval applies it.
    let p1 = Rec {
        mode: Some("copilot"),
        ..rec(
            "act-p1",
            "c1",
            "high",
            "unknown",
            Some("2026-03-06T09:00:00Z"),
            "2026-03-06T09:00:20Z",
        )
    };
    trail.propose(&p1, "2026-03-06T09:00:25Z");
    let applied = Rec {
        id: "act-a5",
        event: None,
        started: "2026-03-06T09:59:50Z",
        ..p1
    };
    trail.act(&applied, "fixed", "2026-03-06T10:00:00Z");
    trail.decide(
        &p1,
        "2026-03-06T09:00:25Z",
        "approved",
        review("alice", "2026-03-06T10:00:01Z", false, Some("act-a5")),
        "2026-03-06T10:00:01Z",
    );

    // a2 is made public again; this time the fix fails.
    let again = rec(
        "act-a2b",
        "a2",
        "critical",
        "sensitive-data",
        Some("2026-03-12T10:00:00Z"),
        "2026-03-12T10:00:50Z",
    );
    trail.act(&again, "failed", "2026-03-12T10:01:10Z");

    let p2 = Rec {
        mode: Some("copilot"),
        ..rec(
            "act-p2",
            "c2",
            "high",
            "public-content",
            None,
            "2026-03-14T06:00:00Z",
        )
    };
    trail.propose(&p2, "2026-03-14T06:00:05Z");
    trail.decide(
        &p2,
        "2026-03-14T06:00:05Z",
        "rejected",
        review("bob", "2026-03-14T09:00:00Z", true, None),
        "2026-03-14T09:00:00Z",
    );
    let p3 = Rec {
        mode: Some("copilot"),
        ..rec(
            "act-p3",
            "c3",
            "medium",
            "unknown",
            Some("2026-03-15T14:00:00Z"),
            "2026-03-15T14:01:30Z",
        )
    };
    trail.propose(&p3, "2026-03-15T14:01:35Z");
    trail.decide(
        &p3,
        "2026-03-15T14:01:35Z",
        "rejected",
        review("bob", "2026-03-16T09:00:00Z", false, None),
        "2026-03-16T09:00:00Z",
    );
    let p4 = Rec {
        mode: Some("copilot"),
        ..rec(
            "act-p4",
            "c4",
            "critical",
            "sensitive-data",
            Some("2026-03-20T08:00:00Z"),
            "2026-03-20T08:00:15Z",
        )
    };
    trail.propose(&p4, "2026-03-20T08:00:20Z");

    // Dry run: the same public bucket seen by two sweeps is one exposure.
    for (id, started, finished) in [
        ("act-d1", "2026-03-22T06:00:00Z", "2026-03-22T06:00:01Z"),
        ("act-d1b", "2026-03-23T06:00:00Z", "2026-03-23T06:00:01Z"),
    ] {
        let d = Rec {
            mode: Some("dry-run"),
            ..rec(id, "d1", "medium", "unknown", None, started)
        };
        trail.save(&d.record("dry_run", Some(finished)), finished);
    }

    trail.push(
        AuditDraft::new(ACCOUNT, AuditKind::Rollback, json!({"action_id": "act-a3"}))
            .with_bucket("a3"),
        "2026-03-25T12:00:00Z",
    );
    trail.entries
}

fn exception(bucket: &str, reason: &str, expires: &str) -> Exception {
    Exception {
        bucket: bucket.to_owned(),
        allows: vec!["read".to_owned()],
        reason: reason.to_owned(),
        owner: "web-team".to_owned(),
        approved_by: "carol".to_owned(),
        created_at: t("2026-01-01T00:00:00Z"),
        expires_at: t(expires),
    }
}

fn exceptions() -> Vec<Exception> {
    vec![
        exception("cdn-*", "CDN origin", "2026-04-10T00:00:00Z"),
        exception("public-site", "the public website", "2026-06-01T00:00:00Z"),
        exception("old-share", "a partner share", "2026-03-20T00:00:00Z"),
        exception(
            "docs-*",
            "<script>alert(\"x\")</script> & co",
            "2026-04-14T00:00:00Z",
        ),
    ]
}

fn verified(entries: &[AuditEntry]) -> ChainStatus {
    ChainStatus {
        verified: true,
        records: entries.len(),
        detail: None,
    }
}

fn report() -> EvidenceReport {
    let entries = seeded();
    build_report(&entries, &exceptions(), verified(&entries), since(), now())
}

fn count(counts: &[Count], name: &str) -> usize {
    counts
        .iter()
        .find(|c| c.name == name)
        .map(|c| c.count)
        .unwrap()
}

#[test]
fn the_seeded_trail_is_a_valid_chain() {
    let entries = seeded();
    assert_eq!(entries.len(), 24);
    assert_eq!(verify_chain(&entries, KEY), Ok(()));
}

#[test]
fn nearest_rank_percentiles() {
    assert_eq!(nearest_rank(&[], 50), None);
    assert_eq!(nearest_rank(&[7], 50), Some(7));
    assert_eq!(nearest_rank(&[7], 90), Some(7));
    let five = [60, 120, 180, 240, 3600];
    assert_eq!(nearest_rank(&five, 50), Some(180));
    assert_eq!(nearest_rank(&five, 90), Some(3600));
    let ten: Vec<i64> = (1..=10).collect();
    assert_eq!(nearest_rank(&ten, 50), Some(5));
    assert_eq!(nearest_rank(&ten, 90), Some(9));
    assert_eq!(nearest_rank(&ten, 91), Some(10));
    assert_eq!(nearest_rank(&ten, 0), Some(1));
    assert_eq!(nearest_rank(&ten, 100), Some(10));
    assert_eq!(nearest_rank(&ten, 250), Some(10));
}

#[test]
fn mttr_overall_and_by_mode() {
    let r = report();
    assert_eq!(r.mttr.fixes, 5);
    assert_eq!(
        r.mttr.overall,
        Stat {
            count: 5,
            p50_seconds: Some(180.0),
            p90_seconds: Some(3600.0)
        }
    );
    let modes: Vec<(&str, usize, Option<f64>, Option<f64>)> = r
        .mttr
        .by_mode
        .iter()
        .map(|m| {
            (
                m.mode.as_str(),
                m.stat.count,
                m.stat.p50_seconds,
                m.stat.p90_seconds,
            )
        })
        .collect();
    assert_eq!(
        modes,
        vec![
            ("autopilot", 4, Some(120.0), Some(240.0)),
            ("copilot", 1, Some(3600.0), Some(3600.0)),
            ("dry-run", 0, None, None),
        ]
    );
    assert_eq!(r.fixes_enabling_bpa, 2);
    let days: Vec<(String, usize)> = r
        .fixes_per_day
        .iter()
        .filter(|d| d.fixes > 0)
        .map(|d| (d.day.to_string(), d.fixes))
        .collect();
    assert_eq!(
        days,
        vec![
            ("2026-03-02".to_owned(), 1),
            ("2026-03-03".to_owned(), 2),
            ("2026-03-05".to_owned(), 1),
            ("2026-03-06".to_owned(), 1),
        ]
    );
    // 1 March to 31 March, both days included.
    assert_eq!(r.fixes_per_day.len(), 31);
}

#[test]
fn detection_latency_and_exposures() {
    let r = report();
    assert_eq!(
        r.detection.latency,
        Stat {
            count: 7,
            p50_seconds: Some(30.0),
            p90_seconds: Some(90.0)
        }
    );
    // a1, a2, a3, a4, c1, a2 again, c2, c3, c4, d1.
    assert_eq!(r.detection.exposures, 10);
    assert_eq!(r.detection.from_events, 7);
    assert_eq!(r.detection.from_sweeps, 3);
    assert_eq!(count(&r.by_severity, "critical"), 3);
    assert_eq!(count(&r.by_severity, "high"), 4);
    assert_eq!(count(&r.by_severity, "medium"), 3);
    assert_eq!(count(&r.by_severity, "info"), 0);
    assert_eq!(r.by_severity.len(), 4);
    assert_eq!(count(&r.by_intent, "public-content"), 1);
    assert_eq!(count(&r.by_intent, "sensitive-data"), 3);
    assert_eq!(count(&r.by_intent, "unknown"), 6);
}

#[test]
fn recurrence_outcomes_and_rollbacks() {
    let r = report();
    assert_eq!(
        r.recurrence,
        Recurrence {
            fixed_buckets: 5,
            recurred_buckets: 1,
            rate: Some(0.2),
            buckets: vec!["a2".to_owned()],
        }
    );
    assert_eq!(count(&r.outcomes, "fixed"), 5);
    assert_eq!(count(&r.outcomes, "failed"), 1);
    assert_eq!(count(&r.outcomes, "unverified"), 0);
    assert_eq!(r.rollbacks, 1);
}

#[test]
fn reviews_false_positives_and_open_proposals() {
    let r = report();
    let fp = &r.false_positives;
    assert_eq!(
        (
            fp.reviewed,
            fp.approved,
            fp.rejected,
            fp.rejected_as_intended
        ),
        (3, 1, 2, 1)
    );
    assert_eq!(fp.rejections_without_review, 0);
    assert_eq!(fp.rate, Some(1.0 / 3.0));
    assert_eq!(r.open_proposals.len(), 1);
    let open = &r.open_proposals[0];
    assert_eq!(open.action_id, "act-p4");
    assert_eq!(open.bucket, "c4");
    assert_eq!(open.severity.as_deref(), Some("critical"));
    // 03-20 08:00:20 to 03-31 00:00:00.
    assert_eq!(open.age_seconds, 10 * 86_400 + 15 * 3600 + 59 * 60 + 40);
    assert!(r.notes.is_empty(), "{:?}", r.notes);
}

#[test]
fn exceptions_expiring_and_expired() {
    let r = report();
    let e = &r.exceptions;
    assert_eq!((e.total, e.active), (4, 3));
    let soon: Vec<(&str, i64)> = e
        .expiring_soon
        .iter()
        .map(|x| (x.bucket.as_str(), x.days_left))
        .collect();
    assert_eq!(soon, vec![("cdn-*", 10), ("docs-*", 14)]);
    let expired: Vec<(&str, i64)> = e
        .expired
        .iter()
        .map(|x| (x.bucket.as_str(), x.days_left))
        .collect();
    assert_eq!(expired, vec![("old-share", -11)]);
}

#[test]
fn records_and_chain() {
    let r = report();
    assert_eq!(r.records_in_period, 22);
    assert_eq!(count(&r.records_by_kind, "detection"), 8);
    assert_eq!(count(&r.records_by_kind, "proposal"), 4);
    assert_eq!(count(&r.records_by_kind, "approval"), 1);
    assert_eq!(count(&r.records_by_kind, "rejection"), 2);
    assert_eq!(count(&r.records_by_kind, "action"), 6);
    assert_eq!(count(&r.records_by_kind, "rollback"), 1);
    assert_eq!(r.chain, verified(&seeded()));
    assert_eq!(r.accounts, vec![ACCOUNT.to_owned()]);
}

/// Every `href` points inside the page; nothing is loaded from anywhere.
fn assert_self_contained(html: &str) {
    assert!(!html.contains("src="), "a resource is loaded");
    assert!(!html.contains("http"), "a URL is referenced");
    assert!(!html.contains("@import"));
    assert!(!html.contains("url("));
    assert!(!html.contains("<script"));
    for (i, _) in html.match_indices("href=") {
        assert!(
            html[i..].starts_with("href=\"#"),
            "external link at {}",
            &html[i..(i + 40).min(html.len())]
        );
    }
}

#[test]
fn html_shows_the_figures_charts_and_criteria() {
    let html = render_html(&report());
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.trim_end().ends_with("</html>"));
    assert_self_contained(&html);
    for criterion in [
        "CC6.1", "CC6.6", "CC7.1", "CC7.2", "CC7.3", "CC7.4", "CC8.1",
    ] {
        assert!(html.contains(criterion), "{criterion} missing");
    }
    assert_eq!(
        html.matches("<svg").count(),
        4,
        "severity, intent, MTTR, fixes"
    );
    for figure in [
        "3 min 00 s (180 s)",
        "1 h 00 min (3600 s)",
        "2 min 00 s (120 s)",
        "4 min 00 s (240 s)",
        "30 s (30 s)",
        "1 min 30 s (90 s)",
        "20.0%",
        "33.3%",
        "act-p4",
        "cdn-*",
        "old-share",
        "Audit chain verified: 24 records",
    ] {
        assert!(html.contains(figure), "{figure} missing");
    }
    // The exception's reason is data, shown escaped.
    assert!(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co"));
}

#[test]
fn markdown_shows_the_figures() {
    let md = render_markdown(&report());
    for needle in [
        "# S3 public access: SOC 2 evidence report",
        "| Fixes | 5 | CC7.3, CC7.4 |",
        "3 min 00 s (180 s) / 1 h 00 min (3600 s)",
        "30 s (30 s) / 1 min 30 s (90 s)",
        "20.0% (1 of 5 fixed buckets)",
        "33.3% (1 of 3 reviewed)",
        "| autopilot | 4 | 2 min 00 s (120 s) | 4 min 00 s (240 s) |",
        "| dry run | 0 | n/a | n/a |",
        "| 2026-03-03 | 2 |",
        "CC6.1, CC6.6",
        "CC8.1",
        "cdn-\\*",
        "\\<script\\>",
    ] {
        assert!(md.contains(needle), "{needle} missing from:\n{md}");
    }
    assert!(!md.contains("<script>"));
}

#[test]
fn json_has_the_figures() {
    let value = serde_json::to_value(report()).unwrap();
    assert_eq!(value["mttr"]["overall"]["p50_seconds"], 180.0);
    assert_eq!(value["mttr"]["overall"]["p90_seconds"], 3600.0);
    assert_eq!(value["mttr"]["by_mode"][0]["mode"], "autopilot");
    assert_eq!(value["mttr"]["by_mode"][0]["p50_seconds"], 120.0);
    assert_eq!(value["mttr"]["by_mode"][2]["p50_seconds"], Value::Null);
    assert_eq!(value["detection"]["latency"]["p90_seconds"], 90.0);
    assert_eq!(value["recurrence"]["rate"], 0.2);
    assert_eq!(value["false_positives"]["rejected_as_intended"], 1);
    assert_eq!(value["open_proposals"][0]["action_id"], "act-p4");
    assert_eq!(
        value["exceptions"]["expiring_soon"][0]["expires_at"],
        "2026-04-10T00:00:00Z"
    );
    assert_eq!(value["fixes_per_day"][2]["day"], "2026-03-03");
    assert_eq!(value["chain"]["verified"], true);
}

#[test]
fn an_empty_trail_renders_cleanly() {
    let chain = ChainStatus {
        verified: true,
        records: 0,
        detail: None,
    };
    let r = build_report(&[], &[], chain, since(), now());
    assert_eq!(r.mttr.fixes, 0);
    assert_eq!(r.mttr.overall.p50_seconds, None);
    assert_eq!(r.recurrence.rate, None);
    assert_eq!(r.false_positives.rate, None);
    assert!(r.open_proposals.is_empty());
    let html = render_html(&r);
    assert_self_contained(&html);
    assert!(html.contains("No data in the period"));
    assert!(!html.contains("<svg"));
    assert!(html.contains("CC8.1"));
    let md = render_markdown(&r);
    assert!(md.contains("No data in the period"));
    assert!(md.contains("| Fixes | 0 | CC7.3, CC7.4 |"));
    assert!(serde_json::to_string(&r).is_ok());
}

#[test]
fn a_broken_chain_is_said_first_and_the_report_still_built() {
    let entries = seeded();
    let chain = ChainStatus {
        verified: false,
        records: entries.len(),
        detail: Some("record seq 3 was modified: <its hash> does not match".to_owned()),
    };
    let r = build_report(&entries, &[], chain, since(), now());
    assert_eq!(r.mttr.fixes, 5);
    assert!(r.notes[0].contains("did not verify"));
    let html = render_html(&r);
    assert!(html.contains("Audit chain NOT verified"));
    assert!(html.contains("record seq 3 was modified: &lt;its hash&gt;"));
    assert!(render_markdown(&r).contains("**Audit chain NOT verified**"));
}

#[test]
fn a_rejection_recorded_by_draft_for_says_why() {
    let mut trail = Trail::default();
    let p = Rec {
        mode: Some("copilot"),
        ..rec(
            "act-p",
            "b",
            "high",
            "unknown",
            None,
            "2026-03-10T00:00:00Z",
        )
    };
    trail.propose(&p, "2026-03-10T00:00:01Z");
    // `draft_for` writes the review into the payload, so the reason is known.
    let mut record =
        serde_json::to_value(p.record("rejected", Some("2026-03-10T00:00:01Z"))).unwrap();
    record["review"] = review("bob", "2026-03-11T00:00:00Z", true, None);
    trail.save(
        &serde_json::from_value(record).unwrap(),
        "2026-03-11T00:00:00Z",
    );
    let r = build_report(
        &trail.entries,
        &[],
        verified(&trail.entries),
        since(),
        now(),
    );
    assert_eq!(r.false_positives.reviewed, 1);
    assert_eq!(r.false_positives.rejected_as_intended, 1);
    assert_eq!(r.false_positives.rejections_without_review, 0);
    assert_eq!(r.false_positives.rate, Some(1.0));
}

#[test]
fn durations_for_people() {
    assert_eq!(human_duration(0.25), "250 ms");
    assert_eq!(human_duration(5.0), "5.0 s");
    assert_eq!(human_duration(42.0), "42 s");
    assert_eq!(human_duration(180.0), "3 min 00 s");
    assert_eq!(human_duration(3600.0), "1 h 00 min");
    assert_eq!(human_duration(93_784.0), "1 d 2 h");
    assert_eq!(plain_seconds(180.0), "180");
    assert_eq!(plain_seconds(0.25), "0.25");
}

/// `BUCKETWARD_REPORT_SAMPLE_DIR=/tmp/x cargo test -p bucketward report::` writes the seeded
/// report there (HTML, Markdown, JSON), to look at in a browser
/// (`scripts/render-report.sh /tmp/x/report.html /tmp/x/report.png`).
#[test]
fn writes_a_sample_when_asked() {
    let Ok(dir) = std::env::var("BUCKETWARD_REPORT_SAMPLE_DIR") else {
        return;
    };
    let dir = std::path::Path::new(&dir);
    std::fs::create_dir_all(dir).unwrap();
    let r = report();
    std::fs::write(dir.join("report.html"), render_html(&r)).unwrap();
    std::fs::write(dir.join("report.md"), render_markdown(&r)).unwrap();
    std::fs::write(
        dir.join("report.json"),
        serde_json::to_string_pretty(&r).unwrap(),
    )
    .unwrap();
    let empty = build_report(&[], &[], verified(&[]), since(), now());
    std::fs::write(dir.join("empty.html"), render_html(&empty)).unwrap();
    // The chain as the DynamoDB log stores it (one canonical entry per line), and the
    // exceptions, to load into the emulator and run `bucketward report` on.
    std::fs::write(
        dir.join("chain.jsonl"),
        crate::audit::export_jsonl(&seeded()),
    )
    .unwrap();
    std::fs::write(
        dir.join("exceptions.json"),
        serde_json::to_string(&exceptions()).unwrap(),
    )
    .unwrap();
}

#[test]
fn a_git_mode_pull_request_counts_as_a_detection() {
    let mut trail = Trail::default();
    let r = Rec {
        mode: Some("git"),
        ..rec(
            "g1",
            "git-bucket",
            "high",
            "unknown",
            None,
            "2026-03-10T10:00:00Z",
        )
    };
    trail.save(
        &r.record("pull_request", Some("2026-03-10T10:00:05Z")),
        "2026-03-10T10:00:05Z",
    );
    let report = build_report(
        &trail.entries,
        &[],
        verified(&trail.entries),
        since(),
        now(),
    );
    assert_eq!(report.detection.exposures, 1);
    assert_eq!(report.detection.from_sweeps, 1);
    assert_eq!(count(&report.outcomes, "pull_request"), 1);
    assert_eq!(report.mttr.overall.count, 0, "a pull request is not a fix");
}
