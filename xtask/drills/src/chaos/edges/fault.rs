//! Injecting one fault and bringing the rig back to full strength: the killed owner
//! restarted as the new standby once the other took over, a killed edge restarted on its
//! port, NATS started again on its port.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context;
use hyper::{Method, StatusCode};

use spacewars_harness::http_client::Connection;

use crate::chaos::EXIT_TIMEOUT;
use crate::chaos::edges::nats::OwnNats;
use crate::chaos::edges::report::Fault;
use crate::chaos::failover::fleet::Fleet;

/// How long a takeover or an edge's return to ready may take.
const READY_WAIT: Duration = Duration::from_secs(60);

/// The drill's processes but HAProxy.
pub struct Rig {
    /// Owner and standby (slots 0 and 1).
    pub game: Fleet,
    /// The edges.
    pub edges: Fleet,
    /// The NATS they all use.
    pub nats: OwnNats,
}

/// Injects `fault` and restores the rig; a line saying what happened.
pub async fn inject(fault: Fault, rig: &mut Rig) -> anyhow::Result<String> {
    match fault {
        Fault::OwnerKill | Fault::OwnerTerm => {
            let signal = if fault == Fault::OwnerKill {
                "KILL"
            } else {
                "TERM"
            };
            let owner = ready_slot(&rig.game.addrs())
                .await
                .context("no owner is ready")?;
            let exit = signal_and_reap(&mut rig.game, owner, signal).await?;
            let other = 1 - owner;
            let started = Instant::now();
            wait_status(rig.game.addrs()[other], StatusCode::OK, READY_WAIT)
                .await
                .with_context(|| format!("server {other} did not take over"))?;
            let took_over = started.elapsed();
            rig.game.start(owner).await?;
            Ok(format!(
                "SIG{signal} to owner {owner} ({exit}); server {other} ready {took_over:.2?} after \
                 the exit; server {owner} restarted as the standby"
            ))
        }
        Fault::EdgeKill | Fault::EdgeTerm => {
            let signal = if fault == Fault::EdgeKill {
                "KILL"
            } else {
                "TERM"
            };
            let (edge, streams) = busiest(&rig.edges.addrs()).await;
            let exit = signal_and_reap(&mut rig.edges, edge, signal).await?;
            rig.edges.start(edge).await?;
            wait_status(rig.edges.addrs()[edge], StatusCode::OK, READY_WAIT)
                .await
                .with_context(|| format!("edge {edge} never became ready again"))?;
            Ok(format!(
                "SIG{signal} to edge {edge} with {streams} open streams ({exit}); restarted, \
                 ready again"
            ))
        }
        Fault::NatsRestart => {
            rig.nats.kill().await?;
            rig.nats.restart().await?;
            Ok("nats-server killed and started again on its port".to_owned())
        }
    }
}

/// Sends `signal` to slot `index` of `fleet` and waits for its exit; the exit as text.
async fn signal_and_reap(fleet: &mut Fleet, index: usize, signal: &str) -> anyhow::Result<String> {
    let mut process = fleet.slots[index]
        .process
        .take()
        .with_context(|| format!("slot {index} is not running"))?;
    process.signal(signal)?;
    let status = process.wait_exit(EXIT_TIMEOUT).await?;
    Ok(status.to_string())
}

/// The slot whose `/readyz` answers 200 (the owner), polled for up to [`READY_WAIT`].
pub async fn ready_slot(addrs: &[SocketAddr]) -> Option<usize> {
    let deadline = Instant::now() + READY_WAIT;
    while Instant::now() < deadline {
        for (index, addr) in addrs.iter().enumerate() {
            if status_of(*addr, "/readyz").await == Some(StatusCode::OK) {
                return Some(index);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

/// Polls `/readyz` of `addr` until it answers `want`.
pub async fn wait_status(
    addr: SocketAddr,
    want: StatusCode,
    within: Duration,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + within;
    while status_of(addr, "/readyz").await != Some(want) {
        anyhow::ensure!(
            Instant::now() < deadline,
            "{addr}/readyz is not {want} after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

async fn status_of(addr: SocketAddr, path: &str) -> Option<StatusCode> {
    let mut conn = Connection::new(addr, Duration::from_secs(2));
    conn.request(Method::GET, path, None)
        .await
        .ok()
        .map(|r| r.status)
}

/// The edge with the most open streams (`spacewars_world_streams_open`), so that a fault
/// cuts streams even after earlier faults moved them all to one edge; its index and
/// open streams.
async fn busiest(edges: &[SocketAddr]) -> (usize, f64) {
    let mut best = (0, -1.0);
    for (index, addr) in edges.iter().enumerate() {
        let open = open_streams(*addr).await.unwrap_or(0.0);
        if open > best.1 {
            best = (index, open);
        }
    }
    best
}

async fn open_streams(addr: SocketAddr) -> Option<f64> {
    let mut conn = Connection::new(addr, Duration::from_secs(2));
    let reply = conn.request(Method::GET, "/metrics", None).await.ok()?;
    let text = String::from_utf8_lossy(&reply.body).into_owned();
    gauge(&text, "spacewars_world_streams_open")
}

/// The value of the unlabelled series `name` in a Prometheus text exposition.
pub fn gauge(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            line.strip_prefix(name)?
                .strip_prefix(' ')?
                .trim()
                .parse()
                .ok()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gauge_is_read_from_its_own_line() {
        let text = "# TYPE spacewars_world_streams_open gauge\n\
                    spacewars_world_streams_opened_total 40\n\
                    spacewars_world_streams_open 12\n";
        assert_eq!(gauge(text, "spacewars_world_streams_open"), Some(12.0));
        assert_eq!(
            gauge(text, "spacewars_world_streams_opened_total"),
            Some(40.0)
        );
        assert_eq!(gauge(text, "spacewars_missing"), None);
    }
}
