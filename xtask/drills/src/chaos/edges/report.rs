//! The edge drill's figures: per fault kind, the streams broken, the time until each
//! player's stream was back and correct, and the players lost; and the table of them.

use std::fmt::Write as _;
use std::time::Duration;

/// The faults the drill injects, in the order each round runs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    /// SIGKILL to the owner: the standby takes over once the lease expires.
    OwnerKill,
    /// SIGTERM to the owner: it releases the lease and the standby takes over at once.
    OwnerTerm,
    /// SIGKILL to the edge with the most streams, restarted at once.
    EdgeKill,
    /// SIGTERM to the edge with the most streams, restarted once it exited.
    EdgeTerm,
    /// The nats-server killed and started again on its port.
    NatsRestart,
}

impl Fault {
    /// Every kind, in the order each round runs them.
    pub const ALL: [Fault; 5] = [
        Fault::OwnerKill,
        Fault::OwnerTerm,
        Fault::EdgeKill,
        Fault::EdgeTerm,
        Fault::NatsRestart,
    ];

    /// The kind's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Fault::OwnerKill => "owner SIGKILL",
            Fault::OwnerTerm => "owner SIGTERM",
            Fault::EdgeKill => "edge SIGKILL",
            Fault::EdgeTerm => "edge SIGTERM",
            Fault::NatsRestart => "NATS restart",
        }
    }
}

/// What one cycle showed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cycle {
    /// Stream connections that broke from the fault until the cycle's end.
    pub broken: u64,
    /// Of those, ended by the server with an `ended` event.
    pub ended: u64,
    /// Reopens refused (HAProxy's 503 while no edge is ready, an edge's own 503).
    pub refused: u64,
    /// Per player: from the fault until its stream was live and showed its ship as the
    /// owner has it, for good; `None` when that never happened within the deadline.
    pub back: Vec<Option<Duration>>,
    /// Players whose whole area did not match the owner's world at the quiet check.
    pub wrong_at_rest: usize,
    /// What was wrong with the lost players (for the post-mortem).
    pub notes: Vec<String>,
}

impl Cycle {
    /// Players lost: never back and correct, or wrong at the quiet check (a player is
    /// counted once: the quiet check only runs for players that came back).
    pub fn lost(&self) -> usize {
        self.back.iter().filter(|b| b.is_none()).count() + self.wrong_at_rest
    }

    /// When every player was back and correct, if all were.
    pub fn all_back(&self) -> Option<Duration> {
        self.back
            .iter()
            .try_fold(Duration::ZERO, |latest, b| b.map(|b| latest.max(b)))
    }
}

/// One kind's cycles together.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Totals {
    /// Cycles run.
    pub cycles: u32,
    /// Broken stream connections.
    pub broken: u64,
    /// Of which ended with an `ended` event.
    pub ended: u64,
    /// Reopens refused.
    pub refused: u64,
    /// Every player's time until back and correct, over all cycles.
    pub player_back: Vec<Duration>,
    /// Per cycle in which every player came back: when the last one did.
    pub all_back: Vec<Duration>,
    /// Players lost, over all cycles.
    pub lost: usize,
}

impl Totals {
    /// Adds a cycle.
    pub fn add(&mut self, cycle: &Cycle) {
        self.cycles += 1;
        self.broken += cycle.broken;
        self.ended += cycle.ended;
        self.refused += cycle.refused;
        self.player_back.extend(cycle.back.iter().flatten());
        self.all_back.extend(cycle.all_back());
        self.lost += cycle.lost();
    }

    /// True when no player was lost and every cycle had all players back.
    pub fn passed(&self) -> bool {
        self.lost == 0 && self.all_back.len() == self.cycles as usize
    }
}

/// The `p`-th percentile (0–100, nearest rank) of `values`; `None` when empty.
pub fn percentile(values: &[Duration], p: u32) -> Option<Duration> {
    let mut sorted = values.to_vec();
    sorted.sort();
    let rank = (u64::from(p) * sorted.len() as u64).div_ceil(100).max(1) as usize;
    sorted.get(rank - 1).copied()
}

/// The table: one line per kind that ran.
pub fn render(rows: &[(Fault, Totals)]) -> String {
    let show = |d: Option<Duration>| {
        d.map_or_else(|| "-".to_owned(), |d| format!("{:.2}s", d.as_secs_f64()))
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<14} {:>6} {:>13} {:>7} {:>10} {:>10} {:>10} {:>10} {:>5}  verdict",
        "fault",
        "cycles",
        "broken (end)",
        "refused",
        "player p50",
        "player max",
        "all p50",
        "all max",
        "lost"
    );
    for (fault, t) in rows {
        let _ = writeln!(
            out,
            "{:<14} {:>6} {:>13} {:>7} {:>10} {:>10} {:>10} {:>10} {:>5}  {}",
            fault.name(),
            t.cycles,
            format!("{} ({})", t.broken, t.ended),
            t.refused,
            show(percentile(&t.player_back, 50)),
            show(percentile(&t.player_back, 100)),
            show(percentile(&t.all_back, 50)),
            show(percentile(&t.all_back, 100)),
            t.lost,
            if t.passed() { "PASS" } else { "FAIL" }
        );
    }
    let _ = writeln!(
        out,
        "broken = stream connections cut (of which ended with an `ended` event); refused = \
         reopens answered 503 (retried after 1 s); player = from \
         the fault until a player's stream was live and showed its ship as the owner has it; \
         all = until every player's was (per cycle); lost = players never back and correct \
         within the deadline, or whose area differed from the owner's world at rest"
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let values = [ms(400), ms(100), ms(300), ms(200)];
        assert_eq!(percentile(&values, 50), Some(ms(200)));
        assert_eq!(percentile(&values, 100), Some(ms(400)));
        assert_eq!(percentile(&values, 0), Some(ms(100)));
        assert_eq!(percentile(&[ms(7)], 50), Some(ms(7)));
        assert_eq!(percentile(&[], 50), None);
    }

    #[test]
    fn cycles_add_up_and_a_lost_player_fails_the_kind() {
        let mut totals = Totals::default();
        totals.add(&Cycle {
            broken: 12,
            ended: 0,
            refused: 0,
            back: vec![Some(ms(1_100)), Some(ms(2_300)), Some(ms(100))],
            wrong_at_rest: 0,
            notes: vec![],
        });
        assert!(totals.passed());
        totals.add(&Cycle {
            broken: 3,
            ended: 3,
            refused: 4,
            back: vec![Some(ms(900)), None, Some(ms(1_000))],
            wrong_at_rest: 1,
            notes: vec![],
        });
        assert_eq!(totals.cycles, 2);
        assert_eq!((totals.broken, totals.ended, totals.refused), (15, 3, 4));
        assert_eq!(totals.player_back.len(), 5);
        assert_eq!(totals.all_back, [ms(2_300)]);
        assert_eq!(totals.lost, 2);
        assert!(!totals.passed());
        let text = render(&[(Fault::EdgeKill, totals)]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[1],
            "edge SIGKILL        2        15 (3)       4      1.00s      2.30s      2.30s      2.30s     2  FAIL"
        );
    }
}
