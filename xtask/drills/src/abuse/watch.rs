//! What the abuse drill watches while the floods run: the server's resident memory, the
//! lease renewals (read from the SQLite file with the `sqlite3` tool) and an honest
//! player polling `/api/world` every 100 ms from its own address. Each sample is filed
//! under the phase running when it was taken.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hyper::{Method, StatusCode};

use spacewars_harness::http_client::Connection;

use super::client::TIMEOUT;

/// Phases of the drill, in order.
pub const PHASES: [&str; 6] = [
    "baseline",
    "login flood",
    "password guessing",
    "registration flood",
    "slow connections",
    "after",
];

/// Samples per phase.
#[derive(Debug, Default, Clone)]
pub struct PhaseRecord {
    /// Honest `/api/world` latencies, µs.
    pub world_us: Vec<u64>,
    /// Honest requests that failed (no answer, or not 200).
    pub world_failures: u64,
    /// Largest resident set seen, KiB.
    pub peak_rss_kib: u64,
}

/// Lease observations.
#[derive(Debug, Default, Clone)]
pub struct LeaseRecord {
    /// When the lease's expiry was seen to move forward.
    pub renewals: Vec<Instant>,
    /// Smallest time left before expiry seen, ms (negative: it expired).
    pub min_margin_ms: Option<i64>,
    /// Reads that failed.
    pub failed_reads: u64,
}

/// The shared record and the current phase.
#[derive(Debug, Default)]
pub struct Watch {
    phase: AtomicUsize,
    stop: AtomicBool,
    phases: Mutex<Vec<PhaseRecord>>,
    lease: Mutex<LeaseRecord>,
}

impl Watch {
    /// A record with every phase empty.
    pub fn new() -> Arc<Watch> {
        Arc::new(Watch {
            phases: Mutex::new(vec![PhaseRecord::default(); PHASES.len()]),
            ..Watch::default()
        })
    }

    /// Files later samples under `phase` (an index into [`PHASES`]).
    pub fn enter(&self, phase: usize) {
        self.phase.store(phase, Ordering::SeqCst);
    }

    /// Stops the watchers.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn with_phase(&self, f: impl FnOnce(&mut PhaseRecord)) {
        let phase = self.phase.load(Ordering::SeqCst);
        let mut phases = self.phases.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(record) = phases.get_mut(phase) {
            f(record);
        }
    }

    /// A copy of the per-phase samples.
    pub fn phases(&self) -> Vec<PhaseRecord> {
        self.phases
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// A copy of the lease observations.
    pub fn lease(&self) -> LeaseRecord {
        self.lease
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// Polls `/api/world` every 100 ms as a logged-in player from `source`.
pub async fn honest_player(watch: Arc<Watch>, source: IpAddr, server: SocketAddr, cookie: String) {
    // The connection reconnects by itself after a failure.
    let mut conn = Connection::from_source(source, server, TIMEOUT);
    conn.set_cookie(Some(cookie));
    while !watch.stopped() {
        let started = Instant::now();
        let answer = conn.request(Method::GET, "/api/world", None).await;
        let took = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        match answer {
            Ok(reply) if reply.status == StatusCode::OK => {
                watch.with_phase(|p| p.world_us.push(took));
            }
            _ => watch.with_phase(|p| p.world_failures += 1),
        }
        tokio::time::sleep(Duration::from_millis(100).saturating_sub(started.elapsed())).await;
    }
}

/// Samples the resident set of process `pid` every 50 ms.
pub async fn memory(watch: Arc<Watch>, pid: u32) {
    while !watch.stopped() {
        if let Some(kib) = status_kib(pid, "VmRSS:") {
            watch.with_phase(|p| p.peak_rss_kib = p.peak_rss_kib.max(kib));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A `kB` field of `/proc/<pid>/status` (`VmRSS:`, `VmHWM:` for the peak so far).
pub fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Reads the lease row of the SQLite file `db` every 250 ms.
pub async fn lease(watch: Arc<Watch>, db: PathBuf) {
    let mut last_expiry = None;
    while !watch.stopped() {
        let read = tokio::process::Command::new("sqlite3")
            .arg("-readonly")
            .arg(&db)
            .arg("SELECT expires_ms FROM lease WHERE id = 1")
            .output()
            .await;
        let expiry = read
            .ok()
            .filter(|out| out.status.success())
            .and_then(|out| {
                String::from_utf8_lossy(&out.stdout)
                    .trim()
                    .parse::<i64>()
                    .ok()
            });
        {
            let mut record = watch.lease.lock().unwrap_or_else(PoisonError::into_inner);
            match expiry {
                Some(expires_ms) => {
                    let margin = expires_ms - now_ms();
                    record.min_margin_ms =
                        Some(record.min_margin_ms.map_or(margin, |m| m.min(margin)));
                    if last_expiry.is_some_and(|last| expires_ms > last) {
                        record.renewals.push(Instant::now());
                    }
                    last_expiry = Some(expires_ms);
                }
                None => record.failed_reads += 1,
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The `q` quantile (0..=1) of `samples`, in ms.
pub fn quantile_ms(samples: &[u64], q: f64) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1] as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_nearest_rank() {
        let samples: Vec<u64> = (1..=100).map(|ms| ms * 1000).collect();
        assert_eq!(quantile_ms(&samples, 0.99), Some(99.0));
        assert_eq!(quantile_ms(&samples, 0.5), Some(50.0));
        assert_eq!(quantile_ms(&samples, 1.0), Some(100.0));
        assert_eq!(quantile_ms(&[], 0.99), None);
    }
}
