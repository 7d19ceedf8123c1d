//! The report as Markdown (GitHub flavour), for pull requests, wikis and tickets. Values from the
//! trail are escaped so that a bucket name or a reason cannot break a table or add markup.

use std::fmt::Write as _;

use super::{
    duration_cell, human_duration, label, percent, period_days, when, Count, EvidenceReport,
    ExceptionRow, Stat, CRITERIA, EXPIRY_WARNING_DAYS,
};

/// Escapes Markdown syntax and keeps the text on one line (for table cells).
fn md(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '\r' | '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn criteria_of(section: &str) -> String {
    CRITERIA
        .iter()
        .find(|(id, _, _)| *id == section)
        .map(|(_, ids, _)| ids.join(", "))
        .unwrap_or_default()
}

/// The whole report.
pub fn render_markdown(r: &EvidenceReport) -> String {
    let mut out = String::new();
    let accounts = if r.accounts.is_empty() {
        "none".to_owned()
    } else {
        r.accounts.join(", ")
    };
    let _ = writeln!(out, "# S3 public access: SOC 2 evidence report\n");
    let _ = writeln!(
        out,
        "Period {} to {} ({} days) · accounts {} · {} audit records in the period · generated {}\n",
        when(&r.since),
        when(&r.until),
        period_days(r),
        md(&accounts),
        r.records_in_period,
        when(&r.generated_at)
    );
    if r.chain.verified {
        let _ = writeln!(
            out,
            "**Audit chain verified**: {} records, every hash, link and signature intact.\n",
            r.chain.records
        );
    } else {
        let _ = writeln!(
            out,
            "**Audit chain NOT verified** ({} records read): {}. The figures come from the \
             records as stored.\n",
            r.chain.records,
            md(r.chain.detail.as_deref().unwrap_or("no detail"))
        );
    }
    if r.records_in_period == 0 {
        let _ = writeln!(out, "_No data in the period._\n");
    }

    let _ = writeln!(out, "## Summary\n");
    let _ = writeln!(out, "| Figure | Value | Criteria |\n|---|---|---|");
    let rows = [
        ("Fixes", r.mttr.fixes.to_string(), "CC7.3, CC7.4"),
        (
            "MTTR p50 / p90",
            format!(
                "{} / {}",
                duration_cell(r.mttr.overall.p50_seconds),
                duration_cell(r.mttr.overall.p90_seconds)
            ),
            "CC7.3, CC7.4",
        ),
        (
            "Detection latency p50 / p90",
            format!(
                "{} / {}",
                duration_cell(r.detection.latency.p50_seconds),
                duration_cell(r.detection.latency.p90_seconds)
            ),
            "CC7.1, CC7.2",
        ),
        (
            "Exposures detected",
            format!(
                "{} ({} from events, {} from sweeps)",
                r.detection.exposures, r.detection.from_events, r.detection.from_sweeps
            ),
            "CC7.1, CC7.2",
        ),
        (
            "Recurrence",
            format!(
                "{} ({} of {} fixed buckets)",
                percent(r.recurrence.rate),
                r.recurrence.recurred_buckets,
                r.recurrence.fixed_buckets
            ),
            "CC7.4",
        ),
        (
            "False positives",
            format!(
                "{} ({} of {} reviewed)",
                percent(r.false_positives.rate),
                r.false_positives.rejected_as_intended,
                r.false_positives.reviewed
            ),
            "CC8.1",
        ),
        (
            "Open proposals",
            r.open_proposals.len().to_string(),
            "CC8.1",
        ),
        (
            "Exceptions expiring / expired",
            format!(
                "{} within {EXPIRY_WARNING_DAYS} days / {} expired",
                r.exceptions.expiring_soon.len(),
                r.exceptions.expired.len()
            ),
            "CC6.1, CC6.6",
        ),
    ];
    for (name, value, criteria) in rows {
        let _ = writeln!(out, "| {name} | {} | {criteria} |", md(&value));
    }
    out.push('\n');

    let _ = writeln!(out, "## Criteria evidenced\n");
    let _ = writeln!(out, "| Criteria | What this report shows |\n|---|---|");
    for (_, ids, what) in CRITERIA {
        let _ = writeln!(out, "| {} | {} |", ids.join(", "), md(what));
    }
    out.push('\n');

    preventive(&mut out, r);
    detective(&mut out, r);
    corrective(&mut out, r);
    change(&mut out, r);

    let _ = writeln!(out, "## How the figures are computed\n");
    out.push_str(
        "- MTTR: from the earliest known moment of the exposure a fix closed (the CloudTrail \
         event time, else the first detection) to the end of the action whose read-back verified \
         the fix; fixes finished in the period.\n\
         - Detection latency: from the CloudTrail event time to the start of bucketward's \
         evaluation, for event-triggered actions.\n\
         - Percentiles are nearest-rank: the value at rank ⌈p/100 × n⌉ of the sorted samples.\n\
         - Recurrence: buckets fixed in the period that were detected public again after the \
         fix, over the buckets fixed in the period.\n\
         - False positives: proposals rejected as meant to be public, over the proposals \
         approved or rejected in the period.\n",
    );
    if !r.notes.is_empty() {
        let _ = writeln!(out, "\n### Notes on the data\n");
        for note in &r.notes {
            let _ = writeln!(out, "- {}", md(note));
        }
    }
    out
}

fn facts(out: &mut String, rows: &[(&str, String)]) {
    let _ = writeln!(out, "| | |\n|---|---:|");
    for (key, value) in rows {
        let _ = writeln!(out, "| {key} | {} |", md(value));
    }
    out.push('\n');
}

fn counts(out: &mut String, what: &str, counts: &[Count]) {
    let _ = writeln!(out, "| {what} | Count |\n|---|---:|");
    for c in counts {
        let _ = writeln!(out, "| {} | {} |", md(&label(&c.name)), c.count);
    }
    out.push('\n');
}

fn preventive(out: &mut String, r: &EvidenceReport) {
    let _ = writeln!(
        out,
        "## Preventive controls ({})\n",
        criteria_of("preventive")
    );
    let e = &r.exceptions;
    facts(out, &super::preventive_facts(r));
    let _ = writeln!(out, "### Exceptions expiring within 14 days\n");
    exceptions(
        out,
        &e.expiring_soon,
        "No exception expires within 14 days.",
    );
    let _ = writeln!(out, "### Expired exceptions\n");
    exceptions(out, &e.expired, "No expired exception is on record.");
}

fn exceptions(out: &mut String, rows: &[ExceptionRow], none: &str) {
    if rows.is_empty() {
        let _ = writeln!(out, "_{none}_\n");
        return;
    }
    let _ = writeln!(
        out,
        "| Bucket | Allows | Owner | Approved by | Reason | Expires | Days |\n\
         |---|---|---|---|---|---|---:|"
    );
    for row in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            md(&row.bucket),
            md(&row.allows.join(", ")),
            md(&row.owner),
            md(&row.approved_by),
            md(&row.reason),
            when(&row.expires_at),
            row.days_left
        );
    }
    out.push('\n');
}

fn detective(out: &mut String, r: &EvidenceReport) {
    let _ = writeln!(
        out,
        "## Detective controls ({})\n",
        criteria_of("detective")
    );
    let d = &r.detection;
    facts(out, &super::detective_facts(r));
    if d.exposures == 0 {
        let _ = writeln!(out, "_No data in the period._\n");
        return;
    }
    counts(out, "Severity", &r.by_severity);
    counts(out, "Intent", &r.by_intent);
}

fn stat_row(out: &mut String, name: &str, s: &Stat) {
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} |",
        md(name),
        s.count,
        duration_cell(s.p50_seconds),
        duration_cell(s.p90_seconds)
    );
}

fn corrective(out: &mut String, r: &EvidenceReport) {
    let _ = writeln!(
        out,
        "## Corrective controls ({})\n",
        criteria_of("corrective")
    );
    facts(
        out,
        &[
            ("Fixes (verified by read-back)", r.mttr.fixes.to_string()),
            ("Rollbacks", r.rollbacks.to_string()),
            (
                "Recurrence (fixed buckets public again)",
                format!(
                    "{} ({} of {})",
                    percent(r.recurrence.rate),
                    r.recurrence.recurred_buckets,
                    r.recurrence.fixed_buckets
                ),
            ),
        ],
    );
    if !r.recurrence.buckets.is_empty() {
        let list: Vec<String> = r.recurrence.buckets.iter().map(|b| md(b)).collect();
        let _ = writeln!(out, "Public again after a fix: {}.\n", list.join(", "));
    }
    let _ = writeln!(out, "### Time to fix by mode\n");
    if r.mttr.fixes == 0 {
        let _ = writeln!(out, "_No data in the period: no fix finished in it._\n");
    }
    let _ = writeln!(out, "| Mode | Fixes | p50 | p90 |\n|---|---:|---:|---:|");
    stat_row(out, "all modes", &r.mttr.overall);
    for m in &r.mttr.by_mode {
        stat_row(out, &label(&m.mode), &m.stat);
    }
    out.push('\n');
    counts(out, "Outcome of actions", &r.outcomes);
    let _ = writeln!(out, "### Fixes per day\n");
    let days: Vec<_> = r.fixes_per_day.iter().filter(|d| d.fixes > 0).collect();
    if days.is_empty() {
        let _ = writeln!(out, "_No data in the period._\n");
        return;
    }
    let _ = writeln!(out, "| Day (UTC) | Fixes |\n|---|---:|");
    for d in days {
        let _ = writeln!(out, "| {} | {} |", d.day.format("%Y-%m-%d"), d.fixes);
    }
    out.push('\n');
}

fn change(out: &mut String, r: &EvidenceReport) {
    let _ = writeln!(out, "## Change management ({})\n", criteria_of("change"));
    let fp = &r.false_positives;
    facts(
        out,
        &[
            ("Proposals reviewed in the period", fp.reviewed.to_string()),
            ("…approved", fp.approved.to_string()),
            ("…rejected", fp.rejected.to_string()),
            (
                "…rejected as meant to be public",
                fp.rejected_as_intended.to_string(),
            ),
            ("False-positive rate", percent(fp.rate)),
            (
                "Proposals awaiting a decision",
                r.open_proposals.len().to_string(),
            ),
            (
                "Audit chain verified",
                if r.chain.verified { "yes" } else { "NO" }.to_owned(),
            ),
            ("Records in the chain", r.chain.records.to_string()),
        ],
    );
    let _ = writeln!(out, "### Open proposals\n");
    if r.open_proposals.is_empty() {
        let _ = writeln!(out, "_No proposal is waiting for a decision._\n");
    } else {
        let _ = writeln!(
            out,
            "| Proposal | Bucket | Severity | Proposed | Waiting |\n|---|---|---|---|---:|"
        );
        for p in &r.open_proposals {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                md(&p.action_id),
                md(&p.bucket),
                md(p.severity.as_deref().unwrap_or("unrecorded")),
                when(&p.proposed_at),
                human_duration(p.age_seconds as f64)
            );
        }
        out.push('\n');
    }
    counts(out, "Records in the period, by kind", &r.records_by_kind);
}
