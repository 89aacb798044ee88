//! The Spacewars HTTP server binary: parses the configuration, sets up logging and hands
//! over to [`game_server::run`] with the SIGTERM/SIGINT future. Nothing else lives here.

use std::io::IsTerminal;

use anyhow::Context;
use clap::Parser;
use game_server::Config;
use tracing_subscriber::EnvFilter;

fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    let filter = EnvFilter::try_new(&config.log_level)
        .with_context(|| format!("invalid --log-level {:?}", config.log_level))?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stdout().is_terminal())
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime
        .block_on(game_server::run(config, game_server::shutdown::signal()))
        .map_err(|error| {
            tracing::error!(%error, "server stopped with an error");
            anyhow::Error::new(error)
        })
}
