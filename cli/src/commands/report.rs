//! `bucketward report`: the SOC 2 evidence report, from the audit trail and the exceptions.
//!
//! The chain is verified first; when it does not verify, the report is still written, from the
//! records as stored, saying so at the top, and the command exits 1.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use bucketward::audit::{audit_key_from_env, AuditError, AuditLog, DynamoAuditLog};
use bucketward::aws::dynamo::DynamoExceptionStore;
use bucketward::report::{
    build_report, human_duration, render_html, render_markdown, ChainStatus, EvidenceReport,
};
use chrono::{DateTime, NaiveDate, SubsecRound as _, TimeDelta, Utc};

use crate::context::{AwsArgs, Context};
use crate::exit;

#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// The start of the period: `30d`, `12h`, an RFC 3339 time or a date (UTC midnight).
    #[arg(long, default_value = "30d", value_parser = parse_since)]
    pub since: Since,
    #[arg(long, value_enum, default_value = "html")]
    pub format: ReportFormat,
    /// Write the report to this file (else to stdout); the headline figures go to stderr.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// The DynamoDB audit table.
    #[arg(long, env = "BUCKETWARD_AUDIT_TABLE")]
    pub audit_table: Option<String>,
    /// The DynamoDB exceptions table (else no exception is reported).
    #[arg(long, env = "BUCKETWARD_EXCEPTIONS_TABLE")]
    pub exceptions_table: Option<String>,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum ReportFormat {
    /// One self-contained page with charts, for auditors.
    Html,
    /// Markdown, for tickets and wikis.
    Md,
    /// Every figure, for tools.
    Json,
}

/// The start of the period, as given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Since {
    /// This long before now.
    Ago(TimeDelta),
    At(DateTime<Utc>),
}

impl Since {
    pub fn start(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Self::Ago(d) => now - *d,
            Self::At(t) => *t,
        }
    }
}

/// `30d`, `12h`, `2026-03-01T00:00:00Z` or `2026-03-01`.
pub fn parse_since(text: &str) -> Result<Since, String> {
    let text = text.trim();
    let relative = |digits: &str, unit: fn(i64) -> Option<TimeDelta>| {
        digits
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .and_then(unit)
            .map(Since::Ago)
    };
    let parsed = if let Some(days) = text.strip_suffix('d') {
        relative(days, TimeDelta::try_days)
    } else if let Some(hours) = text.strip_suffix('h') {
        relative(hours, TimeDelta::try_hours)
    } else {
        None
    };
    if let Some(since) = parsed {
        return Ok(since);
    }
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(Since::At(time.with_timezone(&Utc)));
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(Since::At(date.and_time(chrono::NaiveTime::MIN).and_utc()));
    }
    Err(format!(
        "`{text}` is not a period start: use `30d`, `12h`, an RFC 3339 time \
         (`2026-03-01T00:00:00Z`) or a date (`2026-03-01`)"
    ))
}

pub async fn run(args: &ReportArgs) -> anyhow::Result<u8> {
    let now = Utc::now().trunc_subsecs(0);
    let since = args.since.start(now);
    anyhow::ensure!(
        since <= now,
        "--since is in the future ({})",
        since.to_rfc3339()
    );
    let ctx = Context::load(&args.aws).await?;
    let table = args
        .audit_table
        .as_ref()
        .context("no audit table: pass --audit-table or set BUCKETWARD_AUDIT_TABLE")?;
    let key = audit_key_from_env()?;
    let log = DynamoAuditLog::new(ctx.clients.dynamodb.clone(), table, &ctx.account_id, key);
    let (entries, chain) = match log.verified_entries().await {
        Ok(entries) => {
            let chain = ChainStatus {
                verified: true,
                records: entries.len(),
                detail: None,
            };
            (entries, chain)
        }
        Err(error) => {
            tracing::warn!(%error, "the audit chain does not verify; reporting from the records as stored");
            let entries = log.entries().await.context("cannot read the audit chain")?;
            let chain = ChainStatus {
                verified: false,
                records: entries.len(),
                // The first bad record, without the "does not verify" the report says anyway.
                detail: Some(match &error {
                    AuditError::Chain(chain) => chain.to_string(),
                    other => other.to_string(),
                }),
            };
            (entries, chain)
        }
    };
    let exceptions = match &args.exceptions_table {
        Some(t) => DynamoExceptionStore::new(ctx.clients.dynamodb.clone(), t)
            .list()
            .await
            .context("cannot read the exceptions table")?,
        None => Vec::new(),
    };
    let mut report = build_report(&entries, &exceptions, chain, since, now);
    if args.exceptions_table.is_none() {
        report.notes.push(
            "No exceptions table was given (--exceptions-table or BUCKETWARD_EXCEPTIONS_TABLE): \
             exceptions are not reported."
                .to_owned(),
        );
    }
    let text = match args.format {
        ReportFormat::Html => render_html(&report),
        ReportFormat::Md => render_markdown(&report),
        ReportFormat::Json => serde_json::to_string_pretty(&report)? + "\n",
    };
    match &args.output {
        Some(path) => {
            std::fs::write(path, &text)
                .with_context(|| format!("cannot write `{}`", path.display()))?;
            eprintln!("wrote {}", path.display());
            eprintln!("{}", headline(&report));
        }
        None => std::io::stdout()
            .lock()
            .write_all(text.as_bytes())
            .context("cannot write the report to stdout")?,
    }
    Ok(if report.chain.verified {
        exit::OK
    } else {
        exit::FAILURE
    })
}

/// The figures an operator wants to see at once, one per line.
pub fn headline(r: &EvidenceReport) -> String {
    let seconds = |s: Option<f64>| s.map_or_else(|| "n/a".to_owned(), human_duration);
    let rate =
        |r: Option<f64>| r.map_or_else(|| "n/a".to_owned(), |r| format!("{:.1}%", r * 100.0));
    let chain = if r.chain.verified {
        format!("verified ({} records)", r.chain.records)
    } else {
        format!(
            "NOT VERIFIED ({} records): {}",
            r.chain.records,
            r.chain.detail.as_deref().unwrap_or("no detail")
        )
    };
    format!(
        "period        {} to {}\n\
         audit chain   {chain}\n\
         fixes         {} (MTTR p50 {}, p90 {})\n\
         detection     {} exposures, latency p50 {}, p90 {}\n\
         recurrence    {} ({} of {} fixed buckets)\n\
         false pos.    {} ({} of {} reviewed proposals)\n\
         open          {} proposal(s) awaiting a decision\n\
         exceptions    {} expiring within 14 days, {} expired",
        r.since.format("%Y-%m-%d %H:%M UTC"),
        r.until.format("%Y-%m-%d %H:%M UTC"),
        r.mttr.fixes,
        seconds(r.mttr.overall.p50_seconds),
        seconds(r.mttr.overall.p90_seconds),
        r.detection.exposures,
        seconds(r.detection.latency.p50_seconds),
        seconds(r.detection.latency.p90_seconds),
        rate(r.recurrence.rate),
        r.recurrence.recurred_buckets,
        r.recurrence.fixed_buckets,
        rate(r.false_positives.rate),
        r.false_positives.rejected_as_intended,
        r.false_positives.reviewed,
        r.open_proposals.len(),
        r.exceptions.expiring_soon.len(),
        r.exceptions.expired.len(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn since_takes_days_hours_times_and_dates() {
        let now = at("2026-03-31T12:00:00Z");
        let start = |text: &str| parse_since(text).unwrap().start(now);
        assert_eq!(start("30d"), at("2026-03-01T12:00:00Z"));
        assert_eq!(start("12h"), at("2026-03-31T00:00:00Z"));
        assert_eq!(start("0d"), now);
        assert_eq!(
            start("2026-03-01T00:00:00+02:00"),
            at("2026-02-28T22:00:00Z")
        );
        assert_eq!(start("2026-03-01"), at("2026-03-01T00:00:00Z"));
        for bad in [
            "",
            "d",
            "-3d",
            "30",
            "30m",
            "3.5d",
            "yesterday",
            "99999999999999d",
        ] {
            let error = parse_since(bad).unwrap_err();
            assert!(error.contains("is not a period start"), "{bad}: {error}");
        }
    }

    #[test]
    fn the_headline_names_the_figures() {
        let chain = ChainStatus {
            verified: false,
            records: 3,
            detail: Some("record seq 2 was modified".to_owned()),
        };
        let now = at("2026-03-31T00:00:00Z");
        let report = build_report(&[], &[], chain, at("2026-03-01T00:00:00Z"), now);
        let text = headline(&report);
        assert!(text.contains("NOT VERIFIED (3 records): record seq 2 was modified"));
        assert!(text.contains("fixes         0 (MTTR p50 n/a, p90 n/a)"));
        assert!(text.contains("2026-03-01 00:00 UTC to 2026-03-31 00:00 UTC"));
    }
}
