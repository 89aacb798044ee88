//! Developer tasks: `cargo xtask <task>`.
//!
//! - `ci`: the checks CI runs (format, clippy and docs with `-D warnings`, the whole test
//!   suite).
//! - `bench`: criterion benchmarks of the hot paths, then `load compare`.
//! - `load ...`: runs the load generator (`spacewars-load`, crate `xtask/load`).
//! - `drills ...`: runs the drills (`spacewars-drills`, crate `xtask/drills`); `chaos ...`
//!   and `drill abuse ...` are its `chaos` and `abuse` subcommands.
//!
//! The tools are their own crates, built in release with the server when run from here, so
//! `ci` compiles neither them nor their HTTP stack.

mod bench;
mod cargo;
mod ci;
mod legacy;
mod tools;

use std::ffi::OsString;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about = "Spacewars developer tasks")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

/// Everything after the task's name, handed to the tool as it is (`--help` included).
#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
struct Passed {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<OsString>,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// fmt check, clippy and docs with -D warnings, all tests (what CI runs).
    Ci,
    /// Criterion benchmarks of the hot paths, then `load compare`.
    Bench(bench::BenchArgs),
    /// The load generator (`cargo xtask load --help` for its subcommands).
    Load(Passed),
    /// The drills (`cargo xtask drills --help` for its subcommands).
    Drills(Passed),
    /// `drills chaos ...`: crash, database fault and failover drills.
    Chaos(Passed),
    /// `drill abuse ...` is `drills abuse ...`: hostile floods.
    Drill(Passed),
}

fn main() -> anyhow::Result<()> {
    let code = match Cli::parse().task {
        Task::Ci => {
            ci::run()?;
            0
        }
        Task::Bench(args) => bench::run(&args)?,
        Task::Load(passed) => tools::run(tools::LOAD, &legacy::load_args(passed.args))?,
        Task::Drills(passed) | Task::Drill(passed) => tools::run(tools::DRILLS, &passed.args)?,
        Task::Chaos(passed) => {
            let args: Vec<OsString> = std::iter::once("chaos".into()).chain(passed.args).collect();
            tools::run(tools::DRILLS, &args)?
        }
    };
    std::process::exit(code);
}
