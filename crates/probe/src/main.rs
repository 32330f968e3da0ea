//! `probe`: health probes for Kubernetes, Docker and load balancers.
//!
//! This file only wires: parse the command line, then run it. Exit status: 0 done or up,
//! 1 down or a runtime failure, 2 bad usage, 64 bad configuration.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    probe::app::main(probe::cli::Cli::parse(), &probe::env::ProcessEnv)
}
