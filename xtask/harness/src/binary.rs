//! The release `game-server` binary the tools run.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// Set (to the binary's path) by a parent that already built the release server, such as
/// `cargo xtask`; without it the tool builds the server itself.
pub const SERVER_BINARY_ENV: &str = "SPACEWARS_SERVER_BINARY";

/// The release `game-server` binary: the one named by [`SERVER_BINARY_ENV`], or else built
/// with `cargo build --release -p game-server` into the target directory this tool runs
/// from.
pub fn server_binary() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os(SERVER_BINARY_ENV) {
        let path = PathBuf::from(path);
        anyhow::ensure!(path.exists(), "{} is missing", path.display());
        return Ok(path);
    }
    let exe = std::env::current_exe().context("locating this tool's binary")?;
    // `<target>/<profile>/<tool>`: the server goes to `<target>/release/`.
    let target = exe
        .parent()
        .and_then(Path::parent)
        .context("this tool does not run from a cargo target directory")?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(&cargo)
        .args(["build", "--release", "-p", "game-server", "--target-dir"])
        .arg(target)
        .current_dir(workspace_root())
        .status()
        .with_context(|| format!("could not run {cargo} build"))?;
    if !status.success() {
        bail!("building the release game-server failed ({status})");
    }
    let binary = target.join("release").join("game-server");
    anyhow::ensure!(binary.exists(), "{} is missing", binary.display());
    Ok(binary)
}

/// The workspace root (this crate lives in `xtask/harness`).
fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .ancestors()
        .nth(2)
        .map_or_else(|| manifest_dir.to_owned(), Path::to_owned)
}
