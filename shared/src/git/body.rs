//! The pull request's title, body and commit message. Pure.

use std::fmt::Write as _;

use crate::action::ActionRecord;
use crate::exposure::{Status, Verdict};
use crate::iac::IacFix;

/// What the body is made from.
pub struct BodyInput<'a> {
    pub record: &'a ActionRecord,
    pub fix: &'a IacFix,
    /// A link to the audit record, when one is configured.
    pub audit_link: Option<&'a str>,
}

/// The marker that names the bucket in the body (one pull request per bucket).
pub fn marker(bucket: &str) -> String {
    format!("<!-- bucketward:bucket={bucket} -->")
}

pub fn title(record: &ActionRecord) -> String {
    let severity = record
        .severity
        .map(|s| format!(" ({s})"))
        .unwrap_or_default();
    format!(
        "bucketward: stop public access to s3://{}{severity}",
        record.bucket
    )
}

pub fn commit_message(record: &ActionRecord, fix: &IacFix) -> String {
    let mut message = format!("Stop public access to s3://{}\n\n", record.bucket);
    for change in &fix.changes {
        let _ = writeln!(message, "- {change}");
    }
    let _ = write!(
        message,
        "\nProposed by bucketward (action {}).",
        record.action_id
    );
    message
}

fn layer_name(layer: &crate::exposure::Layer) -> String {
    serde_json::to_value(layer)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn evidence(out: &mut String, verdict: &Verdict) {
    let _ = writeln!(out, "| Layer | Finding | Where | Exposes |");
    let _ = writeln!(out, "|---|---|---|---|");
    for f in verdict.findings.iter().filter(|f| f.status != Status::Info) {
        let place = match (&f.statement, &f.grant, &f.access_point, &f.object) {
            (Some(s), _, _, _) => s.sid.as_ref().map_or_else(
                || format!("statement #{}", s.index),
                |sid| format!("statement `{sid}`"),
            ),
            (_, Some(g), _, _) => format!("grant {} {}", g.grantee, g.permission),
            (_, _, Some(ap), _) => format!("access point `{ap}`"),
            (_, _, _, Some(o)) => format!("object `{o}`"),
            _ => String::new(),
        };
        let status = if f.status == Status::Latent {
            " (latent)"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "| {} | `{}`{status}: {} | {place} | {} |",
            layer_name(&f.layer),
            f.code,
            f.message.replace('|', "\\|"),
            f.exposes.names().join(", ")
        );
    }
}

/// The pull request body: finding, severity, evidence, the change, the live plan's diff and
/// the audit record.
pub fn body(input: &BodyInput<'_>) -> String {
    let record = input.record;
    let fix = input.fix;
    let verdict = &record.verdict_before;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## `{}` is public: this pull request closes it in code\n",
        record.bucket
    );
    let exposure = verdict.exposure.union(verdict.latent).names().join(", ");
    let _ = writeln!(
        out,
        "- **Severity:** {}",
        record
            .severity
            .map_or_else(|| "unknown".to_owned(), |s| s.to_string())
    );
    let _ = writeln!(
        out,
        "- **Exposure:** {}{}",
        if exposure.is_empty() {
            "none"
        } else {
            &exposure
        },
        if verdict.public {
            ""
        } else {
            " (latent: neutralised today by Block Public Access or ownership)"
        }
    );
    if let Some(c) = &record.classification {
        let _ = writeln!(out, "- **Looks like:** {:?}", c.intent);
    }
    let _ = writeln!(out, "- **Account:** {}", record.account_id);
    let trigger = match &record.trigger {
        crate::action::Trigger::Event {
            event_name,
            event_time,
            actor,
            ..
        } => format!(
            "CloudTrail `{event_name}` at {}{}",
            event_time.format("%Y-%m-%d %H:%M:%S UTC"),
            actor
                .as_ref()
                .map(|a| format!(" by `{a}`"))
                .unwrap_or_default()
        ),
        crate::action::Trigger::Sweep => "the scheduled sweep".to_owned(),
        crate::action::Trigger::Manual => "`bucketward propose-pr`".to_owned(),
        crate::action::Trigger::Approval { proposal_id, .. } => {
            format!("the approval of `{proposal_id}`")
        }
    };
    let _ = writeln!(
        out,
        "- **Detected by:** {trigger}, {}",
        record.started_at.format("%Y-%m-%d %H:%M:%S UTC")
    );
    if let Some(e) = &record.exception {
        let _ = writeln!(out, "- **Exception:** {e}");
    }

    let _ = writeln!(out, "\n### Evidence (the live bucket)\n");
    evidence(&mut out, verdict);

    let _ = writeln!(out, "\n### What this pull request changes\n");
    if fix.located.is_empty() {
        let _ = writeln!(
            out,
            "**The bucket's resource was not found in this repository.** A new file holds \
             what can be added; see the notes.\n"
        );
    } else {
        let _ = writeln!(out, "Found: {}.\n", fix.located.join("; "));
    }
    for change in &fix.changes {
        let _ = writeln!(out, "- {change}");
    }
    match (&fix.before, &fix.after) {
        (Some(before), Some(after)) => {
            let b = crate::evaluate(before);
            let a = crate::evaluate(after);
            let describe = |v: &Verdict| {
                if v.public {
                    format!("**public** ({})", v.exposure.names().join(", "))
                } else if v.has_latent() {
                    format!("not public, latent {}", v.latent.names().join(", "))
                } else {
                    "**not public**".to_owned()
                }
            };
            let _ = writeln!(
                out,
                "\nbucketward evaluated the configuration in this repository: before, {}; \
                 after this change, {}.",
                describe(&b),
                describe(&a)
            );
        }
        _ => {
            let _ = writeln!(
                out,
                "\nThe new file could not be evaluated as a whole configuration: review it \
                 with the code that owns the bucket."
            );
        }
    }
    if !fix.notes.is_empty() {
        let _ = writeln!(out, "\n### Notes\n");
        for note in &fix.notes {
            let _ = writeln!(out, "- {note}");
        }
    }

    let _ = writeln!(
        out,
        "\n### The live plan (what autopilot would apply to the bucket)\n"
    );
    if record.plan.steps.is_empty() {
        let _ = writeln!(out, "Nothing: the live bucket needs no change.");
    }
    for step in &record.plan.steps {
        let _ = writeln!(
            out,
            "<details><summary>{}</summary>\n\n```diff\n{}```\n</details>\n",
            step.summary, step.diff
        );
    }

    let _ = writeln!(out, "\n### Audit record\n");
    let _ = writeln!(
        out,
        "Action `{}` in the audit trail of account {} (`bucketward audit export`, kind `pr`).",
        record.action_id, record.account_id
    );
    if let Some(link) = input.audit_link {
        let _ = writeln!(out, "{link}");
    }
    let _ = writeln!(
        out,
        "\nMerging and applying this change fixes the bucket for good; until then bucketward \
         keeps reporting it. To keep the bucket public on purpose, close this pull request and \
         add an exception (`bucketward exceptions add`)."
    );
    let _ = writeln!(out, "\n{}", marker(&record.bucket));
    out
}
