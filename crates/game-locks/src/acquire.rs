//! The one acquisition path shared by every lock type: try at once, else wait and count.

use std::future::Future;

use tokio::time::{Instant, timeout_at};

use crate::error::LockTimeout;
use crate::stats::{Counters, Holding};

/// Takes `fast` if it succeeded; otherwise awaits `slow()`, counting the wait as contended.
///
/// Trying first keeps the uncontended path to a CAS plus two atomic adds; tokio's fair
/// locks fail `try_*` while anyone is queued, so trying first does not jump the queue.
pub(crate) async fn acquire<'c, G, F>(
    counters: &'c Counters,
    fast: Option<G>,
    slow: impl FnOnce() -> F,
) -> (G, Holding<'c>)
where
    F: Future<Output = G>,
{
    if let Some(guard) = fast {
        return (guard, counters.acquired_at_once());
    }
    let waiting = counters.start_wait();
    let guard = slow().await;
    (guard, waiting.acquired())
}

/// Like [`acquire`], but gives up at `deadline` with a [`LockTimeout`] naming `level`.
///
/// Panics if the runtime was built without its time driver (tokio's `timeout_at` does).
pub(crate) async fn acquire_until<'c, G, F>(
    counters: &'c Counters,
    level: &'static str,
    deadline: Instant,
    fast: Option<G>,
    slow: impl FnOnce() -> F,
) -> Result<(G, Holding<'c>), LockTimeout>
where
    F: Future<Output = G>,
{
    if let Some(guard) = fast {
        return Ok((guard, counters.acquired_at_once()));
    }
    let waiting = counters.start_wait();
    match timeout_at(deadline, slow()).await {
        Ok(guard) => Ok((guard, waiting.acquired())),
        Err(_elapsed) => {
            waiting.timed_out();
            Err(LockTimeout { level })
        }
    }
}
