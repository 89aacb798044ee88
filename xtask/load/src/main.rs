//! `spacewars-load`: the release game server on a fresh database under a Rust load
//! generator (run it as `cargo xtask load ...`, which builds both in release).
//!
//! - [`single`]: one load shape on one server (a closed loop, or polling players).
//! - [`compare`]: the cached / db / minimal comparison, judged by [`verdict`].
//! - [`sync`]: the world-sync comparison (full polls, delta polls, the event streams).
//! - [`capacity`]: the capacity ramp of each way of following the world.
//! - [`generator`], [`report`], [`figures`], [`round_trips`], [`cpu`]: the load loops and
//!   what they measure.
//! - [`minimal_server`]: the ceiling `compare` measures (this binary, hidden subcommand).
//! - [`soak`]: stream players steering for a long time, the server's memory sampled.
//! - [`server`]: the measured server and the load generator's runtime; [`args`]: the flags;
//!   [`affinity`]: the CPUs the server and the generator are pinned to.

pub mod affinity;
pub mod args;
pub mod capacity;
pub mod compare;
pub mod cpu;
pub mod figures;
pub mod generator;
pub mod minimal_server;
pub mod report;
pub mod round_trips;
pub mod server;
pub mod single;
pub mod soak;
pub mod sync;
pub mod verdict;

use clap::{Parser, Subcommand};
use spacewars_harness::binary::server_binary;

use args::{CapacityCommand, CompareArgs, MaxArgs, PlayersArgs, SyncCommand};

#[derive(Debug, Parser)]
#[command(name = "spacewars-load", about = "Spacewars load generator")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// A closed loop hammering `GET /api/world`.
    Max(MaxArgs),
    /// Logged-in players polling the world every ~3 s plus stats, navigate and collect.
    Players(PlayersArgs),
    /// The closed loop on the cached server, the db server and a minimal hyper server
    /// (this machine's ceiling), judged against the targets.
    Compare(CompareArgs),
    /// The world-sync comparison: signed-in players acting and following the world by
    /// full polls, delta polls, the area stream or the whole-world stream.
    Sync(SyncCommand),
    /// The capacity ramp: per way of following the world, players at constant density
    /// until action p99 or errors say stop.
    Capacity(CapacityCommand),
    /// Stream players steering for a long time while the server's memory is sampled
    /// every minute (does it level off?).
    Soak(soak::SoakArgs),
    /// The minimal hyper server used as the ceiling by `compare` (internal).
    #[command(hide = true)]
    MinimalServer(minimal_server::MinimalServerArgs),
}

fn main() -> anyhow::Result<()> {
    let mut task = Cli::parse().task;
    // Capacity and soak pin the server and the generator by default; sync only when asked.
    match &mut task {
        Task::Sync(args) => settle(&mut args.sync.affinity, &mut args.sync.runner, false)?,
        Task::Capacity(args) => settle(&mut args.affinity, &mut args.runner, true)?,
        Task::Soak(args) => settle(&mut args.affinity, &mut args.runner, true)?,
        _ => {}
    }
    let runner = match &task {
        Task::Max(args) => &args.server.runner,
        Task::Players(args) => &args.server.runner,
        Task::Compare(args) => &args.runner,
        Task::Sync(args) => &args.sync.runner,
        Task::Capacity(args) => &args.runner,
        Task::Soak(args) => &args.runner,
        Task::MinimalServer(args) => return minimal_server::run(args),
    };
    if cfg!(debug_assertions) {
        eprintln!(
            "spacewars-load: a debug build spends the shared cores on itself; measure with \
             `cargo xtask load ...` (release)"
        );
    }
    let binary = server_binary()?;
    let runtime = server::client_runtime(runner.threads())?;
    match &task {
        Task::Max(args) => runtime.block_on(single::max(&binary, args)),
        Task::Players(args) => runtime.block_on(single::players(&binary, args)),
        Task::Compare(args) => {
            let outcome = runtime.block_on(compare::run(&binary, args))?;
            anyhow::ensure!(
                outcome.all_passed() || !args.strict,
                "some targets were missed (see above)"
            );
            Ok(())
        }
        Task::Sync(args) => runtime.block_on(sync::run(&binary, &args.sync, args.follow)),
        Task::Capacity(args) => runtime.block_on(capacity::run(&binary, args)),
        Task::Soak(args) => runtime.block_on(soak::run(&binary, args)),
        Task::MinimalServer(args) => minimal_server::run(args),
    }
}

/// Fills the affinity flags left open (pinning by default when `pin_by_default`), gives
/// the generator one worker per CPU it is pinned to unless `--client-threads` says
/// otherwise, and pins this process before its runtime starts.
fn settle(
    affinity: &mut affinity::Affinity,
    runner: &mut args::Runner,
    pin_by_default: bool,
) -> anyhow::Result<()> {
    *affinity = affinity.resolved(pin_by_default, &affinity::allowed()?);
    if let Some(cpus) = affinity.generator() {
        runner.client_threads.get_or_insert(cpus.cpus().len());
        affinity::pin_this_process(cpus)?;
    }
    Ok(())
}
