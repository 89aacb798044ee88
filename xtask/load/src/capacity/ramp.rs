//! Which player counts a mode's ramp measures: a ladder of counts growing by a factor
//! (plus counts other modes must be compared at), climbed until a step fails, then
//! bisected between the last count held and the first one that was not.

/// The ramp of one mode.
#[derive(Debug, Clone, PartialEq)]
pub struct Ramp {
    /// Counts to climb, ascending, without repeats.
    ladder: Vec<usize>,
    /// Bisection steps left after the first failure.
    refine: u32,
    /// Stop bisecting when the gap is at most this share of the count held.
    resolution: f64,
    /// The largest count held so far.
    held: Option<usize>,
    /// The smallest count that failed so far.
    failed: Option<usize>,
    /// Set when a step's result must not be extended (the server was not the limit).
    stopped: bool,
}

impl Ramp {
    /// Counts `start`, `start·factor`, … up to `max` (always included), plus `extra`
    /// counts up to `max`; `refine` bisection steps after the first failure, down to a gap
    /// of 5 % of the count held.
    pub fn new(start: usize, factor: f64, max: usize, extra: &[usize], refine: u32) -> Ramp {
        let start = start.max(1);
        let max = max.max(start);
        let factor = if factor > 1.0 { factor } else { 2.0 };
        let mut ladder = Vec::new();
        let mut count = start as f64;
        while (count.round() as usize) < max {
            ladder.push(count.round() as usize);
            count *= factor;
        }
        ladder.push(max);
        ladder.extend(extra.iter().copied().filter(|&n| n >= 1 && n <= max));
        ladder.sort_unstable();
        ladder.dedup();
        Ramp {
            ladder,
            refine,
            resolution: 0.05,
            held: None,
            failed: None,
            stopped: false,
        }
    }

    /// The next count to measure, or `None` when the ramp is done.
    pub fn next(&self) -> Option<usize> {
        if self.stopped {
            return None;
        }
        let Some(failed) = self.failed else {
            let above = self.held.unwrap_or(0);
            return self.ladder.iter().copied().find(|&n| n > above);
        };
        if self.refine == 0 {
            return None;
        }
        let held = self.held.unwrap_or(0);
        let gap = failed.saturating_sub(held);
        let step = ((held as f64 * self.resolution).ceil() as usize).max(1);
        (gap > step).then(|| held + gap / 2)
    }

    /// Records the outcome at `players`; a failure spends one bisection step if it was
    /// one.
    pub fn record(&mut self, players: usize, held: bool) {
        if held {
            self.held = Some(self.held.map_or(players, |h| h.max(players)));
        } else {
            if self.failed.is_some() {
                self.refine = self.refine.saturating_sub(1);
            }
            self.failed = Some(self.failed.map_or(players, |f| f.min(players)));
        }
        if held && self.failed.is_some() {
            self.refine = self.refine.saturating_sub(1);
        }
    }

    /// Ends the ramp (a step the server was not the limit of).
    pub fn stop(&mut self) {
        self.stopped = true;
    }

    /// The largest count held.
    pub fn held(&self) -> Option<usize> {
        self.held
    }

    /// True when the largest count of the ladder was held (the ramp's ceiling, not the
    /// server's limit).
    pub fn at_ceiling(&self) -> bool {
        self.held.is_some() && self.held == self.ladder.last().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn climb(ramp: &mut Ramp, limit: usize) -> Vec<usize> {
        let mut measured = Vec::new();
        while let Some(players) = ramp.next() {
            measured.push(players);
            ramp.record(players, players <= limit);
            assert!(measured.len() < 50, "the ramp ends");
        }
        measured
    }

    #[test]
    fn doubles_then_bisects_below_the_first_failure() {
        let mut ramp = Ramp::new(50, 2.0, 3_200, &[], 2);
        assert_eq!(climb(&mut ramp, 500), [50, 100, 200, 400, 800, 600, 500]);
        assert_eq!(ramp.held(), Some(500));
        assert!(!ramp.at_ceiling());
        let mut once = Ramp::new(50, 2.0, 3_200, &[], 1);
        assert_eq!(climb(&mut once, 500), [50, 100, 200, 400, 800, 600]);
        assert_eq!(once.held(), Some(400));
    }

    #[test]
    fn extra_counts_join_the_ladder_and_the_max_is_its_top() {
        let mut ramp = Ramp::new(50, 2.0, 1_000, &[600, 5_000], 0);
        assert_eq!(
            climb(&mut ramp, 10_000),
            [50, 100, 200, 400, 600, 800, 1_000]
        );
        assert!(ramp.at_ceiling());
    }

    #[test]
    fn a_first_step_failing_bisects_towards_one_and_a_stop_ends_it() {
        let mut ramp = Ramp::new(40, 2.0, 100, &[], 2);
        assert_eq!(climb(&mut ramp, 15), [40, 20, 10]);
        assert_eq!(ramp.held(), Some(10));
        let mut stopped = Ramp::new(40, 2.0, 100, &[], 2);
        stopped.record(40, true);
        stopped.stop();
        assert_eq!(stopped.next(), None);
        // Bisection stops when the gap is within 5 % of the count held.
        let mut close = Ramp::new(100, 2.0, 400, &[], 10);
        assert_eq!(climb(&mut close, 260), [100, 200, 400, 300, 250, 275, 262]);
        assert_eq!(close.held(), Some(250));
    }
}
