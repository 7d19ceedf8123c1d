//! `bucketward classify SNAPSHOT.json`

use std::path::PathBuf;

use bucketward::classify::classify;
use bucketward::Snapshot;

use crate::exit;
use crate::input::{display_name, read_document};

#[derive(clap::Args)]
pub struct Args {
    /// The snapshot document, or `-` for stdin.
    snapshot: PathBuf,
}

/// Prints the bucket's intent (public content, sensitive data or unknown) with its reasons.
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
    match serde_json::to_string_pretty(&classify(&snapshot)) {
        Ok(json) => {
            println!("{json}");
            exit::OK
        }
        Err(e) => {
            eprintln!("error: cannot encode the classification: {e}");
            exit::FAILURE
        }
    }
}
