//! The drill's server processes: each keeps its port for the whole drill (HAProxy's
//! backends are fixed), and every start, the first included, is a `--standby` that takes
//! the lease when it is free (or, for the edge drill's edges, an `--edge`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::process::Command;

use spacewars_harness::server_process::{GameServerConfig, ServerProcess, free_local_addr};

/// How long a start may take until `/healthz` answers (the port may still be in use by a
/// process that was just killed: retried).
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// One slot: a fixed address, and the process running there now.
pub struct Slot {
    /// Where the slot's process listens.
    pub addr: SocketAddr,
    /// The current process (None between a kill and its restart).
    pub process: Option<ServerProcess>,
    /// Processes started in this slot so far.
    pub starts: u32,
}

/// The servers of the drill.
pub struct Fleet {
    config: GameServerConfig,
    /// Each slot's database URL when it differs from the config's (through a proxy of
    /// its own, for the partition cycles).
    urls: Vec<String>,
    extra: Vec<String>,
    dir: PathBuf,
    /// The role flag every start gets (`--standby`, or `--edge`).
    role: &'static str,
    /// Log files are `<dir>/<prefix>-<slot>.log`.
    prefix: &'static str,
    /// One per server.
    pub slots: Vec<Slot>,
}

impl Fleet {
    /// `count` slots on fresh ports; servers run `config` plus `--standby`, `extra`, and log
    /// to `dir/server-<slot>.log`. Nothing is started yet.
    pub fn new(
        config: GameServerConfig,
        extra: Vec<String>,
        dir: &Path,
        count: usize,
    ) -> anyhow::Result<Fleet> {
        let slots = (0..count)
            .map(|_| {
                Ok(Slot {
                    addr: free_local_addr()?,
                    process: None,
                    starts: 0,
                })
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Fleet {
            config,
            urls: Vec::new(),
            extra,
            dir: dir.to_owned(),
            role: "--standby",
            prefix: "server",
            slots,
        })
    }

    /// Every start gets `--edge` instead of `--standby`, and logs to `edge-<slot>.log`.
    pub fn as_edges(mut self) -> Fleet {
        self.role = "--edge";
        self.prefix = "edge";
        self
    }

    /// From now on slot `i` starts on `urls[i]` instead of the config's database URL.
    pub fn set_database_urls(&mut self, urls: Vec<String>) {
        self.urls = urls;
    }

    /// Every slot's address, in slot order.
    pub fn addrs(&self) -> Vec<SocketAddr> {
        self.slots.iter().map(|s| s.addr).collect()
    }

    /// The log file of slot `index`.
    pub fn log(&self, index: usize) -> PathBuf {
        self.dir.join(format!("{}-{index}.log", self.prefix))
    }

    /// Starts a standby in slot `index` and waits until it answers `/healthz` (it listens
    /// at once; whether it owns the lease shows on `/readyz`).
    pub async fn start(&mut self, index: usize) -> anyhow::Result<()> {
        let addr = self.slots[index].addr;
        let log = self.log(index);
        let started = Instant::now();
        loop {
            let mut config = self.config.clone();
            if let Some(url) = self.urls.get(index) {
                config.database_url = url.clone();
            }
            let mut command = Command::new(&config.binary);
            command
                .args(config.args(addr))
                .arg(self.role)
                .args(&self.extra);
            let name = format!("game-server {} {index}", self.role);
            let mut process = ServerProcess::spawn(command, addr, &log, name)?;
            let remaining = START_TIMEOUT.saturating_sub(started.elapsed());
            match process.wait_ready("/healthz", remaining).await {
                Ok(()) => {
                    let slot = &mut self.slots[index];
                    slot.process = Some(process);
                    slot.starts += 1;
                    return Ok(());
                }
                Err(error)
                    if format!("{error:#}").contains("Address already in use")
                        && started.elapsed() < START_TIMEOUT =>
                {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(error) => return Err(error.context(format!("starting server {index}"))),
            }
        }
    }

    /// The process of slot `index`.
    pub fn process(&mut self, index: usize) -> anyhow::Result<&mut ServerProcess> {
        self.slots[index]
            .process
            .as_mut()
            .with_context(|| format!("server {index} is not running"))
    }

    /// Stops every running process with SIGTERM, standbys (all but `owner`) first so that
    /// none takes over; returns each one's slot and exit description, and whether all
    /// exited 0.
    pub async fn stop_all(
        &mut self,
        owner: Option<usize>,
        timeout: Duration,
    ) -> (Vec<String>, bool) {
        let mut order: Vec<usize> = (0..self.slots.len())
            .filter(|i| Some(*i) != owner)
            .collect();
        order.extend(owner);
        let mut lines = Vec::new();
        let mut clean = true;
        for index in order {
            let Some(process) = self.slots[index].process.take() else {
                continue;
            };
            let role = match (Some(index) == owner, self.role) {
                (true, _) => "owner",
                (false, "--edge") => "edge",
                (false, _) => "standby",
            };
            match process.stop(timeout).await {
                Ok(status) => {
                    clean &= status.success();
                    lines.push(format!("{} {index} ({role}): {status}", self.prefix));
                }
                Err(error) => {
                    clean = false;
                    lines.push(format!("{} {index} ({role}): {error:#}", self.prefix));
                }
            }
        }
        (lines, clean)
    }
}
