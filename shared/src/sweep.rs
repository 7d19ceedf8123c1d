//! The sweep: every bucket through the same pipeline as the events, with bounded concurrency,
//! page by page (memory does not grow with the number of buckets beyond the summary), stopping
//! cleanly before a deadline with a checkpoint to continue from.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use futures::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};

use crate::action::{Outcome, Trigger};
use crate::aws::error::aws_error;
use crate::metrics::{emf_line, Metric};
use crate::notify::Notifier;
use crate::pipeline::{BucketOutcome, Pipeline, PipelineError};
use crate::store::{ActionStore, EventDedupe};

/// How a sweep runs.
#[derive(Debug, Clone, Default)]
pub struct SweepOptions {
    /// Buckets handled at once (at least 1).
    pub concurrency: usize,
    /// Continue after this bucket name (a checkpoint from an earlier, unfinished sweep).
    pub start_after: Option<String>,
    /// Start no bucket after this instant; the summary then carries a checkpoint.
    pub deadline: Option<Instant>,
    /// Start at most this many buckets (for tests and partial runs).
    pub max_buckets: Option<usize>,
    /// What the records say started this; the schedule when `None`.
    pub trigger: Option<Trigger>,
}

/// Buckets per ListBuckets page: S3's maximum. (The emulator returns no continuation token, so
/// a smaller page would silently end its listings early.)
pub const LIST_PAGE: i32 = 10_000;

/// One bucket that needs a person's attention: public, acted on, or unreadable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepItem {
    pub bucket: String,
    pub status: String,
    pub detail: String,
}

/// The sweep's result, small whatever the number of buckets.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SweepSummary {
    pub seen: u64,
    pub public: u64,
    pub latent: u64,
    pub fixed: u64,
    pub proposed: u64,
    pub reported: u64,
    pub excepted: u64,
    pub errors: u64,
    pub duration_ms: u64,
    pub buckets_per_second: f64,
    /// S3 and S3 Control requests made by the sweep.
    pub aws_calls: u64,
    pub calls_per_bucket: f64,
    /// Whether every bucket was handled; if not, continue after `checkpoint`.
    pub complete: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<String>,
    /// Buckets worth a look (public, acted on, or unreadable).
    pub items: Vec<SweepItem>,
}

impl SweepSummary {
    fn add(&mut self, result: &Result<BucketOutcome, (String, String)>) -> Option<SweepItem> {
        self.seen += 1;
        match result {
            Err((bucket, error)) => {
                self.errors += 1;
                Some(SweepItem {
                    bucket: bucket.clone(),
                    status: "error".to_owned(),
                    detail: error.clone(),
                })
            }
            Ok(o) => {
                self.public += u64::from(o.public);
                self.latent += u64::from(o.latent && !o.public);
                let status = match o.outcome {
                    Some(Outcome::Fixed) => {
                        self.fixed += 1;
                        "fixed"
                    }
                    Some(Outcome::Proposed) => {
                        self.proposed += 1;
                        "proposed"
                    }
                    Some(Outcome::PullRequest) => {
                        self.proposed += 1;
                        return Some(SweepItem {
                            bucket: o.bucket.clone(),
                            status: "pull_request".to_owned(),
                            detail: o.pull_request.clone().unwrap_or_default(),
                        });
                    }
                    Some(Outcome::DryRun) => {
                        self.reported += 1;
                        "reported"
                    }
                    Some(Outcome::Failed | Outcome::Unverified) => {
                        self.errors += 1;
                        "failed"
                    }
                    Some(Outcome::Gone) => "gone",
                    Some(Outcome::Approved | Outcome::Rejected) => "reviewed",
                    Some(Outcome::NothingToDo) | None => {
                        if let crate::decide::Decision::NoAction { reason } = &o.decision {
                            if reason.starts_with("excepted") {
                                self.excepted += 1;
                                return Some(SweepItem {
                                    bucket: o.bucket.clone(),
                                    status: "excepted".to_owned(),
                                    detail: reason.clone(),
                                });
                            }
                        }
                        if !o.errors.is_empty() {
                            self.errors += 1;
                            return Some(SweepItem {
                                bucket: o.bucket.clone(),
                                status: "unreadable".to_owned(),
                                detail: o.errors.join(", "),
                            });
                        }
                        return None;
                    }
                };
                Some(SweepItem {
                    bucket: o.bucket.clone(),
                    status: status.to_owned(),
                    detail: o.applied.join("; "),
                })
            }
        }
    }

    /// The EMF metrics line for this sweep.
    pub fn metrics_line(&self, function: &str, now_ms: i64) -> String {
        #[allow(clippy::cast_precision_loss)]
        let metrics = [
            Metric {
                name: "BucketsPerSecond",
                value: self.buckets_per_second,
                unit: "Count/Second",
            },
            Metric {
                name: "BucketsSwept",
                value: self.seen as f64,
                unit: "Count",
            },
            Metric {
                name: "PublicFound",
                value: self.public as f64,
                unit: "Count",
            },
            Metric {
                name: "Errors",
                value: self.errors as f64,
                unit: "Count",
            },
            Metric {
                name: "Duration",
                value: self.duration_ms as f64,
                unit: "Milliseconds",
            },
        ];
        emf_line(
            function,
            now_ms,
            &metrics,
            &[("complete", serde_json::json!(self.complete))],
        )
    }
}

/// Sweeps every bucket of the account. `on_item` sees each bucket as it completes (for a
/// progress bar); `on_total` the number of buckets listed so far.
pub async fn sweep<S: ActionStore, D: EventDedupe, N: Notifier>(
    pipeline: &Pipeline<S, D, N>,
    options: &SweepOptions,
    mut on_progress: impl FnMut(SweepProgress<'_>),
) -> Result<SweepSummary, PipelineError> {
    let started = Instant::now();
    let clients = pipeline.remediator.reader().clients();
    let calls_before = clients.calls();
    let mut summary = SweepSummary {
        complete: true,
        ..SweepSummary::default()
    };
    let stop = AtomicBool::new(false);
    let concurrency = options.concurrency.max(1);
    let mut started_count = 0usize;
    let mut token: Option<String> = None;
    let mut last_done: Option<String> = options.start_after.clone();
    'pages: loop {
        let page = clients
            .s3
            .list_buckets()
            .max_buckets(LIST_PAGE)
            .set_continuation_token(token.take())
            .send()
            .await
            .map_err(|e| aws_error("ListBuckets", e))?;
        let mut buckets: Vec<(String, Option<String>)> = page
            .buckets()
            .iter()
            .filter_map(|b| Some((b.name()?.to_owned(), b.bucket_region().map(str::to_owned))))
            .filter(|(name, _)| {
                options
                    .start_after
                    .as_ref()
                    .is_none_or(|after| name > after)
            })
            .collect();
        // S3 lists buckets by name; the checkpoint relies on that order.
        buckets.sort_by(|a, b| a.0.cmp(&b.0));
        let page_len = started_count + buckets.len();
        if let Some(max) = options.max_buckets {
            buckets.truncate(max.saturating_sub(started_count));
        }
        started_count += buckets.len();
        on_progress(SweepProgress::Listed(buckets.len()));
        let stop = &stop;
        let trigger = options.trigger.clone().unwrap_or(Trigger::Sweep);
        let trigger = &trigger;
        let mut results = stream::iter(buckets)
            .map(|(name, region)| async move {
                if stop.load(Ordering::Relaxed)
                    || options.deadline.is_some_and(|d| Instant::now() >= d)
                {
                    stop.store(true, Ordering::Relaxed);
                    return (name, None);
                }
                // Boxed: each bucket's future is large.
                let result = Box::pin(pipeline.process_bucket(
                    &name,
                    region.as_deref(),
                    None,
                    trigger.clone(),
                ))
                .await
                .map_err(|e| (name.clone(), e.to_string()));
                (name, Some(result))
            })
            .buffered(concurrency);
        while let Some((name, result)) = results.next().await {
            let Some(result) = result else {
                // Not started: the deadline came. Everything before it in order is done.
                summary.complete = false;
                continue;
            };
            if summary.complete {
                last_done = Some(name.clone());
            }
            let item = summary.add(&result);
            on_progress(SweepProgress::Done {
                bucket: &name,
                item: item.as_ref(),
            });
            if let Some(item) = item {
                summary.items.push(item);
            }
        }
        token = page.continuation_token().map(str::to_owned);
        if !summary.complete {
            break 'pages;
        }
        if let Some(max) = options.max_buckets {
            if started_count >= max && (token.is_some() || page_len > started_count) {
                summary.complete = false;
                break 'pages;
            }
        }
        if token.is_none() {
            break 'pages;
        }
    }
    if !summary.complete {
        summary.checkpoint = last_done;
    }
    let elapsed = started.elapsed();
    summary.duration_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
    #[allow(clippy::cast_precision_loss)]
    {
        summary.buckets_per_second = if elapsed.as_secs_f64() > 0.0 {
            summary.seen as f64 / elapsed.as_secs_f64()
        } else {
            0.0
        };
        summary.aws_calls = clients.calls() - calls_before;
        summary.calls_per_bucket = if summary.seen > 0 {
            summary.aws_calls as f64 / summary.seen as f64
        } else {
            0.0
        };
    }
    Ok(summary)
}

/// Progress reports for a terminal.
#[derive(Debug)]
pub enum SweepProgress<'a> {
    /// More buckets were listed.
    Listed(usize),
    /// A bucket was handled; `item` when it needs a look.
    Done {
        bucket: &'a str,
        item: Option<&'a SweepItem>,
    },
}
