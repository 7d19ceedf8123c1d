//! `make bench` part 2: sweep throughput against the local emulator.
//!
//! For each account size it seeds a realistic mix (85% private with BPA, 5% public by policy,
//! 5% public by ACL, 5% private without BPA), measures the emulator's own ceiling with a minimal
//! request loop at the same concurrency, then times `bucketward sweep` (release build) as a
//! child process and reads its peak RSS. Prints buckets/s, AWS calls per bucket, peak RSS and
//! the sweep's throughput as a share of the emulator ceiling.
//!
//! Usage: bench_sweep [SIZES (comma-separated, default 1000,5000,10000)] [CONCURRENCY (16)]

use std::process::Command;
use std::time::Instant;

use aws_sdk_s3::types::PublicAccessBlockConfiguration;
use bucketward_tests::{scenario, Emulator};
use futures::stream::{self, StreamExt};
use serde_json::Value;

async fn seed(emu: &Emulator, n: usize) {
    let s3 = &emu.clients.s3;
    let all_on = PublicAccessBlockConfiguration::builder()
        .block_public_acls(true)
        .ignore_public_acls(true)
        .block_public_policy(true)
        .restrict_public_buckets(true)
        .build();
    stream::iter(0..n)
        .for_each_concurrent(32, |i| {
            let all_on = all_on.clone();
            async move {
                let b = format!("bench-{i:06}");
                s3.create_bucket().bucket(&b).send().await.expect("create");
                match i % 20 {
                    0 => {
                        s3.put_bucket_policy()
                            .bucket(&b)
                            .policy(scenario::mixed_policy(&b))
                            .send()
                            .await
                            .expect("policy");
                    }
                    1 => scenario::put_legacy_acl(s3, &b, false).await,
                    2 => {}
                    _ => {
                        s3.put_public_access_block()
                            .bucket(&b)
                            .public_access_block_configuration(all_on)
                            .send()
                            .await
                            .expect("bpa");
                    }
                }
            }
        })
        .await;
}

/// Requests per second the emulator serves for a minimal loop of cheap S3 reads.
async fn ceiling(emu: &Emulator, n: usize, requests: usize, concurrency: usize) -> f64 {
    let s3 = &emu.clients.s3;
    let started = Instant::now();
    stream::iter(0..requests)
        .for_each_concurrent(concurrency, |i| async move {
            let _ = s3
                .get_public_access_block()
                .bucket(format!("bench-{:06}", i % n))
                .send()
                .await;
        })
        .await;
    requests as f64 / started.elapsed().as_secs_f64()
}

/// Runs a command, sampling its peak resident set (VmHWM, a high-water mark) every 20 ms.
fn run_measured(cmd: &mut Command) -> (std::process::Output, f64) {
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak_kb = 0u64;
    let reader = {
        let mut stdout = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            std::io::Read::read_to_end(&mut stdout, &mut buf)
                .map(|_| buf)
                .unwrap_or_default()
        })
    };
    loop {
        if let Ok(text) = std::fs::read_to_string(&status_path) {
            if let Some(kb) = text
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
            {
                peak_kb = peak_kb.max(kb);
            }
        }
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let stdout = reader.join().unwrap_or_default();
    let mut output = child.wait_with_output().expect("output");
    output.stdout = stdout;
    (output, peak_kb as f64 / 1024.0)
}

/// This process's CPU time (user + system) in seconds, from /proc/self/stat.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime is 14th, stime 15th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // Linux reports in clock ticks of 1/100 s (USER_HZ).
    (ticks(11) + ticks(12)) / 100.0
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Per-event processing: `n` public buckets, one PutBucketPolicy event each, through the
/// in-process pipeline (autopilot). Reports wall time per event (emulator included), AWS calls
/// per event, the emulator's own latency per call, and this process's CPU time per event (the
/// handler's overhead without the emulator's time).
async fn event_bench(emu: &Emulator, n: usize) {
    use bucketward::aws::remediate::Remediator;
    use bucketward::decide::{CategoryModes, DecideConfig, Mode};
    use bucketward::pipeline::{Pipeline, PipelineConfig};

    emu.reset().await;
    let s3 = &emu.clients.s3;
    for i in 0..n {
        let b = format!("event-{i:05}");
        s3.create_bucket().bucket(&b).send().await.expect("create");
        s3.put_bucket_policy()
            .bucket(&b)
            .policy(scenario::mixed_policy(&b))
            .send()
            .await
            .expect("policy");
    }
    let pipeline = Pipeline {
        remediator: Remediator::new(bucketward::aws::s3::SnapshotReader::new(
            emu.clients.clone(),
            bucketward_tests::ACCOUNT_ID,
        )),
        store: bucketward::store::MemoryActionStore::default(),
        dedupe: bucketward::store::MemoryDedupe::default(),
        notifier: bucketward::notify::MemoryNotifier::default(),
        config: PipelineConfig {
            decide: DecideConfig {
                modes: CategoryModes::all(Mode::Autopilot),
                harden_missing_bpa: false,
            },
            ..PipelineConfig::default()
        },
        exceptions: Vec::new(),
        approval_links: None,
        git: None,
    };
    let mut walls = Vec::new();
    let calls_before = emu.clients.calls();
    let cpu_before = cpu_seconds();
    for i in 0..n {
        let event = bucketward_tests::infra::cloudtrail_event(
            "put_bucket_policy.json",
            &format!("event-{i:05}"),
        );
        let event = bucketward::event::ApiCallEvent::from_value(&event).expect("event");
        let t = Instant::now();
        let out = pipeline.handle_event(&event).await.expect("handled");
        walls.push(t.elapsed().as_secs_f64() * 1000.0);
        let v = serde_json::to_value(&out).expect("json");
        assert_eq!(v["result"]["outcome"], "fixed", "{v}");
    }
    let cpu_ms = (cpu_seconds() - cpu_before) * 1000.0 / n as f64;
    let calls = (emu.clients.calls() - calls_before) as f64 / n as f64;
    walls.sort_by(f64::total_cmp);
    // The emulator's latency for one cheap call, sequentially.
    let mut lat = Vec::new();
    for i in 0..200 {
        let t = Instant::now();
        let _ = s3
            .get_public_access_block()
            .bucket(format!("event-{:05}", i % n))
            .send()
            .await;
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    lat.sort_by(f64::total_cmp);
    println!("\nper-event processing ({n} PutBucketPolicy events, autopilot, in-process pipeline against moto):");
    println!(
        "  wall time per event (emulator included): p50 {:.1} ms, p99 {:.1} ms",
        percentile(&walls, 50.0),
        percentile(&walls, 99.0)
    );
    println!(
        "  AWS calls per event: {calls:.1}; emulator latency per call: p50 {:.2} ms, p99 {:.2} ms",
        percentile(&lat, 50.0),
        percentile(&lat, 99.0)
    );
    println!("  handler CPU time per event (this process, emulator excluded): mean {cpu_ms:.2} ms");
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let sizes: Vec<usize> = args
        .get(1)
        .map_or("1000,5000,10000", String::as_str)
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let concurrency: usize = args.get(2).and_then(|c| c.parse().ok()).unwrap_or(16);
    let bin = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/bucketward");
    assert!(
        bin.exists(),
        "build the CLI first: cargo build --release -p bucketward-cli"
    );
    let emu = Emulator::connect().await;
    println!(
        "sweep benchmark against moto at {} (concurrency {concurrency}, dry-run)",
        emu.endpoint
    );
    println!(
        "{:>7} {:>11} {:>10} {:>14} {:>13} {:>14} {:>9} {:>8}",
        "buckets",
        "sweep b/s",
        "calls/b",
        "emu req/s",
        "ceiling b/s",
        "share of ceil",
        "RSS MB",
        "public"
    );
    for n in sizes {
        emu.reset().await;
        let t = Instant::now();
        seed(&emu, n).await;
        let seeded = t.elapsed();
        let started = Instant::now();
        let (out, rss_mb) = run_measured(
            Command::new(&bin)
                .args([
                    "sweep",
                    "--mode",
                    "dry-run",
                    "--output",
                    "json",
                    "--concurrency",
                    &concurrency.to_string(),
                    "--state-dir",
                ])
                .arg(std::env::temp_dir().join("bucketward-bench")),
        );
        let wall = started.elapsed().as_secs_f64();
        assert!(
            out.status.success(),
            "sweep failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let summary: Value = serde_json::from_slice(&out.stdout).expect("summary json");
        let calls = summary["calls_per_bucket"].as_f64().unwrap_or(0.0);
        let seen = summary["seen"].as_f64().unwrap_or(0.0);
        let bps = seen / wall;
        let req_s = ceiling(&emu, n, (n * 3).max(3000), concurrency).await;
        let ceiling_bps = if calls > 0.0 { req_s / calls } else { 0.0 };
        println!(
            "{n:>7} {bps:>11.1} {calls:>10.2} {req_s:>14.1} {ceiling_bps:>13.1} {:>13.0}% {rss_mb:>9.1} {:>8}",
            100.0 * bps / ceiling_bps,
            summary["public"]
        );
        eprintln!("  (seeded {n} buckets in {:.1} s; sweep wall time {wall:.2} s, including process start)", seeded.as_secs_f64());
    }
    event_bench(&emu, 200).await;
    println!("RSS: peak resident set (VmHWM) of the sweep process. Ceiling: emulator requests/s for a minimal GetPublicAccessBlock loop at the same concurrency, divided by the sweep's calls per bucket.");
}
