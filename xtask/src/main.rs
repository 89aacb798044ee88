//! Developer tasks: `cargo xtask <task>`.
//!
//! - `ci`: the checks CI runs (format, clippy and docs with `-D warnings`, the whole test
//!   suite).
//! - `load`: the release server under a Rust load generator (`--mode players|max`,
//!   `--compare` for cached vs db vs a minimal hyper server, `--sync`
//!   for following the world by full polls, delta polls or the event streams,
//!   `--mode capacity` for the most players each of those holds).
//! - `bench`: criterion benchmarks of the hot paths, then the compare load run.
//! - `chaos`: SIGKILL/SIGTERM crash drills with invariant checks after each restart; database
//!   fault drills (`--freeze-db`, `--outage-sigterm`, `--paused-owner`) through a freezable
//!   proxy to a local PostgreSQL; the failover drill (`--failover`): an owner and standbys
//!   behind HAProxy, the owner killed every cycle.
//! - `drill abuse`: hostile floods (logins, guessing, registrations, silent connections)
//!   while an honest player plays; memory, lease and latency figures.
//!
//! Everything talks to 127.0.0.1 only, and every loop is bounded in count and time.

mod aim;
mod api;
mod bench;
mod cargo;
mod chaos;
mod ci;
mod drill;
mod http_client;
mod load;
mod machine;
mod metrics;
mod minimal_server;
mod player;
mod server_process;

use std::process::Command;

use anyhow::Context;
use clap::{Parser, Subcommand};

/// Set in a release xtask started by a debug one, so it does not re-execute again.
const RELEASE_ENV: &str = "XTASK_RELEASE_CHILD";

#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about = "Spacewars developer tasks")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// fmt check, clippy and docs with -D warnings, all tests (what CI runs).
    Ci,
    /// Load the release server: players polling, or a closed loop; --compare for the
    /// cached / db / minimal comparison; --sync for full polls vs deltas vs the stream.
    Load(load::LoadArgs),
    /// Criterion benchmarks of the hot paths, then the compare load run.
    Bench(bench::BenchArgs),
    /// Crash drills: kill or stop the server at random moments and check what survived;
    /// database fault drills (frozen link, SIGTERM during an outage, paused owner); the
    /// failover drill behind HAProxy (--failover).
    Chaos(chaos::ChaosArgs),
    /// Drills against the release server: `drill abuse` floods it as an attacker would.
    Drill(drill::DrillArgs),
    /// The minimal hyper server used as the ceiling by `load --compare` (internal).
    #[command(hide = true)]
    MinimalServer(minimal_server::MinimalServerArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match &cli.task {
        Task::Ci => ci::run(),
        Task::Load(args) => {
            in_release()?;
            load::run(args)
        }
        Task::Bench(args) => {
            in_release()?;
            bench::run(args)
        }
        Task::Chaos(args) => chaos::run(args),
        Task::Drill(args) => {
            in_release()?;
            drill::run(args)
        }
        Task::MinimalServer(args) => minimal_server::run(args),
    }
}

/// Measurements run in a release build of xtask: a debug load generator would spend
/// the shared cores on itself and flatten the comparison. From a debug build this builds
/// xtask and the server in release, runs the same command there, and exits with its code.
fn in_release() -> anyhow::Result<()> {
    if !cfg!(debug_assertions) || std::env::var_os(RELEASE_ENV).is_some() {
        return Ok(());
    }
    let release = cargo::build_release(&["game-server", "xtask"])?;
    let status = Command::new(release.join("xtask"))
        .args(std::env::args_os().skip(1))
        .env(RELEASE_ENV, "1")
        .env(load::SERVER_BUILT_ENV, "1")
        .status()
        .context("running the release xtask")?;
    // The release xtask has reported its own outcome; pass its exit code on.
    std::process::exit(status.code().unwrap_or(1));
}
