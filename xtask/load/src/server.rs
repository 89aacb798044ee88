//! The measured server: its database, its process, the load generator's runtime.

use std::path::Path;
use std::time::Duration;

use game_server::RepoKind;
use spacewars_harness::postgres::Schema;
use spacewars_harness::server_process::{GameServerConfig, ServerProcess, flag_value};

/// Builds a tokio runtime for the load generator with `threads` workers.
pub fn client_runtime(threads: usize) -> anyhow::Result<tokio::runtime::Runtime> {
    let runtime = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()?
    };
    Ok(runtime)
}

/// A fresh database named `label` (letters, digits, `_`): a SQLite file in `dir`, or with
/// `postgres` a throwaway schema on that local server (dropped with the returned guard).
pub fn fresh_database(
    dir: &Path,
    label: &str,
    postgres: Option<&str>,
) -> anyhow::Result<(String, Option<Schema>)> {
    match postgres {
        None => Ok((dir.join(format!("{label}.db")).display().to_string(), None)),
        Some(admin_url) => {
            let name = format!("xtask_load_{}_{label}", std::process::id());
            let schema = Schema::create(admin_url, &name)?;
            Ok((schema.url(), Some(schema)))
        }
    }
}

/// Starts the game server on `database_url` with load-test settings, logging into `dir`.
pub async fn start_server(
    binary: &Path,
    dir: &Path,
    repo: RepoKind,
    database_url: String,
    persist_interval_ms: u64,
) -> anyhow::Result<ServerProcess> {
    let config = GameServerConfig {
        binary: binary.to_owned(),
        database_url,
        repo: repo_name(repo),
        persist_interval_ms,
        demo_user: true,
        // Per-request access logs would be measured as server work.
        log_level: "warn".to_owned(),
    };
    let log = dir.join(format!("{}.log", repo_name(repo)));
    ServerProcess::start_game(&config, &log, Duration::from_secs(60)).await
}

/// `cached` or `db`.
pub fn repo_name(repo: RepoKind) -> String {
    flag_value(&repo)
}
