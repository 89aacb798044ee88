//! What the sync players count: shared byte and event counters read at the measured
//! window's edges, and each player's own outcomes, merged at the end.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hdrhistogram::Histogram;

use crate::report::{Recorder, RouteStats};

/// Counters shared by every player of one run.
#[derive(Debug, Default)]
pub struct Counters {
    /// Body bytes received from the world endpoints (for the stream: bytes read).
    pub world_bytes: AtomicU64,
    /// World answers (polls) or stream events received.
    pub world_reads: AtomicU64,
    /// Bodies or events that did not parse or apply.
    pub sync_errors: AtomicU64,
    /// Streams opened (more than one per player means reconnections).
    pub stream_opens: AtomicU64,
}

/// The counters at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CounterSnapshot {
    /// See [`Counters::world_bytes`].
    pub world_bytes: u64,
    /// See [`Counters::world_reads`].
    pub world_reads: u64,
    /// See [`Counters::sync_errors`].
    pub sync_errors: u64,
    /// See [`Counters::stream_opens`].
    pub stream_opens: u64,
}

impl Counters {
    /// Adds `n` to `counter`.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// The values now.
    pub fn snapshot(&self) -> CounterSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        CounterSnapshot {
            world_bytes: get(&self.world_bytes),
            world_reads: get(&self.world_reads),
            sync_errors: get(&self.sync_errors),
            stream_opens: get(&self.stream_opens),
        }
    }
}

impl CounterSnapshot {
    /// What was counted between `earlier` and `self`.
    pub fn since(&self, earlier: &CounterSnapshot) -> CounterSnapshot {
        CounterSnapshot {
            world_bytes: self.world_bytes.saturating_sub(earlier.world_bytes),
            world_reads: self.world_reads.saturating_sub(earlier.world_reads),
            sync_errors: self.sync_errors.saturating_sub(earlier.sync_errors),
            stream_opens: self.stream_opens.saturating_sub(earlier.stream_opens),
        }
    }
}

/// A histogram of µs from 1 µs to 60 s (the bounds the recorder uses).
pub fn histogram() -> Histogram<u64> {
    RouteStats::default().latency_us
}

/// Records `value` in a µs histogram, clamped to its bounds.
pub fn record_us(histogram: &mut Histogram<u64>, value: Duration) {
    let micros = u64::try_from(value.as_micros()).unwrap_or(u64::MAX);
    histogram.saturating_record(micros.clamp(1, 60_000_000));
}

/// One player's outcomes inside the measured window.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Actions (navigate, collect): latency and status.
    pub actions: Recorder,
    /// Refused actions by error code (`object_too_far`, …).
    pub refusals: BTreeMap<String, u64>,
    /// World requests (polls, stream openings): latency and status.
    pub world: Recorder,
    /// How late ticks (polls and actions) started against their schedule.
    pub lateness_us: Histogram<u64>,
    /// Stream events: time from the server's `currentTime` to parsed on the client.
    pub event_lag_us: Histogram<u64>,
    /// A navigation's acknowledgement to the first stream delta carrying the player's
    /// ship (end to end: through NATS and an edge when streams are on edges).
    pub ack_to_event_us: Histogram<u64>,
}

impl Default for Outcome {
    fn default() -> Outcome {
        Outcome {
            actions: Recorder::default(),
            refusals: BTreeMap::new(),
            world: Recorder::default(),
            lateness_us: histogram(),
            event_lag_us: histogram(),
            ack_to_event_us: histogram(),
        }
    }
}

impl Outcome {
    /// Adds another player's outcomes.
    pub fn merge(&mut self, other: &Outcome) {
        self.actions.merge(&other.actions);
        self.world.merge(&other.world);
        for (code, n) in &other.refusals {
            *self.refusals.entry(code.clone()).or_default() += n;
        }
        // Same bounds on both sides, so adding cannot fail.
        let _ = self.lateness_us.add(&other.lateness_us);
        let _ = self.event_lag_us.add(&other.event_lag_us);
        let _ = self.ack_to_event_us.add(&other.ack_to_event_us);
    }

    /// Counts one refused action.
    pub fn refused(&mut self, code: &str) {
        *self.refusals.entry(code.to_owned()).or_default() += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_subtract_and_outcomes_merge() {
        let counters = Counters::default();
        Counters::add(&counters.world_bytes, 100);
        let before = counters.snapshot();
        Counters::add(&counters.world_bytes, 50);
        Counters::add(&counters.world_reads, 2);
        let during = counters.snapshot().since(&before);
        assert_eq!((during.world_bytes, during.world_reads), (50, 2));

        let mut a = Outcome::default();
        a.refused("object_too_far");
        record_us(&mut a.lateness_us, Duration::from_millis(3));
        let mut b = Outcome::default();
        b.refused("object_too_far");
        b.refused("object_not_found");
        b.actions
            .answered("POST /api/navigate", 200, Duration::from_millis(1));
        a.merge(&b);
        assert_eq!(a.refusals["object_too_far"], 2);
        assert_eq!(a.refusals.len(), 2);
        assert_eq!(a.actions.total().attempts(), 1);
        assert!(a.lateness_us.max() >= 3_000);
    }
}
