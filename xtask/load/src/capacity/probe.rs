//! The load generator's own timeliness: a task on the generator's runtime that asks to
//! wake every 10 ms and records how late it wakes. Late wake-ups mean the generator could
//! not run when it wanted (its threads busy, or no core free), so the latencies it
//! measured then include its own delays, whatever the server did.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::sync::tally::{histogram, record_us};

/// How often the probe asks to wake.
const PERIOD: Duration = Duration::from_millis(10);

/// Records wake-up lag from `from` until `until` on the current runtime.
pub async fn timer_lag(from: Instant, until: Instant) -> Histogram<u64> {
    let mut lag = histogram();
    tokio::time::sleep_until(from.into()).await;
    let mut due = Instant::now() + PERIOD;
    while due < until {
        tokio::time::sleep_until(due.into()).await;
        record_us(&mut lag, due.elapsed());
        due = Instant::now() + PERIOD;
    }
    lag
}

#[cfg(test)]
mod tests {
    use super::*;

    // Only a lower bound on the lag: how late an idle runtime wakes depends on the
    // machine's load, which a test cannot bound.
    #[tokio::test]
    async fn a_blocked_runtime_wakes_late() {
        let start = Instant::now();
        let probe = tokio::spawn(timer_lag(start, start + Duration::from_millis(300)));
        tokio::time::sleep(Duration::from_millis(50)).await;
        // Blocks the only thread of this test's runtime for 150 ms.
        std::thread::sleep(Duration::from_millis(150));
        let blocked = probe.await.expect("probe");
        assert!(blocked.max() >= 100_000, "max lag {} µs", blocked.max());
    }
}
