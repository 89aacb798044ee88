//! One step of a ramp: what it measured and whether the server held it.

use crate::sync::Follow;
use crate::sync::report::SyncFigures;

/// Whether a step held, and if not, why.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Action p99 within the limit and no error.
    Held,
    /// Action p99 over the limit (ms).
    Slow(f64),
    /// Stream delay (server time of a delta to read) p99 over the limit (ms).
    Delayed(f64),
    /// Errors: 5xx or unanswered requests, sync errors, streams cut off and reopened.
    Errors(u64),
    /// The step failed, but the load generator or the machine, not the server, was the
    /// limit (the reason).
    NotServer(String),
    /// The step did not run to its end (the error).
    Broken(String),
}

impl Verdict {
    /// True for [`Verdict::Held`].
    pub fn held(&self) -> bool {
        matches!(self, Verdict::Held)
    }

    /// A short label for the step lines.
    pub fn label(&self) -> String {
        match self {
            Verdict::Held => "held".to_owned(),
            Verdict::Slow(p99) => format!("p99 {p99:.1} ms > limit"),
            Verdict::Delayed(p99) => format!("stream delay p99 {p99:.1} ms > limit"),
            Verdict::Errors(n) => format!("{n} errors"),
            Verdict::NotServer(_) => "not the server".to_owned(),
            Verdict::Broken(_) => "broken".to_owned(),
        }
    }
}

/// What one step measured, in the units the report prints.
#[derive(Debug, Clone, PartialEq)]
pub struct StepRecord {
    /// How the players followed the world.
    pub follow: Follow,
    /// Acting players.
    pub players: usize,
    /// The world's side.
    pub side: f64,
    /// Objects in the world when the players started.
    pub objects: usize,
    /// Actions sent in the window.
    pub actions: u64,
    /// Action latency p99, ms.
    pub p99_ms: f64,
    /// Stream delay p99 (a delta's server time to read), ms; `None` without streams.
    pub delay_p99_ms: Option<f64>,
    /// See [`Verdict::Errors`].
    pub errors: u64,
    /// Server (with edges: the owner's) CPU µs per player-second.
    pub cpu_us_per_player_s: f64,
    /// Each edge's CPU µs per player-second (empty without edges).
    pub edge_cpu_us_per_player_s: Vec<f64>,
    /// A navigation's acknowledgement to its delta on the stream, p99, ms (`None`
    /// without streams or without such deltas).
    pub ack_p99_ms: Option<f64>,
    /// With edges: the world's messages (cells, index, beacons) and payload bytes through NATS per
    /// player-second.
    pub nats_per_player_s: Option<(f64, f64)>,
    /// Snapshot and delta events (or world answers) read per player-second.
    pub reads_per_player_s: f64,
    /// World bytes received per player-minute, KiB.
    pub kib_per_player_minute: f64,
    /// Cores the server used.
    pub server_cores: f64,
    /// Cores the load generator used.
    pub client_cores: f64,
    /// How late the load generator woke its 10 ms timer, p99, ms.
    pub timer_lag_ms: f64,
    /// The outcome.
    pub verdict: Verdict,
}

impl StepRecord {
    /// Judges `figures` against the limits.
    pub fn judge(figures: &SyncFigures, side: f64, limits: Limits) -> StepRecord {
        let actions = figures.outcome.actions.total();
        let p99_ms = actions.quantile_us(0.99) as f64 / 1000.0;
        let streaming = matches!(figures.follow, Follow::Stream | Follow::StreamWorld);
        let reopened = if streaming {
            figures.stream_opens.saturating_sub(figures.players as u64)
        } else {
            0
        };
        let errors = actions.failures()
            + figures.outcome.world.total().failures()
            + figures.counted.sync_errors
            + reopened;
        let lag = &figures.outcome.event_lag_us;
        let delay_p99_ms =
            (streaming && !lag.is_empty()).then(|| lag.value_at_quantile(0.99) as f64 / 1000.0);
        let failed = if errors > 0 {
            Some(Verdict::Errors(errors))
        } else if p99_ms > limits.action_p99_ms {
            Some(Verdict::Slow(p99_ms))
        } else {
            delay_p99_ms
                .filter(|&d| d > limits.delay_p99_ms)
                .map(Verdict::Delayed)
        };
        let timer_lag_ms = figures.timer_lag_us.value_at_quantile(0.99) as f64 / 1000.0;
        let verdict = match (failed, generator_limit(figures, timer_lag_ms)) {
            (None, _) => Verdict::Held,
            (Some(_), Some(why)) => Verdict::NotServer(why),
            (Some(failed), None) => failed,
        };
        let secs = figures.elapsed.as_secs_f64().max(1e-9);
        let player_seconds = (figures.players as f64 * secs).max(1e-9);
        StepRecord {
            follow: figures.follow,
            players: figures.players,
            side,
            objects: figures.objects,
            actions: actions.attempts(),
            p99_ms,
            delay_p99_ms,
            errors,
            cpu_us_per_player_s: figures.server_cpu_s * 1e6 / player_seconds,
            edge_cpu_us_per_player_s: figures
                .edge_cpu_s
                .iter()
                .map(|cpu| cpu * 1e6 / player_seconds)
                .collect(),
            nats_per_player_s: figures
                .nats
                .map(|(m, b)| (m as f64 / player_seconds, b as f64 / player_seconds)),
            ack_p99_ms: (!figures.outcome.ack_to_event_us.is_empty())
                .then(|| figures.outcome.ack_to_event_us.value_at_quantile(0.99) as f64 / 1000.0),
            reads_per_player_s: figures.counted.world_reads as f64 / player_seconds,
            kib_per_player_minute: figures.bytes_per_player_minute() / 1024.0,
            server_cores: figures.server_cores(),
            client_cores: figures.client_cores(),
            timer_lag_ms,
            verdict,
        }
    }

    /// A step that did not run to its end.
    pub fn broken(follow: Follow, players: usize, side: f64, error: String) -> StepRecord {
        StepRecord {
            follow,
            players,
            side,
            objects: 0,
            actions: 0,
            p99_ms: 0.0,
            delay_p99_ms: None,
            errors: 0,
            cpu_us_per_player_s: 0.0,
            edge_cpu_us_per_player_s: Vec::new(),
            ack_p99_ms: None,
            nats_per_player_s: None,
            reads_per_player_s: 0.0,
            kib_per_player_minute: 0.0,
            server_cores: 0.0,
            client_cores: 0.0,
            timer_lag_ms: 0.0,
            verdict: Verdict::Broken(error),
        }
    }
}

/// What a step must stay within to hold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Actions' p99, ms.
    pub action_p99_ms: f64,
    /// Streams' delay p99, ms.
    pub delay_p99_ms: f64,
}

/// Timer lag (p99, ms) above which the load generator did not run when it wanted.
const GENERATOR_LAG_MS: f64 = 20.0;

/// Why the load generator, not the server, may have been the limit: its threads were
/// saturated, or it could not run on time (its timer woke late), so the latencies it
/// measured include its own delays.
fn generator_limit(figures: &SyncFigures, timer_lag_ms: f64) -> Option<String> {
    let threads = figures.client_threads.max(1);
    if figures.client_cores() >= 0.9 * threads as f64 {
        return Some(format!(
            "the load generator was the limit: it used {:.2} cores for {threads} thread(s)",
            figures.client_cores()
        ));
    }
    if timer_lag_ms <= GENERATOR_LAG_MS {
        return None;
    }
    let load = figures
        .load_average
        .map_or_else(|| "unknown".to_owned(), |l| format!("{l:.1}"));
    Some(format!(
        "the load generator could not run on time (its 10 ms timer woke {timer_lag_ms:.1} ms \
         late at p99) while it used {:.2} cores and the server {:.2}; load average {load} \
         on {} CPUs: the latencies include its own delays",
        figures.client_cores(),
        figures.server_cores(),
        spacewars_harness::machine::cpus(),
    ))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::sync::tally::{CounterSnapshot, Outcome, record_us};

    const LIMITS: Limits = Limits {
        action_p99_ms: 100.0,
        delay_p99_ms: 250.0,
    };

    fn figures(follow: Follow, latencies_ms: &[u64], client_cpu_s: f64) -> SyncFigures {
        let mut outcome = Outcome::default();
        for &ms in latencies_ms {
            outcome
                .actions
                .answered("POST /api/navigate", 200, Duration::from_millis(ms));
        }
        SyncFigures {
            edge_cpu_s: Vec::new(),
            nats: None,
            follow,
            players: 100,
            objects: 210,
            elapsed: Duration::from_secs(10),
            outcome,
            counted: CounterSnapshot {
                world_bytes: 1024 * 1000,
                ..CounterSnapshot::default()
            },
            server_cpu_s: 2.0,
            client_cpu_s,
            client_threads: 1,
            stream_opens: 100,
            load_average: Some(1.0),
            timer_lag_us: crate::sync::tally::histogram(),
        }
    }

    #[test]
    fn a_step_holds_below_the_limit_and_fails_above_it() {
        let calm = StepRecord::judge(&figures(Follow::Full, &[5, 6, 7], 1.0), 1_000.0, LIMITS);
        assert_eq!(calm.verdict, Verdict::Held);
        assert_eq!((calm.actions, calm.errors), (3, 0));
        // 2 s of CPU over 100 players × 10 s; 1,000 KiB over 100 × 1/6 player-minutes.
        assert!((calm.cpu_us_per_player_s - 2_000.0).abs() < 1e-6);
        assert!((calm.kib_per_player_minute - 60.0).abs() < 1e-9);
        let slow = StepRecord::judge(&figures(Follow::Full, &[5, 150], 1.0), 1_000.0, LIMITS);
        assert!(matches!(slow.verdict, Verdict::Slow(p) if (p - 150.0).abs() < 0.2));
    }

    #[test]
    fn a_stream_step_fails_on_its_delay_and_a_polling_step_has_none() {
        let mut late = figures(Follow::Stream, &[5], 1.0);
        record_us(&mut late.outcome.event_lag_us, Duration::from_millis(100));
        let step = StepRecord::judge(&late, 1_000.0, LIMITS);
        assert_eq!(step.verdict, Verdict::Held);
        assert!(step.delay_p99_ms.is_some_and(|d| (d - 100.0).abs() < 0.2));
        for _ in 0..10 {
            record_us(&mut late.outcome.event_lag_us, Duration::from_millis(400));
        }
        let step = StepRecord::judge(&late, 1_000.0, LIMITS);
        assert!(
            matches!(step.verdict, Verdict::Delayed(d) if (d - 400.0).abs() < 0.5),
            "{:?}",
            step.verdict
        );
        let polling = StepRecord::judge(&figures(Follow::Full, &[5], 1.0), 1_000.0, LIMITS);
        assert_eq!(polling.delay_p99_ms, None);
    }

    #[test]
    fn errors_count_failures_and_reopened_streams() {
        let mut reopened = figures(Follow::Stream, &[5], 1.0);
        reopened.stream_opens = 103;
        reopened.counted.sync_errors = 1;
        reopened
            .outcome
            .actions
            .answered("POST /api/collect", 503, Duration::from_millis(3));
        let step = StepRecord::judge(&reopened, 1_000.0, LIMITS);
        assert_eq!(step.verdict, Verdict::Errors(5));
        // Polling has no streams to reopen.
        let mut polling = figures(Follow::Delta, &[5], 1.0);
        polling.stream_opens = 0;
        let step = StepRecord::judge(&polling, 1_000.0, LIMITS);
        assert_eq!(step.verdict, Verdict::Held);
    }

    #[test]
    fn a_failure_while_the_generator_is_saturated_is_not_the_servers() {
        let busy = StepRecord::judge(&figures(Follow::Full, &[500], 9.5), 1_000.0, LIMITS);
        assert!(
            matches!(&busy.verdict, Verdict::NotServer(why) if why.contains("load generator")),
            "{:?}",
            busy.verdict
        );
        // Saturated but within the limit: it held.
        let held = StepRecord::judge(&figures(Follow::Full, &[5], 9.5), 1_000.0, LIMITS);
        assert_eq!(held.verdict, Verdict::Held);
        let mut late = figures(Follow::Delta, &[500], 1.0);
        record_us(&mut late.timer_lag_us, Duration::from_millis(40));
        let step = StepRecord::judge(&late, 1_000.0, LIMITS);
        assert!(
            matches!(&step.verdict, Verdict::NotServer(why) if why.contains("could not run on time")),
            "{:?}",
            step.verdict
        );
        // Players falling behind because the server answers slowly is the server's.
        let mut behind = figures(Follow::Delta, &[500], 1.0);
        record_us(&mut behind.outcome.lateness_us, Duration::from_secs(2));
        let step = StepRecord::judge(&behind, 1_000.0, LIMITS);
        assert!(matches!(step.verdict, Verdict::Slow(_)));
    }
}
