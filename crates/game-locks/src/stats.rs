//! Per-level counters: atomics updated by the lock types, read as a plain snapshot.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use tokio::time::Instant;

/// A snapshot of one level's counters, for metrics (all values since the lock was created,
/// except `holders` and `waiters`, which are current).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LevelStats {
    /// The level's name, e.g. `"World"`.
    pub level: &'static str,
    /// Successful acquisitions, contended or not.
    pub acquisitions: u64,
    /// Acquisitions that could not be had at once and had to wait.
    pub contended: u64,
    /// Attempts with a deadline that gave up ([`crate::LockTimeout`]).
    pub timeouts: u64,
    /// Sum of the waits of contended acquisitions (timed-out waits are not included).
    pub total_wait: Duration,
    /// Longest single wait of a contended acquisition.
    pub max_wait: Duration,
    /// Guards alive right now (readers count one each).
    pub holders: u64,
    /// Tasks waiting right now.
    pub waiters: u64,
}

/// The live counters behind [`LevelStats`]. Relaxed atomics: each counter is independent,
/// and a snapshot only needs each value to be one that really occurred.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    acquisitions: AtomicU64,
    contended: AtomicU64,
    timeouts: AtomicU64,
    total_wait_ns: AtomicU64,
    max_wait_ns: AtomicU64,
    holders: AtomicU64,
    waiters: AtomicU64,
}

impl Counters {
    /// Reads every counter into a snapshot named after `level`.
    pub(crate) fn snapshot(&self, level: &'static str) -> LevelStats {
        LevelStats {
            level,
            acquisitions: self.acquisitions.load(Relaxed),
            contended: self.contended.load(Relaxed),
            timeouts: self.timeouts.load(Relaxed),
            total_wait: Duration::from_nanos(self.total_wait_ns.load(Relaxed)),
            max_wait: Duration::from_nanos(self.max_wait_ns.load(Relaxed)),
            holders: self.holders.load(Relaxed),
            waiters: self.waiters.load(Relaxed),
        }
    }

    /// Records an acquisition that did not wait; the returned token counts the holder.
    pub(crate) fn acquired_at_once(&self) -> Holding<'_> {
        self.acquisitions.fetch_add(1, Relaxed);
        self.hold()
    }

    /// Starts counting a waiter; finish the token with [`Waiting::acquired`].
    pub(crate) fn start_wait(&self) -> Waiting<'_> {
        self.waiters.fetch_add(1, Relaxed);
        Waiting {
            counters: self,
            since: Instant::now(),
            timed_out: false,
        }
    }

    fn hold(&self) -> Holding<'_> {
        self.holders.fetch_add(1, Relaxed);
        Holding(self)
    }
}

/// Counts one holder for as long as it lives.
#[derive(Debug)]
pub(crate) struct Holding<'a>(&'a Counters);

impl Drop for Holding<'_> {
    fn drop(&mut self) {
        self.0.holders.fetch_sub(1, Relaxed);
    }
}

/// Counts one waiter for as long as it lives, so a cancelled wait (a dropped future)
/// still leaves `waiters` right.
#[derive(Debug)]
pub(crate) struct Waiting<'a> {
    counters: &'a Counters,
    since: Instant,
    timed_out: bool,
}

impl<'a> Waiting<'a> {
    /// The wait ended with the lock: records it as a contended acquisition.
    pub(crate) fn acquired(self) -> Holding<'a> {
        let c = self.counters;
        let waited = u64::try_from(self.since.elapsed().as_nanos()).unwrap_or(u64::MAX);
        c.acquisitions.fetch_add(1, Relaxed);
        c.contended.fetch_add(1, Relaxed);
        c.total_wait_ns.fetch_add(waited, Relaxed);
        c.max_wait_ns.fetch_max(waited, Relaxed);
        c.hold()
    }

    /// The wait ended at its deadline without the lock.
    pub(crate) fn timed_out(mut self) {
        self.timed_out = true;
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.counters.waiters.fetch_sub(1, Relaxed);
        if self.timed_out {
            self.counters.timeouts.fetch_add(1, Relaxed);
        }
    }
}
