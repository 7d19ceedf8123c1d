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
    println!("RSS: peak resident set (VmHWM) of the sweep process. Ceiling: emulator requests/s for a minimal GetPublicAccessBlock loop at the same concurrency, divided by the sweep's calls per bucket.");
}
