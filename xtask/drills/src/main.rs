//! `spacewars-drills`: drills against the release game server (run them as
//! `cargo xtask drills chaos ...` and `cargo xtask drills abuse ...`, which build both in
//! release).
//!
//! - [`chaos`]: crash drills (SIGKILL/SIGTERM at random moments, invariants checked after
//!   each restart), database fault drills through a freezable proxy, the failover drill
//!   behind HAProxy.
//! - [`abuse`]: hostile floods (logins, guessing, registrations, silent connections) while
//!   an honest player plays.

pub mod abuse;
pub mod chaos;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "spacewars-drills", about = "Spacewars drills")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Crash drills, database fault drills and the failover drill.
    Chaos(chaos::ChaosArgs),
    /// Login, guessing, registration and slow-connection floods with an honest player.
    Abuse(abuse::AbuseArgs),
}

fn main() -> anyhow::Result<()> {
    match &Cli::parse().task {
        Task::Chaos(args) => chaos::run(args),
        Task::Abuse(args) => abuse::run(args),
    }
}
