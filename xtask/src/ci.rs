//! `cargo xtask ci`: the checks CI runs.

use crate::cargo::{cargo, cargo_with_env};

/// Runs the same checks as `.ci/run`: format, clippy with `-D warnings`, the API docs with
/// `-D warnings` (broken intra-doc links fail), the whole test suite.
pub fn run() -> anyhow::Result<()> {
    cargo(&["fmt", "--all", "--", "--check"])?;
    cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ])?;
    cargo_with_env(
        &[("RUSTDOCFLAGS", "-D warnings")],
        &["doc", "--workspace", "--no-deps"],
    )?;
    cargo(&["test", "--workspace"])?;
    Ok(())
}
