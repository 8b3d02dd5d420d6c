//! The `eaxc` command: parses the command line and hands it to [`eaxc::cli::run`].

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = eaxc::cli::Cli::parse();
    ExitCode::from(eaxc::cli::run(&cli))
}
