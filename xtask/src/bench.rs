//! `cargo xtask bench`: the criterion benchmarks of the hot paths, then the compare load run.

use std::path::Path;

use crate::cargo::{cargo, workspace_root};
use crate::load::{self, LoadArgs};

/// Criterion bench targets: (package, bench target). game-persistence's `batch` (a flush
/// of 10 000 users on SQLite, and PostgreSQL when `SPACEWARS_TEST_PG_URL` is set) belongs
/// to that crate and runs here too.
const CRITERION_BENCHES: [(&str, &str); 4] = [
    ("game-domain", "domain"),
    ("game-cache", "cache"),
    ("game-cache", "world_reads"),
    ("game-persistence", "batch"),
];

/// Flags of `cargo xtask bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Short criterion runs (criterion's `--quick`).
    #[arg(long)]
    pub quick: bool,
    /// Skip the criterion benchmarks.
    #[arg(long)]
    pub no_criterion: bool,
    /// Skip the compare load run.
    #[arg(long)]
    pub no_load: bool,
    /// Flags of the compare load run (see `cargo xtask load --help`).
    #[command(flatten)]
    pub load: LoadArgs,
}

/// Runs the criterion benches that exist, then `load --compare`.
pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    if !args.no_criterion {
        let root = workspace_root();
        for (package, bench) in CRITERION_BENCHES {
            if !bench_exists(&root, package, bench) {
                println!("no criterion bench `{bench}` in {package} yet; skipped");
                continue;
            }
            let mut cargo_args = vec!["bench", "-p", package, "--bench", bench];
            if args.quick {
                cargo_args.extend(["--", "--quick"]);
            }
            cargo(&cargo_args)?;
        }
    }
    if !args.no_load {
        let load = LoadArgs {
            compare: true,
            ..args.load.clone()
        };
        load::run(&load)?;
    }
    Ok(())
}

/// True if `crates/<package>/benches/<bench>.rs` exists.
fn bench_exists(root: &Path, package: &str, bench: &str) -> bool {
    root.join("crates")
        .join(package)
        .join("benches")
        .join(format!("{bench}.rs"))
        .exists()
}
