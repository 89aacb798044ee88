//! The failover drill's figures per signal: takeovers, unavailability (p50, max) and
//! acknowledged collects lost.

use std::time::Duration;

use crate::chaos::Signal;
use crate::chaos::check::CycleOutcome;

/// Totals of the takeovers after one kind of signal.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Kind {
    /// Unavailability of each takeover, in cycle order.
    pub unavailable: Vec<Duration>,
    /// The slowest single probe request during a takeover (one HAProxy held).
    pub slowest_request: Duration,
    /// Acknowledged collects.
    pub acks: usize,
    /// Of which lost.
    pub lost: usize,
    /// Unanswered collects whose outcome the check resolved.
    pub unknowns: usize,
    /// Of which applied.
    pub unknowns_applied: usize,
    /// Oldest lost acknowledgement, relative to the signal.
    pub oldest_lost: Option<Duration>,
}

impl Kind {
    /// Adds one takeover.
    pub fn add(&mut self, unavailable: Duration, slowest: Duration, outcome: &CycleOutcome) {
        self.unavailable.push(unavailable);
        self.slowest_request = self.slowest_request.max(slowest);
        self.acks += outcome.acks;
        self.lost += outcome.lost_acks;
        self.unknowns += outcome.unknowns;
        self.unknowns_applied += outcome.unknowns_applied;
        self.oldest_lost = self.oldest_lost.max(outcome.oldest_lost);
    }

    /// One summary line.
    pub fn line(&self, signal: Signal, bound: &str) -> String {
        let oldest = self.oldest_lost.map_or_else(String::new, |d| {
            format!(", the oldest acknowledged {d:.2?} before the signal")
        });
        format!(
            "SUMMARY failover SIG{}: {} takeovers, unavailable p50 {} / max {} (slowest single \
             request {}); {} acknowledged collects, {} lost{oldest} ({bound}); {} unanswered ({} \
             applied)",
            signal.name(),
            self.unavailable.len(),
            seconds(percentile(&self.unavailable, 50)),
            seconds(self.unavailable.iter().max().copied()),
            seconds(Some(self.slowest_request)),
            self.acks,
            self.lost,
            self.unknowns,
            self.unknowns_applied,
        )
    }
}

/// Totals of the pause or partition cycles (docs/persistence.md, One owner).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CutKind {
    /// The takeovers' figures, as for a signal.
    pub takeovers: Kind,
    /// Sampler writes the old owner acknowledged after the cut (before its deadline).
    pub acked_after_cut: usize,
    /// Sampler writes the old owner acknowledged after its latest possible deadline.
    pub acked_after_deadline: usize,
    /// 50 ms moments sampled.
    pub moments: usize,
    /// Of which two processes acknowledged a write in.
    pub double: usize,
}

impl CutKind {
    /// One summary line for the cycles of `name` (`pause`, `partition`).
    pub fn line(&self, name: &str, bound: &str) -> String {
        let takeovers = &self.takeovers;
        let oldest = takeovers.oldest_lost.map_or_else(String::new, |d| {
            format!(", the oldest acknowledged {d:.2?} before the cut")
        });
        format!(
            "SUMMARY failover {name}: {} takeovers, unavailable p50 {} / max {}; {} acknowledged \
             collects, {} lost{oldest} ({bound}); {} unanswered ({} applied); writes the old \
             owner acknowledged after the cut {}, after its deadline {} (target 0); moments \
             with two processes acknowledging {} of {} sampled every 50 ms, fresh and kept-alive \
             connections (target 0)",
            takeovers.unavailable.len(),
            seconds(percentile(&takeovers.unavailable, 50)),
            seconds(takeovers.unavailable.iter().max().copied()),
            takeovers.acks,
            takeovers.lost,
            takeovers.unknowns,
            takeovers.unknowns_applied,
            self.acked_after_cut,
            self.acked_after_deadline,
            self.double,
            self.moments,
        )
    }
}

/// The nearest-rank `p`th percentile (None when empty).
pub fn percentile(values: &[Duration], p: usize) -> Option<Duration> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// `1.23 s`, or `-`.
fn seconds(value: Option<Duration>) -> String {
    value.map_or_else(|| "-".to_owned(), |d| format!("{:.2} s", d.as_secs_f64()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(values: &[u64]) -> Vec<Duration> {
        values.iter().map(|v| Duration::from_millis(*v)).collect()
    }

    #[test]
    fn the_median_is_the_nearest_rank() {
        assert_eq!(
            percentile(&ms(&[300, 100, 200]), 50),
            Some(Duration::from_millis(200))
        );
        assert_eq!(
            percentile(&ms(&[400, 100, 300, 200]), 50),
            Some(Duration::from_millis(200))
        );
        assert_eq!(percentile(&ms(&[5]), 50), Some(Duration::from_millis(5)));
        assert_eq!(percentile(&ms(&[]), 50), None);
        assert_eq!(
            percentile(&ms(&[1, 2, 3, 4]), 100),
            Some(Duration::from_millis(4))
        );
    }

    #[test]
    fn the_line_shows_the_figures() {
        let kind = Kind {
            unavailable: ms(&[1_900, 1_500, 2_100]),
            slowest_request: Duration::from_millis(2_004),
            acks: 40,
            lost: 2,
            unknowns: 1,
            unknowns_applied: 1,
            oldest_lost: Some(Duration::from_millis(420)),
        };
        assert_eq!(
            kind.line(Signal::Kill, "bound 750ms"),
            "SUMMARY failover SIGKILL: 3 takeovers, unavailable p50 1.90 s / max 2.10 s (slowest \
             single request 2.00 s); 40 acknowledged collects, 2 lost, the oldest acknowledged 420.00ms before the signal \
             (bound 750ms); 1 unanswered (1 applied)"
        );
    }
}
