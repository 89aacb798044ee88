//! Running the tool crates: `spacewars-load` and `spacewars-drills`, built in release
//! together with the server they measure, so a debug build never measures itself.

use std::ffi::OsString;
use std::process::Command;

use anyhow::Context;

use crate::cargo::build_release;

/// The load generator's package and binary.
pub const LOAD: &str = "spacewars-load";
/// The drills' package and binary.
pub const DRILLS: &str = "spacewars-drills";

/// Where the tools find the release server (`spacewars_harness::binary::SERVER_BINARY_ENV`;
/// named again here so that xtask does not compile the harness and its HTTP stack).
const SERVER_BINARY_ENV: &str = "SPACEWARS_SERVER_BINARY";

/// Builds `tool` and the game server in release, runs `tool args...`, and returns its exit
/// code.
pub fn run(tool: &str, args: &[OsString]) -> anyhow::Result<i32> {
    let release = build_release(&["game-server", tool])?;
    let status = Command::new(release.join(tool))
        .args(args)
        .env(SERVER_BINARY_ENV, release.join("game-server"))
        .status()
        .with_context(|| format!("running {tool}"))?;
    // The tool has reported its own outcome; only its exit code is passed on.
    Ok(status.code().unwrap_or(1))
}
