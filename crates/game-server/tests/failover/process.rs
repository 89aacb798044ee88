//! The real `game-server` binary as a child process on one PostgreSQL schema, run by the
//! harness's process runner.

use std::net::SocketAddr;
use std::process::ExitStatus;
use std::time::Duration;

use game_persistence::testing::TestDatabase;
use spacewars_harness::server_process::ServerProcess as Process;
use tokio::process::Command;

/// The lease TTL the failover tests run with, in milliseconds.
pub const LEASE_TTL_MS: u64 = 1_500;

/// A running `game-server` process.
pub struct ServerProcess {
    process: Process,
    /// Where it listens.
    pub addr: SocketAddr,
}

/// A fresh PostgreSQL schema, or `None` (after saying so) without `SPACEWARS_TEST_PG_URL`.
pub fn database() -> Option<TestDatabase> {
    let db = TestDatabase::postgres();
    if db.is_none() {
        println!("failover test skipped: it needs PostgreSQL (SPACEWARS_TEST_PG_URL)");
    }
    db
}

impl ServerProcess {
    /// Starts the binary on `db` with light argon2, no rate limits, the test lease TTL,
    /// `persist_ms` and `extra` flags; returns once it listens (an owner listens after
    /// loading the world, a standby at once).
    pub async fn start(db: &TestDatabase, persist_ms: u64, extra: &[&str]) -> ServerProcess {
        ServerProcess::start_on(db.url(), persist_ms, extra, &[]).await
    }

    /// Like [`ServerProcess::start`], on the database at `url` (through a proxy, say), with
    /// `env` added to its environment; `extra` may set its own `--lease-ttl-ms` and
    /// `--shutdown-flush-timeout-ms`.
    pub async fn start_on(
        url: &str,
        persist_ms: u64,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> ServerProcess {
        let persist = persist_ms.to_string();
        let ttl = LEASE_TTL_MS.to_string();
        let mut command = Command::new(env!("CARGO_BIN_EXE_game-server"));
        command
            .args(["--listen", "127.0.0.1:0", "--database-url", url])
            .args(["--argon2-memory-kib", "256", "--argon2-iterations", "1"])
            .args(["--rate-limits", "off", "--log-level", "info"])
            .args(["--persist-interval-ms", &persist]);
        if !extra.contains(&"--lease-ttl-ms") {
            command.args(["--lease-ttl-ms", &ttl]);
        }
        if !extra.contains(&"--shutdown-flush-timeout-ms") {
            command.args(["--shutdown-flush-timeout-ms", "2000"]);
        }
        command.args(extra).envs(env.iter().copied());
        let process =
            Process::spawn_listening(command, "game-server".into(), Duration::from_secs(30))
                .await
                .unwrap_or_else(|e| panic!("{e:#}"));
        ServerProcess {
            addr: process.addr(),
            process,
        }
    }

    /// Sends `signal` (`TERM`, `KILL`, `STOP`, `CONT`).
    pub fn signal(&self, signal: &str) {
        self.process
            .signal(signal)
            .unwrap_or_else(|e| panic!("kill -{signal}: {e:#}"));
    }

    /// Waits up to `limit` for the process to exit.
    pub async fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        match self.process.wait_exit(limit).await {
            Ok(status) => status,
            Err(e) => panic!("{e:#}: {}", self.log()),
        }
    }

    /// Everything it printed so far.
    pub fn log(&self) -> String {
        self.process.log()
    }
}
