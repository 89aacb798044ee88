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

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

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
    let matches = Cli::command().get_matches();
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    if let (Task::Chaos(args), Some(("chaos", chaos))) = (&mut cli.task, matches.subcommand()) {
        // The edge drill's own defaults: fewer rounds (each runs five faults), more players.
        let defaulted = |id| chaos.value_source(id) == Some(ValueSource::DefaultValue);
        if args.edges && defaulted("cycles") {
            args.cycles = 3;
        }
        if args.edges && defaulted("players") {
            args.players = 24;
        }
    }
    match &cli.task {
        Task::Chaos(args) => chaos::run(args),
        Task::Abuse(args) => abuse::run(args),
    }
}
