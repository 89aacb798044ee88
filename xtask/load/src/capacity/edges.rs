//! `load capacity --edges N`: the owner publishes its batches to NATS and N edge
//! processes of the same binary serve the players' streams (docs/operations.md, "Edges").
//! Players log in and act on the owner; player `i` opens its stream on edge `i mod N`.
//! The edges run on `--edge-cpus` (default: the load generator's CPUs, the owner keeping
//! its own), so the owner's CPU per player-second is its writes and publishing only.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use spacewars_harness::server_process::{GameServerConfig, ServerProcess, free_local_addr};

use crate::affinity::{self, Affinity, CpuChoice, CpuList};
use crate::capacity::nats_tally::NatsTally;

/// The edge flags of `load capacity`.
#[derive(Debug, Clone, clap::Args)]
pub struct EdgeArgs {
    /// Edge processes serving the streams (0: the owner serves them, as without edges).
    #[arg(long, default_value_t = 0)]
    pub edges: usize,
    /// CPUs of the edge processes (`taskset -c` syntax; `none`: not pinned). Default:
    /// the load generator's CPUs.
    #[arg(long, value_name = "LIST")]
    pub edge_cpus: Option<CpuChoice>,
    /// The NATS server the owner and the edges relay the world through.
    #[arg(long, default_value = "nats://127.0.0.1:4222")]
    pub nats: String,
}

/// What one step needs to start its edges (not a flag group: `load sync` has no edges).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeSetup {
    /// Edge processes (at least one).
    pub count: usize,
    /// Their CPUs, when pinned.
    pub cpus: Option<CpuList>,
    /// NATS URL.
    pub nats: String,
}

impl EdgeArgs {
    /// The setup for the steps, `None` without edges; unset edge CPUs follow the
    /// generator's (already resolved) pinning.
    pub fn setup(&self, affinity: &Affinity) -> Option<EdgeSetup> {
        (self.edges > 0).then(|| EdgeSetup {
            count: self.edges,
            cpus: match &self.edge_cpus {
                Some(CpuChoice::Pinned(list)) => Some(list.clone()),
                Some(CpuChoice::Unpinned) => None,
                None => affinity.generator().cloned(),
            },
            nats: self.nats.clone(),
        })
    }
}

impl EdgeSetup {
    /// One line saying where the edges run.
    pub fn describe(&self) -> String {
        let place = self.cpus.as_ref().map_or_else(
            || "not pinned".to_owned(),
            |c| format!("pinned to CPU(s) {c}"),
        );
        format!(
            "{} edge process(es) {place}, fed by the owner through NATS at {}; players act \
             on the owner and open their streams on the edges round-robin; the owner, the \
             edges, the load generator and NATS all share this machine's cores",
            self.count, self.nats
        )
    }
}

/// The edge (index into the edges) that player `index` streams from: round-robin.
pub fn edge_of(index: usize, edges: usize) -> usize {
    index % edges.max(1)
}

/// A world name no other run on the shared NATS uses.
pub fn unique_world(step: usize) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("load-{}-{step}-{nanos}", std::process::id())
}

/// The owner's extra flags: publish `world` through `nats`.
pub fn owner_flags(nats: &str, world: &str) -> [String; 4] {
    [
        "--nats".to_owned(),
        nats.to_owned(),
        "--world".to_owned(),
        world.to_owned(),
    ]
}

/// A step's edges and the NATS count beside them; empty without edges.
#[derive(Default)]
pub struct Relay {
    edges: Vec<ServerProcess>,
    tally: Option<NatsTally>,
}

impl Relay {
    /// Starts the edges on the owner's database (`config`: the owner's settings), waits
    /// until each is ready (it has a snapshot from the owner), and starts counting the
    /// world's messages.
    pub async fn start(
        dir: &Path,
        config: &GameServerConfig,
        setup: &EdgeSetup,
        world: &str,
        max_streams: usize,
    ) -> anyhow::Result<Relay> {
        let mut relay = Relay::default();
        for i in 0..setup.count {
            let addr = free_local_addr()?;
            let mut command = affinity::server_command(&config.binary, setup.cpus.as_ref());
            command
                .args(config.args(addr))
                .args(["--max-streams", &max_streams.to_string(), "--edge"])
                .args(owner_flags(&setup.nats, world));
            let log = dir.join(format!("edge-{i}.log"));
            let mut edge = ServerProcess::spawn(command, addr, &log, format!("edge {i}"))?;
            // Pushed first, so a failure below still stops it.
            let ready = edge.wait_ready("/readyz", Duration::from_secs(60)).await;
            relay.edges.push(edge);
            if let Err(error) = ready {
                relay.stop().await;
                return Err(error.context(format!("edge {i} did not become ready")));
            }
        }
        match NatsTally::start(&setup.nats, world).await {
            Ok(tally) => relay.tally = Some(tally),
            Err(error) => {
                relay.stop().await;
                return Err(error);
            }
        }
        Ok(relay)
    }

    /// The edges' addresses, in order.
    pub fn addrs(&self) -> Vec<SocketAddr> {
        self.edges.iter().map(ServerProcess::addr).collect()
    }

    /// The edges' process ids, in order.
    pub fn pids(&self) -> anyhow::Result<Vec<u32>> {
        self.edges.iter().map(ServerProcess::pid).collect()
    }

    /// Cell messages and payload bytes counted so far (`None` without edges).
    pub fn nats_counted(&self) -> Option<(u64, u64)> {
        self.tally.as_ref().map(NatsTally::now)
    }

    /// Stops the edges (their exit status does not judge the step: the owner's does).
    pub async fn stop(self) {
        for edge in self.edges {
            let _ = edge.stop(Duration::from_secs(30)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        edges: EdgeArgs,
    }

    #[test]
    fn players_stream_from_the_edges_round_robin() {
        let edges: Vec<usize> = (0..7).map(|i| edge_of(i, 3)).collect();
        assert_eq!(edges, [0, 1, 2, 0, 1, 2, 0]);
        assert_eq!(edge_of(5, 1), 0);
    }

    #[test]
    fn the_flags_parse_and_edges_follow_the_generators_cpus_by_default() {
        let pinned = Affinity {
            server_cpus: Some(CpuChoice::Pinned(CpuList::of([0]))),
            generator_cpus: Some(CpuChoice::Pinned(CpuList::of([1]))),
        };
        let none = Cli::parse_from(["load"]).edges;
        assert_eq!(none.edges, 0);
        assert_eq!(none.setup(&pinned), None);
        let two = Cli::parse_from(["load", "--edges", "2"]).edges;
        assert_eq!(
            two.setup(&pinned),
            Some(EdgeSetup {
                count: 2,
                cpus: Some(CpuList::of([1])),
                nats: "nats://127.0.0.1:4222".to_owned(),
            })
        );
        let own = Cli::parse_from([
            "load",
            "--edges",
            "1",
            "--edge-cpus",
            "0-1",
            "--nats",
            "nats://h:1",
        ])
        .edges
        .setup(&pinned)
        .expect("one edge");
        assert_eq!(
            (own.cpus, own.nats.as_str()),
            (Some(CpuList::of([0, 1])), "nats://h:1")
        );
        let free = Cli::parse_from(["load", "--edges", "1", "--edge-cpus", "none"]).edges;
        assert_eq!(free.setup(&pinned).and_then(|s| s.cpus), None);
    }
}
