//! Restarting the server on the drill's database.

use std::path::Path;
use std::time::{Duration, Instant};

use spacewars_harness::server_process::{GameServerConfig, ServerProcess};

/// How long a restart may take, lease take-over included.
const RESTART_TIMEOUT: Duration = Duration::from_secs(90);

/// How long to wait between start attempts while the killed server's lease is held.
const RESTART_RETRY: Duration = Duration::from_millis(500);

/// Starts the server on the configured database, retrying while a previous owner's
/// lease is still held (a killed server's lease expires after its TTL), and returns it
/// with the time it took to become ready.
pub async fn restart(
    config: &GameServerConfig,
    log: &Path,
) -> anyhow::Result<(ServerProcess, Duration)> {
    let started = Instant::now();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let remaining = RESTART_TIMEOUT.saturating_sub(started.elapsed());
        match ServerProcess::start_game(config, log, remaining).await {
            Ok(server) => return Ok((server, started.elapsed())),
            Err(error)
                if lease_held(&error) && started.elapsed() + RESTART_RETRY < RESTART_TIMEOUT =>
            {
                tokio::time::sleep(RESTART_RETRY).await;
            }
            Err(error) => {
                return Err(error.context(format!("restart failed after {attempts} attempts")));
            }
        }
    }
}

/// True if the server refused to start because another process holds the lease.
pub fn lease_held(error: &anyhow::Error) -> bool {
    format!("{error:#}").contains("in use by another server process")
}
