//! How long a failed login takes: every failed verification is answered no sooner than a
//! floor derived from recent verifications at the configured cost, whether the name exists,
//! has a current hash, an older (cheaper) one, or none. The floor is a little over the 90th
//! percentile of the last [`WINDOW`] verification times, so nearly every failed login ends
//! at the floor itself, and the answer times of the three kinds match at the median and
//! the 90th percentile. At start a few verifications fill the window, so the first login
//! after a start (or after raising the cost) is already padded right.

use std::collections::VecDeque;
use std::time::Duration;

/// Verification times remembered.
pub const WINDOW: usize = 32;

/// Verifications timed at start, before the first login.
pub const WARM_UP: usize = 3;

/// The floor is the 90th percentile of the window times this ratio (in percent).
const MARGIN_PERCENT: u32 = 125;

/// The last [`WINDOW`] verification times at the configured cost.
#[derive(Debug, Clone, Default)]
pub struct CostWindow {
    samples: VecDeque<Duration>,
}

impl CostWindow {
    /// Remembers one verification time, forgetting the oldest past [`WINDOW`].
    pub fn record(&mut self, took: Duration) {
        if self.samples.len() == WINDOW {
            self.samples.pop_front();
        }
        self.samples.push_back(took);
    }

    /// The time a failed login is answered after, at the soonest: 125 % of the 90th
    /// percentile (nearest rank) of the window; zero while it is empty.
    pub fn floor(&self) -> Duration {
        let mut sorted: Vec<Duration> = self.samples.iter().copied().collect();
        sorted.sort_unstable();
        let Some(last) = sorted.len().checked_sub(1) else {
            return Duration::ZERO;
        };
        // Nearest rank: the smallest sample with at least 90 % of them at or below it.
        let rank = (sorted.len() * 9).div_ceil(10).saturating_sub(1).min(last);
        sorted[rank] * MARGIN_PERCENT / 100
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn the_floor_is_125_percent_of_the_90th_percentile() {
        let mut window = CostWindow::default();
        assert_eq!(window.floor(), Duration::ZERO);
        window.record(ms(80));
        assert_eq!(window.floor(), ms(100));
        // 1..=10 ms: the 90th percentile is 9 ms.
        let mut window = CostWindow::default();
        for n in 1..=10 {
            window.record(ms(n));
        }
        assert_eq!(window.floor(), Duration::from_micros(11_250));
    }

    #[test]
    fn only_the_last_32_count() {
        let mut window = CostWindow::default();
        for _ in 0..WINDOW {
            window.record(ms(400));
        }
        for _ in 0..WINDOW {
            window.record(ms(80));
        }
        assert_eq!(window.floor(), ms(100));
    }
}
