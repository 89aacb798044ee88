//! Injected time: the game never reads the system clock directly.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// A source of the current time in Unix milliseconds.
pub trait Clock: Send + Sync {
    /// Now, in Unix milliseconds.
    fn now_ms(&self) -> i64;

    /// Now, in whole Unix seconds (user stats count whole seconds).
    fn now_s(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }
}

/// How far every [`SystemClock`] reading of this process is shifted, in ms (0 unless
/// set): how a test shows a process whose host's wall clock is wrong, as `faketime` would.
static WALL_CLOCK_OFFSET_MS: AtomicI64 = AtomicI64::new(0);

/// Shifts every later [`SystemClock`] reading of this process by `offset_ms` (for tests
/// of a host whose clock is wrong; the server binary sets it from
/// `SPACEWARS_TEST_WALL_CLOCK_OFFSET_MS`).
pub fn set_wall_clock_offset_ms(offset_ms: i64) {
    WALL_CLOCK_OFFSET_MS.store(offset_ms, Ordering::Relaxed);
}

/// The real wall clock (shifted by [`set_wall_clock_offset_ms`], if set).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        i64::try_from(since_epoch.as_millis())
            .unwrap_or(i64::MAX)
            .saturating_add(WALL_CLOCK_OFFSET_MS.load(Ordering::Relaxed))
    }
}

/// A clock that only moves when told to; cheap to clone (clones share the time).
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    now_ms: Arc<AtomicI64>,
}

impl ManualClock {
    /// A clock showing `now_ms`.
    pub fn new(now_ms: i64) -> ManualClock {
        ManualClock {
            now_ms: Arc::new(AtomicI64::new(now_ms)),
        }
    }

    /// Moves time forward (or back) by `ms`.
    pub fn advance_ms(&self, ms: i64) {
        self.now_ms.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.now_ms.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(1_500);
        let shared = clock.clone();
        assert_eq!((clock.now_ms(), clock.now_s()), (1_500, 1));
        shared.advance_ms(2_600);
        assert_eq!((clock.now_ms(), clock.now_s()), (4_100, 4));
    }
}
