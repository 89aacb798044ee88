//! The Spacewars HTTP server binary: parses the configuration, sets up logging and hands
//! over to [`game_server::run`] with the SIGTERM/SIGINT future. Nothing else lives here.

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use game_server::Config;
use tracing_subscriber::EnvFilter;

/// How long the process waits, after the server stopped, for work left in the runtime's
/// threads (a database call stuck on a dead link) before it exits anyway.
const SHUTDOWN_LEFTOVERS: Duration = Duration::from_secs(1);

/// For tests only: shifts this process's wall clock by
/// `SPACEWARS_TEST_WALL_CLOCK_OFFSET_MS` (a host whose clock is wrong). Who owns the
/// database never depends on it (the lease runs on the database's clock).
const WALL_CLOCK_OFFSET_VAR: &str = "SPACEWARS_TEST_WALL_CLOCK_OFFSET_MS";

fn shift_wall_clock_for_tests() -> anyhow::Result<()> {
    let Ok(offset) = std::env::var(WALL_CLOCK_OFFSET_VAR) else {
        return Ok(());
    };
    let offset_ms: i64 = offset
        .trim()
        .parse()
        .with_context(|| format!("{WALL_CLOCK_OFFSET_VAR}={offset:?} is not a number of ms"))?;
    game_domain::clock::set_wall_clock_offset_ms(offset_ms);
    tracing::warn!(offset_ms, "wall clock shifted for a test");
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    let filter = EnvFilter::try_new(&config.log_level)
        .with_context(|| format!("invalid --log-level {:?}", config.log_level))?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stdout().is_terminal())
        .init();
    shift_wall_clock_for_tests()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let stopped = runtime.block_on(game_server::run(config, game_server::signal()));
    // Once `run` returned, everything was flushed or spilled. A database call cut by its
    // deadline may still sit in a blocking thread on a dead socket; dropping the runtime
    // would wait for it for as long as the database stays away, so give up on it.
    runtime.shutdown_timeout(SHUTDOWN_LEFTOVERS);
    stopped.map_err(|error| {
        let error = anyhow::Error::new(error);
        // `{:#}`: the whole chain on one line, so the log says what became of the data.
        tracing::error!(error = format!("{error:#}"), "server stopped with an error");
        error
    })
}
