//! The state every request handler sees ([`App`]), and what the server takes from its
//! caller besides the configuration ([`Dependencies`]).

use std::sync::Arc;
use std::time::Duration;

use game_cache::fanout::FanoutHub;
use game_domain::clock::{Clock, SystemClock};
use game_domain::game::Game;
use game_persistence::LeaseStatus;

use crate::backend::Backend;
use crate::config::Config;
use crate::known_device::KnownDevices;
use crate::limits::Limits;
use crate::metrics::HttpMetrics;
use crate::session::SessionKeys;
use crate::shutdown::Lifecycle;
use crate::world_stream::quota::StreamQuota;

/// The state every request handler sees.
pub struct App<R> {
    /// The use cases over the chosen repository (shared with the engine that stops it).
    pub game: Arc<Game<R>>,
    /// Whether this process still owns the database: once lost, game requests get 503
    /// `lease_lost` at once; past its own deadline, 503 `lease_expired`.
    pub lease: LeaseStatus,
    /// Request counters and latencies.
    pub http_metrics: HttpMetrics,
    /// Shutdown flag and in-flight requests.
    pub lifecycle: Arc<Lifecycle>,
    /// Whether cookies get `Secure`.
    pub secure_cookies: bool,
    /// Per-request time limit.
    pub request_timeout: Duration,
    /// Rate limits, connection caps, the hashing pool (docs/limits.md).
    pub limits: Arc<Limits>,
    /// The world fan-out the event streams subscribe to (the engine's).
    pub streams: Arc<FanoutHub>,
    /// Area radius of a stream that names none, and the largest one allowed.
    pub interest_radius: (f64, f64),
    /// Signs session cookies and checks them before any lookup.
    pub sessions: SessionKeys,
    /// Issues and recognises known-device cookies (login rate limits).
    pub devices: KnownDevices,
    /// The least time between two writes to one event stream.
    pub stream_write_interval: std::time::Duration,
    /// Streams open per session and per player, and the caps on them.
    pub stream_quota: StreamQuota,
    /// An edge (`--edge`): only the event streams and the operations paths are served.
    pub edge: bool,
    /// With `--nats`: where logouts go to be announced to the edges.
    pub session_notices: Option<tokio::sync::mpsc::Sender<String>>,
}

impl<R: Backend> App<R> {
    /// The handlers' state around `game`.
    pub fn new(
        game: Arc<Game<R>>,
        lease: LeaseStatus,
        config: &Config,
        limits: Arc<Limits>,
        sessions: SessionKeys,
        devices: KnownDevices,
    ) -> App<R> {
        App {
            game,
            lease,
            http_metrics: HttpMetrics::default(),
            lifecycle: Arc::new(Lifecycle::default()),
            secure_cookies: config.secure_cookies,
            request_timeout: config.request_timeout(),
            limits,
            streams: Arc::new(FanoutHub::new(
                config.sync.stream_limits(),
                config.sync.interest_tick(),
            )),
            interest_radius: (
                f64::from(config.sync.interest_radius),
                f64::from(config.sync.max_interest_radius),
            ),
            sessions,
            devices,
            stream_write_interval: config.sync.stream_write_interval(),
            stream_quota: StreamQuota::new(
                config.limits.max_streams_per_session,
                config.limits.max_streams_per_user,
            ),
            edge: false,
            session_notices: None,
        }
    }
}

/// What the server takes from its caller besides [`Config`]: time and randomness.
/// Tests inject a manual clock and a seed to get exact expected values.
#[derive(Clone)]
pub struct Dependencies {
    /// The game's clock.
    pub clock: Arc<dyn Clock>,
    /// Seed of the game's RNG (collect rolls, session tokens); `None` seeds from the OS.
    pub rng_seed: Option<u64>,
}

impl Default for Dependencies {
    fn default() -> Dependencies {
        Dependencies {
            clock: Arc::new(SystemClock),
            rng_seed: None,
        }
    }
}

impl std::fmt::Debug for Dependencies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dependencies")
            .field("now_ms", &self.clock.now_ms())
            .field("rng_seed", &self.rng_seed)
            .finish()
    }
}
