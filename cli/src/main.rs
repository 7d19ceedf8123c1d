//! `bucketward`: the same pipeline as the Lambdas, driven from a terminal.

mod commands;
mod input;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Keeps S3 buckets from being public by accident.
#[derive(Parser)]
#[command(name = "bucketward", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Evaluate a snapshot file (or `-` for stdin) and print the verdict.
    Evaluate(commands::evaluate::Args),
}

/// Exit codes, stable for pipelines.
pub mod exit {
    pub const OK: u8 = 0;
    pub const FAILURE: u8 = 1;
    pub const INVALID_INPUT: u8 = 2;
    pub const PUBLIC: u8 = 3;
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Evaluate(args) => commands::evaluate::run(&args),
    };
    ExitCode::from(code)
}
