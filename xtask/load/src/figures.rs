//! One target's figures from a closed-loop measurement, and their medians over rounds.

use crate::cpu::CoresUsed;
use crate::generator::Measured;
use crate::report::outcome_counts;
use crate::round_trips::RoundTrips;

/// One target's closed-loop figures.
#[derive(Debug, Clone)]
pub struct TargetFigures {
    /// `cached`, `db` or `minimal`.
    pub name: String,
    /// Requests started in the measured window.
    pub requests: u64,
    /// Requests per second.
    pub rps: f64,
    /// Latency quantiles and maximum, µs.
    pub p50_us: u64,
    /// 90th percentile, µs.
    pub p90_us: u64,
    /// 99th percentile, µs.
    pub p99_us: u64,
    /// Maximum, µs.
    pub max_us: u64,
    /// 5xx and unanswered requests.
    pub failures: u64,
    /// Statuses and transport errors, for the table.
    pub outcomes: String,
    /// Database round-trips counted around the measurement, if the target has them.
    pub round_trips: Option<RoundTrips>,
    /// Cores the load generator and the server used while measuring.
    pub cores: CoresUsed,
}

impl TargetFigures {
    /// The figures of one measurement.
    pub fn of(name: &str, measured: &Measured, round_trips: Option<RoundTrips>) -> TargetFigures {
        let total = measured.recorder.total();
        let requests = total.attempts();
        TargetFigures {
            name: name.to_owned(),
            requests,
            rps: requests as f64 / measured.elapsed.as_secs_f64().max(1e-9),
            p50_us: total.quantile_us(0.50),
            p90_us: total.quantile_us(0.90),
            p99_us: total.quantile_us(0.99),
            max_us: total.latency_us.max(),
            failures: total.failures(),
            outcomes: outcome_counts(&total),
            round_trips,
            cores: measured.cores,
        }
    }

    /// Server CPU time per request, µs (cores used × 10⁶ / requests per second).
    pub fn server_us_per_request(&self) -> f64 {
        self.cores.server * 1e6 / self.rps.max(1e-9)
    }

    /// Net round-trips per request.
    pub fn round_trips_per_request(&self) -> Option<f64> {
        self.round_trips.map(|rt| rt.per_request(self.requests))
    }
}

/// Round-trips counted during mixed gameplay on the cached server.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MixRoundTrips {
    /// Counted round-trips.
    pub round_trips: RoundTrips,
    /// Gameplay requests sent meanwhile.
    pub requests: u64,
}

/// One target's figures over several rounds: each figure's median (the upper one of an
/// even count), counts and round-trips summed.
pub fn median(rounds: Vec<&TargetFigures>) -> TargetFigures {
    fn mid<T: Copy + PartialOrd>(mut values: Vec<T>) -> T {
        values.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        values[values.len() / 2]
    }
    let first = rounds[0];
    if rounds.len() == 1 {
        return first.clone();
    }
    let round_trips = rounds
        .iter()
        .map(|r| r.round_trips)
        .collect::<Option<Vec<_>>>()
        .and_then(|all| all.into_iter().reduce(|a, b| a + b));
    TargetFigures {
        name: first.name.clone(),
        requests: rounds.iter().map(|r| r.requests).sum(),
        rps: mid(rounds.iter().map(|r| r.rps).collect()),
        p50_us: mid(rounds.iter().map(|r| r.p50_us).collect()),
        p90_us: mid(rounds.iter().map(|r| r.p90_us).collect()),
        p99_us: mid(rounds.iter().map(|r| r.p99_us).collect()),
        max_us: rounds.iter().map(|r| r.max_us).max().unwrap_or(0),
        failures: rounds.iter().map(|r| r.failures).sum(),
        outcomes: format!("{} rounds", rounds.len()),
        round_trips,
        cores: CoresUsed {
            client: mid(rounds.iter().map(|r| r.cores.client).collect()),
            server: mid(rounds.iter().map(|r| r.cores.server).collect()),
        },
    }
}

#[cfg(test)]
pub mod test_support {
    //! Hand-made figures for tests.

    use super::*;

    /// Figures with the given throughput, p99 and round-trips (the rest 1 or empty).
    pub fn figures(name: &'static str, rps: f64, p99_us: u64, rt: Option<f64>) -> TargetFigures {
        let round_trips = rt.map(|during| RoundTrips {
            during,
            idle: 0.0,
            windows: 1,
        });
        TargetFigures {
            name: name.to_owned(),
            requests: 1,
            rps,
            p50_us: 1,
            p90_us: 1,
            p99_us,
            max_us: 1,
            failures: 0,
            outcomes: String::new(),
            round_trips,
            cores: CoresUsed::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::figures;
    use super::*;

    #[test]
    fn rounds_are_summarised_by_their_medians() {
        let a = figures("cached", 100.0, 9, Some(2.0));
        let b = figures("cached", 300.0, 1, Some(0.0));
        let c = figures("cached", 200.0, 5, Some(1.0));
        let m = median(vec![&a, &b, &c]);
        assert_eq!((m.rps, m.p99_us, m.requests), (200.0, 5, 3));
        assert_eq!(m.round_trips.map(|rt| rt.during), Some(3.0));
        assert_eq!(median(vec![&a]).rps, 100.0);
    }
}
