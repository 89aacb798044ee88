//! Running cargo: commands, release builds, and where their binaries land.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, bail};

/// The cargo that runs this xtask (or `cargo` from `PATH`).
fn cargo_program() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// Runs one cargo command in the workspace root, failing if it fails.
pub fn cargo(args: &[&str]) -> anyhow::Result<()> {
    cargo_with_env(&[], args)
}

/// Like [`cargo`], with the environment variables `env` set for the command.
pub fn cargo_with_env(env: &[(&str, &str)], args: &[&str]) -> anyhow::Result<()> {
    let cargo = cargo_program();
    let status = Command::new(&cargo)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(workspace_root())
        .status()
        .with_context(|| format!("could not run {cargo} {}", args.join(" ")))?;
    if !status.success() {
        let env: String = env.iter().map(|(k, v)| format!("{k}={v:?} ")).collect();
        bail!("`{env}cargo {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

/// Runs one cargo command in the workspace root and returns what it printed on stdout,
/// failing if it fails.
pub fn cargo_output(args: &[&str]) -> anyhow::Result<String> {
    let cargo = cargo_program();
    let output = Command::new(&cargo)
        .args(args)
        .current_dir(workspace_root())
        .output()
        .with_context(|| format!("could not run {cargo} {}", args.join(" ")))?;
    if !output.status.success() {
        bail!(
            "`cargo {}` failed ({}): {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    String::from_utf8(output.stdout).context("cargo printed something that is not UTF-8")
}

/// The workspace root (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(PathBuf::from)
        .unwrap_or(manifest_dir)
}

/// Cargo's target directory for this workspace (honours `CARGO_TARGET_DIR`).
pub fn target_dir() -> anyhow::Result<PathBuf> {
    let output = Command::new(cargo_program())
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(workspace_root())
        .output()
        .context("could not run cargo metadata")?;
    if !output.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).context("cargo metadata printed no JSON")?;
    metadata["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .context("cargo metadata has no target_directory")
}

/// Builds `packages` in release and returns the release output directory.
pub fn build_release(packages: &[&str]) -> anyhow::Result<PathBuf> {
    let mut args = vec!["build", "--release"];
    for package in packages {
        args.extend(["-p", package]);
    }
    cargo(&args)?;
    Ok(target_dir()?.join("release"))
}
