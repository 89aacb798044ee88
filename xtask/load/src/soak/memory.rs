//! The soak's samples of the server: its resident memory read from `/proc`, and the
//! slope of that memory once it should have levelled off.

use std::fmt::Write as _;

/// The resident set size of `pid` in bytes (`VmRSS` of `/proc/<pid>/status`).
pub fn rss_bytes(pid: u32) -> Option<u64> {
    parse_rss(&std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?)
}

/// `VmRSS` from a `/proc/<pid>/status` text, in bytes.
fn parse_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let mut words = line["VmRSS:".len()..].split_whitespace();
    let kib: u64 = words.next()?.parse().ok()?;
    (words.next() == Some("kB")).then_some(kib * 1024)
}

/// One sample of the soak.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Minutes since the players started.
    pub minute: f64,
    /// The server's resident memory, MB (10^6 bytes).
    pub rss_mb: f64,
    /// Cores the server used since the previous sample.
    pub server_cores: f64,
    /// Cores the load generator used since the previous sample.
    pub generator_cores: f64,
    /// Stream bytes read per player-minute since the previous sample, KiB.
    pub kib_per_player_minute: f64,
    /// Streams reopened so far (opened more than once per player).
    pub reopened: u64,
    /// Events that did not parse or apply so far.
    pub sync_errors: u64,
}

/// The least-squares slope of RSS (MB per minute) over the samples at or after
/// `from_minute`; `None` with fewer than two such samples.
pub fn slope_after(samples: &[Sample], from_minute: f64) -> Option<f64> {
    let points: Vec<(f64, f64)> = samples
        .iter()
        .filter(|s| s.minute >= from_minute)
        .map(|s| (s.minute, s.rss_mb))
        .collect();
    if points.len() < 2 {
        return None;
    }
    let n = points.len() as f64;
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let spread: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    if spread == 0.0 {
        return None;
    }
    let covariance: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    Some(covariance / spread)
}

/// One sample's line.
pub fn sample_line(sample: &Sample) -> String {
    format!(
        "minute {:>6.1}  RSS {:>7.1} MB  srv cores {:>4.2}  gen cores {:>4.2}  {:>7.1} \
         KiB/pm  streams reopened {:>3}  sync errors {:>3}",
        sample.minute,
        sample.rss_mb,
        sample.server_cores,
        sample.generator_cores,
        sample.kib_per_player_minute,
        sample.reopened,
        sample.sync_errors,
    )
}

/// The table of every sample.
pub fn table(samples: &[Sample]) -> String {
    let mut out = format!(
        "{:>7} {:>9} {:>10} {:>10} {:>9} {:>9} {:>11}\n",
        "minute", "RSS MB", "srv cores", "gen cores", "KiB/pm", "reopened", "sync errors"
    );
    for s in samples {
        let _ = writeln!(
            out,
            "{:>7.1} {:>9.1} {:>10.2} {:>10.2} {:>9.1} {:>9} {:>11}",
            s.minute,
            s.rss_mb,
            s.server_cores,
            s.generator_cores,
            s.kib_per_player_minute,
            s.reopened,
            s.sync_errors
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: f64, rss_mb: f64) -> Sample {
        Sample {
            minute,
            rss_mb,
            server_cores: 0.5,
            generator_cores: 0.2,
            kib_per_player_minute: 150.0,
            reopened: 0,
            sync_errors: 0,
        }
    }

    #[test]
    fn rss_is_read_from_the_status_text() {
        let status = "Name:\tgame-server\nVmPeak:\t  200000 kB\nVmRSS:\t   75700 kB\nThreads:\t3\n";
        assert_eq!(parse_rss(status), Some(75_700 * 1024));
        assert_eq!(parse_rss("Name:\tx\n"), None);
        assert!(rss_bytes(std::process::id()).is_some_and(|b| b > 0));
    }

    #[test]
    fn the_slope_is_fitted_to_the_samples_after_the_settling_time() {
        // Fast growth before minute 15 is left out; after it 0.5 MB a minute.
        let samples = [
            at(0.5, 70.0),
            at(10.0, 90.0),
            at(15.0, 100.0),
            at(16.0, 100.5),
            at(17.0, 101.0),
        ];
        let slope = slope_after(&samples, 15.0).expect("three samples");
        assert!((slope - 0.5).abs() < 1e-9, "{slope}");
        assert_eq!(slope_after(&samples, 17.0), None);
        assert_eq!(slope_after(&[at(15.0, 1.0), at(15.0, 2.0)], 15.0), None);
        assert!(table(&samples).lines().count() == 6);
    }
}
