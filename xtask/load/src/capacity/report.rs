//! The capacity ramp's output: a line per step, a row per mode, the target verdicts.

use std::fmt::Write as _;

use crate::capacity::cpu_targets;
use crate::capacity::step::{StepRecord, Verdict};
use crate::sync::Follow;

/// How many more players the interest-limited stream must hold than full polling.
pub const PLAYERS_TARGET: f64 = 10.0;
/// How many times fewer bytes per player-minute it must receive at full polling's max.
pub const BYTES_TARGET: f64 = 20.0;

/// One mode's ramp.
#[derive(Debug, Clone, PartialEq)]
pub struct ModeResult {
    /// How the players followed the world.
    pub follow: Follow,
    /// Every step, in the order measured.
    pub steps: Vec<StepRecord>,
    /// The largest count held.
    pub held: Option<usize>,
    /// True when the ramp's largest count was held (the ramp's ceiling stopped it).
    pub at_ceiling: bool,
}

impl ModeResult {
    /// The step that held at `players`, if any.
    pub fn held_at(&self, players: usize) -> Option<&StepRecord> {
        self.steps
            .iter()
            .find(|s| s.players == players && s.verdict.held())
    }

    /// Any measured step at `players` (held or not, but run to its end).
    pub fn measured_at(&self, players: usize) -> Option<&StepRecord> {
        self.steps
            .iter()
            .find(|s| s.players == players && !matches!(s.verdict, Verdict::Broken(_)))
    }

    /// The failed step with the fewest players: what stopped the ramp.
    pub fn limit(&self) -> Option<&StepRecord> {
        self.steps
            .iter()
            .filter(|s| !s.verdict.held())
            .min_by_key(|s| s.players)
    }

    /// True when what stopped the ramp was the server (slow actions or errors).
    pub fn server_limited(&self) -> bool {
        self.limit().is_some_and(|s| {
            matches!(
                s.verdict,
                Verdict::Slow(_) | Verdict::Delayed(_) | Verdict::Errors(_)
            )
        })
    }

    /// What stopped the ramp, in words.
    pub fn stopped_by(&self) -> String {
        match self.limit() {
            Some(step) => match &step.verdict {
                Verdict::NotServer(why) => format!("at {}: {why}", step.players),
                Verdict::Broken(why) => format!("at {}: the step broke: {why}", step.players),
                verdict => format!("server at {}: {}", step.players, verdict.label()),
            },
            None if self.at_ceiling => "the ramp's ceiling (--max-players)".to_owned(),
            None => "nothing (no step failed)".to_owned(),
        }
    }
}

/// One step's line.
pub fn step_line(step: &StepRecord) -> String {
    let line = format!(
        "{:<12} players {:>6}  side {:>6.0}  objects {:>6}  actions {:>5}  act p99 {:>8.2} ms  \
         delay p99 {:>7} ms  errors {:>3}  srv cores {:>4.2}  gen cores {:>4.2}  \
         gen lag p99 {:>6.1} ms  \
         cpu {:>6.1} µs/player-s  {:>8.1} KiB/pm  {:>6.2} reads/player-s  -> {}",
        step.follow.as_str(),
        step.players,
        step.side,
        step.objects,
        step.actions,
        step.p99_ms,
        step.delay_p99_ms
            .map_or_else(|| "-".to_owned(), |d| format!("{d:.1}")),
        step.errors,
        step.server_cores,
        step.client_cores,
        step.timer_lag_ms,
        step.cpu_us_per_player_s,
        step.kib_per_player_minute,
        step.reads_per_player_s,
        match &step.verdict {
            Verdict::NotServer(why) | Verdict::Broken(why) =>
                format!("{}: {why}", step.verdict.label()),
            verdict => verdict.label(),
        }
    );
    format!("{line}{}", edge_figures(step))
}

/// With edges: each edge's CPU per player-second, the owner's against its target, and a
/// write's acknowledgement to its delta on an edge stream.
fn edge_figures(step: &StepRecord) -> String {
    if step.edge_cpu_us_per_player_s.is_empty() {
        return String::new();
    }
    let edges: Vec<String> = step
        .edge_cpu_us_per_player_s
        .iter()
        .map(|cpu| format!("{cpu:.1}"))
        .collect();
    format!(
        "\n    edges: owner cpu {:.1} µs/player-s (target ≤ {OWNER_CPU_TARGET_US:.0}: {})  \
         edge cpu {} µs/player-s  ack→edge event p99 {} ms (target ≤ {ACK_TARGET_MS:.0})  \
         NATS {}",
        step.cpu_us_per_player_s,
        if step.cpu_us_per_player_s <= OWNER_CPU_TARGET_US {
            "MET"
        } else {
            "MISSED"
        },
        edges.join(" / "),
        step.ack_p99_ms
            .map_or_else(|| "-".to_owned(), |d| format!("{d:.1}")),
        step.nats_per_player_s.map_or_else(
            || "not counted".to_owned(),
            |(m, b)| format!("{m:.3} msgs, {b:.1} bytes per player-s")
        ),
    )
}

/// With edges, the owner's CPU per player-second must be at most this (issue #23: its
/// writes and publishing only).
pub const OWNER_CPU_TARGET_US: f64 = 15.0;
/// With edges, a write's acknowledgement to its delta on an edge stream, p99 (ms).
pub const ACK_TARGET_MS: f64 = 100.0;

/// The per-mode table and the target verdicts.
pub fn summary(results: &[ModeResult]) -> String {
    let full_max = results
        .iter()
        .find(|r| r.follow == Follow::Full)
        .and_then(|r| r.held);
    let at_full = full_max.map_or_else(|| "at full's max".to_owned(), |n| format!("at {n}"));
    let mut out = format!(
        "{:<12} {:>8} {:>7} {:>16} {:>12} {:>14}  stopped by\n",
        "mode",
        "max held",
        "side",
        "cpu µs/player-s",
        "KiB/pm",
        format!("KiB/pm {at_full}")
    );
    for result in results {
        let at_max = result.held.and_then(|n| result.held_at(n));
        let at_full_max = full_max.and_then(|n| result.measured_at(n));
        let _ = writeln!(
            out,
            "{:<12} {:>8} {:>7} {:>16} {:>12} {:>14}  {}",
            result.follow.as_str(),
            result
                .held
                .map_or_else(|| "none".to_owned(), |n| n.to_string()),
            figure(at_max.map(|s| s.side), 0),
            figure(at_max.map(|s| s.cpu_us_per_player_s), 1),
            figure(at_max.map(|s| s.kib_per_player_minute), 1),
            figure(at_full_max.map(|s| s.kib_per_player_minute), 1),
            result.stopped_by(),
        );
    }
    let stream = results.iter().find(|r| r.follow == Follow::Stream);
    for line in targets(results).into_iter().chain(
        stream
            .map(cpu_targets::stream_cpu_targets)
            .unwrap_or_default(),
    ) {
        let _ = writeln!(out, "{line}");
    }
    out
}

fn figure(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{v:.decimals$}"))
}

/// The two targets of the interest-limited stream against full polling.
pub fn targets(results: &[ModeResult]) -> Vec<String> {
    let find = |follow| results.iter().find(|r| r.follow == follow);
    let (Some(full), Some(stream)) = (find(Follow::Full), find(Follow::Stream)) else {
        return vec!["targets: need both full and stream in one run".to_owned()];
    };
    let Some(full_max) = full.held else {
        return vec!["targets: full polling held no step; nothing to compare".to_owned()];
    };
    let mut lines = Vec::new();
    let stream_max = stream.held.unwrap_or(0);
    let ratio = stream_max as f64 / full_max as f64;
    let verdict = if ratio >= PLAYERS_TARGET {
        "MET"
    } else if !stream.server_limited() {
        "NOT DECIDED (the server did not stop the stream's ramp)"
    } else {
        "MISSED"
    };
    let full_note = if full.server_limited() {
        ""
    } else {
        " (full polling's ramp was not stopped by the server: its max is a lower bound)"
    };
    lines.push(format!(
        "target players: stream holds {stream_max} against full polling's {full_max}: \
         {ratio:.1}× (target ≥ {PLAYERS_TARGET:.0}×): {verdict}{full_note}"
    ));
    let bytes = match (full.held_at(full_max), stream.measured_at(full_max)) {
        (Some(f), Some(s)) if s.kib_per_player_minute > 0.0 => {
            let ratio = f.kib_per_player_minute / s.kib_per_player_minute;
            let verdict = if ratio >= BYTES_TARGET {
                "MET"
            } else {
                "MISSED"
            };
            format!(
                "target bytes at {full_max} players: full polling {:.1} KiB per player-minute, \
                 stream {:.1}: {ratio:.1}× fewer (target ≥ {BYTES_TARGET:.0}×): {verdict}",
                f.kib_per_player_minute, s.kib_per_player_minute
            )
        }
        _ => format!("target bytes: the stream was not measured at {full_max} players"),
    };
    lines.push(bytes);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(follow: Follow, players: usize, kib: f64, verdict: Verdict) -> StepRecord {
        StepRecord {
            follow,
            players,
            side: (players as f64 * 20_000.0).sqrt(),
            objects: players * 2 + 10,
            actions: players as u64,
            p99_ms: 5.0,
            delay_p99_ms: None,
            errors: 0,
            cpu_us_per_player_s: 100.0,
            edge_cpu_us_per_player_s: Vec::new(),
            ack_p99_ms: None,
            nats_per_player_s: None,
            reads_per_player_s: 0.5,
            kib_per_player_minute: kib,
            server_cores: 0.5,
            client_cores: 0.3,
            timer_lag_ms: 1.0,
            verdict,
        }
    }

    fn full() -> ModeResult {
        ModeResult {
            follow: Follow::Full,
            steps: vec![
                step(Follow::Full, 100, 900.0, Verdict::Held),
                step(Follow::Full, 200, 1_800.0, Verdict::Held),
                step(Follow::Full, 400, 3_600.0, Verdict::Slow(180.0)),
            ],
            held: Some(200),
            at_ceiling: false,
        }
    }

    #[test]
    fn with_edges_a_step_line_adds_each_edges_cpu_and_the_owners_target() {
        let mut plain = step(Follow::Stream, 800, 60.0, Verdict::Held);
        assert!(!step_line(&plain).contains("edges:"));
        plain.cpu_us_per_player_s = 12.5;
        plain.edge_cpu_us_per_player_s = vec![20.25, 31.0];
        plain.ack_p99_ms = Some(42.0);
        plain.nats_per_player_s = Some((0.125, 40.0));
        assert_eq!(
            edge_figures(&plain),
            "\n    edges: owner cpu 12.5 µs/player-s (target ≤ 15: MET)  edge cpu 20.2 / \
             31.0 µs/player-s  ack→edge event p99 42.0 ms (target ≤ 100)  NATS 0.125 msgs, \
             40.0 bytes per player-s"
        );
    }

    #[test]
    fn targets_compare_the_stream_with_full_polling() {
        let stream = ModeResult {
            follow: Follow::Stream,
            steps: vec![
                step(Follow::Stream, 200, 60.0, Verdict::Held),
                step(Follow::Stream, 1_600, 70.0, Verdict::Held),
                step(Follow::Stream, 3_200, 70.0, Verdict::Errors(3)),
            ],
            held: Some(1_600),
            at_ceiling: false,
        };
        let lines = targets(&[full(), stream.clone()]);
        assert_eq!(
            lines,
            [
                "target players: stream holds 1600 against full polling's 200: 8.0× \
                 (target ≥ 10×): MISSED",
                "target bytes at 200 players: full polling 1800.0 KiB per player-minute, \
                 stream 60.0: 30.0× fewer (target ≥ 20×): MET",
            ]
        );
        let table = summary(&[full(), stream]);
        assert!(
            table.contains("server at 400: p99 180.0 ms > limit"),
            "{table}"
        );
        assert!(table.contains("server at 3200: 3 errors"), "{table}");
    }

    #[test]
    fn a_stream_stopped_by_the_ceiling_or_the_generator_is_not_a_miss() {
        let ceiling = ModeResult {
            follow: Follow::Stream,
            steps: vec![step(Follow::Stream, 200, 60.0, Verdict::Held)],
            held: Some(200),
            at_ceiling: true,
        };
        assert!(targets(&[full(), ceiling.clone()])[0].ends_with(
            "1.0× (target ≥ 10×): NOT DECIDED (the server did not stop the stream's ramp)"
        ));
        assert_eq!(ceiling.stopped_by(), "the ramp's ceiling (--max-players)");
        let generator = ModeResult {
            steps: vec![
                step(Follow::Stream, 200, 60.0, Verdict::Held),
                step(Follow::Stream, 400, 60.0, Verdict::NotServer("gen".into())),
            ],
            at_ceiling: false,
            ..ceiling
        };
        assert_eq!(generator.stopped_by(), "at 400: gen");
        assert!(!generator.server_limited());
        let none = ModeResult {
            held: None,
            ..full()
        };
        assert_eq!(
            targets(&[none, generator]),
            ["targets: full polling held no step; nothing to compare"]
        );
    }
}
