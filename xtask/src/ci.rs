//! `cargo xtask ci`: the checks CI runs.

use anyhow::{Context, bail};

use crate::cargo::{cargo, cargo_output, cargo_with_env};

/// game-persistence with SQLite only: what a SQLite-only embedder builds.
const SQLITE_ONLY: [&str; 5] = [
    "-p",
    "game-persistence",
    "--no-default-features",
    "--features",
    "sqlite",
];

/// Runs the same checks as `.ci/run`: format, clippy with `-D warnings`, the SQLite-only
/// build (no libpq, no OpenSSL, and it compiles), the API docs with `-D warnings` (broken
/// intra-doc links fail), the whole test suite with every test required to run.
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
    sqlite_only()?;
    cargo_with_env(
        &[("RUSTDOCFLAGS", "-D warnings")],
        &["doc", "--workspace", "--no-deps"],
    )?;
    // Every test must run: one whose PostgreSQL or browser is missing fails instead of
    // skipping (docs/test-strength.md).
    cargo_with_env(
        &[("SPACEWARS_TEST_REQUIRE_ALL", "1")],
        &["test", "--workspace"],
    )?;
    Ok(())
}

/// Fails if the SQLite-only build of game-persistence pulls in libpq or OpenSSL, or does
/// not compile.
fn sqlite_only() -> anyhow::Result<()> {
    let tree = cargo_output(&[&["tree"][..], &SQLITE_ONLY, &["-e", "normal"]].concat())
        .context("cargo tree of the SQLite-only build")?;
    let offending: Vec<&str> = tree
        .lines()
        .filter(|line| line.contains("pq-sys") || line.contains("openssl"))
        .collect();
    if !offending.is_empty() {
        bail!(
            "the SQLite-only build of game-persistence depends on libpq or OpenSSL:\n{}",
            offending.join("\n")
        );
    }
    cargo(&[&["check"][..], &SQLITE_ONLY].concat())
}
