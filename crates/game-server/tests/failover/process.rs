//! The real `game-server` binary as a child process on one PostgreSQL schema.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use game_persistence::testing::TestDatabase;

/// The lease TTL the failover tests run with, in milliseconds.
pub const LEASE_TTL_MS: u64 = 1_500;

/// A running `game-server` process.
pub struct ServerProcess {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
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
    pub fn start(db: &TestDatabase, persist_ms: u64, extra: &[&str]) -> ServerProcess {
        ServerProcess::start_on(db.url(), persist_ms, extra, &[])
    }

    /// Like [`ServerProcess::start`], on the database at `url` (a proxy's, say), with
    /// `env` added to its environment.
    pub fn start_on(
        url: &str,
        persist_ms: u64,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> ServerProcess {
        let persist = persist_ms.to_string();
        let ttl = LEASE_TTL_MS.to_string();
        let ttl: &[&str] = if extra.contains(&"--lease-ttl-ms") {
            &[]
        } else {
            &["--lease-ttl-ms", &ttl]
        };
        // 2 s unless the test sets its own.
        let flush_timeout: &[&str] = if extra.contains(&"--shutdown-flush-timeout-ms") {
            &[]
        } else {
            &["--shutdown-flush-timeout-ms", "2000"]
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_game-server"))
            .args(["--listen", "127.0.0.1:0", "--database-url", url])
            .args(["--argon2-memory-kib", "256", "--argon2-iterations", "1"])
            .args(["--rate-limits", "off", "--log-level", "info"])
            .args(["--persist-interval-ms", &persist])
            .args(ttl)
            .args(flush_timeout)
            .args(extra)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start game-server");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (addr_tx, addr_rx) = mpsc::channel();
        let stdout: Box<dyn Read + Send> = Box::new(child.stdout.take().expect("stdout"));
        let stderr: Box<dyn Read + Send> = Box::new(child.stderr.take().expect("stderr"));
        for (stream, addr_tx) in [(stdout, Some(addr_tx)), (stderr, None)] {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if let (Some(addr), Some(tx)) = (listening_addr(&line), &addr_tx) {
                        let _ = tx.send(addr);
                    }
                    log.lock().expect("log").push(line);
                }
            });
        }
        let addr = addr_rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("server did not listen: {:?}", log.lock().expect("log")));
        ServerProcess { child, addr, log }
    }

    /// Sends `signal` (`TERM`, `KILL`, `STOP`, `CONT`).
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal}");
    }

    /// Waits up to `limit` for the process to exit.
    pub fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                started.elapsed() < limit,
                "still running after {limit:?}: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Everything it printed so far.
    pub fn log(&self) -> String {
        self.log.lock().expect("log").join("\n")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The address in the server's `listening local_addr=…` log line.
fn listening_addr(line: &str) -> Option<SocketAddr> {
    if !line.contains("listening") {
        return None;
    }
    let rest = line.split("local_addr=").nth(1)?;
    rest.split_whitespace().next()?.parse().ok()
}
