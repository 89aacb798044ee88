//! The interest-limited stream's CPU targets: its server CPU per player-second at 3,200
//! players, and how flat that cost stays as players grow.

use crate::capacity::report::ModeResult;

/// Players at which the stream's CPU per player-second is judged.
pub const CPU_AT_PLAYERS: usize = 3_200;
/// The stream's server CPU per player-second there must be at most this (µs).
pub const CPU_TARGET_US: f64 = 30.0;
/// From this many players up to its max, the stream's CPU per player-second must stay
/// within [`FLAT_TARGET`] of its mean.
pub const FLAT_FROM_PLAYERS: usize = 800;
/// See [`FLAT_FROM_PLAYERS`] (a share: 0.25 is ±25 %).
pub const FLAT_TARGET: f64 = 0.25;

/// The stream's CPU targets: its cost per player-second at 3,200 players, and how flat
/// that cost stays over the held steps from 800 players on.
pub fn stream_cpu_targets(stream: &ModeResult) -> Vec<String> {
    let verdict = |met: bool| if met { "MET" } else { "MISSED" };
    let at = match (
        stream.held_at(CPU_AT_PLAYERS),
        stream.measured_at(CPU_AT_PLAYERS),
    ) {
        (Some(step), _) => format!(
            "target stream CPU at {CPU_AT_PLAYERS} players: {:.1} µs per player-second \
             (target ≤ {CPU_TARGET_US:.0}): {}",
            step.cpu_us_per_player_s,
            verdict(step.cpu_us_per_player_s <= CPU_TARGET_US)
        ),
        (None, Some(step)) => format!(
            "target stream CPU at {CPU_AT_PLAYERS} players: {:.1} µs per player-second, but \
             the step did not hold: MISSED",
            step.cpu_us_per_player_s
        ),
        (None, None) => {
            format!("target stream CPU: the stream was not measured at {CPU_AT_PLAYERS} players")
        }
    };
    let costs: Vec<(usize, f64)> = stream
        .steps
        .iter()
        .filter(|s| s.verdict.held() && s.players >= FLAT_FROM_PLAYERS)
        .map(|s| (s.players, s.cpu_us_per_player_s))
        .collect();
    let flat = if costs.len() < 2 {
        format!(
            "target flat CPU: fewer than two held stream steps from {FLAT_FROM_PLAYERS} \
             players on"
        )
    } else {
        let mean = costs.iter().map(|c| c.1).sum::<f64>() / costs.len() as f64;
        let (low, high) = costs.iter().fold((f64::INFINITY, 0.0_f64), |(lo, hi), c| {
            (lo.min(c.1), hi.max(c.1))
        });
        let spread = ((high - mean).max(mean - low) / mean.max(1e-9)).abs();
        let top = costs.iter().map(|c| c.0).max().unwrap_or(FLAT_FROM_PLAYERS);
        format!(
            "target flat CPU from {FLAT_FROM_PLAYERS} to {top} players: {low:.1}–{high:.1} µs \
             per player-second, ±{:.0} % around their mean {mean:.1} (target ±{:.0} %): {}",
            spread * 100.0,
            FLAT_TARGET * 100.0,
            verdict(spread <= FLAT_TARGET)
        )
    };
    vec![at, flat]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capacity::step::{StepRecord, Verdict};
    use crate::sync::Follow;

    fn step(follow: Follow, players: usize, kib: f64, verdict: Verdict) -> StepRecord {
        let mut step = StepRecord::broken(follow, players, 1_000.0, String::new());
        step.kib_per_player_minute = kib;
        step.verdict = verdict;
        step
    }

    #[test]
    fn the_streams_cpu_is_judged_at_3200_and_for_flatness_from_800() {
        let at = |players, cpu, verdict| {
            let mut s = step(Follow::Stream, players, 150.0, verdict);
            s.cpu_us_per_player_s = cpu;
            s
        };
        let stream = ModeResult {
            follow: Follow::Stream,
            steps: vec![
                at(400, 90.0, Verdict::Held),
                at(800, 24.0, Verdict::Held),
                at(1_600, 20.0, Verdict::Held),
                at(3_200, 28.0, Verdict::Held),
                at(6_400, 80.0, Verdict::Slow(300.0)),
            ],
            held: Some(3_200),
            at_ceiling: false,
        };
        assert_eq!(
            stream_cpu_targets(&stream),
            [
                "target stream CPU at 3200 players: 28.0 µs per player-second (target ≤ 30): \
                 MET",
                "target flat CPU from 800 to 3200 players: 20.0–28.0 µs per player-second, \
                 ±17 % around their mean 24.0 (target ±25 %): MET",
            ]
        );
        let failed = ModeResult {
            steps: vec![
                at(800, 24.0, Verdict::Held),
                at(3_200, 45.0, Verdict::Errors(2)),
            ],
            held: Some(800),
            ..stream
        };
        assert_eq!(
            stream_cpu_targets(&failed),
            [
                "target stream CPU at 3200 players: 45.0 µs per player-second, but the step \
                 did not hold: MISSED",
                "target flat CPU: fewer than two held stream steps from 800 players on",
            ]
        );
    }
}
