//! Wiring: configuration → store (migrations, lease, seed) → repository → game → listener.
//!
//! [`Server::bind`] does every start-up step and only then opens the listener, so the first
//! request on a fresh database already finds the demo world. [`Server::run`] serves until
//! the shutdown future resolves, drains, makes the final flush and releases the lease.

use std::sync::Arc;
use std::time::Duration;

use game_domain::clock::{Clock, SystemClock};
use game_domain::game::Game;

use crate::backend::Backend;
use crate::config::Config;
use crate::metrics::HttpMetrics;
use crate::shutdown::Lifecycle;

/// The state every request handler sees.
pub struct App<R> {
    /// The use cases over the chosen repository.
    pub game: Game<R>,
    /// Request counters and latencies.
    pub http_metrics: HttpMetrics,
    /// Shutdown flag and in-flight requests.
    pub lifecycle: Arc<Lifecycle>,
    /// Whether cookies get `Secure`.
    pub secure_cookies: bool,
    /// Per-request time limit.
    pub request_timeout: Duration,
}

impl<R: Backend> App<R> {
    /// The handlers' state around `game`.
    pub fn new(game: Game<R>, config: &Config) -> App<R> {
        App {
            game,
            http_metrics: HttpMetrics::default(),
            lifecycle: Arc::new(Lifecycle::default()),
            secure_cookies: config.secure_cookies,
            request_timeout: config.request_timeout(),
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
