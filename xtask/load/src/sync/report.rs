//! One sync mode's figures, the table comparing the modes, and their ratios.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use crate::report::{ms, outcome_counts};
use crate::sync::Follow;
use crate::sync::tally::{CounterSnapshot, Outcome};

/// Tick lateness (p99) above which the load generator did not keep its schedule.
const LATE_P99_US: u64 = 250_000;

/// What one mode measured.
#[derive(Debug, Clone)]
pub struct SyncFigures {
    /// How the players followed the world.
    pub follow: Follow,
    /// Acting players.
    pub players: usize,
    /// Objects in the world when the players started.
    pub objects: usize,
    /// The measured window.
    pub elapsed: Duration,
    /// The players' outcomes inside the window.
    pub outcome: Outcome,
    /// Bytes and events counted inside the window.
    pub counted: CounterSnapshot,
    /// Server CPU seconds inside the window.
    pub server_cpu_s: f64,
    /// Each edge's CPU seconds inside the window (empty without edges).
    pub edge_cpu_s: Vec<f64>,
    /// With edges: the world's messages (cells, index, beacons) and their payload bytes through NATS inside
    /// the window.
    pub nats: Option<(u64, u64)>,
    /// Load generator (this process) CPU seconds inside the window.
    pub client_cpu_s: f64,
    /// Cores the load generator could use: its worker threads, or fewer CPUs it was
    /// pinned to (it is saturated at 90 % of these).
    pub client_threads: usize,
    /// One-minute load average at the end of the window.
    pub load_average: Option<f64>,
    /// Streams opened over the whole run (warm-up included); more than the players means
    /// reconnections.
    pub stream_opens: u64,
    /// How late the load generator's runtime woke a 10 ms timer in the window, µs
    /// (`load::capacity::probe`).
    pub timer_lag_us: hdrhistogram::Histogram<u64>,
}

impl SyncFigures {
    fn secs(&self) -> f64 {
        self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Players × minutes measured.
    pub fn player_minutes(&self) -> f64 {
        self.players as f64 * self.secs() / 60.0
    }

    /// Actions sent per second.
    pub fn actions_per_s(&self) -> f64 {
        self.outcome.actions.total().attempts() as f64 / self.secs()
    }

    /// Server CPU seconds per player-minute.
    pub fn server_cpu_per_player_minute(&self) -> f64 {
        self.server_cpu_s / self.player_minutes().max(1e-9)
    }

    /// World bytes received per player-minute.
    pub fn bytes_per_player_minute(&self) -> f64 {
        self.counted.world_bytes as f64 / self.player_minutes().max(1e-9)
    }

    /// Cores the server used.
    pub fn server_cores(&self) -> f64 {
        self.server_cpu_s / self.secs()
    }

    /// Cores the load generator used.
    pub fn client_cores(&self) -> f64 {
        self.client_cpu_s / self.secs()
    }

    /// Why the server may not have been the limit: the load generator saturated its
    /// threads, or the players fell behind their schedule (ticks late) while neither
    /// process was busy, i.e. other processes held the machine's cores.
    pub fn limit_note(&self) -> Option<String> {
        let saturated = self.client_cores() >= 0.9 * self.client_threads.max(1) as f64;
        let late_p99 = self.outcome.lateness_us.value_at_quantile(0.99);
        if saturated {
            return Some(format!(
                "the load generator was the limit: it used {:.2} cores for {} thread(s)",
                self.client_cores(),
                self.client_threads
            ));
        }
        if late_p99 <= LATE_P99_US {
            return None;
        }
        let load = self
            .load_average
            .map_or_else(|| "unknown".to_owned(), |l| format!("{l:.1}"));
        Some(format!(
            "the players fell behind their schedule (ticks {} ms late at p99) while the load \
             generator used {:.2} cores and the server {:.2}: the machine was the limit (load \
             average {load} at the end of the window, {} cores), not the server; latencies \
             are the machine's, CPU seconds count only what each process ran",
            ms(late_p99),
            self.client_cores(),
            self.server_cores(),
            std::thread::available_parallelism().map_or(0, |n| n.get()),
        ))
    }
}

/// `a / b` as `N.N×`, or `-` when `b` is zero.
pub fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 {
        format!("{:.1}×", a / b)
    } else {
        "-".to_owned()
    }
}

/// The comparison: one row per mode, then the ratios to full polling.
pub fn render(figures: &[SyncFigures]) -> String {
    let mut out = format!(
        "{:<12} {:>7} {:>7} {:>5} {:>8} {:>9} {:>9} {:>10} {:>8} {:>9} {:>9} {:>11} {:>9} {:>9} {:>9} {:>5}\n",
        "mode",
        "players",
        "objects",
        "secs",
        "acts/s",
        "act p50",
        "act p99",
        "srv cpu s",
        "srv cores",
        "cpu ms/pm",
        "cli cores",
        "KiB/pm",
        "reads/s",
        "lag p99",
        "late p99",
        "load",
    );
    for f in figures {
        let lag = if f.outcome.event_lag_us.is_empty() {
            "-".to_owned()
        } else {
            ms(f.outcome.event_lag_us.value_at_quantile(0.99))
        };
        let actions = f.outcome.actions.total();
        let _ = writeln!(
            out,
            "{:<12} {:>7} {:>7} {:>5.0} {:>8.1} {:>9} {:>9} {:>10.2} {:>8.2} {:>9.2} {:>9.2} {:>11.1} {:>9.1} {:>9} {:>9} {:>5}",
            f.follow.as_str(),
            f.players,
            f.objects,
            f.secs(),
            f.actions_per_s(),
            ms(actions.quantile_us(0.50)),
            ms(actions.quantile_us(0.99)),
            f.server_cpu_s,
            f.server_cores(),
            f.server_cpu_per_player_minute() * 1000.0,
            f.client_cores(),
            f.bytes_per_player_minute() / 1024.0,
            f.counted.world_reads as f64 / f.secs(),
            lag,
            ms(f.outcome.lateness_us.value_at_quantile(0.99)),
            f.load_average
                .map_or_else(|| "-".to_owned(), |l| format!("{l:.1}")),
        );
    }
    for line in ratio_lines(figures) {
        let _ = writeln!(out, "{line}");
    }
    for f in figures {
        let _ = writeln!(
            out,
            "{}: actions {}; refused by code {}; world requests in the window {}; sync errors {}; \
             streams opened {} (for {} players)",
            f.follow.as_str(),
            outcome_counts(&f.outcome.actions.total()),
            codes(&f.outcome.refusals),
            or_none(outcome_counts(&f.outcome.world.total())),
            f.counted.sync_errors,
            f.stream_opens,
            f.players,
        );
    }
    for f in figures {
        if let Some(why) = f.limit_note() {
            let _ = writeln!(out, "note: {}: {why}", f.follow.as_str());
        }
        let failures = f.outcome.actions.total().failures() + f.outcome.world.total().failures();
        if failures > 0 {
            let _ = writeln!(
                out,
                "note: {}: {failures} requests failed (5xx or unanswered)",
                f.follow.as_str()
            );
        }
    }
    out
}

/// `full/delta` and `full/stream` ratios of server CPU and bytes per player-minute.
pub fn ratio_lines(figures: &[SyncFigures]) -> Vec<String> {
    let Some(full) = figures.iter().find(|f| f.follow == Follow::Full) else {
        return Vec::new();
    };
    figures
        .iter()
        .filter(|f| f.follow != Follow::Full)
        .map(|other| {
            format!(
                "full/{}: server CPU per player-minute {}, bytes per player-minute {}",
                other.follow.as_str(),
                ratio(
                    full.server_cpu_per_player_minute(),
                    other.server_cpu_per_player_minute()
                ),
                ratio(
                    full.bytes_per_player_minute(),
                    other.bytes_per_player_minute()
                ),
            )
        })
        .collect()
}

fn or_none(text: String) -> String {
    if text.is_empty() {
        "none".to_owned()
    } else {
        text
    }
}

fn codes(refusals: &BTreeMap<String, u64>) -> String {
    if refusals.is_empty() {
        return "none".to_owned();
    }
    refusals
        .iter()
        .map(|(code, n)| format!("{code}×{n}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::tally::record_us;

    fn figures(follow: Follow, cpu_s: f64, bytes: u64, client_cpu_s: f64) -> SyncFigures {
        SyncFigures {
            edge_cpu_s: Vec::new(),
            nats: None,
            follow,
            players: 100,
            objects: 110,
            elapsed: Duration::from_secs(60),
            outcome: Outcome::default(),
            counted: CounterSnapshot {
                world_bytes: bytes,
                ..CounterSnapshot::default()
            },
            server_cpu_s: cpu_s,
            client_cpu_s,
            client_threads: 1,
            stream_opens: 0,
            load_average: Some(7.5),
            timer_lag_us: crate::sync::tally::histogram(),
        }
    }

    #[test]
    fn per_player_minute_figures_and_ratios() {
        let full = figures(Follow::Full, 12.0, 100 * 1024 * 1024, 10.0);
        assert_eq!(full.player_minutes(), 100.0);
        assert!((full.server_cpu_per_player_minute() - 0.12).abs() < 1e-9);
        assert_eq!(full.bytes_per_player_minute(), 1024.0 * 1024.0);
        let delta = figures(Follow::Delta, 3.0, 1024 * 1024, 10.0);
        let stream = figures(Follow::Stream, 2.0, 0, 10.0);
        let lines = ratio_lines(&[full.clone(), delta, stream]);
        assert_eq!(
            lines,
            [
                "full/delta: server CPU per player-minute 4.0×, bytes per player-minute 100.0×",
                "full/stream: server CPU per player-minute 6.0×, bytes per player-minute -",
            ]
        );
        assert!(ratio_lines(&[figures(Follow::Delta, 1.0, 1, 1.0)]).is_empty());
        assert!(!render(&[full]).contains("full/"));
    }

    #[test]
    fn the_limit_is_the_generator_when_saturated_or_the_machine_when_late() {
        let calm = figures(Follow::Full, 1.0, 1, 30.0);
        assert_eq!(calm.limit_note(), None);
        let busy = figures(Follow::Full, 1.0, 1, 58.0);
        assert!(
            busy.limit_note()
                .is_some_and(|w| w.contains("load generator was the limit") && w.contains("0.97"))
        );
        let mut late = figures(Follow::Stream, 1.0, 1, 1.0);
        record_us(&mut late.outcome.lateness_us, Duration::from_secs(1));
        let why = late.limit_note().unwrap_or_default();
        assert!(
            why.contains("machine was the limit") && why.contains("7.5"),
            "{why}"
        );
        assert!(render(&[late]).contains("note: stream: the players fell behind"));
    }
}
