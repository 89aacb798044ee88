//! `cargo xtask bench`: the criterion benchmarks of the hot paths, then `load compare`.

use std::ffi::OsString;
use std::path::Path;

use crate::cargo::{cargo, workspace_root};
use crate::tools;

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
    /// Flags of the compare load run (see `cargo xtask load compare --help`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub load: Vec<OsString>,
}

/// Runs the criterion benches that exist, then `load compare`; returns the exit code.
pub fn run(args: &BenchArgs) -> anyhow::Result<i32> {
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
    if args.no_load {
        return Ok(0);
    }
    let load: Vec<OsString> = std::iter::once("compare".into())
        .chain(args.load.iter().cloned())
        .collect();
    tools::run(tools::LOAD, &load)
}

/// True if `crates/<package>/benches/<bench>.rs` exists.
fn bench_exists(root: &Path, package: &str, bench: &str) -> bool {
    root.join("crates")
        .join(package)
        .join("benches")
        .join(format!("{bench}.rs"))
        .exists()
}
