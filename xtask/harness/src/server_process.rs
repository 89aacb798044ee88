//! A server child process on 127.0.0.1: start, wait until ready, signal, reap.
//!
//! The child's output goes to a log file (never a pipe nobody drains). The child is killed
//! if this handle is dropped, so an xtask error never leaves a server running.

use std::fs::File;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use hyper::{Method, StatusCode};
use tokio::process::{Child, Command};

use crate::http_client::Connection;

/// The command-line spelling of a value of one of game-server's flag enums (`RepoKind`,
/// `SpawnKind`, `Switch`): the tools use game-server's own types, and this harness
/// depends on no game-server code, so the value travels as its flag text.
pub fn flag_value(value: &impl clap::ValueEnum) -> String {
    value
        .to_possible_value()
        .map(|v| v.get_name().to_owned())
        .unwrap_or_default()
}

/// How to run the game server.
#[derive(Debug, Clone)]
pub struct GameServerConfig {
    /// The `game-server` binary.
    pub binary: PathBuf,
    /// SQLite file or postgres URL.
    pub database_url: String,
    /// `--repo` (see [`flag_value`]).
    pub repo: String,
    /// Write-behind interval.
    pub persist_interval_ms: u64,
    /// Seed the demo user `a`.
    pub demo_user: bool,
    /// Log filter passed to `--log-level`.
    pub log_level: String,
}

impl GameServerConfig {
    /// The command line for listening on `addr`, with light argon2 parameters (the drills
    /// measure the game, not password hashing).
    pub fn args(&self, addr: SocketAddr) -> Vec<String> {
        let mut args: Vec<String> = [
            "--listen",
            &addr.to_string(),
            "--database-url",
            &self.database_url,
            "--repo",
            &self.repo,
            "--persist-interval-ms",
            &self.persist_interval_ms.to_string(),
            "--demo-user",
            if self.demo_user { "on" } else { "off" },
            "--log-level",
            &self.log_level,
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        for (flag, value) in [
            ("--argon2-memory-kib", "64"),
            ("--argon2-iterations", "1"),
            ("--argon2-parallelism", "1"),
            // The drills and the load test log in, register and connect from one address
            // (players mode opens a connection per player).
            ("--rate-limits", "off"),
            ("--max-connections", "100000"),
            ("--max-connections-per-address", "100000"),
        ] {
            args.push(flag.to_owned());
            args.push(value.to_owned());
        }
        args
    }
}

/// A running server child.
pub struct ServerProcess {
    child: Child,
    addr: SocketAddr,
    log_path: PathBuf,
    name: String,
    /// The directory of a log this handle made itself (removed with it).
    _log_dir: Option<tempfile::TempDir>,
}

/// A free port on 127.0.0.1 (bound and released; the server binds it right after).
pub fn free_local_addr() -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").context("binding 127.0.0.1:0")?;
    Ok(listener.local_addr()?)
}

impl ServerProcess {
    /// Starts the game server on a fresh local port and waits for `/readyz`.
    pub async fn start_game(
        config: &GameServerConfig,
        log_path: &Path,
        ready_timeout: Duration,
    ) -> anyhow::Result<ServerProcess> {
        let addr = free_local_addr()?;
        let mut command = Command::new(&config.binary);
        command.args(config.args(addr));
        let name = format!("game-server --repo {}", config.repo);
        let mut server = ServerProcess::spawn(command, addr, log_path, name)?;
        server.wait_ready("/readyz", ready_timeout).await?;
        Ok(server)
    }

    /// Spawns `command` (which must listen on `addr`), logging to `log_path` (appended).
    pub fn spawn(
        mut command: Command,
        addr: SocketAddr,
        log_path: &Path,
        name: String,
    ) -> anyhow::Result<ServerProcess> {
        let log = File::options()
            .create(true)
            .append(true)
            .open(log_path)
            .with_context(|| format!("opening {}", log_path.display()))?;
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {name}"))?;
        Ok(ServerProcess {
            child,
            addr,
            log_path: log_path.to_owned(),
            name,
            _log_dir: None,
        })
    }

    /// Spawns `command`, which must listen on port 0 of a loopback address and log
    /// `listening local_addr=<address>` (as game-server does), logging into a temporary
    /// file of its own; returns once the log names the address. Standbys listen before
    /// they are ready, so this does not wait for `/readyz`.
    pub async fn spawn_listening(
        command: Command,
        name: String,
        timeout: Duration,
    ) -> anyhow::Result<ServerProcess> {
        let dir = tempfile::tempdir().context("creating a temp dir for the log")?;
        let log_path = dir.path().join("server.log");
        let unknown = SocketAddr::from(([127, 0, 0, 1], 0));
        let mut server = ServerProcess::spawn(command, unknown, &log_path, name)?;
        server._log_dir = Some(dir);
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(addr) = listening_addr(&server.log()) {
                server.addr = addr;
                return Ok(server);
            }
            if let Some(status) = server.child.try_wait()? {
                bail!(
                    "{} exited before it listened ({status}); its log:\n{}",
                    server.name,
                    server.log()
                );
            }
            if Instant::now() >= deadline {
                bail!(
                    "{} did not listen within {timeout:?}; its log:\n{}",
                    server.name,
                    server.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its process id.
    pub fn pid(&self) -> anyhow::Result<u32> {
        self.child
            .id()
            .with_context(|| format!("{} has already exited", self.name))
    }

    /// Polls `path` until it answers 200; fails if the child exits or time runs out.
    pub async fn wait_ready(&mut self, path: &str, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        let mut conn = Connection::new(self.addr, Duration::from_secs(2));
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "{} exited before it was ready ({status}); its log ends with:\n{}",
                    self.name,
                    self.log_tail(20)
                );
            }
            if let Ok(reply) = conn.request(Method::GET, path, None).await
                && reply.status == StatusCode::OK
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!(
                    "{} not ready after {timeout:?}; its log ends with:\n{}",
                    self.name,
                    self.log_tail(20)
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sends `signal` (`KILL`, `TERM`) with `kill(1)`.
    pub fn signal(&self, signal: &str) -> anyhow::Result<()> {
        send_signal(self.pid()?, signal)
    }

    /// Waits for the child to exit, at most `timeout`.
    pub async fn wait_exit(&mut self, timeout: Duration) -> anyhow::Result<ExitStatus> {
        match tokio::time::timeout(timeout, self.child.wait()).await {
            Ok(status) => Ok(status?),
            Err(_) => bail!("{} did not exit within {timeout:?}", self.name),
        }
    }

    /// SIGTERM, then wait (SIGKILL if it does not exit within `timeout`).
    pub async fn stop(mut self, timeout: Duration) -> anyhow::Result<ExitStatus> {
        self.signal("TERM")?;
        match self.wait_exit(timeout).await {
            Ok(status) => Ok(status),
            Err(e) => {
                self.signal("KILL")?;
                self.child.wait().await?;
                Err(e)
            }
        }
    }

    /// Everything the child printed so far (stdout and stderr).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// The last `lines` lines of the child's log.
    pub fn log_tail(&self, lines: usize) -> String {
        log_tail(&self.log_path, lines)
    }
}

/// Sends `signal` (`KILL`, `TERM`) to `pid` with `kill(1)` (blocks until `kill` exits).
pub fn send_signal(pid: u32, signal: &str) -> anyhow::Result<()> {
    let status = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .context("running kill")?;
    if !status.success() {
        bail!("kill -{signal} {pid} failed ({status})");
    }
    Ok(())
}

/// A signal ready to go: a shell already waiting to run its `kill` builtin, so firing
/// costs a pipe write instead of starting a process (milliseconds, long enough for a
/// request in flight to finish first).
pub struct ArmedSignal {
    shell: std::process::Child,
    description: String,
}

impl ArmedSignal {
    /// Prepares `kill -<signal> <pid>`.
    pub fn arm(pid: u32, signal: &str) -> anyhow::Result<ArmedSignal> {
        let description = format!("kill -{signal} {pid}");
        let shell = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("read go && {description}"))
            .stdin(std::process::Stdio::piped())
            .spawn()
            .context("starting sh for the signal")?;
        Ok(ArmedSignal { shell, description })
    }

    /// Sends the signal and waits until it has been sent.
    pub fn fire(mut self) -> anyhow::Result<()> {
        use std::io::Write as _;
        let mut stdin = self.shell.stdin.take().context("sh has no stdin")?;
        stdin.write_all(b"go\n")?;
        drop(stdin);
        let status = self.shell.wait()?;
        if !status.success() {
            bail!("{} failed ({status})", self.description);
        }
        Ok(())
    }
}

impl Drop for ArmedSignal {
    fn drop(&mut self) {
        // Unfired: closing stdin makes `read` fail, so the shell exits without signalling.
        drop(self.shell.stdin.take());
        let _ = self.shell.wait();
    }
}

/// The address of the first `listening ... local_addr=<address>` line of `log`.
pub fn listening_addr(log: &str) -> Option<SocketAddr> {
    log.lines()
        .filter(|line| line.contains("listening"))
        .find_map(|line| {
            let rest = line.split("local_addr=").nth(1)?;
            let addr: String = rest
                .chars()
                .take_while(|c| c.is_ascii_hexdigit() || matches!(c, '.' | ':' | '[' | ']'))
                .collect();
            addr.parse().ok()
        })
}

/// The last `lines` lines of the file at `path` (empty if unreadable).
pub fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listening_line_gives_the_address() {
        let log = "INFO starting\nINFO game_server: listening local_addr=127.0.0.1:41234 \
                   standby=false\n";
        assert_eq!(
            listening_addr(log),
            Some(SocketAddr::from(([127, 0, 0, 1], 41234)))
        );
        assert_eq!(listening_addr("INFO listening soon\n"), None);
    }

    #[test]
    fn game_server_flags_match_its_cli() {
        let config = GameServerConfig {
            binary: PathBuf::from("game-server"),
            database_url: "/tmp/x.db".into(),
            repo: "db".into(),
            persist_interval_ms: 500,
            demo_user: false,
            log_level: "warn".into(),
        };
        let args = config.args("127.0.0.1:4000".parse().expect("addr"));
        let joined = args.join(" ");
        assert!(joined.starts_with("--listen 127.0.0.1:4000 --database-url /tmp/x.db --repo db"));
        assert!(joined.contains("--persist-interval-ms 500 --demo-user off"));
        assert!(joined.contains("--argon2-memory-kib 64"));
    }
}
