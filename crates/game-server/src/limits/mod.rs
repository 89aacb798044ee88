//! Staying up under hostile load (docs/limits.md): bounded password hashing, rate limits on
//! login and registration, connection caps, stalled writes and the open-file limit.
//!
//! - `config`: the flags ([`LimitsConfig`]).
//! - [`rate`]: token buckets per client address, per account and per known device.
//! - [`lru_store`]: the rate limiters' tables, bounded in keys.
//! - [`client`]: the client address of a request (peer or trusted `X-Forwarded-For`).
//! - [`connections`]: caps on open connections, total and per address; eviction of idle
//!   ones near the cap.
//! - [`busy_body`]: a response body that keeps its connection busy until it is sent.
//! - [`stall`]: closing connections whose client reads nothing.

pub mod busy_body;
pub mod client;
mod config;
pub mod connections;
pub mod lru_store;
pub mod rate;
pub mod stall;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::HeaderMap;

use crate::metrics::Exposition;

pub use config::{LimitsConfig, LimitsError};
use connections::ConnectionCaps;
use game_cache::password::HashPool;
use rate::RateLimits;

/// A connection that came in near the cap gets this fraction of the first-request timeout.
pub const PRESSURE_FIRST_REQUEST_DIVISOR: u32 = 5;

/// How often the rate limiters forget buckets that are full again.
pub const SWEEP_PERIOD: Duration = Duration::from_secs(30);

/// The limits a running server enforces.
#[derive(Debug)]
pub struct Limits {
    /// Login and registration rate limits.
    pub rates: RateLimits,
    /// Open connection caps.
    pub connections: Arc<ConnectionCaps>,
    /// The password hashing pool (for its metrics).
    pub hash_pool: HashPool,
    /// Whether the client address is the last `X-Forwarded-For` hop.
    pub trust_forwarded_for: bool,
    /// Time for a new connection's first request head.
    pub first_request_timeout: Duration,
    /// Idle keep-alive time (and time for later request heads).
    pub keep_alive_timeout: Duration,
    /// Time a socket may accept no byte of a response.
    pub write_stall_timeout: Duration,
}

impl Limits {
    /// The limits `config` asks for, with hashing on `hash_pool`.
    pub fn new(config: &LimitsConfig, hash_pool: HashPool) -> Result<Limits, LimitsError> {
        Ok(Limits {
            rates: RateLimits::new(config)?,
            connections: Arc::new(ConnectionCaps::new(
                config.max_connections,
                config.max_connections_per_address,
            )),
            hash_pool,
            trust_forwarded_for: config.trust_forwarded_for,
            first_request_timeout: config.first_request_timeout(),
            keep_alive_timeout: config.keep_alive_timeout(),
            write_stall_timeout: config.write_stall_timeout(),
        })
    }

    /// The client address of a request from `peer` (see [`client::client_address`]).
    pub fn client_address(&self, headers: &HeaderMap, peer: IpAddr) -> IpAddr {
        client::client_address(headers, peer, self.trust_forwarded_for)
    }

    /// Adds the hashing, rate limit and connection families to `/metrics`.
    pub fn write_metrics(&self, out: &mut Exposition) {
        use std::sync::atomic::Ordering::Relaxed;
        let stats = self.hash_pool.stats();
        out.gauge(
            "spacewars_hash_queued",
            "Password hashes waiting for a hashing thread.",
            stats.queued.load(Relaxed),
        );
        out.gauge(
            "spacewars_hash_running",
            "Password hashes running now.",
            stats.running.load(Relaxed),
        );
        out.counter(
            "spacewars_hash_completed_total",
            "Password hashes and verifications done.",
            stats.completed.load(Relaxed),
        );
        out.counter(
            "spacewars_hash_refused_total",
            "Password hashes refused with 503 busy because the queue was full.",
            stats.refused.load(Relaxed),
        );
        out.counter(
            "spacewars_hash_expired_total",
            "Password hashes dropped unrun because the request's deadline had passed.",
            stats.expired.load(Relaxed),
        );
        self.rates.write_metrics(out);
        self.connections.write_metrics(out);
    }

    /// Time for the first request head of a connection admitted `under_pressure`.
    pub fn first_request_timeout_for(&self, under_pressure: bool) -> Duration {
        if under_pressure {
            self.first_request_timeout / PRESSURE_FIRST_REQUEST_DIVISOR
        } else {
            self.first_request_timeout
        }
    }

    /// Sweeps the rate limiters every [`SWEEP_PERIOD`] until the returned task is
    /// aborted.
    pub fn spawn_sweeper(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let limits = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(SWEEP_PERIOD);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let Some(limits) = limits.upgrade() else {
                    return;
                };
                limits.rates.sweep();
            }
        })
    }
}

/// Raises the soft open-file limit to the hard one and logs both; a failure is logged
/// and otherwise ignored (the connection caps still apply).
pub fn raise_open_file_limit() {
    match rlimit::getrlimit(rlimit::Resource::NOFILE) {
        Ok((soft, hard)) => match rlimit::increase_nofile_limit(hard) {
            Ok(now) => tracing::info!(soft_before = soft, soft = now, hard, "open-file limit"),
            Err(error) => tracing::warn!(%error, soft, hard, "cannot raise the open-file limit"),
        },
        Err(error) => tracing::warn!(%error, "cannot read the open-file limit"),
    }
}
