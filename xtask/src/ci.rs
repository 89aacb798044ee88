//! `cargo xtask ci`: the checks CI runs.

use crate::cargo::cargo;

/// Runs the same checks as `.ci/run`: format, clippy with `-D warnings`, the whole test suite.
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
    cargo(&["test", "--workspace"])?;
    Ok(())
}
