//! `bucketward evaluate SNAPSHOT.json`

use std::fmt::Write as _;
use std::path::PathBuf;

use bucketward::{evaluate, Snapshot, Status, Verdict};

use crate::exit;
use crate::input::{display_name, read_document};

#[derive(clap::Args)]
pub struct Args {
    /// The snapshot document, or `-` for stdin.
    snapshot: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
    /// Exit 3 when the bucket is public.
    #[arg(long)]
    fail_on_public: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Json,
    Table,
}

pub fn run(args: &Args) -> u8 {
    let name = display_name(&args.snapshot);
    let snapshot = match read_document(&args.snapshot)
        .and_then(|text| Snapshot::from_json(&text).map_err(|e| format!("{name}: {e}")))
    {
        Ok(s) => s,
        Err(message) => {
            eprintln!("error: {message}");
            return exit::INVALID_INPUT;
        }
    };
    let verdict = evaluate(&snapshot);
    // Severity needs the bucket's intent: both go alongside the verdict.
    let intent = bucketward::classify::classify(&snapshot).intent;
    let severity = bucketward::severity::severity(&verdict, intent);
    let mut output = serde_json::to_value(&verdict).unwrap_or_default();
    if let Some(map) = output.as_object_mut() {
        map.insert("severity".to_owned(), serde_json::json!(severity));
        map.insert("intent".to_owned(), serde_json::json!(intent));
    }
    match args.format {
        Format::Json => match serde_json::to_string_pretty(&output) {
            Ok(json) => println!("{json}"),
            Err(e) => {
                eprintln!("error: cannot encode the verdict: {e}");
                return exit::FAILURE;
            }
        },
        Format::Table => print!("severity          {severity}\n{}", table(&verdict)),
    }
    if args.fail_on_public && verdict.public {
        exit::PUBLIC
    } else {
        exit::OK
    }
}

/// A human view of a verdict.
pub fn table(verdict: &Verdict) -> String {
    let mut out = String::new();
    let yes = |b: bool| if b { "yes" } else { "no" };
    let kinds = |k: bucketward::policy::ExposureKinds| {
        let names = k.names();
        if names.is_empty() {
            "-".to_owned()
        } else {
            names.join(", ")
        }
    };
    let _ = writeln!(out, "bucket            {}", verdict.bucket);
    let _ = writeln!(out, "public now        {}", yes(verdict.public));
    let _ = writeln!(out, "exposure          {}", kinds(verdict.exposure));
    let _ = writeln!(out, "latent            {}", kinds(verdict.latent));
    let _ = writeln!(out, "policy is public  {}", yes(verdict.policy_is_public));
    let _ = writeln!(out, "ACL is public     {}", yes(verdict.acl_is_public));
    if !verdict.findings.is_empty() {
        let _ = writeln!(
            out,
            "\n{:<8} {:<13} {:<28} message",
            "status", "layer", "code"
        );
        for f in &verdict.findings {
            let status = match f.status {
                Status::Public => "PUBLIC",
                Status::Latent => "latent",
                Status::Info => "info",
            };
            let layer = serde_json::to_value(f.layer)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            let _ = writeln!(out, "{status:<8} {layer:<13} {:<28} {}", f.code, f.message);
        }
    }
    out
}
