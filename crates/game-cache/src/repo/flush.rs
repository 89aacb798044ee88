//! The write-behind flush: one consistent cut written without game locks, and the
//! background task that flushes every persist interval (with back-off after failures).

use std::sync::Arc;
use std::sync::atomic::Ordering::SeqCst;
use std::time::Duration;

use game_locks::LockCtx;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::{FlushReport, Inner};
use crate::error::CacheError;
use crate::stats::Counters;

impl Inner {
    /// One flush: a consistent cut under the store-level lock, the write without any game
    /// lock, then clearing exactly the entries not changed since the cut.
    pub(crate) async fn flush(&self) -> Result<FlushReport, CacheError> {
        // Two flushes must not overlap: an older cut written after a newer one would put
        // old values back after the newer flush cleared them.
        let _serial = self.flush_serial.lock().await;
        let started = std::time::Instant::now();
        let mut cut = {
            let mut root = LockCtx::root();
            let (dirty, _ctx) = self.dirty.lock(&mut root).await;
            dirty.cut()
        };
        if cut.is_empty() {
            return Ok(FlushReport::default());
        }
        let batch = std::mem::take(&mut cut.batch);
        let mut report = FlushReport {
            users: batch.users.len(),
            upserted_objects: batch.upserted_objects.len(),
            deleted_objects: batch.deleted_objects.len(),
            duration: Duration::ZERO,
        };
        if let Err(error) = self.store.apply_batch(batch).await {
            self.counters.record_flush_failure();
            warn!(
                %error,
                users = report.users,
                upserted_objects = report.upserted_objects,
                deleted_objects = report.deleted_objects,
                failures = Counters::get(&self.counters.flush_failures),
                "flush failed; everything stays dirty for the next attempt"
            );
            return Err(error.into());
        }
        {
            let mut root = LockCtx::root();
            let (mut dirty, _ctx) = self.dirty.lock(&mut root).await;
            let clean = dirty.clear_written(&cut);
            // Under the same lock as the marks: a user re-marked after this cannot be
            // flagged clean by it.
            let mut users = self.users();
            users.mark_clean(&clean);
            users.evict_past_cap();
            drop(users);
            self.publish_dirty_counts(&dirty);
        }
        report.duration = started.elapsed();
        self.counters.record_flush(report.duration);
        debug!(?report, "flushed");
        Ok(report)
    }
}

/// The background flush loop: every persist interval (or, after a failure, after the
/// back-off) it flushes. It ends when the last handle is dropped or `shutdown` is called.
pub(super) async fn flush_task(inner: Arc<Inner>) {
    let interval = inner.config.persist_interval;
    let mut next = Instant::now() + interval;
    let mut failures_in_row = 0u32;
    loop {
        if inner.stop.load(SeqCst) {
            break;
        }
        tokio::select! {
            () = tokio::time::sleep_until(next) => {}
            () = inner.wake.notified() => {}
        }
        if inner.stop.load(SeqCst) {
            break;
        }
        if Instant::now() < next {
            continue;
        }
        match inner.flush().await {
            Ok(_) => {
                if failures_in_row > 0 {
                    info!(failures_in_row, "flushing works again");
                }
                failures_in_row = 0;
                next = Instant::now() + interval;
            }
            Err(_) => {
                failures_in_row += 1;
                let delay = inner.config.retry_delay(failures_in_row);
                debug!(
                    failures_in_row,
                    retry_in_ms = delay.as_millis() as u64,
                    "flush will be retried"
                );
                next = Instant::now() + delay;
            }
        }
    }
    debug!("flush task stopped");
}
