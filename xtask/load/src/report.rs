//! Recording request outcomes (HdrHistogram latencies, statuses, transport errors) and
//! printing them.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use hdrhistogram::Histogram;

use spacewars_harness::http_client::TransportError;

/// Latencies are recorded in microseconds, from 1 µs to 60 s, with 3 significant digits.
const MAX_LATENCY_US: u64 = 60_000_000;

/// Outcomes of one route.
#[derive(Debug, Clone)]
pub struct RouteStats {
    /// Latency of every answered request, µs.
    pub latency_us: Histogram<u64>,
    /// Answered requests by HTTP status.
    pub statuses: BTreeMap<u16, u64>,
    /// Unanswered requests by kind of failure.
    pub transport_errors: BTreeMap<&'static str, u64>,
}

impl Default for RouteStats {
    fn default() -> Self {
        RouteStats {
            latency_us: new_histogram(),
            statuses: BTreeMap::new(),
            transport_errors: BTreeMap::new(),
        }
    }
}

fn new_histogram() -> Histogram<u64> {
    // Bounds are constants known to be valid.
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).unwrap_or_else(|_| {
        Histogram::new(3).unwrap_or_else(|_| unreachable!("3 significant digits are valid"))
    })
}

impl RouteStats {
    /// Answered plus unanswered requests.
    pub fn attempts(&self) -> u64 {
        self.statuses.values().sum::<u64>() + self.transport_errors.values().sum::<u64>()
    }

    /// Requests answered 5xx or not answered at all.
    pub fn failures(&self) -> u64 {
        self.statuses
            .iter()
            .filter(|(status, _)| **status >= 500)
            .map(|(_, n)| n)
            .sum::<u64>()
            + self.transport_errors.values().sum::<u64>()
    }

    /// Latency at `quantile` (0..=1) in µs.
    pub fn quantile_us(&self, quantile: f64) -> u64 {
        self.latency_us.value_at_quantile(quantile)
    }

    fn merge(&mut self, other: &RouteStats) {
        // Both histograms share bounds, so adding cannot fail.
        let _ = self.latency_us.add(&other.latency_us);
        for (status, n) in &other.statuses {
            *self.statuses.entry(*status).or_default() += n;
        }
        for (kind, n) in &other.transport_errors {
            *self.transport_errors.entry(kind).or_default() += n;
        }
    }
}

/// Outcomes by route name (e.g. `GET /api/world`).
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    routes: BTreeMap<&'static str, RouteStats>,
}

impl Recorder {
    /// Records an answered request.
    pub fn answered(&mut self, route: &'static str, status: u16, latency: Duration) {
        let stats = self.routes.entry(route).or_default();
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        stats
            .latency_us
            .saturating_record(micros.clamp(1, MAX_LATENCY_US));
        *stats.statuses.entry(status).or_default() += 1;
    }

    /// Records a request that got no response.
    pub fn failed(&mut self, route: &'static str, error: &TransportError) {
        let stats = self.routes.entry(route).or_default();
        *stats.transport_errors.entry(error.label()).or_default() += 1;
    }

    /// Adds another recorder's outcomes to this one.
    pub fn merge(&mut self, other: &Recorder) {
        for (route, stats) in &other.routes {
            self.routes.entry(route).or_default().merge(stats);
        }
    }

    /// All routes together.
    pub fn total(&self) -> RouteStats {
        let mut total = RouteStats::default();
        for stats in self.routes.values() {
            total.merge(stats);
        }
        total
    }

    /// Each route's outcomes.
    pub fn routes(&self) -> &BTreeMap<&'static str, RouteStats> {
        &self.routes
    }
}

/// Formats µs as milliseconds with two decimals.
pub fn ms(micros: u64) -> String {
    format!("{:.2}", micros as f64 / 1000.0)
}

/// Status and error counts as `200×123 404×2 no_response×1`.
pub fn outcome_counts(stats: &RouteStats) -> String {
    let mut out = String::new();
    for (status, n) in &stats.statuses {
        let _ = write!(out, "{status}×{n} ");
    }
    for (kind, n) in &stats.transport_errors {
        let _ = write!(out, "{kind}×{n} ");
    }
    out.trim_end().to_owned()
}

/// A per-route table plus a total line, with requests/s over `elapsed`.
pub fn route_table(recorder: &Recorder, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64().max(1e-9);
    let mut out = format!(
        "{:<24} {:>9} {:>10} {:>8} {:>8} {:>8} {:>9}  {}\n",
        "route", "requests", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "outcomes"
    );
    let total = recorder.total();
    let rows = recorder
        .routes()
        .iter()
        .map(|(route, stats)| (*route, stats))
        .chain(std::iter::once(("all", &total)));
    for (route, stats) in rows {
        let _ = writeln!(
            out,
            "{:<24} {:>9} {:>10.1} {:>8} {:>8} {:>8} {:>9}  {}",
            route,
            stats.attempts(),
            stats.attempts() as f64 / secs,
            ms(stats.quantile_us(0.50)),
            ms(stats.quantile_us(0.90)),
            ms(stats.quantile_us(0.99)),
            ms(stats.latency_us.max()),
            outcome_counts(stats),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorders_merge_and_count_failures() {
        let mut a = Recorder::default();
        a.answered("GET /api/world", 200, Duration::from_micros(100));
        a.answered("GET /api/world", 503, Duration::from_micros(300));
        let mut b = Recorder::default();
        b.answered("POST /api/collect", 404, Duration::from_millis(2));
        b.failed("POST /api/collect", &TransportError::Timeout);
        a.merge(&b);
        let total = a.total();
        assert_eq!(total.attempts(), 4);
        assert_eq!(total.failures(), 2);
        assert_eq!(outcome_counts(&total), "200×1 404×1 503×1 timeout×1");
        assert!(total.latency_us.max() >= 2_000);
        assert!(route_table(&a, Duration::from_secs(1)).contains("POST /api/collect"));
    }
}
