//! The drill's own `nats-server` (core NATS, no JetStream) on a port of its own, so that
//! it can be killed and started again where the servers look for it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::process::{Child, Command};

use spacewars_harness::server_process::free_local_addr;

/// How long a start may take until the port accepts connections.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A `nats-server` child on a fixed port.
pub struct OwnNats {
    binary: PathBuf,
    addr: SocketAddr,
    log: PathBuf,
    child: Option<Child>,
}

impl OwnNats {
    /// Starts `nats-server` (from `PATH` or `/usr/sbin`) on a free port, logging to
    /// `dir/nats.log`.
    pub async fn start(dir: &Path) -> anyhow::Result<OwnNats> {
        let binary = find().context(
            "nats-server is not installed (Debian's nats-server package; .ci/run installs it)",
        )?;
        let mut nats = OwnNats {
            binary,
            addr: free_local_addr()?,
            log: dir.join("nats.log"),
            child: None,
        };
        nats.restart().await?;
        Ok(nats)
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("nats://{}", self.addr)
    }

    /// SIGKILLs it and waits until it is gone.
    pub async fn kill(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill().await.context("killing nats-server")?;
        }
        Ok(())
    }

    /// Starts it (again) on its port and waits until it accepts connections (a port
    /// still held by the killed one is retried until the deadline).
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let log = std::fs::File::options()
                .create(true)
                .append(true)
                .open(&self.log)
                .with_context(|| format!("opening {}", self.log.display()))?;
            let mut child = Command::new(&self.binary)
                .args(["-a", "127.0.0.1", "-p", &self.addr.port().to_string()])
                .stdout(log.try_clone()?)
                .stderr(log)
                .kill_on_drop(true)
                .spawn()
                .context("starting nats-server")?;
            loop {
                if tokio::net::TcpStream::connect(self.addr).await.is_ok() {
                    self.child = Some(child);
                    return Ok(());
                }
                if child.try_wait()?.is_some() {
                    break;
                }
                anyhow::ensure!(
                    Instant::now() < deadline,
                    "nats-server did not listen on {} within {START_TIMEOUT:?}",
                    self.addr
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "nats-server kept exiting at start (see {})",
                self.log.display()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

fn find() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join("nats-server"))
        .find(|candidate| candidate.is_file())
}
