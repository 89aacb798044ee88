//! The final table of `drills chaos`: one row per drill that ran, with its verdict.

use std::fmt::Write as _;

use crate::chaos::{DrillSummary, Signal};

/// One drill's figures (the crash drills fill every column, the others only the verdict).
#[derive(Debug, Clone)]
pub struct Row {
    /// The drill (`SIGKILL`, `freeze-db`, `failover`...).
    pub drill: String,
    /// The crash drill's figures, if it is one.
    pub crash: Option<DrillSummary>,
    /// Broken invariants.
    pub violations: usize,
}

impl Row {
    /// A crash drill's row.
    pub fn crash(signal: Signal, summary: &DrillSummary) -> Row {
        Row {
            drill: format!("SIG{}", signal.name()),
            crash: Some(summary.clone()),
            violations: summary.violations.len(),
        }
    }

    /// A drill reported by its violations only.
    pub fn verdict(drill: &str, violations: usize) -> Row {
        Row {
            drill: drill.to_owned(),
            crash: None,
            violations,
        }
    }
}

/// The rows so far.
#[derive(Debug, Clone, Default)]
pub struct Table {
    rows: Vec<Row>,
}

impl Table {
    /// Adds a drill's row.
    pub fn add(&mut self, row: Row) {
        self.rows.push(row);
    }

    /// True if any drill broke an invariant.
    pub fn failed(&self) -> bool {
        self.rows.iter().any(|row| row.violations > 0)
    }

    /// The table, one line per drill.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<16} {:>6} {:>7} {:>5} {:>10} {:>10} {:>10}  verdict",
            "drill", "cycles", "acked", "lost", "unanswered", "slowest", "violations"
        );
        for row in &self.rows {
            let dash = || "-".to_owned();
            let (cycles, acked, lost, unanswered, slowest) = row.crash.as_ref().map_or_else(
                || (dash(), dash(), dash(), dash(), dash()),
                |s| {
                    (
                        s.cycles.to_string(),
                        s.acks.to_string(),
                        s.lost.to_string(),
                        format!("{} ({})", s.unknowns, s.unknowns_applied),
                        format!("{:.2?}", s.slowest_restart),
                    )
                },
            );
            let _ = writeln!(
                out,
                "{:<16} {cycles:>6} {acked:>7} {lost:>5} {unanswered:>10} {slowest:>10} {:>10}  {}",
                row.drill,
                row.violations,
                if row.violations == 0 { "PASS" } else { "FAIL" }
            );
        }
        let _ = writeln!(
            out,
            "unanswered = collects without a response (of which applied); slowest = the \
             longest restart until ready"
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn one_line_per_drill_and_the_verdict() {
        let mut table = Table::default();
        let summary = DrillSummary {
            cycles: 3,
            acks: 40,
            lost: 2,
            unknowns: 1,
            unknowns_applied: 1,
            slowest_restart: Duration::from_millis(1_500),
            ..DrillSummary::default()
        };
        table.add(Row::crash(Signal::Kill, &summary));
        table.add(Row::verdict("freeze-db", 1));
        let text = table.render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[1],
            "SIGKILL               3      40     2      1 (1)      1.50s          0  PASS"
        );
        assert_eq!(
            lines[2],
            "freeze-db             -       -     -          -          -          1  FAIL"
        );
        assert!(table.failed());
    }
}
