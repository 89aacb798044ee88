//! HAProxy in front of the edge drill's owner, standby and edges, configured from the
//! shipped `deploy/haproxy-edges.cfg`: only its `bind` line and its servers' addresses
//! change, so the routing, health checks and timeouts under test are the ones operators
//! deploy.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;

use spacewars_harness::haproxy_config::{Unnamed, with_addresses};
use spacewars_harness::server_process::ServerProcess;

use crate::chaos::failover::haproxy::{check_config, ensure_installed, routes_to_owner_only};

/// The shipped configuration (docs/operations.md, Edges).
pub const SHIPPED: &str = include_str!("../../../../../deploy/haproxy-edges.cfg");

/// The shipped file's names of the owner and standby (backend `game`) and of the edges
/// (backend `edges`), in the drill's slot order.
pub const GAME_SERVERS: [&str; 2] = ["a", "b"];
/// See [`GAME_SERVERS`].
pub const EDGE_SERVERS: [&str; 2] = ["edge1", "edge2"];

/// `-n`: far below the shipped `maxconn`, which needs more file descriptors than a
/// container may allow; the drill needs a few dozen.
const DRILL_MAXCONN: &str = "4096";

/// How long HAProxy may take until it routes `/readyz` to the owner.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// `shipped` with the drill's addresses (`servers`: every server it names).
pub fn config(
    shipped: &str,
    listen: SocketAddr,
    servers: &BTreeMap<&str, SocketAddr>,
) -> anyhow::Result<String> {
    with_addresses(
        "deploy/haproxy-edges.cfg",
        shipped,
        listen,
        servers,
        Unnamed::Refuse,
    )
}

/// Writes the configuration for `game` (owner, standby) and `edges` to `dir`, has HAProxy
/// check it, and runs it in the foreground as a child logging to `haproxy.log`; returns
/// once it routes the game's paths to the owner only.
pub async fn start(
    dir: &Path,
    listen: SocketAddr,
    game: &[SocketAddr],
    edges: &[SocketAddr],
) -> anyhow::Result<ServerProcess> {
    let binary = ensure_installed()?;
    let servers: BTreeMap<&str, SocketAddr> = GAME_SERVERS
        .iter()
        .copied()
        .zip(game.iter().copied())
        .chain(EDGE_SERVERS.iter().copied().zip(edges.iter().copied()))
        .collect();
    let cfg = dir.join("haproxy-edges.cfg");
    std::fs::write(&cfg, config(SHIPPED, listen, &servers)?)
        .with_context(|| format!("writing {}", cfg.display()))?;
    check_config(&binary, &cfg)?;
    let mut command = tokio::process::Command::new(&binary);
    command.args(["-db", "-n", DRILL_MAXCONN, "-f"]).arg(&cfg);
    let log = dir.join("haproxy.log");
    let mut haproxy = ServerProcess::spawn(command, listen, &log, "haproxy".to_owned())?;
    haproxy.wait_ready("/readyz", READY_TIMEOUT).await?;
    // A fresh HAProxy counts the standby up until its first failed check.
    routes_to_owner_only(listen, game.len()).await?;
    Ok(haproxy)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn the_drill_runs_the_shipped_routing_with_its_own_addresses() {
        let servers = BTreeMap::from([
            ("a", addr(5001)),
            ("b", addr(5002)),
            ("edge1", addr(5101)),
            ("edge2", addr(5102)),
        ]);
        let generated = config(SHIPPED, addr(5000), &servers).expect("config");
        let changed: Vec<&str> = generated
            .lines()
            .zip(SHIPPED.lines())
            .filter(|(new, old)| new != old)
            .map(|(new, _)| new.trim())
            .collect();
        assert_eq!(
            changed,
            [
                "bind 127.0.0.1:5000",
                "server edge1 127.0.0.1:5101 check",
                "server edge2 127.0.0.1:5102 check",
                "server a 127.0.0.1:5001 check",
                "server b 127.0.0.1:5002 check",
            ]
        );
        assert_eq!(generated.lines().count(), SHIPPED.lines().count());
        let lines: Vec<&str> = generated.lines().map(str::trim).collect();
        for kept in [
            "acl stream path /api/world/events",
            "use_backend edges if stream",
            "balance leastconn",
            "option httpchk GET /readyz",
        ] {
            assert!(lines.contains(&kept), "{kept} is missing");
        }
    }

    #[test]
    fn a_server_the_drill_does_not_run_is_refused() {
        let only_a = BTreeMap::from([("a", addr(5001))]);
        let error = config(SHIPPED, addr(5000), &only_a).expect_err("edge1 has no address");
        assert_eq!(
            error.to_string(),
            "deploy/haproxy-edges.cfg has a server edge1 that is not run here"
        );
        let error = config("backend x\n", addr(5000), &only_a).expect_err("no bind");
        assert_eq!(
            error.to_string(),
            "deploy/haproxy-edges.cfg has 0 bind lines and 0 of the servers [\"a\"] (want 1 and all)"
        );
    }
}
