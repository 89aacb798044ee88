//! The issue's targets judged on the compare's figures, and the printed report.

use std::fmt::Write as _;

use crate::args::CompareArgs;
use crate::figures::{MixRoundTrips, TargetFigures};
use crate::report::ms;

/// One target of the issue, judged.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// What is measured.
    pub label: &'static str,
    /// The measured value, formatted.
    pub measured: String,
    /// The target, formatted.
    pub target: &'static str,
    /// Whether it was met.
    pub passed: bool,
}

/// Everything one comparison measured.
#[derive(Debug, Clone)]
pub struct CompareOutcome {
    /// Each round's cached, db, minimal.
    pub rounds: Vec<[TargetFigures; 3]>,
    /// cached, db, minimal: the medians over the rounds.
    pub targets: Vec<TargetFigures>,
    /// Mixed-gameplay round-trips on cached.
    pub mix: Option<MixRoundTrips>,
    /// One-minute load average before the run.
    pub load_before: Option<f64>,
    /// The issue's targets.
    pub verdicts: Vec<Verdict>,
}

impl CompareOutcome {
    /// True when every target passed.
    pub fn all_passed(&self) -> bool {
        self.verdicts.iter().all(|v| v.passed)
    }
}

/// Judges the issue's five targets.
pub fn verdicts(
    cached: &TargetFigures,
    db: &TargetFigures,
    minimal: &TargetFigures,
    mix: Option<MixRoundTrips>,
) -> Vec<Verdict> {
    let vs_db = cached.rps / db.rps.max(1e-9);
    let vs_minimal = cached.rps / minimal.rps.max(1e-9);
    let p99_ratio = cached.p99_us as f64 / (minimal.p99_us.max(1)) as f64;
    let cpu_ratio = cached.server_us_per_request() / minimal.server_us_per_request().max(1e-9);
    let world_rt = cached.round_trips_per_request();
    let mix_rt = mix.map(|m| m.round_trips.per_request(m.requests));
    let round_trips_zero = cached.round_trips.is_some_and(|rt| rt.none_from_requests())
        && mix.is_some_and(|m| m.round_trips.none_from_requests());
    vec![
        Verdict {
            label: "cached / db requests/s",
            measured: format!("{vs_db:.1}×"),
            target: "≥ 20×",
            passed: vs_db >= 20.0,
        },
        Verdict {
            label: "cached / minimal requests/s",
            measured: format!("{:.0} %", vs_minimal * 100.0),
            target: "≥ 50 %",
            passed: vs_minimal >= 0.5,
        },
        Verdict {
            label: "cached p99 / minimal p99",
            measured: format!("{p99_ratio:.2}×"),
            target: "≤ 2×",
            passed: p99_ratio <= 2.0,
        },
        Verdict {
            label: "DB round-trips per gameplay request (cached)",
            measured: match (world_rt, mix_rt) {
                (Some(w), Some(m)) => format!("world {w:.5}, mixed {m:.5}"),
                _ => "not exposed in /metrics".to_owned(),
            },
            target: "0",
            passed: round_trips_zero,
        },
        Verdict {
            label: "cached / minimal server CPU per request",
            measured: format!("{cpu_ratio:.2}×"),
            target: "≤ 1.5×",
            passed: cpu_ratio <= 1.5,
        },
    ]
}

/// Prints the comparison table, ratios and verdicts.
pub fn render(outcome: &CompareOutcome, args: &CompareArgs) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "compare: closed loop GET /api/world, {} connections, {} s measured per target \
         (+{} s warm-up), load generator on {} thread(s) sharing the machine with the server; \
         database: {}",
        args.closed.connections,
        args.timing.duration_secs,
        args.timing.warmup_secs,
        args.runner.client_threads,
        if args.database.postgres.is_some() {
            "PostgreSQL (local)"
        } else {
            "SQLite file"
        }
    );
    let _ = writeln!(out, "machine: {}", spacewars_harness::machine::describe());
    if let Some(load) = outcome.load_before {
        let _ = writeln!(out, "load average (1 min) before the run: {load:.2}");
        if load > 1.0 {
            let _ = writeln!(
                out,
                "note: other processes were using the cores; figures are noisy"
            );
        }
    }
    let _ = writeln!(
        out,
        "{:<14} {:>9} {:>10} {:>8} {:>8} {:>8} {:>9} {:>8} {:>8} {:>8} {:>11}  outcomes",
        "target",
        "requests",
        "req/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "rt/req",
        "cli cpu",
        "srv cpu",
        "srv µs/req"
    );
    let per_round = outcome.rounds.len() > 1;
    let rows = outcome
        .rounds
        .iter()
        .enumerate()
        .filter(|_| per_round)
        .flat_map(|(i, round)| round.iter().map(move |t| (format!("r{} ", i + 1), t)))
        .chain(outcome.targets.iter().map(|t| {
            let label = if per_round { "median " } else { "" };
            (label.to_owned(), t)
        }));
    for (label, t) in rows {
        let name = format!("{label}{}", t.name);
        let rt = t
            .round_trips_per_request()
            .map_or_else(|| "-".to_owned(), |rt| format!("{rt:.4}"));
        let _ = writeln!(
            out,
            "{:<14} {:>9} {:>10.0} {:>8} {:>8} {:>8} {:>9} {:>8} {:>8.2} {:>8.2} {:>11.1}  {}",
            name,
            t.requests,
            t.rps,
            ms(t.p50_us),
            ms(t.p90_us),
            ms(t.p99_us),
            ms(t.max_us),
            rt,
            t.cores.client,
            t.cores.server,
            t.server_us_per_request(),
            t.outcomes
        );
    }
    for v in &outcome.verdicts {
        let _ = writeln!(
            out,
            "{:<46} {:<40} target {:<7} {}",
            v.label,
            v.measured,
            v.target,
            if v.passed { "PASS" } else { "MISS" }
        );
    }
    for t in &outcome.targets {
        if let Some(rt) = t.round_trips {
            let _ = writeln!(
                out,
                "round-trips on {} (GET /api/world): {}",
                t.name,
                rt.describe(t.requests)
            );
        }
    }
    if let Some(mix) = outcome.mix {
        let _ = writeln!(
            out,
            "round-trips on cached (mixed gameplay: world, user-stats, navigate, collect): {}",
            mix.round_trips.describe(mix.requests)
        );
    }
    let client_limit = 0.9 * args.runner.client_threads.max(1) as f64;
    for t in outcome
        .targets
        .iter()
        .filter(|t| t.cores.client >= client_limit)
    {
        let _ = writeln!(
            out,
            "note: on {} the load generator was saturated ({:.2} cores for {} thread(s)): \
             its requests/s are the client's ceiling, the server could do more",
            t.name, t.cores.client, args.runner.client_threads
        );
    }
    for t in outcome.targets.iter().filter(|t| t.failures > 0) {
        let _ = writeln!(
            out,
            "note: {} had {} failed requests (5xx or unanswered)",
            t.name, t.failures
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::figures::test_support::figures;
    use crate::round_trips::RoundTrips;

    #[test]
    fn verdicts_apply_the_issue_targets() {
        let mix = Some(MixRoundTrips {
            round_trips: RoundTrips {
                during: 3.0,
                idle: 3.0,
                windows: 1,
            },
            requests: 500,
        });
        let mut cached = figures("cached", 30_000.0, 3_000, Some(0.0));
        let db = figures("db", 1_000.0, 50_000, Some(4_000.0));
        let mut minimal = figures("minimal", 50_000.0, 2_000, None);
        // 10 µs of server CPU per request against 8 µs: 1.25×.
        cached.cores.server = 0.3;
        minimal.cores.server = 0.4;
        let all = verdicts(&cached, &db, &minimal, mix);
        assert!(all.iter().all(|v| v.passed), "{all:?}");

        let mut slow = figures("cached", 19_000.0, 5_000, Some(0.0));
        // 15.8 µs per request: 1.97× the minimal server's.
        slow.cores.server = 0.3;
        let missed: Vec<_> = verdicts(&slow, &db, &minimal, mix)
            .into_iter()
            .filter(|v| !v.passed)
            .map(|v| v.label)
            .collect();
        assert_eq!(
            missed,
            [
                "cached / db requests/s",
                "cached / minimal requests/s",
                "cached p99 / minimal p99",
                "cached / minimal server CPU per request"
            ]
        );

        let chatty = Some(MixRoundTrips {
            round_trips: RoundTrips {
                during: 500.0,
                idle: 3.0,
                windows: 1,
            },
            requests: 500,
        });
        assert!(!verdicts(&cached, &db, &minimal, chatty)[3].passed);
        assert!(!verdicts(&cached, &db, &minimal, None)[3].passed);
    }
}
