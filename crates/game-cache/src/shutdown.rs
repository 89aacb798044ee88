//! Stopping the cache (docs/persistence.md, Graceful shutdown): close the gate, drain, stop
//! the background tasks, and make the final flush, retried; all of it within one deadline. What a final
//! flush could not write stays in memory, and [`CachedRepo::pending_batch`] hands it out
//! (for the spill file).

use game_locks::LockCtx;
use game_persistence::{Batch, StoreError};
use tokio::time::Instant;
use tracing::{error, info, warn};

use crate::error::CacheError;
use crate::repo::{CachedRepo, FlushReport, lock};

impl CachedRepo {
    /// Stops accepting operations (they fail with `AppError::ShuttingDown`), waits for
    /// the ones in flight, stops the background tasks and makes a final flush, retried with
    /// back-off; all of it within [`crate::CacheConfig::shutdown_flush_timeout`] from the
    /// call (one attempt at least, retries only while they can start before that deadline,
    /// none once the lease is lost). A flush still
    /// writing at that deadline, the background task's or the final one, is abandoned
    /// there and counted as a failed flush at once (its outcome is unknown: it may still
    /// commit, and its changes stay pending). Its result is the final flush's.
    ///
    /// If it fails, the changes are still in memory and dirty: [`flush_now`](Self::flush_now)
    /// may be retried, and [`pending_batch`](Self::pending_batch) returns them. Calling
    /// `shutdown` again is harmless.
    pub async fn shutdown(&self) -> Result<FlushReport, CacheError> {
        let inner = &self.inner;
        let timeout = inner.config.shutdown_flush_timeout;
        let deadline = Instant::now() + timeout;
        let abandoned = || {
            inner.counters.record_flush_failure();
            CacheError::Store(StoreError::Timeout { after: timeout })
        };
        if tokio::time::timeout_at(deadline, inner.gate.close_and_drain())
            .await
            .is_err()
        {
            warn!("units of work still running at the shutdown deadline; not waiting for them");
        }
        inner.stop_task();
        let task = lock(&inner.task).take();
        if let Some(mut task) = task {
            match tokio::time::timeout_at(deadline, &mut task).await {
                Ok(Ok(())) => {}
                Ok(Err(join_error)) => error!(%join_error, "flush task ended abnormally"),
                Err(_) => {
                    // Still writing a batch: abandoned, and a failure now, not at its own
                    // (longer) batch deadline.
                    task.abort();
                    let error = abandoned();
                    error!(%error, "the background flush was abandoned at the shutdown deadline");
                }
            }
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            let error = match tokio::time::timeout_at(deadline, inner.flush()).await {
                Ok(Ok(report)) => {
                    info!(
                        users = report.users,
                        upserted_objects = report.upserted_objects,
                        deleted_objects = report.deleted_objects,
                        attempt,
                        "cache shut down after its final flush"
                    );
                    return Ok(report);
                }
                Ok(Err(error)) => error,
                Err(_) => abandoned(),
            };
            let now = Instant::now();
            let lease_lost = matches!(error, CacheError::Store(StoreError::LeaseLost));
            let delay = inner.config.retry_delay(attempt);
            // A retry that would start at the deadline would be abandoned at once.
            if lease_lost || now + delay >= deadline {
                error!(
                    %error,
                    attempt,
                    timeout_ms = timeout.as_millis() as u64,
                    "final flush failed; unflushed changes remain in memory"
                );
                return Err(error);
            }
            warn!(%error, attempt, retry_in_ms = delay.as_millis() as u64, "final flush failed");
            tokio::time::sleep(delay).await;
        }
    }

    /// Everything changed and not yet written, as one batch: a consistent cut taken under
    /// the store-level lock (the same a flush would write). After [`shutdown`](Self::shutdown)
    /// failed, this is exactly what would be lost.
    pub async fn pending_batch(&self) -> Batch {
        let mut root = LockCtx::root();
        let (dirty, _ctx) = self.inner.dirty.lock(&mut root).await;
        dirty.cut().batch
    }
}
