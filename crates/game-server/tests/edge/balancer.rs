//! HAProxy in front of an owner and an edge, configured from the shipped
//! `deploy/haproxy-edges.cfg`: only its `bind` line and its servers' addresses change
//! (servers the test does not run are left out), so the routing under test is the one
//! operators deploy.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use game_persistence::testing::environment;
use spacewars_harness::haproxy_config::{Unnamed, with_addresses};
use spacewars_harness::server_process::{ServerProcess, free_local_addr};
use tokio::process::Command;

/// The shipped configuration (docs/operations.md, "Edges").
const SHIPPED: &str = include_str!("../../../../deploy/haproxy-edges.cfg");

/// `-n`: far below the shipped `maxconn`, which needs more file descriptors than a
/// container may allow; the test needs a handful.
const MAXCONN: &str = "256";

/// `shipped` with the test's addresses (`servers`; the lines of servers it does not run
/// are left out). Panics if the file no longer has one `bind` line or lacks a named
/// server.
pub fn config(shipped: &str, listen: SocketAddr, servers: &BTreeMap<&str, SocketAddr>) -> String {
    with_addresses(
        "deploy/haproxy-edges.cfg",
        shipped,
        listen,
        servers,
        Unnamed::Omit,
    )
    .unwrap_or_else(|e| panic!("{e:#}"))
}

/// Runs HAProxy (`-db`, in the foreground, as a child) on `dir` in front of `owner` and
/// `edge`; `None` after a loud skip (a failure under CI) when HAProxy is not installed.
/// Returns once it routes `/readyz` to a ready server.
pub async fn start(dir: &Path, owner: SocketAddr, edge: SocketAddr) -> Option<ServerProcess> {
    let Some(binary) = haproxy() else {
        environment::missing("HAProxy", "haproxy is not installed (Debian's haproxy)");
        return None;
    };
    let listen = free_local_addr().expect("a free port");
    let servers = BTreeMap::from([("a", owner), ("edge1", edge)]);
    let cfg = dir.join("haproxy-edges.cfg");
    std::fs::write(&cfg, config(SHIPPED, listen, &servers)).expect("write the config");
    let mut command = Command::new(binary);
    command.arg("-db").args(["-n", MAXCONN]).arg("-f").arg(&cfg);
    let log = dir.join("haproxy.log");
    let mut haproxy = ServerProcess::spawn(command, listen, &log, "haproxy".to_owned())
        .unwrap_or_else(|e| panic!("{e:#}"));
    haproxy
        .wait_ready("/readyz", Duration::from_secs(30))
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    Some(haproxy)
}

fn haproxy() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join("haproxy"))
        .find(|candidate| candidate.is_file())
}

#[test]
fn the_test_runs_the_shipped_routing_with_its_own_addresses() {
    let listen: SocketAddr = "127.0.0.1:4100".parse().expect("addr");
    let owner: SocketAddr = "127.0.0.1:4101".parse().expect("addr");
    let edge: SocketAddr = "127.0.0.1:4102".parse().expect("addr");
    let generated = config(
        SHIPPED,
        listen,
        &BTreeMap::from([("a", owner), ("edge1", edge)]),
    );
    let lines: Vec<&str> = generated.lines().map(str::trim).collect();
    let picked = |prefix: &str| -> Vec<&str> {
        lines
            .iter()
            .copied()
            .filter(|l| l.starts_with(prefix))
            .collect()
    };
    assert_eq!(picked("bind"), ["bind 127.0.0.1:4100"]);
    assert_eq!(
        picked("server"),
        [
            "server edge1 127.0.0.1:4102 check",
            "server a 127.0.0.1:4101 check"
        ]
    );
    for kept in [
        "acl stream path /api/world/events",
        "use_backend edges if stream",
        "default_backend game",
        "balance leastconn",
        "option httpchk GET /readyz",
    ] {
        assert!(lines.contains(&kept), "{kept} is missing");
    }
}
