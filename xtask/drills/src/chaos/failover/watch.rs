//! The readiness watcher: every [`SWEEP_EVERY`] it asks every server's `/readyz` at once
//! and counts the sweeps in which two or more answered 200 — two processes serving the
//! same database, which the lease must make impossible.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyper::{Method, StatusCode};
use tokio::task::JoinSet;

use spacewars_harness::http_client::Connection;

/// Pause between sweeps.
pub const SWEEP_EVERY: Duration = Duration::from_millis(20);

/// A `/readyz` that takes longer than this counts as not ready.
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);

/// What the watcher has seen so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Seen {
    /// Completed sweeps.
    pub sweeps: u64,
    /// Sweeps in which two or more servers answered 200.
    pub double: u64,
    /// The first such sweeps: when (since the watcher started) and which servers.
    pub double_examples: Vec<(Duration, Vec<usize>)>,
    /// The servers that answered 200 in the latest sweep.
    pub ready: Vec<usize>,
}

/// A running watcher.
pub struct Watcher {
    seen: Arc<Mutex<Seen>>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Watcher {
    /// Starts watching `addrs` (server `i` at `addrs[i]`).
    pub fn start(addrs: Vec<SocketAddr>) -> Watcher {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn(watch(addrs, seen.clone(), stop.clone()));
        Watcher { seen, stop, task }
    }

    /// A copy of what it has seen.
    pub fn seen(&self) -> Seen {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Waits until a sweep that started after this call finds exactly one server ready,
    /// and returns it (None after `timeout`).
    pub async fn sole_ready(&self, timeout: Duration) -> Option<usize> {
        let deadline = Instant::now() + timeout;
        let from = self.seen().sweeps + 1;
        while Instant::now() < deadline {
            let seen = self.seen();
            if seen.sweeps > from && seen.ready.len() == 1 {
                return seen.ready.first().copied();
            }
            tokio::time::sleep(SWEEP_EVERY).await;
        }
        None
    }

    /// Stops it and returns what it saw.
    pub async fn stop(self) -> Seen {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.task.await;
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

async fn watch(addrs: Vec<SocketAddr>, seen: Arc<Mutex<Seen>>, stop: Arc<AtomicBool>) {
    let started = Instant::now();
    let mut conns: Vec<Option<Connection>> = addrs.iter().map(|_| None).collect();
    while !stop.load(Ordering::SeqCst) {
        let at = started.elapsed();
        let mut probes = JoinSet::new();
        for (index, slot) in conns.iter_mut().enumerate() {
            // A probe that panicked lost its connection: open a new one.
            let mut conn = slot
                .take()
                .unwrap_or_else(|| Connection::new(addrs[index], PROBE_TIMEOUT));
            probes.spawn(async move {
                let ready = matches!(
                    conn.request(Method::GET, "/readyz", None).await,
                    Ok(reply) if reply.status == StatusCode::OK
                );
                (index, conn, ready)
            });
        }
        let mut ready = Vec::new();
        while let Some(joined) = probes.join_next().await {
            if let Ok((index, conn, is_ready)) = joined {
                conns[index] = Some(conn);
                if is_ready {
                    ready.push(index);
                }
            }
        }
        ready.sort_unstable();
        if let Ok(mut seen) = seen.lock() {
            seen.sweeps += 1;
            if ready.len() > 1 {
                seen.double += 1;
                if seen.double_examples.len() < 5 {
                    seen.double_examples.push((at, ready.clone()));
                }
            }
            seen.ready = ready;
        }
        tokio::time::sleep(SWEEP_EVERY).await;
    }
}
