//! Developer tasks: `cargo xtask <task>`.
//!
//! - `ci`: the checks CI runs (format, clippy with `-D warnings`, the whole test suite).

use std::process::Command;

use anyhow::{Context, bail};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some(other) => bail!("unknown task `{other}`; try `cargo xtask help`"),
        None | Some("help") => {
            println!("usage: cargo xtask <task>\n\ntasks:\n  ci     fmt check, clippy -D warnings, all tests");
            Ok(())
        }
    }
}

/// Runs the same checks as `.ci/run`.
fn ci() -> anyhow::Result<()> {
    cargo(&["fmt", "--all", "--", "--check"])?;
    cargo(&["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"])?;
    cargo(&["test", "--workspace"])?;
    Ok(())
}

/// Runs one cargo command, failing if it fails.
fn cargo(args: &[&str]) -> anyhow::Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(&cargo)
        .args(args)
        .status()
        .with_context(|| format!("could not run {cargo} {}", args.join(" ")))?;
    if !status.success() {
        bail!("`cargo {}` failed ({status})", args.join(" "));
    }
    Ok(())
}
