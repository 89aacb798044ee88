//! Shutdown: the OS signal future, and the in-flight request tracker used to drain.
//!
//! The server takes its shutdown trigger as a future (mini-redis style): the binary passes
//! [`signal`], tests pass a oneshot receiver. Once triggered, [`Lifecycle::start_shutdown`]
//! makes every new request answer 503 `shutting_down`, and [`Lifecycle::drained`] resolves
//! when the requests already running have finished.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use game_cache::engine::termination_signal;
use tokio::sync::Notify;

/// Resolves on SIGTERM or SIGINT (Ctrl-C): the engine's [`termination_signal`], whose
/// handlers every embedder shares.
pub async fn signal() {
    termination_signal().await;
}

/// Whether the server still takes requests, and how many are running.
#[derive(Debug, Default)]
pub struct Lifecycle {
    shutting_down: AtomicBool,
    in_flight: AtomicUsize,
    idle: Notify,
}

/// Counts one running request until dropped.
#[derive(Debug)]
pub struct InFlight(Arc<Lifecycle>);

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl Lifecycle {
    /// Admits a request, or `None` once shutdown has started.
    pub fn begin(self: &Arc<Self>) -> Option<InFlight> {
        // Count first, then check: `drained` cannot miss a request admitted concurrently.
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        let guard = InFlight(self.clone());
        (!self.shutting_down.load(Ordering::SeqCst)).then_some(guard)
    }

    /// Stops admitting requests.
    pub fn start_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
    }

    /// True once shutdown has started.
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }

    /// Requests running now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// Resolves when no request is running.
    pub async fn drained(&self) {
        loop {
            let idle = self.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            if self.in_flight() == 0 {
                return;
            }
            idle.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn drains_after_the_last_request_and_refuses_new_ones() {
        let lifecycle = Arc::new(Lifecycle::default());
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let running = {
            let lifecycle = lifecycle.clone();
            tokio::spawn(async move {
                let _guard = lifecycle.begin().expect("admitted");
                let _ = released.await;
            })
        };
        while lifecycle.in_flight() == 0 {
            tokio::task::yield_now().await;
        }
        lifecycle.start_shutdown();
        assert!(lifecycle.begin().is_none());
        assert_eq!(lifecycle.in_flight(), 1);
        let drained = tokio::time::timeout(Duration::from_millis(50), lifecycle.drained()).await;
        assert!(drained.is_err(), "one request still runs");
        release.send(()).expect("request waits");
        running.await.expect("request task");
        tokio::time::timeout(Duration::from_secs(5), lifecycle.drained())
            .await
            .expect("drained");
    }
}
