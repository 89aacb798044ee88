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
//! - [`server`]: the measured server and the load generator's runtime; [`args`]: the flags.

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
    /// The minimal hyper server used as the ceiling by `compare` (internal).
    #[command(hide = true)]
    MinimalServer(minimal_server::MinimalServerArgs),
}

fn main() -> anyhow::Result<()> {
    let task = Cli::parse().task;
    let runner = match &task {
        Task::Max(args) => &args.server.runner,
        Task::Players(args) => &args.server.runner,
        Task::Compare(args) => &args.runner,
        Task::Sync(args) => &args.sync.runner,
        Task::Capacity(args) => &args.runner,
        Task::MinimalServer(args) => return minimal_server::run(args),
    };
    if cfg!(debug_assertions) {
        eprintln!(
            "spacewars-load: a debug build spends the shared cores on itself; measure with \
             `cargo xtask load ...` (release)"
        );
    }
    let binary = server_binary()?;
    let runtime = server::client_runtime(runner.client_threads)?;
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
        Task::MinimalServer(args) => minimal_server::run(args),
    }
}
